"""Where ingested records go: a store in this process (LocalSink) or a runyard server (HttpSink)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runyard.sinks.base import Sink
from runyard.sinks.ingester import Ingester
from runyard.sinks.local import LocalSink

if TYPE_CHECKING:
    from runyard.sinks.http import HttpSink

__all__ = ["HttpSink", "Ingester", "LocalSink", "Sink"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: an ingester process of a local store does without http.client (~16 ms of imports).
    if name == "HttpSink":
        from runyard.sinks.http import HttpSink

        return HttpSink
    raise AttributeError(f"module 'runyard.sinks' has no attribute {name!r}")
