"""The engine model: what Network Firewall's stateful engine (Suricata, default action order) does with one
flow, given a region's compiled groups. `explain` and `lint` take their verdicts from here, `verify` uses it to
say which verdicts differ between Suricata versions, and tests hold it against real Suricata 7 and 8.

How a verdict is reached, as Suricata's IPS mode works:
- A rule matches at a stage of the flow: 0 = its first packet (header-only rules, a SYN), 1 = the client's
  first data (application-layer rules on the protocol alone, `flow:established` rules), 2 = a ClientHello or
  HTTP request that spans two segments is complete (SNI/Host rules wait for it). Unsplit, 1 and 2 are the same
  packet. The earliest stage with any match decides: a `drop tcp` matches the SYN before any TLS rule can look
  at a ClientHello, and a `drop tls` matches the first half of a split ClientHello before the name is known.
- Within a stage the action order decides: pass, then drop, then reject, then alert. A `pass` for an allowed
  name outranks a protocol drop that matches the same ClientHello.
- Nothing matching means the rule groups let the flow through ("uninspected"); the firewall policy's
  default action decides, which for rulec's policies (default action order) is to pass.
- Route53ResolvedIPValidation (DROP/REJECT) is a policy-level check before any rule group (stage -1).
Modelled, not run: AWS_ROUTE_53_RESOLVED_DOMAIN and `aws_route_53_resolved_domain` (destination address among
those the resolver returned for the name), and the policy-level validation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from rulec.compile.ir import RESOLVED_DOMAIN, DomainListGroup, Group, StatefulGroup, StatefulRule
from rulec.emit.suricata import review_sids
from rulec.load.domains import Matcher, matches

ORDER = {"PASS": 0, "DROP": 1, "REJECT": 2, "ALERT": 3}
APP_PROTOCOLS = {
    "TLS": "tls",
    "HTTP": "http",
    "SSH": "ssh",
    "FTP": "ftp",
    "DNS": "dns",
    "SMB": "smb",
    "SMTP": "smtp",
    "IMAP": "imap",
    "HTTP2": "http2",
    "QUIC": "quic",
    "DCERPC": "dcerpc",
    "KRB5": "krb5",
    "IKEV2": "ike",
    "TFTP": "tftp",
    "NTP": "ntp",
    "DHCP": "dhcp",
    "MSN": "msn",
}
TRANSPORT = {"TCP": 6, "UDP": 17, "ICMP": 1}


@dataclass(frozen=True)
class Flow:
    """One connection as the engine sees it."""

    transport: str  # tcp | udp | icmp | ip
    app: str | None  # detected application protocol (tls, http, ssh, ...); None = data, no known protocol
    dst: str
    port: int = 0
    src: str = ""
    host: str | None = None  # TLS SNI or HTTP Host as sent; None = none
    ip_proto: int = 6
    data: bool = True  # the client sends data (a TCP flow that only connects has none)
    syn_payload: bool = False
    split: bool = False  # the ClientHello / HTTP request spans two segments


@dataclass(frozen=True)
class Decision:
    verdict: str  # pass | drop | uninspected
    group: str | None = None
    sid: int | None = None  # review SID for domain lists, the lock's SID for stateful rules
    why: str = ""
    stage: int = 0


@dataclass
class Context:
    """What the rules depend on beyond the flow: address sets and, for the model of AWS-only features, what
    the Route 53 Resolver answered."""

    home_net: tuple[str, ...]
    external: Callable[[str], bool]  # the EXTERNAL_NET the engine applies to groups that do not define it
    resolved: dict[str, set[str]] = field(default_factory=dict)  # name -> addresses the resolver returned
    validation: object | None = None  # compile.egress.Validation
    bypass: tuple[str, ...] = ()
    suricata: int = 8  # major version: rules newer than it do not load

    def resolved_for(self, target: str) -> set[str]:
        out: set[str] = set()
        for name, addrs in self.resolved.items():
            if matches(target, name):
                out |= addrs
        return out


@lru_cache(maxsize=4096)
def _net(cidr: str):
    return ipaddress.ip_network(cidr, strict=False)


def inside(addr: str, cidrs: tuple[str, ...] | list[str]) -> bool:
    ip = ipaddress.ip_address(addr)
    return any(ip.version == _net(c).version and ip in _net(c) for c in cidrs)


def _scope(group: Group, flow: Flow, ctx: Context) -> bool:
    external = inside(flow.dst, group.external_net) if group.external_net is not None else ctx.external(flow.dst)
    return inside(flow.src, group.home_net) and external


def _name(host: str | None, suricata: int = 8, http: bool = False) -> str | None:
    """The name the engine compares. TLS SNI rules are nocase. Suricata lower-cases http.host and strips a port;
    measured: 7.0.10 does not lower-case a Host that carries a port (`PYPI.ORG:80` stays upper case)."""
    if host is None:
        return None
    if not http:
        return host.lower()
    if ":" in host and not host.startswith("["):
        bare = host.rsplit(":", 1)[0]
        return bare if suricata < 8 else bare.lower()
    return host.lower()


# The packets of a flow at which rules are evaluated, in order. Unsplit, the client's first data is already
# the whole ClientHello or HTTP request (COMPLETE is then the same packet as CLIENT_DATA).
CLIENT_FIRST, SERVER_FIRST, CLIENT_DATA, COMPLETE = 0, 1, 2, 3
CLIENT = frozenset({CLIENT_FIRST, CLIENT_DATA, COMPLETE})
APP = frozenset({CLIENT_DATA, COMPLETE})


@lru_cache(maxsize=8)
def _index(group: DomainListGroup) -> tuple[Matcher, dict[str, int]]:
    """Set look-ups over a domain list's targets, and each target's place in it (rules are in list order)."""
    return Matcher(group.targets), {t: i for i, t in enumerate(group.targets)}


def domain_matches(group: DomainListGroup, flow: Flow, ctx: Context) -> list[tuple[frozenset, str, int, str]]:
    """(packets, action, review sid, why) for every rule of a domain list that matches `flow`."""
    if not _scope(group, flow, ctx):
        return []
    sids = review_sids(group)
    matcher, order = _index(group)
    out = []
    action = {"ALLOWLIST": "PASS", "DENYLIST": "DROP", "REJECTLIST": "REJECT", "ALERTLIST": "ALERT"}[group.generated]
    types = group.target_types
    anded = RESOLVED_DOMAIN in types and any(t != RESOLVED_DOMAIN for t in types) and action == "PASS"
    at = frozenset({COMPLETE})
    for ttype, app in (("TLS_SNI", "tls"), ("HTTP_HOST", "http")):
        if ttype not in types or flow.app != app:
            continue
        name = _name(flow.host, ctx.suricata, app == "http")
        # HTTP rules have no nocase: upper case that Suricata left in the Host never matches
        exact_case = app != "http" or name == (name or "").lower()
        for target in sorted(matcher.every(name), key=order.__getitem__) if name and exact_case else ():
            if not anded or flow.dst in ctx.resolved_for(target):
                out.append((at, action, sids[ttype, target], f"{ttype} {target}"))
        if group.generated == "ALLOWLIST" and (app == "tls" or flow.host is not None):
            out.append((at, "DROP", sids[ttype, None], f"not matching any {app.upper()} allowlisted FQDNs"))
    if RESOLVED_DOMAIN in types and not anded:
        for target in group.targets:
            if flow.dst in ctx.resolved_for(target):
                out.append((CLIENT, action, sids[RESOLVED_DOMAIN, target], f"resolved domain {target}"))
    return out


def rule_matches(rule: StatefulRule, group: StatefulGroup, flow: Flow, ctx: Context) -> frozenset:
    """The packets of `flow` a stateful rule matches (empty: none)."""
    none = frozenset()
    if rule.min_suricata > ctx.suricata:
        return none
    if rule.source == "$HOME_NET" and not inside(flow.src, group.home_net):
        return none
    if rule.destination == "$EXTERNAL_NET":
        external = group.external_net
        if not (inside(flow.dst, external) if external is not None else ctx.external(flow.dst)):
            return none
    elif rule.destination.lower() != "any" and not inside(flow.dst, (rule.destination,)):
        return none
    if rule.destination_port.lower() != "any" and int(rule.destination_port) != flow.port:
        return none
    # a rule for both directions (<>) also sees the server's packets, where one-way passes do not apply
    client = CLIENT | {SERVER_FIRST} if rule.direction == "ANY" and flow.transport in ("tcp", "icmp") else CLIENT
    kind, _, arg = rule.match.partition(":")
    est = flow.transport == "tcp" and flow.data
    if kind == "":
        proto = rule.protocol
        if proto == "IP" or proto in TRANSPORT:
            return client if proto == "IP" or flow.transport == proto.lower() else none
        apps = ("http", "http2") if proto == "HTTP" else (APP_PROTOCOLS.get(proto),)  # measured: http covers h2
        return APP if flow.app in apps else none
    if kind == "tcp-other":
        allowed = set(filter(None, arg.split(",")))
        # measured: app-layer-protocol:!http does not match HTTP/2 either
        excluded = flow.app in allowed or (flow.app == "http2" and "http" in allowed)
        return APP if est and (not allowed or (flow.app is not None and not excluded)) else none
    if kind == "tcp-undetected":
        return APP if est and flow.app is None else none
    if kind == "http2-cleartext":
        return APP if est and flow.app == "http2" else none
    if kind == "http-without-host":
        return frozenset({COMPLETE}) if flow.app == "http" and flow.host is None else none
    if kind == "tcp-syn-payload":
        return frozenset({CLIENT_FIRST}) if flow.transport == "tcp" and flow.syn_payload else none
    if kind == "udp":
        return client if flow.transport == "udp" else none
    if kind == "ip-other":
        return client if flow.ip_proto not in (6, 17) else none
    if kind == "service":
        return client if flow.transport == rule.protocol.lower() else none
    if kind == "service-resolved":
        ok = flow.transport == rule.protocol.lower() and flow.dst in ctx.resolved_for(arg)
        return client if ok else none
    raise ValueError(f"the engine model does not know rule kind '{rule.match}'")


def decide(groups: tuple[Group, ...], flow: Flow, ctx: Context) -> Decision:
    """The verdict for `flow` through all of a region's groups together: packet by packet, the first packet
    on which a drop outranks every pass decides; a domain list's pass passes the rest of the flow."""
    v = ctx.validation
    if v is not None and getattr(v, "action", "") in ("DROP", "REJECT") and inside(flow.src, v.sources):
        known = set().union(*ctx.resolved.values()) if ctx.resolved else set()
        if flow.dst not in known and not inside(flow.dst, ctx.bypass):
            return Decision("drop", None, None, "resolved-IP validation: the resolver never returned this address", -1)
    hits: list[tuple[frozenset, int, str, int, str, bool]] = []  # packets, rank, group, sid, why, flow-level
    for group in groups:
        if isinstance(group, DomainListGroup):
            for packets, action, sid, why in domain_matches(group, flow, ctx):
                hits.append((packets, ORDER[action], group.name, sid, why, True))
        else:
            for rule in group.rules:
                packets = rule_matches(rule, group, flow, ctx)
                if packets:
                    hits.append((packets, ORDER[rule.action], group.name, rule.sid, rule.note or rule.protocol, False))

    def packet(stage: int) -> int:  # which packet a stage is for this flow
        if flow.transport != "tcp" and stage in APP:
            return CLIENT_FIRST  # one client packet carries everything (UDP, ICMP, other IP protocols)
        return CLIENT_DATA if stage == COMPLETE and not flow.split else stage

    hits = [(frozenset(map(packet, h[0])), *h[1:]) for h in hits]
    passed = None
    for stage in sorted({s for h in hits for s in h[0]}):
        here = [h for h in hits if stage in h[0]]
        here = [h for h in here if h[1] != ORDER["ALERT"]]
        if not here:
            continue
        best = min(here, key=lambda h: (h[1], h[2], h[3]))
        if best[1] != ORDER["PASS"]:
            return Decision("drop", best[2], best[3], best[4], stage)
        if best[5]:
            return Decision("pass", best[2], best[3], best[4], stage)
        passed = passed or Decision("pass", best[2], best[3], best[4], stage)
    return passed or Decision("uninspected", why="no rule matches: the rule groups let it through")
