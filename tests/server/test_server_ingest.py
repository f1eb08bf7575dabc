"""The ingest API (``/api/v1/ingest``) and the SDK's HttpSink against a live server on loopback, on both backends.

Keys are checked before a body is read; batches are applied once and gaps refused; sizes are bounded as sent and
decompressed; answers carry stop requests; the HttpSink keeps every value exact (NaN, infinities, bytes).
"""

from __future__ import annotations

import gzip
import math
import socket
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgpack
import pytest
from live_server import LiveServer, assert_error

from runyard.errors import AuthenticationError, CommError, RemoteError
from runyard.replay import replay, synced_into
from runyard.runlog import RunLogWriter
from runyard.sdk.limits import RECORD_LIMIT
from runyard.server.bodies import MAX_API_BODY
from runyard.server.routes.ingest import MAX_BODY_BYTES, MAX_RECORDS_BYTES
from runyard.sinks.http import HttpSink

KEY = "c" * 40
OWNER = "ana"


@pytest.fixture
def keyed(live: LiveServer) -> LiveServer:
    live.store.create_api_key(OWNER, "tests", key=KEY)
    return live


def session_records(run_id: str, rows: int, *, entity: str = "ana", project: str = "p") -> tuple[str, list[Any]]:
    """A session's records as the SDK writes them: start, ``rows`` history rows (no exit)."""
    session = uuid.uuid4().hex
    now = time.time()
    start = {
        "session": session, "run_id": run_id, "project": project, "entity": entity, "name": run_id,
        "notes": None, "tags": [], "group": None, "job_type": None, "config": {"lr": 0.1}, "created_at": now,
        "started_at": now, "resumed": False, "start_step": 0, "runtime_offset": 0.0, "host": "h", "pid": 1,
        "username": entity, "program": "train.py", "mode": "online",
    }  # fmt: skip
    records: list[Any] = [[1, "start", start]]
    for step in range(rows):
        records.append([step + 2, "row", {"x": step * 0.5, "_step": step, "_runtime": step, "_timestamp": now}])
    return session, records


def post_records(live: LiveServer, session: str, records: list[Any], key: str = KEY, **headers: str) -> httpx.Response:
    body = gzip.compress(msgpack.packb(records, use_bin_type=True))
    sent = {"Authorization": f"Bearer {key}", "Content-Encoding": "gzip", "Content-Type": "application/msgpack"}
    return live.client.post(f"/ingest/sessions/{session}/records", content=body, headers={**sent, **headers})


