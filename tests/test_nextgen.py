"""engine: next-gen: policy -> FIREWALL groups and a CreateFirewallPolicyV2 request; bad input; capacity; lint."""

import json
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from rulec import pipeline
from rulec.emit.aws_classic import RequestValidator
from rulec.errors import RulecError
from rulec.review import lint
from rulec.review.lint.nextgen import NEXTGEN
from tests.conftest import ROOT

NEXTGEN_EXAMPLE = ROOT / "examples/next-gen/policy.yaml"
MODEL = botocore.session.get_session().get_service_model("network-firewall")

BASE = """
version: 1
engine: next-gen
firewall_policy: {name: egress-v2}
regions:
  eu-west-1:
    home_net: [10.0.0.0/16]
    allow: [api.example.org, .pypi.org]
"""


def requests(result):
    groups, policy = result.nextgen_requests["eu-west-1"]
    return groups, policy


def test_example_requests_pass_botocore_and_the_schemas():
    result = pipeline.build(NEXTGEN_EXAMPLE)
    groups, policy = requests(result)
    assert [g["Type"] for g in groups] == ["FIREWALL", "FIREWALL"]
    for g in groups:
        report = ParamValidator().validate(g, MODEL.operation_model("CreateRuleGroup").input_shape)
        assert not report.has_errors(), report.generate_report()
        RequestValidator("create-rule-group-firewall").check(g, "x")
    report = ParamValidator().validate(policy, MODEL.operation_model("CreateFirewallPolicyV2").input_shape)
    assert not report.has_errors(), report.generate_report()
    RequestValidator("create-firewall-policy-v2").check(policy, "x")
    # the committed files are these requests
    out = NEXTGEN_EXAMPLE.parent / "out" / "eu-west-1"
    assert json.loads((out / "databricks-egress-nextgen.firewall-policy-v2.json").read_text()) == policy
    assert {p.name for p in out.glob("*.json")} == {
        "Databricks-NextGen-Allow.json",
        "Databricks-NextGen-Services.json",
        "databricks-egress-nextgen.firewall-policy-v2.json",
    }


def test_policy_v2_document():
    result = pipeline.build(NEXTGEN_EXAMPLE)
    _, policy = requests(result)
    v2 = policy["FirewallPolicyV2"]
    assert policy["FirewallPolicyV2Name"] == "databricks-egress-nextgen"
    assert v2["FirewallDefaultAction"] == "DROP" and v2["PolicyMode"] == "ENFORCE"
    assert v2["PolicyVariables"] == {"RuleVariables": {"HOME_NET": {"Definition": ["10.173.0.0/16", "10.10.0.0/16"]}}}
    assert v2["StatefulEngineOptions"] == {"StreamExceptionPolicy": "DROP"}
    assert [(e["Priority"], e["ResourceArn"].rsplit("/", 1)[1]) for e in v2["FirewallRuleGroupEntries"]] == [
        (100, "Databricks-NextGen-Services"),
        (200, "Databricks-NextGen-Allow"),
    ]
    assert all(
        e["ResourceArn"].startswith("arn:aws:network-firewall:eu-west-1:${AccountId}:")
        for e in v2["FirewallRuleGroupEntries"]
    )


def test_allowlist_rules_follow_the_firewall_engine_shape():
    result = pipeline.build(NEXTGEN_EXAMPLE)
    allow = next(g for g in requests(result)[0] if g["RuleGroupName"] == "Databricks-NextGen-Allow")
    rules = allow["FirewallRuleGroup"]["RulesSource"]["FirewallRules"]
    head = [(r["Action"], r["ActionScope"], r["Hook"]) for r in rules[:5]]
    assert head == [
        ("DROP", "FLOW", "TCP_ALL"),
        ("DROP", "FLOW", "TCP_ALL"),
        ("ACCEPT", "HOOK", "TCP_ALL"),
        ("ACCEPT", "HOOK", "TCP_ALL"),
        ("ACCEPT", "HOOK", "TLS_CLIENT_STARTED"),
    ]
    assert {r["DestPorts"] for r in rules[:3]} == {"[80,443]"} and rules[3]["SourcePorts"] == "[80,443]"
    http = [r for r in rules if r["Hook"] == "HTTP1_REQUEST_HEADERS"]
    assert [r.get("AcceptPriorHooks", False) for r in http] == [False] * (len(http) - 1) + [True]
    assert all(r["Protocol"] == "TLS" for r in rules if r["Hook"].startswith("TLS_"))
    text = result.files["eu-west-1/Databricks-NextGen-Allow.rules"].decode()
    assert "accept:flow tls:client_hello $HOME_NET any -> $EXTERNAL_NET 443 (tls.sni; dotprefix; " in text
    assert "accept:tx http1:<request_headers" in text and "drop:flow,alert tcp:all" in text
    assert "client_hello_done" not in text  # AWS's dialect; verify translates


