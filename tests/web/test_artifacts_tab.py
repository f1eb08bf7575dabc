"""The run page's Artifacts tab in a real browser: outputs and inputs, a version's files, lineage, downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import runyard

from .conftest import screenshot


def test_outputs_inputs_files_and_download(
    root: Path, tmp_path: Path, page: Any, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "data.csv").write_text("x,y\n1,2\n")
    (tmp_path / "weights.bin").write_bytes(b"\x01" * 5000)
    with runyard.init(project="arts", name="maker") as maker:
        artifact = runyard.Artifact("ds", type="dataset", description="the training data", metadata={"rows": 1})
        artifact.add_file(tmp_path / "data.csv")
        artifact.add_file(tmp_path / "weights.bin")
        maker.log_artifact(artifact, aliases=["train"]).wait()
    with runyard.init(project="arts", name="user") as user:
        user.use_artifact("ds:train")
    server = request.getfixturevalue("server")  # after the runs: the server opens the store with its blob folder

    page.goto(f"{server}/{maker.entity}/arts/runs/{maker.id}?tab=artifacts")
    outputs = page.get_by_test_id("artifact-outputs")
    row = outputs.get_by_test_id("artifact-row")
    expect(row).to_have_attribute("data-name", "ds:v0")
    expect(row).to_contain_text("dataset")
    expect(row).to_contain_text("train")
    expect(page.get_by_test_id("artifact-inputs")).to_contain_text("None.")
    row.get_by_test_id("artifact-open").click()
    detail = page.get_by_test_id("artifact-detail")
    expect(detail).to_contain_text("the training data")
    expect(detail.get_by_test_id("artifact-user")).to_have_text(user.id)
    expect(detail.get_by_test_id("artifact-metadata")).to_contain_text('"rows": 1')
    expect(detail.get_by_test_id("artifact-file")).to_have_count(2)
    graph = detail.get_by_test_id("lineage-graph")
    assert [n.get_attribute("data-name") for n in graph.get_by_test_id("lineage-run").all()] == [maker.id, user.id]
    expect(graph.get_by_test_id("lineage-artifact")).to_have_attribute("data-name", "ds:v0")
    screenshot(page, "run-artifacts")
    with page.expect_download() as info:
        detail.locator('[data-name="data.csv"]').get_by_test_id("artifact-file-download").click()
    assert Path(info.value.path()).read_text() == "x,y\n1,2\n"

    detail.get_by_test_id("artifact-user").click()
    expect(page.get_by_test_id("run-page")).to_have_attribute("data-run-id", user.id)
    page.get_by_test_id("tab-artifacts").click()
    expect(page.get_by_test_id("artifact-inputs").get_by_test_id("artifact-row")).to_have_attribute(
        "data-name", "ds:v0"
    )


def test_project_artifacts_page(root: Path, tmp_path: Path, page: Any, request: pytest.FixtureRequest) -> None:
    for i in range(2):
        (tmp_path / "w.bin").write_bytes(bytes([i]) * 100)
        with runyard.init(project="arts2") as run:
            run.log_model(tmp_path / "w.bin", name="net", aliases=["best"] if i == 0 else None)
    server = request.getfixturevalue("server")

    page.goto(f"{server}/{run.entity}/arts2/runs/{run.id}")
    page.get_by_test_id("crumb-artifacts").click()
    expect(page.get_by_test_id("artifacts-page")).to_be_visible()
    expect(page.get_by_test_id("artifact-type")).to_have_attribute("data-name", "model")
    expect(page.get_by_test_id("artifact-collection")).to_have_attribute("data-name", "net")
    versions = page.get_by_test_id("artifact-version")
    expect(versions).to_have_count(2)
    assert [v.get_attribute("data-name") for v in versions.all()] == ["v1", "v0"]
    expect(versions.nth(0).get_by_test_id("artifact-aliases")).to_have_text("latest")
    expect(versions.nth(1).get_by_test_id("artifact-aliases")).to_have_text("best")
    versions.nth(1).get_by_test_id("artifact-version-open").click()
    expect(page.get_by_test_id("artifact-file")).to_have_attribute("data-name", "w.bin")
    screenshot(page, "project-artifacts")
