"""Nested dicts to W&B history keys and back.

W&B names the history series of a logged nested dict ``{"a": {"b": 1}}`` by joining the path with dots
(``"a.b"``), while the summary keeps the nesting. These helpers do both directions. A dict with a ``"_type"``
key is not nesting but one value: the reference W&B (and runyard) log for an image, histogram, table or other
media object (``{"_type": "image-file", "path": ...}``), kept whole so its key holds one series, as in W&B.
They run in the training thread on every ``log()``, so they import nothing heavy and take a fast path for the
common flat row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["flatten", "is_object", "iter_leaves", "nest_pop", "nest_set"]


def is_object(value: Any) -> bool:
    """Whether ``value`` is a typed object reference (a dict with a ``"_type"`` key), which is never flattened."""
    return isinstance(value, dict) and "_type" in value


def flatten(d: Mapping[str, Any], sep: str = ".") -> dict[str, Any]:
    """Return ``d`` with nested dicts folded into ``"a.b"`` keys (typed object references stay whole).

    Non-dict values are kept as they are (lists included). An empty nested dict yields no key, because it
    holds no leaf to plot.
    """
    for value in d.values():
        if isinstance(value, dict) and "_type" not in value:
            break
    else:
        # The usual row is flat: a plain copy is several times faster than the walk below.
        return dict(d)
    out: dict[str, Any] = {}
    _flatten_into(out, d, "", sep)
    return out


def _flatten_into(out: dict[str, Any], d: Mapping[str, Any], prefix: str, sep: str) -> None:
    for key, value in d.items():
        name = prefix + key
        if isinstance(value, dict) and "_type" not in value:
            _flatten_into(out, value, name + sep, sep)
        else:
            out[name] = value


def iter_leaves(d: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield ``(path, value)`` for every non-dict value of ``d``, depth first, in insertion order.

    Paths are tuples rather than dotted strings so a key that itself contains a dot stays one path element.
    """
    for key, value in d.items():
        path = (*prefix, key)
        if isinstance(value, dict) and "_type" not in value:
            yield from iter_leaves(value, path)
        else:
            yield path, value


def nest_set(target: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set ``target[p0][p1]...[pn] = value``, creating (or replacing non-dict) intermediate levels."""
    node = target
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            # W&B semantics: logging {"a": {"b": 1}} after {"a": 3} turns "a" into a dict.
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def nest_pop(target: dict[str, Any], path: Sequence[str]) -> bool:
    """Remove the value at ``path``; prune parents left empty. Return whether something was removed."""
    if not path:
        return False
    trail: list[dict[str, Any]] = [target]
    node = target
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            return False
        trail.append(child)
        node = child
    if path[-1] not in node:
        return False
    del node[path[-1]]
    # Walk back up and drop dicts that the removal emptied, so {"a": {}} never lingers in a summary.
    for depth in range(len(path) - 1, 0, -1):
        if trail[depth]:
            break
        del trail[depth - 1][path[depth - 1]]
    return True
