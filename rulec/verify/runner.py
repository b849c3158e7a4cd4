"""Verify stage, the runner: prove a region's rule groups on Suricata with real packets.

One Suricata run per region, over all its groups together, as Network Firewall evaluates them.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from rulec.compile.ir import RegionPlan
from rulec.errors import Diagnostic, RulecError
from rulec.load.probe_spec import Probe as ProbeSpec
from rulec.load.probe_spec import probe_bytes
from rulec.verify import dns_model, engine, flows, model, paths
from rulec.verify.pcap import FTP_GREETING, HTTP_RESPONSE, SSH_BANNER, Pcap, TcpFlow, client_hello, http_request
from rulec.verify.probes import DEFAULT_PORT, Probe, derive
from rulec.verify.world import World, external_bound

DEFAULT_PAYLOAD = b"rulec-verify\n"


@dataclass(frozen=True)
class Verdict:
    probe: Probe
    dropped: bool
    by: engine.RuleRef | None
    app_proto: str | None
    # on an older Suricata, per the engine model: (its verdict, why it differs from Suricata 8, which AWS runs)
    differs: tuple[str, str] | None = None
    dns: str | None = None  # the DNS layer's answer for the probe's name (verify/dns_model.py), with a DNS Firewall

    @property
    def verdict(self) -> str:
        return "drop" if self.dropped else "pass"

    @property
    def understood(self) -> bool:
        """A TLS or HTTP probe that passed must have been parsed as such; otherwise the pass proves nothing."""
        return self.dropped or self.probe.kind not in ("tls", "http") or self.app_proto == self.probe.kind

    @property
    def ok(self) -> bool:
        if self.probe.expect == "open":
            return True
        if self.differs and self.verdict == self.differs[0]:
            return True  # a known difference of an older Suricata, reported as such
        return self.verdict == self.probe.expect and self.understood

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


def _ports(i: int) -> int:
    return 10_000 + i % 50_000


def synthesize(probes: list[Probe], client: str, servers: list[str], out: BinaryIO | None = None) -> bytes:
    """The probes' traffic as a pcap, written to `out` as it is built (or returned when `out` is None)."""
    pcap = Pcap(out)
    for i, (p, server) in enumerate(zip(probes, servers, strict=True)):
        src, dst, sport = p.source or client, p.dst or server, _ports(i)
        if p.kind == "icmp":
            pcap.icmp_echo(src, dst, i)
        elif p.kind == "ip":  # another IP protocol (port = its number), e.g. a GRE-encapsulated frame
            body = b"\x00\x00\x08\x00" + (p.payload if p.payload is not None else DEFAULT_PAYLOAD)
            pcap.packet(socket.inet_aton(src), socket.inet_aton(dst), p.port, body)
        elif p.kind == "syn":
            TcpFlow(pcap, src, dst, sport, p.port).syn(p.payload if p.payload is not None else DEFAULT_PAYLOAD)
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
        index[(src, dst) if p.kind in ("icmp", "ip") else (src, _ports(i), dst, p.port)] = i

    def key(event: dict) -> int | None:
        src, dst, sp, dp = event.get("src_ip"), event.get("dest_ip"), event.get("src_port"), event.get("dest_port")
        if sp is None:
            found = index.get((src, dst))
            return index.get((dst, src)) if found is None else found
        found = index.get((src, sp, dst, dp))
        return index.get((dst, dp, src, sp)) if found is None else found

    return key


def verify_region(
    plan: RegionPlan,
    extra: list[Probe],
    suricata: str | None = None,
    options: engine.Options | None = None,
    bound: str | None = None,
) -> RegionReport:
    """Send the region's probes through its groups on Suricata. `bound` picks the EXTERNAL_NET to assume when
    no firewall policy is declared (see world.external_bound); AWS-only parts are modelled (see engine.Adapter)."""
    if plan.nextgen is not None:  # engine: next-gen runs on Suricata 8's firewall mode
        from rulec.verify import firewall

        return firewall.verify_region(plan, extra, suricata)
    started = time.perf_counter()
    probes, servers, world, notes = prepare(plan, extra, bound)
    client = world.client
    major = engine.suricata_major(engine.suricata_version(engine.suricata_path(suricata)))
    adapter = engine.Adapter(major, world.resolved_for)
    home, _ = external_bound(plan, bound)
    validation = _validation_rule(plan, world)
    if validation:
        adapter.add(*validation)
        notes.append("modelled: resolved-IP validation of the firewall policy, as a rule over the probes' addresses")
    if _uses_resolved_domain(plan):
        notes.append("modelled: AWS_ROUTE_53_RESOLVED_DOMAIN as the addresses the resolver returned for each name")
    options = replace(options or engine.Options(), adapter=adapter, external_net=f"![{','.join(home)}]")
    results = engine.run(
        plan.groups,
        tuple(plan.resolved.home_net),
        lambda out: synthesize(probes, client, servers, out),
        _keys(probes, client, servers),
        suricata,
        options,
    )
    notes += adapter.notes
    verdicts = []
    for i, p in enumerate(probes):
        r = results.get(i, engine.FlowResult())
        differs = _version_difference(plan, world, p, client, servers[i], major) if major < 8 else None
        dns = dns_model.decide(plan.resolved.dns, p.host).verdict if plan.resolved.dns and p.host else None
        verdicts.append(Verdict(p, r.dropped, r.by, r.app_proto, differs, dns))
    notes += [f"DNS layer: {line}" for line in dns_model.one_layer(plan.resolved.dns)]
    notes += [
        f"DNS layer disagrees: {v.probe.kind} {v.probe.target} passes Network Firewall but DNS answers {v.dns}"
        for v in verdicts
        if v.dns and not v.dropped and v.probe.expect == "pass" and v.dns not in ("resolves", "alert")
    ]
    if bound is None and _bounds_matter(plan):
        other = verify_region(plan, extra, suricata, options, bound="inspection")
        for mine, theirs in zip(verdicts, other.verdicts, strict=True):
            if mine.verdict != theirs.verdict:
                notes.append(
                    f"EXTERNAL_NET bound: {mine.probe.kind} {mine.probe.target} ({mine.probe.why}) is {mine.verdict} "
                    f"with EXTERNAL_NET = !home_net, {theirs.verdict} with !{plan.resolved.inspection_cidr} (AWS's "
                    "default without a HOME_NET policy variable); declare firewall_policy to make it exact"
                )
    return RegionReport(plan.region, verdicts, notes, time.perf_counter() - started)


