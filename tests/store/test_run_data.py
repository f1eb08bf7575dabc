"""Where and how a run ran: metadata, console output, system metrics, files, edits and deletion, migration 0002."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
import sqlalchemy as sa
from store_fakes import FakeSession

from runyard.errors import NotFoundError, StoreError
from runyard.store import ConsoleLine, FileInfo, Store
from runyard.store.schema import metadata as schema_metadata
from runyard.store.schema import projects

RUN = ("alice", "proj", "run1")


def _counts(store: Store) -> dict[str, int]:
    """Rows per table, every table of the schema."""
    with store.engine.connect() as conn:
        return {
            table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for table in schema_metadata.sorted_tables
        }


def _console(*lines: tuple[str, str]) -> dict[str, Any]:
    return {"lines": [[time.time(), stream, text] for stream, text in lines]}


def test_metadata_merges_and_keeps_nan(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    s.add("metadata", {"host": "h1", "os": "Linux", "gpu_count": 0, "git": {"commit": "abc"}})
    store.ingest(s.records)
    s.add("metadata", {"gpu_count": 2, "gpu": "H100", "memory_total": math.nan})
    store.ingest(s.records, session=s.session)
    run = store.get_run(*RUN)
    assert run is not None
    assert run.metadata.keys() == {"host", "os", "gpu_count", "git", "gpu", "memory_total"}
    assert (run.metadata["host"], run.metadata["gpu_count"], run.metadata["git"]) == ("h1", 2, {"commit": "abc"})
    assert math.isnan(run.metadata["memory_total"])
    listed = store.list_runs("alice", "proj")[0].metadata
    assert listed.keys() == run.metadata.keys() and listed["gpu"] == "H100"
    other = fake_session("run2")
    store.ingest(other.records)
    fetched = store.get_run("alice", "proj", "run2")
    assert fetched is not None and fetched.metadata == {}


def test_console_continues_across_resumed_sessions(store: Store, fake_session: type[FakeSession]) -> None:
    first = fake_session()
    first.add("console", _console(("stdout", "epoch 1"), ("stderr", "warning: x")))
    first.add("console", _console(("stdout", "nul\x00byte")))
    first.exit()
    store.ingest(first.records)
    second = fake_session(resumed=True)
    second.add("console", _console(("stdout", "resumed"), ("stdout", ""), ("weird", "unknown stream")))
    store.ingest(second.records)

    lines = store.console(*RUN)
    assert [line.line_no for line in lines] == list(range(6))
    assert [(line.stream, line.text) for line in lines] == [
        ("stdout", "epoch 1"),
        ("stderr", "warning: x"),
        ("stdout", "nul\ufffdbyte"),
        ("stdout", "resumed"),
        ("stdout", ""),
        ("stdout", "unknown stream"),
    ]
    assert all(isinstance(line, ConsoleLine) and line.t > 0 for line in lines)
    assert store.console_count(*RUN) == 6
    assert [line.line_no for line in store.console(*RUN, start=2, limit=3)] == [2, 3, 4]
    assert [line.line_no for line in store.console(*RUN, start=5)] == [5]
    assert store.console(*RUN, start=6) == []
    assert store.console(*RUN, limit=0) == []
    assert store.console("alice", "proj", "nope") == [] and store.console_count("alice", "proj", "nope") == 0


def test_system_samples_in_time_order_with_keys(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    s.add("system", {"t": 200.0, "runtime": 20.0, "values": {"system/cpu": 50.0, "system/gpu.0.gpu": 90}})
    s.add("system", {"t": 100.0, "runtime": 10.0, "values": {"system/cpu": 40.0, "system/memory": math.inf}})
    s.add("system", {"t": 300.0, "runtime": 30.0, "values": {"system/memory": 12.5}})
    store.ingest(s.records)
    rows = store.system_history(*RUN)
    assert [r["_timestamp"] for r in rows] == [100.0, 200.0, 300.0]
    assert rows[1] == {"_timestamp": 200.0, "_runtime": 20.0, "system/cpu": 50.0, "system/gpu.0.gpu": 90}
    assert math.isinf(rows[0]["system/memory"])
    assert store.system_history(*RUN, keys=["system/cpu"]) == [
        {"_timestamp": 100.0, "_runtime": 10.0, "system/cpu": 40.0},
        {"_timestamp": 200.0, "_runtime": 20.0, "system/cpu": 50.0},
    ]
    assert store.system_history(*RUN, keys=["system/none"]) == []
    assert store.system_history("alice", "proj", "nope") == []


def test_a_later_file_replaces_the_content(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    s.add("file", {"name": "requirements.txt", "content": b"numpy==1\n"})
    s.add("file", {"name": "diff.patch", "content": b"\x00\xff binary"})
    store.ingest(s.records)
    before = {f.name: f for f in store.files(*RUN)}
    s.add("file", {"name": "requirements.txt", "content": b"numpy==2\ntorch\n"})
    s.add("file", {"name": "notes.txt", "content": "text, é"})  # text content is stored as UTF-8
    s.add("file", {"name": "notes.txt", "content": b"last wins"})  # two in one batch
    store.ingest(s.records, session=s.session)
    assert store.file_content(*RUN, "requirements.txt") == b"numpy==2\ntorch\n"
    assert store.file_content(*RUN, "diff.patch") == b"\x00\xff binary"
    assert store.file_content(*RUN, "notes.txt") == b"last wins"
    files = {f.name: f for f in store.files(*RUN)}
    assert files["requirements.txt"].size == len(b"numpy==2\ntorch\n")
    assert files["requirements.txt"].updated_at >= before["requirements.txt"].updated_at
    assert isinstance(files["diff.patch"], FileInfo) and files["diff.patch"].size == 9
    assert store.file_content(*RUN, "missing.txt") is None
    assert store.files("alice", "proj", "nope") == [] and store.file_content("alice", "proj", "nope", "x") is None
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM run_files")).scalar() == 3


def test_derived_files(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session(config={"lr": 0.1, "arch": {"depth": 3, "act": "relu"}, "name": "é"})
    s.log({"loss": 0.5})
    store.ingest(s.records)
    run = store.get_run(*RUN)
    assert run is not None
    # No console output and no metadata yet: only config.yaml and the summary.
    assert [f.name for f in store.files(*RUN)] == ["config.yaml", "runyard-summary.json"]
    assert store.file_content(*RUN, "output.log") is None
    assert store.file_content(*RUN, "runyard-metadata.json") is None

    s.add("console", _console(("stdout", "héllo"), ("stderr", "oops")))
    s.add("console", _console(("stdout", "done")))
    s.add("metadata", {"host": "h1", "args": ["--lr", "0.1"]})
    store.ingest(s.records, session=s.session)
    run = store.get_run(*RUN)
    assert run is not None
    expected = {
        "config.yaml": (
            "wandb_version: 1\n\nlr:\n  value: 0.1\narch:\n  value:\n    depth: 3\n    act: relu\nname:\n  value: é\n"
        ).encode(),
        "output.log": "héllo\noops\ndone\n".encode(),
        "runyard-metadata.json": b'{\n    "host": "h1",\n    "args": [\n        "--lr",\n        "0.1"\n    ]\n}',
        "runyard-summary.json": json.dumps(run.summary, ensure_ascii=False).encode(),
    }
    files = store.files(*RUN)
    assert [f.name for f in files] == sorted(expected)
    for info in files:
        content = store.file_content(*RUN, info.name)
        assert content == expected[info.name], info.name
        assert info.size == len(content)
    assert json.loads(expected["runyard-summary.json"])["loss"] == 0.5

    # A file the run sent under a derived name wins over the derived one.
    s.add("file", {"name": "config.yaml", "content": b"uploaded: true\n"})
    store.ingest(s.records, session=s.session)
    assert store.file_content(*RUN, "config.yaml") == b"uploaded: true\n"
    assert [f.name for f in store.files(*RUN)] == sorted(expected)


def test_empty_config_yaml(store: Store, fake_session: type[FakeSession]) -> None:
    store.ingest(fake_session().records)
    assert store.file_content(*RUN, "config.yaml") == b"wandb_version: 1\n"
    assert store.file_content(*RUN, "runyard-summary.json") == b"{}"


@pytest.mark.parametrize(
    "kind,body",
    [
        ("metadata", {"host": "h"}),
        ("console", {"lines": [[1.0, "stdout", "x"]]}),
        ("system", {"t": 1.0, "runtime": 1.0, "values": {"system/cpu": 1.0}}),
        ("file", {"name": "f", "content": b"x"}),
    ],
)
def test_new_kinds_refresh_the_heartbeat(
    store: Store, fake_session: type[FakeSession], kind: str, body: dict[str, Any]
) -> None:
    s = fake_session()
    store.ingest(s.records)
    assert store.mark_crashed(s.session)
    before = store.get_run(*RUN)
    assert before is not None and before.state == "crashed"
    s.add(kind, body)
    store.ingest(s.records, session=s.session)
    after = store.get_run(*RUN)
    assert after is not None and after.state == "running" and after.heartbeat_at >= before.heartbeat_at


def test_replaying_the_new_kinds_never_duplicates(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    for i in range(5):
        s.add("console", _console(("stdout", f"line {i}")))
        s.add("system", {"t": float(i), "runtime": float(i), "values": {"system/cpu": float(i)}})
        s.add("file", {"name": "f.txt", "content": str(i).encode()})
        s.add("metadata", {f"k{i}": i})
    assert store.ingest(s.records[:8]) == 8
    assert store.ingest(s.records[:8]) == 8
    assert store.ingest(s.records[4:15], session=s.session) == 15
    assert store.ingest(s.records, session=s.session) == len(s.records)
    assert store.ingest(s.records, session=s.session) == len(s.records)
    assert [line.text for line in store.console(*RUN)] == [f"line {i}" for i in range(5)]
    assert [r["system/cpu"] for r in store.system_history(*RUN)] == [float(i) for i in range(5)]
    assert store.file_content(*RUN, "f.txt") == b"4"
    run = store.get_run(*RUN)
    assert run is not None and run.metadata == {f"k{i}": i for i in range(5)}
    counts = _counts(store)
    assert (counts["console_lines"], counts["system_samples"], counts["run_files"]) == (5, 5, 1)


def test_malformed_new_records_raise_store_error(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session()
    store.ingest(s.records)
    for kind, body in [("file", {"name": "", "content": b""}), ("system", {"t": 1.0, "values": [1]})]:
        with pytest.raises(StoreError, match="malformed"):
            store.ingest([[2, kind, body]], session=s.session)
    assert store.session_progress(s.session) == 1


def test_update_run(store: Store, fake_session: type[FakeSession]) -> None:
    s = fake_session(config={"lr": 0.1, "bs": 32}, notes="n0", tags=["a"])
    s.log({"loss": 1.0})
    s.add("metadata", {"host": "h"})
    store.ingest(s.records)
    run = store.update_run(*RUN, name="renamed", tags=["b", "c"], config={"lr": 0.2})
    assert (run.name, run.tags, run.config, run.notes, run.metadata) == (
        "renamed",
        ["b", "c"],
        {"lr": 0.2},
        "n0",
        {"host": "h"},
    )
    assert run.summary["loss"] == 1.0
    run = store.update_run(*RUN, notes="edited", summary={"best": math.nan}, metadata={"host": "h2"})
    assert (run.name, run.notes, run.config, run.metadata) == ("renamed", "edited", {"lr": 0.2}, {"host": "h2"})
    assert run.summary.keys() == {"best"} and math.isnan(run.summary["best"])
    assert store.update_run(*RUN) == store.get_run(*RUN)  # nothing given, nothing changes
    # A live run's next records fold on from the edited dicts.
    s.add("config", {"set": {"epochs": 3}, "delete": []})
    s.log({"loss": 0.5})
    store.ingest(s.records, session=s.session)
    run = store.get_run(*RUN)
    assert run is not None and run.config == {"lr": 0.2, "epochs": 3} and run.summary["loss"] == 0.5
    with pytest.raises(NotFoundError):
        store.update_run("alice", "proj", "nope", name="x")
    assert issubclass(NotFoundError, StoreError)


def test_delete_run_removes_everything(store: Store, fake_session: type[FakeSession]) -> None:
    empty = _counts(store)
    keep = fake_session("keep")
    keep.log({"v": 1})
    keep.add("console", _console(("stdout", "kept")))
    store.ingest(keep.records)
    kept_counts = _counts(store)

    first = fake_session()
    for i in range(5000):  # more than one block per series
        first.log({"loss": float(i), "acc": i})
    first.add("console", _console(("stdout", "a"), ("stderr", "b")))
    first.add("system", {"t": 1.0, "runtime": 1.0, "values": {"system/cpu": 1.0}})
    first.add("file", {"name": "requirements.txt", "content": b"x"})
    first.add("metadata", {"host": "h"})
    first.exit()
    store.ingest(first.records)
    second = fake_session(resumed=True)
    second.log({"loss": 0.0}, step=6000)
    store.ingest(second.records)
    counts = _counts(store)
    assert counts["blocks"] > kept_counts["blocks"] + 3 and counts["sessions"] == 3

    with store.engine.connect() as conn:
        conn.execute(sa.update(projects).values(last_activity=1.0))
        conn.commit()
    assert store.delete_run(*RUN) is True
    assert _counts(store) == kept_counts
    assert store.get_run(*RUN) is None
    assert store.console(*RUN) == [] and store.files(*RUN) == [] and list(store.history(*RUN)) == []
    assert store.list_projects("alice")[0].last_activity > 1.0
    assert [r.run_id for r in store.list_runs("alice", "proj")] == ["keep"]
    assert [line.text for line in store.console("alice", "proj", "keep")] == ["kept"]
    assert store.delete_run(*RUN) is False

    # The id is free again: a new run starts from nothing.
    again = fake_session()
    again.log({"loss": 9.0})
    again.add("console", _console(("stdout", "new")))
    store.ingest(again.records)
    assert [(line.line_no, line.text) for line in store.console(*RUN)] == [(0, "new")]
    assert [r["loss"] for r in store.history(*RUN, keys=["loss"])] == [9.0]
    assert store.delete_run(*RUN) and store.delete_run("alice", "proj", "keep")
    assert {k: v for k, v in _counts(store).items() if k not in ("entities", "projects")} == {
        k: v for k, v in empty.items() if k not in ("entities", "projects")
    }


def test_deleting_a_runs_row_cascades_to_all_its_data(store: Store, fake_session: type[FakeSession]) -> None:
    # delete_run empties each table itself; the schema's ON DELETE CASCADE must hold on its own too.
    empty = _counts(store)
    s = fake_session()
    for i in range(4096):  # a full history block: it has rollups
        s.log({"v": float(i)})
    s.add("console", _console(("stdout", "x")))
    s.add("system", {"t": 1.0, "runtime": 1.0, "values": {"system/cpu": 1.0}})
    s.add("file", {"name": "f", "content": b"x"})
    s.log({"img": {"_type": "image-file", "path": "media/images/img_4096_a.png", "width": 1, "height": 1}})
    gap = len(s.records) + 1
    s.add("gap", {"first": gap, "last": gap, "start": 0, "end": 1})  # a record its run log lost to damage
    store.ingest(s.records)
    # Workspaces (per project and user), API keys, accounts (users, memberships, sign-in sessions, invitations,
    # failed sign-ins), the store's settings, a server's own state, artifacts (which outlive the run that logged
    # them: tests/artifacts) and sweeps (tests/sweeps) are not a run's data.
    not_runs = (
        "api_keys",
        "workspaces",
        "store_settings",
        "users",
        "memberships",
        "login_sessions",
        "invitations",
        "login_failures",
        "server_state",
    )
    assert all(
        n > 0
        for name, n in _counts(store).items()
        if name not in not_runs and not name.startswith(("artifact_", "sweep"))
    )
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM runs"))
    # project_keys is the project's (kept by the store's writes, which a raw DELETE bypasses), not the run's.
    project_level = ("entities", "projects", "project_keys")
    assert {k: v for k, v in _counts(store).items() if k not in project_level} == {
        k: v for k, v in empty.items() if k not in project_level
    }


# -- migration 0002 on a store that already holds data -------------------------------------------------------


def _fill_0001_store(conn: sa.Connection) -> None:
    """Rows as the 0001 code wrote them (plain SQL: they must not depend on today's schema.py).

    Ids come from the backend (no explicit ids, so PostgreSQL's sequences stay right for later inserts).
    """
    from runyard.store.blocks import encode_block

    def one(sql: str, **params: Any) -> Any:
        return conn.execute(sa.text(sql), params).scalar_one()

    conn.execute(sa.text("INSERT INTO entities (name, created_at) VALUES ('alice', 1.0)"))
    entity = one("SELECT id FROM entities WHERE name = 'alice'")
    conn.execute(
        sa.text("INSERT INTO projects (entity_id, name, created_at, last_activity) VALUES (:e, 'proj', 1, 5)"),
        {"e": entity},
    )
    project = one("SELECT id FROM projects WHERE name = 'proj'")
    conn.execute(
        sa.text(
            "INSERT INTO runs (project_id, run_id, name, notes, tags, group_name, job_type, state, exit_code,"
            " config, summary, summary_state, metrics, created_at, heartbeat_at, finished_at, runtime, last_step,"
            " host, username, program, pid) VALUES (:p, 'run1', 'old', 'n', :tags, NULL, NULL, 'finished', 0,"
            " :config, :summary, '{}', '[]', 1.0, 5.0, 5.0, 4.0, 2, 'h', 'u', 'p.py', 7)"
        ),
        {
            "p": project,
            "tags": json.dumps(["t"]),
            "config": json.dumps({"lr": 0.1, "bad": {"$nonfinite": "nan"}}),
            "summary": json.dumps({"loss": 0.5}),
        },
    )
    run = one("SELECT id FROM runs WHERE run_id = 'run1'")
    conn.execute(
        sa.text("INSERT INTO sessions (session, run_pk, last_seq, started_at) VALUES ('s1', :r, 5, 1.0)"), {"r": run}
    )
    conn.execute(sa.text("INSERT INTO series (run_pk, key) VALUES (:r, 'loss')"), {"r": run})
    conn.execute(
        sa.text(
            "INSERT INTO blocks (series_id, block_no, step_min, step_max, count, nan_count, vmin, vmax, vsum, vlast,"
            " data) VALUES (:s, 0, 0, 2, 3, 0, 0.5, 1.5, 3.0, 0.5, :data)"
        ),
        {"s": one("SELECT id FROM series WHERE key = 'loss'"), "data": encode_block([0, 1, 2], [1.5, 1.0, 0.5])},
    )


@pytest.mark.empty_store
def test_upgrade_from_0001_keeps_the_data(store_url: str, fake_session: type[FakeSession]) -> None:
    from runyard.store.engine import WRITE_OPTION, create_engine, normalize_url
    from runyard.store.migrate import current_revision, upgrade
    from runyard.store.schema import HEAD_REVISION

    engine = create_engine(normalize_url(store_url))
    try:
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            _fill_0001_store(conn)
    finally:
        engine.dispose()

    store = Store.open(store_url)  # migrates to head
    try:
        assert current_revision(store.engine) == HEAD_REVISION
        run = store.get_run(*RUN)
        assert run is not None
        assert (run.name, run.notes, run.tags, run.state, run.exit_code, run.last_step) == (
            "old",
            "n",
            ["t"],
            "finished",
            0,
            2,
        )
        assert run.config["lr"] == 0.1 and math.isnan(run.config["bad"]) and run.summary == {"loss": 0.5}
        assert run.metadata == {}
        assert store.series(*RUN, "loss") == ([0, 1, 2], [1.5, 1.0, 0.5])
        assert store.session_progress("s1") == 5
        assert store.console(*RUN) == [] and store.system_history(*RUN) == []
        assert [f.name for f in store.files(*RUN)] == ["config.yaml", "runyard-summary.json"]

        # The old run takes the new record kinds in a resumed session.
        resumed = fake_session(resumed=True, start_step=3, config=run.config)
        resumed.log({"loss": 0.25})
        resumed.add("metadata", {"host": "h2"})
        resumed.add("console", _console(("stdout", "back")))
        store.ingest(resumed.records)
        assert store.series(*RUN, "loss") == ([0, 1, 2, 3], [1.5, 1.0, 0.5, 0.25])
        assert [line.text for line in store.console(*RUN)] == ["back"]
        run = store.get_run(*RUN)
        assert run is not None and run.metadata == {"host": "h2"}
    finally:
        store.close()


@pytest.mark.empty_store
def test_downgrade_to_0001_and_back(store_url: str, fake_session: type[FakeSession]) -> None:
    from alembic import command
    from alembic.config import Config

    import runyard.store.migrate as migrate
    from runyard.store.engine import WRITE_OPTION, create_engine, normalize_url

    engine = create_engine(normalize_url(store_url))
    try:
        migrate.upgrade(engine)
        cfg = Config()
        cfg.set_main_option("script_location", str(migrate.Path(migrate.__file__).parent / "migrations"))
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        assert migrate.current_revision(engine) == "0001"
        assert not {"console_lines", "system_samples", "run_files"} & set(sa.inspect(engine).get_table_names())
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    with Store.open(store_url) as store:
        s = fake_session()
        s.add("console", _console(("stdout", "ok")))
        store.ingest(s.records)
        assert [line.text for line in store.console(*RUN)] == ["ok"]
