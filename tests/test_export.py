"""rulec export: CloudFormation templates and Terraform JSON carry exactly the build's groups (and firewall policy).

cfn-lint (the real one, from PyPI) must report no errors on every exported template."""

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rulec import export, pipeline
from rulec.errors import RulecError
from tests.conftest import EXAMPLE, ROOT

EXAMPLES = {p.parent.name: p for p in sorted((ROOT / "examples").glob("*/policy.yaml"))}
assert EXAMPLES["reference"] == EXAMPLE and "hub-and-spoke" in EXAMPLES
# every policy in the tests' golden cases is exported too (their input lock, if any, becomes the lock)
CASES = {
    **EXAMPLES,
    **{f"golden-{p.parent.name}": p for p in sorted((ROOT / "tests" / "golden").glob("*/policy.yaml"))},
}
SUFFIX = {"cloudformation": ".template.json", "terraform": ".tf.json"}


def policy_request(region: str, build: pipeline.Build, name: str = "Databricks-Egress") -> dict:
    """A CreateFirewallPolicy request of the shape pipeline.Build.policy_requests holds (made by hand here)."""
    groups = [r["RuleGroupName"] for r in build.requests[region]]
    home_net = build.requests[region][0]["RuleGroup"]["RuleVariables"]["IPSets"]["HOME_NET"]["Definition"]
    return {
        "FirewallPolicyName": name,
        "Description": f"Egress policy for {region}",
        "FirewallPolicy": {
            "StatelessDefaultActions": ["aws:forward_to_sfe"],
            "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
            "StatefulRuleGroupReferences": [
                {"ResourceArn": f"arn:aws:network-firewall:{region}:${{AccountId}}:stateful-rulegroup/{g}"}
                for g in groups
            ],
            "StatefulEngineOptions": {"RuleOrder": "DEFAULT_ACTION_ORDER", "StreamExceptionPolicy": "DROP"},
            "PolicyVariables": {"RuleVariables": {"HOME_NET": {"Definition": list(home_net)}}},
        },
    }


def with_policies(build: pipeline.Build) -> pipeline.Build:
    """The build with a firewall policy in every region (the policy's own, where it declares one)."""
    for region in build.requests:
        build.policy_requests.setdefault(region, policy_request(region, build))
    return build


def split_sids(request: dict) -> dict:
    """The build's request with `sid:N` in the Keyword/Settings form both exports write."""
    req = copy.deepcopy(request)
    for rule in req["RuleGroup"]["RulesSource"].get("StatefulRules", []):
        rule["RuleOptions"] = [
            {"Keyword": "sid", "Settings": [o["Keyword"].split(":", 1)[1]]} if o["Keyword"].startswith("sid:") else o
            for o in rule["RuleOptions"]
        ]
    return req


def base(name: str, capacity: int) -> str:
    assert name.endswith(f"-c{capacity}"), name
    return name.removesuffix(f"-c{capacity}")


def cfn_groups(template: dict) -> dict[str, dict]:
    out = {}
    for res in template["Resources"].values():
        if res["Type"] == "AWS::NetworkFirewall::RuleGroup":
            props = dict(res["Properties"])
            props["RuleGroupName"] = base(props["RuleGroupName"], props["Capacity"])
            out[props["RuleGroupName"]] = props
    return out


def tf_rule(rule: dict) -> dict:
    (h,) = rule["header"]
    header = {k.title().replace("_", ""): v for k, v in h.items()}
    options = [
        {"Keyword": o["keyword"], **({"Settings": o["settings"]} if "settings" in o else {})}
        for o in rule["rule_option"]
    ]
    return {"Action": rule["action"], "Header": header, "RuleOptions": options}


def tf_groups(module: dict) -> dict[str, dict]:
    """The Terraform blocks read back into CreateRuleGroup requests (the inverse of rulec's mapping)."""
    out = {}
    for body in module["resource"]["aws_networkfirewall_rule_group"].values():
        (rg,) = body["rule_group"]
        (variables,) = rg["rule_variables"]
        ip_sets = {s["key"]: {"Definition": s["ip_set"][0]["definition"]} for s in variables["ip_sets"]}
        (source,) = rg["rules_source"]
        if "rules_source_list" in source:
            (rsl,) = source["rules_source_list"]
            rules = {"RulesSourceList": {"GeneratedRulesType": rsl["generated_rules_type"]}}
            rules["RulesSourceList"].update(TargetTypes=rsl["target_types"], Targets=rsl["targets"])
        else:
            rules = {"StatefulRules": [tf_rule(r) for r in source["stateful_rule"]]}
        name = base(body["name"], body["capacity"])
        out[name] = {
            "RuleGroupName": name,
            "Type": body["type"],
            "Capacity": body["capacity"],
            "Description": body["description"],
            "RuleGroup": {"RuleVariables": {"IPSets": ip_sets}, "RulesSource": rules},
        }
    return out


