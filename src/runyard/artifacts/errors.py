"""The artifact errors (all in runyard's one hierarchy, :mod:`runyard.errors`)."""

from __future__ import annotations

from runyard.errors import StoreError, UsageError

__all__ = ["ArtifactCorruptError", "ArtifactFinalizedError", "ArtifactNotLoggedError"]


class ArtifactCorruptError(StoreError, ValueError):
    """Downloaded or checked files do not match the artifact's manifest (W&B raises ValueError for it)."""


class ArtifactFinalizedError(UsageError):
    """A logged artifact's files cannot change: make a new ``Artifact`` (or ``new_draft()``) for a new version."""


class ArtifactNotLoggedError(UsageError):
    """The call needs a logged artifact (its version, its files in the store); log it (and ``wait()``) first."""
