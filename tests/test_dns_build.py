"""DNS Firewall from the same policy: policy -> documents (checked against botocore's route53resolver model),
bad input with file:line:col, region overrides, and resolved-IP validation with the DNS Firewall push manages."""

import json
import os

import botocore.session
import pytest
from botocore.validate import ParamValidator

from rulec import pipeline
from rulec.errors import RulecError
from rulec.resources import data_dir
from tests import botocore_schema
from tests.conftest import ROOT

POLICY = """
version: 1
egress: strict
firewall_policy:
  name: egress
  resolved_ip_validation: {action: DROP}
dns_firewall: {name: Databricks-DNS, vpcs: [vpc-0a1b2c3d4e5f6a7b8]}
services:
  - {host: ntp.example.net, port: 123, protocol: UDP, ips: [203.0.113.123/32]}
regions:
  eu-west-1:
    home_net: [10.173.0.0/16]
    features: [workspace, hive-metastore, pypi]
    allow: [.Example.com., api.example.org]
"""


def dns_doc(result, region="eu-west-1", name="Databricks-DNS"):
    return json.loads(result.files[f"{region}/{name}.dns-firewall.json"])


def problems(write_policy, text):
    with pytest.raises(RulecError) as info:
        pipeline.build(write_policy(text))
    return [str(d) for d in info.value.diagnostics]


def test_the_contract_domains_list_then_block_after_allow(write_policy, cli, tmp_path):
    policy = write_policy(POLICY)
    assert cli("build", policy, "-o", tmp_path / "out").exit_code == 0
    doc = json.loads((tmp_path / "out/eu-west-1/Databricks-DNS.dns-firewall.json").read_text())
    allowed = next(
        d["Domains"]["Domains"] for d in doc["FirewallDomainLists"] if d["Create"]["Name"].endswith("allowed")
    )
    # wildcard -> apex and *.apex; lower case, no trailing dot; the metastore resolves (matched by resolved domain)
    assert {"example.com", "*.example.com", "api.example.org", "pypi.org", "files.pythonhosted.org"} <= set(allowed)
    assert "*.pypi.org" not in allowed  # the pypi feature lists exact names: no wildcard in DNS either
    assert "md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com" in allowed
    assert "ntp.example.net" not in allowed  # a service given by ips needs no DNS
    assert allowed == sorted(allowed) and all(d == d.lower() and not d.endswith(".") for d in allowed)
    actions = [r["Action"] for r in sorted(doc["FirewallRules"], key=lambda r: r["Priority"])]
    assert actions.index("BLOCK") > actions.index("ALLOW")
    block = doc["FirewallRules"][-1]
    assert block["BlockResponse"] == "NXDOMAIN"
    everything = next(
        d for d in doc["FirewallDomainLists"] if d["Domains"]["FirewallDomainListId"] == block["FirewallDomainListId"]
    )
    assert everything["Domains"]["Domains"] == ["*"]
    (assoc,) = doc["Associations"]
    assert (assoc["VpcId"], assoc["Priority"], assoc["MutationProtection"]) == (
        "vpc-0a1b2c3d4e5f6a7b8",
        100,
        "DISABLED",
    )
    fw = json.loads((tmp_path / "out/eu-west-1/egress.firewall-policy.json").read_text())
    assert fw["FirewallPolicy"]["Route53ResolvedIPValidation"]["DNSFirewallRuleGroupId"] == "${DnsFirewallRuleGroupId}"


def test_documents_pass_botocore_route53resolver_validation(write_policy):
    doc = dns_doc(pipeline.build(write_policy(POLICY)))
    model = botocore.session.get_session().get_service_model("route53resolver")
    requests = [("CreateFirewallRuleGroup", doc["FirewallRuleGroup"])]
    for d in doc["FirewallDomainLists"]:
        requests += [("CreateFirewallDomainList", d["Create"]), ("UpdateFirewallDomains", d["Domains"])]
    requests += [("CreateFirewallRule", r) for r in doc["FirewallRules"]]
    requests += [("AssociateFirewallRuleGroup", a) for a in doc["Associations"]]
    for op, params in requests:
        report = ParamValidator().validate(params, model.operation_model(op).input_shape)
        assert not report.has_errors(), (op, report.generate_report())


def test_committed_schemas_are_botocores_models():
    for name, schema in (("dns-firewall", botocore_schema.dns_firewall()), ("fms-put-policy", None)):
        schema = schema or botocore_schema.fms_put_policy()
        path = data_dir("schemas") / f"{name}.schema.json"
        if os.environ.get("RULEC_UPDATE_SCHEMAS"):
            path.write_bytes(botocore_schema.dump(schema))
        assert path.read_bytes() == botocore_schema.dump(schema), f"RULEC_UPDATE_SCHEMAS=1 pytest {__file__}"


