"""Resolve stage: policy + catalogs -> per region, the ordered, de-duplicated targets and their origins.

Order is declaration order (policy-wide features, policy-wide allow, then the region's features and
allow), so the output reads like the policy. Duplicates and names a wildcard already covers collapse
into the surviving target; each collapse is recorded with its reason, because it saves capacity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rulec.compile import dns, egress
from rulec.compile.dns import DnsFirewall
from rulec.compile.egress import DeclaredPolicy, ResolvedService
from rulec.compile.origin import Origin
from rulec.errors import Diagnostic, Position, RulecError
from rulec.load.catalog import Catalogs
from rulec.load.domains import Matcher
from rulec.load.policy import LoadedPolicy


@dataclass(slots=True)
class Target:
    name: str
    origins: list[Origin] = field(default_factory=list)

    @property
    def non_http_ports(self) -> list[int]:
        return sorted({o.entry.port for o in self.origins if o.entry is not None and o.entry.non_http})


@dataclass(frozen=True, slots=True)
class Collapse:
    name: str
    into: str  # surviving target (same name for an exact duplicate)
    origin: Origin

    @property
    def reason(self) -> str:
        return "duplicate" if self.name == self.into else f"covered by {self.into}"


@dataclass
class ResolvedRegion:
    region: str
    home_net: list[str]
    targets: list[Target]
    collapsed: list[Collapse]
    deny_protocols: list[str]
    egress: str = "domains"  # domains | strict
    services: list[ResolvedService] = field(default_factory=list)
    firewall_policy: DeclaredPolicy | None = None
    inspection_cidr: str | None = None
    dns: DnsFirewall | None = None  # Route 53 Resolver DNS Firewall (compile/dns.py)


def resolve(lp: LoadedPolicy, catalogs: Catalogs) -> list[ResolvedRegion]:
    """Resolve every region of the policy; all problems are collected and raised together."""
    problems: list[Diagnostic] = []
    out = []
    known_features = catalogs.features.features
    known_regions = set(catalogs.region_names())
    for region, spec in lp.policy.regions.items():
        if region not in known_regions:
            problems.append(
                Diagnostic(
                    lp.doc.key_at("regions", region),
                    f"unknown region '{region}'; the catalogs know: {', '.join(sorted(known_regions))}",
                )
            )
            continue
        raw: list[tuple[str, Origin]] = []
        scopes = (
            (("features",), lp.policy.features, ("allow",), lp.policy.allow),
            (("regions", region, "features"), spec.features, ("regions", region, "allow"), spec.allow),
        )
        for fpath, features, apath, allow in scopes:
            for i, feature in enumerate(features):
                pos = lp.doc.at(*fpath, i)
                if feature not in known_features:
                    problems.append(Diagnostic(pos, unknown_feature(feature, known_features)))
                    continue
                try:
                    raw.extend(feature_targets(catalogs, region, feature, pos))
                except RulecError as exc:
                    problems.extend(exc.diagnostics)
            raw.extend((name, Origin(lp.doc.at(*apath, i))) for i, name in enumerate(allow))
        mode = egress.egress_mode(lp, spec)
        declared = egress.declared_policy(lp, region, spec, problems)
        from_catalog = []
        if mode == "strict":  # a catalog host with a non-HTTP port is a service, not a name to inspect
            from_catalog = [(n, o.entry.port, o) for n, o in raw if o.entry is not None and o.entry.non_http]
            raw = [(n, o) for n, o in raw if o.entry is None or not o.entry.non_http]
        validation = declared.validation if declared else None
        found = egress.services(lp, region, spec, from_catalog, validation, mode == "strict", problems)
        targets, collapsed = collapse(raw)
        out.append(
            ResolvedRegion(
                region,
                list(spec.home_net),
                targets,
                collapsed,
                list(lp.policy.deny_protocols),
                mode,
                found,
                declared,
                spec.inspection_cidr,
            )
        )
        out[-1].dns = dns.resolve(lp, region, spec, targets, found, problems)
    if problems:
        raise RulecError(problems)
    return out


def unknown_feature(feature: str, known: Iterable[str]) -> str:
    """'unknown feature' with the known list and, for a slip such as `PyPI` or `hive_metastore`, the fix."""
    known = sorted(known)
    import difflib  # here: only a misspelling needs it (start-up)

    close = difflib.get_close_matches(feature.strip().lower().replace("_", "-").replace(" ", "-"), known, 1, 0.6)
    hint = f"; did you mean '{close[0]}'? known" if close else "; known"
    return f"unknown feature '{feature}'{hint}: {', '.join(known)}"


def feature_targets(catalogs: Catalogs, region: str, feature: str, pos: Position) -> list[tuple[str, Origin]]:
    spec = catalogs.features.features[feature]
    fdoc = catalogs.features_doc
    out = [
        (t, Origin(pos, feature, e, fdoc.at("features", feature, "names", i)))
        for i, e in enumerate(spec.names)
        for t in e.targets(region)
    ]
    if not spec.facts:
        return out
    cat = catalogs.region(region)
    rdoc = catalogs.region_doc(region)
    for kind in spec.facts:
        entries = cat.facts.get(kind)
        if not entries:
            state = "a partial region" if cat.completeness == "partial" else "a complete region: fix the catalog"
            raise RulecError(
                [
                    Diagnostic(
                        pos,
                        f"feature '{feature}' needs '{kind}', which the catalog has no "
                        f"entry for in {region} ({state}); allow the names yourself",
                    )
                ]
            )
        out.extend(
            (t, Origin(pos, feature, e, rdoc.at("facts", kind, i)))
            for i, e in enumerate(entries)
            for t in e.targets(region)
        )
    return out


def collapse(raw: list[tuple[str, Origin]]) -> tuple[list[Target], list[Collapse]]:
    """Merge duplicates and drop names a wildcard in the same list covers; keep declaration order."""
    first: dict[str, Target] = {}
    collapsed: list[Collapse] = []
    for name, origin in raw:
        if name in first:
            first[name].origins.append(origin)
            collapsed.append(Collapse(name, name, origin))
        else:
            first[name] = Target(name, [origin])
    wildcards = Matcher([n for n in first if n.startswith(".")])
    kept, covered = [], []
    for name, target in first.items():
        cover = wildcards.match(name.lstrip("."))  # the broadest wildcard covering it, maybe itself
        if cover is None or cover == name:
            kept.append(target)
            continue
        first[cover].origins.extend(target.origins)
        covered.extend(Collapse(name, cover, o) for o in target.origins)
    # a covered name's every writing is reported once, as covered, not also as a duplicate of the first
    gone = {c.name for c in covered}
    return kept, [c for c in collapsed if c.name not in gone] + covered
