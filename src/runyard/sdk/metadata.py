"""Where and how a run ran: host, OS, Python, command, hardware, versions and git state.

``init()`` writes the cheap fields at once (one ``metadata`` record, well under a millisecond) and starts
:class:`MetadataProbe`, a daemon thread that runs the slow probes — ``git`` subprocesses, the installed packages,
the CPU model, physical cores, GPUs through NVML — and writes a second ``metadata`` record and the run file
``requirements.txt``. ``finish()`` waits for the probe for a bounded time; a probe still running then is dropped.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

from runyard import records as R

if TYPE_CHECKING:
    from runyard.sdk.run import Run

_GIT_TIMEOUT = 5.0
_FINISH_WAIT = 5.0
# The probe lets init() return before it competes for the GIL: a new thread that starts with CPU work holds
# the GIL for up to a switch interval (5 ms) while the thread that started it waits.
START_DELAY = 0.05
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy"}


def quick_metadata(run: Run, username: str, host: str) -> R.MetadataBody:
    """The fields that cost microseconds; everything else comes from :class:`MetadataProbe`."""
    from runyard import __version__

    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    argv = list(sys.orig_argv or [sys.executable, *sys.argv])
    body: R.MetadataBody = {
        "host": host,
        "python": f"{_IMPLEMENTATIONS.get(sys.implementation.name, sys.implementation.name)} {_python_version()}",
        "executable": sys.executable,
        "program": os.path.abspath(main_file) if main_file else "<python with no main file>",
        "args": list(sys.argv[1:]),
        "command": " ".join(_quote(arg) for arg in argv),
        "cwd": _cwd(),
        "username": username,
        "cpu_count_logical": os.cpu_count(),
        "runyard_version": __version__,
        "started_at": run.start_time,
    }
    memory = _sysconf_memory()
    if memory:
        body["memory_total"] = memory
    return body


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def _quote(arg: str) -> str:
    """``shlex.quote`` without importing shlex (and re) on init()'s path."""
    if arg and all(c in _SAFE for c in arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _python_version() -> str:
    v = sys.version_info
    return f"{v.major}.{v.minor}.{v.micro}" + ("" if v.releaselevel == "final" else f"{v.releaselevel[0]}{v.serial}")


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def _sysconf_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


class MetadataProbe:
    """A daemon thread that gathers the slow metadata and writes it to the run log."""

    def __init__(self, run: Run, *, git: bool, requirements: bool) -> None:
        self._run = run
        self._git = git
        self._requirements = requirements
        self._cwd = _cwd()
        self._go = threading.Event()
        self._thread = threading.Thread(target=self._main, name="runyard-metadata", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the probe has written its records; False when it is still running after ``timeout``
        (default: a few seconds)."""
        self._go.set()
        self._thread.join(_FINISH_WAIT if timeout is None else timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        self._go.wait(START_DELAY)
        try:
            body = slow_metadata(self._cwd, git=self._git)
            self._write(R.KIND_METADATA, body)
            if self._requirements:
                content = requirements_txt().encode()
                self._write(R.KIND_FILE, {"name": "requirements.txt", "content": content})
        except Exception as exc:  # never raise into the training process; the run simply has less metadata
            print(f"runyard: could not gather the run's metadata: {exc!r}", file=sys.stderr)

    def _write(self, kind: str, body: Any) -> None:
        run = self._run
        with run._lock:
            if not run._finished and not run._foreign:
                run._write(kind, body)


def slow_metadata(cwd: str | None, *, git: bool) -> R.MetadataBody:
    """The fields that need a subprocess, a file read or a library: OS string, CPU, memory, GPUs, git."""
    body: R.MetadataBody = dict(machine_metadata())
    if "cuda" not in body:
        torch = sys.modules.get("torch")
        cuda = getattr(getattr(torch, "version", None), "cuda", None)
        if isinstance(cuda, str):
            body["cuda"] = cuda
    if git and cwd is not None:
        info = git_info(cwd)
        if info is not None:
            body["git"] = info
    return body


@functools.lru_cache(maxsize=1)
def machine_metadata() -> dict[str, Any]:
    """OS string, CPU model and counts, memory and GPUs: gathered once per process (they do not change)."""
    import platform

    body: dict[str, Any] = {"os": platform.platform()}
    cpu_model = _cpu_model()
    if cpu_model:
        body["cpu_model"] = cpu_model
    body.update(_psutil_fields())
    body.update(gpu_metadata())
    return body


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Processor", "cpu model", "Model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        out = _run(["sysctl", "-n", "machdep.cpu.brand_string"], None)
        if out:
            return out
    import platform

    return platform.processor() or None


def _psutil_fields() -> dict[str, Any]:
    try:
        import psutil
    except ImportError:
        return {}
    out: dict[str, Any] = {}
    try:
        physical = psutil.cpu_count(logical=False)
        if physical:
            out["cpu_count"] = physical
        out["memory_total"] = int(psutil.virtual_memory().total)
    except Exception:
        pass
    return out


def gpu_metadata() -> dict[str, Any]:
    """GPU model, count, per-device memory and driver, and the CUDA version, through NVML (``nvidia-ml-py``).

    Returns nothing when NVML is not installed or finds no driver: a machine without a GPU is not an error.
    """
    try:
        import pynvml
    except ImportError:
        return {}
    try:
        pynvml.nvmlInit()
    except Exception:
        return {}
    try:
        count = int(pynvml.nvmlDeviceGetCount())
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        devices = []
        for i in range(count):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            devices.append(
                {
                    "name": _text(pynvml.nvmlDeviceGetName(handle)),
                    "memory_total": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
                    "driver": driver,
                }
            )
        out: dict[str, Any] = {"gpu_count": count, "gpu_devices": devices}
        if devices:
            out["gpu"] = devices[0]["name"]
        try:
            version = int(pynvml.nvmlSystemGetCudaDriverVersion_v2())
            out["cuda"] = f"{version // 1000}.{version % 1000 // 10}"
        except Exception:
            pass
        return out
    except Exception:
        return {}
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def git_info(cwd: str) -> dict[str, Any] | None:
    """``{commit, branch, remote, dirty}`` of the repository holding ``cwd``; None outside one (or without git).

    ``commit`` is None before the first commit, ``branch`` None on a detached HEAD, ``remote`` the URL of
    ``origin`` (any password removed) or None, ``dirty`` True when tracked files have uncommitted changes.
    """
    if _run(["git", "rev-parse", "--is-inside-work-tree"], cwd) != "true":
        return None
    commit = _run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd)
    branch = _run(["git", "symbolic-ref", "--quiet", "--short", "HEAD"], cwd)
    remote = _run(["git", "config", "--get", "remote.origin.url"], cwd)
    # --no-optional-locks: `git status` must not take the index lock from under the user's own git commands.
    status = _run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"], cwd)
    return {
        "commit": commit or None,
        "branch": branch or None,
        "remote": _strip_password(remote) if remote else None,
        "dirty": bool(status),
    }


def _strip_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _run(cmd: list[str], cwd: str | None) -> str | None:
    """Run a short command; its stripped stdout, or None when it fails, is missing, or takes too long."""

    try:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode(errors="replace").strip()


# What pip freeze lists, read the way importlib.metadata finds distributions (a *.dist-info or *.egg-info entry
# in a sys.path folder) but reading only the first lines of each metadata file, where Name and Version sit.
# importlib.metadata parses every header with the email package: tens of milliseconds of GIL-holding work
# in the training process, or a child interpreter of ~17 MB. This is a directory listing and a small read per
# distribution, each read releasing the GIL: about a millisecond for a hundred distributions.
_HEAD_BYTES = 2048


@functools.lru_cache(maxsize=1)
def requirements_txt() -> str:
    """The installed distributions as ``name==version`` lines, sorted case-insensitively, like ``pip freeze``.

    The first distribution of a name on ``sys.path`` wins (the one Python imports). Gathered once per process:
    later runs of the same process (a sweep, say) reuse it.
    """
    seen: dict[str, str] = {}
    for entry in sys.path:
        folder = entry or os.getcwd()
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue  # a zip file, or a path that does not exist
        for name in names:
            found = _distribution(os.path.join(folder, name))
            if found is not None:
                key = found[0].lower().replace("_", "-").replace(".", "-")
                seen.setdefault(key, f"{found[0]}=={found[1]}")
    return "".join(line + "\n" for _, line in sorted(seen.items()))


def _distribution(path: str) -> tuple[str, str] | None:
    """``(name, version)`` of a ``*.dist-info``/``*.egg-info`` entry, from its metadata file's headers."""
    if path.endswith(".dist-info"):
        meta = os.path.join(path, "METADATA")
    elif path.endswith(".egg-info"):
        meta = path if os.path.isfile(path) else os.path.join(path, "PKG-INFO")
    else:
        return None
    try:
        with open(meta, "rb") as fh:
            head = fh.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    name = version = ""
    for line in head.splitlines():
        if not line.strip():
            break  # the headers end at the first blank line
        if line.startswith("Name:") and not name:
            name = line[5:].strip()
        elif line.startswith("Version:") and not version:
            version = line[8:].strip()
        if name and version:
            return name, version
    return None
