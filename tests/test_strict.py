"""Strict egress, services, resolved-domain matching and the firewall policy: policy -> IR -> documents."""

import ipaddress
import json

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulec import pipeline
from rulec.compile.strict import complement
from rulec.review.explain import explain
from tests.conftest import ROOT

STRICT = ROOT / "examples/strict/policy.yaml"
RESOLVED = ROOT / "examples/strict-resolved/policy.yaml"


def build(path):
    return pipeline.build(path)


def doc(result, rel):
    return json.loads(result.files[rel])


def test_strict_example_documents():
    result = build(STRICT)
    rules = doc(result, "eu-west-1/Databricks-Strict-Egress.json")["RuleGroup"]
    assert set(rules["RuleVariables"]["IPSets"]) == {"HOME_NET", "EXTERNAL_NET"}
    external = rules["RuleVariables"]["IPSets"]["EXTERNAL_NET"]["Definition"]
    assert "10.10.0.0/16" not in external and "::/0" in external
    actions = [
        (r["Action"], r["Header"]["Protocol"], r["Header"]["Destination"])
        for r in rules["RulesSource"]["StatefulRules"]
    ]
    assert actions[:2] == [("PASS", "TCP", "203.0.113.10/32"), ("PASS", "UDP", "203.0.113.123/32")]
    assert ("DROP", "UDP", "$EXTERNAL_NET") in actions and ("DROP", "IP", "$EXTERNAL_NET") in actions
    allow = doc(result, "eu-west-1/Databricks-Strict-Allow.json")
    assert "EXTERNAL_NET" in allow["RuleGroup"]["RuleVariables"]["IPSets"]
    # the metastore is a service in strict mode, not a name in the domain list
    assert not any("rds.amazonaws.com" in t for t in allow["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"])
    policy = doc(result, "eu-west-1/databricks-egress.firewall-policy.json")
    assert policy["FirewallPolicy"]["StatelessDefaultActions"] == ["aws:forward_to_sfe"]
    assert policy["FirewallPolicy"]["StatefulEngineOptions"] == {
        "RuleOrder": "DEFAULT_ACTION_ORDER",
        "StreamExceptionPolicy": "DROP",
    }
    assert [r["ResourceArn"] for r in policy["FirewallPolicy"]["StatefulRuleGroupReferences"]] == [
        "arn:aws:network-firewall:eu-west-1:${AccountId}:stateful-rulegroup/Databricks-Strict-Allow",
        "arn:aws:network-firewall:eu-west-1:${AccountId}:stateful-rulegroup/Databricks-Strict-Egress",
    ]
    assert result.policy_requests["eu-west-1"] == policy


def test_resolved_example_documents():
    result = build(RESOLVED)
    allow = doc(result, "eu-west-1/Databricks-Resolved-Allow.json")["RuleGroup"]["RulesSource"]["RulesSourceList"]
    assert allow["TargetTypes"] == ["TLS_SNI", "HTTP_HOST", "AWS_ROUTE_53_RESOLVED_DOMAIN"]
    egress = doc(result, "eu-west-1/Databricks-Resolved-Egress.json")["RuleGroup"]["RulesSource"]["StatefulRules"]
    assert egress[0]["RuleOptions"][1] == {
        "Keyword": "aws_route_53_resolved_domain",
        "Settings": ['"md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com"'],
    }
    validation = result.policy_requests["eu-west-1"]["FirewallPolicy"]["Route53ResolvedIPValidation"]
    assert validation == {
        "Action": "DROP",
        "DNSFirewallRuleGroupId": "rslvr-frg-0a1b2c3d4e5f6a7b",
        "DNSExpiryExceptionPolicy": "DROP",
        "SourceIPRanges": [{"AddressDefinition": "10.173.0.0/16"}, {"AddressDefinition": "10.10.0.0/16"}],
        # traffic between spokes is not egress: the policy's HOME_NET bypasses the policy-level check
        "BypassDestinationValidationIPRanges": [
            {"AddressDefinition": "10.173.0.0/16"},
            {"AddressDefinition": "10.10.0.0/16"},
        ],
    }


@pytest.mark.parametrize("example", ["strict", "strict-resolved", "hub-and-spoke", "reference"])
def test_every_document_passes_botocore_validation(example):
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("network-firewall")
    result = build(ROOT / "examples" / example / "policy.yaml")
    for rel, data in result.files.items():
        if not rel.endswith(".json"):
            continue
        op = "CreateFirewallPolicy" if rel.endswith(".firewall-policy.json") else "CreateRuleGroup"
        report = ParamValidator().validate(json.loads(data), model.operation_model(op).input_shape)
        assert not report.has_errors(), (rel, report.generate_report())


def test_domains_mode_keeps_the_reference_output_and_services_do_nothing(write_policy):
    p = write_policy("""
        version: 1
        services: [{host: db.example.com, port: 3306, ips: [203.0.113.7/32]}]
        regions: {eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}}
    """)
    result = build(p)
    assert sorted(result.files) == ["eu-west-1/Databricks-FQDNs.json", "eu-west-1/Databricks-FQDNs.rules"]


def test_region_overrides_egress_and_adds_services(write_policy):
    p = write_policy("""
        version: 1
        egress: strict
        services: [{host: a.example.net, port: 5432, ips: [203.0.113.1/32]}]
        regions:
          eu-west-1:
            home_net: [10.0.0.0/16]
            allow: [a.example.org]
            services: [{host: b.example.net, port: 22, ips: [203.0.113.2/32]}]
          us-east-1: {home_net: [10.1.0.0/16], allow: [a.example.org], egress: domains}
    """)
    result = build(p)
    assert "us-east-1/Egress-Strict.json" not in result.files
    rules = doc(result, "eu-west-1/Egress-Strict.json")["RuleGroup"]["RulesSource"]["StatefulRules"]
    assert [(r["Header"]["Destination"], r["Header"]["DestinationPort"]) for r in rules[:2]] == [
        ("203.0.113.1/32", "5432"),
        ("203.0.113.2/32", "22"),
    ]
    lock = json.loads(result.lock_bytes)["groups"]["Egress-Strict"]["sids"]
    assert lock["service:tcp:a.example.net:5432:203.0.113.1/32"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "egress: strict\nregions: {eu-west-1: {home_net: [10.0.0.0/16], features: [hive-metastore]}}",
            "3:59: service md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com:3306 (feature 'hive-metastore') "
            "cannot be matched in eu-west-1 under egress: strict",
        ),
        (
            "egress: strict\nservices: [{host: db.example.com, port: 3306}]\n"
            "regions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "3:12: service db.example.com:3306 cannot be matched in eu-west-1",
        ),
        (
            "services: [{host: db.example.com, port: 3306, ips: [1.2.3.4/32]}, {host: db.example.com, port: 3306, "
            "ips: [1.2.3.5/32]}]\nregions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "2:67: service db.example.com:3306 (TCP) is declared twice; first at",
        ),
        (
            "services: [{host: db.example.com}]\nregions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "missing required key 'port'",
        ),
        (
            "services: [{host: .example.com, port: 1}]\nregions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "not the wildcard",
        ),
        (
            "services: [{host: db.example.com, port: 1, ips: [10.0.0.1/8]}]\nregions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "has host bits set; did you mean '10.0.0.0/8'?",
        ),
        (
            "firewall_policy: {name: p, stateful_default_actions: [aws:drop_strict]}\n"
            "regions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "stateful default actions only under STRICT_ORDER",
        ),
        (
            "firewall_policy: {stream_exception_policy: DROP}\nregions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "2:1: firewall_policy for eu-west-1 needs a 'name'",
        ),
        (
            "firewall_policy: {name: p, resolved_ip_validation: {action: DROP}}\n"
            "regions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "needs 'dns_firewall_rule_group_id'",
        ),
        (
            "firewall_policy: {name: p, resolved_ip_validation: {action: DROP, dns_firewall_rule_group_id: "
            "rslvr-frg-1, source_ip_ranges: []}}\nregions: {eu-west-1: {home_net: [10.0.0.0/16]}}",
            "source_ip_ranges",
        ),
        ("egress: open\nregions: {eu-west-1: {home_net: [10.0.0.0/16]}}", "egress"),
    ],
)
def test_bad_input_exits_2_with_a_position_and_writes_nothing(write_policy, cli, tmp_path, body, message):
    p = write_policy("version: 1\n" + body + "\n")
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 2, r.output
    assert message in r.stderr, r.stderr
    assert r.stderr.startswith(str(p) + ":")
    assert not (tmp_path / "out").exists() and not (tmp_path / "policy.lock.json").exists()


