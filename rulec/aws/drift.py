"""`rulec drift`: what the live groups and firewall policy hold that the reviewed build does not, or lack.

It reads the account exactly as push's plan does (push.Pusher.plan, which writes nothing) and turns every
pending change into a drift item with its origin: the policy line or catalog feature that produced a name,
the rule key of a rule, or "live only" for what nobody reviewed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from rulec.aws.fwpolicy import tmp_name
from rulec.aws.push import Plan

LIVE_ONLY = "live only: not in the reviewed build (changed behind rulec's back)"


@dataclass(frozen=True)
class Item:
    region: str
    resource: str  # group name, or "firewall policy NAME"
    change: str  # "+ x": in the build, missing live; "- x": live only; "~ x": differs
    origin: str


def origins(plans: list[Any]) -> dict[tuple[str, str], str]:
    """(region, name or rule sid) -> where the policy asks for it."""
    found: dict[tuple[str, str], str] = {}
    for p in plans:
        for target in getattr(p.resolved, "targets", []):
            found[p.region, target.name] = "; ".join(o.describe() for o in target.origins)
        for group in p.groups:
            for rule in getattr(group, "rules", ()):
                found[p.region, f"sid {rule.sid}"] = f"rule {rule.key} of {group.name}"
    return found


def _origin(region: str, change: str, where: dict[tuple[str, str], str], home_net: str) -> str:
    sign, _, what = change.partition(" ")
    key = what.partition(":")[0] if what.startswith("sid ") else what
    if sign == "-" and not what.startswith("HOME_NET"):
        return LIVE_ONLY
    if what.startswith("HOME_NET") or what == "description":
        return home_net if what.startswith("HOME_NET") else "the group's description in the reviewed build"
    return where.get((region, key), "the reviewed build")


def items(plan: Plan, plans: list[Any], out_dir: str) -> list[Item]:
    where = origins(plans)
    found: list[Item] = []
    for g in plan.groups:
        home = f"home_net of {g.region} in the policy"
        if g.leftover:
            found.append(Item(g.region, g.name, f"- {tmp_name(g.name)}", "left by an interrupted push --replace"))
        if g.remote is None:
            found.append(Item(g.region, g.name, "+ (the whole group)", f"{out_dir}/{g.region}/{g.name}.json"))
            continue
        for change in g.diff.describe():
            found.append(Item(g.region, g.name, change, _origin(g.region, change, where, home)))
    for p in plan.policies:
        resource = f"firewall policy {p.name}"
        declared = p.desired is not None and "FirewallPolicyName" in p.desired
        doc = (
            f"firewall_policy in the policy ({out_dir}/{p.region}/{p.name}.firewall-policy.json)"
            if declared
            else f"--firewall-policy {p.name} (references to the built groups, forwarding to the stateful engine)"
        )
        if p.remote is None:
            found.append(Item(p.region, resource, "+ (the whole policy)", doc))
        elif p.merge:
            found += [Item(p.region, resource, c, doc) for c in p.merge.changes]
            found += [Item(p.region, resource, c, LIVE_ONLY) for c in p.merge.removals]
        if p.reason and p.remote is not None and not p.merge:
            found.append(Item(p.region, resource, f"~ {p.reason}", doc))
    return found


def text(found: list[Item], plan: Plan) -> str:
    lines = []
    resources = list(dict.fromkeys((i.region, i.resource) for i in found))
    for region, resource in resources:
        lines.append(f"{region}/{resource}: drift")
        for i in found:
            if (i.region, i.resource) == (region, resource):
                lines.append(f"    {i.change}")
                lines.append(f"        origin: {i.origin}")
    for p in plan.policies:
        for group, rules in sorted(p.passes.items()):
            lines.append(f"{p.region}/firewall policy {p.name}: ! {group} passes traffic to EXTERNAL_NET:")
            lines += [f"    {r}" for r in rules]
    lines.append(
        f"{len(found)} difference(s) between the live firewall and the reviewed build"
        if found
        else "in sync: the live firewall matches the reviewed build"
    )
    return "\n".join(lines)


def as_json(found: list[Item], plan: Plan) -> str:
    passes = [{"region": p.region, "group": g, "rules": r} for p in plan.policies for g, r in sorted(p.passes.items())]
    return json.dumps({"drift": [asdict(i) for i in found], "foreign_passes": passes}, indent=2)
