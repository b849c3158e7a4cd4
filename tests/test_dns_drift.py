"""`rulec drift` with the DNS layer, and across accounts (profiles and roles to assume), against emulators."""

import json
import shutil

import boto3
import pytest

from tests.conftest import ROOT
from tests.emulator import Emulator
from tests.emulator.server import Server


@pytest.fixture
def example(tmp_path):
    shutil.copytree(ROOT / "examples/dns", tmp_path / "ex")
    return tmp_path / "ex" / "policy.yaml"


def run(cli, example, url, *extra):
    return cli(*extra[:1], example, "-o", example.parent / "out", "--endpoint-url", url, *extra[1:])


def test_drift_sees_dns_changes_behind_rulecs_back(cli, emulator, example):
    assert run(cli, example, emulator.url, "push", "--yes").exit_code == 0
    r = run(cli, example, emulator.url, "drift")
    assert r.exit_code == 0 and "in sync" in r.stdout, r.output  # the policy's DNS Firewall id is the live one
    client = boto3.client("route53resolver", region_name="eu-west-1", endpoint_url=emulator.url)
    lists = {d["Name"]: d["Id"] for d in client.list_firewall_domain_lists()["FirewallDomainLists"]}
    client.update_firewall_domains(
        FirewallDomainListId=lists["Databricks-DNS-allowed"], Operation="ADD", Domains=["exfil.example.net"]
    )
    r = run(cli, example, emulator.url, "drift")
    assert r.exit_code == 1, r.output
    assert "eu-west-1/DNS Firewall Databricks-DNS: drift" in r.stdout
    assert "-exfil.example.net" in r.stdout or "REPLACE" in r.stdout
    assert "Databricks-DNS.dns-firewall.json" in r.stdout


def test_drift_across_accounts_with_bounded_parallelism(cli, aws_env, example, tmp_path, monkeypatch):
    config = tmp_path / "aws-config"
    config.write_text("[profile prod]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    (tmp_path / "aws-credentials").write_text("[prod]\naws_access_key_id = x\naws_secret_access_key = y\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    with Server(Emulator()) as prod, Server(Emulator()) as dev, Server(Emulator()) as empty:
        assert run(cli, example, prod.url, "push", "--yes").exit_code == 0
        assert run(cli, example, dev.url, "push", "--yes").exit_code == 0
        fw = boto3.client("network-firewall", region_name="eu-west-1", endpoint_url=dev.url)
        described = fw.describe_rule_group(RuleGroupName="Databricks-Layered-Allow", Type="STATEFUL")
        body = described["RuleGroup"]
        body["RulesSource"]["RulesSourceList"]["Targets"].append("evil.example")
        fw.update_rule_group(
            RuleGroupName="Databricks-Layered-Allow",
            Type="STATEFUL",
            RuleGroup=body,
            UpdateToken=described["UpdateToken"],
        )
        accounts = tmp_path / "accounts.yaml"
        accounts.write_text(
            "accounts:\n"
            f"  - {{name: prod, profile: prod, endpoint_url: '{prod.url}'}}\n"
            f"  - {{name: dev, role_arn: 'arn:aws:iam::111122223333:role/rulec-drift', endpoint_url: '{dev.url}'}}\n"
            f"  - {{name: sandbox, profile: prod, regions: [eu-west-1], endpoint_url: '{empty.url}'}}\n"
        )

        def writes():  # AssumeRole is not a change to the account
            return [[c for c in e.emulator.writes() if c[0] != "sts"] for e in (prod, dev, empty)]

        before = writes()
        r = cli("drift", example, "-o", example.parent / "out", "--accounts", accounts, "--parallel", "2")
        assert writes() == before  # drift never writes
        assert r.exit_code == 1, r.output
        lines = r.stdout.splitlines()
        assert lines[0] == "account prod (profile prod): in sync"
        assert lines[1].startswith("account dev (role arn:aws:iam::111122223333:role/rulec-drift): drift, 1 difference")
        assert "- evil.example" in r.stdout and "account sandbox (profile prod): drift" in r.stdout
        assert dev.emulator.__dict__["assumed_roles"] == ["arn:aws:iam::111122223333:role/rulec-drift"]
        r = cli("drift", example, "-o", example.parent / "out", "--accounts", accounts, "--format", "json")
        data = json.loads(r.stdout)
        assert [a["account"] for a in data["accounts"]] == ["prod", "dev", "sandbox"]


def test_accounts_file_errors_are_positioned(cli, aws_env, example, tmp_path):
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text("accounts:\n  - {name: prod}\n  - {name: dev, role_arn: 'not-an-arn'}\n")
    r = cli("drift", example, "-o", example.parent / "out", "--accounts", accounts)
    assert r.exit_code == 2
    assert f"{accounts}:2:" in r.stderr and "needs a 'profile' or a 'role_arn'" in r.stderr
    assert f"{accounts}:3:" in r.stderr
