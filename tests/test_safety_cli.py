"""Issue 11, item 13: command-line conventions."""

import json
import subprocess
import sys

from rulec import __version__
from tests.conftest import EXAMPLE, MINIMAL, ROOT


def rulec(*args, stdin=None, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "rulec", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_version():
    r = rulec("--version")
    assert r.returncode == 0 and r.stdout == f"rulec {__version__}\n"


def test_explain_takes_the_policy_positionally_and_exits_1_when_anything_drops(cli, write_policy):
    r = cli("explain", "pypi.org", EXAMPLE)
    assert r.exit_code == 0 and r.stdout.startswith("eu-west-1 TLS pypi.org: PASS")
    assert cli("explain", "pypi.org", "-p", EXAMPLE).stdout == r.stdout
    drop = cli("explain", "upload.example.org", EXAMPLE)
    assert drop.exit_code == 1 and "DROP" in drop.stdout
    assert cli("explain", "upload.example.org", EXAMPLE, "--format", "json").exit_code == 1
    r = cli("explain", "pypi.org")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1  # a usage error, one line like the others
    assert "rulec explain: the following arguments are required: POLICY (or --policy)" in r.stderr
    http_only = write_policy(MINIMAL + "target_types: [HTTP_HOST]\n")
    r = cli("explain", "api.example.org", http_only)
    assert r.exit_code == 0
    assert "warning: eu-west-1 TLS api.example.org is not inspected by any domain list; counted as a pass" in r.stderr


def test_a_policy_from_stdin(tmp_path):
    policy = (MINIMAL + "deny_protocols: [SSH]\n").lstrip()
    r = rulec("build", "-", "-o", tmp_path / "out", stdin=policy, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("<stdin>: a policy read from stdin needs --lock PATH")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    r = rulec("build", "/dev/stdin", "-o", tmp_path / "out", stdin=policy, cwd=tmp_path)
    assert r.returncode == 2 and "needs --lock PATH" in r.stderr  # never a lock beside /dev/stdin
    lock = tmp_path / "locks" / "p.lock.json"
    lock.parent.mkdir()
    r = rulec("build", "-", "-o", tmp_path / "out", "--lock", lock, stdin=policy, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(lock.read_text())["groups"]["Deny-Protocols"]["sids"] == {"deny-protocol:SSH": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locks", "out"]
    r = rulec("build", "-", "-o", tmp_path / "out", stdin=MINIMAL.lstrip(), cwd=tmp_path)  # needs no SID
    assert r.returncode == 0, r.stderr
    bad = rulec("lint", "-", stdin="version: 1\nregions: {eu-west-1: {home_net: [10.0.0.1]}}\n")
    assert bad.returncode == 2 and bad.stderr.startswith("<stdin>:2:34: regions.eu-west-1.home_net.0:")


def test_catalog_show_needs_no_region_for_a_feature_that_is_the_same_everywhere(cli):
    r = cli("catalog", "show", "pypi")
    assert r.exit_code == 0 and r.stdout.startswith("pypi in every region: ")
    assert "    -> pypi.org\n" in r.stdout
    r = cli("catalog", "show", "artifacts")
    assert r.exit_code == 2 and "'artifacts' differs per region (artifacts): give --region" in r.stderr
    assert cli("catalog", "show", "artifacts", "--region", "eu-west-1").exit_code == 0


def test_push_help_names_the_extra():
    r = rulec("push", "--help")
    assert "rulec[aws]" in r.stdout.replace("\n", " ").replace("│", " ")


def test_diff_refuses_a_revision_that_looks_like_an_option(cli, tmp_path):
    r = cli("diff", "--", f"--output={tmp_path / 'x'}:policy.yaml", EXAMPLE)
    assert r.exit_code == 2 and "a git revision cannot start with '-'" in r.stderr
    assert not (tmp_path / "x").exists()
