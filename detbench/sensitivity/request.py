"""A sensitivity study as one frozen value, built from ``detbench sensitivity``'s options.

:meth:`Study.from_options` checks every option (one :class:`InputError` line naming it) and
resolves the defaults (all registered trackers, all five axes, the output name);
:func:`detbench.sensitivity.study.run_study` runs the value, :func:`write_study` writes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir, ensure_writable
from detbench.core.options import parse_key_values, parse_tracker_options
from detbench.core.provenance import make_meta
from detbench.data.layout import SEQUENCES_DIR, PreparedDataset
from detbench.sensitivity import axes as ax
from detbench.sensitivity.detectors import Placed, given, resolve_values


@dataclass(frozen=True)
class Study:
    """What one study runs: the ground truth, the trackers (and their options), the points
    (``axes`` one at a time around ``base``, or the 2-D ``grid2d``), the seeds, the detectors to
    place, and where it writes (``out_dir``). ``options`` keeps the command's options as given,
    for the provenance record (``jobs`` filled in by :func:`write_study`)."""

    gt_dir: Path
    name: str
    out_dir: Path
    trackers: tuple[str, ...]
    axes: tuple[str, ...]
    grids: dict
    base: ax.Degradation
    grid2d: tuple[str, str] | None
    seeds: tuple[int, ...]
    tracker_overrides: dict
    cleanup: dict | None
    detectors: tuple[Placed, ...] = ()  # resolved once, here (:func:`.detectors.resolve_values`)
    data_dir: Path | None = None  # its --split, --run and --device are on the resolved detectors
    n_resamples: int = 1000
    options: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_options(cls, *, gt_dir: str | None, data_dir: str | None, split: str, trackers: str | None,
                     axes_text: str | None, grid_text: str | None, values, base_opts, seeds: int,
                     first_seed: int, detectors, run: str | None, device: str, name: str | None, tracker_opts,
                     cleanup_opts, resamples: int, results_dir: str) -> Study:
        """The study the command's options ask for (keywords named as its click parameters); an
        :class:`InputError` for a bad one."""
        from trackers import TRACKERS
        from trackers.cleanup import CLEANUP_KEYS

        if gt_dir is None and data_dir is None:
            raise InputError("--gt: a ground-truth sequences folder is required (or --data with --split)")
        gt = Path(gt_dir) if gt_dir else PreparedDataset(data_dir).gt_dir(split)
        trks = [t.strip() for t in (trackers or ",".join(TRACKERS)).split(",") if t.strip()]
        unknown = [t for t in trks if t not in TRACKERS]
        if unknown:
            raise InputError(f"--trackers: unknown tracker {', '.join(unknown)}; available: {', '.join(TRACKERS)}")
        grid2d = None
        if grid_text:
            grid2d = ax.parse_axes(grid_text, "--grid")
            if len(grid2d) != 2:
                raise InputError(f"--grid {grid_text!r}: name exactly two axes, e.g. recall,fp")
        axes_ = ax.parse_axes(axes_text) if not grid2d else grid2d
        grids = ax.make_grids(ax.parse_assignments(values, "--values"))
        base = ax.make_base(ax.parse_assignments(base_opts, "--base"))
        overrides = parse_tracker_options(tracker_opts)
        cleanup = parse_key_values(cleanup_opts, "--cleanup")
        bad = sorted(set(cleanup) - set(CLEANUP_KEYS))
        if bad:
            raise InputError(f"--cleanup: unknown clean-up option(s) {', '.join(bad)}; valid: {', '.join(CLEANUP_KEYS)}")
        dets = [d.strip() for item in detectors for d in item.split(",") if d.strip()]
        name = name if name is not None else default_name(gt, data_dir, split)
        options = {"trackers": trks, "axes": list(axes_), "grid": grid_text, "values": list(values),
                   "base": list(base_opts), "seeds": seeds, "seed": first_seed, "detectors": dets,
                   "jobs": None, "tracker_opt": list(tracker_opts), "cleanup": list(cleanup_opts)}
        return cls(gt, name, Path(results_dir) / "sensitivity" / name, tuple(trks), axes_, grids, base, grid2d,
                   tuple(range(first_seed, first_seed + seeds)), overrides, cleanup or None,
                   resolve_values(dets, Path(data_dir) if data_dir else None, split, run, device),
                   Path(data_dir) if data_dir else None, resamples, options)

    def check_writable(self) -> None:
        """Refuse an output folder inside the study's inputs (before any work)."""
        ensure_writable(self.out_dir, "sensitivity results",
                        inputs={"--gt": self.gt_dir, "--data": self.data_dir,
                                "--detector": [given(d) for d in self.detectors if Path(given(d)).exists()]})


def default_name(gt, data_dir, split) -> str:
    """``fixture`` for a folder under a ``fixtures`` directory, else the dataset (and split) name."""
    parts = Path(gt).resolve().parts
    if "fixtures" in parts:
        return "fixture"
    if data_dir:
        return f"{Path(data_dir).name}-{split}"
    p = Path(gt).resolve()
    return p.parent.name if p.name == SEQUENCES_DIR else p.name


def write_study(study: Study, result: dict, jobs: int) -> list[Path]:
    """Add the provenance record (``jobs``: how many units ran at once) and write the study's
    folder whole (tables and plots, :mod:`.report`, :mod:`.plots`); the plots written."""
    from detbench.sensitivity import plots, report

    result["meta"] = make_meta("sensitivity", {**study.options, "jobs": jobs}, {"gt": str(study.gt_dir)})
    with atomic_dir(study.out_dir) as tmp:
        result["plots"] = [p.name for p in plots.write_plots(result, tmp)]
        report.write_all(result, tmp)
    return result["plots"]
