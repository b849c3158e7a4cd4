"""Compile stage, `engine: next-gen`: the FIREWALL rule groups of a Next Generation policy (FirewallPolicyV2).

The firewall engine is Suricata's firewall mode and drops by default at every hook a flow passes, so egress
is strict by construction: the rules below only *accept*. Their shape follows AWS's documented examples and
what measured correct on Suricata 8.0.8 (README, "Next Generation engine"):
- two carrier rules accept the TCP layer both ways, limited to the ports of the allowed names (443 for
  TLS_SNI, 80 for HTTP_HOST); without them the default drops every flow at the TCP layer;
- a drop, placed before the carriers, of established TCP to those ports whose application protocol is still
  unknown: the carriers alone would let non-TLS bytes on 443 through (no app-layer hook ever runs);
- TLS: `client_started` accepted explicitly, then one `accept:flow` at `client_hello` per name (split
  ClientHellos are decided once the whole hello is buffered);
- HTTP/1: `request_started` and `request_line` accepted, one `accept:tx` at `request_headers` per name (each
  request on a connection is checked), the last with AcceptPriorHooks (`<`) so headers split across segments
  are not decided early; the later request and response hooks accepted;
- services: one `accept:flow` at the first packet of the flow (TCP_FLOW_START / UDP_FLOW_START) per address.
Rule names use AWS's HookKey; rulec.verify.hooks translates them for open-source Suricata.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rulec.compile.lock import Lock, assign
from rulec.compile.plan import auto_capacity
from rulec.compile.resolve import ResolvedRegion
from rulec.compile.strict import EXTERNAL, HOME, complement
from rulec.errors import Diagnostic, RulecError
from rulec.load.policy import RESOLVED_DOMAIN, GroupSpec, LoadedPolicy

FIREWALL_CAPACITY = 30_000  # firewall-engine rules per Next Generation policy (AWS dev guide, rule-group-capacity-v2)
SERVICES_PRIORITY, ALLOW_PRIORITY = 100, 200
TLS_PORT, HTTP_PORT = 443, 80
HTTP_LATER = ("REQUEST_BODY", "REQUEST_TRAILER", "REQUEST_COMPLETE")
HTTP_RESPONSE = ("STARTED", "LINE", "HEADERS", "BODY", "TRAILER", "COMPLETE")


@dataclass(frozen=True)
class FirewallRule:
    """One firewall-engine rule, as botocore's FirewallRule holds it (AWS hook names)."""

    key: str  # identity in the SID lock
    sid: int
    action: str  # ACCEPT | DROP | REJECT
    scope: str  # FLOW | TX | HOOK | PACKET
    hook: str  # a botocore HookKey value
    protocol: str  # FirewallRuleProtocol, matching the hook's prefix
    source: str = HOME
    source_port: str = "any"
    destination: str = EXTERNAL
    destination_port: str = "any"
    options: tuple[tuple[str, str | None], ...] = ()
    accept_prior: bool = False  # AcceptPriorHooks: the `<` form
    alert: bool = False  # AlertEnabled
    note: str = ""


@dataclass(frozen=True)
class FirewallGroup:
    name: str
    description: str
    capacity: int
    capacity_explicit: bool
    home_net: tuple[str, ...]
    external_net: tuple[str, ...]
    rules: tuple[FirewallRule, ...]
    priority: int
    role: str  # allowlist | services

    @property
    def rule_count(self) -> int:
        return len(self.rules)


@dataclass(frozen=True)
class NextGenPlan:
    """A region's FirewallPolicyV2 and the FIREWALL groups it references."""

    name: str
    description: str | None
    mode: str  # ENFORCE | MONITOR
    home_net: tuple[str, ...]
    stream_exception_policy: str | None
    validation: object | None  # compile.egress.Validation
    groups: tuple[FirewallGroup, ...]
    denied: tuple[str, ...]  # deny_protocols: dropped by the default action, no rule of their own

    @property
    def rule_count(self) -> int:
        return sum(g.rule_count for g in self.groups)


