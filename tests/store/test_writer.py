"""The SQLAlchemy-free writer of SQLite stores (what an embedded run's ingester process writes with).

It must leave exactly the rows ``Store.ingest`` leaves, create a store ``Store.open`` accepts as current, hand
stores at another revision back for migration, and keep the ingester process free of SQLAlchemy.
"""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from store_fakes import FakeSession

from runyard.records import Record
from runyard.sinks.local import LocalSink
from runyard.store import Store
from runyard.store.engine import create_engine, normalize_url
from runyard.store.ingest import RUN_COLUMNS
from runyard.store.migrate import SQLITE_SCHEMA, sqlite_ddl, upgrade
from runyard.store.schema import HEAD_REVISION, runs
from runyard.store.writer import NeedsMigration, SqliteWriter, sqlite_file

# Columns that hold the time a batch was applied (time.time() at ingestion), which two stores cannot share.
_APPLY_TIME = {
    "entities": {"created_at"},
    "projects": {"created_at", "last_activity"},
    "runs": {"heartbeat_at"},
    "run_files": {"updated_at"},
}


def _sessions() -> list[FakeSession]:
    """Two sessions of one run (the second resumes it) and one of another run, using every record kind."""
    first = FakeSession("r1", config={"lr": 0.1, "nested": {"depth": 3}}, tags=["a"])
    first.add("metric", {"name": "loss", "summary": "min", "goal": "minimize"})
    for step in range(5000):  # more than a block: full blocks, rollups and a tail
        row: dict[str, Any] = {"loss": 1.0 / (step + 1), "acc": step % 7}
        if step % 100 == 0:
            row["eval"] = {"f1": step / 5000, "note": f"s{step}"}  # nested, and a key missing from most rows
        if step == 10:
            row["bad"] = math.nan
        first.log(row)
    first.add("config", {"set": {"lr": 0.2, "extra": [1, 2]}, "delete": []})
    first.add("summary", {"set": {"best": {"x": math.inf}}, "delete": []})
    first.add("meta", {"name": "renamed", "tags": ["b", "c"], "notes": "hello"})
    first.add("console", {"lines": [[1.0, "stdout", "line one"], [2.0, "stderr", "oops\x00"]]})
    first.add("system", {"t": 3.0, "runtime": 1.5, "values": {"system/cpu": 12.5, "system/memory": math.nan}})
    first.add("metadata", {"host": "h", "python": "CPython 3.11", "gpu": None})
    first.add("file", {"name": "requirements.txt", "content": b"numpy==2\n"})
    first.add("hb", {"t": 4.0})
    first.exit(exit_code=0)
    second = FakeSession("r1", resumed=True, start_step=5000, runtime_offset=100.0)
    for _ in range(300):
        second.log({"loss": 0.5, "other": "text"})
    second.add("console", {"lines": [[5.0, "stdout", "resumed"]]})
    second.exit(exit_code=1, state="failed")
    third = FakeSession("r2", project="other", group="g", job_type="train")
    for step in range(10):
        third.log({"x": step}, step=step * 10)
    return [first, second, third]


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but alembic_version, in a stable order, without apply-time columns."""
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if name != "alembic_version"
        ]
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
            kept = [c for c in columns if c not in _APPLY_TIME.get(table, set())]
            select = ", ".join(f'"{c}"' for c in kept)
            out[table] = [tuple(row) for row in connection.execute(f'SELECT {select} FROM "{table}" ORDER BY {select}')]
    return out


def _chunks(records: list[Record], sizes: list[int]) -> list[list[Record]]:
    out, i, k = [], 0, 0
    while i < len(records):
        size = sizes[k % len(sizes)]
        out.append(records[i : i + size])
        i, k = i + size, k + 1
    return out


def test_the_writer_leaves_the_rows_store_ingest_leaves(tmp_path: Path) -> None:
    sessions = _sessions()
    writer = SqliteWriter(tmp_path / "a" / "runyard.db")
    store = Store.open(f"sqlite:///{tmp_path}/b/runyard.db")
    try:
        for s in sessions:
            # The same batches on both sides (an open tail's blocks depend on where batches end), of mixed sizes.
            for batch in _chunks(s.records, [700, 1, 33, 2048]):
                writer.ingest(batch, session=s.session)
                store.ingest(batch, session=s.session)
            assert writer.session_progress(s.session) == store.session_progress(s.session) == len(s.records)
    finally:
        writer.close()
        store.close()
    a, b = _dump(tmp_path / "a" / "runyard.db"), _dump(tmp_path / "b" / "runyard.db")
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], f"table {table} differs"
    assert len(a["blocks"]) > 3 and a["rollups"] and a["console_lines"] and a["system_samples"]
    # And the store reads what the writer wrote.
    with Store.open(f"sqlite:///{tmp_path}/a/runyard.db") as reread:
        run = reread.get_run("alice", "proj", "r1")
        assert run is not None
        assert run.state == "failed" and run.exit_code == 1 and run.name == "name-r1"  # the resume renamed it back
        assert run.summary["best"]["x"] == math.inf and run.summary["other"] == "text"
        other = reread.get_run("alice", "other", "r2")
        assert other is not None and other.group == "g" and other.job_type == "train" and other.last_step == 90
        history = reread.history("alice", "proj", "r1", keys=["loss"])
        assert [row["_step"] for row in history] == list(range(5300))
        assert reread.file_content("alice", "proj", "r1", "requirements.txt") == b"numpy==2\n"


def test_a_fresh_store_from_the_writer_is_current_for_store_open(tmp_path: Path) -> None:
    SqliteWriter(tmp_path / "w.db").close()
    with Store.open(f"sqlite:///{tmp_path}/s.db"):
        pass

    def schema(path: Path) -> set[tuple[str, str, str]]:
        with sqlite3.connect(path) as connection:
            rows = connection.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        return {(kind, name, " ".join(sql.split())) for kind, name, sql in rows}

    assert schema(tmp_path / "w.db") == schema(tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "w.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD_REVISION,)]
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_shipped_schema_script_is_current() -> None:
    assert SQLITE_SCHEMA.read_text() == sqlite_ddl(), (
        "store/sqlite_schema.sql is stale: run `python -m runyard.store.migrate` after changing store/schema.py"
    )
    assert tuple(column.name for column in runs.columns) == RUN_COLUMNS


def test_a_store_at_another_revision_is_left_to_store_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/runyard.db"
    engine = create_engine(normalize_url(url))
    upgrade(engine, "0003")  # a store written by an older runyard
    engine.dispose()
    with pytest.raises(NeedsMigration, match="revision 0003"):
        SqliteWriter(tmp_path / "runyard.db")
    # The sink falls back to Store, which migrates it.
    sink = LocalSink(url)
    s = FakeSession("r1")
    s.log({"x": 1})
    try:
        assert sink.ingest(s.records, session=s.session) == 2
        assert isinstance(sink.writer, Store)
    finally:
        sink.close()
    with sqlite3.connect(tmp_path / "runyard.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD_REVISION,)]


def test_the_sink_writes_sqlite_without_sqlalchemy(tmp_path: Path) -> None:
    # What the ingester process does, in a fresh interpreter: ingest, heartbeat, stop check, crash mark.
    code = f"""
