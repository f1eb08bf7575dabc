"""Capability URLs for run files: the client PUTs uploads and GETs downloads without credentials.

A URL carries a token that names the run and the file, its expiry, and an HMAC over both with a secret kept in
the store (drawn by the first server that needed it), so a URL one replica handed out works at every other and
after a restart. Nobody can guess or alter one, and it stops working after :data:`TTL_S` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

__all__ = ["TTL_S", "FileRef", "Signer"]

TTL_S = 3600.0


@dataclass(frozen=True)
class FileRef:
    """What a token grants: one file of one run, for upload (``put``) or download (``get``)."""

    action: str
    entity: str
    project: str
    run_id: str
    name: str


class Signer:
    """Mints and checks the tokens of upload and download URLs."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def token(self, ref: FileRef, ttl: float = TTL_S) -> str:
        payload = json.dumps([ref.action, ref.entity, ref.project, ref.run_id, ref.name, int(time.time() + ttl)])
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{body}.{self._mac(body)}"

    def check(self, token: str, action: str) -> FileRef | None:
        """The file a valid, unexpired token of ``action`` grants; None for anything else."""
        body, _, mac = token.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(fields, list) or len(fields) != 6 or fields[0] != action:
            return None
        if not isinstance(fields[5], int) or fields[5] < time.time():
            return None
        if not all(isinstance(f, str) for f in fields[:5]):
            return None
        return FileRef(*fields[:5])

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
