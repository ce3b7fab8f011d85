"""Repeatable ``KEY=VALUE`` options (``--set``, ``--tracker-opt``), parsed for library code and the CLI."""
from __future__ import annotations

from detbench.core.errors import InputError


def parse_key_values(pairs: list[str] | tuple[str, ...], flag: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a pair without ``=`` is an InputError naming ``flag``."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"{flag} {pair!r}: expected KEY=VALUE")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def parse_tracker_options(items: list[str] | tuple[str, ...], flag: str = "--tracker-opt") -> dict[str, dict[str, str]]:
    """``["botsort:track_buffer_s=3"]`` -> ``{"botsort": {"track_buffer_s": "3"}}``; an item without
    ``:`` or ``=`` is an InputError naming ``flag``."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        if ":" not in item or "=" not in item:
            raise InputError(f"{flag} {item!r}: expected TRACKER:KEY=VALUE")
        tracker, pair = item.split(":", 1)
        out.setdefault(tracker.strip(), {}).update(parse_key_values([pair], flag))
    return out
