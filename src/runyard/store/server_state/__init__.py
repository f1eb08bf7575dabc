"""The server-state room of the store: ``store.server_state`` (see :mod:`runyard.store.server_state.room`)."""

from runyard.store.server_state.room import Doc, ServerState, StaleDocError

__all__ = ["Doc", "ServerState", "StaleDocError"]
