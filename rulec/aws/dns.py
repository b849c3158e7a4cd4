"""Push stage, DNS layer: create or update a region's Route 53 Resolver DNS Firewall from the reviewed
`<name>.dns-firewall.json`: the domain lists (their domains replaced in one call, in batches of 1,000 where the
API requires), the rule group and its rules, and the VPC associations.

Plan first (List*/Get* only), then act; a plan with no steps makes no writes. Resources are found by name:
rulec owns the rule group and the domain lists it names, so a rule of that group for a list the document does
not hold is deleted. Associations of the group with VPCs the policy does not name are reported, never removed.
The document's `${FirewallRuleGroupId}` / `${FirewallDomainListId:NAME}` are filled in as the ids become known.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from rulec.aws.api import Api, PushError, api_message
from rulec.emit.dns_firewall import GROUP, list_id, substitute

SERVICE = "route53resolver"
BATCH = 1000  # UpdateFirewallDomains: "There is a limit of 1000 domains per request"
RULE_KEYS = ("Priority", "Action", "BlockResponse", "Name", "FirewallDomainRedirectionAction")
ASSOC_KEYS = ("Priority", "MutationProtection", "Name")


@dataclass
class Step:
    operation: str
    params: dict[str, Any]
    label: str


@dataclass
class DnsPlan:
    region: str
    name: str
    group_id: str | None  # the live rule group's id (None: this push creates it)
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # placeholder -> live id
    arn: str | None = None

    @property
    def changes(self) -> bool:
        return bool(self.steps)

    def describe(self) -> list[str]:
        head = f"{self.region}/{self.name} (DNS Firewall): " + (
            f"{len(self.steps)} change(s)" if self.steps else "no change"
        )
        notes = self.notes + (
            ["the firewall policy gets the new rule group's id once it exists"] if not self.group_id else []
        )
        return [head, *(f"    {s.label}" for s in self.steps), *(f"    note: {n}" for n in notes)]


def batches(domains: list[str]) -> list[tuple[str, list[str]]]:
    """(operation, domains) calls that make a new or emptied list hold exactly `domains`."""
    if len(domains) <= BATCH:
        return [("REPLACE", domains)]
    return [("REPLACE", domains[:BATCH])] + [("ADD", domains[i : i + BATCH]) for i in range(BATCH, len(domains), BATCH)]


class DnsPusher:
    def __init__(self, api: Api):
        self.api = api

    def _all(self, region: str, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        out, token = [], None
        while True:
            try:
                page = self.api.call(region, operation, SERVICE, **params, **({"NextToken": token} if token else {}))
            except ClientError as exc:
                raise PushError(api_message(exc), self.api.done) from None
            out += page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return out

    def plan(self, region: str, doc: dict[str, Any]) -> DnsPlan:
        name = doc["FirewallRuleGroup"]["Name"]
        group = next(
            (g for g in self._all(region, "list_firewall_rule_groups", "FirewallRuleGroups") if g["Name"] == name), None
        )
        plan = DnsPlan(region, name, group["Id"] if group else None, arn=group["Arn"] if group else None)
        if group is None:
            plan.steps.append(Step("create_firewall_rule_group", doc["FirewallRuleGroup"], f"create rule group {name}"))
        else:
            plan.ids[GROUP] = group["Id"]
        lists = {d["Name"]: d for d in self._all(region, "list_firewall_domain_lists", "FirewallDomainLists")}
        for d in doc["FirewallDomainLists"]:
            self._plan_list(plan, region, d, lists.get(d["Create"]["Name"]))
        unused = sorted(set(lists) - {d["Create"]["Name"] for d in doc["FirewallDomainLists"]})
        plan.notes += [f"domain list {n} is no longer used (left in place)" for n in unused if n.startswith(f"{name}-")]
        live_rules = (
            self._all(region, "list_firewall_rules", "FirewallRules", FirewallRuleGroupId=group["Id"]) if group else []
        )
        self._plan_rules(plan, doc["FirewallRules"], live_rules)
        live = (
            self._all(
                region,
                "list_firewall_rule_group_associations",
                "FirewallRuleGroupAssociations",
                FirewallRuleGroupId=group["Id"],
            )
            if group
            else []
        )
        self._plan_associations(plan, doc["Associations"], live)
        return plan

    def _plan_list(self, plan: DnsPlan, region: str, d: dict[str, Any], live: dict[str, Any] | None) -> None:
        name, want = d["Create"]["Name"], d["Domains"]["Domains"]
        placeholder = d["Domains"]["FirewallDomainListId"]
        if live is None:
            plan.steps.append(Step("create_firewall_domain_list", d["Create"], f"create domain list {name}"))
            calls = batches(want)
        else:
            plan.ids[placeholder] = live["Id"]
            have = self._all(
                region, "list_firewall_domains", "Domains", FirewallDomainListId=live["Id"], MaxResults=5000
            )
            add, remove = sorted(set(want) - set(have)), sorted(set(have) - set(want))
            if not add and not remove:
                return
            if len(want) <= BATCH:
                calls = [("REPLACE", want)]
            else:  # ADD first, so nothing allowed stops resolving half-way
                calls = [("ADD", add[i : i + BATCH]) for i in range(0, len(add), BATCH)]
                calls += [("REMOVE", remove[i : i + BATCH]) for i in range(0, len(remove), BATCH)]
            shown = ", ".join([f"+{x}" for x in add[:5]] + [f"-{x}" for x in remove[:5]])
            plan.notes.append(
                f"{name}: {len(add)} added, {len(remove)} removed ({shown}{', ...' if len(add) + len(remove) > 10 else ''})"
            )
        for op, chunk in calls:
            params = {"FirewallDomainListId": placeholder, "Operation": op, "Domains": chunk}
            plan.steps.append(Step("update_firewall_domains", params, f"{op} {len(chunk)} domain(s) of {name}"))

    def _plan_rules(self, plan: DnsPlan, rules: list[dict[str, Any]], live: list[dict[str, Any]]) -> None:
        by_list = {r["FirewallDomainListId"]: r for r in live}
        wanted = set()
        updates, creates = [], []
        for rule in rules:
            live_id = plan.ids.get(rule["FirewallDomainListId"])
            current = by_list.get(live_id) if live_id else None
            wanted.add(live_id)
            if current is None:
                creates.append(
                    Step(
                        "create_firewall_rule",
                        rule,
                        f"create rule {rule['Name']} ({rule['Action']}, priority {rule['Priority']})",
                    )
                )
            elif any(current.get(k) != rule.get(k) for k in RULE_KEYS):
                params = {k: rule[k] for k in ("FirewallRuleGroupId", "FirewallDomainListId", *RULE_KEYS) if k in rule}
                diff = ", ".join(
                    f"{k} {current.get(k)} -> {rule.get(k)}" for k in RULE_KEYS if current.get(k) != rule.get(k)
                )
                updates.append(Step("update_firewall_rule", params, f"update rule {rule['Name']}: {diff}"))
        deletes = [
            Step(
                "delete_firewall_rule",
                {"FirewallRuleGroupId": r["FirewallRuleGroupId"], "FirewallDomainListId": r["FirewallDomainListId"]},
                f"delete rule {r.get('Name')} (not in the reviewed document)",
            )
            for r in live
            if r.get("FirewallDomainListId") not in wanted
        ]
        # deletes first (they free priorities), then updates, then creates
        plan.steps += deletes + updates + creates

    def _plan_associations(self, plan: DnsPlan, wanted: list[dict[str, Any]], live: list[dict[str, Any]]) -> None:
        by_vpc = {a["VpcId"]: a for a in live}
        for a in wanted:
            current = by_vpc.pop(a["VpcId"], None)
            if current is None:
                plan.steps.append(
                    Step("associate_firewall_rule_group", a, f"associate with {a['VpcId']} (priority {a['Priority']})")
                )
            elif any(current.get(k) != a.get(k) for k in ASSOC_KEYS):
                params = {"FirewallRuleGroupAssociationId": current["Id"], **{k: a[k] for k in ASSOC_KEYS}}
                plan.steps.append(
                    Step("update_firewall_rule_group_association", params, f"update association with {a['VpcId']}")
                )
        plan.notes += [
            f"also associated with {vpc}, which the policy does not name (left alone)" for vpc in sorted(by_vpc)
        ]

    def _wait_list(self, region: str, list_id: str) -> None:
        """A list takes the next update (or a rule) once it is no longer UPDATING/IMPORTING."""
        deadline = time.monotonic() + getattr(self.api, "wait_timeout", 600.0)
        while True:
            found = self.api.checked(region, "get_firewall_domain_list", service=SERVICE, FirewallDomainListId=list_id)
            status = found["FirewallDomainList"].get("Status", "COMPLETE")
            if status == "COMPLETE":
                return
            if status not in ("UPDATING", "IMPORTING") or time.monotonic() > deadline:
                raise PushError(f"{region}: domain list {list_id} is {status}", self.api.done)
            time.sleep(getattr(self.api, "poll", 2.0))

    def apply(self, plan: DnsPlan) -> str:
        """Run the steps in order, filling in ids as resources are created; returns the rule group's id."""
        for step in plan.steps:
            params = substitute(step.params, plan.ids)
            response = self.api.checked(plan.region, step.operation, service=SERVICE, **params)
            if step.operation == "create_firewall_rule_group":
                plan.ids[GROUP], plan.arn = response["FirewallRuleGroup"]["Id"], response["FirewallRuleGroup"]["Arn"]
            elif step.operation == "create_firewall_domain_list":
                plan.ids[list_id(params["Name"])] = response["FirewallDomainList"]["Id"]
            self.api.step(f"{plan.region}/{plan.name}: {step.label}")
            if step.operation == "update_firewall_domains":
                self._wait_list(plan.region, params["FirewallDomainListId"])
        plan.group_id = plan.ids.get(GROUP, plan.group_id)
        return plan.group_id or ""
