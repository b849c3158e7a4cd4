"""Attribution: which catalog feature would allow each blocked name, in its region, and what to propose.

A name a feature explains proposes that feature (with the catalog entry and its source). A name nothing
explains is listed for review, never proposed by itself; only when at least N distinct subdomains of one
registrable domain (Public Suffix List, private section included) were seen is a wildcard over that domain
proposed. Whether a proposal is safe is decided afterwards by lint (rulec.learn.evaluate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rulec.compile.ir import RegionPlan
from rulec.compile.resolve import Origin, feature_targets
from rulec.errors import Position, RulecError
from rulec.learn.logs import MAX_CLIENTS, Observations, Seen
from rulec.load.catalog import Catalogs
from rulec.load.domains import BadName, Matcher, normalize, public_suffix_list
from rulec.load.policy import LoadedPolicy


@dataclass(frozen=True)
class FeatureHit:
    feature: str
    target: str
    entry: str
    where: str  # catalog file:line:col
    source: str
    reviewed: str


@dataclass
class Name:
    region: str
    name: str
    seen: Seen
    status: str  # allowed | feature | unexplained | invalid
    features: list[FeatureHit] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # lint findings if it were allowed by itself
    errors: bool = False
    wildcard: str | None = None  # the proposed wildcard that covers it
    reason: str = ""  # why it is invalid


@dataclass
class Proposal:
    kind: str  # feature | wildcard
    value: str
    regions: list[str]
    everywhere: bool  # goes to the policy-wide list (it is proposed for every region of the policy)
    names: list[Name]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors and (self.kind == "feature" or not self.warnings)

    @property
    def hits(self) -> int:
        return sum(n.seen.hits for n in self.names)

    @property
    def path(self) -> tuple[str, ...]:
        key = "features" if self.kind == "feature" else "allow"
        return (key,) if self.everywhere else ("regions", self.regions[0], key)


def merge(a: Seen, b: Seen) -> Seen:
    out = Seen(a.hits + b.hits)
    out.first = min((x for x in (a.first, b.first) if x is not None), default=None)
    out.last = max((x for x in (a.last, b.last) if x is not None), default=None)
    out.clients = set(sorted(a.clients | b.clients)[:MAX_CLIENTS])
    out.more_clients = a.more_clients or b.more_clients or len(a.clients | b.clients) > MAX_CLIENTS
    out.protocols = a.protocols | b.protocols
    if a.unique_sources is not None or b.unique_sources is not None:
        out.unique_sources = max(a.unique_sources or 0, b.unique_sources or 0)  # sources overlap: no sum
    return out


def by_region(obs: Observations, plans: list[RegionPlan], region: str | None) -> tuple[dict, list[str]]:
    """region -> {name: Seen}. The availability zone says the region; `region` (--region) names it for events
    without one (bare EVE) and limits learn to itself; a policy with one region is the last resort."""
    known = {p.region for p in plans}
    sole = next(iter(known)) if len(known) == 1 else None
    out: dict[str, dict[str, Seen]] = {}
    notes: list[str] = []
    lost: dict[str, int] = {}
    for (zone_region, name), seen in sorted(obs.names.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        r = zone_region or region or sole
        if r not in known or region not in (None, r):
            key = r or "no region"
            lost[key] = lost.get(key, 0) + 1
            continue
        names = out.setdefault(r, {})
        names[name] = merge(names[name], seen) if name in names else seen
    for r, count in sorted(lost.items()):
        if r == "no region":
            notes.append(f"{count} name(s) have no availability zone to give their region: pass --region")
        elif r in known:
            notes.append(f"{count} name(s) were seen in {r}, outside --region {region}: not attributed")
        else:
            notes.append(f"{count} name(s) were seen in {r}, which the policy does not have: not attributed")
    return out, notes


def feature_index(cats: Catalogs, region: str) -> list[tuple[str, Matcher, dict[str, Origin]]]:
    """Every catalog feature that resolves in `region`: its name, a matcher over its targets, their origins."""
    out = []
    for feature in sorted(cats.features.features):
        try:
            targets = feature_targets(cats, region, feature, Position("learn"))
        except RulecError:
            continue  # a partial region without the fact this feature needs
        origins: dict[str, Origin] = {}
        for t, o in targets:
            origins.setdefault(t, o)
        out.append((feature, Matcher(list(origins)), origins))
    return out


def _hit(feature: str, target: str, o: Origin) -> FeatureHit:
    e = o.entry
    return FeatureHit(feature, target, e.label, str(o.entry_pos), e.source, e.reviewed.isoformat())


def classify(lp: LoadedPolicy, plans: list[RegionPlan], cats: Catalogs, seen: dict) -> list[Name]:
    out = []
    for plan in plans:
        names = seen.get(plan.region)
        if not names:
            continue
        spec = lp.policy.regions[plan.region]
        active = set(lp.policy.features) | set(spec.features)
        allowed = Matcher([t.name for t in plan.resolved.targets])
        index = [f for f in feature_index(cats, plan.region) if f[0] not in active]
        for raw, s in sorted(names.items()):
            try:
                name = normalize(raw)
                if name.startswith("."):
                    raise BadName(f"'{raw}' starts with a dot")
            except BadName as exc:
                out.append(Name(plan.region, raw, s, "invalid", reason=str(exc)))
                continue
            if allowed.match(name):
                out.append(Name(plan.region, name, s, "allowed"))
                continue
            hits = [_hit(f, t, origins[t]) for f, m, origins in index if (t := m.match(name))]
            out.append(Name(plan.region, name, s, "feature" if hits else "unexplained", hits))
    return out


def lookalike(name: str, targets: list[str]) -> str | None:
    """A name that imitates an allowed one (`evilpypi.org`, `pypi.org.attacker.example`), or None."""
    for t in targets:
        bare = t.lstrip(".")
        if name != bare and name.endswith(bare) and not name.endswith("." + bare):
            return f"'{name}' looks like {t} but is not below it: a look-alike"
        if name.startswith(bare + "."):
            return f"'{name}' starts with {bare} but is another domain: a suffix trick"
    return None


def proposals(names: list[Name], regions: list[str], min_subdomains: int) -> list[Proposal]:
    """Features for the names they explain; wildcards over registrable domains with enough subdomains."""
    psl = public_suffix_list()
    found: dict[tuple[str, str, str], list[Name]] = {}
    for n in names:
        if n.status == "feature":
            found.setdefault(("feature", n.features[0].feature, n.region), []).append(n)
    groups: dict[tuple[str, str], list[Name]] = {}
    for n in names:
        if n.status == "unexplained":
            domain = psl.privatesuffix(n.name)
            if domain:
                groups.setdefault((n.region, domain), []).append(n)
    for (region, domain), members in groups.items():
        if len({n.name for n in members if n.name != domain}) >= min_subdomains:
            found[("wildcard", "." + domain, region)] = members
    merged: dict[tuple[str, str], list[tuple[str, list[Name]]]] = {}
    for (kind, value, region), members in sorted(found.items()):
        merged.setdefault((kind, value), []).append((region, members))
    out = []
    for (kind, value), per_region in sorted(merged.items()):
        where = [r for r, _ in per_region]
        everywhere = len(regions) > 1 and sorted(where) == sorted(regions)
        members = [n for _, ms in per_region for n in ms]
        if everywhere:
            out.append(Proposal(kind, value, where, True, members))
        else:
            out.extend(Proposal(kind, value, [r], False, ms) for r, ms in per_region)
    return out
