"""Lint checks for the DNS layer, Route 53 Resolver DNS Firewall (codes RC040-RC049)."""

from __future__ import annotations

from collections.abc import Iterable

from rulec.compile.egress import DNS_GROUP_ID
from rulec.review.lint import Check, Context, Finding


def _key(ctx: Context, region: str, *path: str):
    """The position of a dns_firewall key: the region's override when it sets it, else the top level's."""
    doc = ctx.policy.doc
    own = ("regions", region, "dns_firewall", *path)
    if own in doc.keys or own in doc.values:
        return doc.key_at(*own)
    top = ("dns_firewall", *path)
    if top in doc.keys or top in doc.values:
        return doc.key_at(*top)
    return doc.key_at(*(own[:3] if ctx.policy.policy.regions[region].dns_firewall else ("dns_firewall",)))


class RedirectionBreaksAwsNames(Check):
    code, severity = "RC040", "error"
    summary = (
        "trust_redirection: false (INSPECT_REDIRECTION_DOMAIN) while the DNS allowlist holds amazonaws.com names: "
        "their answers are CNAME chains (S3 buckets, RDS hosts) into names the list does not hold, so the VPC's "
        "own S3, RDS and AWS API names stop resolving."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            dns = plan.resolved.dns
            if dns is None or dns.trust_redirection:
                continue
            aws = sorted({n.source for n in dns.allowed if n.domain.endswith(".amazonaws.com")})
            if aws:
                yield self.at(
                    _key(ctx, plan.region, "trust_redirection"),
                    f"in {plan.region} the DNS Firewall inspects every CNAME in an answer, and {', '.join(aws[:3])}"
                    f"{' and more' if len(aws) > 3 else ''} answer with CNAMEs to names it does not allow: they "
                    "would not resolve. Remove trust_redirection: false (TRUST_REDIRECTION_DOMAIN)",
                )


class ServiceNameDoesNotResolve(Check):
    code, severity = "RC041", "warning"
    summary = (
        "A service given by `ips` whose name the DNS Firewall does not resolve: Network Firewall passes it by "
        "address, but a client that connects by name (a JDBC URL, an NTP pool name) gets no answer."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            dns = plan.resolved.dns
            if dns is None:
                continue
            resolvable = {n.source for n in dns.allowed} | {n.domain for n in dns.allowed}
            for s in plan.resolved.services:
                if s.ips and not s.origin.feature and s.host not in resolvable:
                    if any(n.domain.startswith("*.") and s.host.endswith(n.domain[1:]) for n in dns.allowed):
                        continue
                    yield self.origin(
                        s.origin,
                        f"{s.host} does not resolve through DNS Firewall {dns.name} in {plan.region}: Network Firewall "
                        "passes it by address only; add it to dns_firewall.allow if clients connect by name",
                    )


class AlertOnly(Check):
    code, severity = "RC042", "warning"
    summary = "alert_first: the DNS layer blocks nothing yet (a first rollout); turn it off once the alerts are clean."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            dns = plan.resolved.dns
            if dns is not None and dns.alert_first:
                yield self.at(
                    _key(ctx, plan.region, "alert_first"),
                    f"DNS Firewall {dns.name} only alerts in {plan.region}: every name still resolves",
                )


class ValidationWithoutVpcs(Check):
    code, severity = "RC043", "error"
    summary = (
        "resolved_ip_validation uses the DNS Firewall rulec manages, which is associated with no VPC: Network "
        "Firewall counts no address as resolved and validation drops every flow to a name."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            dns, declared = plan.resolved.dns, plan.resolved.firewall_policy
            v = declared.validation if declared else None
            if dns is not None and v is not None and v.group_id == DNS_GROUP_ID and not dns.vpcs:
                yield self.at(
                    _key(ctx, plan.region, "vpcs"),
                    f"in {plan.region}, resolved-IP validation ({v.action}) depends on DNS Firewall {dns.name}, "
                    "which has no vpcs: list the spoke VPCs in dns_firewall.vpcs",
                )


class OneLayerOnly(Check):
    code, severity = "RC044", "info"
    summary = "Names only one layer admits: DNS-only names (dns_firewall.allow) and carve-outs (dns_firewall.block)."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            dns = plan.resolved.dns
            if dns is None:
                continue
            for n in (*dns.allowed, *dns.blocked):
                if n.kind == "dns-only" and not n.domain.startswith("*."):
                    yield self.at(n.origin.pos, f"{n.source} resolves but Network Firewall drops TLS/HTTP to it")
                elif (
                    n.kind == "carve-out"
                    and not n.domain.startswith("*.")
                    and any(line.startswith(f"{n.source}: Network") for line in dns.one_layer)
                ):
                    yield self.at(n.origin.pos, f"{n.source} is allowed by Network Firewall but does not resolve")


class WorkspaceAwsNamesBlocked(Check):
    code, severity = "RC045", "warning"
    summary = (
        "A Databricks workspace VPC (feature `workspace`) whose DNS Firewall does not resolve the regional STS and "
        "Kinesis names: clusters call them (through the firewall or VPC endpoints, whose names resolve through the "
        "same resolver) and fail to start."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        from rulec.verify.dns_model import decide

        for plan in ctx.plans:
            dns = plan.resolved.dns
            if dns is None or dns.alert_first:
                continue
            if not any(o.feature == "workspace" for t in plan.resolved.targets for o in t.origins):
                continue
            missing = [
                name
                for name in (f"sts.{plan.region}.amazonaws.com", f"kinesis.{plan.region}.amazonaws.com")
                if not decide(dns, name).resolves
            ]
            if missing:
                yield self.at(
                    _key(ctx, plan.region),
                    f"DNS Firewall {dns.name} blocks {', '.join(missing)} in {plan.region}, which Databricks "
                    "clusters call even through VPC endpoints: add the features sts and kinesis, or the names to "
                    "dns_firewall.allow (and your root bucket's S3 names if S3 goes through a gateway endpoint)",
                )


DNS = [
    RedirectionBreaksAwsNames,
    ServiceNameDoesNotResolve,
    AlertOnly,
    ValidationWithoutVpcs,
    OneLayerOnly,
    WorkspaceAwsNamesBlocked,
]
