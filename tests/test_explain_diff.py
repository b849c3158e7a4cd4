import json
import shutil
import subprocess

from rulec.emit.suricata import domain_sid
from rulec.pipeline import plan
from rulec.review.explain import explain
from tests.conftest import EXAMPLE, ROOT

MULTI = ROOT / "tests/golden/multi-region/policy.yaml"


def verdicts(host, policy=EXAMPLE, region=0):
    _, plans, _, _ = plan(policy)
    return explain(host, plans[region])


def test_explain_allowed_name_with_its_origin():
    tls, http = verdicts("FILES.pythonhosted.org")
    group = plan(EXAMPLE)[1][0].groups[0]
    tls_sid, http_sid = (domain_sid(group, t, ".pythonhosted.org") for t in ("TLS_SNI", "HTTP_HOST"))
    assert (tls.protocol, tls.verdict) == ("TLS", "pass")
    assert tls.reason == (
        f"matches .pythonhosted.org as a subdomain (Databricks-FQDNs, sid {tls_sid} in Databricks-FQDNs.rules)"
    )
    assert http.reason.endswith(f"(Databricks-FQDNs, sid {http_sid} in Databricks-FQDNs.rules)")
    (origin,) = tls.origins
    assert origin == f"allow entry at {EXAMPLE}:16:24"
    (origin,) = verdicts("md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com")[0].origins
    assert origin.startswith(f"feature 'hive-metastore' at {EXAMPLE}:13:16: catalog entry ")
    assert "source https://github.com/databricks/terraform-databricks-examples/" in origin
    assert "reviewed 2026-11-28" in origin


def test_explain_drop_names_the_default_rule_and_lookalikes():
    tls, http = verdicts("evilpypi.org")
    assert tls.verdict == http.verdict == "drop"
    assert 'default drop (sid 1 in Databricks-FQDNs.rules: "not matching any TLS allowlisted FQDNs")' in tls.reason
    assert tls.notes == ["looks like .pypi.org but is not below it (no dot before 'pypi.org'): a look-alike"]
    (tls, _) = verdicts("pypi.org.attacker.io")
    assert tls.notes == ["starts with pypi.org but is a different domain (a suffix trick)"]


def test_explain_merged_names_and_exact_only(write_policy):
    p = write_policy("""
        version: 1
        target_types: [TLS_SNI]
        regions:
          eu-west-1: {home_net: [10.0.0.0/16], allow: [api.example.org, .example.com, www.example.com]}
    """)
    tls, http = verdicts("www.example.com", p)
    assert tls.verdict == "pass" and tls.origins == [f"allow entry at {p}:4:65", f"allow entry at {p}:4:79"]
    assert tls.notes == [f"www.example.com (covered by .example.com) was written at {p}:4:79"]
    assert http.verdict == "uninspected"
    (tls, _) = verdicts("v2.api.example.org", p)
    assert tls.verdict == "drop"
    assert tls.notes == [
        "is below api.example.org, which is allowed exactly, not with its subdomains (write .api.example.org for those)"
    ]


def test_explain_follows_the_engine_on_denied_protocols(write_policy):
    # Suricata 7 and 8 pass an allowed name despite `drop tls`: the allowlist's pass matches the same
    # ClientHello and pass outranks drop (tests/test_model.py proves it on both); `drop tcp` matches the SYN first.
    p = write_policy(
        "version: 1\ndeny_protocols: [TLS]\nregions: {eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}}\n"
    )
    tls, http = verdicts("a.example.org", p)
    assert (tls.verdict, http.verdict) == ("pass", "pass")
    assert verdicts("b.example.org", p)[0].verdict == "drop"
    p = write_policy(
        "version: 1\ndeny_protocols: [TCP]\nregions: {eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}}\n"
    )
    tls, http = verdicts("a.example.org", p)
    assert (tls.verdict, tls.reason) == ("drop", "Deny-Protocols sid 1: drops every TCP flow (deny_protocols)")
    assert http.verdict == "drop"


def test_explain_cli(cli):
    r = cli("explain", "pypi.org", "--policy", EXAMPLE)
    assert r.exit_code == 0
    assert r.stdout.startswith("eu-west-1 TLS pypi.org: PASS: matches .pypi.org at the apex")
    assert cli("explain", "https://pypi.org/", "--policy", EXAMPLE).exit_code == 2
    data = json.loads(cli("explain", "x.s3.amazonaws.com", "-p", MULTI, "-r", "us-east-1", "--format", "json").stdout)
    assert data[0]["verdicts"][0]["verdict"] == "drop"
    assert cli("explain", "pypi.org", "-p", EXAMPLE, "-r", "us-east-1").exit_code == 2


