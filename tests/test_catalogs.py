import re
import shutil
import typing

import pytest
import yaml

from rulec.compile.resolve import feature_targets
from rulec.errors import Position, RulecError
from rulec.load import ipranges
from rulec.load.catalog import Catalogs, FactKind, default_root
from tests.conftest import ROOT

CATS = Catalogs(default_root())
FEATURES = CATS.features.features
REGIONS = CATS.region_names()
COMPLETE = [r for r in REGIONS if CATS.region(r).completeness == "complete"]
KIND_ORDER = list(typing.get_args(FactKind))


def test_regions_present():
    assert set(COMPLETE) == {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "sa-east-1",
    }
    assert set(REGIONS) - set(COMPLETE) == {"ap-southeast-3", "eu-north-1", "us-gov-west-1"}


def test_features_present_and_sorted():
    assert {
        "workspace",
        "hive-metastore",
        "artifacts",
        "logs",
        "system-tables",
        "datasets",
        "kinesis",
        "sts",
        "pypi",
        "cran",
        "maven",
        "github",
    } <= set(FEATURES)
    assert list(FEATURES) == sorted(FEATURES)
    for name, f in FEATURES.items():
        labels = [e.label for e in f.names]
        assert labels == sorted(set(labels)), name


@pytest.mark.parametrize("region", REGIONS)
def test_region_files_are_sorted_free_of_duplicates_and_sourced(region):
    cat = CATS.region(region)
    assert list(cat.facts) == [k for k in KIND_ORDER if k in cat.facts]
    for kind, entries in cat.facts.items():
        labels = [e.label for e in entries]
        assert labels == sorted(set(labels)), (region, kind)
        for e in entries:
            assert re.match(r"^https://", e.source), e
            assert e.reviewed.year >= 2024
    assert set(cat.missing) | set(cat.facts) == set(KIND_ORDER) or cat.completeness == "complete"


@pytest.mark.parametrize("region", COMPLETE)
@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_every_feature_resolves_in_every_complete_region(region, feature):
    targets = [t for t, _ in feature_targets(CATS, region, feature, Position("test"))]
    assert targets and len(targets) == len(set(targets))


def all_targets():
    for region in REGIONS:
        for feature in FEATURES:
            try:
                yield from (t for t, _ in feature_targets(CATS, region, feature, Position("test")))
            except RulecError:
                pass


def test_no_catalog_entry_opens_all_of_s3_or_aws():
    for t in all_targets():
        assert not re.fullmatch(r"\.?(s3(\.[a-z0-9-]+)?\.)?amazonaws\.com", t), t
        assert not (t.startswith(".") and ("s3" in t or t.endswith("amazonaws.com"))), t


def test_partial_region_features_fail_clearly():
    with pytest.raises(
        RulecError,
        match="needs 'webapp', which the catalog has no entry for in us-gov-west-1 "
        r"\(a partial region\)",
    ):
        feature_targets(CATS, "us-gov-west-1", "workspace", Position("p.yaml", 3, 4))


def resolved(feature, region):
    return [t for t, _ in feature_targets(CATS, region, feature, Position("test"))]


@pytest.mark.parametrize(
    "region, feature, expected",
    [
        ("us-east-1", "workspace", ["nvirginia.cloud.databricks.com", "tunnel.us-east-1.cloud.databricks.com"]),
        ("us-west-1", "workspace", ["oregon.cloud.databricks.com", "tunnel.cloud.databricks.com"]),
        ("eu-west-1", "workspace", ["ireland.cloud.databricks.com", "tunnel.eu-west-1.cloud.databricks.com"]),
        ("eu-west-1", "hive-metastore", ["md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com"]),
        ("us-east-2", "hive-metastore", ["md7wf1g369xf22.cluz8hwxjhb6.us-east-2.rds.amazonaws.com"]),
        (
            "eu-west-1",
            "artifacts",
            [
                "databricks-prod-artifacts-eu-west-1.s3.amazonaws.com",
                "databricks-prod-artifacts-eu-west-1.s3.eu-west-1.amazonaws.com",
            ],
        ),
        (
            "us-west-1",
            "artifacts",
            [
                "databricks-prod-artifacts-us-west-2.s3.amazonaws.com",
                "databricks-prod-artifacts-us-west-2.s3.us-west-2.amazonaws.com",
            ],
        ),
        (
            "us-west-2",
            "artifacts",
            [
                "databricks-prod-artifacts-us-west-2.s3.amazonaws.com",
                "databricks-prod-artifacts-us-west-2.s3.us-west-2.amazonaws.com",
                "databricks-update-oregon.s3.amazonaws.com",
                "databricks-update-oregon.s3.us-west-2.amazonaws.com",
            ],
        ),
        (
            "ap-southeast-3",
            "datasets",
            ["databricks-datasets-oregon.s3.amazonaws.com", "databricks-datasets-oregon.s3.us-west-2.amazonaws.com"],
        ),
    ],
)
def test_golden_feature_resolution(region, feature, expected):
    assert resolved(feature, region) == expected


