"""Issue 11, items 1, 9 and 15: risk findings stop build and check unless waived; look-alikes, exfiltration
services and what a wildcard admits; the catalog corrections."""

import datetime
import json
import shutil

import pytest

from rulec import pipeline
from rulec.load.catalog import Catalogs, default_root
from rulec.review.gate import risk_gate
from tests.conftest import EXAMPLE, MINIMAL, ROOT

RISKY = """
version: 1
deny_protocols: [TLS]
regions:
  eu-west-1:
    home_net: [10.0.0.0/16]
    allow: [.amazonaws.com, s3.amazonaws.com, .co.uk, .cloudfront.net]
"""


def test_risk_findings_stop_build_and_check_at_their_lines_and_nothing_is_written(cli, write_policy, tmp_path):
    p = write_policy(RISKY)
    out = tmp_path / "out"
    r = cli("build", p, "-o", out)
    assert r.exit_code == 1
    errors = [line for line in r.stderr.splitlines() if " error " in line]
    assert [e.split(" ")[:2] for e in errors] == [
        [f"{p}:2:18:", "RC009"],
        [f"{p}:6:13:", "RC001"],
        [f"{p}:6:29:", "RC001"],
        [f"{p}:6:47:", "RC002"],
        [f"{p}:6:55:", "RC001"],
        [f"{p}:6:55:", "RC002"],
    ]
    assert "6 risk findings stop the build" in r.stderr and "nothing was written" in r.stderr
    assert not out.exists() and not (tmp_path / "policy.lock.json").exists()
    r = cli("check", p, "-o", out)
    assert r.exit_code == 1 and "6 risk findings stop the check" in r.stderr


def test_warnings_never_stop_a_build_and_the_reference_example_builds_as_today(cli, tmp_path):
    shutil.copytree(EXAMPLE.parent, tmp_path / "ref")
    r = cli("build", tmp_path / "ref" / "policy.yaml", "-o", tmp_path / "ref" / "out")
    assert r.exit_code == 0 and r.stderr == ""  # RC008 and RC014 warnings are for `rulec lint`
    assert "is up to date" in r.stdout


WAIVED = (
    RISKY.replace("deny_protocols: [TLS]\n", "")
    + """
waivers:
  - {code: RC001, target: s3.amazonaws.com, reason: "legacy job, until it moves to the gateway endpoint"}
  - {code: RC001, target: .amazonaws.com, region: eu-west-1, reason: "reviewed in SEC-12", expires: 2999-12-31}
  - {code: RC002, target: .co.uk, reason: "vendor portal"}
  - {code: RC001, target: .cloudfront.net, reason: "CDN of our UI"}
  - {code: RC002, target: .cloudfront.net, reason: "CDN of our UI"}
"""
)


def test_waived_findings_print_as_info_and_the_build_goes_on(cli, write_policy, tmp_path):
    p = write_policy(WAIVED)
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 5 and all(" info waived at " in line for line in lines)
    assert f"{p}:5:29: RC001 info waived at {p}:8:5 (legacy job, until it moves to the gateway endpoint): " in (
        r.stderr
    )
    assert f"waived at {p}:9:5, until 2999-12-31 (reviewed in SEC-12)" in r.stderr
    assert (tmp_path / "out" / "eu-west-1" / "Databricks-FQDNs.json").is_file()
    assert cli("check", p, "-o", tmp_path / "out").exit_code == 0
    lint = cli("lint", p)  # lint stays the full report, with the same waivers applied
    assert lint.exit_code == 0 and lint.stdout.count(" info waived at ") == 5


