"""Where ``runyard login`` keeps the addresses of runyard servers and their API keys.

One JSON file, ``login.json``, in runyard's configuration folder: ``$RUNYARD_CONFIG_DIR`` if set, else
``$XDG_CONFIG_HOME/runyard``, else ``~/.config/runyard``. The folder is created with mode 0700 and the file
with mode 0600 (written to a temporary file created 0600, then renamed over the old one), so no other user of
the machine can read a key, and a crash never leaves half a file. Its shape::

    {"default": "https://runyard.example.com",
     "servers": {"https://runyard.example.com": {"api_key": "...", "entity": "ana"}}}

``default`` is the server runs go to when neither ``Settings(base_url=...)`` nor ``RUNYARD_BASE_URL`` names
one; each server keeps its own key, so logging in to a second server does not lose the first one's.

``runyard.login(key=..., host=...)`` in a script sets a login for the process only (:func:`set_process_login`);
it is not written to the file.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.errors import UsageError

__all__ = [
    "LOGIN_FILE",
    "Login",
    "config_dir",
    "forget_login",
    "login_file",
    "normalize_base_url",
    "process_login",
    "read_login",
    "save_login",
    "set_process_login",
]

LOGIN_FILE = "login.json"


@dataclass(frozen=True)
class Login:
    """A server and the key to talk to it with (``api_key`` is left out of ``repr``)."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    entity: str | None = None


_process: tuple[str | None, str | None] = (None, None)


def normalize_base_url(url: str) -> str:
    """``url`` as runyard keeps it (``http(s)://host[:port][/path]``, no trailing slash); raises UsageError."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not a server address: {url!r}; expected http://host:port or https://host")
    if parts.query or parts.fragment:
        raise UsageError(f"a server address has no query or fragment: {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise UsageError(f"not a server address: {url!r} ({exc})") from None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def config_dir(environ: Mapping[str, str]) -> Path:
    """runyard's configuration folder (see the module's docstring)."""
    explicit = environ.get("RUNYARD_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    xdg = environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path(environ.get("HOME") or Path.home()) / ".config"
    return base / "runyard"


def login_file(environ: Mapping[str, str]) -> Path:
    """The login file's path."""
    return config_dir(environ) / LOGIN_FILE


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {"default": None, "servers": {}}
    except OSError as exc:
        raise UsageError(f"cannot read the login file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"the login file {path} is damaged ({exc}); delete it and run `runyard login` again") from None
    if not isinstance(data, dict) or not isinstance(data.get("servers", {}), dict):
        raise UsageError(f"the login file {path} is not runyard's; delete it and run `runyard login` again")
    data.setdefault("servers", {})
    return data


def read_login(environ: Mapping[str, str], base_url: str | None = None) -> Login | None:
    """The login for ``base_url`` (None: the default server), or None when there is none."""
    data = _load(login_file(environ))
    url = normalize_base_url(base_url) if base_url else data.get("default")
    if not isinstance(url, str) or not url:
        return None
    entry = data["servers"].get(url)
    if not isinstance(entry, dict):
        return Login(url) if base_url is None else None
    key = entry.get("api_key")
    entity = entry.get("entity")
    return Login(url, key if isinstance(key, str) else None, entity if isinstance(entity, str) else None)


def save_login(environ: Mapping[str, str], login: Login, *, default: bool = True) -> Path:
    """Keep ``login`` in the login file (and make its server the default); returns the file's path."""
    path = login_file(environ)
    data = _load(path)
    entry: dict[str, Any] = {"api_key": login.api_key}
    if login.entity:
        entry["entity"] = login.entity
    data["servers"][login.base_url] = entry
    if default or not data.get("default"):
        data["default"] = login.base_url
    _write(path, data)
    return path


def forget_login(environ: Mapping[str, str], base_url: str | None = None) -> str | None:
    """Remove the login of ``base_url`` (None: the default server); returns the server forgotten, if any."""
    path = login_file(environ)
    data = _load(path)
    url = normalize_base_url(base_url) if base_url else data.get("default")
    if not isinstance(url, str) or (url not in data["servers"] and data.get("default") != url):
        return None
    data["servers"].pop(url, None)
    if data.get("default") == url:
        data["default"] = next(iter(data["servers"]), None)
    _write(path, data)
    return url


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # Created 0600 from the start: the key is never readable by others, not even for a moment.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o600)  # an older temp file may have had other bits
    os.replace(tmp, path)


def set_process_login(base_url: str | None, api_key: str | None) -> None:
    """The server and key of this process (``runyard.login(key=..., host=...)``), above the environment."""
    global _process
    _process = (normalize_base_url(base_url) if base_url else None, api_key or None)


def process_login() -> tuple[str | None, str | None]:
    """The ``(base_url, api_key)`` that :func:`set_process_login` last set (each None when not set)."""
    return _process
