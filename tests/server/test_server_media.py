"""The media REST reads on SQLite and PostgreSQL: media keys, references at a step, run files with their
content type and caching, histograms over time and tables paged server-side."""

from __future__ import annotations

import json

from live_server import LiveServer, assert_error

from media_records import ENTITY, media_run

PROJECT = "media"


def _seed(live: LiveServer, runs: int = 2, steps: int = 5, table_rows: int = 30) -> list[str]:
    ids = [f"run{i}" for i in range(runs)]
    for i, run_id in enumerate(ids):
        live.store.ingest(media_run(PROJECT, run_id, steps=steps, seed=i, table_rows=table_rows))
    return ids


def test_media_keys_list_each_key_once_with_its_type(live: LiveServer) -> None:
    ids = _seed(live)
    body = live.client.get(f"/projects/{ENTITY}/{PROJECT}/media/keys", params={"runs": ",".join(ids)}).json()
    assert {k["key"]: k["type"] for k in body["keys"]} == {
        "img": "image-file",
        "grid": "images/separated",
        "weights": "histogram",
        "samples": "table-file",
        "squares_table": "table-file",
        "confusion_table": "table-file",
        "sound": "audio-file",
        "page": "html-file",
        "clip": "video-file",
    }
    assert {p["key"] for p in body["plots"]} == {"squares", "confusion"}
    assert body["plots"][0]["spec"]["panel_type"] == "Vega2"
    # the history keeps each reference whole: no "img._type" series
    assert live.client.get(f"/runs/{ENTITY}/{PROJECT}/run0/keys").json()["history"] == sorted(
        ["clip", "confusion_table", "grid", "img", "loss", "page", "samples", "sound", "squares_table", "weights"]
    )
    # all the project's runs when none are named; none of an unknown run
    every = live.client.get(f"/projects/{ENTITY}/{PROJECT}/media/keys").json()["keys"]
    assert len(every) == 9
    assert live.client.get(f"/projects/{ENTITY}/{PROJECT}/media/keys", params={"runs": "nope"}).json()["keys"] == []


def test_media_at_a_step_for_several_runs(live: LiveServer) -> None:
    ids = _seed(live, steps=5)
    got = live.client.get(
        f"/projects/{ENTITY}/{PROJECT}/media/at", params={"key": "img", "runs": ",".join(reversed(ids)), "step": 3}
    ).json()
    assert got["steps"] == [0, 1, 2, 3, 4] and got["step"] == 3
    assert [item["run_id"] for item in got["items"]] == ["run1", "run0"]  # in the order asked
    assert got["items"][1]["value"]["caption"] == "run0 step 3"
    last = live.client.get(f"/projects/{ENTITY}/{PROJECT}/media/at", params={"key": "img", "runs": "run0"}).json()
    assert last["step"] == 4 and last["items"][0]["step"] == 4
    # a step past a key's last value shows the run's last value at or before it
    after = live.client.get(
        f"/projects/{ENTITY}/{PROJECT}/media/at", params={"key": "sound", "runs": "run0", "step": 99}
    ).json()
    assert after["items"][0]["step"] == 5 and after["items"][0]["value"]["_type"] == "audio-file"
    before = live.client.get(
        f"/projects/{ENTITY}/{PROJECT}/media/at", params={"key": "sound", "runs": "run0", "step": 2}
    ).json()
    assert before["items"] == []
    # a step range, for a slider to prefetch around its position
    ranged = live.client.get(
        f"/projects/{ENTITY}/{PROJECT}/media/range",
        params={"key": "img", "runs": "run1,run0", "min_step": 1, "max_step": 3, "limit": 2},
    ).json()["items"]
    assert [(i["run_id"], i["step"]) for i in ranged] == [("run1", 1), ("run1", 2), ("run0", 1), ("run0", 2)]
    assert ranged[0]["value"]["caption"] == "run1 step 1"


def test_media_files_are_served_with_their_type_and_may_be_cached(live: LiveServer) -> None:
    _seed(live, runs=1)
    ref = live.client.get(f"/projects/{ENTITY}/{PROJECT}/media/at", params={"key": "img", "runs": "run0"}).json()
    path = ref["items"][0]["value"]["path"]
    image = live.client.get(f"/runs/{ENTITY}/{PROJECT}/run0/files/{path}")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "private, max-age=86400"
    assert len(image.content) == ref["items"][0]["value"]["size"]
    sound = live.client.get(f"/runs/{ENTITY}/{PROJECT}/run0/files/media/audio/sound_0.wav")
    assert sound.headers["content-type"] in ("audio/x-wav", "audio/wav") and sound.content.startswith(b"RIFF")
    # Html is never served as a page of this site: the web app frames its text in a sandbox
    page = live.client.get(f"/runs/{ENTITY}/{PROJECT}/run0/files/media/html/page_0.html")
    assert (
        page.headers["content-type"].startswith("text/plain") and page.headers["content-security-policy"] == "sandbox"
    )
    # files that are not media keep no cache header
    assert "cache-control" not in live.client.get(f"/runs/{ENTITY}/{PROJECT}/run0/files/config.yaml").headers


