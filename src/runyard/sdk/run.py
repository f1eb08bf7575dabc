"""``Run``: one run of a training script, as ``wandb.Run``.

Everything a call does in the caller's thread is cheap: validate, assign the step, fold the summary, and append
one framed record to the run log. The store is written by the background ingester (see
:mod:`runyard.sinks.ingester`), never on this path.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zlib import crc32 as _crc32

import msgpack

from runyard import records as R
from runyard.errors import UsageError
from runyard.media.base import Media, MediaDependencyError, MediaFile
from runyard.media.plot import CustomChart
from runyard.runlog import RunLogWriter
from runyard.runlog.framing import HEADER, SYNC_U32
from runyard.sdk.alerts import AlertLevel, check_alert
from runyard.sdk.config import Config
from runyard.sdk.limits import VALUE_LIMIT, check_file, check_record
from runyard.sdk.metrics import Metric, build_metric, metric_for
from runyard.sdk.summary import Summary
from runyard.sdk.values import normalize_row
from runyard.summary_fold import SummaryFolder

if TYPE_CHECKING:
    from types import TracebackType

    from runyard.artifacts import Artifact
    from runyard.sdk.artifact_uploads import ArtifactUploads
    from runyard.sdk.console import ConsoleCapture
    from runyard.sdk.media_writer import MediaWriter
    from runyard.sdk.metadata import MetadataProbe
    from runyard.sdk.system import SystemSampler
    from runyard.settings import ResolvedSettings
    from runyard.sinks.process import IngesterProcess

_pack_header = HEADER.pack
_os_write = os.write
_WHAT = {R.KIND_ROW: "this step", R.KIND_CONFIG: "this config change", R.KIND_SUMMARY: "this summary change"}


class Run:
    """A run: the unit of computation runyard records. Create one with :func:`runyard.init`.

    Attributes:
        id: the run's unique id within its project.
        config: the run's hyperparameters (:class:`runyard.sdk.config.Config`).
        summary: one value per metric (:class:`runyard.sdk.summary.Summary`).
    """

    def __init__(
        self,
        *,
        settings: ResolvedSettings,
        run_id: str,
        project: str,
        entity: str,
        name: str,
        notes: str | None,
        tags: list[str],
        group: str | None,
        job_type: str | None,
        session: str,
        folder: Path | None,
        writer: RunLogWriter | None,
        start_step: int = 0,
        runtime_offset: float = 0.0,
        created_at: float | None = None,
        resumed: bool = False,
        allow_val_change: bool = False,
        summary: dict[str, Any] | None = None,
        summary_state: dict[str, Any] | None = None,
        metrics: list[dict[str, Any]] | None = None,
    ) -> None:
        self._settings = settings
        self._id = run_id
        self._project = project
        self._sweep_id: str | None = None  # set by init() for a run a sweep agent started
        self._entity = entity
        self._name = name
        self._notes = notes
        self._tags = tuple(tags)
        self._group = group
        self._job_type = job_type
        self._session = session
        self._folder = folder
        self._writer = writer
        self._resumed = resumed
        self._pid = os.getpid()
        self._lock = threading.Lock()
        # Set in a forked child (see lifecycle): the run stays its creator's, so log() needs no getpid().
        self._foreign = False
        self._fd = writer._fd if writer is not None else -1
        self._seq = 0
        self._failed_kinds: dict[str, int] = {}  # records that could not be written (disk full...), by kind
        self._step = start_step
        self._pending: dict[str, Any] = {}
        self._pending_nested = False
        self._start_time = time.time()
        self._start_mono = time.monotonic()
        self._runtime_offset = runtime_offset
        self._created_at = created_at if created_at is not None else self._start_time
        self._finished = False
        self._exit_state: str | None = None
        self._ingester: IngesterProcess | None = None
        # Background observers (metadata probe, console capture, system sampler): init() starts, finish() stops them.
        self._console: ConsoleCapture | None = None
        self._sampler: SystemSampler | None = None
        self._metadata_probe: MetadataProbe | None = None
        self._observers_started: threading.Event | None = None
        self._packer = msgpack.Packer(use_bin_type=True)
        self._media: MediaWriter | None = None  # the encoder thread, started by the first media to encode
        self._server_url: str | None = None
        # Artifacts and saved files on their way to the store (runyard.sdk.run_artifacts), created on first use.
        self._uploads: ArtifactUploads | None = None
        self._save_at_end: dict[str, Path] = {}
        self._metrics: dict[str, Metric] = {}
        for body in metrics or []:
            m = Metric(
                body["name"],
                body.get("step_metric"),
                body.get("step_sync"),
                body.get("hidden"),
                tuple(body["summary"]) if body.get("summary") is not None else None,
                body.get("goal"),
            )
            self._metrics[m.name] = m
        self._folder_summary = SummaryFolder(summary, summary_state, [m.body() for m in self._metrics.values()])
        self._step_sync: dict[str, Metric | None] = {}  # key -> definition with step_sync, cached per key
        self._sync_active = any(m.step_metric and m.step_sync for m in self._metrics.values())
        self._step_metric_last: dict[str, Any] = {}
        self._summary = Summary(self._folder_summary, self._emit_summary)
        self._config = Config(self._emit_config, allow_val_change=allow_val_change)

    # -- records
    def _write(self, kind: str, body: Any) -> int:
        """Append one record; the caller holds ``self._lock``.

        Raises TypeError (a value msgpack cannot encode), :class:`~runyard.errors.TooLargeError` (over a size
        limit) or :class:`~runyard.errors.RunLogWriteError` (the write failed; the log is as it was). In each
        case nothing was written and the sequence number is not used.
        """
        if self._writer is None:
            return self._seq
        seq = self._seq + 1
        try:
            payload = self._packer.pack([seq, kind, body])
        except (OverflowError, ValueError, TypeError) as exc:
            raise TypeError(
                f"runyard: cannot store this {kind} record: {exc}. Nothing from this call was logged."
            ) from None
        n = len(payload)
        if n > VALUE_LIMIT:
            check_record(kind, body, n)
        frame = _pack_header(SYNC_U32, n, n ^ 0xFFFFFFFF, _crc32(payload)) + payload
        try:
            written = _os_write(self._fd, frame)
        except OSError as exc:
            self._failed_kinds[kind] = self._failed_kinds.get(kind, 0) + 1
            raise self._writer.failed(exc, 0, _WHAT.get(kind, f"a {kind} record")) from None
        if written != n + 16:  # 16: the frame header
            try:
                self._writer.complete(frame, written, _WHAT.get(kind, f"a {kind} record"))
            except OSError:
                self._failed_kinds[kind] = self._failed_kinds.get(kind, 0) + 1
                raise
        self._seq = seq
        return seq

    def _check_usable(self, what: str) -> None:
        if self._finished:
            raise UsageError(
                f"Run {self._id} is finished: the call to `{what}` was ignored. Start a new run with runyard.init()."
            )
        if os.getpid() != self._pid:
            raise UsageError(
                f"Run {self._id} belongs to process {self._pid}; this is process {os.getpid()}. "
                "Call runyard.init() in the child process to log from it."
            )

    def _emit_config(self, changes: dict[str, Any], deleted: list[str]) -> None:
        if self._finished:
            raise UsageError(f"Run {self._id} is finished: its config can no longer change.")
        with self._lock:
            self._write(R.KIND_CONFIG, {"set": changes, "delete": deleted})

    def _emit_summary(self, changes: dict[str, Any], deleted: list[str]) -> None:
        bound = None
        for value in changes.values():
            if isinstance(value, Media):
                # run.summary["best"] = Image(...): W&B names its files <key>_summary_<id>; changes gets the references
                bound = _bind_media(changes, "summary")
                for f in bound.ready:
                    check_file(f.path, len(f.content or b"") + len(f.path) + 64)
                break
        with self._lock:
            self._write(R.KIND_SUMMARY, {"set": changes, "delete": deleted})
            if bound is not None and self._writer is not None:
                for f in bound.ready:
                    self._write(R.KIND_FILE, {"name": f.path, "content": f.content})
        if bound is not None:
            self._after_media(bound)

    def _emit_meta(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._write(R.KIND_META, body)

    # -- logging
    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        """Log a dict of values to the run's history.

        Args:
            data: metric names to values: numbers, bools, strings, None, lists of numbers, NumPy arrays or
                scalars, torch tensors (arrays of more than 32 numbers are logged as histograms), media
                (``runyard.Image``, ``Histogram``, ``Table``, ``Audio``, ``Video``, ``Html``, ``Object3D``,
                ``Molecule``, lists of these, ``runyard.plot`` charts; see docs/media.md), or nested dicts of
                these (flattened to ``"a.b"`` keys).
            step: the step to log at. Without it every call is a new step. A step larger than the current one
                first commits the pending row; a smaller one is ignored with a warning.
            commit: False merges ``data`` into the pending row without committing it. Defaults to True without
                ``step`` and to False with it.

        Raises:
            TypeError: a value cannot be stored; the error names the key. Nothing of this call is logged.
            ValueError: a media object cannot be stored as given (a table cell...); the error names the key.
            runyard.errors.TooLargeError: a value is over 1 MiB or the call over 25 MiB once encoded (see
                docs/sdk.md, "Limits"). Nothing of this call is logged.
            runyard.errors.RunLogWriteError: the run log could not be written (a full disk: an ``OSError``).
                Nothing of this call is logged; everything before it is kept, and later calls are written as
                usual once there is room again.
        """
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise TypeError(
                    f"runyard.log: data must be a dict of metric names to values, not {type(data).__name__}"
                )
        if self._finished or self._foreign:
            self._check_usable("log")
        media: list[str] = []
        row, nested = normalize_row(data, "log", media)
        bound: _Bound | None = None
        with self._lock:
            if step is not None:
                try:
                    step = int(step.__index__() if not isinstance(step, int) else step)
                except (AttributeError, TypeError):
                    raise TypeError(f"runyard.log: step must be an integer, not {type(step).__name__}") from None
                if step < self._step:
                    warnings.warn(
                        f"Tried to log to step {step} that is less than the current step {self._step}. "
                        "Steps must be monotonically increasing, so this data will be ignored. "
                        "Use define_metric to log data out of order.",
                        UserWarning,
                        stacklevel=2,
                    )
                    return
                if step > self._step:
                    if self._pending:
                        self._commit_pending()
                    self._step = step
            elif commit is None:
                commit = True
            if media:
                bound = _bind_media(row, self._step)  # raises (naming the key) before anything is written
                for f in bound.ready:
                    check_file(f.path, len(f.content or b"") + len(f.path) + 64)  # the record: name, bytes, framing
            if self._pending or not commit:
                self._merge_pending(row, nested)
                if commit:
                    self._commit_pending()
            else:
                self._commit_row(row, nested)
            if bound is not None and self._writer is not None:
                for f in bound.ready:
                    self._write(R.KIND_FILE, {"name": f.path, "content": f.content})
        if bound is not None:
            self._after_media(bound)

    def _after_media(self, bound: _Bound) -> None:
        """Queue the files to encode and record chart specs, outside the run's lock (both take it)."""
        if self._writer is not None and bound.encode:
            if self._media is None:
                from runyard.sdk.media_writer import MediaWriter

                self._media = MediaWriter(self._write_media_file, _report_media)
            for f in bound.encode:
                self._media.submit(f)
        if bound.charts:
            # W&B keeps a chart's spec in the config, at _wandb.visualize.<key>
            internal = dict(self._config.get("_wandb") or {})
            visualize = dict(internal.get("visualize") or {})
            visualize.update(bound.charts)
            internal["visualize"] = visualize
            self._config.update({"_wandb": internal}, allow_val_change=True)

    def _write_media_file(self, path: str, content: bytes) -> None:
        """Write one encoded media file to the run log (called from the encoder thread)."""
        with self._lock:
            if not self._finished:
                self._write(R.KIND_FILE, {"name": path, "content": content})

    def _wait_media(self, quiet: bool = False) -> bool:
        """Wait until the media files logged so far are encoded and written to the run log (``finish()`` does)."""
        writer = self._media
        if writer is None or not writer.pending:
            return True
        if not quiet and not self._settings.silent:
            import sys

            print(f"runyard: waiting for {writer.pending} media file(s) to be encoded", file=sys.stderr)
        return writer.wait()

    def _merge_pending(self, row: dict[str, Any], nested: bool) -> None:
        if nested:
            _deep_merge(self._pending, row)
            self._pending_nested = True
        else:
            self._pending.update(row)

    def _commit_pending(self) -> None:
        row, self._pending = self._pending, {}
        self._commit_row(row, self._pending_nested)
        self._pending_nested = False

    def _commit_row(self, row: dict[str, Any], nested: bool) -> None:
        t = time.time()
        row["_step"] = self._step
        row["_runtime"] = self._runtime_offset + (t - self._start_time)
        row["_timestamp"] = t
        if self._sync_active:
            self._sync_step_metrics(row)
        self._write(R.KIND_ROW, row)  # first: a row that cannot be stored must not reach the summary either
        self._folder_summary.fold_row(row)
        self._step += 1

    def _sync_step_metrics(self, row: dict[str, Any]) -> None:
        """W&B's ``step_sync``: a row holding a metric but not its step metric gets the last step value."""
        from runyard.flatten import flatten

        flat = flatten(row)
        for key in list(flat):
            if key in self._step_sync:
                metric = self._step_sync[key]
            else:
                metric = metric_for(key, self._metrics)
                if metric is not None and not (metric.step_metric and metric.step_sync):
                    metric = None
                self._step_sync[key] = metric
            if metric is not None and metric.step_metric not in flat:
                last = self._step_metric_last.get(metric.step_metric)  # type: ignore[arg-type]
                if last is not None:
                    row[metric.step_metric] = last  # type: ignore[index]
        for m in self._metrics.values():
            if m.step_metric and m.step_metric in flat:
                self._step_metric_last[m.step_metric] = flat[m.step_metric]

    def define_metric(
        self,
        name: str,
        step_metric: str | Metric | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Customise how a metric is summarised and plotted.

        Args:
            name: the metric's key, or a suffix glob such as ``"train/*"`` or ``"*"``.
            step_metric: another metric to use as this one's x-axis.
            step_sync: add the step metric's last value to rows that lack it (default True with ``step_metric``).
            hidden: hide the metric from automatic charts.
            summary: ``"min"``, ``"max"``, ``"mean"``, ``"first"``, ``"last"``, ``"copy"`` or ``"none"``, or
                several separated by commas.
            goal: ``"minimize"`` or ``"maximize"``.
            overwrite: False merges with an earlier definition of the same name instead of replacing it.
        """
        self._check_usable("define_metric")
        metric = build_metric(
            name,
            step_metric if not isinstance(step_metric, Metric) else step_metric.name,
            step_sync,
            hidden,
            summary,
            goal,
            overwrite,
            self._metrics.get(name),
        )
        with self._lock:
            self._metrics[name] = metric
            self._step_sync.clear()
            self._sync_active = any(m.step_metric and m.step_sync for m in self._metrics.values())
            self._folder_summary.define(metric.body())
            self._write(R.KIND_METRIC, metric.body())
        return metric

    # -- properties
    @property
    def id(self) -> str:
        """The run's id, unique within its project."""
        return self._id

    @property
    def name(self) -> str:
        """The run's display name (settable)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        name = str(value)
        self._emit_meta({"name": name})  # first: a change that cannot be recorded leaves the run as it was
        self._name = name

    @property
    def notes(self) -> str | None:
        """The run's description (settable)."""
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        notes = None if value is None else str(value)
        self._emit_meta({"notes": notes})
        self._notes = notes

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags (settable with any sequence of strings)."""
        return self._tags

    @tags.setter
    def tags(self, value: Any) -> None:
        tags = tuple(str(t) for t in value)
        self._emit_meta({"tags": list(tags)})
        self._tags = tags

    @property
    def group(self) -> str | None:
        return self._group

    @property
    def job_type(self) -> str | None:
        return self._job_type

    @property
    def project(self) -> str:
        return self._project

    @property
    def project_name(self) -> str:
        return self._project

    @property
    def sweep_id(self) -> str | None:
        """The id of the sweep this run belongs to (started by a sweep agent), else None."""
        return self._sweep_id

    @property
    def entity(self) -> str:
        return self._entity

    @property
    def path(self) -> str:
        """``entity/project/id``."""
        return f"{self._entity}/{self._project}/{self._id}"

    @property
    def url(self) -> str | None:
        """The run's page on the server that serves its store, or None when there is none.

        A run logged to a runyard server (``runyard login``, ``RUNYARD_BASE_URL``) is shown by that server, at
        the address this process reaches it at. For a run logged to a store, ``runyard ui`` and ``runyard server``
        record their address in the store they serve (``--url`` names a proxy's address instead); until one has
        served the store, runs have no URL. Offline and disabled runs have none either, as in W&B. The first read
        asks the store (a SQLite store is read without SQLAlchemy).
        """
        if self._settings.mode != "online":
            return None
        if self._settings.base_url is not None:
            self._server_url = self._settings.base_url
        if self._server_url is None:
            from runyard.sinks import LocalSink

            sink = LocalSink(self._settings.store_url, self._settings.crash_timeout)
            try:
                self._server_url = sink.server_url()  # kept once found: a server named later is asked again
            finally:
                sink.close()
        if self._server_url is None:
            return None
        return f"{self._server_url}/{quote(self._entity)}/{quote(self._project)}/runs/{quote(self._id)}"

    @property
    def dir(self) -> str:
        """The folder for files that belong to this run."""
        if self._folder is None:
            return ""
        files = self._folder / "files"
        files.mkdir(parents=True, exist_ok=True)
        return str(files)

    @property
    def start_time(self) -> float:
        """Unix time at which this run (this session of it) started."""
        return self._start_time

    @property
    def step(self) -> int:
        """The step the next committed row gets."""
        return self._step

    @property
    def resumed(self) -> bool:
        return self._resumed

    @property
    def offline(self) -> bool:
        return self._settings.mode == "offline"

    @property
    def disabled(self) -> bool:
        return self._settings.mode == "disabled"

    @property
    def settings(self) -> ResolvedSettings:
        return self._settings

    @property
    def config(self) -> Config:
        return self._config

    @property
    def summary(self) -> Summary:
        return self._summary

    @property
    def run_log_path(self) -> Path | None:
        """The run log of this session (removed after a clean finish unless ``keep_run_log``)."""
        return self._writer.path if self._writer is not None else None

    # -- ending
    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Mark the run finished (or failed, with a non-zero ``exit_code``) and wait for its data to be stored."""
        from runyard.sdk import lifecycle

        lifecycle.finish_run(self, exit_code)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        from runyard.sdk import lifecycle

        if exc_type is None:
            self.finish()
        else:
            lifecycle.finish_run(self, *lifecycle.exit_for_exception(exc))

    def __repr__(self) -> str:
        return f"<runyard.Run {self.path} name={self._name!r}>"

    # -- artifacts and files (the work: runyard.sdk.run_artifacts, off this thread)
    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Artifact:
        """Log an artifact (or a file or folder, as an artifact named after it) as an output of this run.

        Returns at once: files are hashed and stored in the background, and unchanged files (by content) are not
        stored again. A version with the same files as an existing one is that version. ``aliases`` name the
        version (``latest`` is always moved to it). ``artifact.wait()`` blocks until it is stored; ``finish()``
        waits for every upload and reports any that failed.

        Raises :class:`~runyard.errors.UsageError` for an empty or already logged artifact.
        """
        from runyard.sdk import run_artifacts

        return run_artifacts.log_artifact(self, artifact_or_path, name, type, aliases)

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: list[str] | None = None,
        use_as: str | None = None,
    ) -> Artifact:
        """Declare an artifact as an input of this run and return it: ``"name:latest"``, ``"name:v3"``,
        ``"name:alias"``, ``"project/name:v1"``, or an ``Artifact`` (a draft is logged first).

        Raises :class:`~runyard.errors.NotFoundError` saying which name or version is missing.
        """
        from runyard.sdk import run_artifacts

        return run_artifacts.use_artifact(self, artifact_or_name, type, aliases, use_as)

    def log_model(
        self, path: str | os.PathLike[str], name: str | None = None, aliases: list[str] | None = None
    ) -> None:
        """Log a model file or folder as an artifact of type ``model`` (default name ``run-ID-FILENAME``)."""
        from runyard.sdk import run_artifacts

        run_artifacts.log_model(self, path, name, aliases)

    def use_model(self, name: str) -> str:
        """Use a ``model`` artifact and download it; returns the path of its file (or folder, for several)."""
        from runyard.sdk import run_artifacts

        return run_artifacts.use_model(self, name)

    def link_artifact(self, artifact: Artifact, target_path: str, aliases: list[str] | None = None) -> None:
        """Not available: runyard has no model registry yet; mark versions with aliases instead."""
        from runyard.errors import UnsupportedError

        raise UnsupportedError("runyard has no model registry yet: mark versions with aliases (aliases=[...])")

    link_model = link_artifact

    def save(
        self, glob_str: str | os.PathLike[str] | None = None, base_path: str | None = None, policy: str = "live"
    ) -> list[str]:
        """Store files matching ``glob_str`` with the run; returns their names (relative to ``base_path``).

        ``policy``: ``"now"`` (store them now), ``"end"`` (at ``finish()``), ``"live"`` (now, and again at
        ``finish()`` if they changed). Files go to the store's blob store in the background, any size.
        """
        from runyard.sdk import run_artifacts

        return run_artifacts.save(self, glob_str, base_path, policy)

    def restore(self, name: str, run_path: str | None = None, replace: bool = False, root: str | None = None) -> Any:
        """Fetch a file saved with a run (this one, or ``run_path``) into ``root`` and open it for reading."""
        from runyard.sdk import run_artifacts

        return run_artifacts.restore(self, name, run_path, replace, root, self._settings)

    def log_code(
        self,
        root: str | None = ".",
        name: str | None = None,
        include_fn: Any = None,
        exclude_fn: Any = None,
    ) -> Artifact | None:
        """Log the source files under ``root`` (``*.py`` by default, or what ``include_fn(path, root)`` accepts)
        as a ``code`` artifact; returns it (None when no file matched)."""
        from runyard.sdk import run_artifacts

        return run_artifacts.log_code(self, root, name, include_fn, exclude_fn)

    # -- accepted for wandb compatibility
    def watch(
        self,
        models: Any = None,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        """Log histograms of a torch model's gradients and/or parameters every ``log_freq`` batches, as W&B.

        Args:
            models: a ``torch.nn.Module`` or a list of them.
            criterion: accepted for W&B compatibility.
            log: ``"gradients"`` (default), ``"parameters"``, ``"all"``, or None (nothing).
            log_freq: log every this many backward passes (gradients) or forward passes (parameters).
            idx: a number that tells apart the models of several ``watch()`` calls in the keys' prefix.
            log_graph: accepted for W&B compatibility; the graph is not stored.
        """
        self._check_usable("watch")
        from runyard.sdk.watch import watch_models

        watch_models(self, models, log, log_freq, idx)

    def unwatch(self, models: Any = None) -> None:
        """Stop logging the histograms of ``models`` (all watched models without it)."""
        from runyard.sdk.watch import unwatch_models

        unwatch_models(self, models)

    def alert(
        self,
        title: str,
        text: str,
        level: str | AlertLevel | None = None,
        wait_duration: int | float | timedelta | None = None,
    ) -> None:
        """Accepted for wandb compatibility; nothing is sent yet.

        The arguments are checked as W&B checks them (``level`` an :class:`runyard.AlertLevel` or its name,
        ``wait_duration`` seconds or a ``timedelta``); the first call warns that alerts are not supported, and the
        run goes on.
        """
        check_alert(title, text, level, wait_duration)

    def mark_preempting(self) -> None:
        """Mark the run as about to be preempted (say, on a SLURM or spot-instance warning).

        The web app shows the run as preempting from then on. Like W&B, the run's state is unchanged: if the
        process is then killed, the run reads crashed once its heartbeat is stale.
        """
        self._emit_meta({"preempting_at": time.time()})


class _Bound:
    """What binding a row's media gave: files to write now, files to encode, chart specs for the config."""

    __slots__ = ("charts", "encode", "ready")

    def __init__(self) -> None:
        self.ready: list[MediaFile] = []
        self.encode: list[MediaFile] = []
        self.charts: dict[str, Any] = {}


def _bind_media(row: dict[str, Any], step: int | str) -> _Bound:
    """Replace the media objects of ``row`` by their references, in place; charts add a ``<key>_table`` key.

    Raises TypeError or ValueError naming the key; ``row`` is then left for the caller to drop.
    """
    bound = _Bound()
    _bind_level(row, "", step, bound, row)
    return bound


def _bind_level(level: dict[str, Any], prefix: str, step: int | str, bound: _Bound, top: dict[str, Any]) -> None:
    for key, value in list(level.items()):
        name = prefix + key
        if isinstance(value, Media):
            try:
                if isinstance(value, CustomChart):
                    del level[key]
                    ref, files = value.bind(name, step)
                    top[value.table_key(name)] = ref
                    bound.charts[name] = value.config_value(name)
                else:
                    ref, files = value.bind(name, step)
                    level[key] = ref
            except MediaDependencyError:
                raise
            except (TypeError, ValueError) as exc:
                raise type(exc)(
                    f"runyard.log: the value of key {name!r} cannot be logged: {exc}. "
                    "Nothing from this call was logged."
                ) from None
            for f in files:
                (bound.ready if f.content is not None else bound.encode).append(f)
        elif type(value) is dict and "_type" not in value:
            _bind_level(value, name + ".", step, bound, top)


def _report_media(message: str) -> None:
    from runyard.sdk.term import termwarn

    termwarn(message)


def _deep_merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        current = target.get(key)
        if type(value) is dict and type(current) is dict:
            _deep_merge(current, value)
        else:
            target[key] = value
