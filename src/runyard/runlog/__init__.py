"""The run log: an append-only file of framed, checksummed records, one file per session."""

from runyard.runlog.framing import FILE_MAGIC, FILE_MAGIC_V1, decode_frames, encode_frame
from runyard.runlog.reader import Damage, LogEnd, RunLogReader, read_all
from runyard.runlog.writer import RunLogWriter

__all__ = [
    "FILE_MAGIC",
    "FILE_MAGIC_V1",
    "Damage",
    "LogEnd",
    "RunLogReader",
    "RunLogWriter",
    "decode_frames",
    "encode_frame",
    "read_all",
]