def test_metastore_is_flagged_non_http():
    ((_, origin),) = feature_targets(CATS, "eu-west-1", "hive-metastore", Position("t"))
    assert origin.entry.non_http and origin.entry.port == 3306


def test_ip_ranges_refresh_produces_a_reviewable_diff(tmp_path, cli):
    cats = tmp_path / "catalogs"
    shutil.copytree(default_root(), cats)
    (cats / "ip-ranges.yaml").unlink()
    old, new = (
        ROOT / "tests/data/databricks-ip-ranges-2026-02-13.json",
        ROOT / "tests/data/databricks-ip-ranges-2026-05-04.json",
    )
    assert cli("catalog", "import-ip-ranges", old, "--catalogs", cats).exit_code == 0
    first = (cats / "ip-ranges.yaml").read_bytes()
    assert cli("catalog", "import-ip-ranges", new, "--catalogs", cats, "--check").exit_code == 1
    assert (cats / "ip-ranges.yaml").read_bytes() == first  # --check writes nothing
    r = cli("catalog", "import-ip-ranges", new, "--catalogs", cats)
    assert r.stdout.splitlines()[:2] == ["+ us-east-1 outbound 3.41.179.0/25", "+ us-west-2 outbound 3.42.138.0/25"]
    assert (cats / "ip-ranges.yaml").read_bytes() == (default_root() / "ip-ranges.yaml").read_bytes()
    assert "is up to date" in cli("catalog", "import-ip-ranges", new, "--catalogs", cats).stdout
    data = yaml.safe_load(first)
    assert data["timestamp_seconds"] == 1770871875 and "3.41.179.0/25" not in data["regions"]["us-east-1"]["outbound"]


def test_ip_ranges_bad_file(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(
        '{"prefixes": [\n  {"platform": "aws", "type": "inbound", "region": "eu-west-1", "ipv4Prefixes": ["1.2.3.4/8"]}]}'
    )
    with pytest.raises(RulecError, match="'1.2.3.4/8' is not a CIDR block"):
        ipranges.import_file(bad, tmp_path)
    bad.write_text('{"prefixes": [')
    with pytest.raises(RulecError, match=r"x.json:1:15: not valid JSON"):
        ipranges.import_file(bad, tmp_path)


def test_broken_catalog_reports_file_line_col(tmp_path, cli, write_policy):
    cats = tmp_path / "catalogs"
    shutil.copytree(default_root(), cats)
    region = cats / "regions" / "eu-west-1.yaml"
    text = region.read_text()
    region.write_text(
        text.replace(
            "      source: https://github.com/databricks/terraform-databricks-examples/blob/"
            "fb6ff0c36b5c570ae08b75aa671ad1e52926c392/modules/aws-exfiltration-protection/"
            "main.tf\n",
            "",
            1,
        ).replace("city: ireland", "city: ireland\nowner: me")
    )
    p = write_policy("version: 1\nregions:\n  eu-west-1: {home_net: [10.0.0.0/16], features: [workspace]}\n")
    r = cli("build", p, "-o", tmp_path / "out", "--catalogs", cats)
    assert r.exit_code == 2
    errors = r.stderr.splitlines()
    assert errors[0] == f"{region}:6:1: unknown key 'owner'"
    assert errors[1] == f"{region}:10:7: missing required key 'source'"
    assert not (tmp_path / "out").exists()
