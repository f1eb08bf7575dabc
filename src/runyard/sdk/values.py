"""Turning what users log into the values a run log holds, without importing NumPy or torch ourselves.

Plain ``int``, ``float``, ``bool``, ``str`` and ``None`` pass through untouched: that check is the whole cost of a
typical ``log()`` call. NumPy scalars and arrays and torch tensors are recognised by their type's module name, so
runyard never imports those libraries; they are converted with their own ``item()`` / ``tolist()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PLAIN = frozenset({int, float, str, bool, type(None)})
_NUMBER = (int, float)


class _Unloggable(Exception):
    def __init__(self, key: str, value: object, key_error: bool = False) -> None:
        self.key = key
        self.value = value
        self.key_error = key_error


def unloggable_error(key: str, value: object, what: str = "log") -> TypeError:
    """The TypeError raised for a value runyard cannot store, naming the key and the type."""
    tname = f"{type(value).__module__}.{type(value).__qualname__}"
    if type(value).__module__ == "builtins":
        tname = type(value).__qualname__
    return TypeError(
        f"runyard.{what}: the value of key {key!r} has type {tname}, which runyard cannot store. "
        "Log numbers, bools, strings, None, lists of numbers, NumPy arrays or scalars, torch tensors, "
        "or dicts of these. Nothing from this call was logged."
    )


def _convert(value: Any, key: str) -> Any:
    """Convert one non-plain value, or raise ``_Unloggable``."""
    t = type(value)
    module = t.__module__
    if module == "numpy" or module.startswith("numpy."):
        if hasattr(value, "tolist"):
            if getattr(value, "size", 0) == 1:
                value = value.reshape(()) if hasattr(value, "reshape") else value  # W&B logs [x] as x
            out = value.tolist()  # ndarray -> nested lists; numpy scalar -> Python scalar
            _check_list(out, key, value)
            return out
    elif module.startswith("torch"):
        if hasattr(value, "detach") and hasattr(value, "tolist"):
            tensor = value.detach()
            if tensor.numel() == 1:
                return tensor.item()
            out = tensor.cpu().tolist()
            _check_list(out, key, value)
            return out
    elif isinstance(value, (list, tuple)):
        out = [_convert_item(v, key) for v in value]
        return out
    elif isinstance(value, Mapping):
        return normalize_dict(value, key + ".")
    elif isinstance(value, bool):
        return bool(value)
    elif isinstance(value, int):
        return int(value)
    elif isinstance(value, float):
        return float(value)
    elif isinstance(value, str):
        return str(value)
    raise _Unloggable(key, value)


def _convert_item(value: Any, key: str) -> Any:
    if type(value) in _PLAIN:
        return value
    out = _convert(value, key)
    if isinstance(out, dict):
        raise _Unloggable(key, value)
    return out


def _check_list(out: Any, key: str, original: object) -> None:
    if isinstance(out, list):
        for item in out:
            if isinstance(item, list):
                _check_list(item, key, original)
            elif type(item) not in _PLAIN:
                raise _Unloggable(key, original)
    elif type(out) not in _PLAIN:
        raise _Unloggable(key, original)


def normalize_dict(data: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Return a copy of ``data`` holding only storable values (nested dicts kept nested).

    Raises ``_Unloggable`` for the first value that cannot be stored; callers turn it into a TypeError.
    """
    out: dict[str, Any] = {}
    for k, v in data.items():
        if type(k) is not str:
            if not isinstance(k, str):
                raise _Unloggable(prefix + repr(k), k, key_error=True)
            k = str(k)
        if type(v) in _PLAIN:
            out[k] = v
        else:
            out[k] = _convert(v, prefix + k)
    return out


def normalize_row(data: Mapping[Any, Any], what: str = "log") -> tuple[dict[str, Any], bool]:
    """Validate and copy a ``log()`` dict; returns the copy and whether it holds nested dicts.

    Raises ``TypeError`` naming the key and the type of the first value that cannot be stored.
    """
    try:
        out = normalize_dict(data)
    except _Unloggable as exc:
        if exc.key_error:
            raise TypeError(
                f"runyard.{what}: keys must be strings; got {exc.key} of type {type(exc.value).__name__}. "
                "Nothing from this call was logged."
            ) from None
        raise unloggable_error(exc.key, exc.value, what) from None
    nested = False
    for v in out.values():
        if type(v) is dict:
            nested = True
            break
    return out, nested


def normalize_value(key: str, value: Any, what: str = "summary") -> Any:
    """Validate and convert a single value (summary and config writes)."""
    if type(value) in _PLAIN:
        return value
    try:
        return _convert(value, key)
    except _Unloggable as exc:
        raise unloggable_error(exc.key, exc.value, what) from None
