"""Schemathesis over ``/api/v1/openapi.json`` with and without credentials: no server error for anyone, and no
private data in any answer to an anonymous visitor or a member of another team.

Each generated request is sent as generated and again aimed at the team's private data (its entity, private
projects and private run in the path), where random names would rarely land. A marker planted in the private
runs' names, notes, config, summary, console and files must never come back to an outsider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import pytest
import schemathesis
from authz import MARKER, MIXED_PROJECT, PRIVATE_PROJECT, RUN, TEAM, open_store, seed, serve
from hypothesis import HealthCheck, given, settings

_SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)

_AIMED = [
    {"entity": TEAM, "project": PRIVATE_PROJECT, "run_id": RUN},
    {"entity": TEAM, "project": MIXED_PROJECT, "run_id": "priv"},
]


@schemathesis.serializer("application/msgpack")
def _msgpack(_ctx: Any, value: Any) -> bytes:
    # The ingest API's records body: whatever was generated, packed (msgpack takes bytes and strings alike).
    return bytes(msgpack.packb(value))


def _aimed(params: dict[str, Any], target: dict[str, str]) -> dict[str, Any]:
    return {k: target.get(k, v) for k, v in params.items()}


@pytest.mark.parametrize("caller", ["anonymous", "outsider", "member"])
def test_fuzzed_requests_never_fail_or_leak(tmp_path: Path, caller: str) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s/runyard.db", tmp_path)
    keys = seed(store)
    outsider = caller != "member"
    problems: list[str] = []
    with serve(store, keys) as server:
        headers = server.headers(caller)
        schema = schemathesis.openapi.from_url(server.url + "/api/v1/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 40

        for operation in operations:

            @_SETTINGS
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                attempts = [dict(case.path_parameters or {})]
                if case.path_parameters and "entity" in case.path_parameters:
                    attempts += [_aimed(case.path_parameters, target) for target in _AIMED]
                for params in attempts:
                    case.path_parameters = params
                    response = case.call(base_url=server.url, headers=headers)
                    where = f"{case.method} {case.formatted_path} as {caller}"
                    body = response.content  # bytes: a file or blob need not be text
                    if response.status_code >= 500:
                        problems.append(f"{where}: {response.status_code} {body[:300]!r}")
                    if outsider and MARKER.encode() in body:
                        problems.append(f"{where}: private data in the answer {body[:300]!r}")

            check()
    store.close()
    assert not problems, "\n".join(problems[:20])
