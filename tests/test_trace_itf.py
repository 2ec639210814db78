"""The ITF layer against the rules of Apalache ADR-015, with hand-written documents in the
shape of the ADR's examples (a two-variable puzzle trace, reworded), and round trips."""

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.trace.itf import (
    ItfError,
    ItfMap,
    ItfSet,
    Unserializable,
    canonical_text,
    decode,
    encode,
    validate,
)

# A ferry puzzle in ITF: where the ferry is, and who waits on each shore.
VALID = {
    "#meta": {"source": "Ferry.tla", "description": "hand written"},
    "vars": ["ferry_at", "waiting"],
    "states": [
        {
            "#meta": {"index": 0},
            "ferry_at": "north",
            "waiting": {
                "#map": [
                    ["north", {"#set": ["goat", "wolf"]}],
                    ["south", {"#set": []}],
                ]
            },
        },
        {
            "#meta": {"index": 1},
            "ferry_at": "south",
            "waiting": {
                "#map": [
                    ["north", {"#set": ["wolf"]}],
                    ["south", {"#set": ["goat"]}],
                ]
            },
        },
    ],
}


def broken(change):
    document = copy.deepcopy(VALID)
    change(document)
    return document


def test_adr_shaped_document_is_valid():
    validate(VALID)


def test_meta_params_and_loop_are_optional_and_checked():
    document = copy.deepcopy(VALID)
    del document["#meta"]
    validate(document)
    document["params"] = ["boat_size"]
    document["states"][0]["boat_size"] = {"#bigint": "2"}
    document["loop"] = 1
    validate(document)


def test_plain_json_integers_in_safe_range_and_booleans_are_values():
    assert decode(123) == 123
    assert decode(-(2**53) + 1) == -(2**53) + 1
    assert decode(True) is True
    assert decode({"#bigint": "-12345678901234567890"}) == -12345678901234567890


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("vars"), "missing 'vars'"),
        (lambda d: d.pop("states"), "missing 'states'"),
        (lambda d: d.update(vars="ferry_at"), "array of strings"),
        (lambda d: d.update(vars=["ferry_at", 3]), "array of strings"),
        (lambda d: d.update({"#meta": []}), "#meta must be an object"),
        (lambda d: d.update(loop=2), "loop 2 is not an index"),
        (lambda d: d.update(loop=-1), "loop -1 is not an index"),
        (lambda d: d.update(loop="1"), "loop must be an integer"),
        (lambda d: d.update(loop=True), "loop must be an integer"),
        (lambda d: d.update(trail=[]), "unknown trace field"),
        (lambda d: d.update(params="x"), "'params' must be an array"),
        (lambda d: d.update(params=["boat_size"]), "state 0 has no value for boat_size"),
        (lambda d: d["states"][1].pop("waiting"), "state 1 has no value for waiting"),
        (lambda d: d["states"][0].update(extra=1), "not in vars/params"),
        (lambda d: d["states"][0].update({"#meta": 3}), "#meta must be an object"),
        (lambda d: d["states"].append([]), "state 2 is not an object"),
        (lambda d: d["states"][0].update(ferry_at=1.5), "not an integer"),
        (lambda d: d["states"][0].update(ferry_at=None), "null"),
        (lambda d: d["states"][0].update(ferry_at=2**53), "JSON-safe range"),
        (lambda d: d["states"][0].update(ferry_at={"#bigint": "12a"}), "#bigint"),
        (lambda d: d["states"][0].update(ferry_at={"#bigint": 12}), "#bigint"),
        (lambda d: d["states"][0].update(ferry_at={"#set": "ab"}), "#set needs an array"),
        (lambda d: d["states"][0].update(ferry_at={"#tup": {}}), "#tup needs an array"),
        (lambda d: d["states"][0].update(ferry_at={"#map": [[1]]}), "[key, value]"),
        (lambda d: d["states"][0].update(ferry_at={"#set": [], "x": 1}), "exactly one of"),
        (lambda d: d["states"][0].update(ferry_at={"#color": "red"}), "exactly one of"),
    ],
)
def test_documents_breaking_a_rule_are_rejected(change, message):
    with pytest.raises(ItfError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(broken(change))


def test_non_object_document_is_rejected():
    with pytest.raises(ItfError, match="JSON object"):
        validate([VALID])


def test_python_values_encode_to_the_itf_forms():
    value = {
        "n": 7,
        "flag": False,
        "s": "x",
        "seq": [1, 2],
        "pair": (1, "a"),
        "set": ItfSet.of([3, 1, 2]),
        "map": ItfMap.of([(2, "b"), (1, "a")]),
        "odd": Unserializable("fn"),
    }
    assert encode(value) == {
        "n": {"#bigint": "7"},
        "flag": False,
        "s": "x",
        "seq": [{"#bigint": "1"}, {"#bigint": "2"}],
        "pair": {"#tup": [{"#bigint": "1"}, "a"]},
        "set": {"#set": [{"#bigint": "1"}, {"#bigint": "2"}, {"#bigint": "3"}]},
        "map": {"#map": [[{"#bigint": "1"}, "a"], [{"#bigint": "2"}, "b"]]},
        "odd": {"#unserializable": "fn"},
    }


def test_record_fields_starting_with_hash_cannot_be_written():
    with pytest.raises(ItfError, match="must be a string not starting with '#'"):
        encode({"#set": 1})


def test_sets_are_written_in_one_order_whatever_the_input_order():
    assert canonical_text(ItfSet.of(["b", "a"])) == canonical_text(ItfSet.of(["a", "b"]))


values = st.recursive(
    st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.lists(inner, max_size=3).map(ItfSet.of)
        | st.lists(st.tuples(inner, inner), max_size=3).map(ItfMap.of)
        | st.dictionaries(st.text(alphabet="abc_", min_size=1, max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(values)
def test_every_value_survives_encoding_json_and_decoding(value):
    text = json.dumps(encode(value))
    assert decode(json.loads(text)) == value
