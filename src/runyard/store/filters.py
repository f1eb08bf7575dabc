"""W&B's MongoDB-style run filters and sort orders: parsing, and evaluation over one run's fields.

A filter is a dict, as ``wandb.Api().runs(path, filters=...)`` takes it::

    {"$and": [{"state": "finished"}, {"config.lr.value": {"$lt": 0.01}}, {"tags": {"$in": ["best", "paper"]}}]}

Operators: ``$and $or $nor`` (each a non-empty list of filters); per field ``$eq $ne $gt $gte $lt $lte $in $nin
$exists $regex`` (with an optional ``$options`` of regex flags ``ims``; patterns are RE2's, matched in linear time:
see :mod:`runyard.store.patterns`); a plain value means ``$eq``, and
several keys in one dict must all hold. Fields (W&B's spellings accepted):

============================  ==================================================================================
``state``                     as read: a running run whose heartbeat is stale is ``crashed``
``tags``                      matches when any tag matches (``{"tags": "x"}``, ``$in``: any of, ``$nin``: none of)
``display_name``              also ``displayName``
``name``                      the run id (as in W&B); also ``id``
``group``, ``job_type``       also ``jobType``
``created_at``                also ``createdAt``; ISO-8601 strings (UTC unless they say otherwise), unix seconds
                              or ``datetime`` objects; ``heartbeat_at`` / ``heartbeatAt`` likewise
``host``, ``username``,       the run's host, OS user, notes and runtime in seconds (``duration``)
``notes``, ``runtime``
``config.KEY``                also ``config.KEY.value``; nested keys as ``config.a.b``
``summary_metrics.KEY``       also ``summary.KEY``; nested (``summary_metrics.loss.min``)
============================  ==================================================================================

Semantics are MongoDB's: comparisons hold only between values of one kind (numbers with numbers, strings
with strings, by code point), so ``{"config.lr": {"$gt": "0.1"}}`` matches no numeric ``lr``; a missing field
or a null column equals ``None``, fails every comparison, satisfies ``$ne``/``$nin`` and not ``$exists``; a
list-valued field matches when the list or any element does; NaN equals NaN (find diverged runs with
``{"summary_metrics.loss": float("nan")}``) and fails every comparison.

This module is pure: :func:`parse_filter` turns the dict into a tree of :class:`Node` that evaluates over a
run *view* (a mapping from the canonical field names to values; see :func:`record_view`). The store pushes
what it can of the tree down to SQL (:mod:`runyard.store.queries`); whatever it cannot is evaluated here.
Anything malformed raises :class:`~runyard.errors.FilterError` naming the field or operator and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final

from runyard.errors import FilterError
from runyard.store.patterns import Pattern, compile_pattern

if TYPE_CHECKING:
    from runyard.store.models import RunRecord

__all__ = [
    "COLUMN_FIELDS",
    "MISSING",
    "AllOf",
    "AnyOf",
    "Condition",
    "Field",
    "Node",
    "NoneOf",
    "Order",
    "View",
    "parse_field",
    "parse_filter",
    "parse_order",
    "record_view",
    "sort_views",
]

View = Mapping[Any, Any]
"""A run as filters see it: canonical field names (:data:`COLUMN_FIELDS`, ``config``, ``summary``) to values.
A database row mapping with those labels is one (see :mod:`runyard.store.queries`)."""

_MAX_DEPTH = 32
_LOGICAL = ("$and", "$or", "$nor")
_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex")
_COMPARISONS = {"$gt", "$gte", "$lt", "$lte"}


class _Missing:
    """The value of a field a run does not have (a config key it lacks, a group it was never given)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

# Canonical column field -> its kind: "text", "number" (unix seconds for the *_at ones) or "list".
COLUMN_FIELDS: Final[Mapping[str, str]] = {
    "state": "text",
    "tags": "list",
    "display_name": "text",
    "run_id": "text",
    "group": "text",
    "job_type": "text",
    "host": "text",
    "username": "text",
    "notes": "text",
    "created_at": "number",
    "heartbeat_at": "number",
    "runtime": "number",
}
_TIME_FIELDS = frozenset({"created_at", "heartbeat_at"})

