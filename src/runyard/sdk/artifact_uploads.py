"""The run's artifact work off the training thread: files into the blob store, then the manifest into the run log.

``run.log_artifact`` only queues a job and returns. A background thread (hashing and copying files on a small
pool: both release the GIL) puts every file into the store's content-addressed blob store (content already
there is neither copied nor written), then writes one ``artifact`` record to the run log. Ingestion commits the
version from that record in one transaction, so a crash at any point never leaves half a version visible: at
worst some blobs nothing references, which ``runyard gc`` removes after its grace period.

``finish()`` waits for the queue, saying what it waits for.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard import records as R
from runyard.errors import Error, StoreError, TooLargeError
from runyard.manifest_digest import manifest_digest

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from runyard.artifacts import Artifact
    from runyard.artifacts.backend import ArtifactBackend, VersionRecord
    from runyard.sdk.run import Run
    from runyard.sinks.artifact_access import ArtifactAccess
    from runyard.sinks.offline_artifacts import OfflineArtifactAccess
    from runyard.sinks.remote_artifacts import RemoteArtifactAccess

__all__ = ["ArtifactUploads", "UploadJob"]

_RECORD_BUDGET = 24 * 1024 * 1024  # under the run log's 25 MiB record limit
_COMMIT_WAIT_S = 300.0  # how long wait() gives ingestion to commit a version whose files are stored


class UploadJob:
    """One logged artifact (or saved run file) on its way to the store."""

    def __init__(self, uploads: ArtifactUploads, kind: str, artifact: Artifact | None, **extra: Any) -> None:
        self._uploads = uploads
        self.kind = kind
        self.artifact = artifact
        self.extra = extra
        self.total = 0 if artifact is None else sum(e.size or 0 for e in artifact.manifest.values() if e.ref is None)
        self.done_bytes = 0
        self.new_bytes = 0
        self.digest: str | None = None
        self.seq = 0  # the run-log record that commits it
        self.error: BaseException | None = None
        self.finished = threading.Event()

    @property
    def label(self) -> str:
        return f"artifact {self.artifact.name}" if self.artifact is not None else f"file {self.extra.get('name')}"

    def wait(self, timeout: float | None) -> tuple[VersionRecord, ArtifactBackend]:
        """Wait for the files and the manifest record, then for ingestion to commit the version."""
        if not self.finished.wait(timeout):
            raise StoreError(f"{self.label} is still uploading after {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.artifact is not None and self.digest is not None
        uploads = self._uploads
        run = uploads.run
        deadline = time.monotonic() + (timeout if timeout is not None else _COMMIT_WAIT_S)
        while True:
            # Its own record applied (a re-log finds the version already there, but not yet its new aliases).
            access = uploads.access()
            with uploads._access_lock:
                applied = access.progress(run._session) >= self.seq
            if applied:
                backend = uploads.backend()
                found = backend.version(run.entity, run.project, self.artifact._name, self.digest)
                if found is not None:
                    return found, backend
            if time.monotonic() > deadline:
                raise StoreError(
                    f"{self.label}: its files are stored but the store has not committed the version yet (the run's "
                    "ingester is behind, or stopped); it lands when the run log is ingested (`runyard sync`)"
                )
            time.sleep(0.05)


class ArtifactUploads:
    """A run's queue of artifact uploads, worked by one background thread."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._queue: queue.Queue[UploadJob | None] = queue.Queue()
        self._jobs: list[UploadJob] = []
        self._lock = threading.Lock()
        self._access: ArtifactAccess | RemoteArtifactAccess | OfflineArtifactAccess | None = None
        self._access_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None  # made by the background thread: its import is not free

    # -- the store

    def access(self) -> ArtifactAccess | RemoteArtifactAccess | OfflineArtifactAccess:
        """The store, as artifacts reach it (opened once, on first use): the local store, the runyard server
        the run logs to (files are uploaded to it; content it already holds is not sent again), or for an offline
        run the folder beside its run log that ``runyard sync`` sends."""
        with self._access_lock:
            if self._access is None:
                settings = self.run.settings
                if settings.mode == "offline":
                    from runyard.sinks.offline_artifacts import OfflineArtifactAccess, blob_folder

                    log = self.run.run_log_path
                    if log is None:
                        raise StoreError("this offline run has no run log to keep its artifact files beside")
                    self._access = OfflineArtifactAccess(blob_folder(log))
                elif settings.base_url is not None:
                    from runyard.sinks.remote_artifacts import RemoteArtifactAccess

                    self._access = RemoteArtifactAccess(settings.base_url, settings.api_key or "")
                else:
                    from runyard.sinks.artifact_access import ArtifactAccess

                    self._access = ArtifactAccess(settings.store_url, settings.crash_timeout)
            return self._access

    def backend(self) -> ArtifactBackend:
        """The store's artifact room (opening the store on first use)."""
        access = self.access()
        with self._access_lock:
            room: ArtifactBackend = access.room()
        return room

    # -- the queue

    def submit(self, kind: str, artifact: Artifact | None, **extra: Any) -> UploadJob:
        """Queue a job (``log`` an artifact, or ``file``: a run file for ``runyard.save``); returns at once."""
        job = UploadJob(self, kind, artifact, **extra)
        with self._lock:
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="runyard-artifacts", daemon=True)
                self._thread.start()
        self._queue.put(job)
        return job

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if job.kind == "log":
                    self._log(job)
                else:
                    self._file(job)
            except BaseException as exc:  # reported by wait() and at finish; never raised into training
                job.error = exc
            finally:
                job.finished.set()

    def _put(self, job: UploadJob, path: Path, durable: bool = True) -> tuple[str, int]:
        key, size, new = self.access().blobs().put_file(path, durable=durable)
        with self._lock:
            job.done_bytes += size
            job.new_bytes += new
        return key, size

    def _log(self, job: UploadJob) -> None:
        artifact = job.artifact
        assert artifact is not None
        run = self.run
        access = self.access()
        access.check_type(run.entity, run.project, artifact._name, artifact.type)
        blobs = access.blobs()
        entries = list(artifact.manifest.values())
        stored = [e for e in entries if e.ref is None and e.local_path is not None]
        # Small files are flushed to disk together (one sync, not one per file) before the manifest is written.
        small = len(stored) > 1
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2), thread_name_prefix="runyard-hash")
        results = self._pool.map(lambda e: self._put(job, Path(str(e.local_path)), durable=not small), stored)
        for entry, (key, size) in zip(stored, results, strict=True):
            entry.digest, entry.size, entry.blob_key = key, size, key
        if small and job.new_bytes:
            blobs.flush()
        files = [[e.path, e.digest, int(e.size or 0), e.ref] for e in entries]
        job.digest = manifest_digest(files)
        body = {
            "action": "log",
            "name": artifact._name,
            "type": artifact.type,
            "description": artifact.description,
            "metadata": artifact.metadata,
            "aliases": list(job.extra.get("aliases") or ()),
            "digest": job.digest,
            "files": files,
            "t": time.time(),
        }
        if sum(len(str(f[0])) + 90 for f in files) > _RECORD_BUDGET:
            raise TooLargeError(
                f"artifact {artifact._name} has {len(files)} files, more than one manifest holds yet (about 200,000): "
                "split it into several artifacts, or pack small files into archives"
            )
        job.seq = self._write(R.KIND_ARTIFACT, body, job)

    def _file(self, job: UploadJob) -> None:
        key, size = self._put(job, Path(job.extra["path"]))
        self._write(R.KIND_FILE, {"name": job.extra["name"], "blob": key, "size": size}, job)

    def _write(self, kind: str, body: dict[str, Any], job: UploadJob) -> int:
        run = self.run
        with run._lock:
            if run._finished:
                raise StoreError(f"{job.label} was not stored: the run finished first")
            return run._write(kind, body)

    # -- the end

    def pending(self) -> list[UploadJob]:
        with self._lock:
            return [job for job in self._jobs if not job.finished.is_set()]

    def finish(self, quiet: bool) -> list[str]:
        """Wait for every queued job, saying what is waited for; returns what went wrong (for finish's report)."""
        last = 0.0
        while waiting := self.pending():
            now = time.monotonic()
            if not quiet and now - last > 2.0:
                total = sum(j.total for j in waiting)
                done = sum(j.done_bytes for j in waiting)
                names = ", ".join(j.label for j in waiting[:3]) + (" ..." if len(waiting) > 3 else "")
                print(
                    f"runyard: waiting for {len(waiting)} upload(s) to be stored ({names}): "
                    f"{_mb(done)} of {_mb(total)}",
                    file=sys.stderr,
                    flush=True,
                )
                last = now
            waiting[0].finished.wait(0.2)
        self._queue.put(None)
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        problems = []
        for job in self._jobs:
            if job.error is not None:
                what = job.error if isinstance(job.error, Error) else repr(job.error)
                problems.append(f"{job.label} was not stored: {what}")
        return problems

    def close(self) -> None:
        if self._access is not None:
            self._access.close()


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