def test_unused_or_expired_waivers_are_errors_themselves(cli, write_policy, tmp_path):
    p = write_policy(
        WAIVED.replace("expires: 2999-12-31", "expires: 2020-01-31")
        + '  - {code: RC001, target: .example.com, reason: "nothing matches"}\n'
        + '  - {code: RC006, target: 10.0.0.0/16, region: us-east-1, reason: "wrong region"}\n'
    )
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 1
    assert f"{p}:9:5: RC015 error waiver for RC001 '.amazonaws.com' in eu-west-1 expired on 2020-01-31" in r.stderr
    assert f"{p}:5:13: RC001 error '.amazonaws.com'" in r.stderr  # an expired waiver waives nothing
    assert f"{p}:13:5: RC015 error waiver for RC001 '.example.com' matches no finding" in r.stderr
    assert f"{p}:14:5: RC015 error waiver for RC006 '10.0.0.0/16' in us-east-1 matches no finding" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "waiver, message",
    [
        ('{code: RC001, target: s3.amazonaws.com, reason: "  "}', "a waiver needs a reason"),
        ("{code: RC001, target: s3.amazonaws.com}", "missing required key 'reason'"),
        ('{code: X1, target: a.example.org, reason: "r"}', "'X1' is not a lint code such as RC001"),
        ('{code: RC001, target: a, reason: "r", expires: "soon"}', "expected a date such as 2027-06-30"),
        ('{code: RC001, target: [a, b], reason: "r"}', "expected a string, not a list"),
    ],
)
def test_bad_waivers_are_bad_input(cli, write_policy, tmp_path, waiver, message):
    p = write_policy(MINIMAL + f"waivers:\n  - {waiver}\n")
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 2 and message in r.stderr, r.stderr


def test_one_waiver_covers_one_region_only(write_policy):
    p = write_policy(
        "version: 1\nallow: [s3.amazonaws.com]\nregions:\n  eu-west-1: {home_net: [10.0.0.0/16]}\n"
        "  us-east-1: {home_net: [10.1.0.0/16]}\n"
        'waivers:\n  - {code: RC001, target: s3.amazonaws.com, region: eu-west-1, reason: "r"}\n'
    )
    result = pipeline.build(p)
    gate = risk_gate(result.policy, result.plans, datetime.date(2026, 11, 28))
    assert [(f.code, f.region, f.severity) for f in gate.blocking] == [("RC001", "us-east-1", "error")]
    assert [(f.code, f.region) for f in gate.waived] == [("RC001", "eu-west-1")]


def test_diff_lists_waivers_added_and_removed(cli, write_policy):
    old = write_policy(WAIVED, "old.yaml")
    new = write_policy(WAIVED.replace("vendor portal", "vendor portal, SEC-13"), "new.yaml")
    r = cli("diff", old, new, "--exit-code")
    assert r.exit_code == 1
    assert "waivers (accepted risks):\n  + waiver RC002 .co.uk: vendor portal, SEC-13\n" in r.stdout
    assert "  - waiver RC002 .co.uk: vendor portal\n" in r.stdout
    data = json.loads(cli("diff", old, new, "--format", "json").stdout)
    assert data[-1] == {
        "waivers": {"added": ["RC002 .co.uk: vendor portal, SEC-13"], "removed": ["RC002 .co.uk: vendor portal"]}
    }


def lint_lines(cli, p):
    return [line.split(": ", 1)[1] for line in cli("lint", p).stdout.splitlines()[:-1]]


def test_mixed_script_names_are_errors_and_invalid_punycode_is_refused(cli, write_policy):
    p = write_policy(MINIMAL.replace("[api.example.org]", "[pypі.org, crаn.r-project.org, bücher.de, 日本語.jp]"))
    got = [g for g in lint_lines(cli, p) if "RC012" in g]
    assert got == [
        (
            "RC012 error 'xn--pyp-lhd.org' (pypі.org) mixes Cyrillic and Latin letters in 'pypі': a look-alike of "
            "another name; write the name you mean"
        ),
        (
            "RC012 error 'xn--crn-7cd.r-project.org' (crаn.r-project.org) mixes Cyrillic and Latin letters in "
            "'crаn': a look-alike of another name; write the name you mean"
        ),
    ]
    assert cli("build", p, "-o", p.parent / "out").exit_code == 1
    bad = write_policy(MINIMAL.replace("api.example.org", "xn--pypi-m4e.org"))
    assert "is not valid punycode" in cli("lint", bad).stderr


def test_exfiltration_services_error_in_allow_and_warn_for_a_feature(cli, write_policy):
    p = write_policy(
        MINIMAL.replace("[api.example.org]", "[abc.ngrok-free.app, .webhook.site, pastebin.com, .example.com]")
        + "features: [github]\n"
    )
    got = [g for g in lint_lines(cli, p) if "RC013" in g]
    assert got[0].startswith("RC013 error 'abc.ngrok-free.app' is ngrok-free.app: a tunnel service")
    assert "https://ngrok.com/docs/universal-gateway/domains/" in got[0] and got[0].endswith("; remove it")
    assert got[1].startswith("RC013 error '.webhook.site' is webhook.site: a request catcher")
    assert got[2].startswith("RC013 error 'pastebin.com' is pastebin.com: a paste site")
    assert got[3].startswith("RC013 warning '.github.com' admits gist.github.com: a paste site")
    assert len(got) == 4


