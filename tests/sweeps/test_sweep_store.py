"""store.sweeps: the controller's state in SQLite and PostgreSQL, and its runs, best run and controls."""

from __future__ import annotations

import pytest
from store_fakes import FakeSession

from runyard.errors import ConflictError, NotFoundError, SweepConfigError
from runyard.store import Store
from runyard.store.sweeps.models import Assignment

GRID = {
    "method": "grid",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}},
}


def _finish(store: Store, project: str, run_id: str, loss: float | None, config: dict | None = None) -> None:
    s = FakeSession(run_id, entity="alice", project=project, config=config or {})
    if loss is not None:
        s.log({"loss": loss})
    s.exit()
    store.ingest(s.records, session=s.session)


def test_create_find_and_refuse_bad_configs(store: Store) -> None:
    sweep = store.sweeps.create("alice", "p", GRID, username="alice")
    assert sweep.state == "RUNNING" and sweep.method == "grid" and sweep.run_count == 0
    assert store.sweeps.find(sweep.sweep_id).pk == sweep.pk
    assert store.sweeps.find(f"alice/p/{sweep.sweep_id}").pk == sweep.pk
    assert store.sweeps.find(f"p/{sweep.sweep_id}").pk == sweep.pk
    assert [s.sweep_id for s in store.sweeps.of_project("alice", "p")] == [sweep.sweep_id]
    with pytest.raises(NotFoundError):
        store.sweeps.find("alice/other/" + sweep.sweep_id)
    with pytest.raises(SweepConfigError, match="parameters"):
        store.sweeps.create("alice", "p", {"method": "grid"})


def test_grid_assigns_each_point_once_then_finishes(store: Store) -> None:
    sweep = store.sweeps.create("alice", "p", GRID)
    agent = store.sweeps.register_agent(sweep, pid=1)
    seen = []
    while isinstance(got := store.sweeps.next_run(sweep, agent), Assignment):
        seen.append((got.params["a"], got.params["b"]))
    assert got == "FINISHED"
    assert sorted(seen) == sorted({(a, b) for a in (1, 2, 3) for b in ("x", "y")})
    assert store.sweeps.agents(sweep)[0]["runs"] == 6
    assert store.sweeps.get("alice", "p", sweep.sweep_id).state == "FINISHED"  # type: ignore[union-attr]


def test_a_target_on_a_nested_metric_ends_the_sweep(store: Store) -> None:
    cfg = {
        "method": "bayes",
        "metric": {"name": "val.loss", "goal": "minimize", "target": 0.1},
        "parameters": {"lr": {"min": 0.0, "max": 1.0}},
    }
    sweep = store.sweeps.create("alice", "p", cfg)
    first = store.sweeps.next_run(sweep)
    assert isinstance(first, Assignment)
    s = FakeSession(first.run_id, entity="alice", project="p", config={"lr": first.params["lr"]})
    s.log({"val": {"loss": 0.5}})
    s.log({"val": {"loss": 0.05}})
    s.exit()
    store.ingest(s.records, session=s.session)
    assert store.sweeps.next_run(sweep) == "FINISHED"


def test_runs_best_run_run_cap_and_target(store: Store) -> None:
    cfg = {
        "method": "random",
        "seed": 1,
        "run_cap": 4,
        "metric": {"name": "loss", "goal": "minimize", "target": 0.05},
        "parameters": {"lr": {"min": 0.0, "max": 1.0}},
    }
    sweep = store.sweeps.create("alice", "p", cfg)
    first = store.sweeps.next_run(sweep)
    second = store.sweeps.next_run(sweep)
    assert isinstance(first, Assignment) and isinstance(second, Assignment)
    _finish(store, "p", first.run_id, 0.5, {"lr": first.params["lr"]})
    _finish(store, "p", second.run_id, 0.2, {"lr": second.params["lr"]})
    runs = store.sweeps.runs(sweep)
    assert [r.run_id for r in runs] == [first.run_id, second.run_id]
    assert runs[0].run is not None and runs[0].run.summary["loss"] == 0.5
    best = store.sweeps.best_run(sweep)
    assert best is not None and best.run_id == second.run_id
    third = store.sweeps.next_run(sweep)
    assert isinstance(third, Assignment)
    _finish(store, "p", third.run_id, 0.01)  # meets the target: the sweep is done
    assert store.sweeps.next_run(sweep) == "FINISHED"

    capped = store.sweeps.create("alice", "p", {**cfg, "metric": {"name": "loss"}, "run_cap": 2})
    assert isinstance(store.sweeps.next_run(capped), Assignment)
    assert isinstance(store.sweeps.next_run(capped), Assignment)
    assert store.sweeps.next_run(capped) == "FINISHED"


def test_controls_follow_w_and_b_states(store: Store) -> None:
    sweep = store.sweeps.create("alice", "p", GRID)
    assert store.sweeps.control(sweep, "pause").state == "PAUSED"
    assert store.sweeps.next_run(sweep) == "PAUSED"
    assert store.sweeps.control(sweep, "resume").state == "RUNNING"
    assert isinstance(store.sweeps.next_run(sweep), Assignment)
    assert store.sweeps.control(sweep, "stop").state == "FINISHED"
    with pytest.raises(ConflictError, match="FINISHED"):
        store.sweeps.control(sweep, "resume")
    assert store.sweeps.control(sweep, "cancel").state == "CANCELED"
    assert store.sweeps.next_run(sweep) == "CANCELED"


def test_a_restarted_controller_suggests_exactly_what_it_would_have(store_url: str) -> None:
    cfg = {
        "method": "tpe",
        "seed": 7,
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"min": -2.0, "max": 2.0}, "k": {"values": ["a", "b"]}},
    }

    def play(store: Store, sweep_id: str, n: int) -> list[dict]:
        sweep = store.sweeps.find(sweep_id)
        out = []
        for _ in range(n):
            got = store.sweeps.next_run(sweep)
            assert isinstance(got, Assignment)
            out.append(got.params)
            _finish(store, sweep.project, got.run_id, (got.params["x"] - 1) ** 2 + (got.params["k"] == "b"))
        return out

    with Store.open(store_url) as one:
        a = one.sweeps.create("alice", "p", cfg, sweep_id="sweepaaa")
        b = one.sweeps.create("alice", "q", cfg, sweep_id="sweepaaa")
        straight = play(one, a.path, 14)
        before = play(one, b.path, 8)
    # A new process opens the store: the controller's state is all there.
    with Store.open(store_url) as two:
        after = play(two, b.path, 6)
    assert before + after == straight
