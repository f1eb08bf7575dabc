"""The training process's handle on its ingester process (:mod:`runyard.sinks.daemon`)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from runyard.settings import ResolvedSettings


def _pythonpath() -> str:
    # The child must import the same runyard as this process, wherever it was imported from.
    here = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH")
    return here if not current else here + os.pathsep + current


class IngesterProcess:
    """Starts the ingester process without waiting for it; the run log is the hand-off."""

    def __init__(self, path: Path, session: str, settings: ResolvedSettings) -> None:
        self.path = path
        self.session = session
        self.last_error: str | None = None
        self.ingested_seq = 0
        self.stored_steps: int | None = None
        """Steps the store holds for the run after the drain, read back by the ingester (None: unknown)."""
        self.lost: list[tuple[int, int]] = []
        """Records of the run log lost to damage (first, last seq): the store holds everything else."""
        self.damaged_tail: tuple[int, int] | None = None
        """Damaged bytes at the end of the run log (start, end offsets), with no record after them."""
        env = dict(os.environ)
        env["PYTHONPATH"] = _pythonpath()
        if settings.base_url is not None:
            target = ["--server", settings.base_url]
            env["RUNYARD_API_KEY"] = settings.api_key or ""  # in the environment: argv is visible to every user
        else:
            target = ["--store-url", settings.store_url]
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runyard.sinks.daemon",
                "--log",
                str(path),
                "--session",
                session,
                *target,
                "--parent",
                str(os.getpid()),
                "--interval",
                repr(settings.ingest_interval),
                "--heartbeat",
                repr(settings.heartbeat_interval),
                "--crash-timeout",
                repr(settings.crash_timeout),
                "--stop-grace",
                repr(settings.stop_grace),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
            start_new_session=True,  # a Ctrl-C in the terminal interrupts training, not the ingester
        )

    def is_alive(self) -> bool:
        return self._proc.poll() is None

    def drain(self, seq: int, timeout: float) -> bool:
        """Ask the process to ingest everything up to ``seq`` and exit; True when it did within ``timeout``."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(f"drain {seq} {timeout}\n".encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.last_error = f"the ingester process exited early (code {proc.poll()})"
            return False
        deadline = time.monotonic() + timeout + 5
        fd = proc.stdout.fileno()
        line = b""
        # A selector, not select(): a process may hold more than 1024 open files.
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while time.monotonic() < deadline and not line.endswith(b"\n"):
                if selector.select(0.5):
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        break
                    line += chunk
        self._close(proc)
        head, _, body = line.decode(errors="replace").partition(" ")
        try:
            report = json.loads(body) if head == "done" else None
        except ValueError:
            report = None
        if not isinstance(report, dict):
            self.last_error = f"the ingester process did not answer (exit code {proc.poll()})"
            return False
        self.ingested_seq = int(report.get("seq") or 0)
        steps = report.get("steps")
        self.stored_steps = steps if type(steps) is int else None
        self.lost = [(int(first), int(last)) for first, last in report.get("lost") or ()]
        tail = report.get("damaged_tail")
        self.damaged_tail = (int(tail[0]), int(tail[1])) if tail else None
        if report.get("ok"):
            return True
        self.last_error = str(report.get("error") or "ingestion did not finish in time")
        return False

    def abandon(self, timeout: float) -> None:
        """The session ends without finishing: let the process store what is left and mark the run crashed."""
        proc = self._proc
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def _close(self, proc: subprocess.Popen[bytes]) -> None:
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
