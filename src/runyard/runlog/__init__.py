"""The run log: an append-only file of framed, checksummed records, one file per session."""

from runyard.runlog.framing import FILE_MAGIC, decode_frames, encode_frame
from runyard.runlog.reader import RunLogReader, read_all
from runyard.runlog.writer import RunLogWriter

__all__ = ["FILE_MAGIC", "RunLogReader", "RunLogWriter", "decode_frames", "encode_frame", "read_all"]
