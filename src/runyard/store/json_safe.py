"""NaN and ±inf in JSON columns: tagged objects on the way in, floats again on the way out.

Configs and summaries routinely hold NaN (a diverged loss) or inf. PostgreSQL's ``json`` rejects those tokens
and strict JSON has none, so on the way in each non-finite float becomes a tagged object
``{"$nonfinite": "nan"}`` (``"inf"``, ``"-inf"``) and on the way out a float again. Both backends store the
same text. NUL characters, which PostgreSQL text cannot hold, are replaced by U+FFFD on both backends alike
(:func:`without_nul`; the write path's ``dump_json`` does it on the JSON text). No SQLAlchemy here: the
ingester process of a SQLite store uses it without (see store/sql.py).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["NONFINITE_TAG", "NUL_REPLACEMENT", "from_json_safe", "to_json_safe", "without_nul"]

NONFINITE_TAG = "$nonfinite"
NUL_REPLACEMENT = "\ufffd"
"""What a NUL character is stored as, in every text the store keeps (names, keys, JSON, console lines)."""

_NAMES = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def to_json_safe(value: Any) -> Any:
    """Return ``value`` with every non-finite float replaced by its tagged object (tuples become lists)."""
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value
        if value != value:
            return {NONFINITE_TAG: "nan"}
        return {NONFINITE_TAG: "inf" if value > 0 else "-inf"}
    if kind is dict:
        return {k: to_json_safe(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_json_safe(v) for v in value]
    return value


def from_json_safe(value: Any) -> Any:
    """Inverse of :func:`to_json_safe`."""
    kind = type(value)
    if kind is dict:
        if len(value) == 1 and NONFINITE_TAG in value:
            tag = value[NONFINITE_TAG]
            if isinstance(tag, str) and tag in _NAMES:
                return _NAMES[tag]
        return {k: from_json_safe(v) for k, v in value.items()}
    if kind is list:
        return [from_json_safe(v) for v in value]
    return value


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters in its strings and dict keys replaced by :data:`NUL_REPLACEMENT`."""
    kind = type(value)
    if kind is str:
        return value.replace("\x00", NUL_REPLACEMENT) if "\x00" in value else value
    if kind is dict:
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [without_nul(v) for v in value]
    return value
