"""A permissive GraphQL executor: answer whatever the wandb client selects from plain Python objects.

The wandb client's selection sets change every few releases, and W&B's schema is not public. A schema-checking
engine would reject a whole operation over one field we never declared; this executor instead resolves each
selected field on an :class:`Obj` (a type name plus fields, each a value or a function of the field's
arguments) and answers ``null`` for a field it does not know. graphql-core only parses the document.

Supported: queries and mutations, variables (with defaults), aliases, named and inline fragments (type
conditions are not checked: our objects have one type each), ``@include``/``@skip`` and ``__typename``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from graphql.utilities import value_from_ast_untyped

__all__ = ["Obj", "Operation", "Resolver", "execute", "parse_operation"]

log = logging.getLogger("runyard.server.wandb")

Resolver = Callable[[dict[str, Any]], Any]
"""A field computed from its arguments (already resolved against the operation's variables)."""


@dataclass
class Obj:
    """One GraphQL object: its ``__typename`` and its fields, each a plain value or a :data:`Resolver`.

    A plain value may itself be an ``Obj``, a list, or any JSON value (a dict is answered as it is when the
    query selects nothing below it, or field by field when it does).
    """

    typename: str
    fields: dict[str, Any] = field(default_factory=dict)

    def resolve(self, name: str, args: dict[str, Any]) -> Any:
        value = self.fields.get(name)
        return value(args) if callable(value) else value


@dataclass(frozen=True)
class Operation:
    """A parsed request: its operation, its fragments, and the variables with their defaults filled in."""

    name: str
    kind: str  # "query" | "mutation" | "subscription"
    selection: SelectionSetNode
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]

    @property
    def root_fields(self) -> list[str]:
        """The names of the fields selected at the root (before aliases)."""
        return [s.name.value for s in self.selection.selections if isinstance(s, FieldNode)]


def parse_operation(query: str, operation_name: str | None, variables: Mapping[str, Any] | None) -> Operation:
    """Parse a request's document and pick its operation. Raises ``GraphQLError`` when it cannot."""
    document: DocumentNode = parse(query, no_location=True)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation_name = operation_name or None
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if len(chosen) != 1:
        raise GraphQLError(f"cannot pick operation {operation_name!r} from a document of {len(operations)}")
    op = chosen[0]
    given = dict(variables or {})
    values: dict[str, Any] = {}
    for definition in op.variable_definitions or ():
        name = definition.variable.name.value
        if name in given:
            values[name] = given[name]
        elif definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value, {})
        else:
            values[name] = None
    name = op.name.value if op.name else (operation_name or "")
    return Operation(name, op.operation.value, op.selection_set, fragments, values)


def execute(op: Operation, root: Obj) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Resolve ``op`` on ``root`` (the Query or Mutation object). Returns ``(data, errors)``.

    A resolver that raises ``GraphQLError`` nulls its field and adds an error naming the field's path, as a
    GraphQL server does; other exceptions propagate (a server error, not the client's).
    """
    errors: list[dict[str, Any]] = []
    data = _select(op, root, op.selection, (), errors)
    return data, errors


def _select(
    op: Operation, obj: Any, selection: SelectionSetNode, path: tuple[str, ...], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node in _fields(op, selection):
        key = node.alias.value if node.alias else node.name.value
        name = node.name.value
        if name == "__typename":
            out[key] = obj.typename if isinstance(obj, Obj) else None
            continue
        args = {a.name.value: value_from_ast_untyped(a.value, op.variables) for a in node.arguments or ()}
        try:
            if isinstance(obj, Obj):
                value = obj.resolve(name, args)
            elif isinstance(obj, Mapping):
                value = obj.get(name)
            else:
                value = None
        except GraphQLError as exc:
            errors.append({"message": exc.message, "path": [*path, key]})
            out[key] = None
            continue
        done = _complete(op, value, node.selection_set, (*path, key), errors)
        # Two fragments may select the same object field with different sub-fields: merge them.
        out[key] = _merge(out[key], done) if key in out else done
    return out


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merge(old[k], v) if k in old else v for k, v in new.items()}}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [_merge(a, b) for a, b in zip(old, new)]
    return new


def _complete(
    op: Operation, value: Any, selection: SelectionSetNode | None, path: tuple[str, ...], errors: list[dict[str, Any]]
) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_complete(op, item, selection, path, errors) for item in value]
    if selection is None:
        if isinstance(value, Obj):
            return None  # an object selected without fields: invalid GraphQL, answer harmlessly
        return value
    if isinstance(value, (Obj, Mapping)):
        return _select(op, value, selection, path, errors)
    return None


def _fields(op: Operation, selection: SelectionSetNode) -> list[FieldNode]:
    """The fields of a selection set, fragments expanded and ``@include``/``@skip`` applied."""
    found: list[FieldNode] = []
    for node in selection.selections:
        if not _included(op, node):
            continue
        if isinstance(node, FieldNode):
            found.append(node)
        elif isinstance(node, InlineFragmentNode):
            found.extend(_fields(op, node.selection_set))
        elif isinstance(node, FragmentSpreadNode):
            fragment = op.fragments.get(node.name.value)
            if fragment is not None:
                found.extend(_fields(op, fragment.selection_set))
    return found


def _included(op: Operation, node: Any) -> bool:
    for directive in node.directives or ():
        args = {a.name.value: value_from_ast_untyped(a.value, op.variables) for a in directive.arguments or ()}
        if directive.name.value == "include" and not args.get("if"):
            return False
        if directive.name.value == "skip" and args.get("if"):
            return False
    return True
