"""System metrics: a daemon thread that samples the machine and the training process every few seconds.

Each sample is one ``system`` record ``{"t", "runtime", "values"}`` whose keys are the names W&B's own client
reports (its ``wandb-events.jsonl`` rows), with ``system/`` in front of them instead of ``system.``:

=====================================  =======================================================================
``system/cpu``                         CPU utilisation of the whole machine, percent
``system/proc.cpu.percent``            CPU use of the training process, percent of one core (may exceed 100)
``system/proc.cpu.threads``            threads of the training process
``system/memory``                      memory in use on the machine, percent (W&B's older name)
``system/memory_percent``              the same (W&B's current name)
``system/proc.memory.availableMB``     memory available on the machine, MiB
``system/proc.memory.rssMB``           resident memory of the training process, MiB
``system/proc.memory.percent``         the same as a percentage of the machine's memory
``system/disk./.usagePercent``         use of the file system at ``/``, percent
``system/disk./.usageGB``              use of the file system at ``/``, GiB
``system/disk.in``, ``disk.out``       MiB read from / written to disk by the whole machine since the run started
``system/network.sent``, ``.recv``     bytes sent / received by the whole machine since the run started
``system/gpu.N.gpu``                   utilisation of GPU N, percent (NVML)
``system/gpu.N.memory``                time GPU N's memory was busy, percent
``system/gpu.N.memoryAllocated``       memory allocated on GPU N, percent; ``memoryAllocatedBytes`` in bytes
``system/gpu.N.temp``                  temperature of GPU N, °C
``system/gpu.N.powerWatts``            power drawn by GPU N, W; ``powerPercent`` of its power limit
=====================================  =======================================================================

The first sample is taken when the run starts (without the CPU percentages, which need an interval), then one
every ``stats_sampling_interval`` seconds. Sampling never raises into the training process: a probe that fails
is counted, reported once on stderr, and skipped from then on; the rest of the sample is still written.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runyard import records as R
from runyard.sdk.metadata import START_DELAY

if TYPE_CHECKING:
    from runyard.sdk.run import Run

_MB = 1024.0 * 1024.0
_GB = _MB * 1024.0
DISK_PATHS = ("/",)


class SystemSampler:
    """Samples system metrics for ``run`` every ``interval`` seconds on a daemon thread."""

    def __init__(self, run: Run, interval: float) -> None:
        self._run = run
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="runyard-system", daemon=True)
        self._probes: list[tuple[str, Callable[[dict[str, float]], None]]] = []
        self._failed: set[str] = set()
        self._warned = False
        self.errors = 0
        self.samples = 0
        self.sample_seconds = 0.0  # total time spent sampling (not writing), for the curious

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    # -- the thread
    def _main(self) -> None:
        if self._stop.wait(START_DELAY):
            return
        try:
            if not self._setup():
                return
            while True:
                started = time.perf_counter()
                t = time.time()
                values = self.sample()
                self.sample_seconds += time.perf_counter() - started
                self.samples += 1
                if values and not self._write(t, values):
                    return
                if self._stop.wait(self._interval):
                    return
        except Exception as exc:  # never raise into the training process
            self._fail("sampler", exc)
        finally:
            self._teardown()

    def _write(self, t: float, values: dict[str, float]) -> bool:
        run = self._run
        body: R.SystemBody = {"t": t, "runtime": run._runtime_offset + (t - run._start_time), "values": values}
        with run._lock:
            if run._finished or run._foreign or self._stop.is_set():
                return False
            try:
                run._write(R.KIND_SYSTEM, body)
            except OSError:
                pass  # a full disk: this sample is lost (finish() counts it); the next may fit again
        return True

    def sample(self) -> dict[str, float]:
        """One sample: ``system/...`` keys to numbers. Probes that fail are reported once and dropped."""
        values: dict[str, float] = {}
        for name, probe in self._probes:
            if name in self._failed:
                continue
            try:
                probe(values)
            except Exception as exc:
                self._failed.add(name)
                self._fail(name, exc)
        return values

    def _fail(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        if not self._warned:
            self._warned = True
            print(
                f"runyard: system metrics: {what} failed ({type(exc).__name__}: {exc}); it is skipped from now on",
                file=sys.stderr,
            )

    # -- probes
    def _setup(self) -> bool:
        try:
            import psutil
        except ImportError as exc:
            self._fail("psutil import", exc)
            return False
        self._psutil = psutil
        self._proc = psutil.Process(os.getpid())
        self._cpu_primed = False
        self._disk0 = _disk_io(psutil)
        self._net0 = _net_io(psutil)
        self._probes = [
            ("cpu", self._cpu),
            ("memory", self._memory),
            ("process", self._process),
            ("disk usage", self._disk_usage),
            ("disk io", self._disk_io),
            ("network", self._network),
        ]
        self._nvml = _Nvml.open()
        if self._nvml is not None:
            self._probes.append(("gpu", self._nvml.sample))
        return True

    def _teardown(self) -> None:
        nvml = getattr(self, "_nvml", None)
        if nvml is not None:
            nvml.close()

    def _cpu(self, out: dict[str, float]) -> None:
        system = self._psutil.cpu_percent(None)
        proc = self._proc.cpu_percent(None)
        if self._cpu_primed:  # the first call only starts the interval
            out["system/cpu"] = float(system)
            out["system/proc.cpu.percent"] = float(proc)
        self._cpu_primed = True

    def _memory(self, out: dict[str, float]) -> None:
        vm = self._psutil.virtual_memory()
        out["system/memory"] = float(vm.percent)
        out["system/memory_percent"] = float(vm.percent)
        out["system/proc.memory.availableMB"] = vm.available / _MB

    def _process(self, out: dict[str, float]) -> None:
        proc = self._proc
        with proc.oneshot():
            rss = proc.memory_info().rss
            out["system/proc.memory.rssMB"] = rss / _MB
            out["system/proc.memory.percent"] = float(proc.memory_percent())
            out["system/proc.cpu.threads"] = float(proc.num_threads())

    def _disk_usage(self, out: dict[str, float]) -> None:
        for path in DISK_PATHS:
            usage = self._psutil.disk_usage(path)
            out[f"system/disk.{path}.usagePercent"] = float(usage.percent)
            out[f"system/disk.{path}.usageGB"] = usage.used / _GB

    def _disk_io(self, out: dict[str, float]) -> None:
        now = _disk_io(self._psutil)
        if now is not None and self._disk0 is not None:
            out["system/disk.in"] = (now[0] - self._disk0[0]) / _MB
            out["system/disk.out"] = (now[1] - self._disk0[1]) / _MB

    def _network(self, out: dict[str, float]) -> None:
        now = _net_io(self._psutil)
        if now is not None and self._net0 is not None:
            out["system/network.sent"] = float(now[0] - self._net0[0])
            out["system/network.recv"] = float(now[1] - self._net0[1])


def _disk_io(psutil: Any) -> tuple[int, int] | None:
    counters = psutil.disk_io_counters()
    return (int(counters.read_bytes), int(counters.write_bytes)) if counters is not None else None


def _net_io(psutil: Any) -> tuple[int, int] | None:
    counters = psutil.net_io_counters()
    return (int(counters.bytes_sent), int(counters.bytes_recv)) if counters is not None else None


class _Nvml:
    """GPU metrics through NVML (``pip install runyard[gpu]``); absent NVML or no GPU is not an error."""

    def __init__(self, pynvml: Any, handles: list[Any]) -> None:
        self._nvml = pynvml
        self._handles = handles
        self._failed: set[tuple[int, str]] = set()

    @classmethod
    def open(cls) -> _Nvml | None:
        try:
            import pynvml
        except ImportError:
            return None
        try:
            pynvml.nvmlInit()
        except Exception:
            return None
        try:
            count = int(pynvml.nvmlDeviceGetCount())
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception:
            _shutdown(pynvml)
            return None
        if not handles:
            _shutdown(pynvml)
            return None
        return cls(pynvml, handles)

    def sample(self, out: dict[str, float]) -> None:
        nv = self._nvml
        for i, handle in enumerate(self._handles):
            prefix = f"system/gpu.{i}."
            for name, read in _GPU_FIELDS:
                # A field a device does not support (power on some boards, say) is dropped for that device only.
                if (i, name) in self._failed:
                    continue
                try:
                    out.update(read(nv, handle, prefix))
                except Exception:
                    self._failed.add((i, name))

    def close(self) -> None:
        _shutdown(self._nvml)


def _util(nv: Any, handle: Any, prefix: str) -> dict[str, float]:
    rates = nv.nvmlDeviceGetUtilizationRates(handle)
    return {prefix + "gpu": float(rates.gpu), prefix + "memory": float(rates.memory)}


def _mem(nv: Any, handle: Any, prefix: str) -> dict[str, float]:
    info = nv.nvmlDeviceGetMemoryInfo(handle)
    return {
        prefix + "memoryAllocated": 100.0 * info.used / info.total if info.total else 0.0,
        prefix + "memoryAllocatedBytes": float(info.used),
    }


def _temp(nv: Any, handle: Any, prefix: str) -> dict[str, float]:
    return {prefix + "temp": float(nv.nvmlDeviceGetTemperature(handle, 0))}  # 0: NVML_TEMPERATURE_GPU


def _power(nv: Any, handle: Any, prefix: str) -> dict[str, float]:
    watts = nv.nvmlDeviceGetPowerUsage(handle) / 1000.0
    out = {prefix + "powerWatts": watts}
    try:
        limit = nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
        if limit:
            out[prefix + "powerPercent"] = 100.0 * watts / limit
    except Exception:
        pass
    return out


_GPU_FIELDS: tuple[tuple[str, Callable[[Any, Any, str], dict[str, float]]], ...] = (
    ("util", _util),
    ("mem", _mem),
    ("temp", _temp),
    ("power", _power),
)


def _shutdown(pynvml: Any) -> None:
    try:
        pynvml.nvmlShutdown()
    except Exception:
        pass
