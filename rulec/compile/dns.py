"""Resolve stage, DNS layer: per region, the Route 53 Resolver DNS Firewall the policy declares (top level,
overridden key by key by the region) and the names it lets resolve, derived from the same targets and services
as the Network Firewall groups, so the two layers cannot disagree unless the policy says so.

Which names resolve:
- every TLS/HTTP target: an exact name as itself, a leading-dot wildcard `.example.com` as both `example.com`
  and `*.example.com` (DNS Firewall's own wildcard is not documented to cover the apex, so both are listed);
- every service matched by Route 53 resolved domain (Network Firewall needs the resolver's answer to match it),
  and every service a feature brought in (its clients connect by name);
- `dns_firewall.allow` (names Network Firewall never sees, e.g. VPC endpoint names).
A service given by `ips` and declared by the user needs no DNS: it is reported as admitted by one layer only.
`dns_firewall.block` carve-outs are blocked before the allowlist; one that would block a name a feature or
service needs, or an exact `allow` name, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from rulec.compile.egress import ResolvedService
from rulec.compile.origin import Origin
from rulec.errors import Diagnostic, Position
from rulec.load.domains import matches
from rulec.load.policy import LoadedPolicy, RegionSpec

DEFAULTS = {
    "block_response": "NXDOMAIN",
    "alert_first": False,
    "vpcs": [],
    "priority": 100,
    "mutation_protection": False,
    "trust_redirection": True,
    "allow": [],
    "block": [],
}


@dataclass(frozen=True)
class DnsName:
    """A name of a DNS Firewall domain list, in DNS Firewall's syntax, and the policy item behind it."""

    domain: str  # example.com, *.example.com, or * (lower case, no trailing dot)
    source: str  # the policy name it comes from (.example.com, a service host, a dns_firewall entry)
    kind: str  # target | service | dns-only | carve-out
    origin: Origin


@dataclass(frozen=True)
class DnsFirewall:
    region: str
    name: str
    block_response: str
    alert_first: bool
    vpcs: tuple[str, ...]
    priority: int
    mutation_protection: bool
    trust_redirection: bool
    allowed: tuple[DnsName, ...]
    blocked: tuple[DnsName, ...]
    one_layer: tuple[str, ...]  # names only one layer admits, as sentences
    pos: Position

    @property
    def final_action(self) -> str:
        return "ALERT" if self.alert_first else "BLOCK"


def declared(lp: LoadedPolicy, spec: RegionSpec) -> bool:
    return lp.policy.dns_firewall is not None or spec.dns_firewall is not None


def dns_domains(name: str) -> list[str]:
    """A policy name in DNS Firewall's syntax: `.example.com` -> example.com and *.example.com."""
    bare = name.lstrip(".").lower().rstrip(".")
    return [bare, f"*.{bare}"] if name.startswith(".") else [bare]


def resolve(
    lp: LoadedPolicy,
    region: str,
    spec: RegionSpec,
    targets: list,
    services: list[ResolvedService],
    problems: list[Diagnostic],
) -> DnsFirewall | None:
    """The region's DNS Firewall, or None when the policy declares none. Problems are appended."""
    top, own = lp.policy.dns_firewall, spec.dns_firewall
    if top is None and own is None:
        return None
    merged: dict = dict(DEFAULTS)
    where: dict[str, tuple] = {}
    for path, layer in ((("dns_firewall",), top), (("regions", region, "dns_firewall"), own)):
        if layer is None:
            continue
        for key, value in layer.model_dump(exclude_unset=True).items():
            merged[key], where[key] = value, path
    root = ("regions", region, "dns_firewall") if own is not None else ("dns_firewall",)
    pos = lp.doc.key_at(*root)
    if not merged.get("name"):
        problems.append(Diagnostic(pos, f"dns_firewall for {region} needs a 'name'"))
        return None
    if getattr(lp.policy, "engine", "classic") == "next-gen":  # never a dropped setting
        problems.append(Diagnostic(pos, "dns_firewall is not supported with engine: next-gen yet; use engine: classic"))
        return None
    allowed: list[DnsName] = []
    for t in targets:
        allowed += [DnsName(d, t.name, "target", t.origins[0]) for d in dns_domains(t.name)]
    one_layer: list[str] = []
    for s in services:
        if s.ips is None or s.origin.feature:
            allowed.append(DnsName(s.host, s.host, "service", s.origin))
        else:
            one_layer.append(
                f"{s.label}: Network Firewall passes it by address ({', '.join(s.ips)}); DNS Firewall does not "
                "resolve it (a service given by ips needs no DNS; add it to dns_firewall.allow if clients "
                "connect by name)"
            )
    for i, name in enumerate(merged["allow"]):
        o = Origin(lp.doc.at(*where["allow"], "allow", i))
        allowed += [DnsName(d, name, "dns-only", o) for d in dns_domains(name)]
        one_layer.append(f"{name}: resolves (dns_firewall.allow at {o.pos}); Network Firewall does not allow it")
    blocked: list[DnsName] = []
    for i, name in enumerate(merged["block"]):
        o = Origin(lp.doc.at(*where["block"], "block", i))
        clash = _needed(name, targets, services)
        if clash:
            problems.append(Diagnostic(o.pos, f"dns_firewall.block '{name}' would block {clash}; remove it"))
            continue
        blocked += [DnsName(d, name, "carve-out", o) for d in dns_domains(name)]
        if any(matches(t.name, name.lstrip(".")) for t in targets):  # else the final rule blocks it anyway
            one_layer.append(
                f"{name}: Network Firewall allows it, DNS Firewall blocks it (dns_firewall.block at {o.pos})"
            )
    return DnsFirewall(
        region,
        merged["name"],
        merged["block_response"],
        merged["alert_first"],
        tuple(merged["vpcs"]),
        merged["priority"],
        merged["mutation_protection"],
        merged["trust_redirection"],
        tuple(_unique(allowed)),
        tuple(_unique(blocked)),
        tuple(one_layer),
        pos,
    )


def _needed(block: str, targets: list, services: list[ResolvedService]) -> str | None:
    """What a carve-out would block that the policy needs: a feature's name (any part of it), an exact
    `allow` name, or a service's host. A carve-out below a user's own wildcard is allowed (and reported)."""
    for t in targets:
        apex = t.name.lstrip(".")
        feature = next((o.feature for o in t.origins if o.feature), None)
        inside = t.name.startswith(".") and matches(t.name, block.lstrip("."))
        if feature and (matches(block, apex) or inside):
            return f"{t.name}, which feature '{feature}' needs ({t.origins[0].pos})"
        if not t.name.startswith(".") and matches(block, apex):
            return f"{t.name}, allowed at {t.origins[0].pos}"
        if t.name.startswith(".") and matches(block, apex):
            return f"all of {t.name}, allowed at {t.origins[0].pos}"
    for s in services:
        if matches(block, s.host):
            why = f"feature '{s.origin.feature}'" if s.origin.feature else "service"
            return f"{s.host}, which {why} needs ({s.origin.pos})"
    return None


def _unique(names: list[DnsName]) -> list[DnsName]:
    seen: dict[str, DnsName] = {}
    for n in names:
        seen.setdefault(n.domain, n)
    return sorted(seen.values(), key=lambda n: n.domain)
