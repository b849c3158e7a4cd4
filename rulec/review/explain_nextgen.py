"""`rulec explain` for `engine: next-gen`: the firewall engine accepts what one of its rules accepts and drops the
rest by default (FirewallDefaultAction DROP), so the answer is the accepting rule or the default."""

from __future__ import annotations

from rulec.compile.ir import RegionPlan
from rulec.load.domains import matches
from rulec.review.explain import Verdict, origin_text, parse_host

DEFAULT = "FirewallDefaultAction DROP (engine: next-gen): no firewall rule accepts it"


def explain(text: str, plan: RegionPlan) -> list[Verdict]:
    name, port = parse_host(text)
    rules = [(g, r) for g in plan.nextgen.groups for r in g.rules]
    if port is not None and port not in (80, 443):
        out = []
        for proto in ("TCP", "UDP"):
            hit = [s for s in plan.resolved.services if s.host == name and s.port == port and s.protocol == proto]
            if not hit:
                out.append(Verdict(proto, "drop", DEFAULT))
                continue
            keys = {f"service:{proto.lower()}:{name}:{port}:{c}" for c in hit[0].ips or ()}
            sids = [f"{g.name} sid {r.sid}" for g, r in rules if r.key in keys]
            out.append(
                Verdict(
                    proto,
                    "pass",
                    f"accepted at {proto}_FLOW_START by {', '.join(sids)} (addresses "
                    f"{', '.join(hit[0].ips or ())} only)",
                    [str(hit[0].origin.pos)],
                )
            )
        return out
    targets = {t.name: t for t in plan.resolved.targets}
    out = []
    for label, hook, key in (("TLS", "TLS_CLIENT_HELLO", "ng:tls:"), ("HTTP", "HTTP1_REQUEST_HEADERS", "ng:http:")):
        mine = [(g, r) for g, r in rules if r.hook == hook]
        if not mine:
            continue
        wanted = 443 if label == "TLS" else 80
        hit = next(((g, r) for g, r in mine if matches(r.key.removeprefix(key), name)), None)
        if hit is None or port not in (None, wanted):
            why = DEFAULT if hit is None else f"{DEFAULT} on port {port} (the carriers cover {wanted} only)"
            out.append(Verdict(label, "drop", why))
            continue
        g, r = hit
        target = targets.get(r.key.removeprefix(key))
        origins = [origin_text(o) for o in target.origins] if target else []
        out.append(Verdict(label, "pass", f"accepted at {hook} (port {wanted}) by {g.name} sid {r.sid}", origins))
    return out
