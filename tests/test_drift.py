"""`rulec drift`: changes made behind rulec's back in the emulator, found with their origin."""

import json
import shutil

import boto3
import pytest

from tests.conftest import EXAMPLE
from tests.test_push_policy import declare_policy, policy_doc

REGION = "eu-west-1"


@pytest.fixture
def example(tmp_path):
    shutil.copytree(EXAMPLE.parent, tmp_path / "ex")
    return tmp_path / "ex" / "policy.yaml"


def fw(server):
    return boto3.client("network-firewall", region_name=REGION, endpoint_url=server.url)


def run(cli, command, server, example, *args):
    return cli(command, example, "-o", example.parent / "out", "--endpoint-url", server.url, *args)


def edit_targets(server, change) -> None:
    live = fw(server).describe_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")
    rsl = live["RuleGroup"]["RulesSource"]["RulesSourceList"]
    rsl["Targets"] = change(rsl["Targets"])
    fw(server).update_rule_group(
        RuleGroupName="Databricks-FQDNs", Type="STATEFUL", RuleGroup=live["RuleGroup"], UpdateToken=live["UpdateToken"]
    )


def test_in_sync_then_changes_behind_rulecs_back(cli, emulator, example):
    assert run(cli, "push", emulator, example, "--yes").exit_code == 0
    writes = len(emulator.emulator.writes())
    r = run(cli, "drift", emulator, example)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "in sync: the live firewall matches the reviewed build"
    edit_targets(emulator, lambda t: [n for n in t if n != ".pypi.org"] + ["paste.example.net"])
    r = run(cli, "drift", emulator, example)
    assert r.exit_code == 1, r.output
    line = next(i for i, text in enumerate(example.read_text().splitlines(), 1) if "allow: [.pypi.org" in text)
    lines = r.stdout.splitlines()
    assert lines[:2] == ["eu-west-1/Databricks-FQDNs: drift", "    + .pypi.org"]
    assert lines[2].startswith(f"        origin: allow at {example}:{line}:")
    assert lines[3:5] == [
        "    - paste.example.net",
        "        origin: live only: not in the reviewed build (changed behind rulec's back)",
    ]
    assert r.stdout.rstrip().endswith("2 difference(s) between the live firewall and the reviewed build")
    assert len(emulator.emulator.writes()) == writes + 1  # drift itself never writes
    data = json.loads(run(cli, "drift", emulator, example, "--format", "json").stdout)
    assert [(d["resource"], d["change"]) for d in data["drift"]] == [
        ("Databricks-FQDNs", "+ .pypi.org"),
        ("Databricks-FQDNs", "- paste.example.net"),
    ]
    assert data["drift"][0]["origin"].startswith("allow at ")


def test_a_deleted_group_and_a_changed_rule_are_drift(cli, emulator, example):
    assert run(cli, "push", emulator, example, "--yes").exit_code == 0
    live = fw(emulator).describe_rule_group(RuleGroupName="Deny-Protocols", Type="STATEFUL")
    rules = live["RuleGroup"]["RulesSource"]["StatefulRules"]
    rules[0]["Action"] = "PASS"
    fw(emulator).update_rule_group(
        RuleGroupName="Deny-Protocols", Type="STATEFUL", RuleGroup=live["RuleGroup"], UpdateToken=live["UpdateToken"]
    )
    r = run(cli, "drift", emulator, example)
    assert r.exit_code == 1
    assert (
        "    + sid 1: DROP FTP ANY ANY <> ANY ANY\n        origin: rule deny-protocol:FTP of Deny-Protocols" in r.stdout
    )
    assert "    - sid 1: PASS FTP ANY ANY <> ANY ANY\n        origin: live only" in r.stdout
    fw(emulator).delete_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")
    r = run(cli, "drift", emulator, example)
    assert "eu-west-1/Databricks-FQDNs: drift\n    + (the whole group)" in r.stdout


