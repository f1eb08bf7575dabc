"""The records a run log holds: the contract between the SDK, the sinks and the store.

A run log is a sequence of framed records (see :mod:`runyard.runlog.framing`). Each record is the msgpack
encoding of a three-item list ``[seq, kind, body]``:

``seq``
    1, 2, 3, ... within one *session* (one ``init()`` .. ``finish()`` of one process). Ingestion is idempotent
    on ``(session, seq)``: a record whose seq the store has already applied is skipped, never applied twice.
``kind``
    one of the ``KIND_*`` strings below.
``body``
    a dict whose shape depends on the kind (the ``*Body`` TypedDicts below).

A run log is framed so that a reader can skip damaged bytes and go on with the next intact record. Where the
skipped bytes held records, the reader hands on one ``gap`` record in their place (no writer ever writes one):
a store accepts a jump in sequence numbers only through it, and records what was lost.

A session's first record is always ``start``; a session ends with ``exit`` (a session without one belongs to a
process that died, and its run reads ``crashed`` once its heartbeat is older than the crash timeout).
"""

from __future__ import annotations

from typing import Any, TypedDict

KIND_START = "start"
KIND_ROW = "row"
KIND_CONFIG = "config"
KIND_SUMMARY = "summary"
KIND_METRIC = "metric"
KIND_META = "meta"
KIND_HEARTBEAT = "hb"
KIND_EXIT = "exit"
KIND_METADATA = "metadata"
KIND_CONSOLE = "console"
KIND_SYSTEM = "system"
KIND_FILE = "file"
KIND_GAP = "gap"
KIND_ARTIFACT = "artifact"

KINDS = frozenset(
    {
        KIND_START,
        KIND_ROW,
        KIND_CONFIG,
        KIND_SUMMARY,
        KIND_METRIC,
        KIND_META,
        KIND_HEARTBEAT,
        KIND_EXIT,
        KIND_METADATA,
        KIND_CONSOLE,
        KIND_SYSTEM,
        KIND_FILE,
        KIND_GAP,
        KIND_ARTIFACT,
    }
)

STATE_RUNNING = "running"
STATE_FINISHED = "finished"
STATE_FAILED = "failed"
STATE_KILLED = "killed"
STATE_CRASHED = "crashed"

Record = list[Any]
"""``[seq: int, kind: str, body: dict]``."""


class StartBody(TypedDict):
    """Opens a session. ``resumed`` sessions continue an existing run; others create it."""

    session: str  # unique id of this session (one process's init..finish)
    run_id: str
    project: str
    entity: str
    name: str
    notes: str | None
    tags: list[str]
    group: str | None
    job_type: str | None
    config: dict[str, Any]  # the full config at init
    created_at: float  # unix seconds: when the run was first created (kept on resume)
    started_at: float  # unix seconds: when this session started
    resumed: bool
    start_step: int  # the step this session starts at
    runtime_offset: float  # seconds of runtime accumulated by earlier sessions
    host: str
    pid: int
    username: str
    program: str
    mode: str  # "online" | "offline"


# KIND_ROW body: one committed history row. Keys are the user's keys, values already normalised to
# int/float/bool/str/None/list/dict (nested dicts are kept nested; the store flattens them to "a.b" series
# keys and nests them in the summary). Always carries "_step" (int), "_runtime" (float seconds since the run
# started, across resumes) and "_timestamp" (unix seconds).
RowBody = dict[str, Any]


class ConfigBody(TypedDict):
    """Keys set (or changed) in the config; values may be nested dicts. ``del`` lists removed keys."""

    set: dict[str, Any]
    delete: list[str]


class SummaryBody(TypedDict):
    """Explicit summary writes (``run.summary[k] = v``) that override the last logged value."""

    set: dict[str, Any]
    delete: list[str]


class MetricBody(TypedDict):
    """One ``define_metric`` definition, already merged with any earlier one of the same name."""

    name: str  # a metric key, or a suffix glob such as "train/*" or "*"
    step_metric: str | None
    step_sync: bool | None
    hidden: bool | None
    summary: list[str] | None  # subset of min, max, mean, first, last, copy, none
    goal: str | None  # "minimize" | "maximize"


class MetaBody(TypedDict, total=False):
    """Run properties changed after init."""

    name: str
    notes: str | None
    tags: list[str]
    group: str | None
    job_type: str | None
    preempting_at: float  # run.mark_preempting(): unix time the process said it is about to be preempted


class HeartbeatBody(TypedDict):
    t: float


class ExitBody(TypedDict):
    exit_code: int
    state: str  # finished | failed | killed
    t: float  # unix seconds at exit
    runtime: float  # the run's total runtime in seconds


# KIND_METADATA body: where and how the run ran, merged (dict update, top-level keys) into the run's metadata.
# Keys (all optional): host, os, python, executable, program, args (list), command (str), cwd, username,
# cpu_model, cpu_count, cpu_count_logical, memory_total (bytes), gpu (model name), gpu_count,
# gpu_devices (list of {name, memory_total, driver}), cuda, runyard_version, git ({commit, branch, remote, dirty}),
# started_at (unix seconds). The SDK writes one record at init and may add another when slow probes finish.
MetadataBody = dict[str, Any]


class ConsoleBody(TypedDict):
    """Console lines, in order: ``[t, stream, text]`` with ``stream`` "stdout" or "stderr" and ``text`` one
    line without its newline (a ``\r`` progress line is sent once, in its final state)."""

    lines: list[list[Any]]


class SystemBody(TypedDict):
    """One system-metrics sample: ``values`` maps ``system/...`` keys to numbers."""

    t: float  # unix seconds
    runtime: float  # seconds since the run started, across resumes
    values: dict[str, float]


class FileBody(TypedDict):
    """A small run file (e.g. ``requirements.txt``); a later record of the same name replaces it."""

    name: str
    content: bytes


class ArtifactBody(TypedDict, total=False):
    """An artifact version logged or used by the run (see :mod:`runyard.store.artifacts`).

    ``action`` "log": the version's files are already in the store's blob store; the record commits its manifest:
    ``name``, ``type``, ``description``, ``metadata``, ``aliases`` (``latest`` is always added), ``digest`` (the
    manifest's SHA-256) and ``files``: ``[path, digest, size, ref]`` each, where a stored file's ``digest`` is its
    content's SHA-256 and so its blob key, and a reference's ``ref`` is its URI (None for stored files).
    ``action`` "use": the run used the version ``digest`` of collection ``name`` in ``entity``/``project``.
    """

    action: str
    name: str
    type: str
    description: str | None
    metadata: dict[str, Any]
    aliases: list[str]
    digest: str
    files: list[list[Any]]
    entity: str
    project: str
    t: float


class GapBody(TypedDict):
    """Inserted by a run-log reader (never written): records ``first``..``last`` were in damaged bytes and are
    lost. The record's own seq is ``last``; ``start``/``end`` are the skipped byte range of the run log."""

    first: int
    last: int
    start: int
    end: int
