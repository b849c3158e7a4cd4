"""Probes for the exfiltration paths a domain list leaves open: what strict egress must drop, the services it
must let through, SNI/Host spoofing, east-west traffic. In `egress: domains` the same paths are probed and
reported as open (a warning, never hidden)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from rulec.compile.ir import RESOLVED_DOMAIN, DomainListGroup, RegionPlan
from rulec.verify.probes import OUTSIDER, Probe
from rulec.verify.world import home_host

DNS_QUERY = bytes.fromhex("123401000001000000000000") + b"\x06secret\x07example\x03com\x00\x00\x01\x00\x01"
QUIC_INITIAL = b"\xc3\x00\x00\x00\x01\x08" + bytes(8) + b"\x00" + b"q" * 1180
MYSQL_LOGIN = b"\x20\x00\x00\x01" + b"\x85\xa6\x3f\x20" + b"\x00" * 28
H2C_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")
HTTP10_NO_HOST = b"GET /exfil?data=secret HTTP/1.0\r\n\r\n"
DNS_OVER_TCP = len(DNS_QUERY).to_bytes(2, "big") + DNS_QUERY
NEVER_RESOLVED = "unresolved"  # marker: a destination address the resolver never returned


def _expect(strict: bool) -> str:
    return "drop" if strict else "open"


def _types(plan: RegionPlan) -> tuple[str, ...]:
    lists = [g for g in plan.groups if isinstance(g, DomainListGroup)]
    return lists[0].target_types if lists else ()


def exfiltration_paths(plan: RegionPlan) -> list[Probe]:
    """Raw TCP, non-TLS on 443, MySQL anywhere, DoT, UDP (DNS, QUIC), ICMP, GRE, data in a SYN, HTTP without
    Host, HTTP/2 in clear text: dropped under strict egress, reported open under `egress: domains`."""
    strict = plan.resolved.egress == "strict"
    why = "" if strict else ": egress: domains does not restrict it (egress: strict does)"
    e = _expect(strict)
    probes = [
        Probe("tcp", None, 4444, e, f"raw TCP{why}"),
        Probe("tcp", None, 443, e, f"non-TLS bytes on 443{why}", payload=b"PLAIN secret bytes on 443\n"),
        Probe("tcp", None, 3306, e, f"MySQL to an address no service names{why}", payload=MYSQL_LOGIN),
        Probe("tcp", None, 53, e, f"DNS over TCP to an outside resolver{why}", payload=DNS_OVER_TCP),
        Probe("syn", None, 4444, e, f"data in a SYN (TCP Fast Open){why}", payload=b"secret in a SYN"),
        Probe("udp", None, 5000, e, f"UDP{why}"),
        Probe("udp", None, 53, e, f"DNS to an outside resolver{why}", payload=DNS_QUERY),
        Probe("udp", None, 443, e, f"QUIC (UDP 443){why}", payload=QUIC_INITIAL),
        Probe("ip", None, 47, e, f"GRE (IP protocol 47){why}"),
    ]
    types = _types(plan)
    if strict:
        probes.append(Probe("icmp", None, 0, "drop", "ICMP (strict egress)"))
        probes.append(Probe("ssh", None, 22, "drop", "SSH (strict egress)"))
    if "TLS_SNI" in types:
        probes.append(Probe("tls", "", 443, "drop", "TLS without SNI"))
        probes.append(Probe("tls", "dns.google", 853, "drop", "DNS over TLS to an outside resolver"))
    if "HTTP_HOST" in types:
        probes.append(Probe("http", None, 80, e, f"HTTP/1.0 without a Host header{why}", http_raw=HTTP10_NO_HOST))
        probes.append(Probe("tcp", None, 80, e, f"HTTP/2 in clear text (h2c){why}", payload=H2C_PREFACE))
    if strict and not any(ipaddress.ip_address(OUTSIDER) in ipaddress.ip_network(c) for c in plan.resolved.home_net):
        # scope checks: strict egress applies to HOME_NET only, so the same traffic from a client outside it must
        # pass the rules untouched (a client outside HOME_NET is out of reach: see the TLS probe reported open)
        probes += [
            replace(p, expect="pass", source=OUTSIDER, why=f"scope check: {p.why} from a client outside HOME_NET")
            for p in probes
            if p.expect == "drop" and p.kind != "icmp" and not p.host
        ]
    return probes


def services(plan: RegionPlan) -> list[Probe]:
    """Each declared service must pass; under strict egress, its port elsewhere must not."""
    out = []
    for s in plan.resolved.services:
        kind = "udp" if s.protocol == "UDP" else "tcp"
        payload = MYSQL_LOGIN if s.port == 3306 else b"rulec-verify service\n"
        if plan.resolved.egress != "strict":
            continue
        if s.ips:
            net = ipaddress.ip_network(s.ips[0])
            dst = str(net.network_address + (1 if net.num_addresses > 2 else 0))
            out.append(Probe(kind, None, s.port, "pass", f"service {s.label} at {dst}", dst=dst, payload=payload))
        else:
            out.append(Probe(kind, s.host, s.port, "pass", f"service {s.label} by resolved domain", payload=payload))
    return out


def spoofing(plan: RegionPlan, allowed_name: str | None) -> list[Probe]:
    """An allowed SNI/Host sent to a wrong address: one the resolver returned for an unlisted name (only the
    resolved-domain target type drops it), and one it never returned (the policy-level check drops it)."""
    if allowed_name is None:
        return []
    types = _types(plan)
    kinds = [k for t, k in (("TLS_SNI", "tls"), ("HTTP_HOST", "http")) if t in types]
    declared = plan.resolved.firewall_policy
    validation = declared.validation if declared else None
    blocks = validation is not None and validation.action in ("DROP", "REJECT")
    anded = RESOLVED_DOMAIN in types
    out = []
    for kind in kinds[:1]:
        port = 443 if kind == "tls" else 80
        how = "" if anded else ": only AWS_ROUTE_53_RESOLVED_DOMAIN stops it"
        out.append(
            Probe(
                kind,
                allowed_name,
                port,
                "drop" if anded else "open",
                f"spoofed {kind.upper()} name: an address the resolver returned for google.com{how}",
                dst="resolved:google.com",
            )
        )
        how = "" if anded or blocks else ": only resolved-IP validation or AWS_ROUTE_53_RESOLVED_DOMAIN stops it"
        out.append(
            Probe(
                kind,
                allowed_name,
                port,
                "drop" if anded or blocks else "open",
                f"spoofed {kind.upper()} name: an address the resolver never returned{how}",
                dst=NEVER_RESOLVED,
            )
        )
    return out


def east_west(plan: RegionPlan) -> list[Probe]:
    """Between HOME_NET blocks: not EXTERNAL_NET, out of reach of egress rules (reported open, with the reason)."""
    home = [h for h in map(home_host, plan.resolved.home_net) if h]
    types = _types(plan)
    if len(home) < 2 or "TLS_SNI" not in types:
        return []
    dst = str(ipaddress.ip_address(home[1]) + 1)
    return [
        Probe(
            "tls",
            "google.com",
            443,
            "open",
            "east-west between HOME_NET blocks: not EXTERNAL_NET, out of reach of egress rules",
            dst=dst,
        )
    ]


def all_paths(plan: RegionPlan) -> list[Probe]:
    lists = [g for g in plan.groups if isinstance(g, DomainListGroup)]
    names = [t.lstrip(".") for g in lists for t in g.targets]
    return exfiltration_paths(plan) + services(plan) + spoofing(plan, names[0] if names else None) + east_west(plan)
