"""`rulec push` of the DNS layer against the emulator (real boto3 over HTTP, requests validated against botocore's
route53resolver and ram models): create, update, associate, no writes on a no-op, the firewall policy gets the
managed rule group's id, and --share-with shares the groups through AWS RAM."""

import json
import shutil

import boto3
import pytest

from rulec.aws.dns import BATCH, batches
from tests.conftest import ROOT


@pytest.fixture
def example(tmp_path):
    shutil.copytree(ROOT / "examples/dns", tmp_path / "ex")
    return tmp_path / "ex" / "policy.yaml"


def push(cli, example, emulator, *extra):
    return cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--yes", *extra)


def resolver(emulator):
    return boto3.client("route53resolver", region_name="eu-west-1", endpoint_url=emulator.url)


def test_push_creates_associates_and_wires_resolved_ip_validation(cli, emulator, example):
    r = push(cli, example, emulator)
    assert r.exit_code == 0, r.output
    assert "eu-west-1/Databricks-DNS (DNS Firewall): " in r.stdout and "create rule group Databricks-DNS" in r.stdout
    client = resolver(emulator)
    (group,) = client.list_firewall_rule_groups()["FirewallRuleGroups"]
    lists = {d["Name"]: d["Id"] for d in client.list_firewall_domain_lists()["FirewallDomainLists"]}
    allowed = client.list_firewall_domains(FirewallDomainListId=lists["Databricks-DNS-allowed"])["Domains"]
    built = json.loads((example.parent / "out/eu-west-1/Databricks-DNS.dns-firewall.json").read_text())
    assert sorted(allowed) == built["FirewallDomainLists"][0]["Domains"]["Domains"]
    rules = client.list_firewall_rules(FirewallRuleGroupId=group["Id"])["FirewallRules"]
    assert [(r["Action"], r["FirewallDomainListId"]) for r in rules] == [
        ("ALLOW", lists["Databricks-DNS-allowed"]),
        ("BLOCK", lists["Databricks-DNS-everything"]),
    ]
    assocs = client.list_firewall_rule_group_associations(FirewallRuleGroupId=group["Id"])
    assert sorted(a["VpcId"] for a in assocs["FirewallRuleGroupAssociations"]) == [
        "vpc-0123456789abcdef0",
        "vpc-0a1b2c3d4e5f6a7b8",
    ]
    fw = boto3.client("network-firewall", region_name="eu-west-1", endpoint_url=emulator.url)
    policy = fw.describe_firewall_policy(FirewallPolicyName="databricks-egress-layered")["FirewallPolicy"]
    assert policy["Route53ResolvedIPValidation"]["DNSFirewallRuleGroupId"] == group["Id"]
    writes = len(emulator.emulator.writes())
    r = push(cli, example, emulator)
    assert r.exit_code == 0 and "nothing to do" in r.stdout, r.output
    assert "Databricks-DNS (DNS Firewall): no change" in r.stdout
    assert len(emulator.emulator.writes()) == writes  # a no-op push writes nothing


def test_push_updates_domains_in_one_replace_rules_and_associations(cli, emulator, example):
    assert push(cli, example, emulator).exit_code == 0
    text = example.read_text().replace("[workspace, hive-metastore, pypi, cran, maven, github]", "[workspace, pypi]")
    text = text.replace("block_response: NXDOMAIN", "block_response: NODATA").replace("priority: 100", "priority: 200")
    example.write_text(text)
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    before = len(emulator.emulator.writes())
    r = push(cli, example, emulator)
    assert r.exit_code == 0, r.output
    new = [op for _, op in emulator.emulator.writes()[before:]]
    assert new.count("UpdateFirewallDomains") == 1  # REPLACE, one call
    assert "UpdateFirewallRule" in new and new.count("UpdateFirewallRuleGroupAssociation") == 2
    assert "CreateFirewallRuleGroup" not in new and "CreateFirewallDomainList" not in new
    client = resolver(emulator)
    (group,) = client.list_firewall_rule_groups()["FirewallRuleGroups"]
    rules = client.list_firewall_rules(FirewallRuleGroupId=group["Id"])["FirewallRules"]
    assert rules[-1]["BlockResponse"] == "NODATA"
    lists = {d["Name"]: d["Id"] for d in client.list_firewall_domain_lists()["FirewallDomainLists"]}
    allowed = client.list_firewall_domains(FirewallDomainListId=lists["Databricks-DNS-allowed"])["Domains"]
    assert "cran.r-project.org" not in allowed and "pypi.org" in allowed
    r = push(cli, example, emulator)
    assert "nothing to do" in r.stdout


def test_large_lists_go_in_batches_the_api_accepts(cli, emulator, example):
    names = [f"host{i}.example.org" for i in range(1500)]
    old = "allow: [sts.eu-west-1.amazonaws.com, kinesis.eu-west-1.amazonaws.com]"
    assert old in example.read_text()
    text = example.read_text().replace(old, f"allow: [{', '.join(names)}]")
    example.write_text(text)
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    r = push(cli, example, emulator)
    assert r.exit_code == 0, r.output
    calls = [op for _, op in emulator.emulator.writes() if op == "UpdateFirewallDomains"]
    assert len(calls) == 3  # allowed: REPLACE 1000 + ADD the rest; everything: REPLACE
    client = resolver(emulator)
    lists = {d["Name"]: d["Id"] for d in client.list_firewall_domain_lists()["FirewallDomainLists"]}
    paginator = client.get_paginator("list_firewall_domains")
    got = [
        d for page in paginator.paginate(FirewallDomainListId=lists["Databricks-DNS-allowed"]) for d in page["Domains"]
    ]
    assert set(names) <= set(got)
    assert push(cli, example, emulator).stdout.count("nothing to do") == 1


