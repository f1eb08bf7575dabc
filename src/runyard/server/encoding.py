"""The API's one JSON encoder: every answer, errors included, is rendered here.

JSON has no NaN or infinities, and Starlette's ``JSONResponse`` refuses them, yet history values, summaries and
configs hold them (a diverged loss). They go out as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``,
which clients turn back into numbers (``docs/rest-api.md``).

Handlers return :class:`ApiResponse` themselves rather than plain dicts, so that FastAPI does not walk big
answers (a chart's hundreds of thousands of numbers) through ``jsonable_encoder`` first. Rendering is orjson's:
the standard library takes ~450 ms for a 100-run chart's 700,000 numbers on a small machine, orjson ~35 ms. orjson
would write non-finite floats as ``null``, so they are turned into strings first — by :func:`finite` in general,
or by a handler that knows where they can occur (``checked=True``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response

__all__ = ["ApiResponse", "encode", "finite"]


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if kind is dict:
        return {k: finite(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [finite(v) for v in value]
    return value


def encode(content: Any, *, checked: bool = False) -> bytes:
    """``content`` as compact UTF-8 JSON, non-finite floats as strings.

    ``checked=True``: the caller has already replaced every non-finite float (see :func:`finite`).
    """
    if not checked:
        content = finite(content)
    try:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except (orjson.JSONEncodeError, TypeError):
        # What orjson does not take (integers beyond 64 bits in a user's config): the standard library.
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str).encode()


class ApiResponse(Response):
    """A JSON answer rendered by :func:`encode`."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        background: BackgroundTask | None = None,
        *,
        checked: bool = False,
    ) -> None:
        self._checked = checked  # read by render(), which Response.__init__ calls
        super().__init__(content, status_code, headers, None, background)

    def render(self, content: Any) -> bytes:
        return encode(content, checked=getattr(self, "_checked", False))
