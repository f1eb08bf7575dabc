"""One ``Settings`` object, built once at the edge (``init()``, the CLI) and passed down.

Precedence: explicit arguments > ``RUNYARD_*`` environment > ``WANDB_*`` environment > defaults. This module is the
only one that reads ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from runyard.credentials import normalize_base_url, process_login, read_login
from runyard.errors import UsageError

_MODES = ("online", "offline", "disabled")
_RESUMES = ("allow", "must", "never", "auto")
_CONSOLE = ("auto", "wrap", "redirect", "off")
# W&B's other console modes, read as the runyard mode that does the same capture.
_CONSOLE_ALIASES = {"wrap_raw": "wrap", "wrap_emu": "wrap"}
_MIN_STATS_INTERVAL = 1.0

# W&B's names for runyard settings (``wandb.Settings(x_disable_stats=True)`` keeps working).
_ALIASES = {
    "x_disable_stats": "disable_stats",
    "_disable_stats": "disable_stats",
    "x_stats_sampling_interval": "stats_sampling_interval",
    "_stats_sampling_interval": "stats_sampling_interval",
    "x_save_requirements": "save_requirements",
    "_save_requirements": "save_requirements",
    "_disable_git": "disable_git",
}

# Environment variables that map to init() parameters. Each is read as RUNYARD_<NAME>, then WANDB_<NAME>.
_ENV_PARAMS = {
    "project": "PROJECT",
    "entity": "ENTITY",
    "name": "NAME",
    "notes": "NOTES",
    "tags": "TAGS",
    "id": "RUN_ID",
    "group": "RUN_GROUP",
    "job_type": "JOB_TYPE",
    "mode": "MODE",
    "dir": "DIR",
    "resume": "RESUME",
    "silent": "SILENT",
}


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Return ``RUNYARD_<name>`` or, failing that, ``WANDB_<name>`` from the environment (empty counts as unset)."""
    env = os.environ if environ is None else environ
    for prefix in ("RUNYARD_", "WANDB_"):
        value = env.get(prefix + name)
        if value:
            return value
    return None


