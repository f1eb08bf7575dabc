"""The store's tables: one schema for SQLite and PostgreSQL (SQLAlchemy Core).

Changing a table here needs a new migration in ``migrations/versions`` and a bump of ``HEAD_REVISION``; a test
checks that the migrations produce exactly these tables.

::

    entities 1─* projects 1─* runs 1─* series 1─* blocks
                                             1─* rollups (chunk summaries of full blocks, for charts)
                                  1─* sessions, lost_records
                                  1─* run_values (config and summary values as sort keys, one row per key)
                                  1─* console_lines, system_samples, run_files
                         projects 1─* project_keys (its config and summary keys, with how many runs have each)
                         projects 1─* workspaces (one per user: the web app's saved view of the project)
    api_keys (who may call the server: a hash of each key, never the key; its owner, prefix, revocation)
    store_settings (the store's own settings: where its blobs live)
    runs 1─* media_keys (the media room's table: runyard.store.media.schema)
    artifact_* (versioned files with lineage: runyard.store.artifacts.tables)
    users, memberships, login_sessions, invitations, login_failures (runyard.store.accounts.tables)
    server_state (what a server keeps between requests, for every replica: runyard.store.server_state.tables)

History is not stored one row per point: a *series* is one flattened history key of one run, and its points
sit in *blocks* of up to 4096 consecutive points (see :mod:`runyard.store.blocks`). Console output and system
metrics are the run's other two streams: one row per console line (numbered 0.. per run, across resumed
sessions) and one row per system-metrics sample (a few per minute). ``runs.metadata`` says where and how the
run ran (host, OS, Python, hardware, git...). Every table below ``runs`` cascades on the run's deletion.
"""

from __future__ import annotations

import sqlalchemy as sa

from runyard.store.jsontypes import JSONValue

__all__ = [
    "HEAD_REVISION",
    "api_keys",
    "blocks",
    "console_lines",
    "entities",
    "lost_records",
    "metadata",
    "project_keys",
    "projects",
    "rollups",
    "run_files",
    "run_values",
    "runs",
    "series",
    "sessions",
    "store_settings",
    "system_samples",
    "workspaces",
]

HEAD_REVISION = "0013"
"""The newest migration; ``Store.open`` compares ``alembic_version`` against it without loading alembic."""

# User-supplied text is TEXT, never VARCHAR(n): on PostgreSQL a too-long run name or history key would make
# its batch fail on every retry, wedging the session.

# SQLite only auto-increments an "INTEGER PRIMARY KEY"; PostgreSQL gets 64-bit ids.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Text compared by code point, as Python compares strings: PostgreSQL's "C" collation, SQLite's default.
CodePointText = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")