def test_histogram_over_time_is_bucketed_with_every_histogram(live: LiveServer) -> None:
    _seed(live, runs=1, steps=40)
    url = f"/runs/{ENTITY}/{PROJECT}/run0/media/histogram"
    full = live.client.get(url, params={"key": "weights"}).json()
    assert full["steps"] == list(range(40)) and full["bins"] == 64 and len(full["edges"]) == 65
    assert len(full["values"]) == 40 * 64
    bucketed = live.client.get(url, params={"key": "weights", "buckets": 10}).json()
    assert bucketed["steps"] == list(range(0, 40, 4)) and bucketed["counts"] == [4] * 10
    assert bucketed["steps_last"] == list(range(3, 40, 4))
    # a bucket is the mean of its histograms: nothing is sampled away
    for row in range(10):
        mean = [sum(full["values"][(row * 4 + k) * 64 + b] for k in range(4)) / 4 for b in range(64)]
        got = bucketed["values"][row * 64 : (row + 1) * 64]
        assert max(abs(a - b) for a, b in zip(mean, got, strict=True)) < 1e-5
    ranged = live.client.get(url, params={"key": "weights", "min_step": 10, "max_step": 19}).json()
    assert ranged["steps"] == list(range(10, 20))
    assert live.client.get(url, params={"key": "img"}).json()["steps"] == []  # not histograms
    assert_error(
        live.client.get(f"/runs/{ENTITY}/{PROJECT}/nope/media/histogram", params={"key": "w"}), 404, "not_found"
    )


def test_tables_page_sort_and_filter_server_side(live: LiveServer) -> None:
    _seed(live, runs=1, table_rows=500)
    url = f"/runs/{ENTITY}/{PROJECT}/run0/media/table"
    path = "media/table/samples_0.table.json"
    first = live.client.get(url, params={"path": path, "limit": 10}).json()
    assert first["columns"] == ["id", "label", "score", "image"] and first["total"] == 500
    assert [r[0] for r in first["rows"]] == list(range(10))
    assert first["rows"][0][3]["_type"] == "image-file"  # media cells come back as references
    page = live.client.get(url, params={"path": path, "limit": 5, "offset": 20, "sort": "score", "desc": True}).json()
    scores = sorted((((i * 7919) % 1000) / 1000, i) for i in range(500))
    expected = sorted(scores, key=lambda s: (-s[0], s[1]))[20:25]
    assert [r[2] for r in page["rows"]] == [s[0] for s in expected]
    found = live.client.get(url, params={"path": path, "q": "CLASS-2", "limit": 1000}).json()
    assert found["total"] == len([i for i in range(500) if i % 3 == 2])
    assert all(r[1] == "class-2" for r in found["rows"])
    where = json.dumps([["score", ">=", 0.9], ["label", "=", "class-0"]])
    narrowed = live.client.get(url, params={"path": path, "where": where, "limit": 1000}).json()
    assert narrowed["total"] == len([i for i in range(500) if ((i * 7919) % 1000) / 1000 >= 0.9 and i % 3 == 0])
    assert_error(live.client.get(url, params={"path": path, "sort": "nope"}), 400, "bad_request", "nope", "score")
    assert_error(live.client.get(url, params={"path": path, "where": "[1]"}), 400, "bad_request", "where")
    assert_error(live.client.get(url, params={"path": "media/table/missing.table.json"}), 404, "not_found", "missing")
    assert_error(live.client.get(url, params={"path": "media/audio/sound_0.wav"}), 400, "bad_request", "table file")


def test_custom_chart_specs_are_not_config_columns(live: LiveServer) -> None:
    _seed(live, runs=1)
    keys = live.client.get(f"/projects/{ENTITY}/{PROJECT}/keys").json()
    assert keys["config"] == ["lr"]
    assert live.client.get(f"/runs/{ENTITY}/{PROJECT}/run0").json()["config"]["_wandb"]["visualize"]["squares"]
