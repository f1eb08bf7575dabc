"""``runyard login``'s file and how settings choose between a server and a store (no server needed here)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.credentials import (
    Login,
    forget_login,
    login_file,
    normalize_base_url,
    read_login,
    save_login,
    set_process_login,
)
from runyard.errors import UsageError
from runyard.settings import Settings


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"RUNYARD_CONFIG_DIR": str(tmp_path / "config"), "RUNYARD_DIR": str(tmp_path / "runyard")}


@pytest.fixture(autouse=True)
def no_process_login() -> Iterator[None]:
    set_process_login(None, None)
    yield
    set_process_login(None, None)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://host:8080/", "http://host:8080"),
        ("host:8080", "http://host:8080"),
        ("https://runyard.example.com/team/", "https://runyard.example.com/team"),
        ("  http://[::1]:9000  ", "http://[::1]:9000"),
    ],
)
def test_server_addresses_are_kept_in_one_form(given: str, kept: str) -> None:
    assert normalize_base_url(given) == kept


@pytest.mark.parametrize("bad", ["ftp://host", "http://", "http://host:port", "http://host/?a=1", "http://h/#x"])
def test_a_malformed_address_says_what_is_expected(bad: str) -> None:
    with pytest.raises(UsageError, match="server address"):
        normalize_base_url(bad)


def test_the_login_file_is_private_and_keeps_one_key_per_server(env: dict[str, str]) -> None:
    path = save_login(env, Login("http://a:1", "key-a", "ana"))
    save_login(env, Login("http://b:2", "key-b"))
    assert path == login_file(env) == Path(env["RUNYARD_CONFIG_DIR"]) / "login.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert read_login(env) == Login("http://b:2", "key-b", None)  # the last login is where runs go
    assert read_login(env, "http://a:1/") == Login("http://a:1", "key-a", "ana")
    assert "key-a" not in repr(read_login(env, "http://a:1"))
    assert read_login(env, "http://c:3") is None
    assert forget_login(env) == "http://b:2"
    assert read_login(env) == Login("http://a:1", "key-a", "ana")  # the remaining one becomes the default
    assert forget_login(env, "http://a:1") == "http://a:1"
    assert read_login(env) is None
    assert forget_login(env) is None


def test_a_damaged_login_file_is_a_clear_error(env: dict[str, str]) -> None:
    path = login_file(env)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(UsageError, match=r"damaged.*runyard login"):
        read_login(env)


def test_settings_choose_a_server_or_a_store(env: dict[str, str]) -> None:
    local = Settings().resolved(env)
    assert local.base_url is None and local.store_url.endswith("runyard.db")
    save_login(env, Login("http://login:1", "login-key", "team"))
    logged_in = Settings().resolved(env)
    assert (logged_in.base_url, logged_in.api_key, logged_in.login_entity) == ("http://login:1", "login-key", "team")
    assert "login-key" not in repr(logged_in)
    # A store URL keeps a script local on a machine with a login; RUNYARD_BASE_URL wins over a store URL.
    assert Settings().resolved({**env, "RUNYARD_STORE_URL": "sqlite:///x.db"}).base_url is None
    assert Settings(store_url="sqlite:///x.db").resolved(env).base_url is None
    both = {**env, "RUNYARD_STORE_URL": "sqlite:///x.db", "RUNYARD_BASE_URL": "http://env:2/"}
    assert Settings().resolved(both).base_url == "http://env:2"
    # The environment's server with the login's key for it only when the login is for that server.
    assert Settings().resolved({**env, "RUNYARD_BASE_URL": "http://env:2"}).api_key is None
    assert Settings().resolved({**env, "RUNYARD_BASE_URL": "http://login:1"}).api_key == "login-key"
    keyed = Settings().resolved({**env, "RUNYARD_BASE_URL": "http://env:2", "RUNYARD_API_KEY": "env-key"})
    assert (keyed.base_url, keyed.api_key, keyed.login_entity) == ("http://env:2", "env-key", None)
    explicit = Settings(base_url="http://arg:3", api_key="arg-key").resolved({**env, "RUNYARD_API_KEY": "env-key"})
    assert (explicit.base_url, explicit.api_key) == ("http://arg:3", "arg-key")
    with pytest.raises(UsageError, match="server address"):
        Settings().resolved({**env, "RUNYARD_BASE_URL": "ftp://nope"})
    set_process_login("http://process:4", "process-key")  # runyard.login(key=..., host=...)
    assert Settings().resolved({**env, "RUNYARD_BASE_URL": "http://env:2"}).base_url == "http://process:4"
    assert Settings().resolved(env).api_key == "process-key"
    with pytest.raises(UsageError, match="not both"):
        Settings(base_url="http://a:1", store_url="sqlite:///x.db").resolved(env)


def test_an_init_destination_replaces_the_one_setup_gave(env: dict[str, str]) -> None:
    # runyard.setup(settings=...) gives defaults that init(settings=...) merges over: naming a server there
    # replaces setup()'s store, and naming a store replaces setup()'s server and key, instead of "not both".
    to_store = Settings(store_url="sqlite:///setup.db")
    to_server = Settings(base_url="http://setup:1", api_key="setup-key")
    moved = Settings(base_url="http://init:2").over(to_store).resolved(env)
    assert moved.base_url == "http://init:2" and moved.default_store
    kept_local = Settings(store_url="sqlite:///init.db").over(to_server).resolved(env)
    assert (kept_local.base_url, kept_local.api_key, kept_local.store_url) == (None, None, "sqlite:///init.db")
    assert Settings(heartbeat_interval=5).over(to_server).resolved(env).base_url == "http://setup:1"
