"""The server's periodic blob garbage collection (``runyard server --gc-hours H``): ``runyard gc`` on a timer."""

from __future__ import annotations

import logging
import threading

from runyard.errors import Error
from runyard.store import Store
from runyard.store.artifacts.gc import DEFAULT_GRACE_S

__all__ = ["BlobCollector"]

log = logging.getLogger("runyard.server.gc")


class BlobCollector:
    """Runs the store's blob gc every ``interval_s`` seconds in a daemon thread until :meth:`stop`.

    Replicas may all run one: the store's gc lock lets one collect at a time, the others skip that round.
    """

    def __init__(self, store: Store, interval_s: float, grace_s: float = DEFAULT_GRACE_S) -> None:
        self.store = store
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-blob-gc", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def collect_once(self) -> None:
        """One round; errors are logged (a bucket unreachable for a while), never raised."""
        if self.store.blobs is None:
            return
        try:
            report = self.store.artifacts.gc(grace_s=self.grace_s)
        except Error as exc:
            log.warning("blob gc skipped: %s", exc)
            return
        finally:
            self.rounds += 1
        if report.deleted:
            log.warning("blob gc: deleted %d unreferenced blob(s), %d bytes freed", report.deleted, report.bytes_freed)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.collect_once()
