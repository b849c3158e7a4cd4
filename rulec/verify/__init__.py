"""Verify stage: prove a region's rule groups on Suricata with real packets.

One Suricata run per region, over all its groups together, as Network Firewall evaluates them.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

from rulec.compile.ir import RegionPlan
from rulec.errors import RulecError
from rulec.load.policy import Probe as ProbeSpec
from rulec.verify import engine
from rulec.verify.pcap import FTP_GREETING, HTTP_RESPONSE, SSH_BANNER, Pcap, TcpFlow, client_hello, http_request
from rulec.verify.probes import DEFAULT_PORT, Probe, derive, home_host

_POOLS = ("198.18.0.0/15", "100.64.0.0/10", "172.16.0.0/12")


@dataclass(frozen=True)
class Verdict:
    probe: Probe
    dropped: bool
    by: engine.RuleRef | None
    app_proto: str | None

    @property
    def verdict(self) -> str:
        return "drop" if self.dropped else "pass"

    @property
    def understood(self) -> bool:
        """A TLS or HTTP probe that passed must have been parsed as such; otherwise the pass proves nothing."""
        return self.dropped or self.probe.kind not in ("tls", "http") or self.app_proto == self.probe.kind

    @property
    def ok(self) -> bool:
        return self.probe.expect == "open" or (self.verdict == self.probe.expect and self.understood)

    @property
    def uncovered(self) -> bool:
        return self.probe.expect == "open" and not self.dropped


@dataclass
class RegionReport:
    region: str
    verdicts: list[Verdict]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]


def user_probes(specs: list[ProbeSpec], doc, root: tuple = ()) -> list[Probe]:
    """User probes, each remembering the file:line it was written at."""
    return [
        Probe(s.kind, s.host, s.port or DEFAULT_PORT[s.kind], s.expect, f"user probe at {doc.at(*root, i)}")
        for i, s in enumerate(specs)
    ]


def _addresses(home_net: tuple[str, ...], count: int) -> list[str]:
    nets = [ipaddress.ip_network(c) for c in home_net]
    for pool in map(ipaddress.ip_network, _POOLS):
        if not any(pool.overlaps(n) for n in nets) and pool.num_addresses > count + 2:
            return [str(pool.network_address + 1 + i) for i in range(count)]
    raise RulecError("HOME_NET covers every address pool rulec probes towards; narrow HOME_NET")


def synthesize(probes: list[Probe], client: str, servers: list[str]) -> bytes:
    pcap = Pcap()
    for i, (p, server) in enumerate(zip(probes, servers, strict=True)):
        src, sport = p.source or client, 10_000 + i % 50_000
        if p.kind == "icmp":
            pcap.icmp_echo(src, server, i)
        elif p.kind == "udp":
            pcap.udp(src, server, sport, p.port, b"rulec-verify\n")
        else:
            flow = TcpFlow(pcap, src, server, sport, p.port).open()
            if p.kind == "tls":
                flow.client_says(client_hello(p.host))
            elif p.kind == "http":
                flow.client_says(http_request(p.host)).server_says(HTTP_RESPONSE)
            elif p.kind == "ssh":
                flow.server_says(SSH_BANNER).client_says(SSH_BANNER)
            elif p.kind == "ftp":
                flow.server_says(FTP_GREETING).client_says(b"USER anonymous\r\n")
            else:
                flow.client_says(b"rulec-verify\n")
            flow.close()
    return pcap.bytes()


def verify_region(plan: RegionPlan, extra: list[Probe], suricata: str | None = None) -> RegionReport:
    started = time.perf_counter()
    probes, notes = derive(plan)
    probes += extra
    client = next((h for h in map(home_host, plan.resolved.home_net) if h), None)
    if client is None:
        raise RulecError(f"{plan.region}: verify needs an IPv4 block in home_net")
    servers = _addresses(tuple(plan.resolved.home_net), len(probes))
    index = {ip: i for i, ip in enumerate(servers)}

    def key(src: str | None, dst: str | None) -> int | None:
        return index.get(dst, index.get(src))

    results = engine.run(
        plan.groups, tuple(plan.resolved.home_net), synthesize(probes, client, servers), key, suricata
    )
    verdicts = []
    for i, p in enumerate(probes):
        r = results.get(i, engine.FlowResult())
        verdicts.append(Verdict(p, r.dropped, r.by, r.app_proto))
    return RegionReport(plan.region, verdicts, notes, time.perf_counter() - started)
