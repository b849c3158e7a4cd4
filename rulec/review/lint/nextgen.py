"""Lint checks for `engine: next-gen` (codes RC030-RC039): the traps of a drop-by-default firewall engine.

The default action applies at every hook a flow passes. An application-layer rule therefore only runs when the
TCP layer (carrier rules) and every earlier hook of its protocol were accepted; otherwise the default drops the
flow first, which for a drop rule "looks like it worked" and for an accept rule blocks what should pass."""

from __future__ import annotations

from collections.abc import Iterable

from rulec.compile.nextgen import FIREWALL_CAPACITY, FirewallRule
from rulec.review.lint import Check, Context, Finding

# The hooks of one direction of a protocol, in the order a flow passes them (botocore HookKey values)
SEQUENCES = (
    ("TLS_CLIENT_", ("STARTED", "HELLO", "CERT", "DATA", "FINISHED")),
    ("TLS_SERVER_", ("STARTED", "HELLO", "CERT", "DATA", "FINISHED")),
    ("HTTP1_REQUEST_", ("STARTED", "LINE", "HEADERS", "BODY", "TRAILER", "COMPLETE")),
    ("HTTP1_RESPONSE_", ("STARTED", "LINE", "HEADERS", "BODY", "TRAILER", "COMPLETE")),
    ("SMTP_REQUEST_", ("STARTED", "DATA", "COMPLETE")),
    ("SMTP_RESPONSE_", ("STARTED", "DATA", "COMPLETE")),
    ("SSH_REQUEST_", ("IN_PROGRESS", "BANNER_WAIT_EOL", "BANNER_DONE", "FINISHED")),
    ("SSH_RESPONSE_", ("IN_PROGRESS", "BANNER_WAIT_EOL", "BANNER_DONE", "FINISHED")),
)
TCP_APPS = ("TLS", "HTTP", "SSH", "SMTP", "FTP", "SMB", "DCERPC", "HTTP2", "DOH2", "POP3", "LDAP", "MQTT", "PGSQL")


def prior_hooks(hook: str) -> list[str]:
    """The hooks a flow passes before `hook` in the same protocol and direction (generic: STARTED before COMPLETE)."""
    for prefix, states in SEQUENCES:
        if hook.startswith(prefix) and hook[len(prefix) :] in states:
            return [prefix + s for s in states[: states.index(hook[len(prefix) :])]]
    if hook.endswith("_COMPLETE"):
        return [hook.removesuffix("_COMPLETE") + "_STARTED"]
    return []


def _ports(text: str) -> set[str]:
    return {p.strip() for p in text.strip("[]").split(",")}


def _carrier(rule: FirewallRule, to_server: bool) -> bool:
    if rule.hook != "TCP_ALL" or rule.action != "ACCEPT":
        return False
    return ("flow", "to_server" if to_server else "to_client") in rule.options


def _groups(ctx: Context):
    for plan in ctx.plans:
        if plan.nextgen is not None:
            for g in plan.nextgen.groups:
                yield plan, g


def _region_rules(plan) -> list[FirewallRule]:
    return [r for g in plan.nextgen.groups for r in g.rules]


class NextGenCheck(Check):
    def here(self, ctx: Context):
        return ctx.policy.doc.at("engine")


