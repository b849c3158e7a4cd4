"""Why would Network Firewall pass or drop a host (or HOST:PORT)? The engine model decides (the one `verify`
holds against Suricata); this module names the deciding target or rule and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from rulec.compile.ir import DomainListGroup, RegionPlan
from rulec.compile.resolve import Origin
from rulec.errors import RulecError
from rulec.load.domains import BadName, normalize
from rulec.verify import dns_model, model
from rulec.verify.world import World

TYPE_PROTOCOL = {"TLS_SNI": ("TLS", "tls", 443), "HTTP_HOST": ("HTTP", "http", 80)}


@dataclass
class Verdict:
    protocol: str  # TLS, HTTP, TCP/UDP for a service port, or a denied protocol (SSH) on that port
    verdict: str  # pass | drop | uninspected
    reason: str
    origins: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counted: bool = True  # False: shown for reference (a denied protocol's client), not in the exit code


def origin_text(o: Origin) -> str:
    if o.feature is None or o.entry is None:
        return f"allow entry at {o.pos}"
    reviewed = o.entry.reviewed.isoformat()
    return (
        f"feature '{o.feature}' at {o.pos}: catalog entry {o.entry.label} at {o.entry_pos} "
        f"(source {o.entry.source}, reviewed {reviewed})"
    )


def parse_host(text: str) -> tuple[str, int | None]:
    """HOST or HOST:PORT as typed on the command line."""
    host, port = text, None
    if "/" in text:  # a URL: let the name rules say what to write instead
        try:
            normalize(text)
        except BadName as exc:
            raise RulecError(str(exc)) from None
    if text.count(":") == 1:
        host, raw = text.split(":")
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise RulecError(f"'{text}': the port must be a number from 1 to 65535")
        port = int(raw)
    try:
        name = normalize(host)
    except BadName as exc:
        raise RulecError(str(exc)) from None
    if name.startswith("."):
        raise RulecError(f"'{host}' is a wildcard; explain takes a host name such as 'files.pythonhosted.org'")
    return name, port


def explain(text: str, plan: RegionPlan) -> list[Verdict]:
    if plan.nextgen is not None:  # engine: next-gen: accepted by a firewall rule, or dropped by default
        from rulec.review.explain_nextgen import explain as explain_nextgen

        return explain_nextgen(text, plan)
    name, port = parse_host(text)
    world = World.for_plan(plan)
    other_port = port is not None and port not in (80, 443)
    out = []
    for ttype, (label, app, default_port) in TYPE_PROTOCOL.items():
        if port is not None and not other_port and port != default_port:
            continue  # :443 asks about TLS, :80 about HTTP; another port about both, and raw TCP/UDP
        flow = world.flow(app, name, port if other_port else default_port)
        decision = model.decide(plan.groups, flow, world.context())
        out.append(_verdict(label, ttype, name, decision, plan))
    if other_port:
        out += [_service(name, port, plan, world, proto) for proto in ("TCP", "UDP")]
        out += [
            _denied_app(name, port, plan, world, proto)
            for proto in plan.resolved.deny_protocols
            if proto in UDP_APPS or proto in TCP_APPS
        ]
    if plan.resolved.dns is not None:  # the DNS layer's verdict next to the TLS/HTTP one
        verdict, reason, origins = dns_model.explain(plan.resolved.dns, name)
        out.append(Verdict("DNS", verdict, reason, origins))
    return out


def _verdict(label: str, ttype: str, name: str, d: model.Decision, plan: RegionPlan) -> Verdict:
    if d.verdict == "uninspected":
        return Verdict(
            label,
            "uninspected",
            f"no rule matches {label} to {name}: the flow passes the rule groups (no domain list inspects "
            f"{ttype}; the firewall policy's default action decides)",
        )
    group = next((g for g in plan.groups if g.name == d.group), None)
    if not isinstance(group, DomainListGroup):
        where = f"{d.group} sid {d.sid}" if d.group else "the firewall policy"
        return Verdict(label, d.verdict, f"{where}: {d.why}")
    target = d.why.split(" ", 1)[1] if d.why.startswith(ttype + " ") else None
    if target is None:
        v = Verdict(
            label,
            d.verdict,
            f"no target matches; {group.name}'s default drop "
            f'(sid {d.sid} in {group.name}.rules: "not matching any {label} allowlisted FQDNs")',
        )
        v.notes = _near_misses(name, group.targets)
        return v
    how = "exactly" if target == name else ("at the apex" if target[1:] == name else "as a subdomain")
    v = Verdict(label, d.verdict, f"matches {target} {how} ({group.name}, sid {d.sid} in {group.name}.rules)")
    t = next(t for t in plan.resolved.targets if t.name == target)
    v.origins = [origin_text(o) for o in t.origins]
    v.notes = [
        f"{c.name} ({c.reason}) was written at {c.origin.pos}"
        for c in plan.resolved.collapsed
        if c.into == target and c.name != target
    ]
    return v


def _service(name: str, port: int, plan: RegionPlan, world: World, proto: str) -> Verdict:
    service = next(
        (s for s in plan.resolved.services if s.host == name and s.port == port and s.protocol == proto), None
    )
    flow = world.service_flow(service, name, port, proto)
    d = model.decide(plan.groups, flow, world.context())
    if d.verdict == "uninspected":
        reason = f"no rule matches {proto} to {name}:{port}: it passes the rule groups"
        if plan.resolved.egress == "domains":
            reason += " (egress: domains filters only TLS and HTTP names; egress: strict closes this)"
        return Verdict(proto, "uninspected", reason)
    reason = f"{d.group} sid {d.sid}: {d.why}" if d.group else d.why
    v = Verdict(proto, d.verdict, reason)
    if service is not None:
        o = service.origin
        v.origins = [origin_text(o) if o.feature else f"service entry at {o.pos}"]
    return v


# the application protocols deny_protocols names that a client speaks on a port of its own (TLS and HTTP are
# answered above), and the transport each is modelled on
TCP_APPS = ("SSH", "FTP", "SMB", "SMTP", "IMAP", "DCERPC", "MSN", "DNS", "KRB5")
UDP_APPS = ("QUIC", "IKEV2", "TFTP", "NTP", "DHCP")


def _denied_app(name: str, port: int, plan: RegionPlan, world: World, proto: str) -> Verdict:
    """A client of a denied protocol (`deny_protocols: [SSH]`) to HOST:PORT: what the engine does with it."""
    udp = proto in UDP_APPS
    flow = model.Flow(
        "udp" if udp else "tcp",
        model.APP_PROTOCOLS[proto],
        world.address(name),
        port,
        world.client,
        ip_proto=17 if udp else 6,
    )
    d = model.decide(plan.groups, flow, world.context())
    note = [f"a client of {proto}, which deny_protocols names; shown for reference, not in the exit code"]
    if d.verdict == "uninspected":
        reason = f"no rule matches {proto} to {name}:{port}: it passes the rule groups"
        return Verdict(proto, "uninspected", reason, notes=note, counted=False)
    return Verdict(proto, d.verdict, f"{d.group} sid {d.sid}: {d.why}" if d.group else d.why, notes=note, counted=False)


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


def render(results: list[tuple[str, list[Verdict]]], host: str, format: str = "text") -> str:
    """explain's answer as text (a line per region and protocol, with origins and notes) or JSON."""
    if format == "json":
        import json

        data = [{"region": r, "host": host, "verdicts": [v.__dict__ for v in vs]} for r, vs in results]
        return json.dumps(data, indent=2)
    lines = []
    for region, verdicts in results:
        for v in verdicts:
            lines.append(f"{region} {v.protocol} {host}: {v.verdict.upper()}: {v.reason}")
            lines += [f"    from {o}" for o in v.origins]
            lines += [f"    note: {n}" for n in v.notes]
    return "\n".join(lines)