def test_services_and_monitor_mode(write_policy):
    path = write_policy(
        BASE.replace("{name: egress-v2}", "{name: egress-v2, mode: monitor}")
        + "    services: [{host: db.example.com, port: 5432, ips: [203.0.113.5/32, 203.0.113.6/32]}]\n"
    )
    result = pipeline.build(path)
    groups, policy = requests(result)
    assert policy["FirewallPolicyV2"]["PolicyMode"] == "MONITOR"
    services = groups[0]["FirewallRuleGroup"]["RulesSource"]["FirewallRules"]
    assert [(r["Hook"], r["DestIPs"], r["DestPorts"]) for r in services] == [
        ("TCP_FLOW_START", "203.0.113.5/32", "5432"),
        ("TCP_FLOW_START", "203.0.113.6/32", "5432"),
    ]
    assert groups[0]["RuleGroupName"] == "Egress-Strict" and groups[1]["RuleGroupName"] == "Databricks-FQDNs"


def test_classic_output_does_not_change_with_engine_classic(write_policy):
    plain = pipeline.build(ROOT / "examples/strict/policy.yaml")
    text = (ROOT / "examples/strict/policy.yaml").read_text().replace("version: 1\n", "version: 1\nengine: classic\n")
    path = write_policy(text)
    (path.parent / "policy.lock.json").write_bytes((ROOT / "examples/strict/policy.lock.json").read_bytes())
    assert pipeline.build(path).files == plain.files


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (lambda t: t.replace("firewall_policy: {name: egress-v2}\n", ""), "engine", "needs its name"),
        (
            lambda t: t.replace("engine: next-gen\n", "engine: next-gen\negress: domains\n"),
            "egress",
            "strict by construction",
        ),
        (
            lambda t: t.replace("{name: egress-v2}", "{name: egress-v2, stream_exception_policy: CONTINUE}"),
            "stream_exception_policy",
            "Classic-only",
        ),
        (
            lambda t: t.replace(
                "engine: next-gen\n", "engine: next-gen\ntarget_types: [TLS_SNI, AWS_ROUTE_53_RESOLVED_DOMAIN]\n"
            ),
            "AWS_ROUTE_53",
            "not supported",
        ),
        (
            lambda t: t.replace("engine: next-gen\n", "engine: classic\n").replace(
                "{name: egress-v2}", "{name: egress-v2, mode: monitor}"
            ),
            "mode",
            "only to engine: next-gen",
        ),
        (lambda t: t.replace("next-gen", "nextgen"), "engine", ""),
        (lambda t: t.replace("{name: egress-v2}", "{name: egress-v2, mode: audit}"), "mode", ""),
        (
            lambda t: t + "    services: [{host: db.example.com, port: 5432}]\n",
            "services",
            "service db.example.com:5432",
        ),
    ],
)
def test_bad_input_exits_2_at_its_line(write_policy, cli, tmp_path, edit, where, message):
    text = edit(BASE.lstrip())
    path = write_policy(text)
    result = cli("build", path, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = next(i for i, line in enumerate(text.splitlines(), 1) if where in line)
    assert re.search(rf"{re.escape(str(path))}:{line}:\d+: .*{re.escape(message)}", result.output), result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "policy.lock.json").exists()


def test_region_egress_domains_is_refused(write_policy):
    path = write_policy(BASE + "    egress: domains\n")
    with pytest.raises(RulecError, match=r":8:13: engine: next-gen drops by default"):
        pipeline.build(path)


def test_a_policy_beyond_the_firewall_engine_capacity_fails_with_both_numbers(write_policy):
    names = "".join(f"      - h{i}.example.org\n" for i in range(15_000))
    path = write_policy(BASE.replace("    allow: [api.example.org, .pypi.org]\n", "    allow:\n" + names))
    with pytest.raises(RulecError) as exc:
        pipeline.build(path)
    message = str(exc.value)
    assert "30,016 firewall rules" in message and "30,000" in message and ":5:3:" in message


