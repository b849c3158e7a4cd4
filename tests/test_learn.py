"""rulec learn end to end: attribution to catalog features, what is never proposed, the patch, --write."""

import json
import shutil
import subprocess

import pytest

from rulec import learn, pipeline
from rulec.learn import logs, report
from rulec.load.catalog import Catalogs, default_root
from rulec.review import lint
from tests.conftest import ROOT

LOGS = ROOT / "tests" / "data" / "logs"
WORKSPACE = """
# Egress of the analytics workspace (reviewed by the platform team)
version: 1
deny_protocols: [FTP, SSH, ICMP]
features: [workspace, artifacts, logs]   # control plane and runtime images
allow:
  - api.example.org   # our API
regions:
  us-east-1:
    home_net: [10.20.0.0/16]   # spoke VPC
"""


def alert(name, zone="us-east-1a", http=False, client="10.20.1.5", ts=1764316800):
    event = {"event_type": "alert", "src_ip": client, "alert": {"action": "blocked", "signature_id": 3}}
    event["http" if http else "tls"] = {"hostname" if http else "sni": name}
    return json.dumps({"firewall_name": "inspection", "availability_zone": zone, "event_timestamp": ts, "event": event})


@pytest.fixture
def workspace(write_policy):
    return write_policy(WORKSPACE)


def run(policy, *lines, files=(), **kw):
    path = policy.parent / "extra.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return learn.learn(policy, logs.read([*files, path]), **kw)


def accepted(result):
    return {(p.kind, p.value) for p in result.proposals if p.accepted}


def test_pypi_is_proposed_with_hits_catalog_line_and_source(workspace):
    r = run(workspace, files=[LOGS / "workspace-alert.jsonl"])
    (p,) = [p for p in r.proposals if p.value == "pypi"]
    assert p.accepted and p.kind == "feature" and p.path == ("regions", "us-east-1", "features")
    assert p.hits == 4 and sorted(n.name for n in p.names) == ["files.pythonhosted.org", "pypi.org"]
    hit = next(n for n in p.names if n.name == "pypi.org").features[0]
    assert hit.target == "pypi.org" and hit.source.startswith("https://") and "features.yaml:" in hit.where
    assert "+    features: [pypi]" in r.patch
    text = report.text(r)
    assert "+ feature pypi in us-east-1" in text and "4 hit(s)" in text and "catalog: pypi.org at" in text


def test_unknown_name_is_listed_not_proposed(workspace):
    r = run(workspace, files=[LOGS / "workspace-alert.jsonl"])
    (n,) = [n for n in r.names if n.name == "telemetry.unknown-vendor.example"]
    assert n.status == "unexplained" and n.seen.hits == 1 and n.seen.clients == {"10.20.4.99"}
    assert "unknown-vendor" not in r.patched
    assert "? us-east-1 telemetry.unknown-vendor.example: 1 hit(s) TLS, 2025-11-28T09:10:00Z" in report.text(r)


@pytest.mark.parametrize("n", [2, 3])
def test_foreign_buckets_never_become_an_s3_wildcard(workspace, n):
    buckets = [alert(f"exfil-{i}.s3.amazonaws.com") for i in range(6)]
    buckets += [alert(f"exfil-{i}.s3.us-east-1.amazonaws.com") for i in range(6)]
    r = run(workspace, *buckets, files=[LOGS / "workspace-alert.jsonl"], min_subdomains=n)
    assert not any("amazonaws" in p.value for p in r.proposals)
    assert "amazonaws" not in r.patch
    assert all(n.status == "unexplained" for n in r.names if "s3" in n.name)
    assert all("allow it only if your account owns it" in n.findings[0] for n in r.names if "s3" in n.name)


def test_wildcard_needs_enough_distinct_subdomains(workspace):
    two = [alert("a.corp-mirror.io"), alert("b.corp-mirror.io"), alert("b.corp-mirror.io"), alert("corp-mirror.io")]
    assert accepted(run(workspace, *two)) == set()
    assert accepted(run(workspace, *two, min_subdomains=2)) == {("wildcard", ".corp-mirror.io")}
    r = run(workspace, *two, alert("c.corp-mirror.io"))
    assert accepted(r) == {("wildcard", ".corp-mirror.io")}
    assert {n.wildcard for n in r.names} == {".corp-mirror.io"}
    assert "+    allow: [.corp-mirror.io]" in r.patch


def test_private_public_suffixes_are_not_widened(workspace):
    pages = [alert(f"{u}.github.io") for u in "abcdef"] + [alert(f"x{i}.blob.core.windows.net") for i in range(4)]
    r = run(workspace, *pages)
    assert r.proposals == [] and r.patch == ""


