"""``watch()``: torch gradient and parameter histograms logged through hooks, as in W&B."""

from __future__ import annotations

import pytest

import runyard

torch = pytest.importorskip("torch", reason="watch() needs torch, which is not installed here")


def test_watch_logs_gradient_and_parameter_histograms(api) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with runyard.init(project="media") as run:
        runyard.watch(model, log="all", log_freq=2)
        for _ in range(6):
            loss = model(torch.randn(16, 4)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log({"loss": loss.item()})
        runyard.unwatch(model)
        loss = model(torch.randn(16, 4)).pow(2).mean()
        loss.backward()
        run.log({"loss": loss.item()})
    r = api.run(f"media/{run.id}")
    rows = list(r.scan_history())
    assert len(rows) == 7
    logged = [row for row in rows if "gradients/0.weight" in row]
    assert [row["_step"] for row in logged] == [1, 3, 5]
    for row in logged:
        for key in ("gradients/0.weight", "gradients/2.bias", "parameters/0.weight", "parameters/2.bias"):
            assert row[key]["_type"] == "histogram" and len(row[key]["bins"]) == len(row[key]["values"]) + 1
        assert sum(row["parameters/0.weight"]["values"]) == 32
    assert "gradients/0.weight" not in rows[-1]


def test_watch_checks_its_arguments() -> None:
    with runyard.init(project="media"):
        with pytest.raises(ValueError, match="log must be"):
            runyard.watch(torch.nn.Linear(2, 2), log="weights")
        with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
            runyard.watch(object())
        with pytest.raises(ValueError, match="pass the torch model"):
            runyard.watch()
