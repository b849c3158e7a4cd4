"""Verify stage: prove a region's rule groups on Suricata with real packets.

One Suricata run per region, over all its groups together, as Network Firewall evaluates them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from rulec.compile.ir import RegionPlan
from rulec.errors import Diagnostic, RulecError
from rulec.load.policy import Probe as ProbeSpec
from rulec.load.policy import probe_bytes
from rulec.verify import engine
from rulec.verify.pcap import FTP_GREETING, HTTP_RESPONSE, SSH_BANNER, Pcap, TcpFlow, client_hello, http_request
from rulec.verify.probes import DEFAULT_PORT, Probe, derive, home_host

DEFAULT_PAYLOAD = b"rulec-verify\n"

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


def _client_message(p: Probe) -> bytes | None:
    """What the client sends first (the part `split` cuts), or None for kinds without one."""
    if p.kind == "tls":
        return client_hello(p.host, p.pad)
    if p.kind == "http":
        return p.http_raw if p.http_raw is not None else http_request(p.host)
    if p.kind in ("tcp", "udp"):
        return p.payload if p.payload is not None else DEFAULT_PAYLOAD
    return None


def user_probes(specs: list[ProbeSpec], doc, root: tuple = (), regions: tuple[str, ...] | None = None) -> list[Probe]:
    """User probes, each remembering the file:line it was written at. Hosts are kept exactly as written."""
    probes, problems = [], []
    for i, s in enumerate(specs):
        at = doc.at(*root, i)
        p = Probe(
            s.kind,
            s.host,
            s.port or DEFAULT_PORT[s.kind],
            s.expect,
            f"user probe at {at}",
            source=s.src,
            dst=s.dst,
            payload=None if s.payload is None else probe_bytes(s.payload),
            pad=s.pad,
            split=s.split,
            http_raw=None if s.http is None else probe_bytes(s.http.raw),
            region=s.region,
        )
        if regions is not None and s.region is not None and s.region not in regions:
            problems.append(Diagnostic(doc.at(*root, i, "region"), f"region '{s.region}' is not in the policy"))
        try:
            message = _client_message(p)
        except ValueError as exc:
            problems.append(Diagnostic(doc.at(*root, i, "pad"), str(exc)))
            continue
        if p.split is not None and message is not None and p.split >= len(message):
            problems.append(
                Diagnostic(doc.at(*root, i, "split"), f"split {p.split} is not inside the {len(message)}-byte message")
            )
        probes.append(p)
    if problems:
        raise RulecError(problems)
    return probes


def _addresses(home_net: tuple[str, ...], count: int) -> list[str]:
    nets = [ipaddress.ip_network(c) for c in home_net]
    for pool in map(ipaddress.ip_network, _POOLS):
        if not any(pool.overlaps(n) for n in nets) and pool.num_addresses > count + 2:
            first = int(pool.network_address) + 1
            return [socket.inet_ntoa((first + i).to_bytes(4, "big")) for i in range(count)]
    raise RulecError("HOME_NET covers every address pool rulec probes towards; narrow HOME_NET")


def _ports(i: int) -> int:
    return 10_000 + i % 50_000


def synthesize(probes: list[Probe], client: str, servers: list[str], out: BinaryIO | None = None) -> bytes:
    """The probes' traffic as a pcap, written to `out` as it is built (or returned when `out` is None)."""
    pcap = Pcap(out)
    for i, (p, server) in enumerate(zip(probes, servers, strict=True)):
        src, dst, sport = p.source or client, p.dst or server, _ports(i)
        if p.kind == "icmp":
            pcap.icmp_echo(src, dst, i)
        elif p.kind == "udp":
            pcap.udp(src, dst, sport, p.port, _client_message(p))
        else:
            flow = TcpFlow(pcap, src, dst, sport, p.port).open()
            if p.kind == "http":
                flow.client_says(_client_message(p), p.split).server_says(HTTP_RESPONSE)
            elif p.kind == "ssh":
                flow.server_says(SSH_BANNER).client_says(SSH_BANNER)
            elif p.kind == "ftp":
                flow.server_says(FTP_GREETING).client_says(b"USER anonymous\r\n")
            else:
                flow.client_says(_client_message(p), p.split)
            flow.close()
    return pcap.bytes()


def _keys(probes: list[Probe], client: str, servers: list[str]) -> Callable[[dict], int | None]:
    """Map an EVE event back to its probe by the flow's addresses and ports, in either direction."""
    index: dict[tuple, int] = {}
    for i, (p, server) in enumerate(zip(probes, servers, strict=True)):
        src, dst = p.source or client, p.dst or server
        index[(src, dst) if p.kind == "icmp" else (src, _ports(i), dst, p.port)] = i

    def key(event: dict) -> int | None:
        src, dst, sp, dp = event.get("src_ip"), event.get("dest_ip"), event.get("src_port"), event.get("dest_port")
        if sp is None:
            found = index.get((src, dst))
            return index.get((dst, src)) if found is None else found
        found = index.get((src, sp, dst, dp))
        return index.get((dst, dp, src, sp)) if found is None else found

    return key


def verify_region(
    plan: RegionPlan, extra: list[Probe], suricata: str | None = None, options: engine.Options | None = None
) -> RegionReport:
    started = time.perf_counter()
    probes, notes = derive(plan)
    probes += [p for p in extra if p.region in (None, plan.region)]
    client = next((h for h in map(home_host, plan.resolved.home_net) if h), None)
    if client is None:
        raise RulecError(f"{plan.region}: verify needs an IPv4 block in home_net")
    servers = _addresses(tuple(plan.resolved.home_net), len(probes))
    options = options or engine.Options()
    results = engine.run(
        plan.groups,
        tuple(plan.resolved.home_net),
        lambda out: synthesize(probes, client, servers, out),
        _keys(probes, client, servers),
        suricata,
        options,
    )
    verdicts = []
    for i, p in enumerate(probes):
        r = results.get(i, engine.FlowResult())
        verdicts.append(Verdict(p, r.dropped, r.by, r.app_proto))
    return RegionReport(plan.region, verdicts, notes, time.perf_counter() - started)


def verify_regions(
    plans: list[RegionPlan], extra: list[Probe], suricata: str | None = None, options: engine.Options | None = None
) -> list[RegionReport]:
    """Every region, in parallel where there are cores (each region is one Suricata process); in order."""
    workers = min(len(plans), os.cpu_count() or 1)
    if workers <= 1:
        return [verify_region(p, extra, suricata, options) for p in plans]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: verify_region(p, extra, suricata, options), plans))
