"""Moved to :mod:`detbench.evaluate.hota_counts` (HOTA's bootstrap rule is in
:mod:`detbench.evaluate.metric_specs`); these names stay until ``detbench.sensitivity.bands``
imports them from there."""
from detbench.evaluate.hota_counts import FIELDS, N_ALPHA, deta_assa_from_counts, flatten_hota, hota_from_counts

__all__ = ["FIELDS", "N_ALPHA", "deta_assa_from_counts", "flatten_hota", "hota_from_counts"]