READ_BACK = {"cloudformation": cfn_groups, "terraform": tf_groups}


def resolved_domain(build: pipeline.Build) -> bool:
    """Whether the build uses resolved-domain matching or is `engine: next-gen`, which no export can express yet
    (refused, tested)."""
    if build.nextgen_requests:
        return True
    lists = [r["RuleGroup"]["RulesSource"].get("RulesSourceList", {}) for rs in build.requests.values() for r in rs]
    return any("AWS_ROUTE_53_RESOLVED_DOMAIN" in rl.get("TargetTypes", []) for rl in lists) or any(
        "Route53ResolvedIPValidation" in p["FirewallPolicy"] for p in build.policy_requests.values()
    )


@pytest.fixture
def examples(tmp_path):
    """Copies of the shipped examples and golden policies (with their locks): a build never touches the repository."""
    out = {}
    for name, policy in CASES.items():
        shutil.copytree(policy.parent, tmp_path / name, ignore=shutil.ignore_patterns("out", "expected"))
        if (tmp_path / name / "input.lock.json").exists():
            (tmp_path / name / "input.lock.json").rename(tmp_path / name / "policy.lock.json")
        out[name] = tmp_path / name / "policy.yaml"
    return out


@pytest.mark.parametrize("fmt", ["cloudformation", "terraform"])
def test_every_target_rule_sid_home_net_and_capacity_of_the_build_is_in_the_export(examples, fmt):
    for policy in examples.values():
        build = pipeline.build(policy)
        if resolved_domain(build):
            with pytest.raises(RulecError, match="cannot express"):
                export.render(build, fmt)
            continue
        files = export.render(build, fmt)
        assert sorted(files) == sorted(f"{r}{SUFFIX[fmt]}" for r in build.requests)
        for region, requests in build.requests.items():
            got = READ_BACK[fmt](json.loads(files[f"{region}{SUFFIX[fmt]}"]))
            assert got == {r["RuleGroupName"]: split_sids(r) for r in requests}


def run_cfn_lint(paths: list[Path]) -> subprocess.CompletedProcess:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run([str(cfn_lint), "--", *map(str, paths)], capture_output=True, text=True, check=False)


def test_cfn_lint_reports_no_errors_on_every_example(examples, tmp_path):
    written = []
    exportable = {n: p for n, p in examples.items() if not resolved_domain(pipeline.build(p))}
    for name, policy in exportable.items():
        for build in (pipeline.build(policy), with_policies(pipeline.build(policy))):
            out = tmp_path / f"cfn-{name}-{len(build.policy_requests)}"
            export.write(export.render(build, "cloudformation"), out, "cloudformation", prune=True)
            written += sorted(out.iterdir())
    assert len(written) == 2 * sum(len(pipeline.build(p).requests) for p in exportable.values()) >= 12
    lint = run_cfn_lint(written)
    assert lint.returncode & 2 == 0, lint.stdout + lint.stderr  # bit 2: errors (4 warnings, 8 informational)
    # the gate is real: a template with a broken reference fails it
    bad = json.loads(written[0].read_text())
    bad["Outputs"]["Broken"] = {"Value": {"Fn::GetAtt": ["Missing", "RuleGroupArn"]}}
    (tmp_path / "bad.template.json").write_text(json.dumps(bad))
    assert run_cfn_lint([tmp_path / "bad.template.json"]).returncode & 2


