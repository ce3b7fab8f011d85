"""Values remembered by their inputs' content, for work a tuning grid repeats on the same frames."""
from __future__ import annotations


class ContentMemo(dict):
    """A dict of values by content key holding at most ``limit`` entries: the entry that would go
    over clears it first, so a long run revisiting few frames stays fast and one visiting many
    stays bounded. Look values up with ``get`` (a plain dict's); store them with :meth:`keep`."""

    __slots__ = ("limit",)

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def keep(self, key, value):
        """Store ``value`` under ``key`` (clearing a full memo first) and return it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
