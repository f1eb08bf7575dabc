"""What run queries cost in a 10,000-run project: ``Store.query_runs`` / ``count_runs`` and ``runyard.Api().runs``.

Workload: ``--runs`` (default 10,000) runs in one project, written straight into the ``runs`` table (this
measures reads, not ingestion), each with a config of 10 keys (nested dicts and lists among them), a summary
of 24 keys (nested aggregates among them), 0-3 tags, a group, a job type and a mix of states. Each query runs
``--reps`` times (default 5) and the table shows the median wall time:

``sql``  filters and orders on columns only: answered by the database (``LIMIT``/``OFFSET`` included)
``keys`` the project's config, summary, history and system keys (config and summary from its keys table)
``py``   a filter on tags, a regex, or config/summary keys: the columns it needs are fetched for the
         candidate runs and the filter is evaluated in Python; full rows are loaded for the page only

Run from the repository root::

    python bench/query_runs.py                 # SQLite and PostgreSQL
    python bench/query_runs.py --pg ''         # SQLite only
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import sqlalchemy as sa

from runyard.store import Store
from runyard.store.key_index import rebuild_project_keys
from runyard.store.run_values import sort_keys
from runyard.store.schema import entities, projects, run_values, runs
from runyard.store.sql import SqlaSql

_TAGS = ["baseline", "best", "paper", "ablation", "sweep", "debug"]
_STATES = ["finished"] * 7 + ["failed", "killed", "running"]


def _fill(store: Store, n: int) -> None:
    rng = random.Random(1)
    now = time.time()
    with store.engine.begin() as conn:
        entity_id = conn.execute(sa.insert(entities).values(name="bench", created_at=now).returning(entities.c.id))
        eid = entity_id.scalar_one()
        pid = conn.execute(
            sa.insert(projects)
            .values(entity_id=eid, name="big", created_at=now, last_activity=now)
            .returning(projects.c.id)
        ).scalar_one()
        rows: list[dict[str, Any]] = []
        # Distinct random 8-hex ids: drawn without replacement (independent draws collide past ~65,000 runs).
        run_ids = [f"{value:08x}" for value in rng.sample(range(16**8), n)]
        for i in range(n):
            lr = 10 ** rng.uniform(-5, -1)
            config = {
                "lr": lr, "batch_size": rng.choice([16, 32, 64, 128]), "optimizer": rng.choice(["adam", "sgd"]),
                "layers": [rng.randint(64, 512) for _ in range(3)], "dropout": rng.random() / 2, "seed": i,
                "model": {"name": rng.choice(["resnet", "vit", "mlp"]), "depth": rng.randint(2, 50)},
                "epochs": rng.randint(1, 100), "warmup": rng.random() < 0.5, "dataset": "imagenet",
            }  # fmt: skip
            summary: dict[str, Any] = {f"metric_{k}": rng.random() for k in range(18)}
            summary.update(
                acc=rng.random(), loss={"min": rng.random(), "max": 1 + rng.random()}, _step=rng.randint(0, 10**6),
                _runtime=rng.uniform(10, 10**5), _timestamp=now, epoch=rng.randint(0, 100),
            )  # fmt: skip
            created = now - (n - i) * 60.0
            rows.append(
                {
                    "project_id": pid, "run_id": run_ids[i], "name": f"run-{i}",
                    "tags": rng.sample(_TAGS, rng.randint(0, 3)), "group_name": rng.choice([None, "g1", "g2"]),
                    "job_type": rng.choice([None, "train", "eval"]), "state": rng.choice(_STATES),
                    "config": config, "summary": summary, "summary_state": {}, "metrics": [],
                    "created_at": created, "heartbeat_at": created + rng.uniform(0, 3600),
                    "runtime": rng.uniform(10, 10**5), "last_step": rng.randint(0, 10**6), "host": f"node{i % 16}",
                    "username": "bench", "program": "train.py",
                }
            )  # fmt: skip
        for start in range(0, n, 1000):
            conn.execute(sa.insert(runs), rows[start : start + 1000])
        # Rows written around ingestion: count their keys and store their sort keys as a migration's backfill does.
        sql = SqlaSql(conn)
        rebuild_project_keys(sql, pid, ((row["config"], row["summary"]) for row in rows))
        pks = dict(conn.execute(sa.select(runs.c.run_id, runs.c.id).where(runs.c.project_id == pid)).all())
        values = [
            {"run_pk": pks[row["run_id"]], "root": root, "key": key, "project_id": pid, "rank": r, "num": n, "txt": t}
            for row in rows
            for (root, key), (r, n, t) in sort_keys(row["config"], row["summary"]).items()
        ]
        for start in range(0, len(values), 10_000):
            conn.execute(sa.insert(run_values), values[start : start + 10_000])


def _queries(store: Store) -> list[tuple[str, str, Callable[[], Any]]]:
    q, c = store.query_runs, store.count_runs
    e, p = "bench", "big"
    return [
        ("sql", "newest 50", lambda: q(e, p, limit=50)),
        ("sql", "count all", lambda: c(e, p)),
        ("sql", "state+group, 50 by -heartbeat_at", lambda: q(e, p, filters=_SQL_F, order="-heartbeat_at", limit=50)),
        ("sql", "count state+group", lambda: c(e, p, filters=_SQL_F)),
        ("sql", "page 150 of 50 (offset 7,450)", lambda: q(e, p, limit=50, offset=7450)),
        ("py", "config.lr < 1e-3, 50 newest", lambda: q(e, p, filters={"config.lr": {"$lt": 1e-3}}, limit=50)),
        ("py", "count config.lr < 1e-3", lambda: c(e, p, filters={"config.lr": {"$lt": 1e-3}})),
        ("py", "tags $in, 50 newest", lambda: q(e, p, filters={"tags": {"$in": ["best", "paper"]}}, limit=50)),
        ("py", "summary acc > .9, 50 by -acc", lambda: q(e, p, filters=_ACC_F, order="-summary_metrics.acc", limit=50)),
        ("py", "50 by config.model.depth", lambda: q(e, p, order="config.model.depth", limit=50)),
        ("py", "$or regex | nested config", lambda: c(e, p, filters=_OR_F)),
        ("py", "ids of all matches (Runs snapshot)", lambda: store.query_run_ids(e, p, filters=_ACC_F)),
        ("py", "50 by -summary acc", lambda: q(e, p, order="-summary_metrics.acc", limit=50)),
        (
            "py",
            "config.optimizer=adam, 50 by -acc",
            lambda: q(e, p, filters=_CFG_F, order="-summary_metrics.acc", limit=50),
        ),
        ("py", "group by config.optimizer", lambda: store.group_runs(e, p, "config.optimizer")),
        ("py", "group by config.model.name", lambda: store.group_runs(e, p, "config.model.name")),
        ("keys", "project keys", lambda: store.project_keys(e, p).summary),
        ("all", "every run, 50 per page (Runs walk)", lambda: _walk(store)),
    ]


_SQL_F = {"state": "finished", "group": {"$in": ["g1", "g2"]}}
_CFG_F = {"config.optimizer": "adam"}
_ACC_F = {"summary_metrics.acc": {"$gt": 0.9}}
_OR_F = {"$or": [{"display_name": {"$regex": "7$"}}, {"config.model.name": "vit", "config.epochs": {"$gte": 50}}]}


def _walk(store: Store) -> int:
    ids = store.query_run_ids("bench", "big")
    total = 0
    for start in range(0, len(ids), 50):
        total += len(store.get_runs("bench", "big", ids[start : start + 50]))
    return total


def _bench(name: str, url: str, n: int, reps: int) -> None:
    store = Store.open(url)
    try:
        t0 = time.perf_counter()
        _fill(store, n)
        print(f"\n{name}: {n:,} runs written in {time.perf_counter() - t0:.1f} s")
        print(f"  {'path':4}  {'query':40}  {'median ms':>9}  {'result':>8}")
        for path, label, query in _queries(store):
            times = []
            result: Any = None
            for _ in range(reps):
                start = time.perf_counter()
                result = query()
                times.append(time.perf_counter() - start)
            size = result if isinstance(result, int) else len(result)
            print(f"  {path:4}  {label:40}  {statistics.median(times) * 1000:9.1f}  {size:8,}")
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    pg_default = os.environ.get("RUNYARD_TEST_POSTGRES_URL") or (
        f"postgresql://{os.environ.get('PGUSER') or 'postgres'}@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--pg", default=pg_default)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _bench("SQLite", f"sqlite:///{tmp}/bench.db", args.runs, args.reps)
    if args.pg:
        import psycopg

        name = f"runyard_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            _bench(
                "PostgreSQL",
                sa.engine.make_url(args.pg).set(database=name).render_as_string(False),
                args.runs,
                args.reps,
            )
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