def _parse_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Settings:
    """Settings of a run, as in ``wandb.Settings``.

    Pass one to ``runyard.init(settings=...)``; any field left as ``None`` falls back to the environment, then to
    the default. Unknown keyword arguments (other wandb settings) are accepted and ignored with one warning.

    Attributes:
        mode: "online" (the default: ingest into the store as you log), "offline" (write the run log only; ingest
            later with ``runyard sync``) or "disabled" (every call is a no-op).
        root_dir: folder holding the embedded store and run logs; ``./runyard`` unless ``RUNYARD_DIR`` says otherwise.
        store_url: SQLAlchemy URL of the store; default ``sqlite:///<root_dir>/runyard.db``. A PostgreSQL URL puts
            the runs in a shared database.
        base_url: the runyard server runs are sent to (``http://host:port``); default ``RUNYARD_BASE_URL``, else
            the server of ``runyard login``. When set, runs go to the server over HTTP instead of a store. An
            explicit ``store_url`` (argument or ``RUNYARD_STORE_URL``) wins over a login, not over
            ``RUNYARD_BASE_URL``.
        api_key: the API key for ``base_url``; default ``RUNYARD_API_KEY``, else the key ``runyard login`` kept
            for that server.
        heartbeat_interval: seconds between heartbeats of a running run (default 30).
        crash_timeout: a running run whose heartbeat is older than this many seconds reads ``crashed`` (default 300).
        ingest_interval: seconds the background reader waits between batches when idle (default 0.25).
        keep_run_log: keep a run's log after it has been fully ingested (default False: the store holds the data).
        silent: print nothing.
        console: how console output is captured: "auto" (the default: "redirect" where the standard streams are
            real file descriptors, else "wrap"), "redirect" (at the file-descriptor level, so output of C
            extensions and child processes is captured too), "wrap" (``sys.stdout`` / ``sys.stderr`` writes) or
            "off".
        disable_git: do not record the git commit, branch, remote and dirty state (W&B: ``disable_git``).
        save_requirements: store the installed packages as the run file ``requirements.txt`` (default True;
            W&B: ``x_save_requirements``).
        disable_stats: do not sample system metrics (W&B: ``x_disable_stats``).
        stats_sampling_interval: seconds between system-metrics samples (default 15, at least 1; W&B:
            ``x_stats_sampling_interval``).
    """

    mode: str | None = None
    root_dir: str | None = None
    store_url: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    heartbeat_interval: float | None = None
    crash_timeout: float | None = None
    ingest_interval: float | None = None
    keep_run_log: bool | None = None
    silent: bool | None = None
    console: str | None = None
    disable_git: bool | None = None
    save_requirements: bool | None = None
    disable_stats: bool | None = None
    stats_sampling_interval: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __init__(self, **kwargs: Any) -> None:
        names = {f.name for f in fields(self)} - {"extra"}
        for alias, name in _ALIASES.items():
            if alias in kwargs:
                value = kwargs.pop(alias)
                if kwargs.get(name) is None:
                    kwargs[name] = value
        for name in names:
            setattr(self, name, kwargs.pop(name, None))
        self.extra = kwargs
        if kwargs:
            import warnings

            warnings.warn(
                f"runyard.Settings: ignoring unsupported setting(s) {', '.join(sorted(kwargs))}",
                UserWarning,
                stacklevel=2,
            )

    def resolved(self, environ: Mapping[str, str] | None = None) -> ResolvedSettings:
        """Fill every unset field from the environment, then the defaults, and validate."""
        env = os.environ if environ is None else environ
        mode = (self.mode or env_value("MODE", env) or "online").lower()
        if mode == "dryrun":
            mode = "offline"
        if mode == "run":
            mode = "online"
        if mode not in _MODES:
            raise UsageError(f"mode must be one of {', '.join(_MODES)}; got {mode!r}")
        root = Path(self.root_dir or env_value("DIR", env) or "runyard")
        if self.root_dir is None and env_value("DIR", env) and not env.get("RUNYARD_DIR"):
            # WANDB_DIR names the folder that holds wandb's own "wandb/" folder; keep ours beside it.
            root = root / "runyard"
        store_url = self.store_url or env.get("RUNYARD_STORE_URL") or f"sqlite:///{root.absolute() / 'runyard.db'}"
        console = (self.console or env_value("CONSOLE", env) or "auto").lower()
        console = _CONSOLE_ALIASES.get(console, console)
        if console not in _CONSOLE:
            raise UsageError(f"console must be one of {', '.join(_CONSOLE)}; got {console!r}")
        silent = self.silent if self.silent is not None else _parse_bool(env_value("SILENT", env) or "")
        base_url, api_key, login_entity = self._server(env)
        return ResolvedSettings(
            mode=mode,
            root_dir=root.absolute(),
            store_url=store_url,
            base_url=base_url,
            api_key=api_key,
            login_entity=login_entity,
            heartbeat_interval=_positive(
                "heartbeat_interval", self.heartbeat_interval, env.get("RUNYARD_HEARTBEAT_INTERVAL"), 30.0
            ),
            crash_timeout=_positive("crash_timeout", self.crash_timeout, env.get("RUNYARD_CRASH_TIMEOUT"), 300.0),
            ingest_interval=_positive(
                "ingest_interval", self.ingest_interval, env.get("RUNYARD_INGEST_INTERVAL"), 0.25
            ),
            keep_run_log=bool(
                self.keep_run_log if self.keep_run_log is not None else _parse_bool(env.get("RUNYARD_KEEP_RUN_LOG", ""))
            ),
            silent=silent,
            console=console,
            disable_git=_flag(self.disable_git, env_value("DISABLE_GIT", env), False),
            save_requirements=_flag(self.save_requirements, env_value("SAVE_REQUIREMENTS", env), True),
            disable_stats=_flag(
                self.disable_stats, env.get("RUNYARD_DISABLE_STATS") or env.get("WANDB_X_DISABLE_STATS"), False
            ),
            stats_sampling_interval=_stats_interval(
                self.stats_sampling_interval,
                env.get("RUNYARD_STATS_SAMPLING_INTERVAL") or env.get("WANDB_X_STATS_SAMPLING_INTERVAL"),
            ),
        )

    def _server(self, env: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
        """The server runs go to, its key, and the entity its login named (all None: the store)."""
        if self.base_url is not None and self.store_url is not None:
            raise UsageError("pass Settings(base_url=...) or Settings(store_url=...), not both")
        if self.store_url is not None:
            return None, None, None  # an explicit store wins over every configured server
        process_url, process_key = process_login()
        url = self.base_url or process_url or env.get("RUNYARD_BASE_URL") or None
        login = None
        if url is None:
            if env.get("RUNYARD_STORE_URL"):
                return None, None, None
            login = read_login(env)  # the default server of `runyard login`, if any
            if login is None:
                return None, None, None
            url = login.base_url
        url = normalize_base_url(url)
        key = self.api_key or process_key or env.get("RUNYARD_API_KEY") or None
        if login is None or login.base_url != url:
            login = read_login(env, url)
        if key is None and login is not None:
            key = login.api_key
        return url, key, login.entity if login is not None else None


def _flag(value: bool | None, env: str | None, default: bool) -> bool:
    if value is not None:
        return bool(value)
    return _parse_bool(env) if env else default


def _stats_interval(value: float | None, env: str | None) -> float:
    seconds = _positive("stats_sampling_interval", value, env, 15.0)
    if seconds < _MIN_STATS_INTERVAL:
        import warnings

        warnings.warn(
            f"runyard: stats_sampling_interval {seconds:g} s is below the minimum; sampling every "
            f"{_MIN_STATS_INTERVAL:g} s",
            UserWarning,
            stacklevel=3,
        )
        seconds = _MIN_STATS_INTERVAL
    return seconds


def _positive(name: str, value: float | None, env: str | None, default: float) -> float:
    if value is None and env:
        try:
            value = float(env)
        except ValueError:
            raise UsageError(f"{name} must be a number of seconds; the environment says {env!r}") from None
    if value is None:
        return default
    if value <= 0:
        raise UsageError(f"{name} must be a positive number of seconds; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings with every field decided; built by :meth:`Settings.resolved`."""

    mode: str
    root_dir: Path
    store_url: str
    heartbeat_interval: float
    crash_timeout: float
    ingest_interval: float
    keep_run_log: bool
    silent: bool
    console: str
    disable_git: bool = False
    save_requirements: bool = True
    disable_stats: bool = False
    stats_sampling_interval: float = 15.0
    base_url: str | None = None
    """The runyard server runs go to; None: the store at ``store_url``."""
    api_key: str | None = field(default=None, repr=False)
    login_entity: str | None = None
    """The entity the server named at ``runyard login``: runs' default entity on that server."""

    @property
    def runs_dir(self) -> Path:
        """Where run folders (and their run logs) live."""
        return self.root_dir / "runs"

    def replace(self, **changes: Any) -> ResolvedSettings:
        return dataclasses.replace(self, **changes)


def init_params_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The init() parameters that the environment sets (RUNYARD_* first, then WANDB_*)."""
    out: dict[str, str] = {}
    for param, name in _ENV_PARAMS.items():
        value = env_value(name, environ)
        if value is not None:
            out[param] = value
    return out


def resume_flag(value: object) -> str | None:
    """Normalise wandb's ``resume`` argument (bool or string) to one of allow/must/never/auto or None."""
    if value is None or value is False:
        return None
    if value is True:
        return "auto"
    if isinstance(value, str):
        v = value.lower()
        if v in ("true", "1"):
            return "auto"
        if v in ("false", "0", ""):
            return None
        if v in _RESUMES:
            return v
    raise UsageError(f"resume must be one of {', '.join(_RESUMES)}, True, False or None; got {value!r}")