def test_firewall_policy_drift_and_foreign_pass_rules(cli, emulator, example):
    declare_policy(example)
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    assert (example.parent / "out" / REGION / "egress.firewall-policy.json").is_file()
    assert run(cli, "push", emulator, example, "--yes").exit_code == 0
    assert run(cli, "drift", emulator, example).exit_code == 0
    rule = {
        "Action": "PASS",
        "Header": {
            "Protocol": "TCP",
            "Source": "$HOME_NET",
            "SourcePort": "ANY",
            "Direction": "FORWARD",
            "Destination": "ANY",
            "DestinationPort": "ANY",
        },
        "RuleOptions": [{"Keyword": "sid:5"}],
    }
    arn = fw(emulator).create_rule_group(
        RuleGroupName="Debug-Pass", Type="STATEFUL", Capacity=5, RuleGroup={"RulesSource": {"StatefulRules": [rule]}}
    )["RuleGroupResponse"]["RuleGroupArn"]
    live = fw(emulator).describe_firewall_policy(FirewallPolicyName="egress")
    body = live["FirewallPolicy"]
    body["PolicyVariables"]["RuleVariables"]["HOME_NET"]["Definition"] = ["10.0.0.0/8"]
    body["StatefulRuleGroupReferences"].append({"ResourceArn": arn})
    fw(emulator).update_firewall_policy(
        FirewallPolicyName="egress", FirewallPolicy=body, UpdateToken=live["UpdateToken"]
    )
    r = run(cli, "drift", emulator, example)
    assert r.exit_code == 1, r.output
    origin = (
        f"        origin: firewall_policy in the policy ({example.parent / 'out'}/{REGION}/egress.firewall-policy.json)"
    )
    assert f"eu-west-1/firewall policy egress: drift\n    + HOME_NET 10.173.0.0/16\n{origin}" in r.stdout
    assert "    - HOME_NET 10.0.0.0/8\n        origin: live only" in r.stdout
    assert "! Debug-Pass passes traffic to EXTERNAL_NET:\n    pass TCP $HOME_NET ANY -> ANY ANY" in r.stdout


def test_bad_input_exits_2(cli, emulator, example):
    r = cli("drift", example.parent / "missing.yaml", "--endpoint-url", emulator.url)
    assert r.exit_code == 2
    example.write_text(example.read_text().replace(", .cran.r-project.org]", "]"))
    r = run(cli, "drift", emulator, example)
    assert r.exit_code == 2 and "is stale" in r.stderr and "rulec check" in r.stderr
    assert emulator.emulator.calls == []


def test_firewall_policy_named_on_the_command_line(cli, emulator, example):
    assert run(cli, "push", emulator, example, "--yes").exit_code == 0
    fw(emulator).create_firewall_policy(
        FirewallPolicyName="inspection",
        FirewallPolicy={"StatelessDefaultActions": ["aws:pass"], "StatelessFragmentDefaultActions": ["aws:pass"]},
    )
    r = run(cli, "drift", emulator, example, "--firewall-policy", "inspection")
    assert r.exit_code == 1
    assert (
        "eu-west-1/firewall policy inspection: drift\n    ~ StatelessDefaultActions: aws:pass -> aws:forward_to_sfe"
        in r.stdout
    )
    assert "        origin: --firewall-policy inspection (references to the built groups" in r.stdout
    assert run(cli, "push", emulator, example, "--yes", "--firewall-policy", "inspection").exit_code == 0
    assert run(cli, "drift", emulator, example, "--firewall-policy", "inspection").exit_code == 0


def test_a_leftover_temporary_group_is_drift(cli, emulator, example):
    assert run(cli, "push", emulator, example, "--yes").exit_code == 0
    live = fw(emulator).describe_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")
    fw(emulator).create_rule_group(
        RuleGroupName="Databricks-FQDNs-rulec-tmp", Type="STATEFUL", Capacity=200, RuleGroup=live["RuleGroup"]
    )
    r = run(cli, "drift", emulator, example)
    assert r.exit_code == 1
    assert (
        "eu-west-1/Databricks-FQDNs: drift\n    - Databricks-FQDNs-rulec-tmp\n"
        "        origin: left by an interrupted push --replace"
    ) in r.stdout
