"""User-facing errors: the CLI prints them as one line and exits non-zero."""
from __future__ import annotations


class DetbenchError(Exception):
    """A problem the user can fix (bad input, missing file). Printed as one line, exit 2."""

    exit_code = 2


class InputError(DetbenchError):
    """A file or option is missing or malformed. The message names the file and what is wrong."""
