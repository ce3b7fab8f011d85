"""Data layer: nuScenes and synthetic datasets, COCO and MOTChallenge files."""
