"""Encoding media files off the training thread, and handing them to the run log.

``log({"img": runyard.Image(array)})`` writes the history row at once, with the image's reference; the PNG
is encoded here, by one background thread, and written to the run log as a ``file`` record at the reference's
path (the store puts its bytes in the blob store). ``finish()`` waits for what is still queued. A process that
dies with encodes queued loses those files, never the rows logged before.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from runyard.media.base import MediaFile

__all__ = ["MAX_QUEUED", "MediaWriter"]

MAX_QUEUED = 512
"""Files queued at most; ``log()`` waits for room beyond (512 images of 224x224x3: about 75 MiB of pixels)."""


class MediaWriter:
    """One background thread that encodes queued media files and writes them with ``write_file(path, bytes)``.

    ``write_file`` is the run's own record writer, which takes the run's lock: the training thread and this
    thread never write the run log at the same time.
    """

    def __init__(self, write_file: Callable[[str, bytes], None], report: Callable[[str], None]) -> None:
        self._write_file = write_file
        self._report = report
        self._queue: deque[MediaFile] = deque()
        self._cond = threading.Condition()
        self._busy = 0  # queued or being encoded
        self._thread: threading.Thread | None = None
        self.failed = 0

    def submit(self, job: MediaFile) -> None:
        """Queue one file whose bytes ``job.encode()`` makes; waits while :data:`MAX_QUEUED` are queued."""
        with self._cond:
            while self._busy >= MAX_QUEUED:  # a loop logging faster than images encode must not fill the memory
                self._cond.wait()
            self._queue.append(job)
            self._busy += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="runyard-media", daemon=True)
                self._thread.start()
            self._cond.notify()

    @property
    def pending(self) -> int:
        """Files queued or being encoded."""
        return self._busy

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                job = self._queue.popleft()
            try:
                assert job.encode is not None
                self._write_file(job.path, job.encode())
            except Exception as exc:  # one bad file must not stop the others
                self.failed += 1
                self._report(f"media file {job.path} could not be stored: {type(exc).__name__}: {exc}")
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every queued file is written; False when ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True
