"""Properties of the firewall-policy merge (pure): other teams' settings survive, a merge is idempotent."""

from hypothesis import given
from hypothesis import strategies as st

from rulec.aws import fwpolicy

ARN = "arn:aws:network-firewall:eu-west-1:123456789012:stateful-rulegroup/"
cidrs = st.lists(st.sampled_from(["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "192.168.0.0/24"]), unique=True)
names = st.lists(st.sampled_from(["a", "b", "c", "team-x", "team-y"]), unique=True)
actions = st.sampled_from([["aws:pass"], ["aws:drop"], ["aws:forward_to_sfe"]])


def policy(refs, home, stateless, stream=None, extra=None):
    body = {
        "StatelessDefaultActions": stateless,
        "StatelessFragmentDefaultActions": stateless,
        "StatefulRuleGroupReferences": [{"ResourceArn": ARN + n} for n in refs],
        "PolicyVariables": {"RuleVariables": {"HOME_NET": {"Definition": home}, **(extra or {})}},
    }
    if stream:
        body["StatefulEngineOptions"] = {"StreamExceptionPolicy": stream}
    return body


@given(names, cidrs, actions, names, cidrs, st.sampled_from([None, "DROP", "CONTINUE", "REJECT"]))
def test_merge_keeps_foreign_settings_and_is_idempotent(have_refs, have_home, stateless, want_refs, want_home, stream):
    remote = policy(have_refs, have_home, stateless, extra={"DNS": {"Definition": ["10.9.9.9/32"]}})
    desired = policy(want_refs, want_home or ["10.0.0.0/8"], fwpolicy.FORWARD, stream)
    m = fwpolicy.merge(remote, desired)
    got = [r["ResourceArn"] for r in m.body["StatefulRuleGroupReferences"]]
    assert set(got) == {ARN + n for n in have_refs + want_refs} and len(got) == len(set(got))
    assert m.body["PolicyVariables"]["RuleVariables"]["DNS"] == {"Definition": ["10.9.9.9/32"]}
    assert fwpolicy.home_net(m.body) == fwpolicy.home_net(desired)
    assert fwpolicy.merge(m.body, desired).empty
    assert bool(m.restart) == (stream is not None)
    removed = [c for c in have_home if c not in fwpolicy.home_net(desired)]
    assert m.removals == [f"- HOME_NET {c}" for c in removed]


def test_stale_rulec_reference_is_a_removal_and_foreign_ones_stay():
    remote = policy(["old-rulec", "team-x", "a"], ["10.0.0.0/8"], fwpolicy.FORWARD)
    m = fwpolicy.merge(remote, policy(["a"], ["10.0.0.0/8"], fwpolicy.FORWARD), {ARN + "old-rulec"})
    assert m.removals == ["- reference old-rulec (a rulec group the build no longer has)"] and m.changes == []
    assert [r["ResourceArn"] for r in m.body["StatefulRuleGroupReferences"]] == [ARN + "team-x", ARN + "a"]


def test_open_passes_reads_rules_strings_and_lists():
    described = {
        "RuleGroup": {
            "RulesSource": {
                "RulesString": "pass tls $HOME_NET any -> any 443 (sid:1;)\n"
                "pass tcp $HOME_NET any -> 10.0.0.0/8 22 (sid:2;)\n"
                "drop tcp $HOME_NET any -> $EXTERNAL_NET any (sid:3;)"
            }
        }
    }
    assert fwpolicy.open_passes(described) == ["pass tls $HOME_NET any -> any 443"]
    listed = {
        "RuleGroup": {"RulesSource": {"RulesSourceList": {"GeneratedRulesType": "ALLOWLIST", "Targets": ["x.org"]}}}
    }
    assert fwpolicy.open_passes(listed) == ["domain allowlist passes 1 names to EXTERNAL_NET: x.org"]