def test_diff_policies_with_provenance(cli, tmp_path):
    new = tmp_path / "policy.yaml"
    shutil.copy(EXAMPLE, new)
    shutil.copy(EXAMPLE.with_name("policy.lock.json"), tmp_path / "policy.lock.json")
    new.write_text(
        new.read_text()
        .replace("features: [hive-metastore]", "features: [hive-metastore, github]")
        .replace(", .cran.r-project.org]", "]")
        .replace("[FTP, SSH, ICMP]", "[FTP, ICMP, UDP]")
    )
    r = cli("diff", EXAMPLE, new)
    assert r.exit_code == 0
    out = r.stdout
    assert "eu-west-1/Databricks-FQDNs: changed (capacity 100, 10 -> 14 rules)" in out
    assert f"  + .github.com\n      via feature 'github' at {new}:13:32: catalog entry .github.com" in out
    assert f"  - .cran.r-project.org\n      via allow entry at {EXAMPLE}:16:43" in out
    assert "  + sid 4: DROP UDP ANY ANY <> ANY ANY\n  - sid 2: DROP SSH ANY ANY <> ANY ANY" in out
    assert out.rstrip().endswith("2 of 2 group(s) changed")
    assert cli("diff", EXAMPLE, new, "--exit-code").exit_code == 1
    md = cli("diff", EXAMPLE, new, "--format", "markdown").stdout
    assert "### eu-west-1/Deny-Protocols: changed (capacity 100, 3 rules)\n```diff\n+ sid 4" in md
    data = json.loads(cli("diff", EXAMPLE, new, "--format", "json").stdout)
    assert data[0]["names_removed"] == [".cran.r-project.org"] and data[1]["rules_added"][0].startswith("sid 4")


def test_diff_build_directories(cli):
    r = cli("diff", EXAMPLE.parent / "out", ROOT / "tests/golden/multi-region/expected", "--exit-code")
    assert r.exit_code == 1
    assert "eu-west-1/Databricks-FQDNs: removed (capacity 100, 10 rules)\n  - .cran.r-project.org" in r.stdout
    assert "us-east-1/Egress-Allow: added (capacity 100, 22 rules)\n  + .example.com" in r.stdout
    same = cli("diff", EXAMPLE.parent / "out", EXAMPLE.parent / "out", "--exit-code")
    assert same.exit_code == 0 and "0 of 2 group(s) changed" in same.stdout
    assert cli("diff", ROOT / "tests", EXAMPLE).exit_code == 2


def test_diff_against_a_git_revision(cli, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(EXAMPLE, repo / "policy.yaml")
    shutil.copy(EXAMPLE.with_name("policy.lock.json"), repo / "policy.lock.json")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    (repo / "policy.yaml").write_text((repo / "policy.yaml").read_text().replace(", .cran.r-project.org]", "]"))
    monkeypatch.chdir(repo)
    r = cli("diff", "HEAD:policy.yaml", "policy.yaml")
    assert r.exit_code == 0
    assert "  - .cran.r-project.org\n      via allow entry at HEAD:policy.yaml:16:43" in r.stdout
    assert "~ description" not in r.stdout
    assert cli("diff", "HEAD:nope.yaml", "policy.yaml").exit_code == 2


def test_domain_sid_layout_matches_the_emitted_rules():
    import re

    from rulec.compile.ir import DomainListGroup
    from rulec.emit.suricata import domain_rules, domain_sid

    for policy in (EXAMPLE, MULTI):
        _, plans, _, _ = plan(policy)
        for region in plans:
            group = next(g for g in region.groups if isinstance(g, DomainListGroup))
            for review, line in domain_rules(group):
                sid = int(re.search(r"sid:(\d+);", line).group(1))
                assert sid == review
                ttype = "TLS_SNI" if line.split()[1] == "tls" else "HTTP_HOST"
                target = re.search(r'content:"([^"|]+)"', line)
                assert sid == domain_sid(group, ttype, target.group(1) if target else None), line


def test_explain_host_port_shows_what_a_denied_protocols_client_gets(cli):
    r = cli("explain", "pypi.org:22", EXAMPLE)  # the reference example denies FTP, SSH and ICMP
    assert "eu-west-1 SSH pypi.org:22: DROP: Deny-Protocols sid" in r.stdout
    assert "eu-west-1 FTP pypi.org:22: DROP: Deny-Protocols sid" in r.stdout
    assert "a client of SSH, which deny_protocols names; shown for reference, not in the exit code" in r.stdout
    assert r.exit_code == 0  # TLS and HTTP to pypi.org pass; the rows for reference do not count
    assert "SSH pypi.org" not in cli("explain", "pypi.org:443", EXAMPLE).stdout  # only on a port of its own
