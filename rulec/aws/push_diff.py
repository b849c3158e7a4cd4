"""Compare rule groups as Network Firewall holds them, not as JSON text.

AWS returns `{"Keyword": "sid:1"}` for `{"Keyword": "sid", "Settings": ["1"]}`, does not keep the order
of targets, and treats `Any` and `ANY` alike; comparing raw JSON would show changes that are not there
(the perpetual diff other tools suffer from). `canonical` removes those differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _sid_option(opt: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    keyword, settings = opt.get("Keyword", ""), tuple(opt.get("Settings") or ())
    if keyword.startswith("sid:") and not settings:
        return ("sid", (keyword[4:].strip(),))
    return (keyword, settings)


def _rule(rule: dict[str, Any]) -> tuple:
    h = rule.get("Header", {})
    header = tuple(
        (k, str(h.get(k, "")).upper() if h.get(k, "").lower() == "any" else h.get(k, ""))
        for k in ("Protocol", "Source", "SourcePort", "Direction", "Destination", "DestinationPort")
    )
    return (rule.get("Action"), header, tuple(_sid_option(o) for o in rule.get("RuleOptions", [])))


def sid_of(rule: tuple) -> int:
    for keyword, settings in rule[2]:
        if keyword == "sid" and settings and settings[0].isdigit():
            return int(settings[0])
    return 0


def canonical(rule_group: dict[str, Any]) -> dict[str, Any]:
    source = rule_group.get("RulesSource", {})
    ipsets = rule_group.get("RuleVariables", {}).get("IPSets", {})
    out: dict[str, Any] = {
        "ipsets": {k: tuple(sorted(v.get("Definition", []))) for k, v in sorted(ipsets.items())},
        "order": rule_group.get("StatefulRuleOptions", {}).get("RuleOrder", "DEFAULT_ACTION_ORDER"),
    }
    if "RulesSourceList" in source:
        rsl = source["RulesSourceList"]
        out["list"] = (
            rsl.get("GeneratedRulesType"),
            tuple(sorted(rsl.get("TargetTypes", []))),
            tuple(sorted(rsl.get("Targets", []))),
        )
    if "StatefulRules" in source:
        out["rules"] = tuple(sorted((_rule(r) for r in source["StatefulRules"]), key=sid_of))
    for other in ("RulesString", "StatelessRulesAndCustomActions"):
        if other in source:
            out[other] = repr(source[other])
    return out


def rules_needed(rule_group: dict[str, Any]) -> int:
    c = canonical(rule_group)
    if "list" in c:
        kind, types, targets = c["list"]
        # an ALLOWLIST gets a default drop per protocol type; AWS_ROUTE_53_RESOLVED_DOMAIN alone has none
        defaults = sum(t in ("TLS_SNI", "HTTP_HOST") for t in types) if kind == "ALLOWLIST" else 0
        return len(targets) * len(types) + defaults
    return len(c.get("rules", ()))


def describe_rule(rule: tuple) -> str:
    action, header, _ = rule
    h = dict(header)
    arrow = "<>" if h["Direction"] == "ANY" else "->"
    return (
        f"sid {sid_of(rule)}: {action} {h['Protocol']} {h['Source']} {h['SourcePort']} {arrow} "
        f"{h['Destination']} {h['DestinationPort']}"
    )


@dataclass
class Diff:
    names_added: list[str] = field(default_factory=list)
    names_removed: list[str] = field(default_factory=list)
    rules_added: list[str] = field(default_factory=list)
    rules_removed: list[str] = field(default_factory=list)
    capacity: tuple[int | None, int | None] = (None, None)
    description: bool = False
    other: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.names_added
            or self.names_removed
            or self.rules_added
            or self.rules_removed
            or self.description
            or self.other
        )

    def describe(self) -> list[str]:
        lines = [f"+ {n}" for n in self.names_added] + [f"- {n}" for n in self.names_removed]
        lines += [f"+ {r}" for r in self.rules_added] + [f"- {r}" for r in self.rules_removed]
        lines += [f"~ {o}" for o in self.other]
        if self.description:
            lines.append("~ description")
        return lines


def _parts(doc: dict[str, Any] | None) -> tuple[dict[str, Any], int | None, str | None]:
    """(RuleGroup, capacity, description) of a CreateRuleGroup request or a DescribeRuleGroup response."""
    if doc is None:
        return {}, None, None
    meta = doc.get("RuleGroupResponse", doc)
    return doc.get("RuleGroup", {}), meta.get("Capacity"), meta.get("Description")


def diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> Diff:
    (og, ocap, odesc), (ng, ncap, ndesc) = _parts(old), _parts(new)
    a, b = canonical(og), canonical(ng)
    d = Diff(capacity=(ocap, ncap), description=old is not None and new is not None and (odesc or "") != (ndesc or ""))
    oset, nset = set(a.get("list", (None, (), ()))[2]), set(b.get("list", (None, (), ()))[2])
    d.names_added, d.names_removed = sorted(nset - oset), sorted(oset - nset)
    orules, nrules = set(a.get("rules", ())), set(b.get("rules", ()))
    d.rules_added = [describe_rule(r) for r in sorted(nrules - orules, key=sid_of)]
    d.rules_removed = [describe_rule(r) for r in sorted(orules - nrules, key=sid_of)]
    if old is None or new is None:
        return d
    for key in ("ipsets", "order", "RulesString", "StatelessRulesAndCustomActions"):
        if a.get(key) != b.get(key):
            d.other.append("HOME_NET" if key == "ipsets" else key)
    if a.get("list", (None, ()))[:2] != b.get("list", (None, ()))[:2]:
        d.other.append("target types / list type")
    return d
