"""A JSON column type that keeps NaN and ±inf.

Configs and summaries routinely hold NaN (a diverged loss) or inf. PostgreSQL's ``json`` rejects those tokens
and strict JSON has none, so on the way in each non-finite float becomes a tagged object
``{"$nonfinite": "nan"}`` (``"inf"``, ``"-inf"``) and on the way out a float again. Both backends store the
same text. NUL characters become U+FFFD, as everywhere the store keeps text (PostgreSQL's cannot hold them).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from runyard.store.json_safe import NONFINITE_TAG, from_json_safe, to_json_safe, without_nul

__all__ = ["NONFINITE_TAG", "JSONValue", "from_json_safe", "to_json_safe"]


class JSONValue(TypeDecorator[Any]):
    """``sa.JSON`` that round-trips NaN and ±inf on SQLite and PostgreSQL alike."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return to_json_safe(without_nul(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return from_json_safe(value)
