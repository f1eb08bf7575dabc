"""Translating between the wandb client's encodings and runyard's: config, metric definitions, system metric
names, console lines, ids and times.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from datetime import datetime, timezone
from typing import Any

from runyard.records import MetricBody

__all__ = [
    "console_line",
    "decode_run_id",
    "dumps",
    "iso",
    "loads_object",
    "metrics_of",
    "project_int_id",
    "run_storage_id",
    "system_to_runyard",
    "system_to_wandb",
    "unwrap_config",
    "wrap_config",
]

# wandb's MetricSummary and MetricOptions protobuf fields (config "_wandb.m" uses the field numbers).
_SUMMARY_FIELDS = {
    "1": "min",
    "2": "max",
    "3": "mean",
    "4": "best",
    "5": "last",
    "6": "none",
    "7": "copy",
    "8": "first",
}
_GOALS = {1: "minimize", 2: "maximize"}


def dumps(value: Any) -> str:
    """JSON text for a ``JSONString`` field; NaN and infinities as W&B writes them (``NaN``, ``Infinity``)."""
    return json.dumps(value, default=str)


def loads_object(text: Any) -> dict[str, Any]:
    """A ``JSONString`` holding an object; anything else (null, bad JSON, a list) reads as ``{}``."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def unwrap_config(wrapped: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split wandb's ``{"key": {"value": v}, "_wandb": {"value": {...}}}`` into (config, the ``_wandb`` dict).

    The config keeps ``_wandb.visualize`` (custom chart specs), the one part of ``_wandb`` that is the run's.
    """
    config: dict[str, Any] = {}
    internal: dict[str, Any] = {}
    for key, item in wrapped.items():
        value = item.get("value") if isinstance(item, dict) and "value" in item else item
        if key == "_wandb":
            internal = value if isinstance(value, dict) else {}
        else:
            config[key] = value
    visualize = internal.get("visualize")
    if isinstance(visualize, dict) and visualize:
        # Custom charts (wandb.plot.*): their specs stay in the config, where wandb and the web app read them.
        config["_wandb"] = {"visualize": visualize}
    return config, internal


def wrap_config(config: dict[str, Any]) -> dict[str, Any]:
    """runyard's config in wandb's shape: every value under ``{"value": v, "desc": null}``."""
    return {key: {"value": value, "desc": None} for key, value in config.items()}


def metrics_of(internal: dict[str, Any]) -> list[MetricBody]:
    """The ``define_metric`` definitions in a config's ``_wandb.m`` list, as runyard's metric records.

    Each entry is a MetricRecord with protobuf field numbers for keys: ``1`` name, ``2`` glob name, ``4`` step
    metric, ``5`` step metric (1-based index into the list), ``6`` options, ``7`` summary, ``8`` goal.
    """
    entries = [e for e in internal.get("m") or () if isinstance(e, dict)]
    names = [str(e.get("1") or e.get("2") or "") for e in entries]
    out: list[MetricBody] = []
    for entry, name in zip(entries, names):
        if not name:
            continue
        step_metric = entry.get("4")
        index = entry.get("5")
        if not step_metric and isinstance(index, int) and 1 <= index <= len(names):
            step_metric = names[index - 1]
        options = entry.get("6") if isinstance(entry.get("6"), (dict, list)) else {}
        summary = entry.get("7") if isinstance(entry.get("7"), (dict, list)) else None
        out.append(
            MetricBody(
                name=name,
                step_metric=str(step_metric) if step_metric else None,
                step_sync=_flag(options, "1", 1),
                hidden=_flag(options, "2", 2),
                summary=_summary_kinds(summary),
                goal=_GOALS.get(entry["8"]) if isinstance(entry.get("8"), int) else None,
            )
        )
    return out


def _flag(options: Any, key: str, number: int) -> bool | None:
    # The options message arrives as {"1": true} (a message) or [1, 3] (the numbers of the set flags).
    if isinstance(options, dict):
        return True if options.get(key) else None
    if isinstance(options, list):
        return True if number in options else None
    return None


def _summary_kinds(summary: Any) -> list[str] | None:
    if isinstance(summary, dict):
        kinds = [_SUMMARY_FIELDS[k] for k, on in summary.items() if on and k in _SUMMARY_FIELDS]
    elif isinstance(summary, list):
        kinds = [_SUMMARY_FIELDS[str(n)] for n in summary if str(n) in _SUMMARY_FIELDS]
    else:
        return None
    return kinds or None


def system_to_runyard(row: dict[str, Any]) -> dict[str, float]:
    """A ``wandb-events.jsonl`` row's metrics under runyard's names: ``system.cpu`` -> ``system/cpu``."""
    out: dict[str, float] = {}
    for key, value in row.items():
        if not key.startswith("system.") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out["system/" + key[len("system.") :]] = float(value)
    return out


def system_to_wandb(values: dict[str, Any]) -> dict[str, Any]:
    """runyard's system metric names as wandb reads them: ``system/cpu`` -> ``system.cpu``."""
    return {("system." + k[len("system/") :] if k.startswith("system/") else k): v for k, v in values.items()}


def console_line(text: str, fallback_t: float) -> tuple[float, str, str]:
    """One ``output.log`` line as ``(t, stream, text)``.

    wandb-core writes ``"<ISO time> text"`` for stdout and ``"ERROR <ISO time> text"`` for stderr, the time in
    UTC without a zone. A line that does not start so is kept whole, at ``fallback_t``.
    """
    stream = "stdout"
    rest = text
    if rest.startswith("ERROR "):
        stream, rest = "stderr", rest[len("ERROR ") :]
    stamp, _, body = rest.partition(" ")
    if len(stamp) >= 19 and stamp[4:5] == "-" and stamp[10:11] == "T":
        try:
            when = datetime.fromisoformat(stamp.rstrip("Z")).replace(tzinfo=timezone.utc)
        except ValueError:
            return fallback_t, "stdout", text
        return when.timestamp(), stream, body
    return fallback_t, "stdout", text


def iso(t: float | None) -> str | None:
    """Unix seconds as W&B writes times: ISO 8601 in UTC, to the second, without a zone."""
    if t is None or not math.isfinite(t):
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def run_storage_id(entity: str, project: str, run_id: str) -> str:
    """The opaque id the client keeps for a run (and sends back in resumes, edits and ``StopRun``)."""
    return base64.b64encode(("Run:" + json.dumps([entity, project, run_id])).encode()).decode("ascii")


def decode_run_id(storage_id: Any) -> tuple[str, str, str] | None:
    """``(entity, project, run_id)`` of a :func:`run_storage_id`, or None for anything else."""
    if not isinstance(storage_id, str):
        return None
    try:
        text = base64.b64decode(storage_id.encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return None
    if not text.startswith("Run:"):
        return None
    try:
        parts = json.loads(text[len("Run:") :])
    except ValueError:
        return None
    if not isinstance(parts, list) or len(parts) != 3 or not all(isinstance(p, str) and p for p in parts):
        return None
    return parts[0], parts[1], parts[2]


def project_int_id(entity: str, project: str) -> str:
    """An integer id for a project (the client parses ``projectId``/``internalId`` with ``int()``)."""
    return str(zlib.crc32(f"{entity}/{project}".encode()))
