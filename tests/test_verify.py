"""rulec verify against the real Suricata, 7 and 8 (installed by scripts/suricata.sh; these tests never skip)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rulec.emit.suricata import domain_sid
from rulec.pipeline import plan
from rulec.verify import verify_region
from rulec.verify.engine import ruleset
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.usefixtures("suricata")


def report_for(path, extra=()):
    _, plans, _, _ = plan(path)
    return verify_region(plans[0], list(extra))


def by_key(report):
    """The probes to the address of their own name (probes with a `dst` of their own are looked up apart)."""
    return {(v.probe.kind, v.probe.host, v.probe.port, v.probe.source): v for v in report.verdicts if not v.probe.dst}


def test_reference_example_on_suricata():
    report = report_for(EXAMPLE)
    assert report.failures == []
    v = by_key(report)
    # allowed names pass, at the apex and below
    assert not v["tls", "pypi.org", 443, None].dropped and v["tls", "pypi.org", 443, None].app_proto == "tls"
    assert not v["http", "cran.r-project.org", 80, None].dropped
    # look-alikes and exfiltration targets drop, by the group's default drop (review sid 1 TLS, sid 2 HTTP)
    for host in (
        "evilpypi.org",
        "pypi.org.attacker.example",
        "google.com",
        "s3.amazonaws.com",
        "exfil-bucket-rulec.s3.amazonaws.com",
        "exfil-bucket-rulec.s3.eu-west-1.amazonaws.com",
    ):
        assert v["tls", host, 443, None].dropped, host
        assert (v["tls", host, 443, None].by.group, v["tls", host, 443, None].by.sid) == ("Databricks-FQDNs", 1)
        assert v["http", host, 80, None].by.sid == 2
    # denied protocols drop, each by its own rule
    assert (v["ssh", None, 22, None].by.group, v["ssh", None, 22, None].by.sid) == ("Deny-Protocols", 2)
    assert v["ftp", None, 21, None].by.sid == 1 and v["ftp", None, 21, None].app_proto == "ftp"
    assert v["icmp", None, 0, None].by.sid == 3
    # every HOME_NET block is inspected
    assert v["tls", "google.com", 443, "10.10.0.10"].dropped
    # what the policy leaves open is reported, not hidden
    uncovered = {(x.probe.kind, x.probe.port) for x in report.verdicts if x.uncovered}
    assert uncovered == {
        ("tcp", 4444),  # raw TCP
        ("tcp", 443),  # non-TLS bytes on 443
        ("tcp", 3306),  # MySQL anywhere, and the metastore name in the allowlist
        ("tcp", 80),  # HTTP/2 in clear text
        ("tcp", 53),  # DNS over TCP
        ("syn", 4444),  # data in a SYN
        ("http", 80),  # HTTP/1.0 without Host
        ("udp", 5000),
        ("udp", 53),  # DNS to an outside resolver
        ("udp", 443),  # QUIC
        ("ip", 47),  # GRE
        ("tls", 443),  # spoofed SNI, east-west, a client outside HOME_NET
    }
    assert any("client outside HOME_NET" in x.probe.why for x in report.verdicts if x.uncovered)


def test_a_wildcard_over_aws_opens_s3_and_verify_fails(write_policy, cli):
    p = write_policy("""
        version: 1
        regions:
          eu-west-1:
            home_net: [10.0.0.0/16]
            allow: [.amazonaws.com, api.example.org]
    """)
    failed = {(f.probe.kind, f.probe.host) for f in report_for(p).failures}
    assert failed == {
        (kind, host)
        for kind in ("tls", "http")
        for host in (
            "s3.amazonaws.com",
            "exfil-bucket-rulec.s3.amazonaws.com",
            "exfil-bucket-rulec.s3.eu-west-1.amazonaws.com",
        )
    }
    r = cli("verify", p)
    assert r.exit_code == 1
    assert "FAIL  pass     drop    tls   s3.amazonaws.com:443" in r.stdout
    assert "eu-west-1: 6 failed," in r.stdout


def test_denying_tcp_breaks_every_allowed_name(write_policy):
    p = write_policy("""
        version: 1
        deny_protocols: [TCP]
        regions:
          eu-west-1: {home_net: [10.0.0.0/16], allow: [api.example.org]}
    """)
    report = report_for(p)
    failed = {(f.probe.kind, f.probe.host, f.by.group) for f in report.failures}
    assert failed == {
        ("tls", "api.example.org", "Deny-Protocols"),
        ("http", "api.example.org", "Deny-Protocols"),
        ("tls", "ApI.ExAmPlE.OrG", "Deny-Protocols"),  # the split ~1.8 KB ClientHello, sent in mixed case
    }
    assert not any(v.uncovered for v in report.verdicts if v.probe.kind == "tcp")


def test_user_probes_from_policy_and_file(write_policy, tmp_path, cli):
    p = write_policy("""
        version: 1
        regions:
          eu-west-1: {home_net: [10.0.0.0/16], allow: [api.example.org]}
        verify:
          probes:
            - {kind: tls, host: api.example.org, expect: pass}
            - {kind: tcp, port: 22, expect: drop}
    """)
    probes = tmp_path / "probes.yaml"
    probes.write_text("probes:\n  - {kind: http, host: API.example.org, expect: pass}\n")
    r = cli("verify", p, "--probes", probes, "--format", "json")
    assert r.exit_code == 1  # tcp/22 is not dropped by this policy
    (region,) = json.loads(r.stdout)
    user = [x for x in region["probes"] if x["why"].startswith("user probe")]
    assert [(x["kind"], x["host"], x["port"], x["ok"]) for x in user] == [
        ("tls", "api.example.org", 443, True),
        ("tcp", None, 22, False),
        ("http", "API.example.org", 80, True),  # sent exactly as written; Suricata lower-cases http.host
    ]
    assert user[1]["why"] == f"user probe at {p}:7:7"
    assert user[2]["why"] == f"user probe at {probes}:2:5"


def test_bad_probe_file(write_policy, tmp_path, cli):
    p = write_policy("version: 1\nregions: {eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}}\n")
    probes = tmp_path / "probes.yaml"
    probes.write_text("probes:\n  - {kind: tls, expect: pass}\n  - {kind: smtp, expect: drop}\n")
    r = cli("verify", p, "--probes", probes)
    assert r.exit_code == 2
    assert f"{probes}:2:5: probes.0: a tls probe needs a 'host'" in r.stderr
    assert f"{probes}:3:12: probes.1.kind: Input should be 'tls'" in r.stderr


def test_missing_suricata_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RULEC_SURICATA"}
    env["PATH"] = str(Path(sys.executable).parent)
    proc = subprocess.run(
        [sys.executable, "-m", "rulec", "verify", str(EXAMPLE)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("rulec: Suricata is not installed")
    assert "Traceback" not in proc.stderr


def test_combined_ruleset_keeps_sids_apart_and_maps_back():
    _, (region,), _, _ = plan(EXAMPLE)
    text, refs = ruleset(region.groups)
    sids = [int(line.split("sid:")[1].split(";")[0]) for line in text.splitlines()]
    assert len(sids) == len(set(sids)) == 13
    assert refs[sids[-1]].group == "Deny-Protocols" and refs[sids[-1]].sid == 3
    first = domain_sid(region.groups[0], "TLS_SNI", region.groups[0].targets[0])
    assert refs[sids[0]].group == "Databricks-FQDNs" and refs[sids[0]].sid == first


def test_verify_cli_example_exits_0(cli):
    r = cli("verify", EXAMPLE, "--problems")
    assert r.exit_code == 0
    # names, look-alikes, denied protocols and split ClientHellos, plus the exfiltration paths (raw TCP, UDP, DNS,
    # QUIC, spoofed SNI, east-west, ...), 17 of which are open under egress: domains (the outside client for TLS and HTTP)
    assert "eu-west-1: 0 failed, 51 as expected, 17 not covered (68 probes" in r.stdout


def test_hub_and_spoke_example_verifies_with_its_own_probes():
    from rulec.verify import user_probes

    lp, plans, _, _ = plan(EXAMPLE.parent.parent / "hub-and-spoke" / "policy.yaml")
    extra = user_probes(lp.policy.verify.probes, lp.doc, ("verify", "probes"))
    for region in plans:
        report = verify_region(region, extra)
        assert report.failures == []
        theirs = next(v for v in report.verdicts if v.probe.host == "dbc-ffffffff-0000.cloud.databricks.com")
        assert theirs.dropped and theirs.by.group == "Databricks-Egress-Allow"


def test_a_missing_target_type_is_reported_open(write_policy):
    p = write_policy(
        "version: 1\ntarget_types: [HTTP_HOST]\nregions: {eu-west-1: {home_net: [10.0.0.0/16], "
        "allow: [.example.org]}}\n"
    )
    report = report_for(p)
    assert report.failures == []
    tls = next(v for v in report.verdicts if v.probe.kind == "tls")
    assert tls.uncovered and tls.probe.why == "TLS_SNI is not in target_types: tls to any name passes"


def test_a_pass_that_suricata_did_not_parse_is_a_failure():
    from rulec.verify import Verdict
    from rulec.verify.probes import Probe

    probe = Probe("tls", "pypi.org", 443, "pass", "allowed name")
    assert Verdict(probe, False, None, "tls").ok
    assert not Verdict(probe, False, None, None).ok  # e.g. a malformed ClientHello: the pass proves nothing
    assert Verdict(Probe("tcp", None, 4444, "open", "raw"), False, None, None).ok


def test_verify_names_the_suricata_it_ran(cli, suricata):
    r = cli("verify", EXAMPLE, "--format", "json")
    assert r.exit_code == 0, r.output
    assert {region["engine"].split()[1][:2] for region in json.loads(r.stdout)} == {f"{suricata}."}
    r = cli("verify", EXAMPLE, "--suricata", "/nonexistent/suricata")
    assert r.exit_code == 2 and "--suricata names '/nonexistent/suricata'" in r.stderr


def test_ci_runs_both_suricata_versions():
    from tests.conftest import SURICATAS

    assert sorted(SURICATAS) == ["7", "8"], "install both with `bash scripts/suricata.sh`"
