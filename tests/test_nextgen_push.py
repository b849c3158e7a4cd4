"""`rulec push` of an engine: next-gen policy against the local emulator (real boto3 over real HTTP): FIREWALL
groups and the FirewallPolicyV2 created and updated with UpdateTokens, no writes when in sync, monitor -> enforce,
enforce -> monitor refused without --allow-unenforced, stale tokens and too-small capacity stop before writing."""

import json
import shutil

import boto3
import pytest

from tests.conftest import ROOT

SOURCE = ROOT / "examples/next-gen"


@pytest.fixture
def example(tmp_path):
    shutil.copytree(SOURCE, tmp_path / "ex")
    return tmp_path / "ex" / "policy.yaml"


def _mode(cli, policy, mode):
    policy.write_text(
        policy.read_text()
        .replace("  mode: enforce\n", f"  mode: {mode}\n")
        .replace("  mode: monitor\n", f"  mode: {mode}\n")
    )
    r = cli("build", policy, "-o", policy.parent / "out")
    assert r.exit_code == 0, r.output


def _push(cli, emulator, policy, *extra):
    return cli("push", policy, "-o", policy.parent / "out", "--endpoint-url", emulator.url, *extra)


def _fw(emulator):
    return boto3.client("network-firewall", region_name="eu-west-1", endpoint_url=emulator.url)


def test_monitor_first_then_enforce(cli, emulator, example):
    _mode(cli, example, "monitor")
    r = _push(cli, emulator, example, "--dry-run")
    assert r.exit_code == 1 and "MONITOR: nothing will be blocked (a first step for a new firewall)" in r.stdout
    assert emulator.emulator.groups.get("eu-west-1", {}) == {} and emulator.emulator._v2("eu-west-1") == {}
    r = _push(cli, emulator, example, "--yes")
    assert r.exit_code == 0, r.output
    assert "FIREWALL rule group eu-west-1/Databricks-NextGen-Allow: created" in r.stdout
    live = _fw(emulator).describe_firewall_policy_v2(FirewallPolicyV2Name="databricks-egress-nextgen")
    body = live["FirewallPolicyV2"]
    assert body["PolicyMode"] == "MONITOR" and body["FirewallDefaultAction"] == "DROP"
    assert [e["ResourceArn"] for e in body["FirewallRuleGroupEntries"]] == [
        "arn:aws:network-firewall:eu-west-1:123456789012:firewall-rulegroup/Databricks-NextGen-Services",
        "arn:aws:network-firewall:eu-west-1:123456789012:firewall-rulegroup/Databricks-NextGen-Allow",
    ]
    group = _fw(emulator).describe_rule_group(RuleGroupName="Databricks-NextGen-Allow", Type="FIREWALL")
    assert group["RuleGroupResponse"]["Type"] == "FIREWALL" and group["RuleGroupResponse"]["ConsumedCapacity"] == 40
    writes = len(emulator.emulator.writes())
    r = _push(cli, emulator, example, "--yes")
    assert r.exit_code == 0 and "nothing to do: the firewall matches the policy" in r.stdout
    assert len(emulator.emulator.writes()) == writes  # no-op without writes
    _mode(cli, example, "enforce")
    r = _push(cli, emulator, example, "--yes")
    assert r.exit_code == 0 and "PolicyMode MONITOR -> ENFORCE" in r.stdout, r.output
    live = _fw(emulator).describe_firewall_policy_v2(FirewallPolicyV2Name="databricks-egress-nextgen")
    assert live["FirewallPolicyV2"]["PolicyMode"] == "ENFORCE"
    assert emulator.emulator.writes()[writes:] == [("eu-west-1", "UpdateFirewallPolicyV2")]


