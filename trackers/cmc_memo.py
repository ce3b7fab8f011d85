"""Camera-motion warps remembered across tracker runs of one process (BoT-SORT's CMC).

A tuning grid tracks the same sequence dozens of times with other thresholds; the warp of a frame
depends only on the CMC method, the images so far and the boxes masked out of them, never on the
tracker's thresholds. So each warp is stored under a hash chain of exactly those inputs since the
sequence start (or the last flow restart): a run whose inputs so far are identical gets the same
warp without reading the image, and the estimator's state after that frame is kept with it, so a
run that departs from a stored chain continues from the right state. The estimator is
deterministic (OpenCV's optical flow; its RANSAC seeds a fixed RNG per call), so a served warp
is the warp the run would have computed (tested on every frame of a tuning grid).

Only frames read from an ``image_path`` are remembered, identified by the image's bytes (an
image replaced at the same path is a new image); frames that carry their image in memory are
always computed.
"""
from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from detbench.core.imageprints import fingerprint

MAX_ENTRIES = 4096   # frames; an entry is a 2x3 warp plus the estimator's state (~32 KB at 1600x900)


class _Store:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self.entries: OrderedDict[bytes, tuple[np.ndarray, object]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: bytes):
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
        return hit

    def put(self, key: bytes, warp: np.ndarray, state) -> None:
        self.entries[key] = (warp, state)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()
        self.hits = self.misses = 0


STORE = _Store()


def _image_identity(path: str | Path) -> bytes:
    """The image's content (sha256 of its bytes, :mod:`detbench.core.imageprints`), never its path."""

    digest = fingerprint(path)
    if digest is None:
        raise FileNotFoundError(f"{path}: image file not found")
    return bytes.fromhex(digest)


class MemoCMC:
    """A CMC estimator (``make()`` builds a fresh one) whose warps are served from :data:`STORE`
    when this sequence's inputs so far match a stored chain."""

    def __init__(self, method: str, make, remember: bool = True):
        self.method = method
        self._make = make
        self.remember = remember
        self.reset()

    def reset(self) -> None:
        """Start of a sequence, or a flow restart: the estimator's state is fresh."""
        self._chain = hashlib.sha256(f"cmc|{self.method}".encode()).digest()
        self._state = None       # the estimator's state after the last frame (None: fresh)
        self._live = None        # an estimator holding exactly that state, when one is at hand

    def warp(self, frame, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """This frame's warp and, when it had to be read, its image (``frame`` has an image)."""
        memo = self.remember and frame.image is None and frame.image_path is not None
        if memo:
            b = np.ascontiguousarray(boxes)
            key = hashlib.sha256(self._chain + _image_identity(frame.image_path) + b.tobytes()
                                 + f"{b.dtype}{b.shape}".encode()).digest()
            hit = STORE.get(key)
            if hit is not None:
                STORE.hits += 1
                self._chain, self._live = key, None
                warp, self._state = hit
                return warp.copy(), None
            STORE.misses += 1
        if self._live is None:  # after hits (or at the start): an estimator in the stored state
            self._live = self._make() if self._state is None else copy.deepcopy(self._state)
        img = frame.load_image()
        warp = np.asarray(self._live.apply(img, boxes), dtype=np.float32)
        if memo:
            self._chain = key
            self._state = copy.deepcopy(self._live)
            STORE.put(key, warp.copy(), self._state)
        else:  # from here on this run's chain matches no stored one: it computes every warp itself
            self._chain = hashlib.sha256(self._chain + b"|in-memory image").digest()
        return warp, img
