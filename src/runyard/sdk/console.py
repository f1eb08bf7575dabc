"""Console capture: what the training process prints, stored as timestamped lines of the run.

Two ways to capture, as in W&B:

``redirect``
    At the file-descriptor level: a pipe (a pseudo-terminal when the stream is a terminal, so programs still see
    one) is ``dup2``-ed over fds 1 and 2. A daemon thread reads it, writes every byte on to the original fd at
    once (the terminal shows exactly what it showed before, in order), and records the lines. Output of C
    extensions and of child processes that inherit the fds is captured too.
``wrap``
    ``write`` of the ``sys.stdout`` / ``sys.stderr`` objects is wrapped: the original ``write`` runs first, then
    the text is split into lines. Only Python-level writes are captured.

``auto`` is ``redirect`` where the platform has file descriptors and ``sys.stdout`` / ``sys.stderr`` write to
fds 1 and 2, else ``wrap``.

A line's stored text is what follows its last ``\\r``, so a progress bar redrawn in place is stored once, in its
final state. Lines are batched into ``console`` records every :data:`FLUSH_INTERVAL` seconds or
:data:`BATCH_LINES` lines, by the capture's own thread; the thread waits for the run's lock for a short while
only, so a training thread that holds the lock while its output fills the pipe can never deadlock with it.
``stop()`` (called by ``finish()``) flushes Python's buffers, restores the fds and streams exactly as they were
(unless someone else has replaced them since), records everything written up to then, and leaves the thread
passing bytes through until every other holder of the pipe (a child process still running) has closed it.
"""

from __future__ import annotations

import atexit
import codecs
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from runyard import records as R

if TYPE_CHECKING:
    from selectors import BaseSelector

    from runyard.sdk.run import Run

FLUSH_INTERVAL = 0.5
BATCH_LINES = 100
MAX_RECORD_LINES = 1000
MAX_LINE = 64 * 1024
_LOCK_WAIT = 0.05
_STOP_WAIT = 5.0
_DRAIN_LIMIT = 2.0
_PTY_QUIET = 0.05
_PIPE_SIZE = 1024 * 1024
_F_SETPIPE_SZ = 1031  # Linux fcntl

_current: ConsoleCapture | None = None
_atexit_installed = False


def choose_mode(setting: str) -> str | None:
    """The capture a ``console`` setting means here: ``"redirect"``, ``"wrap"``, or None for none."""
    if setting == "off":
        return None
    if setting == "wrap":
        return "wrap"
    fds_ok = os.name == "posix" and _fd_open(1) and _fd_open(2)
    if setting == "redirect":
        return "redirect" if fds_ok else "wrap"
    if fds_ok and _writes_to(sys.stdout, 1) and _writes_to(sys.stderr, 2):
        return "redirect"
    return "wrap"


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _writes_to(stream: TextIO | None, fd: int) -> bool:
    try:
        return stream is not None and stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


def install(run: Run, setting: str) -> ConsoleCapture | None:
    """Switch the fds or streams over for ``run`` now; the capture's thread starts with :meth:`ConsoleCapture.start`
    (output written in between waits in the pipe). None when ``setting`` is off or another run captures already."""
    global _current, _atexit_installed
    mode = choose_mode(setting)
    if mode is None:
        return None
    if _current is not None and _current.active and _current._pid == os.getpid():
        return None  # (a forked child's own run captures: what it inherited is its parent's capture)
    capture = ConsoleCapture(run, mode)
    capture.install()
    _current = capture
    if not _atexit_installed:
        _atexit_installed = True
        atexit.register(_stop_at_exit)
    return capture


def _stop_at_exit() -> None:
    # Runs before the exit hook that finishes the run (atexit is LIFO), and also stops the capture of a run
    # that is never finished, so that output written while the interpreter shuts down reaches the terminal.
    capture = _current
    if capture is not None and capture.active and capture._pid == os.getpid():
        capture.stop()


