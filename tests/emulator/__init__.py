"""A local AWS Network Firewall endpoint for tests: rule groups and firewall policies over real HTTP.

It speaks both wire protocols botocore uses for this service (awsJson1_0 and smithy-rpc-v2-cbor),
validates requests against botocore's published model, counts capacity like the service, enforces
UpdateToken optimistic locking, and can inject faults (Throttling, InternalServerError, a concurrent
writer). Start it with `python -m tests.emulator --port PORT`.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.emulator import v2, validate

ACCOUNT = "123456789012"
MAX_STATEFUL_CAPACITY = 50_000
POLICY_STATEFUL_POOL = 30_000
OPERATIONS = (
    "CreateRuleGroup",
    "DescribeRuleGroup",
    "UpdateRuleGroup",
    "DeleteRuleGroup",
    "ListRuleGroups",
    "CreateFirewallPolicy",
    "DescribeFirewallPolicy",
    "UpdateFirewallPolicy",
    "DeleteFirewallPolicy",
    *v2.V2_OPERATIONS,
)


class Dropped(Exception):
    """The call was handled, then the connection drops before the response (fault 'DropConnection')."""


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Resource:
    name: str
    arn: str
    body: dict[str, Any]  # RuleGroup or FirewallPolicy, as stored (normalised the way AWS returns it)
    meta: dict[str, Any]  # Type, Capacity, Description
    token: str = field(default_factory=lambda: str(uuid.uuid4()))
    pending: int = 0  # describes left before the status turns ACTIVE


def _model():
    import botocore.session

    return botocore.session.get_session().get_service_model("network-firewall")


def rules_needed(rule_group: dict[str, Any]) -> int:
    source = rule_group.get("RulesSource", {})
    if "RulesSourceList" in source:
        rsl = source["RulesSourceList"]
        extra = len(rsl["TargetTypes"]) if rsl["GeneratedRulesType"] == "ALLOWLIST" else 0
        return len(rsl["Targets"]) * len(rsl["TargetTypes"]) + extra
    if "StatefulRules" in source:
        return len(source["StatefulRules"])
    if "FirewallRules" in source:
        return v2.firewall_rules_needed(rule_group)
    if "RulesString" in source:
        return sum(1 for line in source["RulesString"].splitlines() if line.strip() and not line.startswith("#"))
    return len(source.get("StatelessRulesAndCustomActions", {}).get("StatelessRules", []))


_TARGET = re.compile(r"^\.?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.I)


def _normalise_rule_group(rule_group: dict[str, Any]) -> dict[str, Any]:
    """Validate what the model leaves to the server and store it in the form AWS returns."""
    rg = copy.deepcopy(rule_group)
    source = rg.get("RulesSource", {})
    if len(source) != 1:
        raise ApiError("InvalidRequestException", "RulesSource must hold exactly one rules source")
    if "RulesSourceList" in source:
        rsl = source["RulesSourceList"]
        for t in rsl["Targets"]:
            if not _TARGET.match(t):
                raise ApiError("InvalidRequestException", f"Invalid domain target: {t}")
        rsl["Targets"] = sorted(rsl["Targets"])  # the service does not keep the order
    for rule in source.get("StatefulRules", []):
        options, sid = [], None
        for opt in rule.get("RuleOptions", []):
            kw, settings = opt["Keyword"], opt.get("Settings", [])
            if kw == "sid" and len(settings) == 1:
                kw, settings = f"sid:{settings[0]}", []
            if kw.startswith("sid:"):
                sid = kw[4:]
            options.append({"Keyword": kw, **({"Settings": settings} if settings else {})})
        if sid is None or not sid.isdigit():
            raise ApiError("InvalidRequestException", "Every stateful rule needs a numeric sid option")
        rule["RuleOptions"] = options
        rule["_sid"] = sid
    sids = [r.pop("_sid") for r in source.get("StatefulRules", [])]
    if len(sids) != len(set(sids)):
        raise ApiError("InvalidRequestException", "SIDs must be unique within a rule group")
    return rg


class Emulator(v2.NextGenOps):
    """All state of one emulated account, per region. Thread-safe; one lock around every call."""

    def __init__(self, updating_describes: int = 0):
        self.updating_describes = updating_describes
        self.groups: dict[str, dict[str, Resource]] = {}
        self.policies: dict[str, dict[str, Resource]] = {}
        self.faults: list[dict[str, Any]] = []
        self.firewalls: dict[str, dict[str, str]] = {}  # region -> firewall name -> policy ARN (in-use checks)
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._model = _model()

    # -- test controls -------------------------------------------------------------------------
    def inject(self, operation: str, error: str, count: int = 1, name: str | None = None, after: int = 0) -> None:
        """The next `count` calls of `operation` (on rule group or firewall policy `name`, if given), after
        `after` calls that go through, fail with `error`; error 'ConcurrentUpdate' instead has another writer
        change the rule group just before the next UpdateRuleGroup is handled; 'DropConnection' has the
        call handled and the connection closed before the response; 'BadGateway' / 'ServiceUnavailable'
        answer HTTP 502 / 503 with a proxy's HTML body; 'Slow' answers after 3 s."""
        with self._lock:
            self.faults.append({"operation": operation, "error": error, "count": count, "name": name, "after": after})

    def associate(self, region: str, firewall: str, policy: str) -> None:
        """A firewall uses `policy` (DeleteFirewallPolicy then fails as in use)."""
        with self._lock:
            self.firewalls.setdefault(region, {})[firewall] = self._arn(region, "firewall-policy", policy)

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if not c[1].startswith(("Describe", "List", "Get"))]

    # -- dispatch ------------------------------------------------------------------------------
    def call(self, region: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append((region, operation))
            if operation not in OPERATIONS:
                raise ApiError("UnknownOperationException", f"{operation} is not emulated")
            drop = self._fault(region, operation, params)
            try:
                validate.check(params, self._model.operation_model(operation).input_shape)
            except validate.Invalid as exc:
                raise ApiError("InvalidRequestException", str(exc)) from None
            result = getattr(self, "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())(region, params)
            if drop:
                raise Dropped(operation)
            return result

    def _fault(self, region: str, operation: str, params: dict[str, Any]) -> bool:
        for fault in self.faults:
            if fault["name"] not in (None, params.get("RuleGroupName"), params.get("FirewallPolicyName")):
                continue
            if fault["operation"] == operation and fault["count"] > 0:
                if fault.get("after", 0) > 0:
                    fault["after"] -= 1
                    continue
                fault["count"] -= 1
                if fault["error"] == "DropConnection":
                    return True
                if fault["error"] == "Slow":  # a slow answer (time to interrupt the client)
                    time.sleep(3)
                    return False
                if fault["error"] in ("BadGateway", "ServiceUnavailable"):
                    raise ApiError(
                        "", "<html><body>bad gateway</body></html>", 502 if fault["error"] == "BadGateway" else 503
                    )
                if fault["error"] == "ConcurrentUpdate":
                    group = self.groups.get(region, {}).get(params.get("RuleGroupName", ""))
                    if group:
                        group.meta["Description"] = "changed by someone else"
                        group.token = str(uuid.uuid4())
                    return False
                status = 500 if fault["error"] == "InternalServerError" else 400
                raise ApiError(fault["error"], f"injected {fault['error']}", status)
        return False

    def _arn(self, region: str, kind: str, name: str) -> str:
        return f"arn:aws:network-firewall:{region}:{ACCOUNT}:{kind}/{name}"

    # -- rule groups ---------------------------------------------------------------------------
    def _find_group(self, region: str, params: dict[str, Any]) -> Resource:
        groups = self.groups.get(region, {})
        name = params.get("RuleGroupName") or str(params.get("RuleGroupArn", "")).rpartition("/")[2]
        if name not in groups:
            raise ApiError("ResourceNotFoundException", f"Rule group {name} not found")
        return groups[name]

    def _group_response(self, g: Resource, describe: bool = False) -> dict[str, Any]:
        status = "UPDATING" if g.pending else "ACTIVE"
        if describe and g.pending:
            g.pending -= 1
        kind = g.meta["Type"]
        return {
            "RuleGroupArn": g.arn,
            "RuleGroupName": g.name,
            "RuleGroupId": str(uuid.uuid5(uuid.NAMESPACE_URL, g.arn)),
            "Type": kind,
            "Capacity": g.meta["Capacity"],
            "Description": g.meta.get("Description", ""),
            "RuleGroupStatus": status,
            "ConsumedCapacity": rules_needed(g.body),
            "NumberOfAssociations": sum(g.arn in _refs(p) for p in self.policies.get(g.arn.split(":")[3], {}).values()),
        }

    def _checked_body(self, params: dict[str, Any], capacity: int) -> dict[str, Any]:
        if "FirewallRuleGroup" in params:
            return self._firewall_body(params, capacity)
        if "RuleGroup" not in params:
            raise ApiError("InvalidRequestException", "RuleGroup is required (Rules strings are not emulated)")
        body = _normalise_rule_group(params["RuleGroup"])
        need = rules_needed(body)
        if need > capacity:
            raise ApiError(
                "InvalidRequestException",
                f"The rules in this rule group need {need} capacity units, more than its capacity {capacity}",
            )
        return body

    def _create_rule_group(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        groups = self.groups.setdefault(region, {})
        if p["Type"] == "STATEFUL" and not 1 <= p["Capacity"] <= MAX_STATEFUL_CAPACITY:
            raise ApiError("InvalidRequestException", f"Capacity must be between 1 and {MAX_STATEFUL_CAPACITY}")
        body = self._checked_body(p, p["Capacity"])
        if p["RuleGroupName"] in groups:
            raise ApiError("InvalidRequestException", "A resource with the specified name already exists")
        kind = {"STATEFUL": "stateful-rulegroup", "FIREWALL": "firewall-rulegroup"}.get(
            p["Type"], "stateless-rulegroup"
        )
        g = Resource(
            p["RuleGroupName"],
            self._arn(region, kind, p["RuleGroupName"]),
            body,
            {"Type": p["Type"], "Capacity": p["Capacity"], "Description": p.get("Description", "")},
            pending=self.updating_describes,
        )
        if not p.get("DryRun"):
            groups[g.name] = g
        return {"UpdateToken": g.token, "RuleGroupResponse": self._group_response(g)}

    def _describe_rule_group(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        g = self._find_group(region, p)
        return {
            "UpdateToken": g.token,
            "FirewallRuleGroup" if g.meta["Type"] == "FIREWALL" else "RuleGroup": copy.deepcopy(g.body),
            "RuleGroupResponse": self._group_response(g, describe=True),
        }

    def _update_rule_group(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        g = self._find_group(region, p)
        if p["UpdateToken"] != g.token:
            raise ApiError("InvalidTokenException", "Update token is stale: the rule group changed since it was read")
        body = self._checked_body(p, g.meta["Capacity"])
        if not p.get("DryRun"):
            g.body = body
            if "Description" in p:
                g.meta["Description"] = p["Description"]
            g.token = str(uuid.uuid4())
            g.pending = self.updating_describes
        return {"UpdateToken": g.token, "RuleGroupResponse": self._group_response(g)}

    def _delete_rule_group(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        g = self._find_group(region, p)
        if any(g.arn in _refs(pol) for pol in self.policies.get(region, {}).values()) or self._v2_uses(region, g.arn):
            raise ApiError("InvalidOperationException", "Unable to delete the object because it is still in use")
        del self.groups[region][g.name]
        response = self._group_response(g)
        response["RuleGroupStatus"] = "DELETING"
        return {"RuleGroupResponse": response}

    def _list_rule_groups(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "RuleGroups": [
                {"Name": g.name, "Arn": g.arn}
                for g in sorted(self.groups.get(region, {}).values(), key=lambda g: g.name)
            ]
        }

    # -- firewall policies ---------------------------------------------------------------------
    def _find_policy(self, region: str, p: dict[str, Any]) -> Resource:
        name = p.get("FirewallPolicyName") or str(p.get("FirewallPolicyArn", "")).rpartition("/")[2]
        if name not in self.policies.get(region, {}):
            raise ApiError("ResourceNotFoundException", f"Firewall policy {name} not found")
        return self.policies[region][name]

    def _check_policy(self, region: str, policy: dict[str, Any]) -> None:
        by_arn = {g.arn: g for g in self.groups.get(region, {}).values()}
        total = 0
        strict = policy.get("StatefulEngineOptions", {}).get("RuleOrder") == "STRICT_ORDER"
        if policy.get("StatefulDefaultActions") and not strict:
            raise ApiError("InvalidRequestException", "StatefulDefaultActions are only valid with STRICT_ORDER")
        for cidr in _cidrs(policy):
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise ApiError("InvalidRequestException", f"Invalid CIDR: {cidr}") from None
        if (
            "Route53ResolvedIPValidation" in policy
            and policy["Route53ResolvedIPValidation"].get("SourceIPRanges") == []
        ):
            raise ApiError("InvalidRequestException", "SourceIPRanges must not be empty")
        for ref in policy.get("StatefulRuleGroupReferences", []):
            if ref["ResourceArn"] not in by_arn:
                raise ApiError("InvalidRequestException", f"Rule group {ref['ResourceArn']} does not exist")
            if strict != ("Priority" in ref):
                raise ApiError("InvalidRequestException", "Priority is required under STRICT_ORDER and only there")
            total += by_arn[ref["ResourceArn"]].meta["Capacity"]
        if total > POLICY_STATEFUL_POOL:
            raise ApiError(
                "InvalidRequestException",
                f"Referenced stateful rule groups reserve {total} capacity; the policy allows {POLICY_STATEFUL_POOL}",
            )

    def _policy_response(self, pol: Resource) -> dict[str, Any]:
        return {
            "FirewallPolicyName": pol.name,
            "FirewallPolicyArn": pol.arn,
            "FirewallPolicyId": str(uuid.uuid5(uuid.NAMESPACE_URL, pol.arn)),
            "Description": pol.meta.get("Description", ""),
            "FirewallPolicyStatus": "ACTIVE",
        }

    def _create_firewall_policy(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        policies = self.policies.setdefault(region, {})
        if p["FirewallPolicyName"] in policies:
            raise ApiError("InvalidRequestException", "A resource with the specified name already exists")
        self._check_policy(region, p["FirewallPolicy"])
        pol = Resource(
            p["FirewallPolicyName"],
            self._arn(region, "firewall-policy", p["FirewallPolicyName"]),
            copy.deepcopy(p["FirewallPolicy"]),
            {"Description": p.get("Description", "")},
        )
        if not p.get("DryRun"):
            policies[pol.name] = pol
        return {"UpdateToken": pol.token, "FirewallPolicyResponse": self._policy_response(pol)}

    def _describe_firewall_policy(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        pol = self._find_policy(region, p)
        return {
            "UpdateToken": pol.token,
            "FirewallPolicy": copy.deepcopy(pol.body),
            "FirewallPolicyResponse": self._policy_response(pol),
        }

    def _update_firewall_policy(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        pol = self._find_policy(region, p)
        if p["UpdateToken"] != pol.token:
            raise ApiError("InvalidTokenException", "Update token is stale: the firewall policy changed")
        self._check_policy(region, p["FirewallPolicy"])
        if not p.get("DryRun"):
            pol.body = copy.deepcopy(p["FirewallPolicy"])
            pol.token = str(uuid.uuid4())
        return {"UpdateToken": pol.token, "FirewallPolicyResponse": self._policy_response(pol)}

    def _delete_firewall_policy(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        pol = self._find_policy(region, p)
        users = sorted(fw for fw, arn in self.firewalls.get(region, {}).items() if arn == pol.arn)
        if users:
            raise ApiError("InvalidOperationException", f"Firewall policy is in use by {', '.join(users)}")
        del self.policies[region][pol.name]
        return {"FirewallPolicyResponse": self._policy_response(pol)}


def _cidrs(policy: dict[str, Any]) -> list[str]:
    variables = policy.get("PolicyVariables", {}).get("RuleVariables", {})
    validation = policy.get("Route53ResolvedIPValidation", {})
    ranges = [a["AddressDefinition"] for a in validation.get("SourceIPRanges", [])]
    return [c for v in variables.values() for c in v.get("Definition", [])] + ranges


def _refs(policy: Resource) -> list[str]:
    return [r["ResourceArn"] for r in policy.body.get("StatefulRuleGroupReferences", [])]


from tests.emulator import analysis as _analysis  # noqa: E402,F401  (registers the traffic-analysis operations)