class PriorHooksNotAccepted(NextGenCheck):
    code, severity = "RC030", "error"
    summary = (
        "next-gen: an application-layer rule whose earlier hooks of the same protocol are not accepted: the default "
        "drops the flow first (a drop rule looks like it worked, an accept rule never matches)."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan, g in _groups(ctx):
            accepts = [r for r in _region_rules(plan) if r.action == "ACCEPT"]
            # hooks an accept rule accepts itself, or through AcceptPriorHooks
            accepted = {r.hook for r in accepts} | {h for r in accepts if r.accept_prior for h in prior_hooks(r.hook)}
            for rule in g.rules:
                if rule.accept_prior and rule.action == "ACCEPT":
                    continue
                missing = [h for h in prior_hooks(rule.hook) if h not in accepted]
                if missing:
                    yield self.at(
                        self.here(ctx),
                        f"{g.name} sid {rule.sid} ({rule.hook}) in {plan.region}: earlier hooks "
                        f"{', '.join(missing)} are not accepted, so the default action drops the flow before this "
                        "rule runs; accept them (accept:hook) or use AcceptPriorHooks on an accept rule",
                    )


class CarrierRules(NextGenCheck):
    code, severity = "RC031", "error"
    summary = "next-gen: an application-layer rule over TCP whose port no carrier rule (accept:hook tcp:all) accepts both ways."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan, g in _groups(ctx):
            rules = _region_rules(plan)
            out = [_ports(r.destination_port) for r in rules if _carrier(r, True)]
            back = [_ports(r.source_port) for r in rules if _carrier(r, False)]
            for rule in g.rules:
                if rule.protocol not in TCP_APPS or rule.source != "$HOME_NET":
                    continue
                port = _ports(rule.destination_port)
                ok = any(port <= c or "any" in c for c in out) and any(port <= c or "any" in c for c in back)
                if not ok:
                    yield self.at(
                        self.here(ctx),
                        f"{g.name} sid {rule.sid} ({rule.hook}, port {rule.destination_port}) in {plan.region}: no "
                        "carrier rule accepts the TCP layer of that port in both directions, so the default drops "
                        "the flow before the application layer is seen",
                    )


class CarrierTooWide(NextGenCheck):
    code, severity = "RC032", "warning"
    summary = "next-gen: a carrier rule wider than the ports of the allowed names: it accepts the TCP layer of ports nothing inspects."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan, g in _groups(ctx):
            rules = _region_rules(plan)
            used = set().union(*(_ports(r.destination_port) for r in rules if r.protocol in TCP_APPS))
            for rule in g.rules:
                for to_server in (True, False):
                    if not _carrier(rule, to_server):
                        continue
                    ports = _ports(rule.destination_port if to_server else rule.source_port)
                    if "any" in ports or not ports <= used:
                        yield self.at(
                            self.here(ctx),
                            f"{g.name} sid {rule.sid} in {plan.region}: carrier over ports {', '.join(sorted(ports))} "
                            f"wider than the inspected ports {', '.join(sorted(used)) or '(none)'}",
                        )


class FirewallCapacity(NextGenCheck):
    code, severity = "RC033", "warning"
    summary = f"next-gen: FIREWALL groups of a region reserving more than the {FIREWALL_CAPACITY:,} rules of the firewall engine."

    def run(self, ctx: Context) -> Iterable[Finding]:
        for plan in ctx.plans:
            ng = plan.nextgen
            if ng is None:
                continue
            total = sum(g.capacity for g in ng.groups)
            if total > FIREWALL_CAPACITY or ng.rule_count > FIREWALL_CAPACITY:
                yield self.at(
                    ctx.policy.doc.key_at("regions", plan.region),
                    f"{plan.region}'s FIREWALL groups reserve {total:,} capacity for {ng.rule_count:,} rules; a Next "
                    f"Generation policy's firewall engine holds {FIREWALL_CAPACITY:,}; set smaller explicit capacities",
                )


class DeniedByDefault(NextGenCheck):
    code, severity = "RC034", "info"
    summary = (
        "next-gen: deny_protocols add no rule; the firewall default action already drops them (verify probes each)."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        if ctx.policy.policy.engine != "next-gen":
            return
        for i, p in enumerate(ctx.policy.policy.deny_protocols):
            yield self.at(
                ctx.policy.doc.at("deny_protocols", i),
                f"{p} needs no rule with engine: next-gen: FirewallDefaultAction DROP drops it unless an allowed name "
                "or service accepts it; rulec emits nothing for it and verify probes that it drops",
            )


class MonitorMode(NextGenCheck):
    code, severity = "RC035", "warning"
    summary = (
        "next-gen: firewall_policy.mode monitor: the policy blocks nothing (a first step for a new firewall only)."
    )

    def run(self, ctx: Context) -> Iterable[Finding]:
        doc = ctx.policy.doc
        for plan in ctx.plans:
            if plan.nextgen is not None and plan.nextgen.mode == "MONITOR":
                own = ("regions", plan.region, "firewall_policy", "mode")
                pos = doc.at(*own) if own in doc.values else doc.at("firewall_policy", "mode")
                yield self.at(
                    pos,
                    f"mode monitor in {plan.region}: nothing is blocked, every flow is only logged; use it to watch a "
                    "new firewall before enforce, never as a rollback",
                )


NEXTGEN = [PriorHooksNotAccepted, CarrierRules, CarrierTooWide, FirewallCapacity, DeniedByDefault, MonitorMode]
