"""runyard's web server: the REST API under ``/api/v1`` and the bundled web app, over one store.

Only the CLI imports this package (``runyard ui``, ``runyard server``); it imports the store, never the SDK.
"""

from __future__ import annotations

from runyard.server.app import create_app

__all__ = ["create_app"]
