import pytest

from rulec.compile.plan import auto_capacity
from rulec.errors import RulecError
from rulec.pipeline import plan


@pytest.mark.parametrize(
    "rules, capacity",
    [(1, 100), (66, 100), (67, 100), (68, 200), (10, 100), (1000, 1500), (33_334, 50_000), (50_000, 50_000)],
)
def test_auto_capacity(rules, capacity):
    assert auto_capacity(rules) == capacity


def names(n: int) -> str:
    return "[" + ", ".join(f"host{i}.example.org" for i in range(n)) + "]"


def test_capacity_counts_like_network_firewall(write_policy):
    p = write_policy(f"""
        version: 1
        deny_protocols: [SSH, FTP]
        regions:
          eu-west-1:
            home_net: [10.0.0.0/16]
            allow: {names(99)}
    """)
    _, (region,), _, _ = plan(p)
    allow, deny = region.groups
    assert allow.rule_count == 99 * 2 + 2 and allow.capacity == 300 and not allow.capacity_explicit
    assert deny.rule_count == 2 and deny.capacity == 100
    assert [r.sid for r in deny.rules] == [1, 2]


def http_policy(write_policy, n: int):
    return write_policy(f"""
        version: 1
        target_types: [HTTP_HOST]
        groups: {{allowlist: {{name: Fqdns, capacity: 100}}}}
        regions:
          eu-west-1:
            home_net: [10.0.0.0/16]
            allow: {names(n)}
    """)


def test_explicit_capacity_below_need(write_policy):
    p = http_policy(write_policy, 100)
    with pytest.raises(RulecError) as info:
        plan(p)
    assert str(info.value) == (
        f"{p}:3:45: capacity 100 of 'Fqdns' is below the 101 rules it needs in eu-west-1; "
        "set at least 101 (capacity cannot be raised after the group is created)"
    )


def test_99_http_names_fit_capacity_100(write_policy):
    _, (region,), _, _ = plan(http_policy(write_policy, 99))
    assert region.groups[0].rule_count == 100 and region.groups[0].capacity == 100


def test_no_deny_group_without_denied_protocols(write_policy):
    p = write_policy("version: 1\nregions: {eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example]}}\n")
    _, (region,), _, after = plan(p)
    assert [g.name for g in region.groups] == ["Databricks-FQDNs"] and after.groups == {}


def test_fifty_thousand_rules_build_and_one_more_target_is_refused(write_policy):
    from rulec.pipeline import build

    allow = "\n".join(f"      - h{i}.example.org" for i in range(24_999))
    body = "version: 1\nregions:\n  eu-west-1:\n    home_net: [10.0.0.0/16]\n    allow:\n" + allow + "\n"
    p = write_policy(body)
    result = build(p)
    group = result.plans[0].groups[0]
    assert group.rule_count == group.capacity == 50_000
    p.write_text(body + "      - one-more.example.org\n")
    with pytest.raises(RulecError) as info:
        build(p)
    assert str(info.value) == (
        f"{p}:3:3: allowlist group 'Databricks-FQDNs' for eu-west-1 needs 50,002 rules, more "
        "than the 50,000 a stateful rule group can hold; remove at least 1 target or split "
        "the names"
    )
