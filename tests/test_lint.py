import re
import datetime
import json

import pytest

from rulec.load.catalog import Catalogs, default_root
from rulec.pipeline import plan
from rulec.review import lint
from rulec.review.lint.checks import ALL
from tests.conftest import EXAMPLE


def findings(path, **kw):
    lp, plans, _, _ = plan(path)
    return lint.run(lint.Context(lp, plans, **kw))


def lines(path, **kw):
    return [str(f).removeprefix(f"{path}:") for f in findings(path, **kw)]


# Codes are stable: a code once published keeps its meaning. Ranges: RC001-RC019 names and HOME_NET,
# RC020-RC029 strict egress, services and the firewall policy.
PUBLISHED = {
    "RC001": "OpenStorage",
    "RC002": "PublicSuffixWildcard",
    "RC003": "WorkspaceWide",
    "RC004": "Covered",
    "RC005": "StaleCatalogEntry",
    "RC006": "HomeNet",
    "RC007": "NotRestricted",
    "RC008": "NonHttpName",
    "RC009": "DenyBreaksAllowlist",
    "RC010": "CapacityPool",
    "RC011": "SingleLabelName",
    "RC016": "WholeScript",
    "RC020": "ResolvedDomainWithoutValidation",
    "RC021": "ServiceOpenToTheInternet",
    "RC022": "ValidationFailsOpen",
    "RC023": "ValidationOnlyAlerts",
    "RC024": "ServicesWithoutStrictEgress",
}


def test_checks_have_stable_unique_codes_and_docs():
    codes = [c.code for c in ALL]
    assert codes == sorted(set(codes)) and all(re.fullmatch(r"RC\d{3}", c) for c in codes)
    assert {c.code: c.__name__ for c in ALL if c.code in PUBLISHED} == PUBLISHED
    assert all(c.summary and c.severity in ("error", "warning", "info") for c in ALL)


def test_reference_example(write_policy):
    got = lines(EXAMPLE)
    assert got[0].startswith("6:1: RC007 info a domain list only sees TLS SNI and HTTP Host")
    assert got[1].startswith(
        "13:16: RC008 warning 'md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com' serves port 3306"
    )
    assert got[1].endswith(
        "(from feature 'hive-metastore': catalog entry "
        "md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com:3306 at "
        "catalogs/regions/eu-west-1.yaml:17:7)"
    )
    # the reference architecture's wildcards, written out in `allow`: lint says what they admit (a warning)
    assert got[2].startswith("16:13: RC014 warning '.pypi.org' admits upload.pypi.org, test.pypi.org")
    assert len(got) == 3


def test_dangerous_names(write_policy):
    p = write_policy("""
        version: 1
        deny_protocols: [TCP]
        regions:
          eu-west-1:
            home_net: [10.0.0.0/16, 10.0.1.0/24, 10.0.0.0/16, 8.8.8.0/24]
            allow:
              - s3.amazonaws.com
              - .amazonaws.com
              - .s3.eu-west-1.amazonaws.com
              - my-bucket.s3.eu-west-1.amazonaws.com
              - .blob.core.windows.net
              - .core.windows.net
              - storage.googleapis.com
              - .cloudfront.net
              - d111.cloudfront.net
              - .co.uk
              - .github.io
              - .cloud.databricks.com
              - intranet
    """)
    got = lines(p)
    codes = {tuple(g.split(" ")[:3]) for g in got}
    assert ("2:18:", "RC009", "error") in codes  # deny TCP breaks the allowlist
    assert ("5:29:", "RC006", "warning") in codes  # overlap
    assert ("5:42:", "RC006", "warning") in codes  # duplicate
    assert ("5:55:", "RC006", "error") in codes  # public range
    for line in (7, 8, 9, 11, 12, 13, 14):  # S3, Azure, GCS, CDN
        assert (f"{line}:9:", "RC001", "error") in codes, line
    for line in (9, 11, 14, 16, 17):  # public suffixes
        assert (f"{line}:9:", "RC002", "error") in codes, line
    assert ("18:9:", "RC003", "warning") in codes
    assert ("19:9:", "RC011", "warning") in codes
    # a named bucket and a single distribution are fine (only "covered by" infos there)
    assert {c[1] for c in codes if c[0] in ("10:9:", "15:9:")} == {"RC004"}
    (open_,) = [g for g in got if " RC007 " in g]  # TCP is denied: only UDP is left open
    assert open_.startswith("2:1: RC007 info a domain list only sees TLS SNI and HTTP Host: other UDP egress passes")
    s3 = next(g for g in got if g.startswith("7:9: RC001"))
    assert s3 == (
        "7:9: RC001 error 's3.amazonaws.com' is an Amazon S3 endpoint shared by every account; allow your own "
        "buckets by name (<bucket>.s3.eu-west-1.amazonaws.com)"
    )
    wildcard = next(g for g in got if g.startswith("8:9: RC001"))
    assert wildcard.startswith("8:9: RC001 error '.amazonaws.com' matches s3.amazonaws.com, an Amazon S3 endpoint")


