"""Where and how a run ran: the metadata init() records, git state, and the installed packages."""

from __future__ import annotations

import getpass
import os
import platform
import shlex
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

import runyard
from runyard.runlog import read_all
from runyard.sdk import metadata


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit on branch ``main`` and an ``origin`` remote."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    git(path, "symbolic-ref", "HEAD", "refs/heads/main")
    (path / "model.py").write_text("layers = 2\n")
    git(path, "add", "model.py")
    git(path, "commit", "-q", "-m", "first")
    git(path, "remote", "add", "origin", "https://alice:s3cret@git.example.com/team/model.git")
    return path


def test_metadata_describes_the_machine_and_the_process(stored):
    run = runyard.init(config={"lr": 0.1})
    run.finish()
    meta = stored.run(run).metadata
    assert meta["host"] == socket.gethostname()
    assert meta["os"] == platform.platform()
    assert meta["python"] == f"{platform.python_implementation()} {platform.python_version()}"
    assert meta["executable"] == sys.executable
    assert meta["command"] == shlex.join(sys.orig_argv)
    assert meta["args"] == sys.argv[1:]
    assert meta["cwd"] == os.getcwd()
    assert meta["username"] == getpass.getuser()
    assert meta["cpu_count"] == psutil.cpu_count(logical=False)
    assert meta["cpu_count_logical"] == os.cpu_count()
    assert meta["memory_total"] == psutil.virtual_memory().total
    assert meta["runyard_version"] == runyard.__version__
    assert meta["started_at"] == run.start_time
    if sys.platform == "linux":
        assert meta["cpu_model"] and isinstance(meta["cpu_model"], str)
    assert "git" not in meta  # the working directory is not in a repository
    assert "gpu" not in meta and "gpu_count" not in meta  # no NVML here: not an error, just no GPU fields


