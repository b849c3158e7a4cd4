"""Emit stage: CreateRuleGroup / CreateFirewallPolicy requests -> Terraform JSON (`.tf.json`) per region, for the
hashicorp/aws provider (written for PROVIDER_VERSION; the per-resource `region` argument needs >= 6.0).

Choices that keep `terraform plan` empty after an apply (the provider's known perpetual-diff triggers):
- `sid:N` is written as `rule_option { keyword = "sid", settings = ["N"] }`, the form the service returns
  (configs with `keyword = "sid:1"` show an endless `sid` / `["1"]` -> `sid:1` diff: see
  ministryofjustice/modernisation-platform#3346 and ansible-collections/community.aws#1634);
- `stateful_rule` is a list in the provider (>= 4.x), so the rules keep the build's order (= SID order);
  `rule_option`, `targets`, `target_types`, `ip_sets` and `definition` are sets, where order never matters;
- `name` and `capacity` force replacement: the name is `<name>-c<capacity>` and the group has
  `create_before_destroy`, so a capacity change creates the new group, updates the firewall policy to its ARN
  and only then deletes the old group (deleting a group a policy still references would fail and retry).
"""

from __future__ import annotations

import re
from typing import Any

from rulec.emit import iac
from rulec.errors import RulecError

TARGET = "terraform"
PROVIDER_VERSION = "6.32.1"
SUPPORT = f"hashicorp/aws {PROVIDER_VERSION} has no argument for it"
TARGET_TYPES = {"TLS_SNI", "HTTP_HOST"}
GROUP = "aws_networkfirewall_rule_group"
POLICY = "aws_networkfirewall_firewall_policy"


def label(region: str, name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{region}_{name}")


def _ip_sets(ip_sets: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "ip_set": [{"definition": list(v["Definition"])}]} for key, v in ip_sets.items()]


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    h = rule["Header"]
    options = []
    for opt in rule["RuleOptions"]:
        keyword, settings = iac.sid_option(opt["Keyword"], opt.get("Settings", []))
        options.append({"keyword": keyword, **({"settings": settings} if settings else {})})
    header = {
        "protocol": h["Protocol"],
        "source": h["Source"],
        "source_port": h["SourcePort"],
        "direction": h["Direction"],
        "destination": h["Destination"],
        "destination_port": h["DestinationPort"],
    }
    return {"action": rule["Action"], "header": [header], "rule_option": options}


def _rule_group(rule_group: dict[str, Any]) -> dict[str, Any]:
    iac.check_known(TARGET, "RuleGroup", rule_group, {"RuleVariables", "RulesSource"}, SUPPORT)
    source = rule_group["RulesSource"]
    if "RulesSourceList" in source:
        listed = source["RulesSourceList"]
        for t in listed["TargetTypes"]:
            if t not in TARGET_TYPES:
                raise iac.refuse(
                    TARGET,
                    f"target type {t}",
                    f"hashicorp/aws {PROVIDER_VERSION} validates target_types as "
                    "HTTP_HOST or TLS_SNI and has no route53_resolved_ip_validation on the firewall policy",
                )
        rules_source = {
            "rules_source_list": [
                {
                    "generated_rules_type": listed["GeneratedRulesType"],
                    "target_types": list(listed["TargetTypes"]),
                    "targets": list(listed["Targets"]),
                }
            ]
        }
    else:
        rules_source = {"stateful_rule": [_rule(r) for r in source["StatefulRules"]]}
    variables = {"ip_sets": _ip_sets(rule_group["RuleVariables"]["IPSets"])}
    return {"rule_variables": [variables], "rules_source": [rules_source]}


def _engine_options(options: dict[str, Any]) -> dict[str, Any]:
    known = {"RuleOrder", "StreamExceptionPolicy", "FlowTimeouts"}
    iac.check_known(TARGET, "FirewallPolicy.StatefulEngineOptions", options, known, SUPPORT)
    out: dict[str, Any] = {}
    if "RuleOrder" in options:
        out["rule_order"] = options["RuleOrder"]
    if "StreamExceptionPolicy" in options:
        out["stream_exception_policy"] = options["StreamExceptionPolicy"]
    if "FlowTimeouts" in options:
        out["flow_timeouts"] = [{"tcp_idle_timeout_seconds": options["FlowTimeouts"]["TcpIdleTimeoutSeconds"]}]
    return out


