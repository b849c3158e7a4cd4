"""Which probes verify sends through a next-gen (firewall-engine) policy, and the packets for them.

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
from dataclasses import dataclass

from rulec.load.domains import Matcher
from rulec.verify.pcap import FTP_GREETING, HTTP_RESPONSE, SSH_BANNER, Pcap, TcpFlow, http_request

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


@dataclass(frozen=True)
class FwProbe:
    """A probe as Classic's (kind, host, port, expect, why, source), plus how its packets are shaped."""

    kind: str
    host: str | None
    port: int
    expect: str
    why: str
    source: str | None = None
    shape: str = ""  # "" | split (ClientHello/request over two segments) | nosni | bytes | dns | quic
    dst: str | None = None  # fixed destination (services), else one address per probe

    @property
    def target(self) -> str:
        where = self.host if self.host is not None else "<any host>"
        where = where or "<no SNI>"
        extra = f" ({self.shape})" if self.shape in ("split", "bytes", "dns", "quic") else ""
        if self.dst:
            where = f"{where} @{self.dst}"
        return (where if self.kind == "icmp" else f"{where}:{self.port}") + extra


def _nonce(text: str) -> str:
    return "p" + hashlib.sha256(text.encode()).hexdigest()[:8]


def derive(plan) -> list[FwProbe]:
    ng, r = plan.nextgen, plan.resolved
    kinds = [KIND_OF_TYPE[t] for t in KIND_OF_TYPE if any(g.role == "allowlist" for g in ng.groups) and t in _types(ng)]
    targets = [t.name for t in r.targets]
    matcher = Matcher(targets)
    out: list[FwProbe] = []
    for t in targets:
        bare = t.lstrip(".")
        for kind in kinds:
            port = PORTS[kind]
            if t.startswith("."):
                out += [FwProbe(kind, bare, port, "pass", f"apex of {t}")]
                out += [FwProbe(kind, f"{_nonce(t)}.{bare}", port, "pass", f"subdomain of {t}")]
            else:
                out.append(FwProbe(kind, bare, port, "pass", "allowed name"))
            looks = [
                (f"evil{bare}", f"prefix look-alike of {t}"),
                (f"{bare}.attacker.example", f"suffix look-alike of {t}"),
            ]
            if not t.startswith("."):
                looks.append((f"{_nonce(t)}.{bare}", f"subdomain of {t} (allowed exactly)"))
            out += [FwProbe(kind, h, port, "drop", why) for h, why in looks if matcher.match(h) is None]
    first = next((t.lstrip(".") for t in targets), None)
    for kind in kinds:
        out += [FwProbe(kind, h, PORTS[kind], "drop", why) for h, why in EXFIL]
        bucket = f"exfil-bucket-rulec.s3.{plan.region}.amazonaws.com"
        out.append(FwProbe(kind, bucket, PORTS[kind], "drop", "foreign S3 bucket (regional endpoint)"))
        if first:
            what = f"{SPLIT_SIZE}-byte ClientHello" if kind == "tls" else "request"
            out.append(FwProbe(kind, first, PORTS[kind], "pass", f"{what} split over 2 segments", shape="split"))
            other = 8443 if kind == "tls" else 8080
            out.append(
                FwProbe(kind, first, other, "drop", f"allowed name on port {other}: carriers cover {PORTS[kind]} only")
            )
            out.append(FwProbe(kind, first, PORTS[kind], "drop", "client outside HOME_NET", source=OUTSIDER))
    if "tls" in kinds:
        out.append(
            FwProbe(
                "tls",
                "evil.example",
                443,
                "drop",
                f"{SPLIT_SIZE}-byte ClientHello for an unlisted name, split",
                shape="split",
            )
        )
        out.append(FwProbe("tls", "", 443, "drop", "ClientHello without SNI", shape="nosni"))
        if first and first != first.upper():
            out.append(
                FwProbe("tls", first.upper(), 443, "pass", "allowed name in upper case (SNI is case-insensitive)")
            )
    out += [
        FwProbe("tcp", None, 443, "drop", "non-TLS bytes on 443", shape="bytes"),
        FwProbe("tcp", None, 4444, "drop", "raw TCP"),
        FwProbe("tcp", None, 853, "drop", "raw TCP to 853 (DNS over TLS port)"),
        FwProbe("udp", "google.com", 53, "drop", "DNS to an outside resolver", shape="dns"),
        FwProbe("udp", None, 443, "drop", "UDP 443 (QUIC)", shape="quic"),
        FwProbe("udp", None, 5000, "drop", "raw UDP"),
        FwProbe("ssh", None, 22, "drop", "SSH"),
        FwProbe("ftp", None, 21, "drop", "FTP"),
        FwProbe("icmp", None, 0, "drop", "ICMP echo"),
    ]
    for s in r.services:
        for cidr in s.ips or ():
            net = ipaddress.ip_network(cidr)
            dst = str(net.network_address + (1 if net.num_addresses > 2 else 0))
            kind = s.protocol.lower()
            out.append(FwProbe(kind, s.host, s.port, "pass", f"service {s.label}", dst=dst))
            out.append(FwProbe(kind, None, s.port, "drop", f"port of service {s.label} at another address"))
    for p in ng.denied:
        kind = KIND_OF_PROTOCOL.get(p)
        if kind:
            host = "google.com" if kind in ("tls", "http") else None
            why = f"denied protocol {p}: no rule, the default action drops it"
            out.append(FwProbe(kind, host, PORTS[kind], "drop", why))
    for cidr in r.home_net[1:]:
        host = _home_host(cidr)
        if host and kinds and first:
            out.append(
                FwProbe(
                    kinds[0], first, PORTS[kinds[0]], "pass", f"allowed name from HOME_NET block {cidr}", source=host
                )
            )
            out.append(
                FwProbe(
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


def hello(sni: str | None, size: int = 0) -> bytes:
    """A TLS ClientHello record; no server_name extension for sni None/""; padded (RFC 7685) to `size` bytes."""
    exts = []
    if sni:
        name = sni.encode("ascii")
        exts.append((0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name))
    exts += [
        (10, struct.pack("!HHHH", 6, 0x001D, 0x0017, 0x0018)),
        (13, struct.pack("!HHHH", 6, 0x0403, 0x0804, 0x0401)),
    ]
    exts.append((43, struct.pack("!BHH", 4, 0x0304, 0x0303)))
    digest = hashlib.sha256((sni or "").encode()).digest()
    head = (
        b"\x03\x03" + digest + b"\x20" + digest + struct.pack("!HHHHH", 8, 0x1301, 0x1302, 0xC02F, 0xC030) + b"\x01\x00"
    )

    def record(ext_list) -> bytes:
        blob = b"".join(struct.pack("!HH", k, len(b)) + b for k, b in ext_list)
        body = head + struct.pack("!H", len(blob)) + blob
        handshake = b"\x01" + len(body).to_bytes(3, "big") + body
        return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake

    plain = record(exts)
    if size > len(plain) + 4:
        plain = record(exts + [(21, b"\0" * (size - len(plain) - 4))])
    return plain


def dns_query(name: str) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)


def synthesize(probes: list, client: str, servers: list[str]) -> bytes:
    """One flow per probe from `client` (or the probe's source) to its server address."""
    pcap = Pcap()
    for i, (p, server) in enumerate(zip(probes, servers, strict=True)):
        src, sport, shape = getattr(p, "source", None) or client, 10_000 + i % 50_000, getattr(p, "shape", "")
        if p.kind == "icmp":
            pcap.icmp_echo(src, server, i)
        elif p.kind == "udp":
            data = dns_query(p.host or "example.com") if shape == "dns" else b"rulec-verify\n"
            pcap.udp(src, server, sport, p.port, b"\xc3\x00\x00\x00\x01" + bytes(40) if shape == "quic" else data)
        else:
            flow = TcpFlow(pcap, src, server, sport, p.port).open()
            if p.kind == "tls":
                data = hello(p.host, SPLIT_SIZE if shape == "split" else 0)
                if shape == "split":
                    flow.client_says(data[: len(data) // 2]).client_says(data[len(data) // 2 :])
                else:
                    flow.client_says(data)
            elif p.kind == "http":
                req = http_request(p.host)
                if shape == "split":
                    flow.client_says(req[:20]).client_says(req[20:])
                else:
                    flow.client_says(req)
                flow.server_says(HTTP_RESPONSE)
            elif p.kind == "ssh":
                flow.server_says(SSH_BANNER).client_says(SSH_BANNER)
            elif p.kind == "ftp":
                flow.server_says(FTP_GREETING).client_says(b"USER anonymous\r\n")
            else:
                flow.client_says(
                    b"\x00\x01rulec-verify raw bytes, no protocol\r\n" if shape == "bytes" else b"rulec-verify\n"
                )
            flow.close()
    return pcap.bytes()
