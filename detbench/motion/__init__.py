"""The TrackSSM motion model's harness: training on a prepared dataset (:mod:`train`) and the
training windows read from the dataset layout (:mod:`windows`); the model, its recipe and the
tracker are in :mod:`trackers.trackssm`."""
