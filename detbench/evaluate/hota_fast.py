"""TrackEval's HOTA with its per-alpha counting vectorised: the same numbers, bit for bit.

:class:`FastHOTA` subclasses TrackEval's ``HOTA`` and overrides only ``eval_sequence``. What is
unchanged, what changed, and why the result is exact: docs/evaluation.md, "The fast HOTA".
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from trackeval.metrics import HOTA

_EPS = np.finfo("float").eps


class FastHOTA(HOTA):
    """TrackEval's HOTA; ``eval_sequence`` counts all alphas at once (identical results)."""

    def __init__(self, config=None):
        super().__init__(config)
        # exactly TrackEval's per-alpha comparison value, ``alpha - np.finfo('float').eps``
        self._thresholds = np.array([alpha - _EPS for alpha in self.array_labels])

    def eval_sequence(self, data):
        """Calculates the HOTA metrics for one sequence (TrackEval's, alphas vectorised)."""
        n_alpha = len(self.array_labels)
        res = {}
        for field in self.float_array_fields + self.integer_array_fields:
            res[field] = np.zeros((n_alpha), dtype=float)
        for field in self.float_fields:
            res[field] = 0

        # Return result quickly if tracker or gt sequence is empty (TrackEval's early exits)
        if data['num_tracker_dets'] == 0:
            res['HOTA_FN'] = data['num_gt_dets'] * np.ones((n_alpha), dtype=float)
            res['LocA'] = np.ones((n_alpha), dtype=float)
            res['LocA(0)'] = 1.0
            return res
        if data['num_gt_dets'] == 0:
            res['HOTA_FP'] = data['num_tracker_dets'] * np.ones((n_alpha), dtype=float)
            res['LocA'] = np.ones((n_alpha), dtype=float)
            res['LocA(0)'] = 1.0
            return res

        # First pass: TrackEval's, verbatim.
        potential_matches_count = np.zeros((data['num_gt_ids'], data['num_tracker_ids']))
        gt_id_count = np.zeros((data['num_gt_ids'], 1))
        tracker_id_count = np.zeros((1, data['num_tracker_ids']))
        for t, (gt_ids_t, tracker_ids_t) in enumerate(zip(data['gt_ids'], data['tracker_ids'])):
            similarity = data['similarity_scores'][t]
            sim_iou_denom = similarity.sum(0)[np.newaxis, :] + similarity.sum(1)[:, np.newaxis] - similarity
            sim_iou = np.zeros_like(similarity)
            sim_iou_mask = sim_iou_denom > 0 + np.finfo('float').eps
            sim_iou[sim_iou_mask] = similarity[sim_iou_mask] / sim_iou_denom[sim_iou_mask]
            potential_matches_count[gt_ids_t[:, np.newaxis], tracker_ids_t[np.newaxis, :]] += sim_iou
            gt_id_count[gt_ids_t] += 1
            tracker_id_count[0, tracker_ids_t] += 1
        global_alignment_score = potential_matches_count / (gt_id_count + tracker_id_count - potential_matches_count)

        # Second pass: one assignment per timestep as TrackEval; all alphas at once.
        tp = np.zeros(n_alpha, dtype=np.int64)
        n_gt = n_tr = 0
        loca = res['LocA']
        match_a, match_g, match_r = [], [], []
        for t, (gt_ids_t, tracker_ids_t) in enumerate(zip(data['gt_ids'], data['tracker_ids'])):
            n_gt += len(gt_ids_t)
            n_tr += len(tracker_ids_t)
            if len(gt_ids_t) == 0 or len(tracker_ids_t) == 0:
                continue  # every box is a FN / FP at every alpha (added with the totals below)
            similarity = data['similarity_scores'][t]
            score_mat = global_alignment_score[gt_ids_t[:, np.newaxis], tracker_ids_t[np.newaxis, :]] * similarity
            match_rows, match_cols = linear_sum_assignment(-score_mat)
            matched_sim = similarity[match_rows, match_cols]
            mask = matched_sim[np.newaxis, :] >= self._thresholds[:, np.newaxis]  # (alpha, pair)
            tp += mask.sum(1)
            # per alpha: the left-to-right sum of its matched similarities (0.0 where unmatched)
            loca += np.cumsum(np.where(mask, matched_sim[np.newaxis, :], 0.0), axis=1)[:, -1]
            a_idx, k_idx = np.nonzero(mask)
            match_a.append(a_idx)
            match_g.append(gt_ids_t[match_rows[k_idx]])
            match_r.append(tracker_ids_t[match_cols[k_idx]])
        res['HOTA_TP'] += tp
        res['HOTA_FN'] += n_gt - tp
        res['HOTA_FP'] += n_tr - tp
        shape = (n_alpha, data['num_gt_ids'], data['num_tracker_ids'])
        counts = np.zeros(shape)
        if match_a:
            flat = np.ravel_multi_index((np.concatenate(match_a), np.concatenate(match_g),
                                         np.concatenate(match_r)), shape)
            counts = np.bincount(flat, minlength=counts.size).astype(float).reshape(shape)
        matches_counts = [counts[a].copy() for a in range(n_alpha)]

        # Association scores and final fields: TrackEval's, verbatim.
        for a, alpha in enumerate(self.array_labels):  # noqa: B007 - TrackEval's loop, verbatim
            matches_count = matches_counts[a]
            ass_a = matches_count / np.maximum(1, gt_id_count + tracker_id_count - matches_count)
            res['AssA'][a] = np.sum(matches_count * ass_a) / np.maximum(1, res['HOTA_TP'][a])
            ass_re = matches_count / np.maximum(1, gt_id_count)
            res['AssRe'][a] = np.sum(matches_count * ass_re) / np.maximum(1, res['HOTA_TP'][a])
            ass_pr = matches_count / np.maximum(1, tracker_id_count)
            res['AssPr'][a] = np.sum(matches_count * ass_pr) / np.maximum(1, res['HOTA_TP'][a])
        res['LocA'] = np.maximum(1e-10, res['LocA']) / np.maximum(1e-10, res['HOTA_TP'])
        res = self._compute_final_fields(res)
        return res