# Every accepted spelling of a column field.
_ALIASES: Final[Mapping[str, str]] = {
    **{name: name for name in COLUMN_FIELDS if name != "run_id"},
    "name": "run_id",
    "id": "run_id",
    "displayName": "display_name",
    "jobType": "job_type",
    "createdAt": "created_at",
    "heartbeatAt": "heartbeat_at",
    "duration": "runtime",
}
_PREFIXES = {"config": "config", "summary_metrics": "summary", "summaryMetrics": "summary", "summary": "summary"}
_FIELD_HELP = (
    "state, tags, display_name, name (the run id), group, job_type, created_at, heartbeat_at, host, username, "
    "notes, runtime, config.KEY or summary_metrics.KEY"
)


@dataclass(frozen=True)
class Field:
    """A run field named by a filter or an order.

    ``kind`` is ``"column"`` (``name`` is a key of :data:`COLUMN_FIELDS`), ``"config"`` or ``"summary"``
    (``path`` is the dotted key split at its dots; ``name`` the key as written).
    """

    kind: str
    name: str
    path: tuple[str, ...] = ()

    def value(self, view: View) -> Any:
        """This field's value in a run view, or :data:`MISSING`."""
        if self.kind == "column":
            found = view.get(self.name)
            return MISSING if found is None else found
        root = view.get(self.kind)
        if not isinstance(root, dict):
            return MISSING
        found = _lookup(root, self.path)
        if found is MISSING and self.kind == "config" and len(self.path) > 1 and self.path[-1] == "value":
            found = _lookup(root, self.path[:-1])  # W&B's "config.lr.value" for the value of "lr"
        return found

    def __str__(self) -> str:
        return self.name if self.kind == "column" else f"{self.kind}.{self.name}"


def _lookup(obj: Any, path: tuple[str, ...]) -> Any:
    """``obj[a][b]...`` for ``path`` ``(a, b, ...)``; a key holding dots (``{"a.b": 1}``) matches too."""
    if not path:
        return obj
    if not isinstance(obj, dict):
        return MISSING
    for cut in range(len(path), 0, -1):
        key = ".".join(path[:cut]) if cut > 1 else path[0]
        if key in obj:
            found = _lookup(obj[key], path[cut:])
            if found is not MISSING:
                return found
    return MISSING


def parse_field(name: object) -> Field:
    """Resolve a field name as W&B spells it (``createdAt``, ``config.lr.value``...) to a :class:`Field`."""
    if not isinstance(name, str):
        raise FilterError(f"a filter field name must be a string, not {type(name).__name__}; fields: {_FIELD_HELP}")
    column = _ALIASES.get(name)
    if column is not None:
        return Field("column", column)
    prefix, dot, rest = name.partition(".")
    kind = _PREFIXES.get(prefix)
    if kind is None or not dot or not rest or "" in rest.split("."):
        if kind is not None:
            raise FilterError(f"field {name!r} needs a key after {prefix!r}, as in {prefix}.lr")
        raise FilterError(f"unknown filter field {name!r}; fields: {_FIELD_HELP}")
    return Field(kind, rest, tuple(rest.split(".")))


# -- the filter tree ----------------------------------------------------------------------------------------


class Node:
    """A parsed filter: :meth:`matches` evaluates it over a run view."""

    def matches(self, view: View) -> bool:
        raise NotImplementedError

    def fields(self) -> Iterator[Field]:
        """Every field the filter reads."""
        raise NotImplementedError


@dataclass(frozen=True)
class AllOf(Node):
    """``$and`` (and the implicit and of several keys); no children matches every run."""

    children: tuple[Node, ...]

    def matches(self, view: View) -> bool:
        return all(child.matches(view) for child in self.children)

    def fields(self) -> Iterator[Field]:
        for child in self.children:
            yield from child.fields()


