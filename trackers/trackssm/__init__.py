"""TrackSSM (Hu et al., 2024) in pure PyTorch: ``model`` (the network), ``data`` (training windows
from MOT GT tracks), ``train`` (loss, training loop, next-box IoU), ``checkpoint`` (runs/motion/
I/O) and ``tracker`` (the ``trackssm`` tracker). Torch is imported only by those modules."""
