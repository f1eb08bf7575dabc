"""``run.config``: the hyperparameters of a run, with W&B's rules for changing them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runyard.errors import ConfigError, UsageError
from runyard.sdk.values import _PLAIN, _Unloggable, normalize_dict

Emit = Callable[[dict[str, Any], list[str]], None]


def _config_value(value: Any, key: str) -> Any:
    """A JSON-able copy of a config value; objects runyard has no representation for are kept as ``str()``."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Mapping):
        return {str(k): _config_value(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_config_value(v, key) for v in value]
    converted = as_dict(value)
    if converted is not None:
        return {str(k): _config_value(v, f"{key}.{k}") for k, v in converted.items()}
    try:
        out = normalize_dict({key: value})[key]
    except _Unloggable:
        return str(value)
    return out


def as_dict(obj: Any) -> dict[str, Any] | None:
    """The dict behind a config-like object, or None when ``obj`` is not one.

    Accepts mappings (OmegaConf's DictConfig included), ``argparse.Namespace``, dataclasses, pydantic models
    (``model_dump``), objects with ``to_dict()`` / ``as_dict()``, and absl flags (``flag_values_dict``).
    """
    if isinstance(obj, Mapping):
        return {str(k): obj[k] for k in obj}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    for method in ("model_dump", "to_dict", "as_dict", "flag_values_dict", "dict"):
        fn = getattr(obj, method, None)
        if callable(fn) and not isinstance(obj, type):
            try:
                out = fn()
            except TypeError:
                continue
            if isinstance(out, Mapping):
                return dict(out)
    if type(obj).__name__ == "Namespace" and hasattr(obj, "__dict__"):
        return dict(vars(obj))
    return None


def load_config_source(source: Any) -> dict[str, Any]:
    """Turn anything ``init(config=...)`` / ``config.update(...)`` accepts into a plain dict.

    A string or path names a YAML file; W&B's ``{key: {value: v, desc: ...}}`` form is unwrapped.
    """
    if source is None:
        return {}
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise UsageError(f"config: {path!r} is not a file; pass a dict or the path of a YAML file")
        import yaml  # deferred: only scripts that pass a YAML path pay for it

        with open(path, encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh) or {}
        if not isinstance(loaded, Mapping):
            raise UsageError(f"config: {path!r} must hold a mapping of keys to values")
        out: dict[str, Any] = {}
        for k, v in loaded.items():
            if k in ("wandb_version", "_wandb"):
                continue
            out[str(k)] = v["value"] if isinstance(v, Mapping) and "value" in v else v
        return out
    converted = as_dict(source)
    if converted is None:
        raise UsageError(
            f"config: cannot read a config from {type(source).__name__}; pass a dict, an argparse.Namespace, "
            "a dataclass, a pydantic model, a mapping or the path of a YAML file"
        )
    return converted


def _clean_key(key: Any) -> str:
    k = str(key)
    stripped = k.strip("-")
    return stripped or k


class Config:
    """The config of a run: dict and attribute access, as ``wandb.config``.

    Changing a key that already holds a different value raises :class:`runyard.errors.ConfigError` unless
    ``allow_val_change=True`` is passed to :meth:`update` (or to ``init()``).
    """

    def __init__(self, emit: Emit | None = None, allow_val_change: bool = False) -> None:
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_emit", emit)
        object.__setattr__(self, "_allow_val_change", allow_val_change)
        object.__setattr__(self, "_locked", {})  # key -> who set it (a sweep): updates to it are ignored

    # -- writing
    def update(self, d: Any = None, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        """Merge keys into the config.

        Args:
            d: a dict, ``argparse.Namespace``, dataclass, pydantic model, mapping, or YAML file path.
            allow_val_change: allow keys that already exist to take a different value.
        """
        data = load_config_source(d)
        data.update(kwargs)
        self._apply(data, self._allow_val_change if allow_val_change is None else allow_val_change)

    def setdefaults(self, d: Any) -> None:
        """Set the keys of ``d`` that the config does not hold yet."""
        data = load_config_source(d)
        self._apply({k: v for k, v in data.items() if _clean_key(k) not in self._items}, True)

    def _config_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Clean keys and values without checking them against the current config."""
        return {_clean_key(k): _config_value(v, _clean_key(k)) for k, v in data.items()}

    def _apply(self, data: Mapping[str, Any], allow_val_change: bool) -> None:
        changes: dict[str, Any] = {}
        items: dict[str, Any] = self._items
        for raw_key, raw_value in data.items():
            key = _clean_key(raw_key)
            value = _config_value(raw_value, key)
            if key in self._locked:
                if items.get(key) != value:
                    # W&B's rule: the values a sweep chose win over the script's; the update is ignored.
                    from runyard.sdk.term import termwarn

                    termwarn(f"Config item '{key}' was locked by '{self._locked[key]}' (ignored update).")
                continue
            if key in items and items[key] != value:
                if not allow_val_change:
                    raise ConfigError(
                        f'Attempted to change value of key "{key}" from {items[key]!r} to {value!r}\n'
                        "If you really want to do this, pass allow_val_change=True to config.update()"
                    )
            if key not in items or items[key] != value or type(items[key]) is not type(value):
                changes[key] = value
        if not changes:
            return
        if self._emit is not None:
            self._emit(changes, [])  # first: a change that cannot be recorded leaves the config as it was
        items.update(changes)

    def _lock(self, values: Mapping[str, Any], by: str) -> None:
        """Set ``values`` and lock their keys (a sweep's parameters): later changes are ignored with a warning."""
        self._locked.clear()
        clean = self._config_values(values)
        changes = {k: v for k, v in clean.items() if k not in self._items or self._items[k] != v}
        if changes and self._emit is not None:
            self._emit(changes, [])
        self._items.update(clean)
        self._locked.update(dict.fromkeys(clean, by))

    def __setitem__(self, key: str, value: Any) -> None:
        self._apply({key: value}, self._allow_val_change)

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        else:
            self._apply({key: value}, self._allow_val_change)

    def __delitem__(self, key: str) -> None:
        if key not in self._items:
            raise KeyError(key)
        if self._emit is not None:
            self._emit({}, [key])
        del self._items[key]

    # -- reading
    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return bool(self._items == other._items)
        if isinstance(other, Mapping):
            return bool(self._items == dict(other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def keys(self) -> Any:
        return self._items.keys()

    def values(self) -> Any:
        return self._items.values()

    def items(self) -> Any:
        return self._items.items()

    def as_dict(self) -> dict[str, Any]:
        """A copy of the config as a plain dict."""
        return dict(self._items)

    def __repr__(self) -> str:
        return f"Config({self._items!r})"