@dataclass(frozen=True)
class AnyOf(Node):
    """``$or``."""

    children: tuple[Node, ...]

    def matches(self, view: View) -> bool:
        return any(child.matches(view) for child in self.children)

    def fields(self) -> Iterator[Field]:
        for child in self.children:
            yield from child.fields()


@dataclass(frozen=True)
class NoneOf(Node):
    """``$nor``."""

    children: tuple[Node, ...]

    def matches(self, view: View) -> bool:
        return not any(child.matches(view) for child in self.children)

    def fields(self) -> Iterator[Field]:
        for child in self.children:
            yield from child.fields()


@dataclass(frozen=True)
class Condition(Node):
    """One operator (``"$eq"``, ``"$in"``...) on one field. ``operand`` is normalised: time fields hold unix
    seconds, ``$in``/``$nin`` a tuple, ``$regex`` a :class:`~runyard.store.patterns.Pattern`, lists and dicts
    plain JSON values."""

    field: Field
    op: str
    operand: Any

    def matches(self, view: View) -> bool:
        value = self.field.value(view)
        return _TESTS[self.op](value, self.operand)

    def fields(self) -> Iterator[Field]:
        yield self.field


def _equal(a: Any, b: Any) -> bool:
    """MongoDB equality: values of one kind only; NaN equals NaN; lists and dicts compare member by member."""
    if a is MISSING:
        return b is None
    kind_a, kind_b = type(a), type(b)
    if kind_a in (int, float) and kind_b in (int, float):
        return bool(a == b) or (a != a and b != b)
    if kind_a is list and kind_b is list:
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if kind_a is dict and kind_b is dict:
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if kind_a is not kind_b:
        return False
    return bool(a == b)


def _eq(value: Any, operand: Any) -> bool:
    if _equal(value, operand):
        return True
    return type(value) is list and any(_equal(item, operand) for item in value)


def _compare(op: str) -> Callable[[Any, Any], bool]:
    def test(value: Any, operand: Any) -> bool:
        if type(value) is list:
            return any(_ordered(op, item, operand) for item in value)
        return _ordered(op, value, operand)

    return test


def _ordered(op: str, value: Any, operand: Any) -> bool:
    kind = type(value)
    if kind in (int, float) and type(operand) in (int, float):
        pass
    elif not (kind is str and type(operand) is str):
        return False
    if op == "$gt":
        return bool(value > operand)
    if op == "$gte":
        return bool(value >= operand)
    if op == "$lt":
        return bool(value < operand)
    return bool(value <= operand)


def _regex(value: Any, pattern: Pattern) -> bool:
    if type(value) is str:
        return pattern.search(value)
    if type(value) is list:
        return any(type(item) is str and pattern.search(item) for item in value)
    return False


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _eq,
    "$ne": lambda value, operand: not _eq(value, operand),
    "$in": lambda value, operand: any(_eq(value, item) for item in operand),
    "$nin": lambda value, operand: not any(_eq(value, item) for item in operand),
    "$exists": lambda value, operand: (value is not MISSING) == operand,
    "$regex": _regex,
    **{op: _compare(op) for op in _COMPARISONS},
}


# -- parsing ------------------------------------------------------------------------------------------------


def parse_filter(spec: Mapping[str, Any] | Node | None) -> Node:
    """Parse W&B's ``filters`` dict into a :class:`Node` (``None`` and ``{}`` match every run).

    Raises:
        FilterError: the filter is not a dict, names an unknown field or operator, or gives an operator an
            operand it cannot take (the message says which, and what is allowed).
    """
    if spec is None:
        return AllOf(())
    if isinstance(spec, Node):
        return spec
    if not isinstance(spec, Mapping):
        raise FilterError(f"filters must be a dict such as {{'state': 'finished'}}, not {type(spec).__name__}")
    return _parse_document(spec, 0)


