"""Run file names are made safe on the one path every stored file takes: no name reaches outside a folder."""

from __future__ import annotations

import ntpath
import posixpath
import uuid
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.errors import UsageError
from runyard.store import Store
from runyard.store.file_writes import safe_file_name

_pieces = st.sampled_from(
    ["..", ".", "...", ". .", "/", "\\", "%2e", "%2E%2e", "%2f", "%5c", "%25", "C:", "\x00", "\n", "a", "b.txt", " "]
)
names = st.lists(_pieces | st.text(max_size=4), max_size=8).map("".join)


def _inside(join: object, name: str) -> bool:
    """Whether ``name`` joined to a root stays under it (posixpath or ntpath rules)."""
    mod = posixpath if join is posixpath else ntpath
    root = "/root/dl" if mod is posixpath else "D:\\root\\dl"
    full = mod.normpath(mod.join(root, name))
    return full.startswith(root + mod.sep) and mod.splitdrive(full)[0] == mod.splitdrive(root)[0]


@given(names)
@settings(max_examples=500, deadline=None)
def test_a_safe_name_stays_inside_on_every_system(name: str) -> None:
    try:
        safe = safe_file_name(name)
    except ValueError:
        return
    assert safe and "\x00" not in safe
    assert safe_file_name(safe) == safe  # already safe: kept
    for shown in {safe, unquote(safe), unquote(unquote(safe))}:  # readers that decode names too
        assert _inside(posixpath, shown), (name, safe, shown)
        assert _inside(ntpath, shown), (name, safe, shown)


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../x", "__/__/x"),
        ("/etc/passwd", "etc/passwd"),
        ("..\\..\\x", "__/__/x"),
        ("%2e%2e/x", "__/x"),
        ("%252e%252e/x", "__/x"),
        ("a\x00b", "a_b"),
        ("C:\\x", "C_/x"),
        ("0:", "0_"),
        ("./a//b/", "_/a/b"),
        ("model.pt", "model.pt"),
        ("dir/sub/file.txt", "dir/sub/file.txt"),
        (".hidden", ".hidden"),
        ("100%25.txt", "100%25.txt"),
        ("acc 95%.png", "acc 95%.png"),
    ],
)
def test_names_as_stored(name: str, stored: str) -> None:
    assert safe_file_name(name) == stored


def test_every_way_in_stores_safe_names(store: Store) -> None:
    session = uuid.uuid4().hex
    start = {
        "session": session, "run_id": "r", "project": "p", "entity": "e", "name": "r", "notes": None, "tags": [],
        "group": None, "job_type": None, "config": {}, "created_at": 1.0, "started_at": 1.0, "resumed": False,
        "start_step": 0, "runtime_offset": 0.0, "host": "h", "pid": 1, "username": "e", "program": "p.py",
        "mode": "online",
    }  # fmt: skip
    # A run log's file records (the SDK, runyard sync) ...
    store.ingest(
        [
            [1, "start", start],
            [2, "file", {"name": "../../from-log.txt", "content": b"log"}],
            [3, "file", {"name": "nul\x00.txt", "content": "text"}],
            [4, "exit", {"exit_code": 0, "state": "finished", "t": 2.0, "runtime": 1.0}],
        ]
    )
    # ... and a file put on an ended run (a wandb client's late upload).
    assert store.put_file("e", "p", "r", "/abs/../late.txt", b"late") == "abs/__/late.txt"
    names = {f.name for f in store.files("e", "p", "r")}
    assert {"__/__/from-log.txt", "nul_.txt", "abs/__/late.txt"} <= names
    assert store.file_content("e", "p", "r", "../../from-log.txt") == b"log"
    assert store.file_content("e", "p", "r", "nul_.txt") == b"text"
    run = store.get_run("e", "p", "r")
    assert (run.state, run.exit_code) == ("finished", 0)
    with pytest.raises(UsageError, match="inside the run"):
        store.put_file("e", "p", "r", "//", b"")
