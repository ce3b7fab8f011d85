"""The ``detbench`` command line: a thin, lazy click group.

Each subcommand lives in ``detbench/commands/<name>.py`` as a click command called ``command``;
this module imports it only when that subcommand runs, so ``detbench --help`` stays fast.
Add a command by adding one line to :data:`COMMANDS`.
"""
from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys

import click

from detbench.core.errors import DetbenchError

# name -> (module under detbench.commands, one-line help shown by `detbench --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("synth", "Write a synthetic dataset in the exact nuScenes format (tables + images)."),
    "prepare": ("prepare", "nuScenes -> COCO json (detector data) + MOT ground truth per scene x camera."),
    "train": ("train", "Fine-tune YOLOX (head-only Stable V3 recipe by default)."),
    "export": ("export", "Write a standalone checkpoint that stock YOLOX tools load."),
    "analyze": ("analyze", "Training analysis report (markdown, JSON, plots) from run logs."),
    "detect": ("detect", "Run a checkpoint over a split and cache per-frame detections."),
    "eval-det": ("eval_det", "Detector AP (pycocotools) of cached detections."),
    "show-dets": ("show_dets", "Draw cached detections over a sequence's images."),
    "train-motion": ("train_motion", "Train the TrackSSM motion model on ground-truth tracks."),
    "track": ("track", "Run a tracker over every sequence of a split; write MOT results."),
    "eval": ("eval", "HOTA / CLEAR / Identity metrics of MOT results against ground truth."),
    "compare": ("compare", "Compare detectors x trackers: IDSW/MOTA/HOTA tables with bootstrap CIs."),
    "sensitivity": ("sensitivity", "Tracker metrics vs detection recall, FP, localisation, scores, classes."),
    "tune": ("tune", "Grid-search a tracker's thresholds on the tuning split."),
    "show-tracks": ("show_tracks", "Render tracks coloured by id, ID switches marked."),
    "demo": ("demo", "The whole pipeline on a synthetic dataset, on a laptop CPU."),
    "ls": ("ls", "List datasets, runs, checkpoints, caches and trackers."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx):
        return [name for name, (module, _) in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx, name):
        if name not in COMMANDS or not _module_exists(COMMANDS[name][0]):
            return None
        module = importlib.import_module(f"detbench.commands.{COMMANDS[name][0]}")
        return module.command

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(f"detbench.commands.{module}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog="Example: detbench demo   (the whole pipeline on synthetic data, CPU, ~5 min)")
@click.option("--runs-dir", type=click.Path(file_okay=False), default=None,
              help="Root for all artifacts (default ./runs, or $DETBENCH_RUNS).")
@click.version_option(package_name="detbench")
def cli(runs_dir):
    """detbench: does a better detector checkpoint make trackers better?

    Fine-tune YOLOX on nuScenes, cache detections per checkpoint, run BoT-SORT / TrackSSM,
    and score IDSW, MOTA, HOTA against nuScenes ground truth.
    """
    if runs_dir:
        os.environ["DETBENCH_RUNS"] = runs_dir


_USER_OS_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.ENOSPC, errno.EDQUOT}


def main(argv=None) -> int:
    """Entry point: user errors become one line on stderr and exit code 2."""

    if argv is None:   # the `detbench` program itself (callers in Python pass argv): its teardown only
        from detbench.teardown import quiet_teardown

        quiet_teardown()
    try:
        rv = cli.main(args=argv, prog_name="detbench", standalone_mode=False)
    except DetbenchError as e:
        click.echo(f"error: {e}", err=True)
        return e.exit_code
    except OSError as e:
        # a folder that cannot be written (permissions, read-only mount, a file where a folder
        # should be) or a full disk: the path and the reason, not a traceback
        if e.errno not in _USER_OS_ERRORS or not e.filename:
            raise
        click.echo(f"error: {e.filename}: {e.strerror}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as e:  # a bad option value: one line like every input error, not a usage banner
        where = f" (see {e.ctx.command_path} --help)" if e.ctx is not None else ""
        click.echo(f"error: {e.format_message()}{where}", err=True)
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    return rv if isinstance(rv, int) else 0  # a command's own `raise Exit(n)` comes back as n


if __name__ == "__main__":
    sys.exit(main())