def _parse_document(doc: Mapping[Any, Any], depth: int) -> Node:
    if depth > _MAX_DEPTH:
        raise FilterError(f"filters nest deeper than {_MAX_DEPTH} levels")
    children: list[Node] = []
    for key, value in doc.items():
        if isinstance(key, str) and key.startswith("$"):
            children.append(_parse_logical(key, value, depth))
        else:
            children.extend(_parse_field_spec(parse_field(key), value, depth))
    return children[0] if len(children) == 1 else AllOf(tuple(children))


def _parse_logical(op: str, value: Any, depth: int) -> Node:
    if op not in _LOGICAL:
        allowed = ", ".join(_LOGICAL)
        hint = " (field operators go inside a field: {'state': {'$in': [...]}})" if op in _OPERATORS else ""
        raise FilterError(f"unknown operator {op!r} at the top of a filter; use {allowed} or a field name{hint}")
    if not isinstance(value, (list, tuple)) or not value:
        raise FilterError(f"{op} takes a non-empty list of filters, not {_describe(value)}")
    subs: list[Node] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise FilterError(f"{op} takes a list of filter dicts; one item is {_describe(item)}")
        subs.append(_parse_document(item, depth + 1))
    nodes = tuple(subs)
    if op == "$and":
        return AllOf(nodes)
    if op == "$or":
        return AnyOf(nodes)
    return NoneOf(nodes)


def _parse_field_spec(field: Field, value: Any, depth: int) -> list[Node]:
    if isinstance(value, Mapping) and value and any(isinstance(k, str) and k.startswith("$") for k in value):
        plain = [k for k in value if not (isinstance(k, str) and k.startswith("$"))]
        if plain:
            raise FilterError(f"field {str(field)!r} mixes operators with plain keys {plain!r}")
        options = value.get("$options")
        if options is not None and "$regex" not in value:
            raise FilterError(f"field {str(field)!r}: $options goes with $regex")
        return [
            _parse_operator(field, op, operand, options, depth) for op, operand in value.items() if op != "$options"
        ]
    return [Condition(field, "$eq", _operand_value(field, "$eq", value, depth))]


def _parse_operator(field: Field, op: str, operand: Any, options: Any, depth: int) -> Node:
    where = f"field {str(field)!r}"
    if op not in _OPERATORS:
        raise FilterError(f"{where}: unknown operator {op!r}; operators: {', '.join(_OPERATORS)}")
    if op in ("$in", "$nin"):
        if not isinstance(operand, (list, tuple, set, frozenset)):
            raise FilterError(f"{where}: {op} takes a list of values, not {_describe(operand)}")
        return Condition(field, op, tuple(_operand_value(field, op, item, depth) for item in operand))
    if op == "$exists":
        if not isinstance(operand, bool):
            raise FilterError(f"{where}: $exists takes True or False, not {_describe(operand)}")
        return Condition(field, op, operand)
    if op == "$regex":
        return Condition(field, op, _compile_regex(where, operand, options))
    if op in _COMPARISONS:
        value = _operand_value(field, op, operand, depth)
        if type(value) not in (int, float, str):
            raise FilterError(f"{where}: {op} compares with a number or a string, not {_describe(operand)}")
        return Condition(field, op, value)
    return Condition(field, op, _operand_value(field, op, operand, depth))


def _compile_regex(where: str, pattern: Any, options: Any) -> Pattern:
    return compile_pattern(pattern, options, where=f"{where}: $regex")


def _operand_value(field: Field, op: str, value: Any, depth: int) -> Any:
    """A JSON-like operand, normalised: tuples become lists, time fields take ISO strings and datetimes."""
    if field.kind == "column" and field.name in _TIME_FIELDS:
        if isinstance(value, datetime):
            return _datetime_seconds(value)
        if isinstance(value, str):
            return _iso_seconds(field, op, value)
    return _json_value(field, op, value, depth)


