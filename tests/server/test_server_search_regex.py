"""Regular expressions from clients cannot stall the server: search and ``$regex`` filters match in linear time.

With a backtracking engine, ``(a+)+$`` against a name of 28 ``a`` and a ``!`` takes minutes, during which the
server answers nothing, ``/health`` included. Patterns are RE2's: such a search answers at once, and a
pattern that needs backtracking (lookaround, backreferences) is refused with a message saying so.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from live_server import ENTITY, PROJECT, LiveServer, assert_error, seed_run

QUERY = f"/projects/{ENTITY}/{PROJECT}/runs/query"
GROUPS = f"/projects/{ENTITY}/{PROJECT}/runs/groups"
# Each takes a backtracking engine 2**40 steps or more on the names below: hours, not seconds.
EVIL = ["(a+)+$", "^(a|a?)+$", "(a|aa)+$"]


@pytest.fixture
def evil_names(live: LiveServer) -> LiveServer:
    seed_run(live.store, "r0", name="a" * 40 + "!")
    seed_run(live.store, "r1", name="A" * 40)
    seed_run(live.store, "r2", name="resnet")
    return live


@pytest.mark.parametrize("pattern", EVIL)
def test_a_pathological_search_answers_at_once(evil_names: LiveServer, pattern: str) -> None:
    # A generous bound only to turn "never" into a failure; the answer comes in milliseconds.
    with httpx.Client(base_url=evil_names.url + "/api/v1", timeout=60) as client:
        answer = client.post(QUERY, json={"search": pattern})
    assert answer.status_code == 200, answer.text
    assert [run["id"] for run in answer.json()["runs"]] == ["r1"]  # case-insensitive, as before


def test_the_server_keeps_answering_while_searches_run(evil_names: LiveServer) -> None:
    answers: list[Any] = []

    def search(pattern: str) -> None:
        with httpx.Client(base_url=evil_names.url + "/api/v1", timeout=60) as client:
            filters = {"display_name": {"$regex": pattern}}
            answers.append(client.post(QUERY, json={"search": pattern, "filters": filters}).status_code)

    threads = [threading.Thread(target=search, args=(pattern,)) for pattern in EVIL * 2]
    for thread in threads:
        thread.start()
    with httpx.Client(base_url=evil_names.url + "/api/v1", timeout=60) as client:
        for _ in range(5):
            assert client.get("/health").json()["ok"] is True
    for thread in threads:
        thread.join(120)
    assert answers == [200] * len(threads)


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("resnet(?=-1)", "lookahead"),
        ("(?<!x)resnet", "negative lookbehind"),
        (r"(a)\1", "backreferences"),
        ("a++", "possessive"),
        ("resnet-(1", "not a valid regular expression"),
        ("[z-a]", "not a valid regular expression"),
        ("x" * 5000, "at most 4096"),
        ("((a{1000}){1000}){1000}", "regular expression"),
    ],
)
def test_unsupported_or_invalid_patterns_get_a_clear_400(evil_names: LiveServer, pattern: str, says: str) -> None:
    post = evil_names.client.post
    message = assert_error(post(QUERY, json={"search": pattern}), 400, "bad_filter", says)
    assert "search" in message
    filtered = post(QUERY, json={"filters": {"display_name": {"$regex": pattern}}})
    assert "display_name" in assert_error(filtered, 400, "bad_filter", says)
    assert_error(post(GROUPS, json={"group_by": "group", "search": pattern}), 400, "bad_filter", says)


def test_regex_options(evil_names: LiveServer) -> None:
    post = evil_names.client.post

    def ids(spec: dict[str, Any]) -> list[str]:
        answer = post(QUERY, json={"filters": {"display_name": spec}, "order": "name"})
        assert answer.status_code == 200, answer.text
        return [run["id"] for run in answer.json()["runs"]]

    assert ids({"$regex": "^A+$"}) == ["r1"]  # $regex is case-sensitive unless told
    assert ids({"$regex": "^A+$", "$options": "i"}) == ["r1"]
    assert ids({"$regex": "^a+!$", "$options": "i"}) == ["r0"]
    assert ids({"$regex": "(?i)^RES"}) == ["r2"]
    verbose = post(QUERY, json={"filters": {"name": {"$regex": "a", "$options": "x"}}})
    assert_error(verbose, 400, "bad_filter", "verbose")


@pytest.mark.parametrize(
    "spec",
    [
        {"$regex": "(a+)+$"},
        {"$regex": "^A+$"},
        {"$regex": "^A+$", "$options": "i"},
        {"$regex": r"^\w+$"},
        {"$regex": "(?i)RES|!$"},
        {"$regex": "resnet(?=x)"},
        {"$regex": "a", "$options": "x"},
        {"$regex": "(unclosed"},
    ],
)
def test_runyard_api_and_the_server_agree(evil_names: LiveServer, store_url: str, spec: dict[str, Any]) -> None:
    from runyard.api import Api
    from runyard.errors import FilterError

    filters = {"display_name": spec}
    answer = evil_names.client.post(QUERY, json={"filters": filters, "order": "name"})
    with Api(store_url=store_url) as api:
        try:
            found = [run.id for run in api.runs(f"{ENTITY}/{PROJECT}", filters=filters, order="name")]
        except FilterError as exc:
            assert_error(answer, 400, "bad_filter", str(exc))  # the same words
            return
    assert answer.status_code == 200, answer.text
    assert [run["id"] for run in answer.json()["runs"]] == found