class LineSplitter:
    """Splits a stream of text into lines; a line's text is what follows its last ``\\r``."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        """Add ``text``; return the lines it completed (without their newline)."""
        if "\n" not in text:
            pending = _tail(self._pending + text) if "\r" in text else self._pending + text
            out: list[str] = []
            while len(pending) > MAX_LINE:
                out.append(pending[:MAX_LINE])
                pending = pending[MAX_LINE:]
            self._pending = pending
            return out
        parts = text.split("\n")
        parts[0] = self._pending + parts[0]
        self._pending = ""
        last = parts.pop()
        lines = [_final(p) for p in parts]
        lines.extend(self.feed(last))
        return lines

    def flush(self) -> str | None:
        """The unterminated last line, if it shows anything; the splitter is empty afterwards."""
        line = _final(self._pending)
        self._pending = ""
        return line if line.strip() else None


def _final(text: str) -> str:
    if text.endswith("\r"):
        text = text[:-1]  # "\r\n" ends a line like "\n"
    cut = text.rfind("\r")
    return text[cut + 1 :] if cut >= 0 else text


def _tail(text: str) -> str:
    # Drop whatever an earlier "\r" overwrote; keep a trailing "\r", which may be half of "\r\n".
    end = len(text) - 1 if text.endswith("\r") else len(text)
    cut = text.rfind("\r", 0, end)
    return text[cut + 1 :] if cut >= 0 else text


class _FdRedirect:
    """One fd (1 or 2) pointed at a pipe or pseudo-terminal whose other end the capture thread reads."""

    def __init__(self, fd: int, stream: str) -> None:
        self.fd = fd
        self.stream = stream
        self.saved = os.dup(fd)  # where the output went before: a terminal, a file, pytest's capture...
        self.tee_ok = True
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.is_pty = False
        read_fd = write_fd = -1
        if os.isatty(fd):
            try:
                read_fd, write_fd = _open_pty(self.saved)
                self.is_pty = True
            except Exception:
                read_fd = write_fd = -1
        if read_fd < 0:
            read_fd, write_fd = os.pipe()
            try:
                import fcntl

                fcntl.fcntl(write_fd, _F_SETPIPE_SZ, _PIPE_SIZE)
            except Exception:
                pass
        self.read_fd = read_fd
        self.write_fd: int | None = write_fd  # kept open until stop() has read everything written before it
        os.set_blocking(read_fd, False)
        st = os.fstat(write_fd)
        self.ident = (st.st_dev, st.st_ino)
        os.dup2(write_fd, fd)

    def restore(self) -> None:
        """Point the fd back where it went before, unless something else has replaced our pipe since."""
        try:
            st = os.fstat(self.fd)
            if (st.st_dev, st.st_ino) == self.ident:
                os.dup2(self.saved, self.fd)
        except OSError:
            pass

    def close_write_end(self) -> None:
        if self.write_fd is not None:
            _close(self.write_fd)
            self.write_fd = None

    def tee(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self.tee_ok:
            try:
                n = os.write(self.saved, view)
            except InterruptedError:
                continue
            except BlockingIOError:  # the original fd was non-blocking and is full
                time.sleep(0.005)
                continue
            except OSError:
                self.tee_ok = False  # e.g. the terminal's reader is gone; keep recording
                return
            view = view[n:]

    def close(self) -> None:
        self.close_write_end()
        _close(self.read_fd)
        _close(self.saved)


def _open_pty(like: int) -> tuple[int, int]:
    import fcntl
    import termios

    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # pass bytes through unchanged ("\n" stays "\n", not "\r\n")
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        try:
            size = fcntl.ioctl(like, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
        except OSError:
            pass
    except Exception:
        _close(master)
        _close(slave)
        raise
    return master, slave


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class _StreamWrap:
    """Wraps ``write`` of one stream object (as an instance attribute, so every reference to it is captured)."""

    def __init__(self, obj: Any, stream: str, feed: Callable[[str, str], None], run: Run) -> None:
        self.obj = obj
        instance = getattr(obj, "__dict__", None)
        self.prev = instance.get("write") if instance is not None else None
        self.had_own = instance is not None and "write" in instance
        original = obj.write

        def write(text: Any) -> Any:
            n = original(text)
            if not run._foreign and type(text) is str:
                feed(stream, text)
            return n

        self.write = write
        obj.write = write  # raises AttributeError for objects that take no attributes

    def restore(self) -> None:
        instance = getattr(self.obj, "__dict__", None)
        if instance is None or instance.get("write") is not self.write:
            return  # someone wrapped it again after us: leave their wrapper in place
        try:
            if self.had_own:
                self.obj.write = self.prev
            else:
                del self.obj.write
        except AttributeError:
            pass


class ConsoleCapture:
    """Captures the process's console output into ``run``'s ``console`` records."""

    def __init__(self, run: Run, mode: str) -> None:
        self._run = run
        self.mode = mode
        self._pid = os.getpid()
        self._lines: list[list[Any]] = []  # [t, stream, text], completed and not yet written
        self._buf_lock = threading.Lock()
        self._splitters = {"stdout": LineSplitter(), "stderr": LineSplitter()}
        self._redirects: list[_FdRedirect] = []
        self._wraps: list[_StreamWrap] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._woken = False
        self._stop_requested = False
        self._drained = threading.Event()
        self._thread = threading.Thread(target=self._main, name="runyard-console", daemon=True)
        self._start_lock = threading.Lock()
        self._started = False
        self.active = False
        self.errors = 0
        self.last_error: str | None = None

    # -- starting and stopping
    def install(self) -> None:
        """Point the fds (or the streams' ``write``) at the capture."""
        _flush_python_streams()
        if self.mode == "redirect":
            try:
                for fd, stream in ((1, "stdout"), (2, "stderr")):
                    self._redirects.append(_FdRedirect(fd, stream))
            except OSError as exc:
                self._undo_redirects()
                self.mode = "wrap"
                self._note_error(exc)
        if self.mode == "wrap":
            for name in ("stdout", "stderr"):
                obj = getattr(sys, name)
                if obj is None:
                    continue
                try:
                    self._wraps.append(_StreamWrap(obj, name, self._feed, self._run))
                except (AttributeError, TypeError) as exc:
                    self._note_error(exc)
        self.active = True

    def start(self) -> None:
        """Start the thread that reads, passes on and records the output (once; later calls do nothing)."""
        with self._start_lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def _undo_redirects(self) -> None:
        for red in reversed(self._redirects):
            red.restore()
            red.close()
        self._redirects.clear()

    def stop(self) -> None:
        """Record everything printed so far, restore the fds and streams, and stop recording."""
        if not self.active:
            return
        self.active = False
        _flush_python_streams()
        for wrap in self._wraps:
            wrap.restore()
        for red in reversed(self._redirects):
            red.restore()
        self._stop_requested = True
        self._wake()
        if threading.current_thread() is not self._thread:
            self.start()  # the thread records what is still in the pipes, even if it was never started
            self._drained.wait(_STOP_WAIT)

    # -- the capture thread
    def _main(self) -> None:
        try:
            self._loop()
        except Exception as exc:
            # Never leave the fds pointing at a pipe nobody reads: the process would block on its next print.
            self._note_error(exc)
            self.active = False
            for wrap in self._wraps:
                wrap.restore()
            for red in reversed(self._redirects):
                red.restore()
        finally:
            self._drained.set()

    def _loop(self) -> None:
        import selectors  # here, on the capture's thread: not on import runyard's path

        reds = {red.read_fd: red for red in self._redirects}
        # A selector, not select(): a process with many open files may get fds above select()'s limit of 1024.
        with selectors.DefaultSelector() as selector:
            for fd in [*reds, self._wake_r]:
                selector.register(fd, selectors.EVENT_READ)
            next_flush = time.monotonic() + FLUSH_INTERVAL
            recording = True
            while True:
                timeout = max(0.0, next_flush - time.monotonic()) if recording else None
                for key, _ in selector.select(timeout):
                    fd = key.fd
                    if fd == self._wake_r:
                        self._clear_wake()
                    elif fd in reds and not self._pump(reds[fd], recording):
                        selector.unregister(fd)
                        del reds[fd]
                if recording and self._stop_requested:
                    self._drain(selector, reds)
                    self._flush_splitters()
                    self._write_lines(final=True)
                    recording = False
                    for red in self._redirects:
                        red.close_write_end()
                    self._drained.set()
                elif recording and (time.monotonic() >= next_flush or len(self._lines) >= BATCH_LINES):
                    self._write_lines(final=False)
                    next_flush = time.monotonic() + FLUSH_INTERVAL
                if not recording and not reds:
                    break
        for red in self._redirects:
            red.close()
        _close(self._wake_r)
        _close(self._wake_w)

    def _pump(self, red: _FdRedirect, recording: bool) -> bool:
        """Read what is there, pass it on, record it; False at end of file (every writer has closed)."""
        try:
            data = os.read(red.read_fd, 65536)
        except BlockingIOError:
            return True
        except InterruptedError:
            return True
        except OSError:
            data = b""  # EIO: a pseudo-terminal whose every slave end is closed
        if not data:
            return False
        red.tee(data)
        if recording:
            self._feed(red.stream, red.decoder.decode(data))
        return True

    def _drain(self, selector: BaseSelector, reds: dict[int, _FdRedirect]) -> None:
        # Everything written before stop() is in the pipes now (a pseudo-terminal may hand it over a moment
        # later); read until they are quiet, for a bounded time in case a child process keeps writing.
        deadline = time.monotonic() + _DRAIN_LIMIT
        quiet = _PTY_QUIET if any(red.is_pty for red in reds.values()) else 0.0
        while reds and time.monotonic() < deadline:
            ready = [key.fd for key, _ in selector.select(quiet) if key.fd in reds]
            if not ready:
                break
            for fd in ready:
                if not self._pump(reds[fd], True):
                    selector.unregister(fd)
                    del reds[fd]

    def _feed(self, stream: str, text: str) -> None:
        if not text:
            return
        with self._buf_lock:
            lines = self._splitters[stream].feed(text)
            if not lines:
                return
            t = time.time()
            self._lines.extend([t, stream, line] for line in lines)
            full = len(self._lines) >= BATCH_LINES
        if full and threading.current_thread() is not self._thread:
            self._wake()

    def _flush_splitters(self) -> None:
        with self._buf_lock:
            for stream, splitter in self._splitters.items():
                line = splitter.flush()
                if line is not None:
                    self._lines.append([time.time(), stream, line])

    def _write_lines(self, *, final: bool) -> None:
        with self._buf_lock:
            lines, self._lines = self._lines, []
            self._woken = False
        if not lines:
            return
        run = self._run
        # Wait for the run's lock only briefly: the thread holding it may be blocked writing to our full pipe.
        if not run._lock.acquire(timeout=_STOP_WAIT if final else _LOCK_WAIT):
            with self._buf_lock:
                self._lines[:0] = lines
            return
        try:
            if run._finished or run._foreign:
                return
            for i in range(0, len(lines), MAX_RECORD_LINES):
                batch = lines[i : i + MAX_RECORD_LINES]
                try:
                    run._write(R.KIND_CONSOLE, {"lines": batch})
                except TypeError:  # text msgpack cannot encode (lone surrogates written to a wrapped stream)
                    clean = [[t, stream, text.encode("utf-8", "replace").decode()] for t, stream, text in batch]
                    run._write(R.KIND_CONSOLE, {"lines": clean})
        except Exception as exc:
            self._note_error(exc)
        finally:
            run._lock.release()

    def _wake(self) -> None:
        if self._woken and not self._stop_requested:
            return
        self._woken = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _clear_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except OSError:
            pass

    def _note_error(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"


def _flush_python_streams() -> None:
    for stream in {id(s): s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)}.values():
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