def test_git_state_of_the_script_s_repository(repo, isolated_root, stored, entity):
    (repo / "model.py").write_text("layers = 3\n")  # an uncommitted change: the tree is dirty
    script = repo / "train.py"
    script.write_text("import runyard\nrunyard.init(project='git').finish()\n")
    done = subprocess.run(
        [sys.executable, "train.py", "--lr", "0.1"], cwd=repo, env=dict(os.environ), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    store = stored.store(isolated_root)
    [record] = store.list_runs(entity, "git")
    meta = record.metadata
    assert meta["git"] == {
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "remote": "https://alice@git.example.com/team/model.git",  # the password is never stored
        "dirty": True,
    }
    assert meta["program"] == str(script)
    assert meta["args"] == ["--lr", "0.1"]
    assert meta["command"] == shlex.join([sys.executable, "train.py", "--lr", "0.1"])
    assert meta["cwd"] == str(repo)


def test_a_clean_tree_with_untracked_files_is_not_dirty(repo, monkeypatch, stored):
    (repo / "notes.txt").write_text("untracked\n")
    monkeypatch.chdir(repo)
    run = runyard.init()
    run.finish()
    assert stored.run(run).metadata["git"]["dirty"] is False


def test_requirements_list_what_importlib_metadata_finds(tmp_path, monkeypatch):
    # The scan reads only the first lines of each distribution's metadata; it must list what the full parser
    # does, including a distribution earlier on sys.path shadowing a later one, and an egg-info file.
    from importlib import metadata as importlib_metadata

    shadow = tmp_path / "shadow"
    (shadow / "psutil-0.0.1.dist-info").mkdir(parents=True)
    (shadow / "psutil-0.0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: psutil\nVersion: 0.0.1\n")
    (shadow / "Old_Style-1.2.egg-info").write_text("Metadata-Version: 1.0\nName: Old_Style\nVersion: 1.2\n\nbody\n")
    (shadow / "broken-1.0.dist-info").mkdir()  # no METADATA: skipped by both
    monkeypatch.syspath_prepend(str(shadow))
    metadata.requirements_txt.cache_clear()
    try:
        found = metadata.requirements_txt()
    finally:
        metadata.requirements_txt.cache_clear()
    seen: dict[str, str] = {}
    for dist in importlib_metadata.distributions():
        name, version = dist.metadata["Name"], dist.version
        if name and version:
            seen.setdefault(_key(name), f"{name}=={version}")
    assert found == "".join(line + "\n" for _, line in sorted(seen.items()))
    assert "psutil==0.0.1\n" in found and "Old_Style==1.2\n" in found


@pytest.mark.parametrize(
    ("settings", "env"),
    [
        ({"disable_git": True}, {}),
        ({}, {"RUNYARD_DISABLE_GIT": "true"}),
        ({}, {"WANDB_DISABLE_GIT": "true"}),
    ],
)
def test_disable_git(repo, monkeypatch, stored, settings, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(repo)
    run = runyard.init(settings=settings)
    run.finish()
    meta = stored.run(run).metadata
    assert "git" not in meta
    assert meta["host"] == socket.gethostname()  # everything else is still recorded


def _key(line: str) -> str:
    return line.split("==")[0].lower().replace("_", "-").replace(".", "-")


def test_requirements_lists_the_installed_packages(stored):
    run = runyard.init()
    run.finish()
    content = stored.store(run).file_content(run.entity, run.project, run.id, "requirements.txt")
    assert content is not None
    lines = content.decode().splitlines()
    assert all(line.count("==") == 1 for line in lines)
    assert lines == sorted(lines, key=_key)
    assert len({_key(line) for line in lines}) == len(lines)
    assert f"runyard=={runyard.__version__}" in lines
    assert f"psutil=={psutil.__version__}" in lines
    assert f"pytest=={pytest.__version__}" in lines


@pytest.mark.parametrize(
    ("settings", "env"),
    [
        ({"save_requirements": False}, {}),
        ({"x_save_requirements": False}, {}),
        ({}, {"RUNYARD_SAVE_REQUIREMENTS": "false"}),
    ],
)
def test_save_requirements_off(monkeypatch, stored, settings, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run = runyard.init(settings=settings)
    run.finish()
    store = stored.store(run)
    assert store.file_content(run.entity, run.project, run.id, "requirements.txt") is None
    assert store.get_run(run.entity, run.project, run.id).metadata["host"] == socket.gethostname()


def test_offline_runs_keep_metadata_in_the_run_log_and_sync_it(repo, tmp_path, isolated_root, stored, entity):
    script = repo / "train.py"
    script.write_text("import runyard\nrun = runyard.init(project='off', mode='offline')\nrun.finish()\n")
    done = subprocess.run([sys.executable, "train.py"], cwd=repo, env=dict(os.environ), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    [log_path] = (isolated_root / "runs").glob("offline-run-*/*.rylog")
    records = read_all(log_path)
    kinds = [kind for _, kind, _ in records]
    assert kinds[:2] == ["start", "metadata"]
    assert kinds.count("metadata") == 2 and "file" in kinds and kinds[-1] == "exit"

    sync = subprocess.run(
        [sys.executable, "-m", "runyard.cli", "sync", str(log_path), "--dir", str(isolated_root.parent)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sync.returncode == 0, sync.stderr
    store = stored.store(isolated_root)
    [record] = store.list_runs(entity, "off")
    assert record.metadata["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert record.metadata["program"] == str(script)
    assert store.file_content(entity, "off", record.run_id, "requirements.txt")


def test_disabled_runs_record_no_metadata(isolated_root):
    run = runyard.init(mode="disabled")
    assert run._metadata_probe is None and run._sampler is None
    run.finish()
    assert not isolated_root.exists()


# -- GPUs, through a stand-in for NVML (this machine has none) -----------------------------------------------


class FakeNvml(types.ModuleType):
    """Just enough of ``pynvml`` (nvidia-ml-py) for two H100s."""

    def __init__(self) -> None:
        super().__init__("pynvml")
        self.inits = 0

    def nvmlInit(self) -> None:
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.inits -= 1

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return 12040

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(total=80 * 2**30, used=(handle + 1) * 2**30, free=0)

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(gpu=90 + handle, memory=40)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return 60

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        if handle == 1:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return 350_000  # milliwatts

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return 700_000


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    nvml = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    metadata.machine_metadata.cache_clear()  # hardware is probed once per process
    yield nvml
    metadata.machine_metadata.cache_clear()


def test_gpus_are_described_through_nvml(fake_nvml, stored):
    run = runyard.init(settings={"stats_sampling_interval": 1})
    time.sleep(0.5)  # the first sample is taken just after init
    run.finish()
    meta = stored.run(run).metadata
    assert meta["gpu"] == "NVIDIA H100 80GB HBM3"
    assert meta["gpu_count"] == 2
    assert meta["gpu_devices"] == [
        {"name": "NVIDIA H100 80GB HBM3", "memory_total": 80 * 2**30, "driver": "550.54.15"},
        {"name": "NVIDIA H100 80GB HBM3", "memory_total": 80 * 2**30, "driver": "550.54.15"},
    ]
    assert meta["cuda"] == "12.4"
    [sample] = stored.store(run).system_history(run.entity, run.project, run.id)
    assert sample["system/gpu.0.gpu"] == 90
    assert sample["system/gpu.1.gpu"] == 91
    assert sample["system/gpu.0.memory"] == 40
    assert sample["system/gpu.0.memoryAllocated"] == pytest.approx(100 / 80)
    assert sample["system/gpu.1.memoryAllocatedBytes"] == 2 * 2**30
    assert sample["system/gpu.0.temp"] == 60
    assert sample["system/gpu.0.powerWatts"] == 350
    assert sample["system/gpu.0.powerPercent"] == 50
    assert "system/gpu.1.powerWatts" not in sample  # unsupported on that board: left out, the rest is kept
    assert fake_nvml.inits == 0  # every nvmlInit was matched by nvmlShutdown


def test_a_broken_nvml_is_not_an_error(monkeypatch, stored, capsys):
    nvml = FakeNvml()

    def no_driver() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    nvml.nvmlInit = no_driver  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    metadata.machine_metadata.cache_clear()
    try:
        run = runyard.init(settings={"stats_sampling_interval": 1})
        time.sleep(0.5)
        run.finish()
    finally:
        metadata.machine_metadata.cache_clear()
    meta = stored.run(run).metadata
    assert "gpu_count" not in meta
    assert "runyard" not in capsys.readouterr().err
    rows = stored.store(run).system_history(run.entity, run.project, run.id)
    assert rows and not any(key.startswith("system/gpu") for row in rows for key in row)


def test_cuda_version_from_torch_when_nvml_has_none(monkeypatch, stored):
    torch = types.SimpleNamespace(version=types.SimpleNamespace(cuda="12.1"))
    monkeypatch.setitem(sys.modules, "torch", torch)
    run = runyard.init()
    run.finish()
    assert stored.run(run).metadata["cuda"] == "12.1"


def test_init_returns_before_the_slow_probes(repo, monkeypatch, stored):
    # Git and the package list are gathered on a background thread: init() itself stays fast.
    monkeypatch.chdir(repo)
    seen = []
    slow = metadata.git_info

    def watched(cwd: str):
        seen.append(runyard.run is not None)  # init() has already returned when the probe runs
        return slow(cwd)

    monkeypatch.setattr(metadata, "git_info", watched)
    run = runyard.init()
    run.finish()
    assert seen == [True]
    assert stored.run(run).metadata["git"]["branch"] == "main"


def test_slow_metadata_is_left_out_if_finish_cannot_wait(monkeypatch, stored, capsys):
    monkeypatch.delenv("RUNYARD_SILENT")
    monkeypatch.setattr(metadata, "_FINISH_WAIT", 0.2)
    release = threading.Event()
    monkeypatch.setattr(metadata, "git_info", lambda cwd: release.wait(10) and None)
    run = runyard.init()
    run.finish()
    release.set()
    assert "took too long" in capsys.readouterr().err
    meta = stored.run(run).metadata
    assert meta["host"] == socket.gethostname()  # the fields written at init are there
    assert "os" not in meta


def test_a_python_c_run_has_no_main_file(tmp_path):
    # The program of a `python -c` run has no main file.
    code = textwrap.dedent(
        """
        import runyard
        run = runyard.init(mode="offline")
        run.finish()
        print(run.run_log_path)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    records = read_all(Path(done.stdout.splitlines()[-1]))
    first = next(body for _, kind, body in records if kind == "metadata")
    assert first["program"] == "<python with no main file>"
    assert first["command"] == shlex.join([sys.executable, "-c", code])


@given(st.lists(st.text(max_size=12), max_size=5))
def test_the_command_line_is_quoted_like_shlex(argv):
    assert " ".join(metadata._quote(arg) for arg in argv) == shlex.join(argv)
