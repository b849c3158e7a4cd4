import pytest

from rulec.compile.resolve import resolve
from rulec.errors import RulecError
from rulec.load.catalog import Catalogs, default_root
from rulec.load.policy import load_policy


def run(path):
    return resolve(load_policy(path), Catalogs(default_root()))


def test_declaration_order_and_collapse(write_policy):
    p = write_policy("""
        version: 1
        features: [pypi]
        allow: [.example.com, pypi.org, .pythonhosted.org]
        regions:
          eu-west-1:
            home_net: [10.0.0.0/16]
            features: [hive-metastore, pypi]
            allow: [api.example.com, API.Example.org., .sub.example.com, files.pythonhosted.org]
    """)
    (r,) = run(p)
    assert [t.name for t in r.targets] == [
        "pypi.org",
        ".example.com",
        ".pythonhosted.org",
        "md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com",
        "api.example.org",
    ]
    reasons = sorted((c.name, c.reason) for c in r.collapsed)
    assert reasons == [
        (".sub.example.com", "covered by .example.com"),
        ("api.example.com", "covered by .example.com"),
        ("files.pythonhosted.org", "covered by .pythonhosted.org"),  # once per writing (three), never also
        ("files.pythonhosted.org", "covered by .pythonhosted.org"),  # as a duplicate of its first writing
        ("files.pythonhosted.org", "covered by .pythonhosted.org"),
        ("pypi.org", "duplicate"),
        ("pypi.org", "duplicate"),
    ]
    # the surviving target remembers everything that brought it in
    example = next(t for t in r.targets if t.name == ".example.com")
    assert len(example.origins) == 3
    metastore = next(t for t in r.targets if t.name.endswith("rds.amazonaws.com"))
    assert metastore.non_http_ports == [3306]
    assert metastore.origins[0].feature == "hive-metastore"


def test_unknown_region_and_feature_are_reported_together(write_policy):
    p = write_policy("""
        version: 1
        regions:
          eu-west-9: {home_net: [10.0.0.0/16]}
          eu-west-1: {home_net: [10.0.0.0/16], features: [pypi, conda]}
    """)
    with pytest.raises(RulecError) as info:
        run(p)
    got = [str(d) for d in info.value.diagnostics]
    assert got[0].startswith(f"{p}:3:3: unknown region 'eu-west-9'; the catalogs know: ap-northeast-1")
    assert got[1].startswith(f"{p}:4:57: unknown feature 'conda'; known: artifacts, cran")


def test_partial_region_missing_fact(write_policy):
    p = write_policy("""
        version: 1
        regions:
          eu-north-1: {home_net: [10.0.0.0/16], features: [sts, workspace]}
    """)
    with pytest.raises(RulecError) as info:
        run(p)
    assert str(info.value) == (
        f"{p}:3:57: feature 'workspace' needs 'webapp', which the catalog has no entry "
        "for in eu-north-1 (a partial region); allow the names yourself"
    )


def test_buckets_become_virtual_hosted_names_never_bare_s3(write_policy):
    p = write_policy("""
        version: 1
        regions:
          us-west-1: {home_net: [10.0.0.0/16], features: [artifacts, logs]}
    """)
    (r,) = run(p)
    names = [t.name for t in r.targets]
    assert names == [
        "databricks-prod-artifacts-us-west-2.s3.amazonaws.com",
        "databricks-prod-artifacts-us-west-2.s3.us-west-2.amazonaws.com",
        "databricks-prod-storage-oregon.s3.amazonaws.com",
        "databricks-prod-storage-oregon.s3.us-west-2.amazonaws.com",
    ]


def test_a_policy_wide_problem_is_reported_once_not_per_region(write_policy):
    p = write_policy("""
        version: 1
        features: [conda]
        regions:
          eu-west-1: {home_net: [10.0.0.0/16]}
          eu-west-2: {home_net: [10.1.0.0/16]}
    """)
    with pytest.raises(RulecError) as info:
        run(p)
    assert [str(d) for d in info.value.diagnostics] == [
        f"{p}:2:12: unknown feature 'conda'; known: artifacts, cran, datasets, github, hive-metastore, kinesis, "
        "logs, maven, pypi, sts, system-tables, workspace"
    ]
