import json
import shutil
import subprocess
import sys

from tests.conftest import EXAMPLE, MINIMAL


def test_build_writes_outputs_lock_and_figures(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL + "deny_protocols: [SSH]\n")
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "eu-west-1: 1 names" in r.stdout
    assert "Databricks-FQDNs: 4 rules, capacity 100 (computed, 96 spare)" in r.stdout
    doc = json.loads((tmp_path / "out/eu-west-1/Databricks-FQDNs.json").read_text())
    assert doc["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"] == ["api.example.org"]
    assert (
        (tmp_path / "out/eu-west-1/Deny-Protocols.rules").read_text().endswith("drop ssh Any Any <> Any Any (sid:1;)\n")
    )
    assert json.loads((tmp_path / "policy.lock.json").read_text())["groups"]["Deny-Protocols"]["next_sid"] == 2
    again = cli("build", p, "-o", tmp_path / "out")
    assert "is up to date" in again.stdout


def test_bad_input_exits_2_and_writes_nothing(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL.replace("api.example.org", "https://api.example.org"))
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{p}:5:13: regions.eu-west-1.allow.0: 'https://api.example.org' is a URL")
    assert not (tmp_path / "out").exists() and not (tmp_path / "policy.lock.json").exists()


def test_missing_file(cli, tmp_path):
    r = cli("build", tmp_path / "nope.yaml", "-o", tmp_path / "out")
    assert r.exit_code == 2 and r.stderr == f"{tmp_path / 'nope.yaml'}: no such file\n"


def test_locked_fails_when_the_lock_would_change(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL + "deny_protocols: [SSH]\n")
    assert cli("build", p, "-o", tmp_path / "out").exit_code == 0
    assert cli("build", p, "-o", tmp_path / "out", "--locked").exit_code == 0
    p.write_text(p.read_text().replace("[SSH]", "[SSH, FTP]"))
    r = cli("build", p, "-o", tmp_path / "out", "--locked")
    assert r.exit_code == 2 and "the SID lock would change" in r.stderr
    assert "FTP" not in (tmp_path / "policy.lock.json").read_text()
    assert "ftp" not in (tmp_path / "out/eu-west-1/Deny-Protocols.rules").read_text()


def test_check_detects_drift_and_stale_files(cli, tmp_path):
    work = tmp_path / "ref"
    shutil.copytree(EXAMPLE.parent, work)
    policy, out = work / "policy.yaml", work / "out"
    assert cli("check", policy, "-o", out).exit_code == 0
    policy.write_text(policy.read_text().replace(", .cran.r-project.org]", "]"))
    r = cli("check", policy, "-o", out)
    assert r.exit_code == 1
    assert '-          ".cran.r-project.org"' in r.stdout
    assert "run `rulec build" in r.stderr
    (out / "eu-west-1" / "Old-Group.json").write_text("{}")  # not written by rulec: never stale, never removed
    assert "Old-Group.json" not in cli("check", policy, "-o", out).stdout
    assert cli("build", policy, "-o", out).exit_code == 0
    assert (out / "eu-west-1" / "Old-Group.json").read_text() == "{}"
    assert cli("check", policy, "-o", out).exit_code == 0
    policy.write_text(policy.read_text().replace("name: Deny-Protocols", "name: Deny-Old"))
    assert cli("build", policy, "-o", out).exit_code == 0
    policy.write_text(policy.read_text().replace("name: Deny-Old", "name: Deny-Protocols"))
    assert "Deny-Old.json: stale" in cli("check", policy, "-o", out).stdout
    assert cli("build", policy, "-o", out).exit_code == 0
    assert not (out / "eu-west-1" / "Deny-Old.json").exists() and not (out / "eu-west-1" / "Deny-Old.rules").exists()
    assert cli("check", policy, "-o", out).exit_code == 0


def test_output_is_byte_identical_across_runs(cli, tmp_path):
    shutil.copytree(EXAMPLE.parent, tmp_path / "a")
    shutil.copytree(EXAMPLE.parent, tmp_path / "b")
    for d in ("a", "b"):
        shutil.rmtree(tmp_path / d / "out")
        assert cli("build", tmp_path / d / "policy.yaml", "-o", tmp_path / d / "out", "-q").exit_code == 0
    for f in sorted((tmp_path / "a").rglob("*")):
        if f.is_file():
            assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()


def test_real_process_no_traceback_on_user_error(write_policy, tmp_path):
    p = write_policy("version: 1\nregions:\n  eu-west-1: {home_net: [10.0.0.1/8]}\n  eu-west-1: {}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "rulec", "build", str(p), "-o", str(tmp_path / "o")], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        f"{p}:4:3: duplicate key 'eu-west-1' (first defined at line 3); "
        "YAML keeps only the last one, so remove one of them\n"
    )
    assert "Traceback" not in proc.stderr


def test_catalog_list_and_show(cli):
    r = cli("catalog", "list", "--format", "json")
    data = json.loads(r.stdout)
    assert {x["region"] for x in data["regions"] if x["completeness"] == "complete"} >= {"eu-west-1", "us-west-1"}
    r = cli("catalog", "show", "hive-metastore", "--region", "eu-west-1")
    assert "md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com:3306" in r.stdout
    assert "source: https://github.com/databricks/terraform-databricks-examples" in r.stdout
    r = cli("catalog", "show", "workspace", "--region", "ap-southeast-3")
    assert r.exit_code == 2 and "a partial region" in r.stderr


def test_catalog_show_does_not_offer_an_endpoint_in_a_region_where_the_bucket_is_not(cli):
    # us-west-1's artifacts bucket and Kinesis stream live in us-west-2: an endpoint in us-west-1 reaches neither
    for feature in ("artifacts", "kinesis"):
        r = cli("catalog", "show", feature, "--region", "us-west-1")
        assert r.exit_code == 0 and "not needed with" not in r.stdout
        assert "a VPC endpoint in us-west-1 does not replace it: it is in us-west-2" in r.stdout
    same = cli("catalog", "show", "artifacts", "--region", "us-west-2").stdout
    assert "not needed with: an S3 gateway VPC endpoint" in same and "does not replace it" not in same
