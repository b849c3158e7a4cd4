"""`push --replace` converges after an interruption at any step, and push deploys only the reviewed build.

Interruptions are the emulator's connection drops: the service handles the call, then the connection closes
before the response, which is the case that used to leave `<name>-rulec-tmp` referenced."""

import os
import shutil
import signal
import subprocess
import sys
import time

import boto3
import botocore
import pytest

from tests.conftest import EXAMPLE, ROOT

REGION = "eu-west-1"
TMP = "Databricks-FQDNs-rulec-tmp"
# Every write of a replace, in order: (operation, resource name, how many such calls go through first)
STEPS = [
    ("CreateRuleGroup", TMP, 0),
    ("UpdateFirewallPolicy", "fw", 0),
    ("DeleteRuleGroup", "Databricks-FQDNs", 0),
    ("CreateRuleGroup", "Databricks-FQDNs", 0),
    ("UpdateFirewallPolicy", "fw", 1),
    ("DeleteRuleGroup", TMP, 0),
]


@pytest.fixture
def example(tmp_path):
    shutil.copytree(EXAMPLE.parent, tmp_path / "ex")
    return tmp_path / "ex" / "policy.yaml"


def fw(server):
    return boto3.client("network-firewall", region_name=REGION, endpoint_url=server.url)


def push(cli, server, example, *args):
    return cli("push", example, "-o", example.parent / "out", "--endpoint-url", server.url, "--yes", *args)


def other_team(server) -> str:
    rule = {
        "Action": "DROP",
        "Header": {
            "Protocol": "TCP",
            "Source": "ANY",
            "SourcePort": "ANY",
            "Direction": "FORWARD",
            "Destination": "ANY",
            "DestinationPort": "23",
        },
        "RuleOptions": [{"Keyword": "sid:7"}],
    }
    return fw(server).create_rule_group(
        RuleGroupName="Other-Team", Type="STATEFUL", Capacity=5, RuleGroup={"RulesSource": {"StatefulRules": [rule]}}
    )["RuleGroupResponse"]["RuleGroupArn"]


@pytest.fixture
def needs_replace(cli, emulator, example):
    """Groups live and referenced by `fw` (with another team's group); then the allowlist outgrows its capacity."""
    assert push(cli, emulator, example).exit_code == 0
    refs = [{"ResourceArn": other_team(emulator)}] + [
        {
            "ResourceArn": fw(emulator).describe_rule_group(RuleGroupName=n, Type="STATEFUL")["RuleGroupResponse"][
                "RuleGroupArn"
            ]
        }
        for n in ("Databricks-FQDNs", "Deny-Protocols")
    ]
    fw(emulator).create_firewall_policy(
        FirewallPolicyName="fw",
        FirewallPolicy={
            "StatelessDefaultActions": ["aws:forward_to_sfe"],
            "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
            "StatefulRuleGroupReferences": refs,
        },
    )
    names = ", ".join(f"h{i}.example.org" for i in range(60))
    example.write_text(
        example.read_text()
        .replace("capacity: 100}\n  deny", "capacity: 500}\n  deny")
        .replace("allow: [.pypi.org,", f"allow: [{names}, .pypi.org,")
    )
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    return example


def converged(server) -> None:
    client = fw(server)
    assert (
        client.describe_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")["RuleGroupResponse"]["Capacity"]
        == 500
    )
    refs = client.describe_firewall_policy(FirewallPolicyName="fw")["FirewallPolicy"]["StatefulRuleGroupReferences"]
    assert sorted(r["ResourceArn"].rpartition("/")[2] for r in refs) == [
        "Databricks-FQDNs",
        "Deny-Protocols",
        "Other-Team",
    ]
    assert [g["Name"] for g in client.list_rule_groups()["RuleGroups"]] == [
        "Databricks-FQDNs",
        "Deny-Protocols",
        "Other-Team",
    ]


