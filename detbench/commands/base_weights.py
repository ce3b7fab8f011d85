"""``make base-weights`` (``python -m detbench.commands.base_weights``): retrain the demo's pretrained
base (:mod:`detbench.base_weights`, which runs the stages) with progress bars, errors as one line.

It lives with the commands because it draws the bars (:mod:`detbench.commands.progress`), which no
library module may import; :func:`detbench.base_weights.make_base_weights` takes them as an argument.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from detbench.core.errors import DetbenchError


def stage_bars(cfg):
    """``progress(stage)`` for :func:`~detbench.base_weights.make_base_weights`: each stage's bar as its
    command draws it."""
    from detbench.commands.progress import bar_per_key, detect_bar, lazy_bar, train_bar

    @contextmanager
    def progress(stage: str):
        if stage == "synth":
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

            total, done = cfg.scenes * cfg.keyframes, [0]   # keyframes of one camera, no sweeps
            with lazy_bar(TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TextColumn("images"),
                          TimeElapsedColumn(), transient=True) as update:
                def images(n: int) -> None:
                    done[0] += n
                    update(done[0], total, "render")

                yield images
        elif stage == "prepare":
            with lazy_bar() as bar:
                yield lambda done, total: bar(done, total, "prepare v1.0-synth")
        elif stage in ("train", "train_c2"):
            with train_bar() as bar:
                yield bar
        elif stage == "eval-det":
            with bar_per_key(detect_bar) as bar:
                yield bar
        else:
            yield None

    return progress


def main(argv: list[str] | None = None) -> int:
    import argparse

    from detbench.base_weights import BASE, WEIGHTS_DIR, make_base_weights, new_stamp
    from detbench.cli import _USER_OS_ERRORS as USER_OS_ERRORS

    p = argparse.ArgumentParser(prog="python -m detbench.commands.base_weights",
                                description="Retrain the demo's pretrained base (weights/demo_base/).")
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="output folder (default: weights/demo_base)")
    p.add_argument("--stamp", default=None, help="continue the interrupted invocation of this time stamp")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    stamp = args.stamp or new_stamp()
    try:
        make_base_weights(BASE, out_dir=args.out, stamp=stamp, progress=stage_bars(BASE))
    except DetbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # as the CLI: a folder that cannot be written, a full disk: one line
        if e.errno not in USER_OS_ERRORS or not e.filename:
            raise
        print(f"error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\naborted; continue it with: python -m detbench.commands.base_weights --stamp {stamp}"
              + (f" --out {args.out}" if args.out != WEIGHTS_DIR else ""), file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
