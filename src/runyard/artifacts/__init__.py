"""``runyard.Artifact``: a versioned, content-addressed set of files, as ``wandb.Artifact``.

A layer of its own, between the SDK and the API (both hand out artifacts): it imports only runyard's leaves. A
logged artifact reaches its store through a backend object (:class:`~runyard.artifacts.backend.ArtifactBackend`:
the store's artifact room), handed to it by whoever created it.
"""

from __future__ import annotations

from runyard.artifacts.artifact import Artifact, ArtifactManifestEntry
from runyard.artifacts.errors import ArtifactCorruptError, ArtifactFinalizedError, ArtifactNotLoggedError

__all__ = [
    "Artifact",
    "ArtifactCorruptError",
    "ArtifactFinalizedError",
    "ArtifactManifestEntry",
    "ArtifactNotLoggedError",
]
