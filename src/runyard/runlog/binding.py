"""Which runyard server a run log is bound for: a small file beside it, ``<session>.rylog.server``.

A run of the SDK logging to a server (``runyard login``, ``RUNYARD_BASE_URL``) keeps its run log on the training
machine until the server holds every record. The file beside it names the server (never the key), so that
``runyard sync`` sends a left-over log to the server it was meant for, and commands that replay left-over logs
into the local store leave it alone. It is removed with the run log.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SERVER_SUFFIX", "bind_to_server", "bound_server", "unbind"]

SERVER_SUFFIX = ".server"


def _mark(log: Path) -> Path:
    return log.with_name(log.name + SERVER_SUFFIX)


def bind_to_server(log: Path, base_url: str) -> None:
    """Note that the run log at ``log`` goes to the server at ``base_url``."""
    _mark(log).write_text(base_url + "\n", encoding="utf-8")


def bound_server(log: Path) -> str | None:
    """The server the run log at ``log`` is bound for, or None (a local or offline run)."""
    try:
        text = _mark(log).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def unbind(log: Path) -> None:
    """Remove the note (with the run log itself)."""
    _mark(log).unlink(missing_ok=True)
