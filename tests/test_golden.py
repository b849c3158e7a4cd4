"""Golden cases: policy (+ optional input lock) -> exact output tree and lock.

Regenerate after an intended change with `RULEC_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and
review the diff like any other change.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from rulec import pipeline
from tests.conftest import EXAMPLE

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "policy.yaml").is_file())


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES)
def test_golden(case, tmp_path):
    src = GOLDEN / case
    shutil.copy(src / "policy.yaml", tmp_path / "policy.yaml")
    if (src / "input.lock.json").exists():
        shutil.copy(src / "input.lock.json", tmp_path / "policy.lock.json")
    result = pipeline.build(tmp_path / "policy.yaml")
    pipeline.write(result, tmp_path / "out")
    got = tree(tmp_path / "out")
    got["policy.lock.json"] = (tmp_path / "policy.lock.json").read_bytes()
    expected_dir = src / "expected"
    if os.environ.get("RULEC_UPDATE_GOLDEN"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in got.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_bytes(data)
    assert got == tree(expected_dir)


def test_reference_example_reproduces_the_seed_documents(tmp_path):
    seed = GOLDEN / "reference-seed"
    result = pipeline.build(EXAMPLE)
    allow = json.loads(result.files["eu-west-1/Databricks-FQDNs.json"])
    deny = json.loads(result.files["eu-west-1/Deny-Protocols.json"])
    assert allow["RuleGroup"] == json.loads((seed / "allow-list-fqdns.json").read_text())
    assert deny["RuleGroup"] == json.loads((seed / "deny-list.json").read_text())
    assert (allow["Capacity"], deny["Capacity"]) == (100, 100)


@pytest.mark.parametrize("example", sorted(p.parent.name for p in EXAMPLE.parent.parent.glob("*/policy.yaml")))
def test_committed_example_output_is_up_to_date(example):
    policy = EXAMPLE.parent.parent / example / "policy.yaml"
    assert pipeline.check(pipeline.build(policy), policy.parent / "out") == []


def test_lock_history_case_keeps_and_reuses_sids():
    lock = json.loads((GOLDEN / "lock-history" / "expected" / "policy.lock.json").read_text())
    g = lock["groups"]["Deny-Protocols"]
    assert g["sids"] == {"deny-protocol:FTP": 1, "deny-protocol:ICMP": 3, "deny-protocol:TCP": 5}
    assert g["retired"] == {"deny-protocol:SSH": 2, "deny-protocol:SMB": 4} and g["next_sid"] == 6
