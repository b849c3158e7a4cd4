"""SID lock: once a stateful rule gets a SID it keeps it, and a retired SID is never reused.

The lock sits beside the policy (`policy.yaml` -> `policy.lock.json`) and is meant to be committed.
SIDs are per rule group name, shared by every region that deploys that group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rulec.errors import Position, error_at
from rulec.load.source import parse_json, read_bytes

LOCK_VERSION = 1
MAX_SID = 2**32 - 1  # Suricata's signature ids are unsigned 32-bit numbers


@dataclass
class GroupLock:
    next_sid: int = 1
    sids: dict[str, int] = field(default_factory=dict)  # rule key -> SID, rules in use
    retired: dict[str, int] = field(default_factory=dict)  # rule key -> SID, rules no longer in use


@dataclass
class Lock:
    groups: dict[str, GroupLock] = field(default_factory=dict)


def lock_path(policy_path: Path) -> Path:
    name = policy_path.name
    for suffix in (".yaml", ".yml"):
        name = name.removesuffix(suffix)
    return policy_path.with_name(name + ".lock.json")


def parse_lock(raw: bytes, file: str) -> Lock:
    data = parse_json(raw, file, "lock file")
    bad = error_at(Position(file, 1, 1), "lock file is damaged; restore it from git (SIDs must not change)")
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION or not isinstance(data.get("groups"), dict):
        raise bad
    lock = Lock()
    for name, g in data["groups"].items():
        if not isinstance(g, dict) or not _sid(g.get("next_sid"), MAX_SID + 1):
            raise error_at(
                Position(file, 1, 1),
                f"lock for group '{name}': next_sid must be a whole number from 1 to {MAX_SID + 1}; restore it from git",
            )
        sids, retired = g.get("sids", {}), g.get("retired", {})
        if not isinstance(sids, dict) or not isinstance(retired, dict):
            raise bad
        gl = GroupLock(g["next_sid"], dict(sids), dict(retired))
        used = list(gl.sids.values()) + list(gl.retired.values())
        if len(set(used)) != len(used) or any(not _sid(s) for s in used) or any(s >= gl.next_sid for s in used):
            raise error_at(
                Position(file, 1, 1),
                f"lock for group '{name}' has duplicate or invalid SIDs (each a whole number from 1 to {MAX_SID}, "
                "below next_sid); restore it from git",
            )
        lock.groups[name] = gl
    return lock


def _sid(value: object, top: int = MAX_SID) -> bool:
    return type(value) is int and 1 <= value <= top


def read_lock(path: Path) -> Lock:
    if not path.exists():
        return Lock()
    return parse_lock(read_bytes(path), str(path))


def dump_lock(lock: Lock) -> bytes:
    groups = {
        name: {
            "next_sid": g.next_sid,
            "retired": dict(sorted(g.retired.items(), key=lambda kv: kv[1])),
            "sids": dict(sorted(g.sids.items(), key=lambda kv: kv[1])),
        }
        for name, g in sorted(lock.groups.items())
    }
    return (json.dumps({"version": LOCK_VERSION, "groups": groups}, indent=2) + "\n").encode()


def assign(lock: Lock, wanted: dict[str, list[str]]) -> Lock:
    """Return a new lock giving every rule key in `wanted` (group -> keys, in order) a SID.

    Keys keep their SID; keys that come back get their retired SID again; new keys get fresh SIDs
    in the order given; keys no longer wanted are retired. Groups no longer wanted are kept whole
    (retired), so that a group name that returns never reuses its SIDs.
    """
    out = Lock()
    for name in sorted(set(lock.groups) | set(wanted)):
        old = lock.groups.get(name, GroupLock())
        keys = wanted.get(name, [])
        known = {**old.retired, **old.sids}
        g = GroupLock(old.next_sid)
        for key in keys:
            if key in known:
                g.sids[key] = known[key]
            else:
                if g.next_sid > MAX_SID:
                    raise error_at(Position(name), f"group '{name}' has used every SID up to {MAX_SID}")
                g.sids[key] = g.next_sid
                g.next_sid += 1
        g.retired = {k: s for k, s in known.items() if k not in g.sids}
        out.groups[name] = g
    return out