import sys
from runyard.sinks.local import LocalSink
sys.path.insert(0, {str(Path(__file__).parent)!r})
from store_fakes import FakeSession
s = FakeSession("r1")
for i in range(100):
    s.log({{"x": i}})
sink = LocalSink("sqlite:///{tmp_path}/runyard.db")
assert sink.ingest(s.records, session=s.session) == 101
sink.heartbeat(s.session, 1e10)
assert sink.stop_requested_at(s.session) is None
sink.mark_crashed(s.session)
sink.close()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "numpy", "psycopg", "alembic"))
assert not heavy, heavy
assert "runyard.sdk" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with Store.open(f"sqlite:///{tmp_path}/runyard.db") as store:
        run = store.get_run("alice", "proj", "r1")
        assert run is not None and run.state == "crashed" and run.last_step == 99


def test_writer_and_store_ingesting_one_session_at_once_apply_each_record_once(tmp_path: Path) -> None:
    s = FakeSession("r1")
    for step in range(3000):
        s.log({"x": step})
    s.exit()
    store = Store.open(f"sqlite:///{tmp_path}/runyard.db")
    writer = SqliteWriter(tmp_path / "runyard.db")
    errors: list[BaseException] = []

    def feed(ingest: Any, size: int) -> None:
        try:
            for batch in _chunks(s.records, [size]):
                ingest(batch, session=s.session)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=feed, args=(writer.ingest, 97)),
        threading.Thread(target=feed, args=(store.ingest, 250)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors
        assert [row["_step"] for row in store.history("alice", "proj", "r1", keys=["x"])] == list(range(3000))
        run = store.get_run("alice", "proj", "r1")
        assert run is not None and run.state == "finished"
    finally:
        writer.close()
        store.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////abs/runyard.db", Path("/abs/runyard.db")),
        ("sqlite:///rel/runyard.db", Path("rel/runyard.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:x?mode=memory&uri=true", None),
        ("sqlite:////abs/runyard.db?timeout=3", None),
        ("postgresql://u@h/db", None),
    ],
)
def test_which_urls_the_writer_takes(url: str, path: Path | None) -> None:
    assert sqlite_file(url) == path
