"""The stop escalation on real processes: SIGINT, then SIGTERM, then SIGKILL, skipping what a process ignores."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from runyard.sinks.stopper import Stopper, ignored_signals

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

HANDLE = "lambda *a: print('caught', a[0], flush=True)"


def _sleeper(setup: str) -> subprocess.Popen[str]:
    code = f"import signal, time\n{setup}\nprint('ready', flush=True)\ntime.sleep(120)\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _stop(proc: subprocess.Popen[str], grace: float, requests: int = 1) -> Stopper:
    stopper = Stopper(proc.pid, lambda: proc.poll() is None, grace=grace)
    for _ in range(requests):
        stopper.request()
    deadline = time.monotonic() + 30
    while proc.poll() is None:
        assert time.monotonic() < deadline, f"still alive after {stopper.sent}"
        stopper.tick()
        time.sleep(0.05)
    return stopper


def test_sigint_stops_a_plain_python_process() -> None:
    proc = _sleeper("")
    assert _stop(proc, grace=30).sent == [signal.SIGINT]
    assert proc.returncode == -signal.SIGINT  # an uncaught KeyboardInterrupt ends Python by SIGINT


def test_a_process_that_catches_sigint_gets_sigterm_after_the_grace_period() -> None:
    proc = _sleeper(f"signal.signal(signal.SIGINT, {HANDLE})")
    stopper = _stop(proc, grace=0.5)
    assert stopper.sent == [signal.SIGINT, signal.SIGTERM]
    assert proc.returncode == -signal.SIGTERM
    assert proc.stdout is not None and "caught 2" in proc.stdout.read()


def test_asking_again_moves_to_the_next_signal_at_once() -> None:
    proc = _sleeper(f"signal.signal(signal.SIGINT, {HANDLE})")
    stopper = _stop(proc, grace=3600, requests=2)
    assert stopper.sent == [signal.SIGINT, signal.SIGTERM]


def test_ignored_signals_are_skipped() -> None:
    proc = _sleeper("signal.signal(signal.SIGINT, signal.SIG_IGN)")
    assert signal.SIGINT in (ignored_signals(proc.pid) or set())
    assert _stop(proc, grace=3600).sent == [signal.SIGTERM]  # no grace period wasted on SIGINT
    both = _sleeper("signal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)")
    assert _stop(both, grace=3600).sent == [signal.SIGKILL]
    stubborn = _sleeper(f"signal.signal(signal.SIGINT, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, {HANDLE})")
    assert _stop(stubborn, grace=0.5).sent == [signal.SIGTERM, signal.SIGKILL]


def test_nothing_is_sent_to_a_process_that_is_gone() -> None:
    proc = _sleeper("")
    proc.kill()
    proc.wait()
    stopper = Stopper(proc.pid, lambda: proc.poll() is None, grace=0.1)
    stopper.request()
    stopper.tick()
    assert stopper.sent == []
