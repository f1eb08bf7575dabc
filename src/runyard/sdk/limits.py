"""How large a value and a record may be: stated limits, checked before anything is written.

W&B recommends keeping a logged value under 1 MB and a ``log()`` call under 25 MB. runyard makes those its
limits, so that what goes over them fails at once, in the caller's thread, with an error that names the key:

* :data:`VALUE_LIMIT` (1 MiB): one value once encoded: a leaf of a ``log()`` row, of a config or summary change
  (nested dicts count leaf by leaf), a run's name, notes or one tag;
* :data:`RECORD_LIMIT` (25 MiB): everything one call records: a ``log()`` row, one config or summary change,
  the config passed to ``init()``;
* :data:`FILE_LIMIT` (60 MiB): one media file (a logged image, table or video), written as a record of its own
  (within the 64 MiB a runyard server takes in one request).

Checking costs nothing on the hot path: the record is encoded anyway before it is written, and only a record
longer than :data:`VALUE_LIMIT` (which no value over the limit can avoid) is looked at value by value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgpack

from runyard import records as R
from runyard.errors import TooLargeError

VALUE_LIMIT = 1024 * 1024
RECORD_LIMIT = 25 * 1024 * 1024
FILE_LIMIT = 60 * 1024 * 1024  # a table of a million short rows fits

# record kind -> what the user called, and where in the body the user's values are
_WHAT = {
    R.KIND_ROW: "log",
    R.KIND_CONFIG: "config",
    R.KIND_SUMMARY: "summary",
    R.KIND_START: "init",
    R.KIND_META: "run properties",
}


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _leaves(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _values(kind: str, body: Any) -> Iterator[tuple[str, Any]]:
    if kind == R.KIND_ROW:
        yield from _leaves(body, "")
    elif kind in (R.KIND_CONFIG, R.KIND_SUMMARY):
        yield from _leaves(body.get("set") or {}, "")
    elif kind == R.KIND_START:
        yield from _leaves(body.get("config") or {}, "")
        yield "name", body.get("name")
        yield "notes", body.get("notes")
        for tag in body.get("tags") or ():
            yield "a tag", tag
    elif kind == R.KIND_META:
        for key, value in body.items():
            if key == "tags" and isinstance(value, list):
                for tag in value:
                    yield "a tag", tag
            else:
                yield key, value


def check_file(name: str, size: int) -> None:
    """Raise :class:`TooLargeError` when a media file of ``size`` bytes is over :data:`FILE_LIMIT`."""
    if size > FILE_LIMIT:
        raise TooLargeError(
            f"runyard.log: the media file {name!r} takes {_mib(size)}; a logged media file may take at most "
            f"{_mib(FILE_LIMIT)}. Split the data (several tables, shorter videos). Nothing from this call was logged."
        )


def check_record(kind: str, body: Any, size: int) -> None:
    """Raise :class:`TooLargeError` when a record of ``size`` encoded bytes, or one of its values, is over its limit.

    Called only for records longer than :data:`VALUE_LIMIT`. Records runyard writes itself (console output, system
    metrics, run files) are held to :data:`RECORD_LIMIT` alone; their writers keep them far below it.
    """
    what = _WHAT.get(kind)
    hint = (
        "Nothing from this call was logged and everything before it is kept. Log a summary of such data (W&B turns "
        "arrays of more than 32 numbers into histograms), or write it to a file in run.dir."
    )
    if what is not None:
        for key, value in _values(kind, body):
            vsize = len(msgpack.packb(value, use_bin_type=True))
            if vsize > VALUE_LIMIT:
                raise TooLargeError(
                    f"runyard.{what}: the value of {key!r} takes {_mib(vsize)} once encoded; a value may take at "
                    f"most {_mib(VALUE_LIMIT)} (and one call {_mib(RECORD_LIMIT)}). {hint}"
                )
    if kind == R.KIND_FILE:
        check_file(str(body.get("name")), size)
        return
    if size > RECORD_LIMIT:
        raise TooLargeError(
            f"runyard.{what or kind}: this call records {_mib(size)} once encoded; one call may record at most "
            f"{_mib(RECORD_LIMIT)} (and one value {_mib(VALUE_LIMIT)}). {hint}"
        )