def check_policy(lp: LoadedPolicy) -> None:
    """Bad input specific to the engine choice, before anything is resolved (exit 2 at the line)."""
    p, doc, problems = lp.policy, lp.doc, []
    layers = [(("firewall_policy",), p.firewall_policy)] + [
        (("regions", r, "firewall_policy"), s.firewall_policy) for r, s in p.regions.items()
    ]
    if p.engine != "next-gen":
        for path, fp in layers:
            if fp is not None and fp.mode is not None:
                problems.append(
                    Diagnostic(doc.key_at(*path, "mode"), "firewall_policy.mode applies only to engine: next-gen")
                )
        if problems:
            raise RulecError(problems)
        return
    top = p.firewall_policy.name if p.firewall_policy else None
    unnamed = [r for r, s in p.regions.items() if not top and not (s.firewall_policy and s.firewall_policy.name)]
    if unnamed:
        problems.append(
            Diagnostic(
                doc.at("engine"),
                "engine: next-gen writes a FirewallPolicyV2 and needs its name: declare firewall_policy: {name: ...}"
                + (f" (missing for {', '.join(unnamed)})" if len(unnamed) < len(p.regions) else ""),
            )
        )
    for path in [("egress",)] + [("regions", r, "egress") for r in p.regions]:
        if path in doc.values and _get(p, path) == "domains":
            problems.append(
                Diagnostic(
                    doc.at(*path),
                    "engine: next-gen drops by default, so egress is strict by construction; remove "
                    "`egress: domains` (or use engine: classic for a domain list only)",
                )
            )
    for path, fp in layers:
        if fp is not None and fp.stream_exception_policy == "CONTINUE":
            problems.append(
                Diagnostic(
                    doc.at(*path, "stream_exception_policy"),
                    "stream_exception_policy CONTINUE is a Classic-only setting; a Next Generation policy takes "
                    "DROP or REJECT",
                )
            )
    if RESOLVED_DOMAIN in p.target_types:
        problems.append(
            Diagnostic(
                doc.at("target_types", p.target_types.index(RESOLVED_DOMAIN)),
                f"{RESOLVED_DOMAIN} is not supported with engine: next-gen (firewall-engine domain lists exist "
                "only as referenced groups, and their generated rules are not published); use TLS_SNI/HTTP_HOST",
            )
        )
    if problems:
        raise RulecError(problems)


def _get(policy, path: tuple) -> object:
    return policy.egress if len(path) == 1 else policy.regions[path[1]].egress


def _mode(lp: LoadedPolicy, region: str) -> str:
    own = lp.policy.regions[region].firewall_policy
    top = lp.policy.firewall_policy
    mode = (own.mode if own else None) or (top.mode if top else None) or "enforce"
    return mode.upper()


def _name_options(buffer: str, target: str, nocase: bool) -> tuple[tuple[str, str | None], ...]:
    case = (("nocase", None),) if nocase else ()
    if target.startswith("."):
        return ((buffer, None), ("dotprefix", None), ("content", f'"{target}"'), *case, ("endswith", None))
    return ((buffer, None), ("content", f'"{target}"'), ("startswith", None), *case, ("endswith", None))