def test_headroom_never_pushes_a_policy_past_the_limit(write_policy):
    names = "".join(f"      - h{i}.example.org\n" for i in range(12_000))
    path = write_policy(BASE.replace("    allow: [api.example.org, .pypi.org]\n", "    allow:\n" + names))
    result = pipeline.build(path)
    (group,) = result.plans[0].nextgen.groups
    assert group.rule_count == 24_016 and group.capacity == 30_000


def _ctx(path):
    lp, plans, _, _ = pipeline.plan(path)
    return lint.Context(lp, plans)


def _mutated(ctx, keep):
    plan = ctx.plans[0]
    groups = tuple(replace(g, rules=tuple(r for r in g.rules if keep(r))) for g in plan.nextgen.groups)
    return lint.Context(ctx.policy, [replace(plan, nextgen=replace(plan.nextgen, groups=groups))])


def _codes(ctx):
    return {f.code for f in lint.run(ctx, [c() for c in NEXTGEN])}


def test_lint_is_quiet_on_what_rulec_emits():
    assert _codes(_ctx(NEXTGEN_EXAMPLE)) == set()


def test_lint_finds_the_next_gen_traps(write_policy):
    ctx = _ctx(write_policy(BASE))
    assert _codes(_mutated(ctx, lambda r: r.hook != "TLS_CLIENT_STARTED")) == {"RC030"}
    assert _codes(_mutated(ctx, lambda r: r.key != "ng:http:response_started")) == {"RC030"}
    # the `<` rule (AcceptPriorHooks) stands in for explicit accepts of request_started and request_line
    assert _codes(_mutated(ctx, lambda r: r.key != "ng:http:request_line")) == set()
    assert _codes(_mutated(ctx, lambda r: r.key != "ng:carrier:to-client")) == {"RC031"}
    plan = ctx.plans[0]
    wide = tuple(
        replace(
            g,
            rules=tuple(replace(r, destination_port="any") if r.key == "ng:carrier:to-server" else r for r in g.rules),
        )
        for g in plan.nextgen.groups
    )
    found = lint.run(
        lint.Context(ctx.policy, [replace(plan, nextgen=replace(plan.nextgen, groups=wide))]), [c() for c in NEXTGEN]
    )
    assert [f.code for f in found] == ["RC032"] and str(found[0].pos).endswith(":2:9")


def test_lint_capacity_deny_protocols_and_monitor(write_policy):
    text = BASE.replace("{name: egress-v2}", "{name: egress-v2, mode: monitor}")
    text = text.replace(
        "engine: next-gen\n",
        "engine: next-gen\ndeny_protocols: [SSH, UDP]\ngroups: {allowlist: {name: A, capacity: 30001}}\n",
    )
    findings = lint.run(_ctx(write_policy(text)), [c() for c in NEXTGEN])
    assert sorted((f.code, f.severity) for f in findings) == [
        ("RC033", "warning"),
        ("RC034", "info"),
        ("RC034", "info"),
        ("RC035", "warning"),
    ]
    assert "30,001" in next(f.message for f in findings if f.code == "RC033")


def test_explain_names_the_accepting_rule_or_the_default(cli):
    result = cli("explain", "files.pythonhosted.org", "--policy", NEXTGEN_EXAMPLE, "--format", "json")
    (region,) = json.loads(result.output)
    assert [(v["protocol"], v["verdict"]) for v in region["verdicts"]] == [("TLS", "pass"), ("HTTP", "pass")]
    lock = json.loads((NEXTGEN_EXAMPLE.parent / "policy.lock.json").read_text())
    sid = next(s for g in lock["groups"].values() for k, s in g["sids"].items() if k == "ng:tls:files.pythonhosted.org")
    assert f"Databricks-NextGen-Allow sid {sid}" in region["verdicts"][0]["reason"]
    result = cli("explain", "evilpypi.org", "--policy", NEXTGEN_EXAMPLE)
    assert result.output.count("DROP: FirewallDefaultAction DROP") == 2
    result = cli(
        "explain", "md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com:3306", "--policy", NEXTGEN_EXAMPLE
    )
    assert "TCP md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com:3306: PASS" in result.output
    assert "UDP md15cf9e1wmjgny.cxg30ia2wqgj.eu-west-1.rds.amazonaws.com:3306: DROP" in result.output


