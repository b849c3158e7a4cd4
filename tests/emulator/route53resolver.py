"""Route 53 Resolver DNS Firewall in the emulator: domain lists, rule groups, rules and VPC associations over
awsJson1_1 (X-Amz-Target Route53Resolver.*), each request validated against botocore's `route53resolver` model
like every emulated operation, plus what the model leaves to the server and the documentation states:

- UpdateFirewallDomains takes at most 1,000 domains per request; REPLACE makes the list exactly that;
- a domain is an optional leading `*` then labels of A-Z a-z 0-9 - separated by dots;
- association priority 100-9900 and unique per VPC; one association per rule group and VPC; a rule's priority is
  unique in its group; MutationProtection ENABLED refuses changes to the association other than turning it off;
- a CreatorRequestId seen before returns the resource it created (idempotent retries).
State lives on the Emulator object, per region; every call is recorded in `emulator.calls`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.emulator import ACCOUNT, ApiError, Emulator, validate

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/route53resolver/")
_DOMAIN = re.compile(r"^(\*|(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)$")
NOW = "2026-11-28T06:00:00.000000Z"
MAX_DOMAINS_PER_REQUEST = 1000


def is_resolver(request: Request) -> bool:
    return bool(_SCOPE.search(request.headers.get("Authorization", "")))


def state(emu: Emulator, region: str) -> dict[str, dict[str, dict[str, Any]]]:
    regions = emu.__dict__.setdefault("resolver", {})
    fresh = {"lists": {}, "groups": {}, "rules": {}, "assocs": {}, "tokens": {}, "updating": emu.updating_describes}
    return regions.setdefault(region, fresh)


def respond(emu: Emulator, request: Request) -> Response:
    import botocore.session

    region = _SCOPE.search(request.headers["Authorization"]).group(1)
    operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
    params = json.loads(request.get_data() or b"{}")
    model = emu.__dict__.setdefault("resolver_model", None) or botocore.session.get_session().get_service_model(
        "route53resolver"
    )
    emu.__dict__["resolver_model"] = model
    try:
        with emu._lock:
            emu.calls.append((region, operation))
            handler = HANDLERS.get(operation)
            if handler is None:
                raise ApiError("UnknownOperationException", f"{operation} is not emulated")
            emu._fault(region, operation, params)
            try:
                validate.check(params, model.operation_model(operation).input_shape)
            except validate.Invalid as exc:
                raise ApiError("ValidationException", str(exc)) from None
            body, status = handler(state(emu, region), region, params), 200
    except ApiError as exc:
        body, status = {"__type": exc.code, "message": exc.message}, exc.status
    return Response(json.dumps(body), status=status, content_type="application/x-amz-json-1.1")


def _id(kind: str, *parts: str) -> str:
    return f"rslvr-{kind}-" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


def _arn(region: str, kind: str, rid: str) -> str:
    return f"arn:aws:route53resolver:{region}:{ACCOUNT}:{kind}/{rid}"


def _idempotent(s: dict, token: str, kind: str) -> dict[str, Any] | None:
    """A retried create (same CreatorRequestId) returns what the first call created."""
    rid = s["tokens"].get((kind, token))
    return s[kind].get(rid) if rid else None


def _page(items: list, p: dict[str, Any], size: int, key: str) -> dict[str, Any]:
    start = int(p.get("NextToken") or 0)
    end = start + p.get("MaxResults", size)
    return {key: items[start:end], **({"NextToken": str(end)} if end < len(items) else {})}


def _find(s: dict, kind: str, rid: str, what: str) -> dict[str, Any]:
    if rid not in s[kind]:
        raise ApiError("ResourceNotFoundException", f"{what} {rid} not found")
    return s[kind][rid]


# -- domain lists ------------------------------------------------------------------------------
def _list_view(fdl: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in fdl.items() if k not in ("Domains", "pending")} | {"DomainCount": len(fdl["Domains"])}
    return view | ({"Status": "UPDATING"} if fdl.get("pending") else {})


def create_domain_list(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    found = _idempotent(s, p["CreatorRequestId"], "lists")
    if found is None:
        if any(d["Name"] == p["Name"] for d in s["lists"].values()):
            raise ApiError("ValidationException", f"A domain list named {p['Name']} already exists")
        rid = _id("fdl", region, p["CreatorRequestId"])
        found = {"Id": rid, "Arn": _arn(region, "firewall-domain-list", rid), "Name": p["Name"], "Domains": []}
        found |= {"Status": "COMPLETE", "CreatorRequestId": p["CreatorRequestId"], "CreationTime": NOW}
        s["lists"][rid], s["tokens"][("lists", p["CreatorRequestId"])] = found, rid
    return {"FirewallDomainList": _list_view(found)}


def update_domains(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    fdl = _find(s, "lists", p["FirewallDomainListId"], "Domain list")
    if len(p["Domains"]) > MAX_DOMAINS_PER_REQUEST:
        raise ApiError("LimitExceededException", "There is a limit of 1000 domains per request")
    bad = next((d for d in p["Domains"] if not _DOMAIN.match(d) or len(d) > 255), None)
    if bad is not None:
        raise ApiError("ValidationException", f"Invalid domain: {bad}")
    domains, op = [d.lower().rstrip(".") for d in p["Domains"]], p["Operation"]
    if op == "DENY":
        raise ApiError("ValidationException", "DENY is only for an AutoAllowlist rule's managed domain list")
    current = set(fdl["Domains"])
    new = set(domains) if op == "REPLACE" else current | set(domains) if op == "ADD" else current - set(domains)
    if fdl.get("pending"):
        raise ApiError("ConflictException", f"Domain list {fdl['Id']} is still being updated")
    fdl["Domains"], fdl["ModificationTime"], fdl["pending"] = sorted(new), NOW, s["updating"]
    return {"Id": fdl["Id"], "Name": fdl["Name"], "Status": "UPDATING" if fdl["pending"] else "COMPLETE"}


def list_domain_lists(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    rows = [{k: d[k] for k in ("Id", "Arn", "Name", "CreatorRequestId")} for d in s["lists"].values()]
    return _page(sorted(rows, key=lambda r: r["Id"]), p, 100, "FirewallDomainLists")


def get_domain_list(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    """A list reports UPDATING for `updating_describes` reads after each update (exercises waiting)."""
    fdl = _find(s, "lists", p["FirewallDomainListId"], "Domain list")
    view = _list_view(fdl)
    fdl["pending"] = max(0, fdl.get("pending", 0) - 1)
    return {"FirewallDomainList": view}


def list_domains(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    fdl = _find(s, "lists", p["FirewallDomainListId"], "Domain list")
    return _page(fdl["Domains"], p, 1000, "Domains")


# -- rule groups and rules ---------------------------------------------------------------------
def _group_view(s: dict, g: dict[str, Any]) -> dict[str, Any]:
    return g | {"RuleCount": sum(r["FirewallRuleGroupId"] == g["Id"] for r in s["rules"].values())}


def create_rule_group(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    found = _idempotent(s, p["CreatorRequestId"], "groups")
    if found is None:
        rid = _id("frg", region, p["CreatorRequestId"])
        found = {"Id": rid, "Arn": _arn(region, "firewall-rule-group", rid), "Name": p["Name"], "Status": "COMPLETE"}
        found |= {"OwnerId": ACCOUNT, "CreatorRequestId": p["CreatorRequestId"], "ShareStatus": "NOT_SHARED"}
        s["groups"][rid], s["tokens"][("groups", p["CreatorRequestId"])] = found, rid
    return {"FirewallRuleGroup": _group_view(s, found)}


def list_rule_groups(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    rows = [{k: g[k] for k in ("Id", "Arn", "Name", "OwnerId", "CreatorRequestId")} for g in s["groups"].values()]
    return _page(sorted(rows, key=lambda r: r["Id"]), p, 100, "FirewallRuleGroups")


def get_rule_group(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    return {"FirewallRuleGroup": _group_view(s, _find(s, "groups", p["FirewallRuleGroupId"], "Rule group"))}


def _check_rule(s: dict, rule: dict[str, Any], key: str) -> None:
    if rule["Action"] == "BLOCK" and "BlockResponse" not in rule:
        raise ApiError("ValidationException", "A BLOCK rule needs a BlockResponse")
    if rule.get("BlockResponse") == "OVERRIDE" and "BlockOverrideDomain" not in rule:
        raise ApiError("ValidationException", "BlockResponse OVERRIDE needs BlockOverrideDomain")
    for k, other in s["rules"].items():
        same = other["FirewallRuleGroupId"] == rule["FirewallRuleGroupId"]
        if same and k != key and other["Priority"] == rule["Priority"]:
            raise ApiError("ValidationException", f"Priority {rule['Priority']} is already used in the rule group")


def create_rule(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    _find(s, "groups", p["FirewallRuleGroupId"], "Rule group")
    _find(s, "lists", p.get("FirewallDomainListId", ""), "Domain list")
    key = f"{p['FirewallRuleGroupId']}/{p['FirewallDomainListId']}"
    if key in s["rules"]:
        if s["rules"][key]["CreatorRequestId"] == p["CreatorRequestId"]:
            return {"FirewallRule": s["rules"][key]}
        raise ApiError("ValidationException", "The rule group already has a rule for this domain list")
    rule = dict(p) | {"CreationTime": NOW, "ModificationTime": NOW}
    _check_rule(s, rule, key)
    s["rules"][key] = rule
    return {"FirewallRule": rule}


def update_rule(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    key = f"{p['FirewallRuleGroupId']}/{p.get('FirewallDomainListId', '')}"
    rule = _find(s, "rules", key, "Rule")
    updated = rule | p | {"ModificationTime": NOW}
    if updated.get("Action") != "BLOCK":
        updated.pop("BlockResponse", None)
    _check_rule(s, updated, key)
    s["rules"][key] = updated
    return {"FirewallRule": updated}


def delete_rule(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    key = f"{p['FirewallRuleGroupId']}/{p.get('FirewallDomainListId', '')}"
    return {"FirewallRule": s["rules"].pop(key, None) or _find(s, "rules", key, "Rule")}


def list_rules(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    _find(s, "groups", p["FirewallRuleGroupId"], "Rule group")
    rows = sorted(
        (r for r in s["rules"].values() if r["FirewallRuleGroupId"] == p["FirewallRuleGroupId"]),
        key=lambda r: r["Priority"],
    )
    return _page(rows, p, 100, "FirewallRules")


# -- associations ------------------------------------------------------------------------------
def associate(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    found = _idempotent(s, p["CreatorRequestId"], "assocs")
    if found is not None:
        return {"FirewallRuleGroupAssociation": found}
    _find(s, "groups", p["FirewallRuleGroupId"], "Rule group")
    if not 100 <= p["Priority"] <= 9900:
        raise ApiError("ValidationException", "The allowed values for Priority are between 100 and 9900")
    for a in s["assocs"].values():
        if a["VpcId"] == p["VpcId"] and a["FirewallRuleGroupId"] == p["FirewallRuleGroupId"]:
            raise ApiError("ConflictException", f"The rule group is already associated with {p['VpcId']}")
        if a["VpcId"] == p["VpcId"] and a["Priority"] == p["Priority"]:
            raise ApiError("ConflictException", f"Priority {p['Priority']} is already used in {p['VpcId']}")
    rid = _id("frgassoc", region, p["CreatorRequestId"])
    found = {k: v for k, v in p.items() if k != "Tags"} | {
        "Id": rid,
        "Arn": _arn(region, "firewall-rule-group-association", rid),
    }
    found |= {"MutationProtection": p.get("MutationProtection", "DISABLED"), "Status": "COMPLETE", "CreationTime": NOW}
    s["assocs"][rid], s["tokens"][("assocs", p["CreatorRequestId"])] = found, rid
    return {"FirewallRuleGroupAssociation": found}


def update_association(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    a = _find(s, "assocs", p["FirewallRuleGroupAssociationId"], "Association")
    changes = {k: v for k, v in p.items() if k != "FirewallRuleGroupAssociationId"}
    if a["MutationProtection"] == "ENABLED" and set(changes) - {"MutationProtection"}:
        raise ApiError("AccessDeniedException", "The association has mutation protection enabled")
    if "Priority" in changes and not 100 <= changes["Priority"] <= 9900:
        raise ApiError("ValidationException", "The allowed values for Priority are between 100 and 9900")
    a.update(changes, ModificationTime=NOW)
    return {"FirewallRuleGroupAssociation": a}


def list_associations(s: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    rows = [
        a
        for a in s["assocs"].values()
        if all(a.get(k) == p[k] for k in ("FirewallRuleGroupId", "VpcId", "Priority", "Status") if k in p)
    ]
    return _page(sorted(rows, key=lambda a: a["Id"]), p, 100, "FirewallRuleGroupAssociations")


HANDLERS = {
    "CreateFirewallDomainList": create_domain_list,
    "UpdateFirewallDomains": update_domains,
    "ListFirewallDomainLists": list_domain_lists,
    "GetFirewallDomainList": get_domain_list,
    "ListFirewallDomains": list_domains,
    "CreateFirewallRuleGroup": create_rule_group,
    "ListFirewallRuleGroups": list_rule_groups,
    "GetFirewallRuleGroup": get_rule_group,
    "CreateFirewallRule": create_rule,
    "UpdateFirewallRule": update_rule,
    "DeleteFirewallRule": delete_rule,
    "ListFirewallRules": list_rules,
    "AssociateFirewallRuleGroup": associate,
    "UpdateFirewallRuleGroupAssociation": update_association,
    "ListFirewallRuleGroupAssociations": list_associations,
}
