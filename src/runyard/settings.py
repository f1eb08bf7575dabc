"""One ``Settings`` object, built once at the edge (``init()``, the CLI) and passed down.

Precedence: explicit arguments > ``RUNYARD_*`` environment > ``WANDB_*`` environment > defaults. This module is the
only one that reads ``os.environ``.
"""

from __future__ import annotations

import copy
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

DATA_FOLDER = "runyard"
"""The name of runyard's data folder, made inside the ``dir`` folder (W&B's is ``wandb``)."""

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
        root_dir: the folder in which runyard keeps its data folder ``runyard/`` (the SQLite store and the run
            logs), as W&B keeps ``wandb/`` in its ``root_dir``: ``init(dir=...)``, ``RUNYARD_DIR`` /
            ``WANDB_DIR`` and the commands' ``--dir`` all name this folder. Default: the current folder.
        store_url: SQLAlchemy URL of the store; default ``sqlite:///<root_dir>/runyard/runyard.db``. A PostgreSQL
            URL puts the runs in a shared database.
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
        stop_grace: seconds a training process has to stop after each signal when the run is stopped from the
            web app (SIGINT, then SIGTERM, then SIGKILL; default 30): raise it for a script that saves a long
            checkpoint on KeyboardInterrupt.
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
    stop_grace: float | None = None
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

    def over(self, defaults: Settings) -> Settings:
        """A copy of these settings whose unset fields take their values from ``defaults``."""
        merged = copy.copy(defaults)  # not Settings(...): the defaults' unknown settings warned once already
        # A destination given here replaces the defaults' one: a store and a server cannot both be set.
        if self.base_url is not None:
            merged.store_url = None
        if self.store_url is not None:
            merged.base_url = merged.api_key = None
        for f in fields(self):
            if f.name == "extra":
                merged.extra = {**defaults.extra, **self.extra}
            elif getattr(self, f.name) is not None:
                setattr(merged, f.name, getattr(self, f.name))
        return merged

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
        # One meaning everywhere, W&B's: "dir" is the folder that holds the data folder (wandb/ for W&B).
        root = Path(os.fspath(self.root_dir or env_value("DIR", env) or ".")).expanduser().absolute()
        store_url = self.store_url or env.get("RUNYARD_STORE_URL") or f"sqlite:///{root / DATA_FOLDER / 'runyard.db'}"
        console = (self.console or env_value("CONSOLE", env) or "auto").lower()
        console = _CONSOLE_ALIASES.get(console, console)
        if console not in _CONSOLE:
            raise UsageError(f"console must be one of {', '.join(_CONSOLE)}; got {console!r}")
        silent = self.silent if self.silent is not None else _parse_bool(env_value("SILENT", env) or "")
        base_url, api_key, login_entity = self._server(env)
        return ResolvedSettings(
            mode=mode,
            dir=root,
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
            stop_grace=_positive("stop_grace", self.stop_grace, env.get("RUNYARD_STOP_GRACE"), 30.0),
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
    dir: Path
    """The folder that holds the data folder (``init(dir=...)``, ``RUNYARD_DIR``, ``--dir``; absolute)."""
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
    stop_grace: float = 30.0
    base_url: str | None = None
    """The runyard server runs go to; None: the store at ``store_url``."""
    api_key: str | None = field(default=None, repr=False)
    login_entity: str | None = None
    """The entity the server named at ``runyard login``: runs' default entity on that server."""

    @property
    def data_dir(self) -> Path:
        """runyard's data folder, ``<dir>/runyard``: the default SQLite store, run logs, the API key of ``ui``."""
        return self.dir / DATA_FOLDER

    @property
    def runs_dir(self) -> Path:
        """Where run folders (and their run logs) live."""
        return self.data_dir / "runs"

    @property
    def default_store(self) -> bool:
        """Whether the store is the SQLite file in the data folder (not a URL that was given)."""
        return self.store_url == f"sqlite:///{self.data_dir / 'runyard.db'}"

    @property
    def store_shown(self) -> str:
        """The store as messages name it: the data folder for the default store, else its URL without a password."""
        if self.default_store:
            return str(self.data_dir)
        head, sep, rest = self.store_url.partition("://")
        if sep and "@" in rest:
            credentials, _, host = rest.rpartition("@")
            return f"{head}://{credentials.split(':', 1)[0]}@{host}"
        return self.store_url

    def no_local_data(self) -> bool:
        """True when the store is the default SQLite file and there is nothing to open: neither the file nor a
        run log to build it from. A command that only reads (``runyard ui``, ``Api()``) then says so instead
        of creating an empty store (in the wrong folder, most likely)."""
        if not self.default_store or (self.data_dir / "runyard.db").exists():
            return False
        return not (self.runs_dir.is_dir() and any(self.runs_dir.rglob("*.rylog")))

    def no_local_data_message(self, how: str) -> str:
        """What to say when :meth:`no_local_data`; ``how`` names the way to point at another folder."""
        return (
            f"no runyard data in {self.data_dir} (no runyard.db, no run logs): this is not the folder your runs "
            f"were logged in. Pass {how} the folder that holds runyard/ (or set RUNYARD_DIR), or the store's URL."
        )

    def replace(self, **changes: Any) -> ResolvedSettings:
        return dataclasses.replace(self, **changes)


def store_driver_missing(url: str) -> str | None:
    """What to install to open the store at ``url`` when its database driver is missing (PostgreSQL's
    psycopg, an optional dependency), else None."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in ("postgresql", "postgres"):
        return None
    import importlib.util

    try:
        found = importlib.util.find_spec("psycopg") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else postgres_driver_message()


def postgres_driver_message() -> str:
    """The one message for a PostgreSQL store without its driver."""
    return (
        "a PostgreSQL store needs the psycopg driver, which is not installed here: pip install 'runyard[postgres]' "
        "(in a clone of runyard: pip install -e '.[postgres]')"
    )


def server_key_folder(store: str, environ: Mapping[str, str] | None = None) -> Path:
    """The folder of the API key ``runyard server`` prints for a store with no folder of its own (PostgreSQL):
    ``$XDG_CONFIG_HOME/runyard/servers/<store>`` (``~/.config`` by default), one per database."""
    env = os.environ if environ is None else environ
    config = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    name = "".join(c if c.isalnum() or c in "-." else "_" for c in store.split("://", 1)[-1]).strip("_")
    return config / "runyard" / "servers" / (name or "store")


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
