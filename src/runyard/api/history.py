"""``HistoryScan``: every history row of a run, read lazily, page by page (``run.scan_history()``)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from runyard.errors import UsageError

if TYPE_CHECKING:
    from runyard.store import Store

__all__ = ["HistoryScan", "check_keys"]


def check_keys(keys: object) -> None:
    """``keys`` must be None or a list of strings (W&B's rule)."""
    if keys is None:
        return
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise UsageError(f"keys must be a list of strings, such as ['loss'], not {keys!r}")


class HistoryScan:
    """An iterator over a run's history rows in step order, ``min_step`` <= step < ``max_step``.

    Without keys each row is whole (``_step``, ``_runtime``, ``_timestamp`` and every key logged at that
    step). With keys, only rows that hold all of them are returned, with ``_step`` and those keys (W&B's rule:
    its ``scan_history`` adds ``_step`` to the keys). Rows are read from the store ``page_size`` at a time as
    iteration advances; iterating again starts over.
    """

    def __init__(
        self,
        store: Store,
        entity: str,
        project: str,
        run_id: str,
        keys: list[str] | None,
        page_size: int,
        min_step: int,
        max_step: int,
    ) -> None:
        if type(page_size) is not int or page_size < 1:
            raise UsageError(f"page_size must be a positive integer, not {page_size!r}")
        self._store = store
        self._where = (entity, project, run_id)
        self.keys = None if keys is None else list(dict.fromkeys(keys))
        self.page_size = page_size
        self.min_step = min_step
        self.max_step = max_step
        self._rows: Iterator[dict[str, Any]] | None = None

    def __iter__(self) -> HistoryScan:
        self._rows = None
        return self

    def __next__(self) -> dict[str, Any]:
        if self._rows is None:
            self._rows = self._scan()
        return next(self._rows)

    def _scan(self) -> Iterator[dict[str, Any]]:
        entity, project, run_id = self._where
        keys = self.keys
        # Every stored row carries "_step": asking the store for it would make it read every series.
        asked = None if keys is None else ([key for key in keys if key != "_step"] or ["_step"])
        # The store decodes block by block as this advances, on short-lived connections: nothing is held
        # between pages. Each page is pulled whole, then handed out row by row.
        rows = self._store.history(
            entity, project, run_id, keys=asked, min_step=self.min_step, max_step=self.max_step - 1
        )
        if keys is not None:
            wanted = ["_step", *(key for key in keys if key != "_step")]
            rows = ({key: row[key] for key in wanted} for row in rows if all(key in row for key in keys))
        while True:
            page = list(islice(rows, self.page_size))
            yield from page
            if len(page) < self.page_size:
                return
