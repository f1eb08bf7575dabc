"""Size limits: stated, checked before anything is written, and nothing else affected."""

from __future__ import annotations

import pytest

import runyard
from runyard.errors import Error, RunLogWriteError, TooLargeError, UsageError
from runyard.sdk.limits import RECORD_LIMIT, VALUE_LIMIT


def test_the_limits_are_those_the_docs_state() -> None:
    assert (VALUE_LIMIT, RECORD_LIMIT) == (1024 * 1024, 25 * 1024 * 1024)
    assert issubclass(TooLargeError, UsageError)
    assert issubclass(RunLogWriteError, OSError) and issubclass(RunLogWriteError, Error)


def test_a_value_at_the_limit_is_stored_and_one_byte_more_is_refused(stored):
    run = runyard.init(project="p")
    at_limit = "a" * (VALUE_LIMIT - 5)  # msgpack: a 5-byte header, then the characters
    run.log({"s": at_limit})
    with pytest.raises(TooLargeError, match=r"'s' takes 1\.0 MiB"):
        run.log({"s": at_limit + "b"})
    with pytest.raises(TooLargeError, match=r"'deep\.er'"):
        run.log({"ok": 1, "deep": {"er": at_limit + "b"}})
    assert run.step == 1
    run.finish()
    rows = stored.history(run)
    assert len(rows) == 1 and rows[0]["s"] == at_limit


def test_run_properties_over_the_limit_leave_the_run_as_it_was(stored):
    run = runyard.init(project="p", name="short", tags=["t"])
    with pytest.raises(TooLargeError, match="'name'"):
        run.name = "n" * (2 * VALUE_LIMIT)
    with pytest.raises(TooLargeError, match="a tag"):
        run.tags = ["ok", "t" * (2 * VALUE_LIMIT)]
    assert (run.name, run.tags) == ("short", ("t",))
    run.finish()
    record = stored.run(run)
    assert (record.name, record.tags) == ("short", ["t"])


def test_an_init_config_over_the_limit_starts_no_run_and_leaves_no_run_log(isolated_root):
    with pytest.raises(TooLargeError, match=r"runyard\.init"):
        runyard.init(project="p", config={f"k{i}": "c" * (VALUE_LIMIT - 100) for i in range(30)})
    assert runyard.run is None
    assert list(isolated_root.glob("runs/*/*.rylog")) == []