def _policy(region: str, request: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    body = request["FirewallPolicy"]
    if "Route53ResolvedIPValidation" in body:
        raise iac.refuse(TARGET, "Route53ResolvedIPValidation (resolved IP validation)", SUPPORT)
    known = {
        "StatelessDefaultActions",
        "StatelessFragmentDefaultActions",
        "StatefulDefaultActions",
        "StatefulRuleGroupReferences",
        "StatefulEngineOptions",
        "PolicyVariables",
    }
    iac.check_known(TARGET, "FirewallPolicy", body, known, SUPPORT)
    policy: dict[str, Any] = {
        "stateless_default_actions": list(body["StatelessDefaultActions"]),
        "stateless_fragment_default_actions": list(body["StatelessFragmentDefaultActions"]),
    }
    if "StatefulDefaultActions" in body:
        policy["stateful_default_actions"] = list(body["StatefulDefaultActions"])
    refs = []
    for ref in body.get("StatefulRuleGroupReferences", []):
        iac.check_known(TARGET, "StatefulRuleGroupReferences[]", ref, {"ResourceArn", "Priority"}, SUPPORT)
        name = iac.referenced_group(ref["ResourceArn"])
        if name in labels:
            arn = f"${{{GROUP}.{labels[name]}.arn}}"
        elif "${" in ref["ResourceArn"]:
            raise RulecError(f"firewall policy references {ref['ResourceArn']}, which this export does not define")
        else:
            arn = ref["ResourceArn"]
        refs.append({"resource_arn": arn, **({"priority": ref["Priority"]} if "Priority" in ref else {})})
    if refs:
        policy["stateful_rule_group_reference"] = refs
    if "StatefulEngineOptions" in body:
        policy["stateful_engine_options"] = [_engine_options(body["StatefulEngineOptions"])]
    if "PolicyVariables" in body:
        variables = body["PolicyVariables"]
        iac.check_known(TARGET, "FirewallPolicy.PolicyVariables", variables, {"RuleVariables"}, SUPPORT)
        policy["policy_variables"] = [{"rule_variables": _ip_sets(variables["RuleVariables"])}]
    out: dict[str, Any] = {"name": request["FirewallPolicyName"], "region": region}
    if request.get("Description"):
        out["description"] = request["Description"]
    out["firewall_policy"] = [policy]
    return out


def module(region: str, requests: list[dict[str, Any]], policy: dict[str, Any] | None, source: str) -> dict:
    """The `.tf.json` document for one region."""
    groups: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for req in requests:
        lab = label(region, req["RuleGroupName"])
        if lab in groups:
            raise RulecError(f"rule groups {req['RuleGroupName']} and another map to the same Terraform name {lab}")
        labels[req["RuleGroupName"]] = lab
        groups[lab] = {
            "name": iac.exported_name(req),
            "region": region,
            "type": req["Type"],
            "capacity": req["Capacity"],
            "description": req["Description"],
            "rule_group": [_rule_group(req["RuleGroup"])],
            "lifecycle": {"create_before_destroy": True},
        }
        outputs[f"{lab}_arn"] = {"value": f"${{{GROUP}.{lab}.arn}}"}
    resources: dict[str, Any] = {GROUP: groups}
    if policy:
        lab = label(region, policy["FirewallPolicyName"])
        resources[POLICY] = {lab: _policy(region, policy, labels)}
        outputs[f"{lab}_arn"] = {"value": f"${{{POLICY}.{lab}.arn}}"}
    return {
        "//": (
            f"Generated by rulec from {source} for {region}; written for the hashicorp/aws provider "
            f"{PROVIDER_VERSION} (>= 6.0 for the region argument). Edit the policy, not this file."
        ),
        "resource": resources,
        "output": outputs,
    }
