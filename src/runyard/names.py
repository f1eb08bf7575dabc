"""Run ids and generated display names: the SDK names its runs with them, and the server names the runs of
wandb clients that send no name."""

from __future__ import annotations

import secrets

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_ADJECTIVES = (
    "amber autumn bold brisk calm clever cosmic crimson daring dawn deep eager electric fancy fiery fluent "
    "frosty gentle glorious golden graceful hardy hazy honest icy jolly keen lively lucky lunar misty "
    "noble olive peachy proud quiet rapid rosy royal rustic serene sharp silent silver sleek smooth solar "
    "spring stellar stoic sunny swift tidy twilight vivid warm wild winter wise young zesty"
).split()
_NOUNS = (
    "aurora bird breeze brook butterfly canyon cloud comet dawn dew dream dust feather field firefly "
    "flower fog forest frost galaxy glade grass haze hill lake leaf meadow moon morning mountain night "
    "ocean paper pine planet pond rain resonance river sea shadow sky smoke snow sound spaceship star "
    "sun sunset surf thunder tree valley violet water wave wind wood"
).split()


def new_run_id(length: int = 8) -> str:
    """A random run id of ``length`` base-36 characters (8 by default), like W&B's."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_session_id() -> str:
    return secrets.token_hex(8)


def new_run_name() -> str:
    """A readable name such as ``"swift-river-42"``."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000)}"