def test_lint_says_what_a_wildcard_admits(cli, write_policy):
    p = write_policy(MINIMAL.replace("[api.example.org]", "[.pypi.org, pypi.org]"))
    (got,) = [g for g in lint_lines(cli, p) if "RC014" in g]
    assert got.startswith("RC014 warning '.pypi.org' admits upload.pypi.org, test.pypi.org: a package or code")
    assert cli("build", p, "-o", p.parent / "out").exit_code == 0  # a warning


def test_every_exfiltration_entry_has_a_source_and_a_known_category():
    from rulec.review.lint.names import services

    by_name, _, cat = services()
    assert len(by_name) == len(cat.services) >= 60
    assert {s.category for s in cat.services} == set(cat.categories)
    assert all(s.source.startswith(("https://", "http://")) for s in cat.services)


CATS = Catalogs(default_root())


def targets(feature, region):
    from rulec.compile.resolve import feature_targets
    from rulec.errors import Position

    return [t for t, _ in feature_targets(CATS, region, feature, Position("t"))]


def test_catalog_corrections():
    assert targets("pypi", "eu-west-1") == ["files.pythonhosted.org", "pypi.org"]
    assert "repo.maven.apache.org" in targets("maven", "eu-west-1")
    assert targets("kinesis", "us-gov-west-1") == ["kinesis.us-gov-west-1.amazonaws.com"]
    gov = targets("artifacts", "us-gov-west-1")
    assert gov == ["databricks-prod-artifacts-us-gov-west-1.s3.us-gov-west-1.amazonaws.com"]
    assert not any(t.endswith(".s3.amazonaws.com") for f in ("logs", "datasets") for t in targets(f, "us-gov-west-1"))
    assert "own URL" in CATS.features.features["workspace"].description


def test_push_stops_on_risk_findings_before_any_call(cli, write_policy, tmp_path, emulator):
    waived = MINIMAL.replace("[api.example.org]", "[api.example.org, s3.amazonaws.com]") + (
        'waivers:\n  - {code: RC001, target: s3.amazonaws.com, reason: "reviewed"}\n'
    )
    p = write_policy(waived)
    out = tmp_path / "out"
    assert cli("build", p, "-o", out).exit_code == 0
    p.write_text(waived.split("waivers:")[0])  # the waiver goes; the reviewed build stays the same
    r = cli("push", p, "-o", out, "--endpoint-url", emulator.url, "--yes")
    assert r.exit_code == 1
    assert f"{p}:6:30: RC001 error 's3.amazonaws.com' is an Amazon S3 endpoint" in r.stderr
    assert "1 risk finding stops the push" in r.stderr
    assert emulator.emulator.calls == []


def test_export_stops_on_risk_findings_and_writes_nothing(cli, write_policy, tmp_path):
    p = write_policy(RISKY.replace("deny_protocols: [TLS]\n", ""))
    assert cli("build", p, "-o", tmp_path / "build").exit_code == 1  # the lock is never written either
    r = cli("export", p, "--format", "terraform", "-o", tmp_path / "tf")
    assert r.exit_code == 1 and "risk findings stop the export" in r.stderr
    assert not (tmp_path / "tf").exists()


def test_nextgen_push_stops_on_risk_findings_before_any_call(cli, tmp_path, emulator):
    import shutil

    shutil.copytree(ROOT / "examples" / "next-gen", tmp_path / "ex")
    p = tmp_path / "ex" / "policy.yaml"
    text = p.read_text()
    risky = text.replace("features: [workspace,", "allow: [s3.amazonaws.com]\n    features: [workspace,", 1)
    waiver = 'waivers:\n  - {code: RC001, target: s3.amazonaws.com, reason: "reviewed"}\n'
    p.write_text(risky + waiver)
    assert cli("build", p, "-o", p.parent / "out").exit_code == 0
    p.write_text(risky)  # the waiver goes; the reviewed build stays the same
    r = cli("push", p, "-o", p.parent / "out", "--endpoint-url", emulator.url, "--yes")
    assert r.exit_code == 1, r.output
    assert "RC001 error 's3.amazonaws.com' is an Amazon S3 endpoint" in r.stderr
    assert "1 risk finding stops the push" in r.stderr
    assert emulator.emulator.calls == []