def test_a_wildcard_over_look_alikes_is_rejected(workspace):
    trick = [alert(h) for h in ("pypi.org.attacker.example", "a.attacker.example", "b.attacker.example")]
    r = run(workspace, alert("pypi.org"), *trick)
    assert accepted(r) == {("feature", "pypi")}
    (wild,) = [p for p in r.proposals if p.kind == "wildcard"]
    assert wild.value == ".attacker.example" and "pypi.org.attacker.example" in wild.errors[0]
    (trap,) = [n for n in r.names if n.name == "pypi.org.attacker.example"]
    assert trap.errors and "suffix trick" in trap.findings[-1]
    assert "attacker" not in r.patch and "not proposed (1)" in report.text(r)


def test_a_wildcard_with_a_warning_is_not_proposed(workspace):
    names = [alert(f"{w}.cloud.databricks.com") for w in ("dbc-1", "dbc-2", "dbc-3")]
    r = run(workspace, *names)
    (p,) = r.proposals
    assert not p.accepted and any(w.startswith("RC003 warning") for w in p.warnings)
    assert r.patch == ""


def test_features_with_warnings_are_proposed_and_marked(workspace):
    host = Catalogs(default_root()).region("us-east-1").facts["metastore"][0].host
    r = run(workspace, alert(host))
    (p,) = r.proposals
    assert p.value == "hive-metastore" and p.accepted and p.warnings[0].startswith("RC008 warning")
    assert "WARNING RC008 warning" in report.text(r)


def test_unexplained_names_linted_one_by_one_are_capped(monkeypatch, workspace):
    from rulec.learn import evaluate

    monkeypatch.setattr(evaluate, "MAX_TRIAL_NAMES", 3)
    wild = [alert(f"{h}.corp-mirror.io") for h in "abc"]
    r = run(workspace, alert("x.one.example"), alert("y.two.example"), alert("y.two.example"), *wild)
    assert accepted(r) == {("wildcard", ".corp-mirror.io")}
    assert "2 unexplained name(s) with the fewest hits were not linted" in r.notes


def test_names_already_allowed_are_not_proposed(workspace):
    r = run(workspace, alert("api.example.org"), alert("API.example.org."))
    assert [n.status for n in r.names] == ["allowed"] and r.patch == ""


def test_a_feature_every_region_needs_goes_to_the_policy_wide_list(write_policy):
    policy = write_policy(WORKSPACE + "  eu-west-1:\n    home_net: [10.30.0.0/16]\n")
    r = run(policy, alert("pypi.org"), alert("pypi.org", zone="eu-west-1c"))
    (p,) = r.proposals
    assert p.everywhere and p.path == ("features",)
    assert "-features: [workspace, artifacts, logs]   # control plane and runtime images" in r.patch
    assert "+features: [workspace, artifacts, logs, pypi]" in r.patch


def test_the_patch_applies_cleanly_keeps_comments_and_builds(workspace, tmp_path):
    r = run(workspace, alert("a.corp-mirror.io"), alert("b.corp-mirror.io"), alert("c.corp-mirror.io"),
            files=[LOGS / "workspace-alert.jsonl"])  # fmt: skip
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(workspace, tree / "policy.yaml")
    (tree / "learn.patch").write_text(r.patch.replace(f"a/{workspace.as_posix()}", "a/policy.yaml").replace(
        f"b/{workspace.as_posix()}", "b/policy.yaml"))  # fmt: skip
    subprocess.run(["git", "apply", "--check", "learn.patch"], cwd=tree, check=True)
    subprocess.run(["git", "apply", "learn.patch"], cwd=tree, check=True)
    patched = (tree / "policy.yaml").read_text()
    assert patched == r.patched
    for line in WORKSPACE.strip().splitlines():
        assert line in patched.splitlines()  # every original line, comments included, is still there
    assert [ln for ln in r.patch.splitlines() if ln.startswith("-") and not ln.startswith("---")] == []
    before_lp, before_plans, _, _ = pipeline.plan(workspace)
    build = pipeline.build(tree / "policy.yaml")
    assert build.requests["us-east-1"]
    targets = next(g for g in build.plans[0].groups if hasattr(g, "targets")).targets
    assert {"pypi.org", "files.pythonhosted.org", ".corp-mirror.io"} <= set(targets)
    after = lint.run(lint.Context(build.policy, build.plans))
    before = lint.run(lint.Context(before_lp, before_plans))
    key = {(f.code, f.message) for f in before if lint.at_least(f.severity, "warning")}
    assert [f for f in after if lint.at_least(f.severity, "warning") and (f.code, f.message) not in key] == []
    assert r.new_findings == [] and r.build_errors == []


