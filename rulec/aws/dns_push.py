"""The DNS layer inside `rulec push`: read the reviewed DNS Firewall documents, plan them, and give the
firewall policy the id of the rule group push manages (`${DnsFirewallRuleGroupId}`, like `${AccountId}`).

Order on apply: the DNS Firewall first (resolved-IP validation references its rule group), then the Network
Firewall groups and policy. When the rule group does not exist yet, the policy's plan shows the placeholder
and push writes the id as soon as the group is created."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rulec.aws.api import Api
from rulec.aws.dns import DnsPlan, DnsPusher
from rulec.compile.egress import DNS_GROUP_ID
from rulec.emit import dns_firewall as emit_dns
from rulec.errors import Position, error_at


def documents(out_dir: Path, plans: list) -> dict[str, dict[str, Any]]:
    """region -> the reviewed DNS Firewall document (the directory was already checked fresh)."""
    found = {}
    for p in plans:
        if p.resolved.dns is not None:
            path = out_dir / p.region / emit_dns.file_name(p.resolved.dns)
            try:
                found[p.region] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise error_at(Position(str(path)), f"cannot read the reviewed document: {exc}") from None
    return found


def plan(api: Api, docs: dict[str, dict[str, Any]]) -> list[DnsPlan]:
    pusher = DnsPusher(api)
    return [pusher.plan(region, doc) for region, doc in docs.items()]


def fill(value: Any, group_id: str) -> Any:
    return emit_dns.substitute(value, {DNS_GROUP_ID: group_id})


def fill_policies(policies: dict[str, dict[str, Any]], plans: list[DnsPlan]) -> dict[str, dict[str, Any]]:
    """The reviewed firewall policies with the live DNS Firewall rule group id, where it already exists."""
    ids = {p.region: p.group_id for p in plans if p.group_id}
    return {region: fill(doc, ids[region]) if region in ids else doc for region, doc in policies.items()}


def apply(api: Api, plans: list[DnsPlan], nfw_plan: Any) -> None:
    """Apply the DNS plans, then put the new rule group ids into the firewall-policy changes still to write."""
    pusher = DnsPusher(api)
    for p in plans:
        group_id = pusher.apply(p)
        for change in nfw_plan.policies:
            if change.region == p.region and group_id:
                change.desired = fill(change.desired, group_id)
                if change.merge is not None:
                    change.merge.body = fill(change.merge.body, group_id)


def describe(plans: list[DnsPlan]) -> list[str]:
    return [line for p in plans for line in p.describe()]


def drift_items(plans: list[DnsPlan], out_dir: str) -> list:
    """Every pending DNS Firewall step as a drift item, its origin the reviewed document."""
    from rulec.aws.drift import Item

    return [
        Item(p.region, f"DNS Firewall {p.name}", f"~ {step.label}", f"{out_dir}/{p.region}/{p.name}{emit_dns.SUFFIX}")
        for p in plans
        for step in p.steps
    ]


STAND_IN = "rslvr-frg-0000000000000000"  # a well-formed id for DryRun while the rule group does not exist yet


def stand_in(nfw_plan: Any, plans: list[DnsPlan]) -> Any:
    """For a dry run: the firewall-policy changes with a well-formed id where the rule group is still to be
    created (the policy's other settings are what DryRun validates)."""
    for change in nfw_plan.policies:
        if change.desired is not None:
            change.desired = fill(change.desired, STAND_IN)
        if change.merge is not None:
            change.merge.body = fill(change.merge.body, STAND_IN)
    return nfw_plan
