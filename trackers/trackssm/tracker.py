"""The ``trackssm`` tracker: ByteTrack-style association with TrackSSM motion instead of a Kalman filter.

All live tracks are predicted in one batched forward per frame; association is class-aware,
Hungarian, in ByteTrack's stages on the predicted boxes. ``trackssm-gated``
(:class:`TrackSSMGatedTracker`) also accepts the track's last box. The stages and the
ground-plane model's inputs: docs/tracker-internals.md, "Inside the TrackSSM tracker".
"""
from __future__ import annotations

import numpy as np

from detbench.core.errors import InputError
from detbench.core.types import as_detections, empty_tracks, iou_matrix, valid_detection_mask
from trackers.base import Frame
from trackers.trackssm import rules
from trackers.trackssm.associate import detection_obs, ground_costs, match
from trackers.trackssm.checkpoint import is_ground, load, resolve
from trackers.trackssm.params import TrackSSMParams, check_params
from trackers.trackssm.rules import contact_d2, ground_allowed, new_tracks, observations
from trackers.trackssm.track import LOST, NEW, TRACKED, Track, to_cxcywh, to_xyxy


class TrackSSMTracker:
    """ByteTrack association + TrackSSM motion; see the module docstring."""

    Params = TrackSSMParams
    DESCRIPTION = "ByteTrack-style association with the learned TrackSSM motion model"
    gated = False  # match on the better of prediction and last detection (TrackSSMGatedTracker)

    @staticmethod
    def needs_calibration(params: TrackSSMParams) -> bool:
        """True when the motion model is a ground-plane one (it reads every frame's camera)."""
        if params.weights == "random":
            return False

        return is_ground(params.weights)

    @staticmethod
    def input_files(params: TrackSSMParams) -> dict:
        """The motion model's files (the directory the harness named); none for
        ``"random"`` (see :func:`trackers.base.input_files`)."""
        if params.weights == "random":
            return {}

        d = resolve(params.weights)
        return {"weights/model.pth": d / "model.pth", "weights/config.json": d / "config.json"}

    def __init__(self, params: TrackSSMParams = TrackSSMParams(), frame_rate: float = 2.0):
        if not frame_rate or frame_rate <= 0:
            raise InputError(f"trackssm: frame_rate must be positive, got {frame_rate!r}")
        check_params(params)
        self.params = params
        self.frame_rate = float(frame_rate)
        self.buffer_frames = max(1, int(round(params.track_buffer_s * self.frame_rate)))
        self.model = self._load_model(params)
        self.history = self.model.config.history
        self.ground = self.model.config.ground
        if params.ground_gate > 0 and not self.ground:
            raise InputError("trackssm: ground_gate needs a ground-plane motion model (train-motion --ground)")
        if params.assoc == "ground" and not self.ground:
            raise InputError("trackssm: assoc=ground needs a ground-plane motion model (train-motion --ground)")
        self.reset()

    @staticmethod
    def _load_model(params: TrackSSMParams):
        import torch  # noqa: F401 - the model needs it

        if params.weights == "random":
            from trackers.trackssm.model import build_model

            return build_model(seed=0).to(params.device).eval()

        model, _ = load(params.weights, device=params.device)
        return model

    def reset(self) -> None:
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frames_seen = 0
        if self.ground:
            from trackers.trackssm.ground import CameraTrail

            self.trail = CameraTrail(self.history)

    # ------------------------------------------------------------ motion
    def _features(self, t: Track, w: float, h: float) -> np.ndarray:
        c = to_cxcywh(np.stack(t.boxes), w, h)
        d = np.zeros_like(c)
        d[1:] = c[1:] - c[:-1]
        rows = np.concatenate([c, d], axis=1)
        if len(rows) > self.history:  # boxes[0] only supplies the first kept step's delta
            rows = rows[-self.history:]
        return rows

    def _predict(self, tracks: list[Track], w: float, h: float) -> np.ndarray:
        """One batched forward for all ``tracks`` -> predicted xyxy pixel boxes (len, 4)."""
        import torch

        if not tracks:
            return np.zeros((0, 4))
        hist = np.zeros((len(tracks), self.history, 8), np.float32)
        mask = np.zeros((len(tracks), self.history), bool)
        for i, t in enumerate(tracks):
            rows = self._features(t, w, h)
            hist[i, self.history - len(rows):] = rows
            mask[i, self.history - len(rows):] = True
        with torch.inference_mode():
            out = self.model(torch.from_numpy(hist).to(self.params.device),
                             torch.from_numpy(mask).to(self.params.device))[:, -1]
        return to_xyxy(out.double().cpu().numpy(), w, h)

    def _predict_ground(self, tracks: list[Track], w: float, h: float) -> np.ndarray:
        """As :meth:`_predict`, on the ground plane: each track's last boxes ego-compensated into
        this frame's camera, their calibrated constant velocity refined."""
        import torch

        if not tracks:
            return np.zeros((0, 4))
        g = self.trail.inputs([t.boxes for t in tracks], [t.cls for t in tracks])
        dev = self.params.device
        with torch.inference_mode():
            out = self.model(torch.from_numpy(g.hist).to(dev), torch.from_numpy(g.mask).to(dev),
                             torch.from_numpy(g.anchor).to(dev))[:, -1]
        return to_xyxy(out.double().cpu().numpy(), w, h)

    # ------------------------------------------------------------ update
    def update(self, dets, frame: Frame) -> np.ndarray:
        p = self.params
        dets = as_detections(dets)
        valid = valid_detection_mask(dets)
        index = np.flatnonzero(valid)
        dets = dets[valid].astype(np.float64)
        w, h = float(frame.width), float(frame.height)
        first_frame = self.frames_seen == 0
        self.frames_seen += 1

        if self.ground:
            self.trail.see(frame)
            preds = self._predict_ground(self.tracks, w, h)
        else:
            preds = self._predict(self.tracks, w, h)
        det_obs = observations(frame, dets[:, :4], dets[:, 5]) if self.ground and (
            p.ground_gate > 0 or p.birth_overlap < 1 or p.shadow_overlap < 1) else None
        gate = self._ground_gate(frame, preds, det_obs)
        pass_obs = detection_obs(frame.camera(), dets[:, :4], dets[:, 5], p.assoc_noise, p.assoc_extent,
                                 p.assoc_height_depth) if p.assoc == "ground" else None
        on_ground = self._ground_costs(frame, preds, dets, pass_obs)
        for t, b in zip(self.tracks, preds):
            t.boxes.append(b)
            if len(t.boxes) > self.history + 1:
                t.boxes.pop(0)
        matched: list[tuple[Track, int]] = []

        def take(t: Track, j: int):
            if p.history_blend > 0 and t.length > 1:  # the prediction damps the detection's jitter
                t.boxes[-1] = (1.0 - p.history_blend) * dets[j, :4] + p.history_blend * t.boxes[-1]
            else:
                t.boxes[-1] = dets[j, :4].copy()
            t.score, t.det_box, t.cls = float(dets[j, 4]), dets[j, :4], int(dets[j, 5])
            t.lost_for = 0
            t.length += 1
            t.measure_height(pass_obs, j)
            matched.append((t, j))

        high = np.flatnonzero(dets[:, 4] >= p.high_thresh)
        low = np.flatnonzero((dets[:, 4] > p.low_thresh) & (dets[:, 4] < p.high_thresh))
        pool = [t for t in self.tracks if t.state in (TRACKED, LOST)]
        if p.tracked_first:  # tracked tracks take the high detections first, lost ones what they leave
            pool = [t for t in pool if t.state == TRACKED] + [t for t in pool if t.state == LOST]
        n_tracked = sum(t.state == TRACKED for t in pool) if p.tracked_first else len(pool)
        pairs, um_t, um_h = [], [], np.arange(len(high))
        for lo, hi in ((0, n_tracked), (n_tracked, len(pool))):
            part = pool[lo:hi]
            got, um, left = match(part, dets[high[um_h]], p.match_iou, self.gated, p.cost, p.class_gate,
                                  gate(part, high[um_h]), on_ground(part, high[um_h]))
            pairs += [(lo + i, um_h[j]) for i, j in got]
            um_t += [lo + i for i in um]
            um_h = um_h[left]
        for i, j in pairs:
            pool[i].state = TRACKED
            take(pool[i], high[j])
        rest = [pool[i] for i in um_t if pool[i].state == TRACKED]
        pairs, um_r, _ = match(rest, dets[low], p.second_iou, self.gated, p.cost, p.class_gate, gate(rest, low),
                               on_ground(rest, low))
        for i, j in pairs:
            take(rest[i], low[j])
        for i in um_r:
            rest[i].state = LOST
        for i in um_t:
            if pool[i].state == LOST:
                pool[i].lost_for += 1

        high_left = high[um_h]
        new = [t for t in self.tracks if t.state == NEW]
        pairs, _, um_d = match(new, dets[high_left], p.unconfirmed_iou, self.gated, p.cost, p.class_gate,
                               gate(new, high_left), on_ground(new, high_left))
        for i, j in pairs:
            self._confirm(new[i])
            take(new[i], high_left[j])
        confirmed_new = {id(new[i]) for i, _ in pairs}
        alive = [t for t in self.tracks if t.state != NEW or id(t) in confirmed_new]
        taken = [j for _, j in matched]  # a shadow's box stays taken: it starts no track either
        if p.shadow_overlap < 1:
            ages = [t.length for t, _ in matched]
            shadows = {id(matched[k][0]) for k in rules.shadow_tracks(taken, ages, dets, p.shadow_overlap, det_obs,
                                                                      p.birth_overlap_by)}
            alive = [t for t in alive if id(t) not in shadows]
            matched = [(t, j) for t, j in matched if id(t) not in shadows]

        born = new_tracks(high_left[um_d], taken, dets, p.new_track_thresh, p.birth_overlap,
                          det_obs, p.birth_overlap_by)   # ascending, as the unmatched come
        for j in born:
            t = Track(dets[j, :4], dets[j, 4], dets[j, 5])
            t.measure_height(pass_obs, j)
            alive.append(t)
            if first_frame:
                self._confirm(t)
                matched.append((t, j))
        self.tracks = [t for t in alive if not (t.state == LOST and t.lost_for > self.buffer_frames)]
        self._remove_duplicates()

        kept = {id(t) for t in self.tracks}
        rows = [(*t.det_box, t.tid, t.score, t.cls, index[j]) for t, j in matched
                if t.state == TRACKED and id(t) in kept]
        if not rows:
            return empty_tracks()
        return np.array(rows, dtype=np.float32)

    def _ground_gate(self, frame: Frame, preds: np.ndarray, det_obs):
        """``gate(tracks, det_rows)`` -> the pairs among them the ground gate allows (None: off);
        ``preds``: the predicted boxes of ``self.tracks``, in their order."""
        if self.params.ground_gate <= 0 or det_obs is None or not self.tracks:
            return lambda tracks, rows: None
        d2 = contact_d2(observations(frame, preds, np.array([t.cls for t in self.tracks])), det_obs)
        allowed = ground_allowed(d2, self.params.ground_gate)
        row = {id(t): i for i, t in enumerate(self.tracks)}
        return lambda tracks, rows: allowed[np.ix_([row[id(t)] for t in tracks], rows)] if tracks else None

    def _ground_costs(self, frame: Frame, preds: np.ndarray, dets: np.ndarray, det_obs):
        """``costs(tracks, det_rows)`` -> (their ground costs, gate) for :func:`_match`'s ground pass
        (None: ``assoc="image"``); ``preds``: the predicted boxes of ``self.tracks``, in their order;
        ``det_obs``: the detections' measurements (:func:`detection_obs`)."""
        p = self.params
        if p.assoc != "ground" or not self.tracks or not len(dets):
            return lambda tracks, rows: None
        own = (np.array([t.log_height for t in self.tracks]), np.array([t.heights for t in self.tracks]),
               p.assoc_size_sigma) if p.assoc_size_sigma > 0 else None
        cost = ground_costs(frame.camera(), preds, np.array([t.cls for t in self.tracks]),
                            np.array([t.lost_for for t in self.tracks]), dets[:, :4], dets[:, 5],
                            p.assoc_noise, p.assoc_extent, p.assoc_bonus, p.assoc_height_depth, det_obs, own)
        row = {id(t): i for i, t in enumerate(self.tracks)}
        return lambda tracks, rows: (cost[np.ix_([row[id(t)] for t in tracks], rows)], p.assoc_gate) if tracks \
            else None

    def _confirm(self, t: Track) -> None:
        t.state = TRACKED
        t.tid = self.next_id
        self.next_id += 1

    def _remove_duplicates(self) -> None:
        """A tracked and a lost track of the same class overlapping above ``duplicate_iou``:
        drop the one with fewer observations (ByteTrack's rule)."""
        tracked = [t for t in self.tracks if t.state == TRACKED]
        lost = [t for t in self.tracks if t.state == LOST]
        if not tracked or not lost:
            return
        iou = iou_matrix(np.array([t.boxes[-1] for t in tracked]), np.array([t.boxes[-1] for t in lost]))
        drop = set()
        for i, j in zip(*np.nonzero(iou > self.params.duplicate_iou)):
            a, b = tracked[i], lost[j]
            if a.cls == b.cls:
                drop.add(id(b) if a.length >= b.length else id(a))
        self.tracks = [t for t in self.tracks if id(t) not in drop]


class TrackSSMGatedTracker(TrackSSMTracker):
    """``trackssm-gated``: as ``trackssm``, but a track-detection pair's IoU is the larger of its
    IoU with the predicted box and with the track's last detection (a hybrid of TrackSSM and a
    motionless IoU tracker; kept as its own name so it is never mistaken for TrackSSM)."""

    DESCRIPTION = "trackssm whose pairs may also match on the last detection: a hybrid, not TrackSSM"
    gated = True