def allow_specs(types: tuple[str, ...], targets: tuple[str, ...]) -> list[dict]:
    """The allowlist group's rules (without SIDs), in evaluation order."""
    ports = [p for t, p in (("HTTP_HOST", HTTP_PORT), ("TLS_SNI", TLS_PORT)) if t in types]
    web = str(ports[0]) if len(ports) == 1 else "[" + ",".join(map(str, ports)) + "]"
    tcp = {"hook": "TCP_ALL", "protocol": "TCP"}
    out = [
        dict(
            key="ng:tcp-unknown-app",
            action="DROP",
            scope="FLOW",
            destination_port=web,
            options=(("flow", "established,to_server"), ("app-layer-protocol", "unknown")),
            alert=True,
            note=f"established TCP to {web} that is no known protocol (non-TLS bytes on 443): the carriers "
            "alone would accept it",
            **tcp,
        ),
        dict(
            key="ng:tcp-h2c",
            action="DROP",
            scope="FLOW",
            destination_port=web,
            options=(("flow", "established,to_server"), ("app-layer-protocol", "http2")),
            alert=True,
            note=f"HTTP/2 in clear text (h2c) to {web}: frames that open no request reach no app-layer hook",
            **tcp,
        ),
        dict(
            key="ng:carrier:to-server",
            action="ACCEPT",
            scope="HOOK",
            destination_port=web,
            options=(("flow", "to_server"),),
            note=f"carrier: the TCP layer towards {web}, so the app-layer rules get to run",
            **tcp,
        ),
        dict(
            key="ng:carrier:to-client",
            action="ACCEPT",
            scope="HOOK",
            source=EXTERNAL,
            source_port=web,
            destination=HOME,
            options=(("flow", "to_client"),),
            note=f"carrier: the TCP layer back from {web}",
            **tcp,
        ),
    ]
    if "TLS_SNI" in types:
        tls = {"protocol": "TLS", "destination_port": str(TLS_PORT)}
        out.append(dict(key="ng:tls:prior", action="ACCEPT", scope="HOOK", hook="TLS_CLIENT_STARTED", **tls))
        out[-1]["note"] = "the hook before the ClientHello is complete (a split ClientHello waits here)"
        for t in targets:
            out.append(
                dict(
                    key=f"ng:tls:{t}",
                    action="ACCEPT",
                    scope="FLOW",
                    hook="TLS_CLIENT_HELLO",
                    options=_name_options("tls.sni", t, True),
                    note=f"TLS SNI {t}",
                    **tls,
                )
            )
    if "HTTP_HOST" in types:
        http = {"protocol": "HTTP", "destination_port": str(HTTP_PORT)}
        for state in ("REQUEST_STARTED", "REQUEST_LINE"):
            out.append(
                {"key": f"ng:http:{state.lower()}", "action": "ACCEPT", "scope": "HOOK", "hook": f"HTTP1_{state}"}
            )
            out[-1].update(http, note="a hook before the Host header")
        for i, t in enumerate(targets):
            out.append(
                dict(
                    key=f"ng:http:{t}",
                    action="ACCEPT",
                    scope="TX",
                    hook="HTTP1_REQUEST_HEADERS",
                    options=_name_options("http.host", t, False),
                    accept_prior=i == len(targets) - 1,
                    note=f"HTTP Host {t}",
                    **http,
                )
            )
        for state in HTTP_LATER:
            out.append(
                {"key": f"ng:http:{state.lower()}", "action": "ACCEPT", "scope": "HOOK", "hook": f"HTTP1_{state}"}
            )
            out[-1].update(http, note="request hooks after an accepted Host")
        for state in HTTP_RESPONSE:
            out.append(
                {
                    "key": f"ng:http:response_{state.lower()}",
                    "action": "ACCEPT",
                    "scope": "HOOK",
                    "hook": f"HTTP1_RESPONSE_{state}",
                    "protocol": "HTTP",
                    "source": EXTERNAL,
                    "source_port": str(HTTP_PORT),
                    "destination": HOME,
                    "note": "response hooks",
                }
            )
    return out


def service_specs(r: ResolvedRegion) -> list[dict]:
    out = []
    for s in r.services:
        for cidr in s.ips or ():
            out.append(
                {
                    "key": f"service:{s.protocol.lower()}:{s.host}:{s.port}:{cidr}",
                    "action": "ACCEPT",
                    "scope": "FLOW",
                    "hook": f"{s.protocol}_FLOW_START",
                    "protocol": s.protocol,
                    "destination": cidr,
                    "destination_port": str(s.port),
                    "options": (("flow", "to_server"),) if s.protocol == "TCP" else (),
                    "note": f"service {s.label}",
                }
            )
    return out