def _bounds_matter(plan: RegionPlan) -> bool:
    """No declared policy, an inspection CIDR given, and a group that takes EXTERNAL_NET from the policy."""
    r = plan.resolved
    return (
        r.firewall_policy is None and r.inspection_cidr is not None and any(g.external_net is None for g in plan.groups)
    )


def prepare(plan: RegionPlan, extra: list[Probe], bound: str | None = None):
    """The region's probes, where each goes, and the world (addresses, resolver answers) they live in."""
    probes, notes = derive(plan)
    probes += paths.all_paths(plan)
    probes += [p for p in extra if p.region in (None, plan.region)]
    world = World.for_plan(plan, bound)
    servers = [_destination(world, p) for p in probes]
    probes = [replace(p, dst=None) if _marker(p.dst) else p for p in probes]
    return probes, servers, world, notes


def _uses_resolved_domain(plan: RegionPlan) -> bool:
    return any(
        "AWS_ROUTE_53_RESOLVED_DOMAIN" in getattr(g, "target_types", ())
        or any(r.match.startswith("service-resolved") for r in getattr(g, "rules", ()))
        for g in plan.groups
    )


def _marker(dst: str | None) -> bool:
    return dst is not None and (dst == paths.NEVER_RESOLVED or dst.startswith("resolved:"))


def _destination(world: World, p: Probe) -> str:
    """Where a probe goes: its own `dst`, else the address the resolver returns for its name, else a fresh one."""
    if p.dst == paths.NEVER_RESOLVED:
        return world.fresh()
    if p.dst and p.dst.startswith("resolved:"):
        return world.address(p.dst.removeprefix("resolved:"))
    if p.dst:
        return p.dst
    return world.address(p.host) if p.host else world.fresh()


def _validation_rule(plan: RegionPlan, world: World) -> tuple[str, engine.RuleRef] | None:
    declared = plan.resolved.firewall_policy
    v = declared.validation if declared else None
    if v is None:
        return None
    from rulec.emit.firewall_policy import bypass_ranges

    allowed = sorted(set().union(*world.resolved.values()) | set(bypass_ranges(plan)))
    action = "alert" if v.action == "ALERT" else "drop"
    dst = f"![{','.join(allowed)}]" if allowed else "any"
    ref = engine.RuleRef(f"{declared.name} (resolved-IP validation)", 0)
    return f'{action} ip [{",".join(v.sources)}] any -> {dst} any (msg:"resolved-IP validation";', ref


def _version_difference(plan, world, p, client, dst, major) -> tuple[str, str] | None:
    """How the engine model says Suricata `major` answers differently from 8 (what AWS runs) for this probe."""
    flow = flows.flow_of(p, p.source or client, dst)
    on8 = model.decide(plan.groups, flow, world.context(8))
    here = model.decide(plan.groups, flow, world.context(major))
    if on8.verdict == here.verdict or {on8.verdict, here.verdict} == {"pass", "uninspected"}:
        return None
    verdict = "drop" if here.verdict == "drop" else "pass"
    how = "drops it" if verdict == "drop" else "lets it through"
    aws = "drops it" if on8.verdict == "drop" else "lets it through"
    return verdict, f"Suricata {major} {how}; Suricata 8, which AWS runs, {aws} ({on8.group} sid {on8.sid})"


def verify_regions(
    plans: list[RegionPlan], extra: list[Probe], suricata: str | None = None, options: engine.Options | None = None
) -> list[RegionReport]:
    """Every region, in parallel where there are cores (each region is one Suricata process); in order."""
    workers = min(len(plans), os.cpu_count() or 1)
    if workers <= 1:
        return [verify_region(p, extra, suricata, options) for p in plans]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: verify_region(p, extra, suricata, options), plans))


def run(policy, probes_file, region, catalogs, suricata, timeout: float) -> tuple[list[RegionReport], str]:
    """`rulec verify`: the policy's own probes and a `--probes` file, every chosen region; (reports, version)."""
    from rulec import pipeline
    from rulec.load.policy import load_probes

    lp, plans, _, _ = pipeline.plan(policy, catalogs)
    regions = tuple(p.region for p in plans)
    extra = user_probes(lp.policy.verify.probes, lp.doc, ("verify", "probes"), regions)
    if probes_file:
        specs, doc = load_probes(probes_file)
        extra += user_probes(specs, doc, ("probes",), regions)
    binary = engine.suricata_path(suricata)
    version = engine.suricata_version(binary)
    chosen = pipeline.select(plans, region, policy)
    return verify_regions(chosen, extra, binary, engine.Options(timeout=timeout)), version
