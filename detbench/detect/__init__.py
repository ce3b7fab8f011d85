"""Detection stage: run a YOLOX checkpoint over a prepared split, cache, score and draw.

- :mod:`letterbox`: resize + pad to the model input, and the exact inverse for boxes.
- :mod:`infer`: batched inference, decode, class-aware NMS (bf16 autocast on CUDA).
- :mod:`cache`: the detection cache (key, atomic write, integrity check, read).
- :mod:`api`: :func:`api.ensure_detections` (compute when missing, reuse when present).
- :mod:`coco_eval`: pycocotools AP, per-class AP, precision/recall at a score threshold.
- :mod:`eval_det`: :func:`eval_det.eval_det`, several caches scored side by side (``detbench eval-det``).
- :mod:`export`: MOTChallenge det files and COCO results.
- :mod:`render`: drawing detections over images.
"""
