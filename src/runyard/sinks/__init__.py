"""Where ingested records go: the embedded store today, a runyard server later."""

from runyard.sinks.base import Sink
from runyard.sinks.ingester import Ingester
from runyard.sinks.local import LocalSink

__all__ = ["Ingester", "LocalSink", "Sink"]