def _json_value(field: Field, op: str, value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise FilterError(f"field {str(field)!r}: the {op} value nests deeper than {_MAX_DEPTH} levels")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(field, op, item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise FilterError(f"field {str(field)!r}: {op} compares with a dict whose keys are not all strings")
            out[key] = _json_value(field, op, item, depth + 1)
        return out
    if isinstance(value, (bool, int, float, str)):  # subclasses (enums, numpy-free scalars...)
        for kind in (bool, int, float, str):
            if isinstance(value, kind):
                return kind(value)
    raise FilterError(
        f"field {str(field)!r}: {op} takes a JSON value (None, bool, number, string, list or dict), "
        f"not {_describe(value)}"
    )


def _iso_seconds(field: Field, op: str, text: str) -> float:
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise FilterError(
            f"field {str(field)!r}: {op} takes a time as an ISO-8601 string (2024-05-01T12:00:00) or unix "
            f"seconds, not {text!r}"
        ) from None
    return _datetime_seconds(parsed)


def _datetime_seconds(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # W&B's times are UTC
    try:
        return value.timestamp()
    except (OverflowError, ValueError, OSError):
        raise FilterError(f"time {value!r} is out of range") from None


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


# -- sort orders --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """A sort order: one field, ascending or descending. Runs missing the field come last either way."""

    field: Field
    descending: bool


def parse_order(order: str | Order | None) -> Order:
    """Parse W&B's ``order``: a field with ``+`` (ascending, the default) or ``-`` (descending) in front.

    ``None`` or ``""`` means ``-created_at`` (newest first). Raises :class:`FilterError` for an unknown field
    or one runs cannot be sorted by (``tags``).
    """
    if isinstance(order, Order):
        return order
    if order is None or (isinstance(order, str) and not order.strip()):
        return Order(Field("column", "created_at"), True)
    if not isinstance(order, str):
        raise FilterError(f"order must be a string such as '-created_at', not {_describe(order)}")
    text = order.strip()
    descending = text.startswith("-")
    if text[:1] in "+-":
        text = text[1:].strip()
    try:
        field = parse_field(text)
    except FilterError as exc:
        raise FilterError(f"cannot order by {text!r}: {exc}") from None
    if field.kind == "column" and COLUMN_FIELDS[field.name] == "list":
        raise FilterError(f"cannot order by {text!r}: runs are ordered by a single value, such as created_at")
    return Order(field, descending)


def _rank(value: Any) -> tuple[int, Any] | None:
    """Sort key of a present value: numbers, then strings, then booleans, then the rest; None for missing/NaN."""
    kind = type(value)
    if value is MISSING or value is None:
        return None
    if kind is int or kind is float:
        return None if value != value else (0, value)
    if kind is str:
        return (1, value)
    if kind is bool:
        return (2, value)
    return (3, repr(value))


def sort_views(items: Sequence[tuple[int, View]], order: Order) -> list[tuple[int, View]]:
    """Sort ``(pk, view)`` pairs by ``order``; ties by pk in the same direction; missing values last."""
    present: list[tuple[tuple[int, Any], int, View]] = []
    missing: list[tuple[int, View]] = []
    for pk, view in items:
        key = _rank(order.field.value(view))
        if key is None:
            missing.append((pk, view))
        else:
            present.append((key, pk, view))
    present.sort(key=lambda entry: (entry[0], entry[1]), reverse=order.descending)
    missing.sort(key=lambda entry: entry[0], reverse=order.descending)
    return [(pk, view) for _, pk, view in present] + missing


def record_view(record: RunRecord) -> dict[str, Any]:
    """The view of a :class:`~runyard.store.models.RunRecord` that filters evaluate over."""
    return {
        "state": record.state,
        "tags": list(record.tags),
        "display_name": record.name,
        "run_id": record.run_id,
        "group": record.group,
        "job_type": record.job_type,
        "host": record.host,
        "username": record.username,
        "notes": record.notes,
        "created_at": record.created_at,
        "heartbeat_at": record.heartbeat_at,
        "runtime": record.runtime,
        "config": record.config,
        "summary": record.summary,
    }