def test_diff_of_next_gen_policies_and_build_directories_shows_the_rules_that_change(cli, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(NEXTGEN_EXAMPLE.parent, old)
    new = tmp_path / "new"
    shutil.copytree(NEXTGEN_EXAMPLE.parent, new)
    policy = new / "policy.yaml"
    policy.write_text(policy.read_text().replace(", github]", "]", 1))
    same = cli("diff", old / "policy.yaml", old / "policy.yaml", "--exit-code")
    assert same.exit_code == 0 and "0 of 2 next-gen group(s) changed" in same.stdout
    for a, b in ((old / "policy.yaml", policy), (old / "out", None)):
        if b is None:  # the same change between two build directories
            assert cli("build", policy, "-o", new / "out").exit_code == 0
            b = new / "out"
        r = cli("diff", a, b, "--exit-code")
        assert r.exit_code == 1, r.output
        assert "eu-west-1/Databricks-NextGen-Allow: changed (next-gen)" in r.stdout
        assert "eu-west-1/Databricks-NextGen-Services: unchanged (next-gen)" in r.stdout
        lines = r.stdout.splitlines()
        removed = [line for line in lines if line.startswith("-accept")]
        assert sum("github" in line for line in removed) >= 4, removed  # its names' TLS and HTTP rules
        # what else changes is rewritten, not new: the last HTTP rule takes the accept-prior-hooks form
        added = [line for line in lines if line.startswith("+accept")]
        assert added and not any("github" in line for line in added)
        assert all(line.replace("+", "-", 1).replace(":<", ":") in removed for line in added), added


def test_a_service_without_ips_is_refused_even_with_resolved_ip_validation(write_policy):
    text = BASE.replace(
        "{name: egress-v2}",
        "{name: egress-v2, resolved_ip_validation: {action: DROP, dns_firewall_rule_group_id: rslvr-frg-0123abcd}}",
    )
    path = write_policy(text + "    services: [{host: db.example.com, port: 5432}]\n")
    with pytest.raises(RulecError, match=r":8:16: service db.example.com:5432/tcp has no `ips`: with engine: next-gen"):
        pipeline.build(path)


def test_resolved_ip_validation_is_passed_to_the_v2_policy(write_policy):
    text = BASE.replace(
        "{name: egress-v2}",
        "{name: egress-v2, resolved_ip_validation: {action: DROP, dns_firewall_rule_group_id: rslvr-frg-0123abcd}}",
    )
    path = write_policy(text + "    services: [{host: db.example.com, port: 5432, ips: [203.0.113.5/32]}]\n")
    _, policy = requests(pipeline.build(path))
    assert policy["FirewallPolicyV2"]["Route53ResolvedIPValidation"] == {
        "Action": "DROP",
        "DNSFirewallRuleGroupId": "rslvr-frg-0123abcd",
        "DNSExpiryExceptionPolicy": "DROP",
        "SourceIPRanges": [{"AddressDefinition": "10.0.0.0/16"}],
        "BypassDestinationValidationIPRanges": [
            {"AddressDefinition": "10.0.0.0/16"},
            {"AddressDefinition": "203.0.113.5/32"},
        ],
    }
    report = ParamValidator().validate(policy, MODEL.operation_model("CreateFirewallPolicyV2").input_shape)
    assert not report.has_errors(), report.generate_report()


LABEL = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
NAMES = st.lists(st.tuples(st.booleans(), st.lists(LABEL, min_size=2, max_size=3)), min_size=1, max_size=12)


@settings(max_examples=8, deadline=None)
@given(NAMES, st.sampled_from([["TLS_SNI"], ["HTTP_HOST"], ["TLS_SNI", "HTTP_HOST"]]))
def test_any_allowlist_gives_valid_requests_and_a_quiet_lint(names, types):
    allow = sorted({("." if wild else "") + ".".join(labels) for wild, labels in names})
    text = BASE.replace("[api.example.org, .pypi.org]", json.dumps(allow)).replace(
        "engine: next-gen\n", f"engine: next-gen\ntarget_types: {json.dumps(types)}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(text.lstrip())
        result = pipeline.build(path)
        groups, policy = requests(result)
        shape = MODEL.operation_model("CreateRuleGroup").input_shape
        assert not ParamValidator().validate(groups[0], shape).has_errors()
        v2 = MODEL.operation_model("CreateFirewallPolicyV2").input_shape
        assert not ParamValidator().validate(policy, v2).has_errors()
        assert _codes(_ctx(path)) == set()
        rules = groups[0]["FirewallRuleGroup"]["RulesSource"]["FirewallRules"]
        fixed = 4 + (1 if "TLS_SNI" in types else 0) + (11 if "HTTP_HOST" in types else 0)  # README: 16 for both
        assert len(rules) == result.plans[0].nextgen.rule_count == len(allow) * len(types) + fixed