def test_a_document_the_model_refuses_is_never_written(write_policy, tmp_path):
    from rulec.emit.aws_classic import RequestValidator

    doc = dns_doc(pipeline.build(write_policy(POLICY)))
    doc["FirewallRules"][0]["Action"] = "DENY"
    with pytest.raises(RulecError, match="fails the DnsFirewall schema"):
        RequestValidator("dns-firewall").check(doc, "x")
    doc["FirewallRules"][0]["Action"] = "ALLOW"
    doc["Associations"][0]["Priority"] = 99
    with pytest.raises(RulecError, match="Priority"):
        RequestValidator("dns-firewall").check(doc, "x")


def test_alert_first_nodata_and_region_overrides(write_policy):
    text = POLICY.replace("vpcs: [vpc-0a1b2c3d4e5f6a7b8]}", "vpcs: [vpc-0a1b2c3d4e5f6a7b8], block_response: NODATA}")
    text += """    dns_firewall: {alert_first: true, priority: 9000, mutation_protection: true}
  us-east-1:
    home_net: [10.20.0.0/16]
    allow: [api.example.org]
"""
    result = pipeline.build(write_policy(text))
    eu, us = dns_doc(result), dns_doc(result, "us-east-1")
    assert eu["FirewallRules"][-1]["Action"] == "ALERT" and "BlockResponse" not in eu["FirewallRules"][-1]
    assert eu["Associations"][0]["Priority"] == 9000 and eu["Associations"][0]["MutationProtection"] == "ENABLED"
    assert (
        us["FirewallRules"][-1] | {} == us["FirewallRules"][-1] and us["FirewallRules"][-1]["BlockResponse"] == "NODATA"
    )
    assert us["Associations"][0]["Priority"] == 100


def test_carve_outs_block_first_and_are_reported(write_policy):
    text = POLICY.replace(
        "vpcs: [vpc-0a1b2c3d4e5f6a7b8]}", "vpcs: [vpc-0a1b2c3d4e5f6a7b8], block: [uploads.example.com]}"
    )
    result = pipeline.build(write_policy(text))
    doc = dns_doc(result)
    first = doc["FirewallRules"][0]
    assert first["Action"] == "BLOCK" and first["Name"] == "Databricks-DNS-blocked"
    dns = result.plans[0].resolved.dns
    assert any("uploads.example.com" in line and "DNS Firewall blocks it" for line in dns.one_layer)


@pytest.mark.parametrize(
    "change, where, message",
    [
        ("block_response: REFUSED", "6:", "block_response"),
        ("vpcs: [vpc-123]", "6:", "vpcs"),
        ("vpcs: [subnet-0a1b2c3d]", "6:", "vpcs"),
        ("block: [.pypi.org]", "6:", "feature 'pypi' needs"),
        ("block: [files.pythonhosted.org]", "6:", "feature 'pypi' needs"),
        ("block: [api.example.org]", "6:", "api.example.org, allowed at"),
        ("block: [ireland.cloud.databricks.com]", "6:", "feature 'workspace' needs"),
        ("priority: 50", "6:", "priority"),
    ],
)
def test_bad_dns_input_is_refused_at_its_line(write_policy, change, where, message):
    text = POLICY.replace("vpcs: [vpc-0a1b2c3d4e5f6a7b8]}", change + "}")
    found = problems(write_policy, text)
    assert any(f"policy.yaml:{where}" in p and message in p for p in found), found


def test_validation_without_an_id_needs_a_dns_firewall(write_policy):
    found = problems(
        write_policy, POLICY.replace("dns_firewall: {name: Databricks-DNS, vpcs: [vpc-0a1b2c3d4e5f6a7b8]}\n", "")
    )
    assert any("policy.yaml:5:" in p and "or a dns_firewall for rulec to manage" in p for p in found), found


def test_examples_dns_is_built_and_checked():
    policy = ROOT / "examples/dns/policy.yaml"
    result = pipeline.build(policy)
    assert not pipeline.check(result, policy.parent / "out")
    doc = dns_doc(result, name="Databricks-DNS")
    assert doc["FirewallRules"][-1]["Action"] in ("BLOCK", "ALERT")


def test_next_gen_with_dns_firewall_is_refused_not_dropped(write_policy):
    text = (ROOT / "examples/next-gen/policy.yaml").read_text() + "dns_firewall: {name: Dns}\n"
    found = problems(write_policy, text)
    assert any("dns_firewall is not supported with engine: next-gen" in p for p in found), found


@pytest.mark.parametrize("length", [29, 30])
def test_dns_firewall_names_fit_the_requests_that_refer_to_them(write_policy, length):
    """The longest name the loader takes gives requests that pass the schema; one more is refused at its line."""
    name = "n" * length
    p = write_policy(
        f"version: 1\ndns_firewall: {{name: {name}}}\nregions:\n"
        "  eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}\n"
    )
    if length == 29:
        pipeline.validate(pipeline.build(p))
    else:
        with pytest.raises(RulecError, match=rf"{p}:2:\d+: dns_firewall.name: .*29"):
            pipeline.build(p)
