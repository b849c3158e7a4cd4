"""Resolve stage, egress part: per region, the egress mode, the services strict egress lets through, and the
firewall policy as declared (top level, overridden key by key by the region)."""

from __future__ import annotations

from dataclasses import dataclass

from rulec.compile.origin import Origin
from rulec.errors import Diagnostic, Position
from rulec.load.policy import LoadedPolicy, RegionSpec


DNS_GROUP_ID = "${DnsFirewallRuleGroupId}"  # the DNS Firewall rule group push manages (it substitutes the id)


@dataclass(frozen=True)
class ResolvedService:
    """A non-HTTP destination: matched by `ips`, or (ips None) by the Route 53 resolved domain of `host`."""

    host: str
    port: int
    protocol: str  # TCP | UDP
    ips: tuple[str, ...] | None
    origin: Origin

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}/{self.protocol.lower()}"


@dataclass(frozen=True)
class Validation:
    """Route53ResolvedIPValidation as declared."""

    action: str  # ALERT | DROP | REJECT
    group_id: str
    expiry: str  # DROP | REJECT | CONTINUE
    sources: tuple[str, ...]
    pos: Position


@dataclass(frozen=True)
class DeclaredPolicy:
    """The firewall policy a region's groups attach to, as the YAML declares it."""

    name: str
    description: str | None
    home_net: tuple[str, ...]
    stream_exception_policy: str | None
    validation: Validation | None
    pos: Position


def egress_mode(lp: LoadedPolicy, spec: RegionSpec) -> str:
    if lp.policy.engine == "next-gen":  # drop by default: strict by construction (compile/nextgen.py)
        return "strict"
    return spec.egress or lp.policy.egress


def declared_policy(lp: LoadedPolicy, region: str, spec: RegionSpec, problems: list[Diagnostic]):
    """Merge the top-level `firewall_policy` with the region's override, key by key; None when neither exists."""
    top, own = lp.policy.firewall_policy, spec.firewall_policy
    if top is None and own is None:
        return None
    merged: dict = {}
    for layer in (top, own):
        if layer is None:
            continue
        for key, value in layer.model_dump(exclude_unset=True).items():
            if key == "resolved_ip_validation" and isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value

    def pos(*path: str) -> Position:
        own_path = ("regions", region, "firewall_policy", *path)
        if own is not None and (own_path in lp.doc.values or own_path in lp.doc.keys):
            return lp.doc.key_at(*own_path)
        return lp.doc.key_at("firewall_policy", *path) if top is not None else lp.doc.key_at(*own_path)

    if not merged.get("name"):
        problems.append(Diagnostic(pos(), f"firewall_policy for {region} needs a 'name'"))
        return None
    home = tuple(merged.get("home_net") or spec.home_net)
    validation = None
    v = merged.get("resolved_ip_validation")
    if v is not None:
        if not v.get("dns_firewall_rule_group_id") and (lp.policy.dns_firewall or spec.dns_firewall):
            v = {**v, "dns_firewall_rule_group_id": DNS_GROUP_ID}  # the DNS Firewall push manages; it fills the id
        if not v.get("dns_firewall_rule_group_id"):
            problems.append(
                Diagnostic(
                    pos("resolved_ip_validation"),
                    "resolved_ip_validation needs 'dns_firewall_rule_group_id' (rslvr-frg-...) or a dns_firewall for "
                    "rulec to manage: Network Firewall counts an address as resolved only in VPCs associated with "
                    "that DNS Firewall rule group",
                )
            )
            return None
        validation = Validation(
            v["action"],
            v["dns_firewall_rule_group_id"],
            v.get("dns_expiry_exception_policy", "DROP"),
            tuple(v.get("source_ip_ranges") or home),
            pos("resolved_ip_validation"),
        )
    return DeclaredPolicy(
        merged["name"], merged.get("description"), home, merged.get("stream_exception_policy"), validation, pos()
    )


def services(
    lp: LoadedPolicy,
    region: str,
    spec: RegionSpec,
    catalog_services: list[tuple[str, int, Origin]],
    validation: Validation | None,
    strict: bool,
    problems: list[Diagnostic],
) -> list[ResolvedService]:
    """Declared services (top level, then the region's) and the catalog's non-HTTP entries.

    An explicit service supersedes a catalog entry with the same host and port (that is how a user gives
    the metastore's addresses); two explicit ones are an error. In strict mode a service without `ips`
    needs resolved-IP validation to be matchable at all."""
    out: dict[tuple[str, int, str], ResolvedService] = {}
    for path, items in ((("services",), lp.policy.services), (("regions", region, "services"), spec.services)):
        for i, s in enumerate(items):
            key = (s.host, s.port, s.protocol)
            here = lp.doc.at(*path, i)
            if key in out:
                problems.append(
                    Diagnostic(
                        here,
                        f"service {s.host}:{s.port} ({s.protocol}) is declared twice; first at {out[key].origin.pos}",
                    )
                )
                continue
            out[key] = ResolvedService(s.host, s.port, s.protocol, tuple(s.ips) if s.ips else None, Origin(here))
    for host, port, origin in catalog_services:
        out.setdefault((host, port, "TCP"), ResolvedService(host, port, "TCP", None, origin))
    result = list(out.values())
    if strict and validation is None:
        for s in result:
            if s.ips is None:
                via = f" (feature '{s.origin.feature}')" if s.origin.feature else ""
                problems.append(
                    Diagnostic(
                        s.origin.pos,
                        f"service {s.host}:{s.port}{via} cannot be matched in {region} under egress: strict: give "
                        f"its addresses with a service entry {{host: {s.host}, port: {s.port}, ips: [CIDR, ...]}}, "
                        "or declare firewall_policy.resolved_ip_validation so it matches by Route 53 resolved domain",
                    )
                )
    return result
