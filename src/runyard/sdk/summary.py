"""``run.summary``: one value per metric, the last logged unless a rule or an explicit write says otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runyard.sdk.values import normalize_value
from runyard.summary_fold import SummaryFolder

Emit = Callable[[dict[str, Any], list[str]], None]


class Summary:
    """The summary of a run, as ``wandb.summary``: dict and attribute access.

    ``summary[key] = value`` and :meth:`update` override the last logged value of a key until it is logged again.
    """

    def __init__(self, folder: SummaryFolder, emit: Emit | None = None) -> None:
        object.__setattr__(self, "_folder", folder)
        object.__setattr__(self, "_emit", emit)

    def update(self, d: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set several summary keys at once."""
        data = dict(d or {})
        data.update(kwargs)
        clean = {str(k): normalize_value(str(k), v, "summary") for k, v in data.items()}
        if self._emit is not None:
            self._emit(clean, [])  # first: a change that cannot be recorded leaves the summary as it was
        self._folder.set(clean)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self._folder.summary:
            raise KeyError(key)
        if self._emit is not None:
            self._emit({}, [key])
        self._folder.delete([key])

    def __getitem__(self, key: str) -> Any:
        return self._folder.summary[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._folder.summary[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._folder.summary

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._folder.summary))

    def __len__(self) -> int:
        return len(self._folder.summary)

    def get(self, key: str, default: Any = None) -> Any:
        return self._folder.summary.get(key, default)

    def keys(self) -> list[str]:
        return list(self._folder.summary.keys())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._folder.summary.items())

    def values(self) -> list[Any]:
        return list(self._folder.summary.values())

    def as_dict(self) -> dict[str, Any]:
        """A copy of the summary as a plain (nested) dict."""
        return dict(self._folder.summary)

    def __repr__(self) -> str:
        return f"Summary({self._folder.summary!r})"
