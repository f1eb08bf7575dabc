"""The W&B wire protocol, so the unmodified ``wandb`` client logs to runyard (see ``docs/wandb-protocol.md``).

``WANDB_BASE_URL=http://host:8080 WANDB_API_KEY=<key> python train.py``: the client's GraphQL, ``file_stream``
and file uploads become the same run-log records the runyard SDK writes, stored with ``Store.ingest``.
"""

from __future__ import annotations

from runyard.server.wandb.routes import router as wandb_router

__all__ = ["PROTOCOL_PREFIXES", "wandb_router"]

PROTOCOL_PREFIXES = ("/graphql", "/files/", "/wandb/")
"""The paths of the protocol's routes: each call there carries an API key or a signed URL."""