def test_cli_never_writes_without_write(cli, workspace):
    original = workspace.read_bytes()
    for fmt in ("text", "json", "patch"):
        result = cli("learn", workspace, LOGS / "workspace-alert.jsonl", "--format", fmt)
        assert result.exit_code == 0, result.output
        assert workspace.read_bytes() == original
    data = json.loads(cli("learn", workspace, LOGS / "workspace-alert.jsonl", "--format", "json").output)
    assert data["written"] is False and data["proposals"][0]["value"] == "pypi"
    assert cli("learn", workspace, LOGS / "workspace-alert.jsonl", "--format", "patch").output == data["patch"]


def test_cli_write_applies_the_patch_and_keeps_the_mode(cli, workspace):
    workspace.chmod(0o640)
    result = cli("learn", workspace, LOGS / "workspace-alert.jsonl", "--write")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "features: [pypi]" in workspace.read_text()
    assert workspace.stat().st_mode & 0o777 == 0o640
    again = cli("learn", workspace, LOGS / "workspace-alert.jsonl", "--write")
    assert "already allowed by the policy" in again.output and "no change to propose" in again.output


def test_cli_reports_bad_logs_without_a_traceback(cli, workspace, tmp_path):
    bad = tmp_path / "bad.log.gz"
    bad.write_bytes((LOGS / "workspace-alert.jsonl").read_bytes()[:100])  # not gzip: half a JSON line
    junk = tmp_path / "junk.log"
    junk.write_text('{"event_type": "mystery"}\n\x00\x01binary\n')
    result = cli("learn", workspace, LOGS / "aws-docs-examples.jsonl", bad, junk)
    assert result.exit_code == 0, result.output
    assert "bad input: not JSON (a truncated or foreign line): 2" in result.output
    assert "bad input: unknown event type 'mystery': 1" in result.output
    assert "proposed: nothing" in result.output and "no change to propose" in result.output


def test_cli_bad_input_exits_2(cli, workspace, tmp_path):
    assert cli("learn", workspace).exit_code == 2
    missing = cli("learn", workspace, tmp_path / "nope.jsonl")
    assert missing.exit_code == 2 and "cannot read log file" in missing.output
    assert cli("learn", workspace, LOGS / "workspace-alert.jsonl", "--region", "eu-west-1").exit_code == 2
    assert cli("learn", workspace, LOGS / "workspace-alert.jsonl", "--min-subdomains", "1").exit_code == 2


def test_plain_eve_and_regions(cli, write_policy, tmp_path):
    policy = write_policy(WORKSPACE + "  eu-west-1:\n    home_net: [10.30.0.0/16]\n")
    eve = tmp_path / "eve.json"
    eve.write_text(json.dumps(json.loads(alert("pypi.org"))["event"]) + "\n")
    out = cli("learn", policy, eve).output
    assert "have no availability zone to give their region: pass --region" in out and "proposed: nothing" in out
    out = cli("learn", policy, eve, "--region", "eu-west-1").output
    assert "+ feature pypi in eu-west-1" in out
    zoned = tmp_path / "zoned.jsonl"
    zoned.write_text(alert("pypi.org") + "\n" + alert("pypi.org", zone="eu-west-1a") + "\n")
    out = cli("learn", policy, zoned, "--region", "eu-west-1").output
    assert "+ feature pypi in eu-west-1" in out and "1 name(s) were seen in us-east-1, outside --region" in out


def test_output_is_deterministic(cli, workspace):
    args = ("learn", workspace, LOGS / "workspace-alert.jsonl", LOGS / "aws-docs-examples.jsonl", "--format", "json")
    assert cli(*args).output == cli(*args).output


def test_a_patch_that_does_not_build_is_shown_but_never_written(cli, write_policy):
    probe = write_policy(WORKSPACE, "probe.yaml")
    need = pipeline.plan(probe)[1][0].groups[0].rule_count
    tight = WORKSPACE.replace("version: 1\n", f"version: 1\ngroups:\n  allowlist: {{name: Egress, capacity: {need}}}\n")
    policy = write_policy(tight)
    original = policy.read_bytes()
    shown = cli("learn", policy, LOGS / "workspace-alert.jsonl")
    assert shown.exit_code == 0 and "the patched policy does NOT build:" in shown.output
    assert "is below the" in shown.output.split("does NOT build:")[1]
    refused = cli("learn", policy, LOGS / "workspace-alert.jsonl", "--write")
    assert refused.exit_code == 2 and "not written" in refused.output and policy.read_bytes() == original
