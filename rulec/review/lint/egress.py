"""Lint checks for strict egress, services and the firewall policy (codes RC020-RC029)."""

from __future__ import annotations

import ipaddress
from typing import Iterable

from rulec.compile.ir import RESOLVED_DOMAIN
from rulec.review.lint import Check, Context, Finding


class ResolvedDomainWithoutValidation(Check):
    code, severity = "RC020", "error"
    summary = (
        "AWS_ROUTE_53_RESOLVED_DOMAIN (or a service matched by resolved domain) in a region whose firewall policy "
        "does not declare resolved_ip_validation: Network Firewall keeps those rules inactive."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        policy, doc = ctx.policy.policy, ctx.policy.doc
        for plan in ctx.plans:
            declared = plan.resolved.firewall_policy
            if declared is not None and declared.validation is not None:
                continue
            if RESOLVED_DOMAIN in policy.target_types:
                yield self.at(
                    doc.at("target_types", policy.target_types.index(RESOLVED_DOMAIN)),
                    f"{RESOLVED_DOMAIN} rules stay inactive in {plan.region} (ROUTE53_RESOLVED_IP_VALIDATION_MISSING) "
                    "unless the firewall policy enables resolved-IP validation: declare firewall_policy: "
                    "{name, resolved_ip_validation: {action: DROP, dns_firewall_rule_group_id: rslvr-frg-...}}",
                )


def _too_wide(cidr: str) -> str | None:
    net = ipaddress.ip_network(cidr)
    if net.prefixlen == 0:
        return "every address"
    if net.is_private:
        return None
    limit = 24 if net.version == 4 else 48
    if net.prefixlen < limit:
        return f"{net.num_addresses:,} public addresses (wider than /{limit})"
    return None


class ServiceOpenToTheInternet(Check):
    code, severity = "RC021", "error"
    summary = "A service whose `ips` cover 0.0.0.0/0 or a public range wider than /24 (IPv6: /48): an exit to anyone."

    def run(self, ctx: Context) -> Iterable[Finding]:
        seen = set()
        for plan in ctx.plans:
            for s in plan.resolved.services:
                for cidr in s.ips or ():
                    why = _too_wide(cidr)
                    if why and (s.origin.pos, cidr) not in seen:
                        seen.add((s.origin.pos, cidr))
                        yield self.origin(
                            s.origin,
                            f"service {s.label} is open to {cidr}, {why}: anything there can receive data on port "
                            f"{s.port}; list the service's own addresses, or omit `ips` to match its resolved name",
                        )


class ValidationFailsOpen(Check):
    code, severity = "RC022", "warning"
    summary = "resolved_ip_validation with dns_expiry_exception_policy CONTINUE: expired resolutions pass (fail-open)."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            d = plan.resolved.firewall_policy
            if d is not None and d.validation is not None and d.validation.expiry == "CONTINUE":
                yield self.at(
                    d.validation.pos,
                    f"dns_expiry_exception_policy CONTINUE in {plan.region}: once a resolution expires from the "
                    "cache, traffic to that address is no longer validated (fail-open); use DROP or REJECT",
                )


class ValidationOnlyAlerts(Check):
    code, severity = "RC023", "warning"
    summary = "resolved_ip_validation with action ALERT: spoofed or unresolved destinations are logged, not stopped."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            d = plan.resolved.firewall_policy
            if d is not None and d.validation is not None and d.validation.action == "ALERT":
                yield self.at(
                    d.validation.pos,
                    f"resolved_ip_validation action ALERT in {plan.region} only tags flows to addresses the "
                    "resolver never returned (in the flow log); use DROP or REJECT to stop them",
                )


class ServicesWithoutStrictEgress(Check):
    code, severity = "RC024", "warning"
    summary = "Services in a region with `egress: domains`: nothing is dropped there, so they change nothing."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            if plan.resolved.egress == "domains":
                for s in plan.resolved.services:
                    if s.origin.feature is None:
                        yield self.at(
                            s.origin.pos,
                            f"service {s.label} has no effect in {plan.region}: with egress: domains every "
                            "non-HTTP flow passes anyway; set egress: strict",
                        )


EGRESS = [
    ResolvedDomainWithoutValidation,
    ServiceOpenToTheInternet,
    ValidationFailsOpen,
    ValidationOnlyAlerts,
    ServicesWithoutStrictEgress,
]