@pytest.mark.parametrize("step", STEPS, ids=[f"{i}-{s[0]}-{s[1]}" for i, s in enumerate(STEPS)])
def test_interrupted_replace_converges_on_rerun(cli, emulator, needs_replace, step):
    operation, name, after = step
    emulator.emulator.inject(operation, "DropConnection", name=name, after=after)
    r = push(cli, emulator, needs_replace, "--replace", "--firewall-policy", "fw")
    assert r.exit_code == 1, r.output
    assert "push stopped: " in r.stderr and "Connection was closed" in r.stderr
    assert "already applied: created eu-west-1/Databricks-FQDNs-rulec-tmp" in r.stderr or step == STEPS[0]
    if step != STEPS[-1]:
        blocked = push(cli, emulator, needs_replace, "--firewall-policy", "fw")  # without --replace: says why
        assert blocked.exit_code == 1
        assert "--replace" in blocked.stdout and emulator.emulator.groups[REGION].get(TMP) is not None
    r = push(cli, emulator, needs_replace, "--replace", "--firewall-policy", "fw")
    assert r.exit_code == 0, r.output
    converged(emulator)
    r = push(cli, emulator, needs_replace, "--replace", "--firewall-policy", "fw")
    assert r.exit_code == 0 and "nothing to do" in r.stdout


def test_replace_without_interruption(cli, emulator, needs_replace):
    r = push(cli, emulator, needs_replace, "--replace", "--firewall-policy", "fw")
    assert r.exit_code == 0, r.output
    assert (
        "firewall policy eu-west-1/fw: now references Databricks-FQDNs-rulec-tmp instead of Databricks-FQDNs"
        in r.stdout
    )
    converged(emulator)


def test_stale_build_is_refused_with_the_check_diff(cli, emulator, example):
    example.write_text(example.read_text().replace(", .cran.r-project.org]", "]"))
    r = push(cli, emulator, example)
    assert r.exit_code == 1
    assert "is stale: it is not what" in r.stderr and '-          ".cran.r-project.org"' in r.stderr
    assert emulator.emulator.calls == []
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    assert push(cli, emulator, example).exit_code == 0
    out = example.parent / "out" / REGION / "Databricks-FQDNs.json"
    out.write_text(out.read_text().replace('".pypi.org"', '".pypi.org", "evil.example"'))  # edited, never built
    r = push(cli, emulator, example)
    assert r.exit_code == 1 and '-          ".pypi.org", "evil.example",' in r.stderr
    names = fw(emulator).describe_rule_group(RuleGroupName="Databricks-FQDNs", Type="STATEFUL")["RuleGroup"]
    assert "evil.example" not in names["RulesSource"]["RulesSourceList"]["Targets"]


def test_bad_gateway_and_unavailable_are_retried(cli, emulator, example):
    emulator.emulator.inject("DescribeRuleGroup", "BadGateway")
    emulator.emulator.inject("CreateRuleGroup", "ServiceUnavailable")
    r = push(cli, emulator, example)
    assert r.exit_code == 0, r.output
    assert (
        r.stdout.count("HTTP error, retrying") + r.stdout.count("502, retrying") + r.stdout.count("503, retrying") == 2
    )


def test_failing_describe_firewall_policy_is_a_message(cli, emulator, example):
    emulator.emulator.inject("DescribeFirewallPolicy", "AccessDeniedException", count=10)
    r = push(cli, emulator, example, "--firewall-policy", "fw")
    assert r.exit_code == 1
    assert (
        "push stopped: cannot read firewall policy eu-west-1/fw: DescribeFirewallPolicy: AccessDeniedException"
        in r.stderr
    )
    assert "Traceback" not in r.output


def test_old_botocore_exits_2_with_the_upgrade_command(cli, emulator, example, monkeypatch):
    monkeypatch.setattr(botocore, "__version__", "1.43.11")
    r = push(cli, emulator, example)
    assert r.exit_code == 2 and "pip install --upgrade 'botocore>=1.44'" in r.stderr
    assert emulator.emulator.calls == []


def test_ctrl_c_prints_what_was_applied(emulator, example):
    emulator.emulator.inject("CreateRuleGroup", "Slow", name="Deny-Protocols")
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rulec",
            "push",
            example,
            "-o",
            example.parent / "out",
            "--endpoint-url",
            emulator.url,
            "-y",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while sum(c[1] == "CreateRuleGroup" for c in emulator.emulator.calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "push interrupted\nalready applied: created eu-west-1/Databricks-FQDNs (capacity 100)" in err
    assert "Traceback" not in err
