"""rulec push over real boto3 and real HTTP, against the local Network Firewall emulator."""

import json
import shutil

import boto3
import pytest

from rulec import pipeline
from rulec.aws.push import Pusher, PushError
from tests.conftest import EXAMPLE


def requests_for(policy):
    return pipeline.build(policy).requests


def pusher(server, **kw):
    log = []
    return Pusher(endpoint_url=server.url, log=log.append, backoff=0.01, poll=0.01, wait_timeout=5, **kw), log


def push_all(server, policy) -> None:
    """Bring the emulated account in line with `policy` (the starting point of most tests)."""
    p, _ = pusher(server)
    p.apply(p.plan(requests_for(policy), None, False))


def client(server, region="eu-west-1"):
    return boto3.client("network-firewall", region_name=region, endpoint_url=server.url)


@pytest.fixture
def example(tmp_path):
    shutil.copytree(EXAMPLE.parent, tmp_path / "ex")
    return tmp_path / "ex" / "policy.yaml"


def test_create_then_nothing_to_do(emulator, example):
    p, _ = pusher(emulator)
    plan = p.plan(requests_for(example), None, False)
    assert [(g.name, g.action) for g in plan.groups] == [("Databricks-FQDNs", "create"), ("Deny-Protocols", "create")]
    p.apply(plan)
    remote = client(emulator).describe_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")
    assert remote["RuleGroupResponse"]["Capacity"] == 100
    assert set(remote["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]) == {
        "md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com",
        ".pypi.org",
        ".pythonhosted.org",
        ".cran.r-project.org",
    }
    writes = len(emulator.emulator.writes())
    p2, _ = pusher(emulator)
    plan = p2.plan(requests_for(example), None, False)
    assert not plan.changes and len(emulator.emulator.writes()) == writes


def test_equivalent_remote_forms_are_not_a_change(emulator, example):
    doc = json.loads((EXAMPLE.parent / "out/eu-west-1/Deny-Protocols.json").read_text())
    for rule in doc["RuleGroup"]["RulesSource"]["StatefulRules"]:
        rule["RuleOptions"] = [{"Keyword": "sid", "Settings": [rule["RuleOptions"][0]["Keyword"][4:]]}]
        rule["Header"].update(Source="ANY", Destination="any")
    doc["RuleGroup"]["RulesSource"]["StatefulRules"].reverse()
    client(emulator).create_rule_group(**doc)
    p, _ = pusher(emulator)
    (allow, deny) = p.plan(requests_for(example), None, False).groups
    assert (allow.action, deny.action) == ("create", "none")


def test_update_changes_exactly_what_the_policy_changed(emulator, example):
    push_all(emulator, example)
    example.write_text(
        example.read_text()
        .replace("features: [hive-metastore]", "features: [hive-metastore, github]")
        .replace(", .cran.r-project.org]", "]")
    )
    before = len(emulator.emulator.writes())
    p, log = pusher(emulator)
    plan = p.plan(requests_for(example), None, False)
    allow, deny = plan.groups
    assert (allow.action, deny.action) == ("update", "none")
    assert allow.diff.describe() == [
        "+ .github.com",
        "+ raw.githubusercontent.com",
        "+ release-assets.githubusercontent.com",
        "- .cran.r-project.org",
    ]
    p.apply(plan)
    assert emulator.emulator.writes()[before:] == [("eu-west-1", "UpdateRuleGroup")]
    assert log == ["  updated eu-west-1/Databricks-FQDNs"]


def test_capacity_too_small_blocks_before_any_write_then_replace(emulator, example):
    push_all(emulator, example)
    fw = client(emulator)
    arns = [
        fw.describe_rule_group(RuleGroupName=n, Type="STATEFUL")["RuleGroupResponse"]["RuleGroupArn"]
        for n in ("Databricks-FQDNs", "Deny-Protocols")
    ]
    fw.create_firewall_policy(
        FirewallPolicyName="fw",
        FirewallPolicy={
            "StatelessDefaultActions": ["aws:forward_to_sfe"],
            "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
            "StatefulRuleGroupReferences": [{"ResourceArn": a} for a in arns],
        },
    )
    names = ", ".join(f"h{i}.example.org" for i in range(60))
    example.write_text(
        example.read_text()
        .replace("capacity: 100}\n  deny", "capacity: 500}\n  deny")
        .replace("allow: [.pypi.org,", f"allow: [{names}, .pypi.org,")
    )
    before = len(emulator.emulator.writes())
    p, _ = pusher(emulator)
    plan = p.plan(requests_for(example), None, False)
    assert plan.groups[0].action == "blocked" and "cannot be raised" in plan.groups[0].reason
    with pytest.raises(PushError, match="nothing was written"):
        p.apply(plan)
    assert len(emulator.emulator.writes()) == before
    p, log = pusher(emulator)
    plan = p.plan(requests_for(example), "fw", True)
    assert plan.groups[0].action == "replace"
    p.apply(plan)
    remote = fw.describe_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")
    assert remote["RuleGroupResponse"]["Capacity"] == 500
    refs = [
        r["ResourceArn"]
        for r in fw.describe_firewall_policy(FirewallPolicyName="fw")["FirewallPolicy"]["StatefulRuleGroupReferences"]
    ]
    assert sorted(r.rpartition("/")[2] for r in refs) == ["Databricks-FQDNs", "Deny-Protocols"]
    assert [g["Name"] for g in fw.list_rule_groups()["RuleGroups"]] == ["Databricks-FQDNs", "Deny-Protocols"]
    assert log[0] == "  created eu-west-1/Databricks-FQDNs-rulec-tmp (capacity 500)"


def test_stale_token_shows_remote_change_and_overwrites_nothing(emulator, example):
    push_all(emulator, example)
    example.write_text(example.read_text().replace(", .cran.r-project.org]", "]"))
    p, _ = pusher(emulator)
    plan = p.plan(requests_for(example), None, False)
    emulator.emulator.inject("UpdateRuleGroup", "ConcurrentUpdate")
    with pytest.raises(PushError, match="changed remotely since the plan was made; nothing was overwritten") as info:
        p.apply(plan)
    assert "~ description" in str(info.value)
    remote = client(emulator).describe_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")
    assert remote["RuleGroupResponse"]["Description"] == "changed by someone else"
    assert ".cran.r-project.org" in remote["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]


def test_throttling_and_server_errors_are_retried_with_backoff(emulator, example):
    emulator.emulator.inject("CreateRuleGroup", "ThrottlingException", count=2)
    emulator.emulator.inject("DescribeRuleGroup", "InternalServerError", count=1)
    p, log = pusher(emulator)
    p.apply(p.plan(requests_for(example), None, False))
    assert sum("retrying" in line for line in log) == 3
    assert client(emulator).list_rule_groups()["RuleGroups"][1]["Name"] == "Deny-Protocols"


def test_failure_midway_leaves_each_group_wholly_old_or_new(emulator, example):
    p, _ = pusher(emulator)
    plan = p.plan(requests_for(example), None, False)
    emulator.emulator.inject("CreateRuleGroup", "InternalServerError", count=100, name="Deny-Protocols")
    with pytest.raises(PushError, match="CreateRuleGroup: InternalServerError") as info:
        p.apply(plan)
    assert info.value.done == ["created eu-west-1/Databricks-FQDNs (capacity 100)"]
    assert [g["Name"] for g in client(emulator).list_rule_groups()["RuleGroups"]] == ["Databricks-FQDNs"]
    attempts = [c for c in emulator.emulator.calls if c[1] == "CreateRuleGroup"]
    assert len(attempts) == 2 + p.retries  # group 1: dry run + create; group 2: every retry of its dry run


def test_waits_for_active(aws_env, example):
    from tests.emulator import Emulator
    from tests.emulator.server import Server

    with Server(Emulator(updating_describes=3)) as server:
        p, _ = pusher(server)
        p.apply(p.plan(requests_for(example), None, False))
        describes = [c for c in server.emulator.calls if c[1] == "DescribeRuleGroup"]
        assert len(describes) >= 2 + 2 * 4  # plan + (3 UPDATING + 1 ACTIVE) per group


def test_firewall_policy_strict_order_is_refused(emulator, example):
    client(emulator).create_firewall_policy(
        FirewallPolicyName="strict",
        FirewallPolicy={
            "StatelessDefaultActions": ["aws:forward_to_sfe"],
            "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
            "StatefulEngineOptions": {"RuleOrder": "STRICT_ORDER"},
        },
    )
    p, _ = pusher(emulator)
    plan = p.plan(requests_for(example), "strict", False)
    assert plan.blocked == [
        "eu-west-1/strict: uses STRICT_ORDER; rulec's groups use DEFAULT_ACTION_ORDER and the orders must match"
    ]


def test_a_capacity_change_alone_is_shown_and_needs_replace(emulator, example):
    push_all(emulator, example)
    example.write_text(example.read_text().replace("capacity: 100}\n  deny", "capacity: 200}\n  deny"))
    p, _ = pusher(emulator)
    plan = p.plan(requests_for(example), None, False)
    assert not plan.changes
    assert plan.describe()[0] == (
        "eu-west-1/Databricks-FQDNs: no change (capacity stays 100: fixed at creation, "
        "the policy asks 200 (--replace changes it))"
    )