def test_firewall_policy_references_the_exported_groups_never_the_account_placeholder(examples):
    build = with_policies(pipeline.build(examples["hub-and-spoke"]))
    for fmt in ("cloudformation", "terraform"):
        for region, data in export.render(build, fmt).items():
            assert b"${AccountId}" not in data and b"AccountId" not in data
            doc = json.loads(data)
            if fmt == "cloudformation":
                (pol,) = [r for r in doc["Resources"].values() if r["Type"] == "AWS::NetworkFirewall::FirewallPolicy"]
                refs = pol["Properties"]["FirewallPolicy"]["StatefulRuleGroupReferences"]
                ids = [r["ResourceArn"]["Fn::GetAtt"] for r in refs]
                assert all(doc["Resources"][i]["Type"] == "AWS::NetworkFirewall::RuleGroup" for i, _ in ids)
                assert pol["Properties"]["FirewallPolicy"]["PolicyVariables"]["RuleVariables"]["HOME_NET"]
            else:
                (pol,) = doc["resource"]["aws_networkfirewall_firewall_policy"].values()
                refs = pol["firewall_policy"][0]["stateful_rule_group_reference"]
                labels = [r["resource_arn"].removeprefix("${aws_networkfirewall_rule_group.") for r in refs]
                assert [lab.removesuffix(".arn}") for lab in labels] == list(doc["resource"][GROUP])
            assert len(refs) == len(build.requests[region.split(".")[0]])


GROUP = "aws_networkfirewall_rule_group"


def test_a_reference_to_a_group_the_export_does_not_define_is_refused(examples):
    build = with_policies(pipeline.build(examples["reference"]))
    refs = build.policy_requests["eu-west-1"]["FirewallPolicy"]["StatefulRuleGroupReferences"]
    refs.append({"ResourceArn": "arn:aws:network-firewall:eu-west-1:${AccountId}:stateful-rulegroup/Other"})
    for fmt in SUFFIX:
        with pytest.raises(RulecError, match="stateful-rulegroup/Other, which this export does not define"):
            export.render(build, fmt)


@pytest.mark.parametrize("fmt", ["cloudformation", "terraform"])
def test_resolved_domain_settings_are_refused_naming_the_feature_and_the_support_needed(examples, fmt):
    build = pipeline.build(examples["reference"])
    build.requests["eu-west-1"][0]["RuleGroup"]["RulesSource"]["RulesSourceList"]["TargetTypes"].append(
        "AWS_ROUTE_53_RESOLVED_DOMAIN"
    )
    with pytest.raises(RulecError) as info:
        export.render(build, fmt)
    (d,) = info.value.diagnostics
    assert d.pos.file == str(examples["reference"])
    assert "cannot express target type AWS_ROUTE_53_RESOLVED_DOMAIN" in d.message
    assert ("hashicorp/aws 6.32.1" if fmt == "terraform" else "registry schema") in d.message
    build = with_policies(pipeline.build(examples["reference"]))
    build.policy_requests["eu-west-1"]["FirewallPolicy"]["Route53ResolvedIPValidation"] = {
        "Action": "DROP",
        "DNSFirewallRuleGroupId": "rslvr-frg-0123456789abcdef",
    }
    with pytest.raises(RulecError, match="cannot express Route53ResolvedIPValidation"):
        export.render(build, fmt)


def test_any_setting_an_emitter_does_not_know_is_refused_not_dropped(examples):
    build = with_policies(pipeline.build(examples["reference"]))
    build.policy_requests["eu-west-1"]["FirewallPolicy"]["StatefulEngineOptions"]["NewSetting"] = 1
    with pytest.raises(RulecError, match="cannot express FirewallPolicy.StatefulEngineOptions.NewSetting"):
        export.render(build, "terraform")
    build = pipeline.build(examples["reference"])
    build.requests["eu-west-1"][1]["RuleGroup"]["StatefulRuleOptions"] = {"RuleOrder": "STRICT_ORDER"}
    for fmt in SUFFIX:
        with pytest.raises(RulecError, match="cannot express RuleGroup.StatefulRuleOptions"):
            export.render(build, fmt)


def test_engine_next_gen_is_refused_at_its_line(examples):
    build = pipeline.build(examples["next-gen"])
    for fmt in SUFFIX:
        with pytest.raises(RulecError) as info:
            export.render(build, fmt)
        (d,) = info.value.diagnostics
        assert d.pos.file == str(examples["next-gen"]) and d.pos.line == 6  # the `engine` line
        assert "cannot express `engine: next-gen`" in d.message and "CreateFirewallPolicyV2" in d.message


