"""``wandb.Api()`` and ``wandb.restore`` where real code looks, with the real client against a runyard server:
readable names for unnamed runs, nested summary edits, ``run.files(names=...)``, missing files, ``delete()``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wandb_clients import ENTITY, LATEST, OLDER, LiveServer, last_line, ok

from runyard.names import new_run_name


@pytest.mark.parametrize("version", [LATEST, OLDER[-1]])
def test_wandb_api_answers_where_real_code_looks(
    server: LiveServer, project: str, tmp_path: Path, version: str
) -> None:
    result = ok(server.run_client(version, "api_compat", project, tmp_path=tmp_path, timeout=120))
    got = json.loads(last_line(result, "RESULT"))
    run_id = got["run_id"]

    # A run the client does not name gets a readable name (adjective-noun-number), never its id.
    assert got["name"] == got["live_name"] != run_id
    adjective, noun, number = got["name"].split("-")
    assert adjective.isalpha() and noun.isalpha() and number.isdigit()
    assert len(new_run_name().split("-")) == 3

    # Nested summary values changed in place are stored: by the live run, and by the Api's update().
    assert got["live_summary"] == {"best": {"acc": 0.75, "loss": 1.0}, "nested_b": 2}
    assert got["edited_best"] == {"acc": 0.95, "loss": 0.05}

    # files(names=...) holds one file per name asked, and its length says so; a missing one reads as W&B's
    # placeholder (size 0, md5 "0"), which wandb.restore turns into W&B's ValueError.
    assert got["files_len"] == 2
    name, size, md5 = got["files"][0]
    assert name == "requirements.txt" and size > 0 and md5 != "0"
    assert got["files"][1] == ["no-such-file.txt", 0, "0"]
    assert got["one_len"] == 1
    assert got["all_len"] == len(got["all_names"]) > 1
    assert "requirements.txt" in got["all_names"]
    assert len(got["restored"].encode()) == size
    assert got["missing"].startswith("ValueError: File no-such-file.txt not found")

    # delete() deletes the run.
    assert got["after_delete"].startswith("CommError")
    assert server.store.get_run(ENTITY, project, run_id) is None
    assert list(server.store.history(ENTITY, project, run_id)) == []