metadata = sa.MetaData()

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    # "user" (a person's own entity) or "team" (an entity with members: runyard.store.accounts).
    sa.Column("kind", sa.String(8), nullable=False, server_default="user"),
    sa.UniqueConstraint("name", name="uq_entities_name"),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("entity_id", Id, sa.ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("last_activity", sa.Double, nullable=False),
    # "private" (members of the entity) | "public" (anyone, read-only): see runyard.server.access.
    sa.Column("visibility", sa.String(16), nullable=False, server_default="private"),
    sa.UniqueConstraint("entity_id", "name", name="uq_projects_entity_name"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("tags", JSONValue, nullable=False),
    sa.Column("group_name", sa.Text, nullable=True),
    sa.Column("job_type", sa.Text, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("config", JSONValue, nullable=False),
    sa.Column("summary", JSONValue, nullable=False),
    sa.Column("summary_state", JSONValue, nullable=False),
    sa.Column("metrics", JSONValue, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("heartbeat_at", sa.Double, nullable=False),
    sa.Column("finished_at", sa.Double, nullable=True),
    sa.Column("runtime", sa.Double, nullable=False, server_default="0"),
    sa.Column("last_step", sa.BigInteger, nullable=False, server_default="-1"),
    sa.Column("host", sa.Text, nullable=False, server_default=""),
    sa.Column("username", sa.Text, nullable=False, server_default=""),
    sa.Column("program", sa.Text, nullable=False, server_default=""),
    sa.Column("pid", sa.Integer, nullable=True),
    # Where and how the run ran (runyard.records' KIND_METADATA). A column named "metadata": reach it as
    # runs.c["metadata"].
    sa.Column("metadata", JSONValue, nullable=False, server_default="{}"),
    # "private" | "public": a public run is readable by anyone even in a private project (runyard.server.access).
    sa.Column("visibility", sa.String(16), nullable=False, server_default="private"),
    # Set when someone asks a live run to stop (web app, API); the run's ingester then interrupts its trainer.
    sa.Column("stop_requested_at", sa.Double, nullable=True),
    # Set when the training process says it is about to be preempted (wandb's mark_preempting()).
    sa.Column("preempting_at", sa.Double, nullable=True),
    sa.UniqueConstraint("project_id", "run_id", name="uq_runs_project_run_id"),
    sa.Index("ix_runs_project_created", "project_id", "created_at"),
)

# Each flattened config and summary key of a project's runs, and how many runs have it: the project's keys list
# without reading every run (maintained by runyard.store.key_index on every write to a run's config or summary).
project_keys = sa.Table(
    "project_keys",
    metadata,
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("root", sa.String(16), primary_key=True),  # "config" | "summary"
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("runs", sa.BigInteger, nullable=False),
)

# Each run's config and summary leaves as sort keys (see runyard.store.run_values): rank 0 number (num), 1 string
# (txt, by code point), 2 boolean (num 0/1), 3 other (txt: its repr). What ordering runs by a key reads, by index.
run_values = sa.Table(
    "run_values",
    metadata,
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("root", sa.String(16), primary_key=True),
    sa.Column("key", CodePointText, primary_key=True),
    sa.Column("project_id", Id, nullable=False),
    sa.Column("rank", sa.SmallInteger, nullable=False),
    sa.Column("num", sa.Double, nullable=True),
    sa.Column("txt", CodePointText, nullable=True),
    sa.Index("ix_run_values_order", "project_id", "root", "key", "rank", "num", "txt", "run_pk"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session", sa.Text, primary_key=True),
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    # The highest record seq applied: ingestion skips seq <= last_seq, so replays never duplicate.
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.Double, nullable=False),
)

# Records of a session that a run log lost to damage (a reader skipped the bytes that held them and said so with a
# "gap" record; runyard.records). Ingestion accepts the jump in sequence numbers only then, and keeps it here.
lost_records = sa.Table(
    "lost_records",
    metadata,
    sa.Column("session", sa.Text, primary_key=True),
    sa.Column("first_seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    # The skipped byte range of the session's run log.
    sa.Column("log_start", sa.BigInteger, nullable=False),
    sa.Column("log_end", sa.BigInteger, nullable=False),
    sa.Column("noted_at", sa.Double, nullable=False),
)

series = sa.Table(
    "series",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.UniqueConstraint("run_pk", "key", name="uq_series_run_key"),
)

blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("series_id", Id, sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("block_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("step_min", sa.BigInteger, nullable=False),
    sa.Column("step_max", sa.BigInteger, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("nan_count", sa.Integer, nullable=False),
    sa.Column("vmin", sa.Double, nullable=True),
    sa.Column("vmax", sa.Double, nullable=True),
    sa.Column("vsum", sa.Double, nullable=True),
    sa.Column("vlast", sa.Double, nullable=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# Chunk summaries of full blocks, one row per series and 16 block numbers (see runyard.store.rollups): what
# charts of long series read instead of the blocks. step_min/step_max span the row's records.
rollups = sa.Table(
    "rollups",
    metadata,
    sa.Column("series_id", Id, sa.ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seg_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("mask", sa.Integer, nullable=False),
    sa.Column("step_min", sa.BigInteger, nullable=False),
    sa.Column("step_max", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

console_lines = sa.Table(
    "console_lines",
    metadata,
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    # 0, 1, 2... per run, contiguous, continuing across resumed sessions. The primary key is the index that
    # reads a run's lines in order, from any line number.
    sa.Column("line_no", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("t", sa.Double, nullable=False),
    sa.Column("stream", sa.String(8), nullable=False),  # "stdout" | "stderr"
    sa.Column("text", sa.Text, nullable=False),
)

system_samples = sa.Table(
    "system_samples",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("t", sa.Double, nullable=False),
    sa.Column("runtime", sa.Double, nullable=False),
    # {"system/...": number}; a column named "values": reach it as system_samples.c["values"].
    sa.Column("values", JSONValue, nullable=False),
    sa.Index("ix_system_samples_run_t", "run_pk", "t"),
)

run_files = sa.Table(
    "run_files",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_pk", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    # The bytes, inline; NULL when the blob store holds them (blob_key, see runyard.store.blobs).
    sa.Column("content", sa.LargeBinary, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("blob_key", sa.Text, nullable=True),
    sa.UniqueConstraint("run_pk", "name", name="uq_run_files_run_name"),
)

# The store's own settings, one row per key: "blobs" is where the store's blobs live (a file:// or s3:// URL),
# so that every process opening the store finds them.
store_settings = sa.Table(
    "store_settings",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("project_id", Id, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("username", sa.Text, nullable=False),
    # The web app's view of the project, as the app writes it (hidden runs, colours, grouping, sort, filters...).
    sa.Column("settings", JSONValue, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.UniqueConstraint("project_id", "username", name="uq_workspaces_project_user"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text, nullable=False),
    # sha256 of the key: a leaked store does not leak working keys.
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("last_used_at", sa.Double, nullable=True),
    # The key's first 8 characters, to tell keys apart in lists (32 bits of 160: no help to a guesser).
    sa.Column("prefix", sa.Text, nullable=False, server_default=""),
    # Set when the key is revoked: the row stays so lists can say so, and the key is refused.
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
)


# Tables of the store's rooms (runyard.store.<capability>) live with their room; importing them registers them on
# the same ``metadata``.
import runyard.store.accounts.tables  # noqa: E402
import runyard.store.artifacts.tables  # noqa: E402, F401
from runyard.store.media import schema as _media_schema  # noqa: E402, F401
from runyard.store.server_state import tables as _server_state_tables  # noqa: E402, F401
from runyard.store.sweeps import tables as _sweep_tables  # noqa: E402, F401
