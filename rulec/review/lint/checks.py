"""The lint checks. Codes are stable: add new ones, never renumber."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Iterable

from rulec.compile.ir import DROPPED_BY
from rulec.compile.plan import pool_note
from rulec.compile.resolve import Origin
from rulec.load.domains import matches, public_suffix_list
from rulec.review.lint import Check, Context, Finding
from rulec.review.lint.dns import DNS
from rulec.review.lint.egress import EGRESS
from rulec.review.lint.nextgen import NEXTGEN
from rulec.review.lint.waivers import WaiverProblem

# Names that stand for storage anyone can write to. A target that equals a shared endpoint, or a
# wildcard that matches any of these, lets data leave to buckets the organisation does not own.
_FOREIGN = "rulec-foreign-bucket"
STORAGE_PROBES = {
    "Amazon S3": (
        "s3.amazonaws.com",
        f"{_FOREIGN}.s3.amazonaws.com",
        "s3.{region}.amazonaws.com",
        f"{_FOREIGN}.s3.{{region}}.amazonaws.com",
        f"{_FOREIGN}.s3-accesspoint.{{region}}.amazonaws.com",
        f"{_FOREIGN}.s3.dualstack.{{region}}.amazonaws.com",
    ),
    "Azure Storage": (f"{_FOREIGN}.blob.core.windows.net", f"{_FOREIGN}.dfs.core.windows.net"),
    "Google Cloud Storage": ("storage.googleapis.com", f"{_FOREIGN}.storage.googleapis.com"),
    "Cloudflare R2": (f"{_FOREIGN}.r2.cloudflarestorage.com",),
    "DigitalOcean Spaces": (f"{_FOREIGN}.nyc3.digitaloceanspaces.com",),
    "Backblaze B2": (f"{_FOREIGN}.s3.us-west-004.backblazeb2.com",),
}
CDN_PROBES = {
    "CloudFront": "d1abcdefghijkl.cloudfront.net",
    "Akamai": "rulec.akamaized.net",
    "Azure CDN": "rulec.azureedge.net",
    "Fastly": "rulec.global.ssl.fastly.net",
    "Cloudflare": "rulec.cdn.cloudflare.net",
    "Google user content": "rulec.googleusercontent.com",
}
WORKSPACE_WIDE = (
    ".cloud.databricks.com",
    ".databricks.com",
    ".cloud.databricks.us",
    ".cloud.databricks.mil",
    ".databricksapps.com",
)
WHAT_IT_DROPS = {
    "TCP": "every TLS and HTTP connection",
    "IP": "all traffic",
}


@dataclass(frozen=True)
class Entry:
    """One name as written (in `allow` or through a feature), whether or not it survived merging."""

    name: str
    origin: Origin

    @property
    def non_http_port(self) -> int | None:
        e = self.origin.entry
        return e.port if e is not None and e.non_http else None


def _a(noun: str) -> str:
    return ("an " if noun[0] in "AEIOU" else "a ") + noun


def _entries(ctx: Context) -> list[tuple[str, Entry]]:
    """(region, Entry) for every name the policy writes, merged duplicates and covered names included (derived
    once per lint run: most checks walk them)."""
    if "entries" not in ctx.memo:
        ctx.memo["entries"] = list(_each_entry(ctx))
    return ctx.memo["entries"]


def _each_entry(ctx: Context) -> Iterable[tuple[str, Entry]]:
    for plan in ctx.plans:
        merged = {id(c.origin) for c in plan.resolved.collapsed if c.name != c.into}  # wrote another name
        for target in plan.resolved.targets:
            for origin in target.origins:
                if id(origin) not in merged:
                    yield plan.region, Entry(target.name, origin)
        for c in plan.resolved.collapsed:
            yield plan.region, Entry(c.name, c.origin)


def _first_probe_hit(region: str) -> dict[str, tuple[str, str]]:
    """target -> the first (service, name) of STORAGE_PROBES it matches: the exact name and the wildcard on each
    of its suffixes, so a look-up replaces matching every target against every probe."""
    out: dict[str, tuple[str, str]] = {}
    for svc, names in STORAGE_PROBES.items():
        for n in names:
            name = n.format(region=region)
            labels = name.split(".")
            for target in (name, *("." + ".".join(labels[i:]) for i in range(len(labels)))):
                out.setdefault(target, (svc, name))
    return out


class OpenStorage(Check):
    code, severity = "RC001", "error"
    summary = (
        "Names that open storage anyone can write to: the global S3 name, wildcards over S3 or "
        "`.amazonaws.com`, other clouds' blob endpoints, CDN wildcards."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        by_region: dict[str, dict[str, tuple[str, str]]] = {}
        for region, t in _entries(ctx):
            if region not in by_region:  # once per region: every target that matches a probe, first probe first
                by_region[region] = _first_probe_hit(region)
            hit = by_region[region].get(t.name)
            if hit:
                service, name = hit
                how = "is" if t.name == name else f"matches {name},"
                yield self.origin(
                    t.origin,
                    f"'{t.name}' {how} {_a(service)} endpoint shared by every account; "
                    f"allow your own buckets by name (<bucket>.s3.{region}.amazonaws.com)",
                    target=t.name,
                    region=region,
                )
                continue
            cdn = next(
                (cdn for cdn, probe in CDN_PROBES.items() if t.name.startswith(".") and matches(t.name, probe)), None
            )
            if cdn:
                yield self.origin(
                    t.origin,
                    f"'{t.name}' opens every {cdn} distribution, anyone's; allow the exact host names you need",
                    target=t.name,
                    region=region,
                )


class PublicSuffixWildcard(Check):
    code, severity = "RC002", "error"
    summary = "Wildcards on a public suffix (Public Suffix List, both sections): anyone can register below them."

    def run(self, ctx: Context) -> Iterable[Finding]:
        wildcards = [(region, t) for region, t in _entries(ctx) if t.name.startswith(".")]
        # loaded only when there is a wildcard to look up, and only the rules of the wildcards' TLDs
        psl = public_suffix_list(frozenset(t.name.rpartition(".")[2] for _, t in wildcards)) if wildcards else None
        for region, t in wildcards:
            if psl.is_public(t.name[1:]):
                yield self.origin(
                    t.origin,
                    f"'{t.name}' is a wildcard on the public suffix '{t.name[1:]}': "
                    "anyone can register a name below it; list exact names",
                    target=t.name,
                    region=region,
                )


class WorkspaceWide(Check):
    code, severity = "RC003", "warning"
    summary = "`.cloud.databricks.com` and similar reach every Databricks workspace, including other accounts'."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for region, t in _entries(ctx):
            if t.name in WORKSPACE_WIDE or any(t.name.startswith(".") and w.endswith(t.name) for w in WORKSPACE_WIDE):
                yield self.origin(
                    t.origin,
                    f"'{t.name}' reaches every Databricks workspace, including ones "
                    "outside your account; allow your workspace URLs and the `workspace` "
                    "feature instead",
                    target=t.name,
                    region=region,
                )


class Covered(Check):
    code, severity = "RC004", "info"
    summary = "Names listed twice or already covered by a wildcard (merged; they cost nothing but review time)."

    def run(self, ctx: Context) -> Iterable[Finding]:
        repeated: dict[tuple, list[str]] = {}
        for plan in ctx.plans:
            for c in plan.resolved.collapsed:
                if c.origin.feature is not None:
                    repeated.setdefault((c.origin.pos, c.origin.feature), []).append(c.name)
                    continue
                what = "is listed more than once" if c.name == c.into else f"is covered by {c.into}"
                yield self.origin(c.origin, f"'{c.name}' {what}; remove it")
        for (pos, feature), names in repeated.items():
            shown = ", ".join(sorted(set(names)))
            yield self.at(pos, f"feature '{feature}' repeats names that are already allowed ({shown})")


class StaleCatalogEntry(Check):
    code, severity = "RC005", "warning"
    summary = "Catalog entries not reviewed for a long time (default 365 days, `--max-age`)."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for region, t in _entries(ctx):
            e = t.origin.entry
            if e is not None and (ctx.today - e.reviewed).days > ctx.max_age_days:
                yield self.origin(
                    t.origin,
                    f"'{t.name}' comes from a catalog entry last reviewed on {e.reviewed} "
                    f"(over {ctx.max_age_days} days ago); re-check its source",
                    target=t.name,
                    region=region,
                )


class HomeNet(Check):
    code, severity, max_severity = "RC006", "warning", "error"
    summary = "HOME_NET problems: duplicates, overlapping blocks, public (non-private) ranges."

    def run(self, ctx: Context) -> Iterable[Finding]:
        doc = ctx.policy.doc
        for region, spec in ctx.policy.policy.regions.items():
            nets = [ipaddress.ip_network(c) for c in spec.home_net]
            for i, net in enumerate(nets):
                pos = doc.at("regions", region, "home_net", i)
                for j, other in enumerate(nets[:i]):
                    if net == other:
                        yield self.at(
                            pos, f"{net} is listed twice in {region}'s home_net; remove one", None, str(net), region
                        )
                        break
                    if net.overlaps(other):
                        yield self.at(
                            pos,
                            f"{net} overlaps {other} (home_net item {j + 1}); keep the larger one",
                            None,
                            str(net),
                            region,
                        )
                        break
                if not net.is_private:
                    yield self.at(
                        pos,
                        f"{net} is not a private range: everything in it counts as HOME_NET, and "
                        "EXTERNAL_NET (the internet) shrinks accordingly",
                        "error",
                        str(net),
                        region,
                    )


class NotRestricted(Check):
    code, severity = "RC007", "info"
    summary = (
        "What a domain list leaves open: non-HTTP/TLS egress (raw TCP, UDP, DNS) passes it, and so does "
        "TLS or HTTP when its target type is left out."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        policy, doc = ctx.policy.policy, ctx.policy.doc
        loose = [p.region for p in ctx.plans if p.resolved.egress == "domains"]
        if not loose:
            return
        where = f" in {', '.join(loose)}" if len(loose) < len(ctx.plans) else ""
        denied = set(policy.deny_protocols)
        open_ = [p for p in ("TCP", "UDP") if not denied & DROPPED_BY[p]]
        if open_:
            pos = doc.key_at("deny_protocols") if "deny_protocols" in doc.data else doc.key_at("version")
            yield self.at(
                pos,
                f"a domain list only sees TLS SNI and HTTP Host: other {' and '.join(open_)} egress{where} passes "
                "(raw TCP, DNS to outside resolvers, QUIC, non-TLS bytes on 443); fix: egress: strict, which drops "
                "everything the groups do not allow except declared services (see `rulec verify`)",
            )
        for ttype, what in (("TLS_SNI", "HTTPS/TLS"), ("HTTP_HOST", "plain HTTP")):
            if ttype not in policy.target_types and not denied & DROPPED_BY[ttype]:
                pos = doc.at("target_types") if "target_types" in doc.data else doc.key_at("version")
                yield self.at(
                    pos,
                    f"target_types leaves out {ttype}: {what} to any name passes the domain list{where}; add "
                    f"{ttype}, or set egress: strict to drop it",
                    "warning",
                )


class NonHttpName(Check):
    code, severity = "RC008", "warning"
    summary = "Allowlisted names of non-HTTP services (the MySQL metastore): a domain list has no effect on them."

    def run(self, ctx: Context) -> Iterable[Finding]:
        strict = {p.region for p in ctx.plans if p.resolved.egress == "strict"}
        for region, t in _entries(ctx):
            port = t.non_http_port
            if port is not None and region not in strict:
                yield self.origin(
                    t.origin,
                    f"'{t.name}' serves port {port}, which is not HTTP or TLS: the "
                    "domain list cannot match it and traffic there is decided by the "
                    "firewall policy's default action; fix: egress: strict with the service's "
                    "addresses (services: [{host, port, ips}]), or move off the legacy Hive metastore "
                    "(Unity Catalog)",
                    target=t.name,
                    region=region,
                )


class DenyBreaksAllowlist(Check):
    code, severity = "RC009", "error"
    summary = (
        "A denied protocol that drops allowlisted traffic, as the engine decides: TCP and IP always; TLS and HTTP "
        "when a ClientHello or request spans two segments."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        from rulec.verify import model
        from rulec.verify.world import World

        policy = ctx.policy.policy
        for plan in ctx.plans:
            if not plan.resolved.targets:
                continue
            world = World.for_plan(plan)
            name = plan.resolved.targets[0].name.lstrip(".")
            for ttype, app, port in (("TLS_SNI", "tls", 443), ("HTTP_HOST", "http", 80)):
                if ttype not in policy.target_types:
                    continue
                for split in (False, True):
                    flow = replace(world.flow(app, name, port), split=split)
                    d = model.decide(plan.groups, flow, world.context())
                    deny = next(
                        (g for g in plan.groups if g.name == d.group and getattr(g, "role", "") == "deny"), None
                    )
                    if d.verdict != "drop" or deny is None:
                        continue
                    rule = next(r for r in deny.rules if r.sid == d.sid)
                    how = (
                        f"a {app.upper()} {'ClientHello' if app == 'tls' else 'request'} that spans two TCP segments "
                        "(post-quantum key shares make ClientHellos ~1.8 KB) before its name is checked"
                        if split
                        else f"{WHAT_IT_DROPS.get(rule.protocol, 'allowed traffic')} before any name is checked"
                    )
                    yield self.at(
                        ctx.policy.doc.at("deny_protocols", policy.deny_protocols.index(rule.protocol)),
                        f"denying {rule.protocol} drops {how} ({app.upper()} to {name} drops in {plan.region}), so "
                        "the allowlist cannot be relied on; drop it from deny_protocols (egress: strict drops what "
                        "the allowlist does not pass)",
                        target=rule.protocol,
                        region=plan.region,
                    )
                    break


class CapacityPool(Check):
    code, severity = "RC010", "warning"
    summary = "Groups of a region reserving more than a firewall policy's default 30,000 stateful capacity."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            note = pool_note(plan.groups, f"{plan.region}'s groups")
            if note is not None:
                yield self.at(ctx.policy.doc.key_at("regions", plan.region), note)


class SingleLabelName(Check):
    code, severity = "RC011", "warning"
    summary = "Exact names with a single label (`intranet`): they match no public host and are usually typos."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for region, t in _entries(ctx):
            if "." not in t.name.lstrip("."):
                yield self.origin(
                    t.origin, f"'{t.name}' has a single label; did you mean a full name?", target=t.name, region=region
                )


# after the classes above, which names.py builds on
from rulec.review.lint.names import ExfiltrationService, MixedScript, UploadEndpoint, WholeScript

ALL = [
    OpenStorage,
    PublicSuffixWildcard,
    WorkspaceWide,
    Covered,
    StaleCatalogEntry,
    HomeNet,
    NotRestricted,
    NonHttpName,
    DenyBreaksAllowlist,
    CapacityPool,
    SingleLabelName,
    MixedScript,
    ExfiltrationService,
    UploadEndpoint,
    WaiverProblem,
    WholeScript,
    *EGRESS,
    *NEXTGEN,
    *DNS,
]
assert len({c.code for c in ALL}) == len(ALL)
