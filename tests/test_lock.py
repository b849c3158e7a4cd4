import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulec.compile.lock import Lock, assign, dump_lock, lock_path, parse_lock
from rulec.errors import RulecError

keys = st.lists(
    st.sampled_from([f"deny-protocol:{p}" for p in ("FTP", "SSH", "ICMP", "TCP", "UDP", "SMB", "DNS")]),
    unique=True,
    max_size=7,
)


@given(st.lists(keys, min_size=1, max_size=8))
def test_sids_never_change_and_are_never_reused(history):
    lock = Lock()
    ever: dict[str, int] = {}
    for wanted in history:
        lock = parse_lock(dump_lock(assign(lock, {"G": wanted})), "lock")  # round trip every step
        g = lock.groups["G"]
        assert set(g.sids) == set(wanted)
        for key, sid in {**g.sids, **g.retired}.items():
            assert ever.setdefault(key, sid) == sid  # a key keeps its SID forever
        assert len(set(ever.values())) == len(ever)  # no SID ever names two keys
        assert g.next_sid > max(ever.values(), default=0)


@given(keys)
def test_assign_is_deterministic_and_idempotent(wanted):
    once = assign(Lock(), {"G": wanted})
    assert dump_lock(assign(once, {"G": wanted})) == dump_lock(once) == dump_lock(assign(Lock(), {"G": wanted}))


def test_new_rules_get_sids_in_order_and_reordering_changes_nothing():
    lock = assign(Lock(), {"G": ["a", "b", "c"]})
    assert lock.groups["G"].sids == {"a": 1, "b": 2, "c": 3}
    lock = assign(lock, {"G": ["c", "a"]})
    assert lock.groups["G"].sids == {"c": 3, "a": 1} and lock.groups["G"].retired == {"b": 2}
    lock = assign(lock, {"G": ["d", "b"]})
    assert lock.groups["G"].sids == {"d": 4, "b": 2}
    lock = assign(lock, {})
    assert lock.groups["G"].sids == {} and lock.groups["G"].next_sid == 5  # a dropped group keeps its history


def test_lock_path():
    from pathlib import Path

    assert lock_path(Path("a/policy.yaml")) == Path("a/policy.lock.json")
    assert lock_path(Path("a/p.yml")) == Path("a/p.lock.json")


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"{", "lock:1:2: lock file is not valid JSON"),
        (b'{"version": 1}', "lock file is damaged"),
        (
            json.dumps({"version": 1, "groups": {"G": {"next_sid": 2, "sids": {"a": 1, "b": 1}}}}).encode(),
            "duplicate or invalid SIDs",
        ),
        (
            json.dumps(
                {"version": 1, "groups": {"G": {"next_sid": 2, "sids": {"a": 1}, "retired": {"b": 5}}}}
            ).encode(),
            "duplicate or invalid SIDs",
        ),
    ],
)
def test_damaged_lock(raw, message):
    with pytest.raises(RulecError, match=message):
        parse_lock(raw, "lock")
