import pytest

from rulec.errors import RulecError
from rulec.load.policy import load_policy


def errors(path) -> list[str]:
    with pytest.raises(RulecError) as info:
        load_policy(path)
    return [str(d) for d in info.value.diagnostics]


def test_issue_example_loads(write_policy):
    p = write_policy("""
        version: 1
        target_types: [TLS_SNI, HTTP_HOST]     # optional; default both
        deny_protocols: [FTP, SSH, ICMP]       # optional; any Network Firewall stateful protocol
        groups:
          allowlist: {name: Databricks-FQDNs, capacity: 100}   # capacity optional -> computed
          deny: {name: Deny-Protocols, capacity: 100}
        features: [pypi]                       # optional; applies to every region
        allow: [.example.com]                  # optional; applies to every region
        regions:
          eu-west-1:
            home_net: [10.173.0.0/16, 10.10.0.0/16]
            features: [hive-metastore, pypi, cran]
            allow: [api.example.org]
    """)
    policy = load_policy(p).policy
    assert policy.regions["eu-west-1"].home_net == ["10.173.0.0/16", "10.10.0.0/16"]
    assert policy.allow == [".example.com"]


def test_defaults(write_policy):
    p = write_policy("version: 1\nregions:\n  eu-west-1: {home_net: ['10.0.0.0/8']}\n")
    policy = load_policy(p).policy
    assert policy.target_types == ["TLS_SNI", "HTTP_HOST"]
    assert (policy.groups.allowlist.name, policy.groups.deny.name) == ("Databricks-FQDNs", "Deny-Protocols")
    assert policy.deny_protocols == []


def test_every_problem_is_reported_with_its_position(write_policy):
    p = write_policy("""
        version: 1
        deny_protocols: [FTP, ssh]
        groups:
          allowlist: {name: Databricks_FQDNs, capacity: 60000}
          deny: {name: Deny-Protocols, capcity: 100}
        allow: ['*.example.com', "https://x.org/a"]
        regions:
          eu-west-1:
            home_net: [10.173.0.1/16, 300.0.0.0/8]
          eu-west-2: {features: []}
    """)
    got = errors(p)
    f = str(p)
    assert f"{f}:2:23: deny_protocols.1: Input should be 'IP'" in got[0]
    assert got[1] == f"{f}:4:21: groups.allowlist.name: 'Databricks_FQDNs' may hold only letters, digits and '-'"
    assert got[2] == f"{f}:4:49: groups.allowlist.capacity: Input should be less than or equal to 50000"
    assert got[3] == f"{f}:5:32: unknown key 'capcity'; did you mean 'capacity'?"
    assert got[4].startswith(f"{f}:6:9: allow.0: '*.example.com': '*' is not supported; write '.example.com'")
    assert got[5].endswith("is a URL; domain lists match host names only: write 'x.org'")
    assert got[6] == (
        f"{f}:9:16: regions.eu-west-1.home_net.0: '10.173.0.1/16' has host bits set; did you mean '10.173.0.0/16'?"
    )
    assert got[7].startswith(f"{f}:9:31: regions.eu-west-1.home_net.1: '300.0.0.0/8' is not a CIDR")
    assert got[8] == f"{f}:10:14: missing required key 'home_net'"
    assert len(got) == 9


@pytest.mark.parametrize(
    "body, message",
    [
        ("version: 2\nregions: {eu-west-1: {home_net: [10.0.0.0/8]}}\n", "version: Input should be 1"),
        ("version: 1\nregions: {}\n", "regions: Dictionary should have at least 1 item"),
        ("version: 1\nregions: {eu-west-1: {home_net: []}}\n", "home_net: List should have at least 1 item"),
        (
            "version: 1\nregions: {EU: {home_net: [10.0.0.0/8]}}\n",
            "regions: 'EU' is not an AWS region name such as eu-west-1",
        ),
        (
            "version: 1\ntarget_types: [TLS_SNI, TLS_SNI]\nregions: {eu-west-1: {home_net: [10.0.0.0/8]}}\n",
            "target_types lists TLS_SNI twice",
        ),
        (
            "version: 1\ngroups: {allowlist: {name: A}, deny: {name: a}}\nregions: {eu-west-1: {home_net: [10.0.0.0/8]}}\n",
            "allowlist and deny groups share the name 'a'",
        ),
        (
            "version: 1\ngroups: {allowlist: {name: A, capacity: '100'}}\nregions: {eu-west-1: {home_net: [10.0.0.0/8]}}\n",
            "capacity: expected a whole number, not the string '100'",
        ),
    ],
)
def test_invalid_policies(write_policy, body, message):
    got = errors(write_policy(body))
    assert any(message in g for g in got), got


def test_unknown_key_names_the_key_meant_only_when_it_is_close_and_missing(write_policy):
    p = write_policy("version: 1\nregions:\n  eu-west-1:\n    home_nets: [10.0.0.0/16]\n    allow: [a.example.org]\n")
    with pytest.raises(RulecError) as exc:
        load_policy(p)
    assert f"{p}:4:5: unknown key 'home_nets'; did you mean 'home_net'?" in [str(d) for d in exc.value.diagnostics]
    p = write_policy("version: 1\nregions:\n  eu-west-1:\n    home_net: [10.0.0.0/16]\n    home_nett: [1.0.0.0/8]\n")
    with pytest.raises(RulecError) as exc:
        load_policy(p)
    assert f"{p}:5:5: unknown key 'home_nett'" in [str(d) for d in exc.value.diagnostics]  # home_net is there