def test_cli_writes_one_file_per_region_deterministically(cli, examples, tmp_path):
    policy = examples["hub-and-spoke"]
    for fmt, suffix in SUFFIX.items():
        out = tmp_path / fmt
        r = cli("export", policy, "--format", fmt, "-o", out)
        assert r.exit_code == 0, r.output
        assert sorted(p.name for p in out.iterdir()) == [f"eu-west-1{suffix}", f"us-east-1{suffix}"]
        first = {p.name: p.read_bytes() for p in out.iterdir()}
        r = cli("export", policy, "--format", fmt, "-o", out)
        assert "up to date" in r.output and first == {p.name: p.read_bytes() for p in out.iterdir()}
        only = tmp_path / f"{fmt}-one"
        assert cli("export", policy, "--format", fmt, "-o", only, "--region", "us-east-1").exit_code == 0
        assert [p.name for p in only.iterdir()] == [f"us-east-1{suffix}"]
        assert only.joinpath(f"us-east-1{suffix}").read_bytes() == first[f"us-east-1{suffix}"]


def test_cli_bad_input_exits_2_and_writes_nothing(cli, examples, tmp_path):
    out = tmp_path / "out"
    r = cli("export", examples["reference"], "--format", "terraform", "-o", out, "--region", "us-west-2")
    assert r.exit_code == 2 and "region 'us-west-2' is not in" in r.output
    r = cli("export", examples["reference"], "--format", "pulumi", "-o", out)
    assert r.exit_code == 2
    r = cli("export", examples["reference"], "--format", "terraform")
    assert r.exit_code == 2 and "--out" in r.output
    assert not out.exists()


def test_export_needs_the_committed_lock_like_push(cli, write_policy, tmp_path):
    policy = write_policy(
        "version: 1\ndeny_protocols: [SSH]\nregions:\n  eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}\n"
    )
    r = cli("export", policy, "--format", "terraform", "-o", tmp_path / "out")
    assert r.exit_code == 2 and "policy.lock.json: not up to date with" in r.output
    assert not (tmp_path / "out").exists()
    assert cli("build", policy, "-o", tmp_path / "build").exit_code == 0
    assert cli("export", policy, "--format", "terraform", "-o", tmp_path / "out").exit_code == 0


def test_regions_gone_from_the_policy_lose_rulec_files_only(cli, examples, tmp_path):
    out = tmp_path / "tf"
    out.mkdir()
    (out / "ap-south-1.tf.json").write_text('{"//": "Generated by rulec from policy.yaml for ap-south-1"}')
    (out / "eu-north-1.tf.json").write_text('{"//": "hand-written, keep"}')
    (out / "main.tf").write_text("# user's own\n")
    r = cli("export", examples["reference"], "--format", "terraform", "-o", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["eu-north-1.tf.json", "eu-west-1.tf.json", "main.tf"]


def test_exported_names_carry_the_capacity_and_stay_within_the_limit(write_policy):
    name = "A" * 125  # valid in the policy (<= 128); "-c200" makes it 130
    policy = write_policy(
        f"version: 1\ngroups:\n  allowlist: {{name: {name}, capacity: 200}}\n"
        "regions:\n  eu-west-1: {home_net: [10.0.0.0/16], allow: [api.example.org]}\n"
    )
    with pytest.raises(RulecError, match="longer than 128 characters: shorten groups.*.name to at most 123"):
        export.render(pipeline.build(policy), "terraform")


@pytest.mark.parametrize("fmt", ["cloudformation", "terraform"])
def test_a_refused_resolved_domain_setting_points_at_its_line(write_policy, fmt):
    source = (ROOT / "examples" / "strict-resolved" / "policy.yaml").read_text()
    p = write_policy(source)
    with pytest.raises(RulecError) as info:
        export.render(pipeline.build(p), fmt)
    line = next(i for i, text in enumerate(source.splitlines(), 1) if text.startswith("target_types:"))
    assert str(info.value.diagnostics[0]).startswith(f"{p}:{line}:")  # at the AWS_ROUTE_53_RESOLVED_DOMAIN entry
    p.write_text(source.replace(", AWS_ROUTE_53_RESOLVED_DOMAIN]", "]", 1))  # the validation alone
    with pytest.raises(RulecError, match="cannot express Route53ResolvedIPValidation") as info:
        export.render(pipeline.build(p), fmt)
    line = next(i for i, text in enumerate(source.splitlines(), 1) if text.strip().startswith("resolved_ip_validation"))
    assert str(info.value.diagnostics[0]).startswith(f"{p}:{line}:")
