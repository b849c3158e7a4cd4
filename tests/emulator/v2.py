"""Next Generation policies in the emulator: FIREWALL rule groups (`FirewallRuleGroup`) and the FirewallPolicyV2
operations, checked the way the service documents them (botocore's model validates the shapes first)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

V2_OPERATIONS = ("CreateFirewallPolicyV2", "DescribeFirewallPolicyV2", "UpdateFirewallPolicyV2")
FIREWALL_POOL = 30_000  # firewall-engine rules per Next Generation policy
# HookKey prefix -> the FirewallRuleProtocol a rule at that hook must declare
_PROTOCOL = {
    "HTTP1": "HTTP",
    "HTTP2": "HTTP2",
    "DOH2": "DOH2",
    "FTP_DATA": "FTP_DATA",
    "BITTORRENT_DHT": "BITTORRENT_DHT",
}


def firewall_rules_needed(body: dict[str, Any]) -> int:
    rules = body.get("RulesSource", {}).get("FirewallRules", [])
    return sum(r.get("RuleMetadata", {}).get("RuleEnabled", True) is not False for r in rules)


def _hook_protocol(hook: str) -> str:
    for prefix, proto in _PROTOCOL.items():
        if hook.startswith(prefix + "_"):
            return proto
    head = hook.split("_", 1)[0]
    return {"IKE": "IKEV2"}.get(head, head)


class NextGenOps:
    """Mixed into the Emulator: `self.groups`, `self._arn`, `self._lock` and ApiError come from there."""

    def _v2(self, region: str) -> dict[str, Any]:
        return self.__dict__.setdefault("policies_v2", {}).setdefault(region, {})

    def _v2_uses(self, region: str, arn: str) -> bool:
        return any(
            e.get("ResourceArn") == arn
            for pol in self._v2(region).values()
            for e in pol.body["FirewallRuleGroupEntries"]
        )

    def _firewall_body(self, params: dict[str, Any], capacity: int) -> dict[str, Any]:
        from tests.emulator import ApiError

        if not 1 <= capacity <= FIREWALL_POOL:
            raise ApiError("InvalidRequestException", f"Capacity must be between 1 and {FIREWALL_POOL}")
        body = copy.deepcopy(params["FirewallRuleGroup"])
        source = body.get("RulesSource", {})
        if list(source) != ["FirewallRules"]:
            raise ApiError("InvalidRequestException", "only FirewallRules are emulated in a FIREWALL rule group")
        sids = []
        for rule in source["FirewallRules"]:
            sid = next(
                (o.get("Settings", [None])[0] for o in rule.get("RuleOptions", []) if o["Keyword"] == "sid"), None
            )
            if sid is None or not str(sid).isdigit():
                raise ApiError("InvalidRequestException", "Every firewall rule needs a numeric sid option")
            sids.append(sid)
            if rule["Action"] != "ACCEPT" and rule["ActionScope"] not in ("FLOW", "PACKET"):
                raise ApiError("InvalidRequestException", f"sid {sid}: {rule['Action']} supports only FLOW and PACKET")
            if rule.get("AcceptPriorHooks") and rule["Action"] != "ACCEPT":
                raise ApiError("InvalidRequestException", f"sid {sid}: AcceptPriorHooks needs an ACCEPT action")
            if _hook_protocol(rule["Hook"]) != rule["Protocol"]:
                raise ApiError("InvalidRequestException", f"sid {sid}: protocol {rule['Protocol']} does not match hook")
        if len(sids) != len(set(sids)):
            raise ApiError("InvalidRequestException", "SIDs must be unique within a rule group")
        need = firewall_rules_needed(body)
        if need > capacity:
            raise ApiError("InvalidRequestException", f"The rules need {need} capacity units, more than {capacity}")
        return body

    def _v2_check(self, region: str, policy: dict[str, Any]) -> int:
        from tests.emulator import ApiError

        entries = policy.get("FirewallRuleGroupEntries", [])
        if len({e.get("Priority") for e in entries}) != len(entries):
            raise ApiError("InvalidRequestException", "Each firewall rule group entry needs a unique priority")
        groups = {g.arn: g for g in self.groups.get(region, {}).values()}
        used = 0
        for e in entries:
            g = groups.get(e.get("ResourceArn", ""))
            if g is None or g.meta["Type"] != "FIREWALL":
                raise ApiError("InvalidRequestException", f"{e.get('ResourceArn')} is not a FIREWALL rule group")
            used += firewall_rules_needed(g.body)
        if used > FIREWALL_POOL:
            raise ApiError(
                "LimitExceededException", f"The firewall engine rules need {used}, more than {FIREWALL_POOL}"
            )
        return used

    def _v2_find(self, region: str, p: dict[str, Any]):
        from tests.emulator import ApiError

        name = p.get("FirewallPolicyV2Name") or str(p.get("FirewallPolicyV2Arn", "")).rpartition("/")[2]
        if name not in self._v2(region):
            raise ApiError("ResourceNotFoundException", f"Firewall policy {name} not found")
        return self._v2(region)[name]

    def _v2_response(self, region: str, pol) -> dict[str, Any]:
        return {
            "FirewallPolicyV2Name": pol.name,
            "FirewallPolicyV2Arn": pol.arn,
            "FirewallPolicyV2Id": str(uuid.uuid5(uuid.NAMESPACE_URL, pol.arn)),
            "Description": pol.meta.get("Description", ""),
            "FirewallPolicyV2Status": "ACTIVE",
            "ConsumedFirewallRuleCapacity": self._v2_check(region, pol.body),
        }

    def _create_firewall_policy_v2(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        from tests.emulator import ApiError, Resource

        if p["FirewallPolicyV2Name"] in self._v2(region):
            raise ApiError("InvalidRequestException", "A resource with the specified name already exists")
        self._v2_check(region, p["FirewallPolicyV2"])
        arn = self._arn(region, "firewall-policy-v2", p["FirewallPolicyV2Name"])
        pol = Resource(
            p["FirewallPolicyV2Name"],
            arn,
            copy.deepcopy(p["FirewallPolicyV2"]),
            {"Description": p.get("Description", "")},
        )
        if not p.get("DryRun"):
            self._v2(region)[pol.name] = pol
        return {"UpdateToken": pol.token, "FirewallPolicyV2Response": self._v2_response(region, pol)}

    def _describe_firewall_policy_v2(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        pol = self._v2_find(region, p)
        return {
            "UpdateToken": pol.token,
            "FirewallPolicyV2": copy.deepcopy(pol.body),
            "FirewallPolicyV2Response": self._v2_response(region, pol),
        }

    def _update_firewall_policy_v2(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        from tests.emulator import ApiError

        pol = self._v2_find(region, p)
        if p["UpdateToken"] != pol.token:
            raise ApiError("InvalidTokenException", "Update token is stale: the policy changed since it was read")
        self._v2_check(region, p["FirewallPolicyV2"])
        if not p.get("DryRun"):
            pol.body = copy.deepcopy(p["FirewallPolicyV2"])
            if "Description" in p:
                pol.meta["Description"] = p["Description"]
            pol.token = str(uuid.uuid4())
        return {"UpdateToken": pol.token, "FirewallPolicyV2Response": self._v2_response(region, pol)}