def test_region_overrides_the_firewall_policy_key_by_key(write_policy):
    p = write_policy("""
        version: 1
        firewall_policy: {name: egress, stream_exception_policy: REJECT}
        regions:
          eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org], firewall_policy: {home_net: [10.0.0.0/8]}}
          us-east-1: {home_net: [10.1.0.0/16], allow: [a.example.org], firewall_policy: {name: egress-us}}
    """)
    result = build(p)
    eu, us = result.policy_requests["eu-west-1"], result.policy_requests["us-east-1"]
    assert eu["FirewallPolicyName"] == "egress" and us["FirewallPolicyName"] == "egress-us"
    assert eu["FirewallPolicy"]["PolicyVariables"]["RuleVariables"]["HOME_NET"]["Definition"] == ["10.0.0.0/8"]
    assert us["FirewallPolicy"]["StatefulEngineOptions"]["StreamExceptionPolicy"] == "REJECT"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1).map(lambda i: ipaddress.ip_network((i, 24), strict=False)), max_size=6))
def test_external_net_is_exactly_everything_outside_home_net(nets):
    home = tuple(str(n) for n in nets)
    external = [ipaddress.ip_network(c) for c in complement(home)]
    v4 = [n for n in external if n.version == 4]
    assert sum(n.num_addresses for n in v4) + sum(n.num_addresses for n in ipaddress.collapse_addresses(nets)) == 2**32
    assert not any(e.overlaps(h) for e in v4 for h in nets)
    assert ipaddress.ip_network("::/0") in external


def by_protocol(verdicts):
    return {v.protocol: v for v in verdicts}


def test_explain_host_port_for_services():
    _, plans, _, _ = pipeline.plan(STRICT)
    v = by_protocol(explain("md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com:3306", plans[0]))
    assert v["TCP"].verdict == "pass" and "Databricks-Strict-Egress sid 1" in v["TCP"].reason
    assert v["TCP"].origins == [f"service entry at {STRICT}:22:9"]
    assert v["UDP"].verdict == "drop" and "UDP" in v["UDP"].reason
    assert v["TLS"].verdict == "drop"  # the name is not in the allowlist: TLS to it on any port drops
    assert by_protocol(explain("db.attacker.example:3306", plans[0]))["TCP"].verdict == "drop"
    assert "no known protocol" in by_protocol(explain("db.attacker.example:3306", plans[0]))["TCP"].reason
    # another port: the name decides for TLS and HTTP, as verify's probe of pypi.org:8443 shows
    v = by_protocol(explain("pypi.org:8443", plans[0]))
    assert (v["TLS"].verdict, v["HTTP"].verdict, v["TCP"].verdict) == ("pass", "pass", "drop")
    _, plans, _, _ = pipeline.plan(ROOT / "examples/reference/policy.yaml")
    v = by_protocol(explain("db.attacker.example:3306", plans[0]))
    assert v["TCP"].verdict == "uninspected" and "egress: strict closes this" in v["TCP"].reason
    assert by_protocol(explain("evil.example:8443", plans[0]))["TLS"].verdict == "drop"


def test_diff_shows_firewall_policy_changes_and_compares_build_directories(cli, tmp_path):
    changed = tmp_path / "policy.yaml"
    changed.write_text(STRICT.read_text().replace("stream_exception_policy: DROP", "stream_exception_policy: REJECT"))
    (tmp_path / "policy.lock.json").write_bytes((STRICT.parent / "policy.lock.json").read_bytes())
    r = cli("diff", STRICT, changed, "--exit-code")
    assert r.exit_code == 1
    assert '-      "StreamExceptionPolicy": "DROP"\n+      "StreamExceptionPolicy": "REJECT"' in r.stdout
    r = cli("diff", STRICT.parent / "out", STRICT.parent / "out", "--exit-code")
    assert r.exit_code == 0 and "0 of 2 group(s) changed" in r.stdout