def raw_request(live: LiveServer, head: str) -> bytes:
    """Send only a request's head (no body) on a raw socket; return what the server answers."""
    parts = urlsplit(live.url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_key_is_checked_before_the_body_is_read(keyed: LiveServer) -> None:
    # The head promises a gigabyte that never comes: the answer can only come from a check made before reading.
    for auth, expected in (("", b"an API key is required"), ("Authorization: Bearer wrong\r\n", b"invalid API key")):
        head = (
            f"POST /api/v1/ingest/sessions/{uuid.uuid4().hex}/records HTTP/1.1\r\nHost: x\r\n{auth}"
            "Content-Type: application/msgpack\r\nContent-Length: 1000000000\r\n\r\n"
        )
        answer = raw_request(keyed, head)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert expected in answer or b"content-length" in answer.lower()  # the body may follow in a later packet
    session, records = session_records("r", 3)
    assert_error(post_records(keyed, session, records, key="wrong"), 401, "unauthorized", "invalid API key")
    assert keyed.store.session_progress(session) == 0
    basic = httpx.BasicAuth("api", KEY)  # the wandb client's form of the key works too
    me = keyed.client.get("/ingest/me", auth=basic).json()
    assert me == {"username": OWNER, "entity": keyed.client.get("/me").json()["entity"]}


def test_batches_are_applied_once_and_a_gap_is_refused(keyed: LiveServer) -> None:
    session, records = session_records("r1", 10)
    first = post_records(keyed, session, records[:6])
    assert first.status_code == 200, first.text
    assert first.json() == {"last_seq": 6, "stop_requested_at": None}
    again = post_records(keyed, session, records[:6])  # an answer lost, the batch sent again
    assert again.json()["last_seq"] == 6
    overlapping = post_records(keyed, session, records[3:9])
    assert overlapping.json()["last_seq"] == 9
    gap = post_records(keyed, session, records[10:])
    assert_error(gap, 409, "ingest_gap", "expected record seq 10")
    assert post_records(keyed, session, records[9:]).json()["last_seq"] == 11
    steps, values = keyed.store.series("ana", "p", "r1", "x")
    assert steps == list(range(10))
    assert values == [s * 0.5 for s in range(10)]
    state = keyed.client.get(f"/ingest/sessions/{session}", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert state == {"session": session, "last_seq": 11, "stop_requested_at": None}


def test_bodies_are_bounded_as_sent_and_decompressed(keyed: LiveServer) -> None:
    session, records = session_records("r2", 2)
    auth = f"Authorization: Bearer {KEY}\r\n"
    head = (
        f"POST /api/v1/ingest/sessions/{session}/records HTTP/1.1\r\nHost: x\r\n{auth}"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    )
    assert raw_request(keyed, head).startswith(b"HTTP/1.1 413")
    headers = {"Authorization": f"Bearer {KEY}", "Content-Encoding": "gzip"}
    bomb = gzip.compress(b"\0" * (MAX_RECORDS_BYTES + 1024), compresslevel=9)
    assert len(bomb) < MAX_BODY_BYTES
    path = f"/ingest/sessions/{session}/records"
    assert_error(keyed.client.post(path, content=bomb, headers=headers), 413, "too_large", "decompresses")
    assert_error(keyed.client.post(path, content=b"not gzip", headers=headers), 400, "bad_request", "gzip")
    truncated = gzip.compress(msgpack.packb(records))[:-12]
    assert_error(keyed.client.post(path, content=truncated, headers=headers), 400, "bad_request", "truncated")
    zstd = {**headers, "Content-Encoding": "zstd"}
    assert_error(keyed.client.post(path, content=b"x", headers=zstd), 415, "unsupported", "gzip")
    plain = {"Authorization": f"Bearer {KEY}"}
    assert_error(keyed.client.post(path, content=b"\xc1", headers=plain), 400, "bad_request", "msgpack")
    shapeless = msgpack.packb([[1, "start"]])
    assert_error(keyed.client.post(path, content=shapeless, headers=plain), 400, "bad_request", "record 0")
    deflated = zlib.compress(msgpack.packb(records, use_bin_type=True))
    answer = keyed.client.post(path, content=deflated, headers={**plain, "Content-Encoding": "deflate"})
    assert answer.json()["last_seq"] == 3
    assert keyed.store.session_progress(session) == 3


def test_answers_carry_stop_requests_and_crash_marks_apply(keyed: LiveServer) -> None:
    sink = HttpSink(keyed.url, KEY)
    session, records = session_records("r3", 5)
    try:
        assert sink.ingest(records, session=session) == 6
        assert sink.stop_requested_at(session) is None
        asked = keyed.client.post("/runs/ana/p/r3/stop")
        assert asked.status_code == 202
        time.sleep(0.6)  # older than the sink's cached answer: it asks the server again
        assert sink.stop_requested_at(session) == pytest.approx(asked.json()["stop_requested_at"])
        sink.heartbeat(session, time.time())
        assert keyed.store.get_run("ana", "p", "r3").heartbeat_at >= records[0][2]["started_at"]
        sink.mark_crashed(session)
        # A run whose process dies after a stop was asked for ends killed (the stop did it), not crashed.
        assert keyed.client.get("/runs/ana/p/r3").json()["state"] == "killed"
        assert sink.progress(session) == 6
        assert sink.progress(uuid.uuid4().hex) == 0
        unstopped, more = session_records("r3b", 2)
        sink.ingest(more, session=unstopped)
        sink.mark_crashed(unstopped)
        assert keyed.client.get("/runs/ana/p/r3b").json()["state"] == "crashed"
    finally:
        sink.close()


def test_the_sink_keeps_every_value_exact_and_splits_large_batches(keyed: LiveServer) -> None:
    session, records = session_records("r4", 0)
    odd = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "big": 2**62, "s": "é", "nested": {"a": [1, None]}}
    records.append([2, "summary", {"set": odd, "delete": []}])
    for step in range(300):
        records.append([len(records) + 1, "row", {"x": float(step), "_step": step, "_runtime": 1.0, "_timestamp": 1.0}])
    records.append([len(records) + 1, "file", {"name": "requirements.txt", "content": b"\x00\xffbytes"}])
    sink = HttpSink(keyed.url, KEY, max_request_bytes=2048)  # many requests for one batch
    try:
        assert sink.ingest(records, session=session) == len(records)
    finally:
        sink.close()
    run = keyed.store.get_run("ana", "p", "r4")
    assert math.isnan(run.summary["nan"]) and run.summary["inf"] == math.inf and run.summary["ninf"] == -math.inf
    assert (run.summary["big"], run.summary["s"], run.summary["nested"]) == (2**62, "é", {"a": [1, None]})
    assert keyed.store.series("ana", "p", "r4", "x")[0] == list(range(300))
    assert keyed.store.file_content("ana", "p", "r4", "requirements.txt") == b"\x00\xffbytes"


def test_resume_state_and_the_errors_a_sink_reports(keyed: LiveServer) -> None:
    session, records = session_records("r5", 4)
    sink = HttpSink(keyed.url, KEY)
    try:
        sink.ingest(records, session=session)
        assert sink.resume_state("ana", "p", "r5") == keyed.store.resume_state("ana", "p", "r5")
        assert sink.resume_state("ana", "p", "nope") is None
        assert sink.whoami()["username"] == OWNER
    finally:
        sink.close()
    wrong = HttpSink(keyed.url, "wrong")
    with pytest.raises(AuthenticationError, match=r"refused the API key .*runyard login") as refused:
        wrong.ingest(records, session=session)
    assert (refused.value.status, refused.value.retryable) == (401, False)
    # W&B's names: code written for wandb catches a refused key as a CommError.
    assert isinstance(refused.value, RemoteError) and isinstance(refused.value, CommError)
    gone = HttpSink(keyed.url + "/nowhere", KEY)
    with pytest.raises(RemoteError, match="did not answer as a runyard server"):
        gone.progress(session)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    closed = HttpSink(f"http://127.0.0.1:{port}", KEY)
    with pytest.raises(RemoteError, match="connection refused") as unreachable:
        closed.progress(session)
    assert unreachable.value.retryable and unreachable.value.status is None
    assert not isinstance(unreachable.value, AuthenticationError)
    assert isinstance(unreachable.value.exc, ConnectionRefusedError)  # W&B's CommError.exc


def test_the_http_ingester_loads_no_database_library(keyed: LiveServer, tmp_path: Path) -> None:
    # What the ingester process does with an HttpSink, in a fresh interpreter: ingest, heartbeat, stop check,
    # crash mark. Training machines need neither SQLAlchemy nor a database driver.
    session, records = session_records("r6", 50)
    code = f"""
import sys
import runyard.sinks.daemon
from runyard.sinks.http import HttpSink
sink = HttpSink({keyed.url!r}, {KEY!r})
assert sink.ingest({records!r}, session={session!r}) == 51
sink.heartbeat({session!r}, 1.0)
assert sink.stop_requested_at({session!r}) is None
sink.mark_crashed({session!r})
sink.close()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "numpy", "psycopg", "alembic"))
assert not heavy, heavy
assert "runyard.sdk" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert keyed.client.get("/runs/ana/p/r6").json()["state"] == "crashed"


def test_login_in_a_script_sets_the_server_and_checks_the_key(keyed: LiveServer) -> None:
    import runyard
    from runyard.credentials import set_process_login
    from runyard.settings import Settings

    try:
        assert runyard.login(key=KEY, host=keyed.url + "/", verify=True) is True
        resolved = Settings().resolved()
        assert (resolved.base_url, resolved.api_key) == (keyed.url, KEY)
        with pytest.raises(RemoteError, match="refused the API key"):
            runyard.login(key="wrong", verify=True)  # the host stays; the key is replaced
    finally:
        set_process_login(None, None)


def test_the_servers_guards_let_programs_through_and_refuse_pages(keyed: LiveServer) -> None:
    # The SDK may reach the server under any name; every ingest call carries the key, so the Host rule (against
    # DNS rebinding) does not apply there, nor the REST API's JSON-only rule (it sends gzip-compressed msgpack).
    session, records = session_records("g1", 3)
    named = post_records(keyed, session, records, Host="runyard.internal:8080")
    assert named.status_code == 200, named.text
    assert named.json()["last_seq"] == 4
    me = keyed.client.get("/ingest/me", headers={"Host": "runyard.internal", "Authorization": f"Bearer {KEY}"})
    assert me.status_code == 200 and me.json()["username"] == OWNER
    # ... and only there: the REST API still refuses the name, and a page of another site is still refused.
    assert_error(keyed.client.get("/runs/ana/p/g1", headers={"Host": "runyard.internal"}), 400, "bad_host", "")
    page = post_records(keyed, session, records, Origin="https://evil.example")
    assert_error(page, 403, "cross_site", "evil.example")
    fetched = post_records(keyed, session, records, **{"Sec-Fetch-Site": "cross-site"})
    assert_error(fetched, 403, "cross_site", "another site")


def test_a_record_at_the_sdks_size_limit_fits_even_incompressible(keyed: LiveServer) -> None:
    # The REST API's 8 MiB bound does not apply: the ingest route bounds its own (streamed) body, and its bound
    # takes the largest record the SDK writes even when gzip cannot shrink it.
    import os

    content = os.urandom(RECORD_LIMIT - 64 * 1024)
    assert len(gzip.compress(content, compresslevel=1)) > MAX_API_BODY
    session, records = session_records("big", 1)
    records.append([3, "file", {"name": "weights.bin", "content": content}])
    sink = HttpSink(keyed.url, KEY)
    try:
        assert sink.ingest(records, session=session) == 3
    finally:
        sink.close()
    assert keyed.store.file_content("ana", "p", "big", "weights.bin") == content
    assert MAX_BODY_BYTES > RECORD_LIMIT * 1.01  # gzip of incompressible data adds ~0.03 %


def test_sync_through_a_server_reads_back_steps_and_marks_the_servers_store(keyed: LiveServer, tmp_path: Path) -> None:
    session, records = session_records("s1", 7)
    records.append([len(records) + 1, "exit", {"exit_code": 0, "state": "finished", "t": time.time(), "runtime": 1.0}])
    log = tmp_path / f"{session}.rylog"
    writer = RunLogWriter(log)
    for record in records:
        writer.append(msgpack.packb(record, use_bin_type=True))
    writer.close()
    sink = HttpSink(keyed.url, KEY)
    try:
        assert sink.identity() == keyed.store.identity()  # the id of the store the server serves
        result = replay(log, sink)
        assert (result.applied, result.steps, result.complete, result.left_behind) == (9, 7, True, False)
        assert sink.stored_steps(session) == 7 and sink.stored_steps(uuid.uuid4().hex) == 0
    finally:
        sink.close()
    assert synced_into(log) == {keyed.store.identity()}
    # The store itself, opened directly, knows the log is in it: synced through its server is synced into it.
    assert replay(log, keyed.store).already
