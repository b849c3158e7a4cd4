"""The DNS verdict next to the TLS/HTTP one in explain and verify (on Suricata 7 and 8), and the DNS lint
checks RC040-RC044, each at the line that causes it."""

import json

from rulec import pipeline
from rulec import verify as verifier
from rulec.review import lint
from rulec.verify import report

POLICY = """
version: 1
egress: strict
firewall_policy:
  name: egress
  resolved_ip_validation: {action: DROP}
dns_firewall:
  name: Dns
  vpcs: [vpc-0a1b2c3d4e5f6a7b8]
  allow: [ec2.eu-west-1.amazonaws.com]
  block: [uploads.example.com]
services:
  - {host: ntp.example.net, port: 123, protocol: UDP, ips: [203.0.113.123/32]}
regions:
  eu-west-1:
    home_net: [10.173.0.0/16]
    features: [pypi]
    allow: [.example.com]
"""


def findings(write_policy, text):
    lp, plans, _, _ = pipeline.plan(write_policy(text))
    return [str(f) for f in lint.run(lint.Context(lp, plans))]


def test_explain_reports_the_dns_verdict_with_its_rule_and_origin(cli, write_policy):
    policy = write_policy(POLICY)
    r = cli("explain", "files.pythonhosted.org", "--policy", policy)
    assert (
        "eu-west-1 DNS files.pythonhosted.org: RESOLVES: DNS Firewall Dns: allowed by files.pythonhosted.org"
        in r.stdout
    )
    assert "from target files.pythonhosted.org at" in r.stdout
    r = cli("explain", "uploads.example.com", "--policy", policy)
    assert "TLS uploads.example.com: PASS" in r.stdout  # Network Firewall allows it (.example.com) ...
    assert "DNS uploads.example.com: NXDOMAIN: DNS Firewall Dns: blocked by Dns-blocked" in r.stdout  # ... DNS not
    r = cli("explain", "exfil.attacker.io", "--policy", policy, "--format", "json")
    verdicts = json.loads(r.stdout)[0]["verdicts"]
    assert [(v["protocol"], v["verdict"]) for v in verdicts] == [("TLS", "drop"), ("HTTP", "drop"), ("DNS", "NXDOMAIN")]
    r = cli("explain", "ntp.example.net:123", "--policy", policy)
    assert "UDP ntp.example.net:123: PASS" in r.stdout and "DNS ntp.example.net:123: NXDOMAIN" in r.stdout


def test_lint_dns_checks(write_policy):
    found = findings(write_policy, POLICY)
    assert any(":12:5: RC041 warning ntp.example.net does not resolve" in f for f in found), found
    assert any(":9:11: RC044 info ec2.eu-west-1.amazonaws.com resolves" in f for f in found), found
    assert any(":10:11: RC044 info uploads.example.com is allowed by Network Firewall" in f for f in found), found
    strict = POLICY.replace("  block: [uploads.example.com]\n", "  trust_redirection: false\n  alert_first: true\n")
    strict = strict.replace("  vpcs: [vpc-0a1b2c3d4e5f6a7b8]\n", "")
    found = findings(write_policy, strict)
    assert any(":9:3: RC040 error" in f and "ec2.eu-west-1.amazonaws.com" in f for f in found), found
    assert any(":10:3: RC042 warning" in f for f in found), found
    assert any(":6:1: RC043 error" in f and "dns_firewall.vpcs" in f for f in found), found


def test_lint_without_dns_firewall_has_no_dns_findings(write_policy):
    text = POLICY.replace("  resolved_ip_validation: {action: DROP}\n", "").split("dns_firewall:")[0]
    text += "regions:\n  eu-west-1:\n    home_net: [10.173.0.0/16]\n    features: [pypi]\n"
    assert not [f for f in findings(write_policy, text) if " RC04" in f]


def test_verify_shows_the_dns_answer_next_to_each_verdict(write_policy, suricata):
    _, plans, _, _ = pipeline.plan(write_policy(POLICY))
    (result,) = verifier.verify_regions(plans, [])
    by_host = {(v.probe.kind, v.probe.host): v for v in result.verdicts if v.probe.host and "spoof" not in v.probe.why}
    assert by_host["tls", "pypi.org"].dns == "resolves" and by_host["tls", "pypi.org"].verdict == "pass"
    assert by_host["tls", "evilpypi.org"].dns == "NXDOMAIN" and by_host["tls", "evilpypi.org"].verdict == "drop"
    assert any(n.startswith("DNS layer: ntp.example.net:123/udp") for n in result.notes)
    text = report.text([result], suricata, every=True)
    assert "  dns  " in text.splitlines()[2] or " dns " in text
    probes = report.as_data(result, suricata)["probes"]
    assert {p["dns"] for p in probes if p["host"] == "pypi.org"} == {"resolves"}


def test_lint_workspace_vpc_needs_sts_and_kinesis_to_resolve(write_policy):
    text = POLICY.replace("features: [pypi]", "features: [workspace, pypi]")
    found = [f for f in findings(write_policy, text) if " RC045 " in f]
    assert len(found) == 1 and ":6:1: RC045 warning" in found[0], found
    assert "sts.eu-west-1.amazonaws.com, kinesis.eu-west-1.amazonaws.com" in found[0]
    text = text.replace("features: [workspace, pypi]", "features: [workspace, pypi, sts, kinesis]")
    assert not [f for f in findings(write_policy, text) if " RC045 " in f]
