from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from runyard.flatten import flatten, is_object, iter_leaves, nest_pop, nest_set

keys = st.text(alphabet="abcxyz_/", min_size=1, max_size=4)
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3), st.lists(st.integers()))
nested = st.recursive(
    st.dictionaries(keys, leaves, max_size=4),
    lambda children: st.dictionaries(keys, st.one_of(leaves, children), max_size=4),
    max_leaves=20,
)


def _count_leaves(d: dict[str, Any]) -> int:
    return sum(_count_leaves(v) if isinstance(v, dict) else 1 for v in d.values())


def test_flat_dict_is_copied_unchanged() -> None:
    row = {"loss": 0.5, "_step": 3, "tags": [1, 2]}
    out = flatten(row)
    assert out == row
    assert out is not row


def test_nested_dicts_become_dotted_keys() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": "x"}}, "e": 2}) == {"a.b": 1, "a.c.d": "x", "e": 2}


def test_empty_nested_dict_produces_no_key() -> None:
    assert flatten({"a": {}, "b": {"c": {}}, "d": 1}) == {"d": 1}


def test_custom_separator() -> None:
    assert flatten({"a": {"b": 1}}, sep="/") == {"a/b": 1}


@given(nested)
def test_flatten_keeps_every_leaf(d: dict[str, Any]) -> None:
    out = flatten(d)
    paths = list(iter_leaves(d))
    # Distinct paths can collide once joined ("a.b" vs "a" -> "b"); our alphabet has no dots, so they cannot.
    assert len(out) == len(paths) == _count_leaves(d)
    for path, value in paths:
        assert out[".".join(path)] is value


@given(nested)
def test_nest_set_rebuilds_the_nested_dict(d: dict[str, Any]) -> None:
    rebuilt: dict[str, Any] = {}
    for path, value in iter_leaves(d):
        nest_set(rebuilt, path, value)
    # Same leaf objects, so NaN compares equal to itself here (containers compare by identity first).
    assert list(iter_leaves(rebuilt)) == list(iter_leaves(d))


def test_nest_set_replaces_a_scalar_with_a_dict() -> None:
    target: dict[str, Any] = {"a": 3}
    nest_set(target, ("a", "b"), 1)
    assert target == {"a": {"b": 1}}


def test_nest_pop_prunes_emptied_parents() -> None:
    target: dict[str, Any] = {"a": {"b": {"c": 1}}, "x": {"y": 1, "z": 2}}
    assert nest_pop(target, ("a", "b", "c"))
    assert nest_pop(target, ("x", "y"))
    assert target == {"x": {"z": 2}}
    assert not nest_pop(target, ("x", "nope"))
    assert not nest_pop(target, ("x", "z", "deeper"))
    assert not nest_pop(target, ())


def test_typed_object_references_stay_whole() -> None:
    ref = {"_type": "image-file", "path": "media/images/img_3_ab.png", "width": 2, "height": 2}
    row = {"img": ref, "eval": {"acc": 0.5, "sample": {"_type": "histogram", "bins": [0, 1], "values": [3]}}}
    assert flatten(row) == {"img": ref, "eval.acc": 0.5, "eval.sample": row["eval"]["sample"]}
    assert flatten({"img": ref}) == {"img": ref}
    assert is_object(ref) and not is_object({"a": 1}) and not is_object([1])
    assert [path for path, _ in iter_leaves(row)] == [("img",), ("eval", "acc"), ("eval", "sample")]