def test_enforce_to_monitor_needs_allow_unenforced(cli, emulator, example):
    assert _push(cli, emulator, example, "--yes").exit_code == 0
    _mode(cli, example, "monitor")
    writes = len(emulator.emulator.writes())
    r = _push(cli, emulator, example, "--yes")
    assert r.exit_code == 1, r.output
    assert "PolicyMode ENFORCE -> MONITOR" in r.stdout and "nothing will be blocked" in r.stdout
    assert "refused without --allow-unenforced" in r.stdout and "nothing was written" in r.stderr
    assert len(emulator.emulator.writes()) == writes
    r = _push(cli, emulator, example, "--yes", "--allow-unenforced")
    assert r.exit_code == 0, r.output
    live = _fw(emulator).describe_firewall_policy_v2(FirewallPolicyV2Name="databricks-egress-nextgen")
    assert live["FirewallPolicyV2"]["PolicyMode"] == "MONITOR"


def test_group_update_uses_its_token_and_a_concurrent_change_stops_the_push(cli, emulator, example):
    assert _push(cli, emulator, example, "--yes").exit_code == 0
    example.write_text(
        example.read_text().replace("features: [workspace,", "allow: [api.example.org]\n    features: [workspace,")
    )
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    emulator.emulator.inject("UpdateRuleGroup", "ConcurrentUpdate", name="Databricks-NextGen-Allow")
    r = _push(cli, emulator, example, "--yes")
    assert r.exit_code == 1 and "changed since it was read; nothing was overwritten" in r.stderr, r.output
    group = _fw(emulator).describe_rule_group(RuleGroupName="Databricks-NextGen-Allow", Type="FIREWALL")
    assert "api.example.org" not in str(group["FirewallRuleGroup"])
    r = _push(cli, emulator, example, "--yes")
    assert r.exit_code == 0, r.output
    group = _fw(emulator).describe_rule_group(RuleGroupName="Databricks-NextGen-Allow", Type="FIREWALL")
    assert "api.example.org" in str(group["FirewallRuleGroup"])


def test_a_group_that_outgrew_its_capacity_is_blocked_before_any_write(cli, emulator, example):
    assert _push(cli, emulator, example, "--yes").exit_code == 0
    names = "".join(f"      - h{i}.example.org\n" for i in range(40))
    example.write_text(
        example.read_text().replace("    features: [workspace,", "    allow:\n" + names + "    features: [workspace,")
    )
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    writes = len(emulator.emulator.writes())
    r = _push(cli, emulator, example, "--yes")
    assert r.exit_code == 1 and "BLOCKED" in r.stdout and "do not fit its capacity 100" in r.stdout, r.output
    assert len(emulator.emulator.writes()) == writes


def test_the_emulator_refuses_what_the_service_documents(emulator):
    fw = _fw(emulator)
    rule = {
        "Action": "DROP",
        "ActionScope": "HOOK",
        "Hook": "TCP_ALL",
        "Protocol": "TCP",
        "RuleOptions": [{"Keyword": "sid", "Settings": ["1"]}],
    }
    with pytest.raises(fw.exceptions.InvalidRequestException, match="only FLOW and PACKET"):
        fw.create_rule_group(
            RuleGroupName="g",
            Type="FIREWALL",
            Capacity=10,
            FirewallRuleGroup={"RulesSource": {"FirewallRules": [rule]}},
        )
    rule.update(Action="ACCEPT", Protocol="TLS")
    with pytest.raises(fw.exceptions.InvalidRequestException, match="does not match hook"):
        fw.create_rule_group(
            RuleGroupName="g",
            Type="FIREWALL",
            Capacity=10,
            FirewallRuleGroup={"RulesSource": {"FirewallRules": [rule]}},
        )
    with pytest.raises(fw.exceptions.InvalidRequestException, match="PolicyMode"):
        fw.create_firewall_policy_v2(FirewallPolicyV2Name="p", FirewallPolicyV2={"PolicyMode": "AUDIT"})


