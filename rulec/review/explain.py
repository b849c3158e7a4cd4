"""Why would Network Firewall pass or drop a host? The deciding target or rule, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from rulec.compile.ir import DROPPED_BY, DomainListGroup, RegionPlan, StatefulGroup
from rulec.compile.resolve import Origin
from rulec.emit.suricata import domain_sid
from rulec.errors import RulecError
from rulec.load.domains import BadName, Matcher, normalize

TYPE_PROTOCOL = {"TLS_SNI": ("TLS", "tls"), "HTTP_HOST": ("HTTP", "http")}


@dataclass
class Verdict:
    protocol: str  # TLS or HTTP
    verdict: str  # pass | drop | uninspected
    reason: str
    origins: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def origin_text(o: Origin) -> str:
    if o.feature is None or o.entry is None:
        return f"allow entry at {o.pos}"
    reviewed = o.entry.reviewed.isoformat()
    return (
        f"feature '{o.feature}' at {o.pos}: catalog entry {o.entry.label} at {o.entry_pos} "
        f"(source {o.entry.source}, reviewed {reviewed})"
    )


def explain(host: str, plan: RegionPlan) -> list[Verdict]:
    try:
        name = normalize(host)
    except BadName as exc:
        raise RulecError(str(exc)) from None
    if name.startswith("."):
        raise RulecError(f"'{host}' is a wildcard; explain takes a host name such as 'files.pythonhosted.org'")
    lists = [g for g in plan.groups if isinstance(g, DomainListGroup)]
    denies = [(g, r) for g in plan.groups if isinstance(g, StatefulGroup) for r in g.rules if r.action == "DROP"]
    out = []
    for ttype in ("TLS_SNI", "HTTP_HOST"):
        label, proto = TYPE_PROTOCOL[ttype]
        blocked = next(((g, r) for g, r in denies if r.protocol in DROPPED_BY[ttype]), None)
        if blocked:
            g, r = blocked
            out.append(Verdict(label, "drop", f"{g.name} sid {r.sid} drops every {r.protocol} flow"))
            continue
        group = next((g for g in lists if ttype in g.target_types), None)
        if group is None:
            out.append(
                Verdict(
                    label,
                    "uninspected",
                    f"no domain list inspects {ttype}: the flow passes the "
                    "rule groups (the firewall policy's default action decides)",
                )
            )
            continue
        target = Matcher(group.targets).match(name)
        if target is None:
            sid = domain_sid(group, ttype)
            v = Verdict(
                label,
                "drop",
                f"no target matches; {group.name}'s default drop "
                f'(sid {sid} in {group.name}.rules: "not matching any {label} allowlisted FQDNs")',
            )
            v.notes = _near_misses(name, group.targets)
        else:
            sid = domain_sid(group, ttype, target)
            how = "exactly" if target == name else ("at the apex" if target[1:] == name else "as a subdomain")
            v = Verdict(label, "pass", f"matches {target} {how} ({group.name}, sid {sid} in {group.name}.rules)")
            t = next(t for t in plan.resolved.targets if t.name == target)
            v.origins = [origin_text(o) for o in t.origins]
            v.notes = [
                f"{c.name} ({c.reason}) was written at {c.origin.pos}"
                for c in plan.resolved.collapsed
                if c.into == target and c.name != target
            ]
        out.append(v)
    return out


def _near_misses(name: str, targets: tuple[str, ...]) -> list[str]:
    notes = []
    for t in targets:
        bare = t.lstrip(".")
        if not t.startswith(".") and name.endswith("." + bare):
            notes.append(f"is below {t}, which is allowed exactly, not with its subdomains (write .{bare} for those)")
        elif name.endswith(bare) and name != bare and not name.endswith("." + bare):
            notes.append(f"looks like {t} but is not below it (no dot before '{bare}'): a look-alike")
        elif name.startswith(bare + "."):
            notes.append(f"starts with {bare} but is a different domain (a suffix trick)")
    return notes