def test_stale_catalog_entries_point_at_the_feature(write_policy):
    p = write_policy("version: 1\nregions:\n  eu-west-1: {home_net: [10.0.0.0/16], features: [cran]}\n")
    later = datetime.date(2026, 11, 28) + datetime.timedelta(days=400)
    (stale,) = [g for g in lines(p, today=later) if "RC005" in g]
    assert stale.startswith(
        "3:51: RC005 warning '.cran.r-project.org' comes from a catalog entry last reviewed on "
        "2026-11-28 (over 365 days ago)"
    )
    assert "catalog entry .cran.r-project.org at catalogs/features.yaml" in stale
    assert not [g for g in lines(p, today=datetime.date(2026, 12, 1)) if "RC005" in g]


def test_capacity_pool(write_policy):
    p = write_policy("""
        version: 1
        groups: {allowlist: {name: A, capacity: 25000}, deny: {name: D, capacity: 6000}}
        deny_protocols: [SSH]
        regions:
          eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}
    """)
    assert any(g.startswith("5:3: RC010 warning eu-west-1's groups reserve 31,000 capacity") for g in lines(p))


def test_cli_formats_and_exit_codes(cli, write_policy):
    p = write_policy("version: 1\nregions:\n  eu-west-1: {home_net: [10.0.0.0/16], allow: [.amazonaws.com]}\n")
    r = cli("lint", p)
    assert (
        r.exit_code == 1
        and f"{p}:3:48: RC001 error '.amazonaws.com' matches s3.amazonaws.com, an Amazon S3" in r.stdout
    )
    assert r.stdout.rstrip().endswith("1 error, 0 warnings, 1 info")
    assert cli("lint", EXAMPLE).exit_code == 0
    assert cli("lint", EXAMPLE, "--fail-on", "warning").exit_code == 1
    assert cli("lint", p, "--fail-on", "never").exit_code == 0
    data = json.loads(cli("lint", p, "--format", "json").stdout)
    assert data[1] == {
        "file": str(p),
        "line": 3,
        "column": 48,
        "code": "RC001",
        "severity": "error",
        "message": data[1]["message"],
    }
    sarif = json.loads(cli("lint", p, "--format", "sarif").stdout)
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "rulec"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [c.code for c in ALL]
    result = next(r for r in run["results"] if r["ruleId"] == "RC001")
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 48}
    assert cli("lint", p, "--format", "xml").exit_code == 2


@pytest.mark.parametrize("feature", sorted(set(Catalogs(default_root()).features.features) - {"hive-metastore"}))
def test_catalog_features_are_lint_clean(write_policy, feature):
    p = write_policy(
        f"version: 1\ndeny_protocols: [UDP]\nregions:\n  us-east-1: {{home_net: [10.0.0.0/16], "
        f"features: [{feature}]}}\n"
    )
    found = [g for g in lines(p) if " error " in g or " warning " in g]
    if feature == "github":  # '.github.com' admits GitHub's paste site and upload API: a warning names each
        assert [g.split(" ")[1] for g in found] == ["RC013", "RC014"], found
        assert "'.github.com' admits gist.github.com: a paste site" in found[0]
        assert "'.github.com' admits uploads.github.com: a package or code upload endpoint" in found[1]
    else:
        assert found == []


def test_a_missing_target_type_is_an_open_path(write_policy):
    p = write_policy(
        "version: 1\ntarget_types: [HTTP_HOST]\nregions: {eu-west-1: {home_net: [10.0.0.0/16], "
        "allow: [.example.org]}}\n"
    )
    assert (
        "2:15: RC007 warning target_types leaves out TLS_SNI: HTTPS/TLS to any name passes the domain list; "
        "add TLS_SNI, or set egress: strict to drop it" in lines(p)
    )


def test_whole_script_look_alikes(write_policy):
    p = write_policy(
        "version: 1\nregions:\n  eu-west-1:\n    home_net: [10.0.0.0/16]\n"
        "    allow: [рурі.org, .аррӏе.com, пример.рф, руpi.org, pypi.org, οκ.gr]\n"
    )
    found = [line for line in lines(p) if " RC016 " in line]
    assert found == [
        "5:13: RC016 error 'xn--p1aai1f.org' (рурі.org) is written in Cyrillic letters that all look Latin: it reads "
        "as 'pypi.org', a look-alike of another name; write the name you mean",
        "5:23: RC016 error '.xn--80ak6aa92e.com' (аррӏе.com) is written in Cyrillic letters that all look Latin: it "
        "reads as '.apple.com', a look-alike of another name; write the name you mean",
        "5:66: RC016 error 'xn--vxaj.gr' (οκ.gr) is written in Greek letters that all look Latin: it reads as "
        "'ok.gr', a look-alike of another name; write the name you mean",
    ]  # пример.рф is Russian with letters Latin has not; руpi.org mixes scripts (RC012)
    assert any(" RC012 " in line and "руpi" in line for line in lines(p))
