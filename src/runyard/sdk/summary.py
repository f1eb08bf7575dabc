"""``run.summary``: one value per metric, the last logged unless a rule or an explicit write says otherwise."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runyard.media.base import Media
from runyard.sdk.values import normalize_value
from runyard.summary_fold import SummaryFolder

Emit = Callable[[dict[str, Any], list[str]], None]


class Summary:
    """The summary of a run, as ``wandb.summary``: dict and attribute access.

    ``summary[key] = value`` and :meth:`update` override the last logged value of a key until it is logged again.
    A nested value reads as a :class:`SummarySubDict`, so that ``summary["best"]["acc"] = 0.95`` is stored too,
    as in W&B.
    """

    def __init__(self, folder: SummaryFolder, emit: Emit | None = None) -> None:
        object.__setattr__(self, "_folder", folder)
        object.__setattr__(self, "_emit", emit)

    def update(self, d: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set several summary keys at once."""
        data = dict(d or {})
        data.update(kwargs)
        # Media (an Image, a Table...) stay objects here: the run binds them to their references in emit().
        clean = {
            str(k): v if isinstance(v, Media) and self._emit is not None else normalize_value(str(k), v, "summary")
            for k, v in data.items()
        }
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
        return self._wrap(key, self._folder.summary[key])

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._wrap(key, self._folder.summary[key])
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def _wrap(self, key: str, value: Any) -> Any:
        return SummarySubDict(self, (key,), value) if isinstance(value, dict) else value

    def _set_path(self, path: tuple[str, ...], value: Any, delete: bool = False) -> None:
        """Store a change below a top-level key: the key's whole new value is written, as one summary update."""
        top = path[0]
        current = self._folder.summary.get(top)
        new = copy.deepcopy(current) if isinstance(current, dict) else {}
        node = new
        for key in path[1:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        if delete:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
        self.update({top: new})

    def __contains__(self, key: object) -> bool:
        return key in self._folder.summary

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._folder.summary))

    def __len__(self) -> int:
        return len(self._folder.summary)

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self._folder.summary:
            return default
        return self._wrap(key, self._folder.summary[key])

    def keys(self) -> list[str]:
        return list(self._folder.summary.keys())

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self._wrap(k, v)) for k, v in list(self._folder.summary.items())]

    def values(self) -> list[Any]:
        return [v for _, v in self.items()]

    def as_dict(self) -> dict[str, Any]:
        """A copy of the summary as a plain (nested) dict."""
        return copy.deepcopy(dict(self._folder.summary))

    def __repr__(self) -> str:
        return f"Summary({self._folder.summary!r})"


class SummarySubDict(dict[str, Any]):
    """A nested summary value, as ``run.summary["best"]`` returns it: a dict whose changes are stored.

    ``run.summary["best"]["acc"] = 0.95`` (and ``del``, ``update``, ``pop``, ``setdefault``, ``clear`` on it)
    writes the new value of ``"best"`` to the run's summary, as W&B's nested summaries do. It holds a copy of the
    value when it was read: read it again to see later changes.
    """

    def __init__(self, root: Summary, path: tuple[str, ...], value: dict[str, Any]) -> None:
        super().__init__(value)
        self._root = root
        self._path = path

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return SummarySubDict(self._root, (*self._path, key), value) if isinstance(value, dict) else value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._root._set_path((*self._path, key), value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._root._set_path((*self._path, key), None, delete=True)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        for key, value in dict(other, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        if key not in self and default:
            return default[0]
        value = super().__getitem__(key)
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))  # a pickled or deep-copied summary value is a plain dict
