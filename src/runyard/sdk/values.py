"""Turning what users log into the values a run log holds, without importing NumPy or torch ourselves.

Plain ``int``, ``float``, ``bool``, ``str`` and ``None`` pass through untouched: that check is the whole cost of a
typical ``log()`` call. NumPy scalars and arrays and torch tensors are recognised by their type's module name, so
runyard never imports those libraries; they are converted with their own ``item()`` / ``tolist()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.media.base import Media

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
        "media (runyard.Image, runyard.Histogram, runyard.Table...; in log() only), or dicts of these. "
        "Nothing from this call was logged."
    )


def _convert(value: Any, key: str, media: list[str] | None = None) -> Any:
    """Convert one non-plain value, or raise ``_Unloggable``.

    ``media`` collects the keys holding media objects (kept as they are, for ``log()`` to bind once it knows the
    step); without it (config, summary) a media object cannot be stored. Arrays of more than 32 numbers become
    histograms in ``log()`` rows, as in W&B.
    """
    if isinstance(value, Media):
        if media is None:
            raise _Unloggable(key, value)
        media.append(key)
        return value
    t = type(value)
    module = t.__module__
    if module == "numpy" or module.startswith("numpy."):
        if hasattr(value, "tolist"):
            if media is not None and getattr(value, "size", 0) > 32 and _numeric_array(value):
                return _histogram(value)
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
            if media is not None and tensor.numel() > 32 and not tensor.is_complex():
                return _histogram(tensor.cpu().float().numpy())
            out = tensor.cpu().tolist()
            _check_list(out, key, value)
            return out
    elif isinstance(value, (list, tuple)):
        out = [_convert_item(v, key, media) for v in value]
        if media is not None and out:
            if isinstance(out[0], Media) or any(isinstance(v, Media) for v in out):
                return _media_list(out, key, media)
            if len(out) > 32 and all(type(v) is int or type(v) is float for v in out):
                return _histogram(out)
        return out
    elif isinstance(value, Mapping):
        return normalize_dict(value, key + ".", media)
    elif isinstance(value, bool):
        return bool(value)
    elif isinstance(value, int):
        return int(value)
    elif isinstance(value, float):
        return float(value)
    elif isinstance(value, str):
        return str(value)
    raise _Unloggable(key, value)


def _convert_item(value: Any, key: str, media: list[str] | None = None) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Media):
        if media is None:
            raise _Unloggable(key, value)
        return value
    out = _convert(value, key)
    if isinstance(out, dict):
        raise _Unloggable(key, value)
    return out


def _numeric_array(value: Any) -> bool:
    return getattr(getattr(value, "dtype", None), "kind", "") in ("b", "i", "u", "f")


def _histogram(values: Any) -> dict[str, Any]:
    """W&B's summary of a raw array of more than 32 numbers in history: a 32-bin histogram."""
    from runyard.media.histogram import Histogram

    return Histogram(values, num_bins=32).to_json()


def _media_list(items: list[Any], key: str, media: list[str]) -> Any:
    """A list of media objects in one key (W&B's ``images/separated`` and kin): all of one type."""
    from runyard.media.sequence import MediaList

    kinds = {type(v) for v in items}
    if len(kinds) != 1:
        raise TypeError(
            f"runyard.log: the list logged at {key!r} mixes {', '.join(sorted(t.__name__ for t in kinds))}; "
            "a list of media holds objects of one type (a list of runyard.Image, of runyard.Audio...). "
            "Nothing from this call was logged."
        )
    media.append(key)
    return MediaList(items, key)


def _check_list(out: Any, key: str, original: object) -> None:
    if isinstance(out, list):
        for item in out:
            if isinstance(item, list):
                _check_list(item, key, original)
            elif type(item) not in _PLAIN:
                raise _Unloggable(key, original)
    elif type(out) not in _PLAIN:
        raise _Unloggable(key, original)


def normalize_dict(data: Mapping[Any, Any], prefix: str = "", media: list[str] | None = None) -> dict[str, Any]:
    """Return a copy of ``data`` holding only storable values (nested dicts kept nested).

    Raises ``_Unloggable`` for the first value that cannot be stored; callers turn it into a TypeError. With
    ``media`` (``log()`` rows), media objects are kept as they are and their keys appended to it.
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
            out[k] = _convert(v, prefix + k, media)
    return out


def normalize_row(
    data: Mapping[Any, Any], what: str = "log", media: list[str] | None = None
) -> tuple[dict[str, Any], bool]:
    """Validate and copy a ``log()`` dict; returns the copy and whether it holds nested dicts.

    With ``media``, media objects stay in the copy (for ``log()`` to bind) and their dotted keys are appended.
    Raises ``TypeError`` naming the key and the type of the first value that cannot be stored.
    """
    try:
        out = normalize_dict(data, "", media)
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
