"""Config defaults and validation, as raft-rs's `Config`."""

import pytest

from raft_ref.config import Config
from raft_ref.errors import ConfigInvalid
from raft_ref.read_only import ReadOnlyOption


def test_defaults() -> None:
    c = Config()
    assert c.id == 0
    assert c.election_tick == 20
    assert c.heartbeat_tick == 2
    assert c.applied == 0
    assert c.max_size_per_msg == 0
    assert c.max_inflight_msgs == 256
    assert c.check_quorum is False
    assert c.pre_vote is False
    assert c.min_election_tick == 0
    assert c.max_election_tick == 0
    assert c.read_only_option is ReadOnlyOption.Safe
    assert c.skip_bcast_commit is False
    assert c.batch_append is False
    assert c.tag == ""
    assert c.seed == 0


def test_new_sets_id_and_tag() -> None:
    c = Config.new(7)
    assert (c.id, c.tag) == (7, "7")
    assert c == Config(id=7, tag="7")
    c.validate()


def test_effective_election_ticks() -> None:
    c = Config.new(1)
    c.election_tick = 10
    assert (c.effective_min_election_tick(), c.effective_max_election_tick()) == (10, 20)
    c.min_election_tick, c.max_election_tick = 12, 15
    assert (c.effective_min_election_tick(), c.effective_max_election_tick()) == (12, 15)


def test_clone_is_equal_and_independent() -> None:
    c = Config.new(3)
    copy = c.clone()
    assert copy == c
    copy.election_tick = 99
    assert c.election_tick == 20


# Each case changes Config.new(1) and names the field the error must mention.
INVALID = [
    ({"id": 0}, "id"),
    ({"heartbeat_tick": 0}, "heartbeat_tick"),
    ({"election_tick": 2}, "election_tick"),
    ({"election_tick": 1}, "election_tick"),
    ({"min_election_tick": 19}, "min_election_tick"),
    ({"min_election_tick": 40}, "max_election_tick"),
    ({"min_election_tick": 20, "max_election_tick": 20}, "max_election_tick"),
    ({"max_election_tick": 10}, "max_election_tick"),
    ({"max_inflight_msgs": 0}, "max_inflight_msgs"),
    ({"read_only_option": ReadOnlyOption.LeaseBased}, "check_quorum"),
]


@pytest.mark.parametrize(("changes", "field"), INVALID)
def test_validate_rejects(changes: dict[str, object], field: str) -> None:
    c = Config.new(1)
    for name, value in changes.items():
        setattr(c, name, value)
    with pytest.raises(ConfigInvalid, match=field):
        c.validate()


VALID = [
    {},
    {"election_tick": 3, "heartbeat_tick": 2},
    {"min_election_tick": 20, "max_election_tick": 21},
    {"max_election_tick": 41},
    {"read_only_option": ReadOnlyOption.LeaseBased, "check_quorum": True},
    {"max_size_per_msg": 0, "applied": 5},
]


@pytest.mark.parametrize("changes", VALID)
def test_validate_accepts(changes: dict[str, object]) -> None:
    c = Config.new(1)
    for name, value in changes.items():
        setattr(c, name, value)
    c.validate()


def test_validate_matches_upstream_election_tick_cases() -> None:
    # The validation cases of raft-rs test_raft.rs test_election_tick_range.
    cfg = Config.new(1)
    cfg.min_election_tick = cfg.election_tick
    cfg.validate()
    cfg.min_election_tick = cfg.election_tick - 1
    with pytest.raises(ConfigInvalid):
        cfg.validate()
    cfg.min_election_tick = cfg.election_tick
    cfg.max_election_tick = cfg.election_tick
    with pytest.raises(ConfigInvalid):
        cfg.validate()
    cfg.max_election_tick = cfg.election_tick + 1
    cfg.validate()
