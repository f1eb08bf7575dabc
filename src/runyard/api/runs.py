"""``Runs`` (a project's runs, paged) and ``Run`` (one run: read, edit, delete) of the public API."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import quote

from runyard.api.files import File
from runyard.api.history import HistoryScan, check_keys
from runyard.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from runyard.api.api import Api
    from runyard.artifacts import Artifact
    from runyard.media.table import Table
    from runyard.store import RunRecord, Store

__all__ = ["Run", "Runs", "Summary", "iso_time"]


def iso_time(t: float | None) -> str | None:
    """Unix seconds as W&B writes times: ISO 8601 in UTC, to the second, without a zone (``2024-05-01T12:00:00``)."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


class Runs:
    """A lazy iterable of a project's runs matching a filter, as ``api.runs(...)`` returns it.

    The matching run ids are read once, on first use (``len()``, iteration, indexing): that snapshot fixes the
    order and the length, so runs created meanwhile do not shift pages. Runs themselves are loaded ``per_page``
    at a time as iteration reaches them; a run deleted meanwhile is skipped.
    """

    def __init__(
        self,
        api: Api,
        entity: str,
        project: str,
        filters: Mapping[str, Any] | None = None,
        order: str = "-created_at",
        per_page: int = 50,
    ) -> None:
        from runyard.store.filters import parse_filter, parse_order

        if type(per_page) is not int or per_page < 1:
            raise UsageError(f"per_page must be a positive integer, not {per_page!r}")
        self._api = api
        self.entity = entity
        self.project = project
        self.filters = dict(filters or {})
        self.order = order
        self.per_page = per_page
        self._node = parse_filter(filters)  # a bad filter raises here, not halfway through an iteration
        self._order = parse_order(order)
        self._ids: list[str] | None = None
        self._pages: dict[int, list[Run]] = {}

    def _snapshot(self) -> list[str]:
        if self._ids is None:
            store = self._api._store
            self._ids = store.query_run_ids(self.entity, self.project, filters=self._node, order=self._order)
        return self._ids

    def _page(self, number: int) -> list[Run]:
        page = self._pages.get(number)
        if page is None:
            ids = self._snapshot()[number * self.per_page : (number + 1) * self.per_page]
            records = self._api._store.get_runs(self.entity, self.project, ids)
            page = self._pages[number] = [Run(self._api, record) for record in records]
        return page

    def __len__(self) -> int:
        return len(self._snapshot())

    @property
    def length(self) -> int:
        """How many runs match (W&B's ``Runs.length``)."""
        return len(self)

    def __iter__(self) -> Iterator[Run]:
        pages = (len(self._snapshot()) + self.per_page - 1) // self.per_page
        for number in range(pages):
            yield from self._page(number)

    @overload
    def __getitem__(self, index: int) -> Run: ...

    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...

    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        if isinstance(index, slice):
            return list(self)[index]
        count = len(self)
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError(f"run index {index} out of range ({count} runs)")
        number, offset = divmod(position, self.per_page)
        page = self._page(number)
        if offset >= len(page):  # runs deleted since the snapshot: fall back to walking what is left
            return list(self)[position]
        return page[offset]

    def __repr__(self) -> str:
        return f"<Runs {self.entity}/{self.project}>"


