"""At Network Firewall's limits (issue 12): a Classic strict policy of 24,999 names builds and says that its
groups overflow a firewall policy's pool; a Next Generation policy builds at the largest size its firewall engine
holds and is refused, with the numbers, one name past it. Timings are in benchmarks/, never asserted here."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rulec import pipeline
from rulec.compile.nextgen import FIREWALL_CAPACITY
from rulec.compile.plan import pool_note
from rulec.errors import RulecError


def names(n: int) -> str:
    return "".join(f"      - host{i}.svc{i % 97}.example.org\n" for i in range(n))


def policy(n: int, head: str) -> str:
    return (
        f"version: 1\n{head}firewall_policy:\n  name: egress\nregions:\n  eu-west-1:\n"
        f"    home_net: [10.0.0.0/16]\n    allow:\n{names(n)}"
    )


def groups(*pairs):
    return [SimpleNamespace(capacity=c, rule_count=r) for c, r in pairs]


def test_pool_note_tells_which_limit_and_what_to_do():
    assert pool_note(groups((20_000, 100), (10_000, 5))) is None  # exactly the default pool
    over = pool_note(groups((25_000, 100), (6_000, 5)))
    assert "31,000 capacity, more than a firewall policy's default 30,000" in over
    assert "set smaller explicit capacities or ask for the quota increase" in over
    needs = pool_note(groups((40_000, 35_000)))
    assert "the rules need 35,000: ask for the quota increase" in needs
    beyond = pool_note(groups((50_000, 50_000), (100, 7)))
    assert "50,100 capacity, more than a firewall policy holds even with a quota increase (50,000)" in beyond
    assert "the rules alone need 50,007: remove names or split them over two firewalls" in beyond
    assert "set smaller explicit capacities" in pool_note(groups((50_000, 20), (1_000, 7)))


def test_classic_strict_at_24999_names_builds_and_reports_the_pool(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(policy(24_999, "egress: strict\n"))
    result = pipeline.build(path)
    allow = result.plans[0].groups[0]
    assert (allow.rule_count, allow.capacity) == (50_000, 50_000)
    text = pipeline.figures(result)
    assert "reserve 50,100 capacity, more than a firewall policy holds even with a quota increase" in text
    assert len(result.requests["eu-west-1"][0]["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]) == 24_999
    assert pipeline.pool_warnings(result) == [f"eu-west-1: {pool_note(result.plans[0].groups)}"]


def test_quiet_build_still_warns_about_the_pool(cli, write_policy, tmp_path):
    big = write_policy(
        """
        version: 1
        groups: {allowlist: {name: A, capacity: 25000}, deny: {name: D, capacity: 6000}}
        deny_protocols: [SSH]
        regions:
          eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}
        """
    )
    r = cli("build", big, "-o", tmp_path / "out", "-q")
    assert r.exit_code == 0 and r.stdout == ""
    assert r.stderr.startswith("warning: eu-west-1: the groups reserve 31,000 capacity, more than a firewall policy")


def test_nextgen_builds_at_the_engines_limit_and_refuses_one_name_more(tmp_path):
    path = tmp_path / "policy.yaml"
    # two rules per name (TLS SNI, HTTP Host) and the fixed carrier and drop rules
    fixed = pipeline.build(_write(path, policy(1, "engine: next-gen\n"))).plans[0].nextgen
    per_name, base = 2, sum(g.rule_count for g in fixed.groups) - 2
    largest = (FIREWALL_CAPACITY - base) // per_name
    built = pipeline.build(_write(path, policy(largest, "engine: next-gen\n"))).plans[0].nextgen
    assert sum(g.rule_count for g in built.groups) <= FIREWALL_CAPACITY
    assert sum(g.capacity for g in built.groups) <= FIREWALL_CAPACITY
    with pytest.raises(RulecError) as exc:
        pipeline.build(_write(path, policy(largest + 1, "engine: next-gen\n")))
    message = str(exc.value.diagnostics[0])
    assert f"needs {base + per_name * (largest + 1):,} firewall rules, more than the 30,000" in message
    with pytest.raises(RulecError, match=r"needs 50,0\d\d firewall rules"):
        pipeline.build(_write(path, policy(24_999, "engine: next-gen\n")))


def _write(path, text):
    path.write_text(text)
    return path
