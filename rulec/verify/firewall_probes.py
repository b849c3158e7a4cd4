"""Which probes verify sends through a next-gen (firewall-engine) policy.

The firewall engine drops by default, so nothing is left "open": every allowed name and declared service must
pass (ClientHellos of ~1.8 KB split across two segments and HTTP requests split across two included), and
everything else must drop: unlisted names, look-alikes, the global S3 name and a foreign bucket, raw TCP,
non-TLS bytes on 443, a ClientHello without SNI, an allowed name on another port, UDP 53/443/5000, SSH,
FTP, ICMP, clients outside HOME_NET, and each protocol in deny_protocols (dropped by the default action).
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from dataclasses import replace

from rulec.load.domains import Matcher
from rulec.verify import paths
from rulec.verify.probes import Probe

PORTS = {"tls": 443, "http": 80, "ssh": 22, "ftp": 21, "tcp": 4444, "udp": 5000, "icmp": 0}
KIND_OF_TYPE = {"TLS_SNI": "tls", "HTTP_HOST": "http"}
KIND_OF_PROTOCOL = {"FTP": "ftp", "SSH": "ssh", "ICMP": "icmp", "TCP": "tcp", "UDP": "udp", "IP": "tcp"}
KIND_OF_PROTOCOL.update({"TLS": "tls", "HTTP": "http", "DNS": "udp", "QUIC": "udp"})
EXFIL = (
    ("google.com", "unlisted domain"),
    ("s3.amazonaws.com", "global S3 endpoint"),
    ("exfil-bucket-rulec.s3.amazonaws.com", "foreign S3 bucket (global endpoint)"),
)
SPLIT_SIZE = 1800  # bytes of a post-quantum ClientHello (ML-KEM key share)
OUTSIDER = "192.0.2.10"


def _probe(kind, host, port, expect, why, source=None, shape="", dst=None) -> Probe:
    """A probe of verify's own kind, its packets shaped by `shape`: split (a padded ClientHello or a request cut
    in two segments), nosni, bytes (non-TLS bytes), dns (a DNS query), quic (a QUIC-like datagram)."""
    extra: dict = {}
    if shape == "split":
        extra = {"pad": SPLIT_SIZE, "split": SPLIT_SIZE // 2} if kind == "tls" else {"split": 20}
    elif shape == "bytes":
        extra = {"payload": b"\x00\x01rulec-verify raw bytes, no protocol\r\n"}
    elif shape == "dns":
        extra = {"payload": dns_query(host or "example.com")}
    elif shape == "quic":
        extra = {"payload": b"\xc3\x00\x00\x00\x01" + bytes(40)}
    return Probe(kind, host, port, expect, why, source=source, dst=dst, **extra)


def _nonce(text: str) -> str:
    return "p" + hashlib.sha256(text.encode()).hexdigest()[:8]


def derive(plan) -> list[Probe]:
    ng, r = plan.nextgen, plan.resolved
    kinds = [KIND_OF_TYPE[t] for t in KIND_OF_TYPE if any(g.role == "allowlist" for g in ng.groups) and t in _types(ng)]
    targets = [t.name for t in r.targets]
    matcher = Matcher(targets)
    out: list[Probe] = []
    for t in targets:
        bare = t.lstrip(".")
        for kind in kinds:
            port = PORTS[kind]
            if t.startswith("."):
                out += [_probe(kind, bare, port, "pass", f"apex of {t}")]
                out += [_probe(kind, f"{_nonce(t)}.{bare}", port, "pass", f"subdomain of {t}")]
            else:
                out.append(_probe(kind, bare, port, "pass", "allowed name"))
            looks = [
                (f"evil{bare}", f"prefix look-alike of {t}"),
                (f"{bare}.attacker.example", f"suffix look-alike of {t}"),
            ]
            if not t.startswith("."):
                looks.append((f"{_nonce(t)}.{bare}", f"subdomain of {t} (allowed exactly)"))
            out += [_probe(kind, h, port, "drop", why) for h, why in looks if matcher.match(h) is None]
    first = next((t.lstrip(".") for t in targets), None)
    for kind in kinds:
        out += [_probe(kind, h, PORTS[kind], "drop", why) for h, why in EXFIL]
        bucket = f"exfil-bucket-rulec.s3.{plan.region}.amazonaws.com"
        out.append(_probe(kind, bucket, PORTS[kind], "drop", "foreign S3 bucket (regional endpoint)"))
        if first:
            what = f"{SPLIT_SIZE}-byte ClientHello" if kind == "tls" else "request"
            out.append(_probe(kind, first, PORTS[kind], "pass", f"{what} split over 2 segments", shape="split"))
            other = 8443 if kind == "tls" else 8080
            out.append(
                _probe(kind, first, other, "drop", f"allowed name on port {other}: carriers cover {PORTS[kind]} only")
            )
            out.append(_probe(kind, first, PORTS[kind], "drop", "client outside HOME_NET", source=OUTSIDER))
    if "tls" in kinds:
        out.append(
            _probe(
                "tls",
                "evil.example",
                443,
                "drop",
                f"{SPLIT_SIZE}-byte ClientHello for an unlisted name, split",
                shape="split",
            )
        )
        out.append(_probe("tls", "", 443, "drop", "ClientHello without SNI"))
        if first and first != first.upper():
            out.append(
                _probe("tls", first.upper(), 443, "pass", "allowed name in upper case (SNI is case-insensitive)")
            )
    # every exfiltration path drops under a drop-by-default engine, also from clients outside HOME_NET (Classic's
    # HOME_NET-scoped strict rules let those through; its "scope check" probes expect a pass)
    for p in paths.exfiltration_paths(plan):
        out.append(
            p if p.expect == "drop" else replace(p, expect="drop", why=f"{p.why} (next-gen: dropped by default)")
        )
    out += [
        _probe("tcp", None, 853, "drop", "raw TCP to 853 (DNS over TLS port)"),
        _probe("ftp", None, 21, "drop", "FTP"),
        _probe("ssh", None, 443, "drop", "SSH on 443 (carriers accept its TCP layer; the default drops its hooks)"),
    ]
    if "tls" in kinds:
        out.append(Probe("tcp", None, 443, "drop", "HTTP/2 in clear text (h2c) on 443", payload=paths.H2C_PREFACE))
    if "http" in kinds:
        out.append(Probe("http", None, 80, "drop", "HTTP/1.0 without a Host header", http_raw=paths.HTTP10_NO_HOST))
        out.append(Probe("tcp", None, 80, "drop", "HTTP/2 in clear text (h2c)", payload=paths.H2C_PREFACE))
    for s in r.services:
        for cidr in s.ips or ():
            net = ipaddress.ip_network(cidr)
            dst = str(net.network_address + (1 if net.num_addresses > 2 else 0))
            kind = s.protocol.lower()
            out.append(_probe(kind, s.host, s.port, "pass", f"service {s.label}", dst=dst))
            out.append(_probe(kind, None, s.port, "drop", f"port of service {s.label} at another address"))
    for p in ng.denied:
        kind = KIND_OF_PROTOCOL.get(p)
        if kind:
            host = "google.com" if kind in ("tls", "http") else None
            why = f"denied protocol {p}: no rule, the default action drops it"
            out.append(_probe(kind, host, PORTS[kind], "drop", why))
    for cidr in r.home_net[1:]:
        host = _home_host(cidr)
        if host and kinds and first:
            out.append(
                _probe(
                    kinds[0], first, PORTS[kinds[0]], "pass", f"allowed name from HOME_NET block {cidr}", source=host
                )
            )
            out.append(
                _probe(
                    kinds[0], "google.com", PORTS[kinds[0]], "drop", f"unlisted from HOME_NET block {cidr}", source=host
                )
            )
    return out


def _types(ng) -> set[str]:
    hooks = {r.hook for g in ng.groups for r in g.rules}
    return {t for t, h in (("TLS_SNI", "TLS_CLIENT_HELLO"), ("HTTP_HOST", "HTTP1_REQUEST_HEADERS")) if h in hooks}


def _home_host(cidr: str) -> str | None:
    net = ipaddress.ip_network(cidr)
    return None if net.version != 4 else str(net.network_address + min(10, max(net.num_addresses - 2, 0)))


def dns_query(name: str) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
