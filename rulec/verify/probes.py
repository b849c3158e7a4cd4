"""Which probes to send for a region: derived from the compiled groups, plus the user's own.

Every allowed name must pass (exact names; wildcards at the apex and at a subdomain). Look-alikes of
each name, well-known exfiltration targets and each denied protocol must drop. Paths the policy leaves
open (raw TCP and UDP, non-HTTP catalog entries, hosts outside HOME_NET) are probed and reported as
not covered: a warning, never hidden, never a failure.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from rulec.compile.ir import DROPPED_BY, DomainListGroup, RegionPlan, StatefulGroup
from rulec.load.domains import Matcher

DEFAULT_PORT = {
    "tls": 443,
    "http": 80,
    "ssh": 22,
    "ftp": 21,
    "tcp": 4444,
    "udp": 5000,
    "icmp": 0,
    "syn": 4444,
    "ip": 47,
}
KIND_OF_TYPE = {"TLS_SNI": "tls", "HTTP_HOST": "http"}
KIND_OF_PROTOCOL = {
    "FTP": "ftp",
    "SSH": "ssh",
    "ICMP": "icmp",
    "TCP": "tcp",
    "UDP": "udp",
    "TLS": "tls",
    "HTTP": "http",
    "IP": "tcp",
}
EXFIL = (
    ("google.com", "unlisted domain"),
    ("s3.amazonaws.com", "global S3 endpoint"),
    ("exfil-bucket-rulec.s3.amazonaws.com", "foreign S3 bucket (global endpoint)"),
)
ATTACKER = "attacker.example"


@dataclass(frozen=True)
class Probe:
    """One connection verify sends. The host is sent exactly as given: None or "" sends no SNI / Host."""

    kind: str
    host: str | None
    port: int
    expect: str  # "pass", "drop", or "open" (not covered by the policy: reported, never a failure)
    why: str
    source: str | None = None  # client address; None = a host in the first HOME_NET block
    dst: str | None = None  # server address; None = a fresh address outside HOME_NET, one per probe
    payload: bytes | None = None  # tcp/udp: what the client sends (None: b"rulec-verify\n")
    pad: int | None = None  # tls: ClientHello record size in bytes
    split: int | None = None  # tls/http/tcp: cut the client's first message into two segments at this byte
    http_raw: bytes | None = None  # http: the whole request as sent, instead of a GET with `host`
    region: str | None = None  # only in this region (user probes)

    @property
    def target(self) -> str:
        if self.host == "":
            where = "<no SNI>" if self.kind == "tls" else "<no Host>"
        else:
            where = self.host or ("<raw request>" if self.http_raw else "<any host>")
        if self.dst:
            where = self.dst if self.host is None and not self.http_raw else f"{where}@{self.dst}"
        where = where if self.kind == "icmp" else f"{where}:{self.port}"
        return f"{where} (split {self.pad or ''}{'B ' if self.pad else ''}at {self.split})" if self.split else where


SPLIT_PAD, SPLIT_AT = 1800, 1448  # a post-quantum-sized ClientHello, cut where a 1,500-byte MTU cuts it


OUTSIDER = "192.0.2.10"  # a client outside HOME_NET (TEST-NET-1)


def mixed_case(host: str) -> str:
    """`host` with every other letter upper case: sent as is, it proves the rule matches without case."""
    return "".join(c.upper() if i % 2 == 0 else c for i, c in enumerate(host))


def split_hellos(targets: list[str], kinds: list[str], nonce, allowed) -> list[Probe]:
    """Per allowed TLS target, a ~1.8 KB ClientHello in two TCP segments to a mixed-case name: it must pass
    without a single packet dropped. One to an unlisted name must drop."""
    if "tls" not in kinds:
        return []
    probes = []
    for target in targets:
        host = f"{nonce(target)}{target}" if target.startswith(".") else target
        why = (
            f"split {SPLIT_PAD}-byte ClientHello, mixed case, {'subdomain of' if target[0] == '.' else 'allowed name'}"
        )
        probes.append(Probe("tls", mixed_case(host), 443, "pass", f"{why} {target}", pad=SPLIT_PAD, split=SPLIT_AT))
    why = f"split {SPLIT_PAD}-byte ClientHello to an unlisted domain"
    if not allowed("google.com"):
        probes.append(Probe("tls", "google.com", 443, "drop", why, pad=SPLIT_PAD, split=SPLIT_AT))
    return probes


def _nonce(text: str) -> str:
    return "p" + hashlib.sha256(text.encode()).hexdigest()[:8]


def home_host(cidr: str) -> str | None:
    net = ipaddress.ip_network(cidr)
    if net.version != 4:
        return None
    return str(net.network_address + min(10, max(net.num_addresses - 2, 0)))


def derive(plan: RegionPlan) -> tuple[list[Probe], list[str]]:
    """Built-in probes for a region, and notes about what could not be probed."""
    allow = [g for g in plan.groups if isinstance(g, DomainListGroup)]
    stateful = [g for g in plan.groups if isinstance(g, StatefulGroup)]
    targets = [t for g in allow for t in g.targets]
    kinds = [KIND_OF_TYPE[t] for t in allow[0].target_types if t in KIND_OF_TYPE] if allow else []
    probes: list[Probe] = []
    notes: list[str] = []

    matcher = Matcher(targets)

    def allowed(host: str) -> bool:
        return matcher.match(host) is not None

    for target in targets:
        bare = target.lstrip(".")
        for kind in kinds:
            port = DEFAULT_PORT[kind]
            if target.startswith("."):
                probes.append(Probe(kind, bare, port, "pass", f"apex of {target}"))
                probes.append(Probe(kind, f"{_nonce(target)}.{bare}", port, "pass", f"subdomain of {target}"))
            else:
                probes.append(Probe(kind, bare, port, "pass", "allowed name"))
            lookalikes = [
                (f"evil{bare}", f"prefix look-alike of {target}"),
                (f"{bare}.{ATTACKER}", f"suffix look-alike of {target}"),
            ]
            if not target.startswith("."):
                lookalikes.append((f"{_nonce(target)}.{bare}", f"subdomain of {target} (allowed exactly)"))
            probes.extend(Probe(kind, host, port, "drop", why) for host, why in lookalikes if not allowed(host))
    for kind in kinds:
        probes.extend(Probe(kind, host, DEFAULT_PORT[kind], "drop", why) for host, why in EXFIL)
        probes.append(
            Probe(
                kind,
                f"exfil-bucket-rulec.s3.{plan.region}.amazonaws.com",
                DEFAULT_PORT[kind],
                "drop",
                "foreign S3 bucket (regional endpoint)",
            )
        )
    denied = set()
    for group in stateful:
        if group.role != "deny":  # strict egress has probes of its own (rulec.verify.paths)
            continue
        for rule in group.rules:
            if rule.action not in ("DROP", "REJECT"):
                continue
            kind = KIND_OF_PROTOCOL.get(rule.protocol)
            if kind is None:
                notes.append(f"no probe for denied protocol {rule.protocol} ({group.name} sid {rule.sid})")
                continue
            denied.add(rule.protocol)
            host = "google.com" if kind in ("tls", "http") else None
            probes.append(Probe(kind, host, DEFAULT_PORT[kind], "drop", f"denied protocol {rule.protocol}"))
    if not denied & DROPPED_BY["TCP"] and plan.resolved.egress == "domains":
        for t in plan.resolved.targets:
            for port in t.non_http_ports:
                origin = t.origins[0]
                via = f"feature '{origin.feature}', {origin.entry_pos}" if origin.feature else str(origin.pos)
                probes.append(
                    Probe(
                        "tcp",
                        t.name,
                        port,
                        "open",
                        f"non-HTTP service in the allowlist ({via}): a domain list cannot match it",
                    )
                )
    for ttype, kind in KIND_OF_TYPE.items():
        if kind not in kinds and not denied & DROPPED_BY[ttype]:
            strict = plan.resolved.egress == "strict"
            why = "strict egress drops it" if strict else f"{kind} to any name passes"
            probes.append(
                Probe(
                    kind,
                    "google.com",
                    DEFAULT_PORT[kind],
                    "drop" if strict else "open",
                    f"{ttype} is not in target_types: {why}",
                )
            )
    home = plan.resolved.home_net
    for cidr in home[1:]:
        host = home_host(cidr)
        if host and kinds:
            probes.append(
                Probe(
                    kinds[0],
                    "google.com",
                    DEFAULT_PORT[kinds[0]],
                    "drop",
                    f"unlisted domain from HOME_NET block {cidr}",
                    source=host,
                )
            )
    outsider = OUTSIDER
    if not any(ipaddress.ip_address(outsider) in ipaddress.ip_network(c) for c in home):
        probes.extend(
            Probe(
                kind,
                "google.com",
                DEFAULT_PORT[kind],
                "open",
                "client outside HOME_NET: the domain list does not inspect it",
                source=outsider,
            )
            for kind in kinds
        )
    probes.extend(split_hellos(targets, kinds, _nonce, allowed))
    if any(ipaddress.ip_network(c).version == 6 for c in home):
        notes.append("IPv6 HOME_NET blocks are not probed (probes are IPv4)")
    return probes, notes