def compile_policy(lp: LoadedPolicy, regions: list[ResolvedRegion], lock: Lock):
    """RegionPlans whose `nextgen` holds the FIREWALL groups and the V2 policy; the updated lock."""
    from rulec.compile.ir import RegionPlan

    policy, problems = lp.policy, []
    types = tuple(policy.target_types)
    allow_name, svc_name = policy.groups.allowlist.name, policy.groups.strict.name
    specs = {}
    for r in regions:
        for s in r.services:
            if s.ips is None:
                problems.append(
                    Diagnostic(
                        s.origin.pos,
                        f"service {s.label} has no `ips`: with engine: next-gen a service is accepted by address "
                        f"(give {{host: {s.host}, port: {s.port}, ips: [CIDR, ...]}})",
                    )
                )
        specs[r.region] = (allow_specs(types, tuple(t.name for t in r.targets)), service_specs(r))
        # a policy past the engine's limit fails here, before SIDs are assigned and rules built
        over = _over_limit(sum(map(len, specs[r.region])), lp, r.region)
        problems += [over] if over is not None else []
    if problems:
        raise RulecError(problems)
    wanted: dict[str, list[str]] = {allow_name: []}
    for a, s in specs.values():
        wanted[allow_name] += [x["key"] for x in a]
        wanted.setdefault(svc_name, []).extend(x["key"] for x in s)
    wanted = {g: list(dict.fromkeys(keys)) for g, keys in wanted.items() if keys}
    new_lock = assign(lock, wanted)
    plans = []
    for r in regions:
        declared = r.firewall_policy
        external = complement(tuple(r.home_net))
        groups = []
        for gspec, role, name, items, prio in (
            (policy.groups.strict, "services", svc_name, specs[r.region][1], SERVICES_PRIORITY),
            (policy.groups.allowlist, "allowlist", allow_name, specs[r.region][0], ALLOW_PRIORITY),
        ):
            if not items:
                continue
            sids = new_lock.groups[name].sids
            rules = tuple(FirewallRule(sid=sids[x["key"]], **x) for x in items)
            default = f"{'Services' if role == 'services' else 'Egress allowlist'} for {r.region} (next-gen), by rulec"
            desc = gspec.description if gspec.description is not None else default
            groups.append(FirewallGroup(name, desc, 0, False, tuple(r.home_net), external, rules, prio, role))
        groups = _capacities(groups, policy.groups, lp, r.region, problems)
        ng = NextGenPlan(
            declared.name,
            declared.description,
            _mode(lp, r.region),
            tuple(declared.home_net),
            declared.stream_exception_policy,
            declared.validation,
            tuple(groups),
            tuple(r.deny_protocols),
        )
        plans.append(RegionPlan(r.region, (), r, nextgen=ng))
    if problems:
        raise RulecError(problems)
    return plans, new_lock


def _over_limit(need: int, lp: LoadedPolicy, region: str) -> Diagnostic | None:
    if need <= FIREWALL_CAPACITY:
        return None
    return Diagnostic(
        lp.doc.key_at("regions", region),
        f"the next-gen policy for {region} needs {need:,} firewall rules, more than the "
        f"{FIREWALL_CAPACITY:,} the firewall engine holds per policy; remove at least "
        f"{need - FIREWALL_CAPACITY:,} rules (names or service addresses)",
    )


def _capacities(groups: list[FirewallGroup], specs, lp: LoadedPolicy, region: str, problems: list) -> list:
    over = _over_limit(sum(g.rule_count for g in groups), lp, region)
    if over is not None:
        problems.append(over)
        return groups
    out = []
    for g in groups:
        spec: GroupSpec = specs.allowlist if g.role == "allowlist" else specs.strict
        if spec.capacity is not None:
            if spec.capacity < g.rule_count:
                kind = "allowlist" if g.role == "allowlist" else "strict"
                problems.append(
                    Diagnostic(
                        lp.doc.at("groups", kind, "capacity"),
                        f"capacity {spec.capacity} of '{g.name}' is below the {g.rule_count} rules it needs in "
                        f"{region}; set at least {g.rule_count}",
                    )
                )
            out.append(replace(g, capacity=spec.capacity, capacity_explicit=True))
        else:
            out.append(replace(g, capacity=auto_capacity(g.rule_count)))
    total = sum(g.capacity for g in out)
    if total > FIREWALL_CAPACITY:  # headroom must not push the policy past the engine's limit
        spare = FIREWALL_CAPACITY - sum(g.capacity for g in out if g.capacity_explicit)
        auto = [g for g in out if not g.capacity_explicit]
        share = sum(g.rule_count for g in auto) or 1
        room = spare - share
        out = [
            g if g.capacity_explicit else replace(g, capacity=g.rule_count + room * g.rule_count // share) for g in out
        ]
    return out
