"""Emit stage: CreateRuleGroup / CreateFirewallPolicy requests -> one CloudFormation template (JSON) per region.

AWS::NetworkFirewall::RuleGroup and ::FirewallPolicy take the API's own shapes, so the requests carry over
key by key; only `sid:N` becomes Keyword `sid` + Settings [`N`] (the form the service reads back) and group ARNs
become `Fn::GetAtt` of the exported groups. RuleGroupName and Capacity are create-only properties, so a capacity
change is a CloudFormation replacement: the new `<name>-c<capacity>` group is created, the firewall policy is
updated to it, and the old group is deleted in the clean-up phase.
"""

from __future__ import annotations

import re
from typing import Any

from rulec.emit import iac
from rulec.errors import RulecError

TARGET = "cloudformation"
# What the AWS::NetworkFirewall registry schemas accept, as cfn-lint 1.58 carries them (schemas of 2026-10-20).
SCHEMA = "the AWS::NetworkFirewall registry schema (as of cfn-lint 1.58, 2026-10-20)"
SUPPORT = f"{SCHEMA} has no such property"
TARGET_TYPES = {"TLS_SNI", "HTTP_HOST"}
_POLICY_KEYS = {
    "StatelessDefaultActions",
    "StatelessFragmentDefaultActions",
    "StatefulRuleGroupReferences",
    "StatefulDefaultActions",
    "StatefulEngineOptions",
    "PolicyVariables",
}


def logical_id(name: str, suffix: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name) + suffix


def _rule_group(rule_group: dict[str, Any]) -> dict[str, Any]:
    iac.check_known(TARGET, "RuleGroup", rule_group, {"RuleVariables", "RulesSource"}, SUPPORT)
    out: dict[str, Any] = {"RuleVariables": rule_group["RuleVariables"]}
    source = rule_group["RulesSource"]
    if "RulesSourceList" in source:
        listed = source["RulesSourceList"]
        for t in listed["TargetTypes"]:
            if t not in TARGET_TYPES:
                raise iac.refuse(TARGET, f"target type {t}", f"TargetTypes is HTTP_HOST or TLS_SNI in {SCHEMA}")
        out["RulesSource"] = {"RulesSourceList": dict(listed)}
    else:
        rules = []
        for rule in source["StatefulRules"]:
            options = []
            for opt in rule["RuleOptions"]:
                keyword, settings = iac.sid_option(opt["Keyword"], opt.get("Settings", []))
                options.append({"Keyword": keyword, **({"Settings": settings} if settings else {})})
            rules.append({"Action": rule["Action"], "Header": dict(rule["Header"]), "RuleOptions": options})
        out["RulesSource"] = {"StatefulRules": rules}
    return out


def _policy(request: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    body = request["FirewallPolicy"]
    if "Route53ResolvedIPValidation" in body:
        raise iac.refuse(TARGET, "Route53ResolvedIPValidation (resolved IP validation)", SUPPORT)
    iac.check_known(TARGET, "FirewallPolicy", body, _POLICY_KEYS, SUPPORT)
    policy = {k: v for k, v in body.items() if k != "StatefulRuleGroupReferences"}
    refs = []
    for ref in body.get("StatefulRuleGroupReferences", []):
        name = iac.referenced_group(ref["ResourceArn"])
        if name in ids:
            refs.append({**ref, "ResourceArn": {"Fn::GetAtt": [ids[name], "RuleGroupArn"]}})
        elif "${" in ref["ResourceArn"]:
            raise RulecError(f"firewall policy references {ref['ResourceArn']}, which this export does not define")
        else:
            refs.append(dict(ref))
    if refs:
        policy["StatefulRuleGroupReferences"] = refs
    props = {"FirewallPolicyName": request["FirewallPolicyName"], "FirewallPolicy": policy}
    if request.get("Description"):
        props["Description"] = request["Description"]
    return props


def template(region: str, requests: list[dict[str, Any]], policy: dict[str, Any] | None, source: str) -> dict:
    """The template for one region: its rule groups (and firewall policy), with their ARNs as outputs."""
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for req in requests:
        lid = logical_id(req["RuleGroupName"], "RuleGroup")
        if lid in resources:
            raise RulecError(f"rule groups {req['RuleGroupName']} and another map to the same logical ID {lid}")
        ids[req["RuleGroupName"]] = lid
        resources[lid] = {
            "Type": "AWS::NetworkFirewall::RuleGroup",
            "Properties": {
                "RuleGroupName": iac.exported_name(req),
                "Type": req["Type"],
                "Capacity": req["Capacity"],
                "Description": req["Description"],
                "RuleGroup": _rule_group(req["RuleGroup"]),
            },
        }
        outputs[f"{lid}Arn"] = {
            "Description": f"ARN of {req['RuleGroupName']} (capacity {req['Capacity']})",
            "Value": {"Fn::GetAtt": [lid, "RuleGroupArn"]},
        }
    if policy:
        lid = logical_id(policy["FirewallPolicyName"], "FirewallPolicy")
        resources[lid] = {"Type": "AWS::NetworkFirewall::FirewallPolicy", "Properties": _policy(policy, ids)}
        outputs[f"{lid}Arn"] = {
            "Description": f"ARN of firewall policy {policy['FirewallPolicyName']}",
            "Value": {"Fn::GetAtt": [lid, "FirewallPolicyArn"]},
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"AWS Network Firewall rule groups for {region}, generated by rulec from {source}",
        "Rules": {
            "RegionMatchesPolicy": {
                "Assertions": [
                    {
                        "Assert": {"Fn::Equals": [{"Ref": "AWS::Region"}, region]},
                        "AssertDescription": f"HOME_NET and the allowlist are for {region}: deploy this stack there",
                    }
                ]
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }
