"""Repeatable ``KEY=VALUE`` command-line options (``--set``, ``--tracker-opt``)."""
from __future__ import annotations

from detbench.errors import InputError


def parse_key_values(pairs: list[str] | tuple[str, ...], flag: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a pair without ``=`` is an InputError naming ``flag``."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"{flag} {pair!r}: expected KEY=VALUE")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out
