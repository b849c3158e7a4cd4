"""Compile stage, strict egress: the rules that drop whatever the domain list does not decide, and the
services' pass rules. One group, default action order (pass > drop > reject > alert), so a domain-list
`pass` for an allowed name always outranks these drops on the packet where it matches.

Why these rules (measured on Suricata 7.0.10 and 8.0.8, see the README's "Strict egress"):
- A plain `drop tcp ... (flow:established,to_server;)` drops the first segment of a ClientHello split across
  two segments (post-quantum key shares make them ~1.8 KB): the allowed name's `pass` can only match once the
  whole ClientHello is there. So the TCP drops wait for the application layer: one drops every detected
  protocol that no domain list inspects, one drops flows whose protocol detection found nothing.
- HTTP without a Host header and HTTP/2 in clear text are HTTP to the engine but carry no Host to check.
- A SYN may carry data (TCP Fast Open) before any handshake completes.
- UDP (DNS to outside resolvers, QUIC) and every other IP protocol (ICMP, GRE, ...) are dropped outright.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from rulec.compile.egress import ResolvedService

HOME, EXTERNAL = "$HOME_NET", "$EXTERNAL_NET"
TO_SERVER = ("flow", "established,to_server")
APP_PROTOCOL = {"TLS_SNI": "tls", "HTTP_HOST": "http"}


@dataclass(frozen=True)
class RuleSpec:
    """A strict-egress or service rule before it has a SID."""

    key: str
    action: str
    protocol: str
    destination: str
    destination_port: str
    options: tuple[tuple[str, str | None], ...]
    match: str
    note: str
    min_suricata: int = 7


def strict_rules(target_types: tuple[str, ...]) -> list[RuleSpec]:
    """The drops of strict egress for a region whose domain list inspects `target_types`."""
    web = [APP_PROTOCOL[t] for t in target_types if t in APP_PROTOCOL]
    rules = [
        RuleSpec(
            "strict:tcp-other-protocols",
            "DROP",
            "TCP",
            EXTERNAL,
            "Any",
            (TO_SERVER, *(("app-layer-protocol", f"!{p}") for p in web)),
            "tcp-other:" + ",".join(web),
            "TCP whose application protocol no domain list inspects (SSH, DNS over TCP, SMTP, ...)"
            if web
            else "all TCP: no domain list inspects TLS or HTTP",
        )
    ]
    if web:
        rules.append(
            RuleSpec(
                "strict:tcp-undetected",
                "DROP",
                "TCP",
                EXTERNAL,
                "Any",
                (TO_SERVER, ("app-layer-protocol", "unknown")),
                "tcp-undetected",
                "TCP that is no known protocol: raw bytes, non-TLS on 443, MySQL to any address",
                min_suricata=8,
            )
        )
    if "http" in web:
        rules.append(
            RuleSpec(
                "strict:http2-cleartext",
                "DROP",
                "TCP",
                EXTERNAL,
                "Any",
                (TO_SERVER, ("app-layer-protocol", "http2")),
                "http2-cleartext",
                "HTTP/2 without TLS (h2c): no Host header for the domain list to check",
            )
        )
        rules.append(
            RuleSpec(
                "strict:http-without-host",
                "DROP",
                "HTTP",
                EXTERNAL,
                "Any",
                (TO_SERVER, ("http.host", None), ("absent", None)),
                "http-without-host",
                "HTTP requests without a Host header (HTTP/1.0): the domain list cannot match them",
                min_suricata=8,
            )
        )
    rules += [
        RuleSpec(
            "strict:tcp-syn-payload",
            "DROP",
            "TCP",
            EXTERNAL,
            "Any",
            (("flags", "S,CE"), ("dsize", ">0")),
            "tcp-syn-payload",
            "data in a SYN (TCP Fast Open) leaves before any rule sees a handshake",
        ),
        RuleSpec("strict:udp", "DROP", "UDP", EXTERNAL, "Any", (), "udp", "UDP: DNS to outside resolvers, QUIC, ..."),
        RuleSpec(
            "strict:other-ip-protocols",
            "DROP",
            "IP",
            EXTERNAL,
            "Any",
            (("ip_proto", "!6"), ("ip_proto", "!17")),
            "ip-other",
            "every IP protocol but TCP and UDP: ICMP, GRE, ESP, ...",
        ),
    ]
    return rules


def service_rules(services: list[ResolvedService]) -> list[RuleSpec]:
    """A pass per service and address block, or one matching by Route 53 resolved domain without `ips`."""
    out = []
    for s in services:
        flow = (("flow", "to_server"),) if s.protocol == "TCP" else ()
        base = f"service:{s.protocol.lower()}:{s.host}:{s.port}"
        if s.ips is None:
            out.append(
                RuleSpec(
                    base,
                    "PASS",
                    s.protocol,
                    EXTERNAL,
                    str(s.port),
                    (*flow, ("aws_route_53_resolved_domain", f'"{s.host}"')),
                    f"service-resolved:{s.host}",
                    f"service {s.label} by Route 53 resolved domain ({s.origin.pos})",
                )
            )
            continue
        out.extend(
            RuleSpec(
                f"{base}:{cidr}",
                "PASS",
                s.protocol,
                cidr,
                str(s.port),
                flow,
                "service",
                f"service {s.label} ({s.origin.pos})",
            )
            for cidr in s.ips
        )
    return out


def complement(cidrs: tuple[str, ...]) -> tuple[str, ...]:
    """Every address outside `cidrs` (IPv4 and IPv6) as CIDR blocks: the group's own EXTERNAL_NET, so strict
    rules never depend on the HOME_NET of the firewall policy that happens to reference the group."""
    out: list[str] = []
    for version, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        remaining = [ipaddress.ip_network(everything)]
        for net in sorted(
            (n for n in map(ipaddress.ip_network, cidrs) if n.version == version), key=lambda n: n.num_addresses
        ):
            nxt = []
            for block in remaining:
                if net.subnet_of(block):
                    nxt.extend(block.address_exclude(net))
                elif not block.subnet_of(net):
                    nxt.append(block)
            remaining = nxt
        out.extend(str(n) for n in sorted(ipaddress.collapse_addresses(remaining)))
    return tuple(out)