def test_replace_grows_capacity_and_the_policy_always_references_a_complete_group(cli, emulator, example):
    assert _push(cli, emulator, example, "--yes").exit_code == 0
    names = "".join(f"      - h{i}.example.org\n" for i in range(40))
    example.write_text(
        example.read_text().replace("    features: [workspace,", "    allow:\n" + names + "    features: [workspace,")
    )
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    r = _push(cli, emulator, example, "--yes", "--replace")
    assert r.exit_code == 0, r.output
    assert "replace it with capacity 200 via Databricks-NextGen-Allow-rulec-tmp" in r.stdout
    assert "references Databricks-NextGen-Allow-rulec-tmp instead of Databricks-NextGen-Allow" in r.stdout
    fw = _fw(emulator)
    group = fw.describe_rule_group(RuleGroupName="Databricks-NextGen-Allow", Type="FIREWALL")["RuleGroupResponse"]
    assert group["Capacity"] == 200 and group["ConsumedCapacity"] == 120
    assert set(emulator.emulator.groups["eu-west-1"]) == {"Databricks-NextGen-Allow", "Databricks-NextGen-Services"}
    live = fw.describe_firewall_policy_v2(FirewallPolicyV2Name="databricks-egress-nextgen")["FirewallPolicyV2"]
    assert [(e["Priority"], e["ResourceArn"].rpartition("/")[2]) for e in live["FirewallRuleGroupEntries"]] == [
        (100, "Databricks-NextGen-Services"),
        (200, "Databricks-NextGen-Allow"),
    ]
    assert _push(cli, emulator, example, "--yes").stdout.endswith("nothing to do: the firewall matches the policy\n")


@pytest.mark.parametrize("step", ["CreateRuleGroup", "UpdateFirewallPolicyV2", "DeleteRuleGroup"])
def test_an_interrupted_replace_converges_when_run_again(cli, emulator, example, step):
    assert _push(cli, emulator, example, "--yes").exit_code == 0
    names = "".join(f"      - h{i}.example.org\n" for i in range(40))
    example.write_text(
        example.read_text().replace("    features: [workspace,", "    allow:\n" + names + "    features: [workspace,")
    )
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    emulator.emulator.inject(step, "DropConnection")
    r = _push(cli, emulator, example, "--yes", "--replace")
    assert r.exit_code == 1 and "push stopped" in r.stderr, r.output
    r = _push(cli, emulator, example, "--yes", "--replace")
    assert r.exit_code == 0, r.output
    assert set(emulator.emulator.groups["eu-west-1"]) == {"Databricks-NextGen-Allow", "Databricks-NextGen-Services"}
    group = _fw(emulator).describe_rule_group(RuleGroupName="Databricks-NextGen-Allow", Type="FIREWALL")
    assert group["RuleGroupResponse"]["Capacity"] == 200


def test_drift_reports_what_push_would_change(cli, emulator, example):
    out = example.parent / "out"
    r = cli("drift", example, "-o", out, "--endpoint-url", emulator.url)
    assert r.exit_code == 1 and "Databricks-NextGen-Allow: create" in r.stdout, r.output
    assert _push(cli, emulator, example, "--yes").exit_code == 0
    writes = len(emulator.emulator.writes())
    r = cli("drift", example, "-o", out, "--endpoint-url", emulator.url)
    assert r.exit_code == 0 and r.stdout.endswith("no drift\n"), r.output
    fw = _fw(emulator)
    live = fw.describe_firewall_policy_v2(FirewallPolicyV2Name="databricks-egress-nextgen")
    body = dict(live["FirewallPolicyV2"], PolicyMode="MONITOR")
    fw.update_firewall_policy_v2(
        FirewallPolicyV2Name="databricks-egress-nextgen", FirewallPolicyV2=body, UpdateToken=live["UpdateToken"]
    )
    r = cli("drift", example, "-o", out, "--endpoint-url", emulator.url, "--format", "json")
    assert r.exit_code == 1, r.output
    assert json.loads(r.stdout) == [
        {
            "region": "eu-west-1",
            "kind": "policy",
            "name": "databricks-egress-nextgen",
            "change": "update",
            "notes": ["PolicyMode MONITOR -> ENFORCE"],
        }
    ]
    assert len(emulator.emulator.writes()) == writes + 1  # drift itself never writes