def test_batches():
    assert batches(["a"]) == [("REPLACE", ["a"])]
    many = [str(i) for i in range(2 * BATCH + 1)]
    assert [(op, len(c)) for op, c in batches(many)] == [("REPLACE", BATCH), ("ADD", BATCH), ("ADD", 1)]


def test_share_with_an_organization_through_ram(cli, emulator, example):
    org = "arn:aws:organizations::123456789012:organization/o-exampleorg1"
    r = push(cli, example, emulator, "--share-with", org)
    assert r.exit_code == 0, r.output
    ram = boto3.client("ram", region_name="eu-west-1", endpoint_url=emulator.url)
    (share,) = ram.get_resource_shares(resourceOwner="SELF", name="rulec-policy")["resourceShares"]
    assert share["allowExternalPrincipals"] is False
    held = ram.get_resource_share_associations(
        associationType="RESOURCE", resourceShareArns=[share["resourceShareArn"]]
    )
    arns = sorted(a["associatedEntity"] for a in held["resourceShareAssociations"])
    assert any(":route53resolver:" in a for a in arns) and sum(":stateful-rulegroup/" in a for a in arns) == 2
    writes = len(emulator.emulator.writes())
    assert push(cli, example, emulator, "--share-with", org).exit_code == 0
    assert len(emulator.emulator.writes()) == writes  # already shared: nothing written
    assert push(cli, example, emulator, "--share-with", "210987654321").exit_code == 0
    assert emulator.emulator.writes()[writes:] == [("eu-west-1", "AssociateResourceShare")]


def test_share_with_refuses_a_malformed_principal(cli, emulator, example):
    r = push(cli, example, emulator, "--share-with", "o-exampleorg1")
    assert r.exit_code == 2 and "--share-with 'o-exampleorg1'" in r.stderr
    assert emulator.emulator.writes() == []


def test_dry_run_writes_nothing_and_says_dns_is_planned_only(cli, emulator, example):
    r = cli("push", example, "-o", example.parent / "out", "--endpoint-url", emulator.url, "--dry-run")
    assert r.exit_code == 1, r.output
    assert "create rule group Databricks-DNS" in r.stdout and "Route 53 Resolver API has no dry run" in r.stdout
    from tests.emulator.route53resolver import HANDLERS

    assert not [op for _, op in emulator.emulator.writes() if op in HANDLERS]  # nothing reached Route 53 Resolver
    assert emulator.emulator.__dict__.get("resolver", {}).get("eu-west-1", {}).get("groups", {}) == {}


def test_batches_wait_for_the_list_to_finish_updating(aws_env, tmp_path):
    """REPLACE then ADD on a list that reports UPDATING: push waits before the next batch (else Conflict)."""
    from rulec.aws.dns import DnsPusher
    from rulec.aws.push import Pusher
    from tests.emulator import Emulator
    from tests.emulator.server import Server

    doc = json.loads((ROOT / "examples/dns/out/eu-west-1/Databricks-DNS.dns-firewall.json").read_text())
    doc["FirewallDomainLists"][0]["Domains"]["Domains"] = [f"h{i}.example.org" for i in range(2500)]
    with Server(Emulator(updating_describes=2)) as server:
        api = Pusher(None, server.url, poll=0.01)
        pusher = DnsPusher(api)
        plan = pusher.plan("eu-west-1", doc)
        assert [s.params["Operation"] for s in plan.steps if s.operation == "update_firewall_domains"] == [
            "REPLACE",
            "ADD",
            "ADD",
            "REPLACE",
        ]
        assert pusher.apply(plan).startswith("rslvr-frg-")
        gets = [op for _, op in server.emulator.calls if op == "GetFirewallDomainList"]
        assert len(gets) == 4 * 3  # two UPDATING answers, then COMPLETE, after each of the four updates
        assert not pusher.plan("eu-west-1", doc).steps  # converged


def test_removing_a_carve_out_deletes_its_rule_and_keeps_the_list(cli, emulator, example):
    text = example.read_text()
    example.write_text(text.replace("  priority: 100\n", "  priority: 100\n  block: [uploads.example.net]\n"))
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    assert push(cli, example, emulator).exit_code == 0
    client = resolver(emulator)
    (group,) = client.list_firewall_rule_groups()["FirewallRuleGroups"]
    rules = client.list_firewall_rules(FirewallRuleGroupId=group["Id"])["FirewallRules"]
    assert [(r["Priority"], r["Action"]) for r in rules] == [(100, "BLOCK"), (200, "ALLOW"), (300, "BLOCK")]
    example.write_text(text)
    assert cli("build", example, "-o", example.parent / "out").exit_code == 0
    r = push(cli, example, emulator)
    assert r.exit_code == 0 and "delete rule Databricks-DNS-blocked" in r.stdout, r.output
    assert "domain list Databricks-DNS-blocked is no longer used (left in place)" in r.stdout
    rules = client.list_firewall_rules(FirewallRuleGroupId=group["Id"])["FirewallRules"]
    assert [r["Priority"] for r in rules] == [200, 300]