class Summary:
    """A run's summary as a dict-like object. ``summary.update({...})`` (or ``summary.update()`` after item
    assignments) writes it to the store, as does :meth:`Run.update`."""

    def __init__(self, run: Run, data: dict[str, Any]) -> None:
        self._run = run
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Summary):
            return self._data == other._data
        return isinstance(other, Mapping) and self._data == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def keys(self) -> Any:
        return self._data.keys()

    def values(self) -> Any:
        return self._data.values()

    def items(self) -> Any:
        return self._data.items()

    def update(self, data: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Set the given keys (if any) and write the whole summary to the store."""
        if data is not None:
            self._data.update(data)
        self._data.update(more)
        self._run._save_summary()

    def _json_dict(self) -> dict[str, Any]:
        return self._data

    def __repr__(self) -> str:
        return repr(self._data)


class Run:
    """One run of the store, as ``api.run(path)`` and ``api.runs()`` return it.

    Attributes:
        id: the run's id (unique in its project).
        entity: the entity that owns the run's project.
        project: the run's project.
        config: the run's config, a dict; edit it and call :meth:`update` to store the change.
        group: the run's group, or None.
        job_type: the run's job type, or None.
        username: the OS user that ran it.
        exit_code: the process's exit code, None while running or crashed.
    """

    def __init__(self, api: Api, record: RunRecord) -> None:
        self._api = api
        self.entity = record.entity
        self.project = record.project
        self.id = record.run_id
        self._load(record)

    def _load(self, record: RunRecord) -> None:
        self._record = record
        self._name = record.name
        self._notes = record.notes
        self._tags = list(record.tags)
        self.config: dict[str, Any] = copy.deepcopy(record.config)
        self._summary = Summary(self, copy.deepcopy(record.summary))
        self.group = record.group
        self.job_type = record.job_type
        self.username = record.username
        self.exit_code = record.exit_code

    @property
    def _store(self) -> Store:
        return self._api._store

    # -- what the run is ------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The display name; settable (then call :meth:`update`)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)

    @property
    def display_name(self) -> str:
        """Same as :attr:`name`."""
        return self._name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._name = str(value)

    @property
    def notes(self) -> str | None:
        """The run's notes; settable (then call :meth:`update`)."""
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._notes = value

    @property
    def tags(self) -> list[str]:
        """The run's tags, a list; settable or editable in place (then call :meth:`update`)."""
        return self._tags

    @tags.setter
    def tags(self, value: list[str]) -> None:
        if isinstance(value, str):
            raise UsageError("tags is a list of strings; to set one tag, write run.tags = [tag]")
        self._tags = [str(tag) for tag in value]

    @property
    def state(self) -> str:
        """``running``, ``finished``, ``failed``, ``killed`` or ``crashed`` (a running run whose heartbeat
        stopped), as last read."""
        return self._record.state

    @property
    def summary(self) -> Summary:
        """The run's summary (last logged values and explicit summary writes), dict-like; ``summary.update()``
        stores changes."""
        return self._summary

    @property
    def metadata(self) -> dict[str, Any] | None:
        """Where and how the run ran (host, OS, Python, command, hardware, git...), or None if not recorded."""
        return copy.deepcopy(self._record.metadata) or None

    @property
    def created_at(self) -> str:
        """When the run was created: ISO 8601, UTC (``2024-05-01T12:00:00``)."""
        return iso_time(self._record.created_at) or ""

    @property
    def heartbeat_at(self) -> str:
        """When the run last showed signs of life: ISO 8601, UTC."""
        return iso_time(self._record.heartbeat_at) or ""

    @property
    def lastHistoryStep(self) -> int:  # W&B's name
        """The largest ``_step`` in the run's history, or -1 when it has none."""
        return self._record.last_step

    @property
    def user(self) -> str:
        """The OS user that ran it (same as :attr:`username`)."""
        return self.username

    @property
    def path(self) -> list[str]:
        """``[entity, project, id]``, as in W&B."""
        return [self.entity, self.project, self.id]

    @property
    def url(self) -> str | None:
        """The run's page on the server that serves the store (the address ``runyard ui`` or ``runyard server``
        recorded in it), or None when no server has served the store."""
        base = self._api.server_url
        if base is None:
            return None
        return f"{base}/{quote(self.entity)}/{quote(self.project)}/runs/{quote(self.id)}"

    @property
    def sweep(self) -> None:
        """Sweeps are not supported yet: always None."""
        return None

    @property
    def system_metrics(self) -> dict[str, Any]:
        """The latest system-metrics sample (``system/...`` keys), or ``{}``."""
        rows = self._store.system_history(self.entity, self.project, self.id)
        return rows[-1] if rows else {}

    # -- history --------------------------------------------------------------------------------------------

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """Sampled history: the rows holding every bucket's min, max and last value of each key, never random.

        Args:
            samples: about how many rows per key (each key's series is cut into ``samples / 3`` buckets).
            keys: only these keys (a list); default all. Rows hold ``_step`` and those of the keys logged at
                that step (W&B returns only rows holding all of them: filter with ``dropna()`` for that).
            x_axis: bucket by this key's value instead of ``_step`` (``_runtime``, ``_timestamp``, a metric);
                rows without it are skipped, and rows include it.
            pandas: return a ``pandas.DataFrame`` when pandas is installed (else a list of dicts, with a
                warning); False: a list of dicts.
            stream: ``"default"`` for the logged history, ``"system"`` for the system-metrics samples.
        """
        if isinstance(samples, list) and keys is None:  # history(["loss"]): keys given first, as runyard once took
            samples, keys = 500, samples
        check_keys(keys)
        if stream == "system":
            rows = self._store.system_history(self.entity, self.project, self.id, keys)
        elif stream == "default":
            rows = self._store.sampled_history(self.entity, self.project, self.id, keys, samples, x_axis)
        else:
            raise UsageError(f"stream must be 'default' or 'system', not {stream!r}")
        return _frame(rows) if pandas else rows

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> HistoryScan:
        """Every history row, in step order, read page by page as you iterate.

        Args:
            keys: only rows holding all of these keys, with ``_step`` and these keys (as W&B); default: whole
                rows.
            page_size: rows read from the store at a time.
            min_step: the first step (default 0).
            max_step: the step to stop before (exclusive, as W&B; default: after the last step).
        """
        check_keys(keys)
        last = self._record.last_step
        start = 0 if min_step is None else int(min_step)
        stop = last + 1 if max_step is None else min(int(max_step), last + 1)
        return HistoryScan(self._store, self.entity, self.project, self.id, keys, page_size, start, stop)

    # -- files ----------------------------------------------------------------------------------------------

    def files(self, names: list[str] | None = None, per_page: int = 50) -> list[File]:
        """The run's files (those it saved, and ``output.log``, ``config.yaml``... derived from its data)."""
        infos = self._store.files(self.entity, self.project, self.id)
        wanted = None if not names else set(names)
        return [File(self, info) for info in infos if wanted is None or info.name in wanted]

    def logged_artifacts(self, per_page: int = 100) -> list[Artifact]:
        """The artifact versions this run logged, in the order it logged them."""
        return self._artifacts("logged")

    def used_artifacts(self, per_page: int = 100) -> list[Artifact]:
        """The artifact versions this run used (``use_artifact``), in order."""
        return self._artifacts("used")

    def _artifacts(self, kind: str) -> list[Artifact]:
        from runyard.artifacts import Artifact

        room = self._api._store.artifacts
        return [Artifact._from_store(v, room) for v in room.run_artifacts(self.entity, self.project, self.id, kind)]

    def file(self, name: str) -> File:
        """The run's file called ``name``.

        Raises:
            NotFoundError: the run has no such file.
        """
        for info in self._store.files(self.entity, self.project, self.id):
            if info.name == name:
                return File(self, info)
        raise NotFoundError(f"run {'/'.join(self.path)} has no file {name!r}")

    def table(self, key: str | Mapping[str, Any]) -> Table:
        """A logged table, read back from its file.

        Args:
            key: a history key (its last table: the summary's reference), or a ``table-file`` reference taken from
                ``history()`` / ``scan_history()`` (the table of that step).

        Raises:
            KeyError: the summary holds no table at ``key``.
            NotFoundError: the run has no file at the reference's path.
        """
        import json

        from runyard.media.table import Table

        ref = self.summary.get(key) if isinstance(key, str) else key
        if not isinstance(ref, Mapping) or ref.get("_type") not in ("table-file", "incremental-table-file"):
            raise KeyError(f"run {'/'.join(self.path)} logged no table at {key!r}")
        return Table.from_json(json.loads(self.file(str(ref["path"])).content()))

    # -- edits ----------------------------------------------------------------------------------------------

    def load(self, force: bool = True) -> None:
        """Read the run again from the store (unsaved edits are dropped)."""
        record = self._store.get_run(self.entity, self.project, self.id)
        if record is None:
            raise NotFoundError(f"Could not find run {'/'.join(self.path)}")
        self._load(record)

    def update(self) -> None:
        """Store the edits made to ``name``, ``notes``, ``tags``, ``config`` and ``summary``.

        Only what changed since the run was read is written, so a summary that a live run keeps updating is
        not overwritten by an edit of its tags.
        """
        record = self._record
        changes: dict[str, Any] = {}
        if self._name != record.name:
            changes["name"] = self._name
        if self._notes != record.notes:
            changes["notes"] = self._notes if self._notes is not None else ""
        if self._tags != record.tags:
            changes["tags"] = list(self._tags)
        if self.config != record.config:
            changes["config"] = copy.deepcopy(self.config)
        if self._summary._json_dict() != record.summary:
            changes["summary"] = copy.deepcopy(self._summary._json_dict())
        self._write(changes)

    def save(self) -> None:
        """Same as :meth:`update`."""
        self.update()

    def _save_summary(self) -> None:
        self._write({"summary": copy.deepcopy(self._summary._json_dict())})

    def _write(self, changes: dict[str, Any]) -> None:
        if not changes:
            return
        updated = self._store.update_run(self.entity, self.project, self.id, **changes)
        self._record = updated
        # The fields just written now read as stored; unsaved edits of the others stay.
        if "name" in changes:
            self._name = updated.name
        if "notes" in changes:
            self._notes = updated.notes
        if "tags" in changes:
            self._tags = list(updated.tags)
        if "config" in changes:
            self.config = copy.deepcopy(updated.config)
        if "summary" in changes:
            self._summary._data = copy.deepcopy(updated.summary)

    def delete(self, delete_artifacts: bool = False) -> None:
        """Delete the run and all its data (history, files, console output, system metrics) from the store."""
        if not self._store.delete_run(self.entity, self.project, self.id):
            raise NotFoundError(f"Could not find run {'/'.join(self.path)}")

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"


def _frame(rows: list[dict[str, Any]]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        warnings.warn(
            "runyard: pandas is not installed; history() returns a list of dicts (pass pandas=False to say so)",
            UserWarning,
            stacklevel=3,
        )
        return rows
    return pd.DataFrame.from_records(rows)
