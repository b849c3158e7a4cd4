"""Render what learn found: a readable report, JSON, or the patch itself. Same input, same bytes."""

from __future__ import annotations

import datetime
import json

from rulec.learn import Result
from rulec.learn.attribute import Name
from rulec.learn.logs import Observations, Seen

MAX_LISTED = 200  # unexplained names shown in the text report (JSON has them all)


def _when(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sources(s: Seen) -> str:
    if s.unique_sources is not None:
        return f"{s.unique_sources} unique source(s)"
    if not s.clients:
        return "no client address"
    shown = ", ".join(sorted(s.clients))
    return f"clients {shown}{', and more' if s.more_clients else ''}"


def _seen_text(s: Seen) -> str:
    span = f"{_when(s.first)} .. {_when(s.last)}" if s.first is not None else "no timestamps"
    return f"{s.hits} hit(s) {'/'.join(sorted(s.protocols))}, {span}, {_sources(s)}"


def _input_lines(obs: Observations) -> list[str]:
    if obs.source == "analysis-report":
        out = [f"read a traffic analysis report: {obs.events} domain row(s)"]
    else:
        out = [
            (
                f"read {obs.files} file(s), {obs.lines} line(s), {obs.events} event(s): {obs.blocked} blocked "
                f"({obs.unnamed_blocked} without an SNI or Host), {obs.allowed} allowed"
            )
        ]
        if obs.skipped:
            out.append(
                "  skipped (no verdict on a name): " + ", ".join(f"{k} {v}" for k, v in sorted(obs.skipped.items()))
            )
    if obs.firewalls:
        out.append("  firewall(s): " + ", ".join(sorted(obs.firewalls)))
    if obs.untracked:
        out.append(f"  {obs.untracked} blocked event(s) of names beyond the first {len(obs.names)} were not tracked")
    for reason, p in sorted(obs.bad.items()):
        out.append(f"  bad input: {reason}: {p.count} (first at {p.first_at})")
    return out


def text(r: Result) -> str:
    out = [f"rulec learn {r.policy}"] + _input_lines(r.observations)
    out += [f"note: {n}" for n in r.notes]
    accepted = [p for p in r.proposals if p.accepted]
    out.append("")
    out.append(f"proposed ({len(accepted)}):" if accepted else "proposed: nothing")
    for p in accepted:
        where = "every region" if p.everywhere else p.regions[0]
        out.append(f"  + {p.kind} {p.value} in {where} ({'.'.join(p.path)}): {p.hits} hit(s), {len(p.names)} name(s)")
        out += [f"      WARNING {w}" for w in p.warnings]
        for n in p.names:
            out.append(f"      {n.name}: {_seen_text(n.seen)}")
            for h in n.features[:1] if p.kind == "feature" else []:
                out.append(f"        catalog: {h.entry} at {h.where} (source {h.source}, reviewed {h.reviewed})")
    rejected = [p for p in r.proposals if not p.accepted]
    if rejected:
        out.append("")
        out.append(f"not proposed ({len(rejected)}):")
        for p in rejected:
            out.append(f"  - {p.kind} {p.value} in {', '.join(p.regions)}: {p.hits} hit(s)")
            out += [f"      {e}" for e in p.errors + (p.warnings if p.kind == "wildcard" else [])]
    loose = sorted((n for n in r.names if n.status == "unexplained"), key=lambda n: (-n.seen.hits, n.region, n.name))
    if loose:
        out.append("")
        out.append(f"unexplained: no catalog feature allows these ({len(loose)}; review, add to `allow` yourself):")
        for n in loose[:MAX_LISTED]:
            cover = f" [covered by proposed {n.wildcard}]" if n.wildcard else ""
            out.append(f"  ? {n.region} {n.name}: {_seen_text(n.seen)}{cover}")
            out += [f"      {f}" for f in n.findings]
        if len(loose) > MAX_LISTED:
            out.append(f"  ... and {len(loose) - MAX_LISTED} more (--format json lists all)")
    invalid = [n for n in r.names if n.status == "invalid"]
    if invalid:
        out.append("")
        out.append(f"not domain-list names ({len(invalid)}):")
        out += [f"  ! {n.region} {n.reason} ({n.seen.hits} hit(s))" for n in invalid]
    allowed = [n for n in r.names if n.status == "allowed"]
    if allowed:
        out.append("")
        out.append(
            f"already allowed by the policy ({len(allowed)}): " + ", ".join(sorted({n.name for n in allowed})[:20])
        )
    out += [""] + _outcome_lines(r)
    return "\n".join(out) + "\n"


def _outcome_lines(r: Result) -> list[str]:
    if r.build_errors:
        return ["the patched policy does NOT build:"] + [f"  {e}" for e in r.build_errors]
    if r.patched == r.original:
        return ["no change to propose"]
    out = [f"new lint finding(s) at warning or above: {f}" for f in r.new_findings]
    out.append("review the change with `rulec learn ... --format patch`; apply it with --write, then `rulec build`")
    return out


def _name_data(n: Name) -> dict:
    s = n.seen
    return {
        "region": n.region,
        "name": n.name,
        "status": n.status,
        "hits": s.hits,
        "protocols": sorted(s.protocols),
        "first_seen": _when(s.first),
        "last_seen": _when(s.last),
        "clients": sorted(s.clients),
        "more_clients": s.more_clients,
        "unique_sources": s.unique_sources,
        "features": [h.__dict__ for h in n.features],
        "findings": n.findings,
        "wildcard": n.wildcard,
        "reason": n.reason or None,
    }


def as_data(r: Result) -> dict:
    o = r.observations
    return {
        "policy": str(r.policy),
        "input": {
            "source": o.source,
            "files": o.files,
            "lines": o.lines,
            "events": o.events,
            "blocked": o.blocked,
            "allowed": o.allowed,
            "blocked_without_name": o.unnamed_blocked,
            "untracked": o.untracked,
            "skipped": dict(sorted(o.skipped.items())),
            "bad": {k: {"count": p.count, "first_at": p.first_at} for k, p in sorted(o.bad.items())},
            "firewalls": sorted(o.firewalls),
        },
        "min_subdomains": r.min_subdomains,
        "notes": r.notes,
        "proposals": [
            {
                "kind": p.kind,
                "value": p.value,
                "regions": p.regions,
                "path": list(p.path),
                "accepted": p.accepted,
                "hits": p.hits,
                "names": [n.name for n in p.names],
                "warnings": p.warnings,
                "errors": p.errors,
            }
            for p in r.proposals
        ],
        "names": [_name_data(n) for n in r.names],
        "patch": r.patch,
        "new_findings": r.new_findings,
        "build_errors": r.build_errors,
    }


def render(r: Result, fmt: str, written: bool = False) -> str:
    if fmt == "json":
        return json.dumps(as_data(r) | {"written": written}, indent=2) + "\n"
    if fmt == "patch":
        return r.patch
    return text(r) + (
        f"wrote {r.policy}; now run `rulec build` and commit the policy and the lock\n" if written else ""
    )


def progress_line(done: int, total: int, width: int = 30) -> str:
    """`\\r[#####.....]  42% 420.0/1000.0 MiB` for a terminal; the caller writes it to stderr."""
    frac = done / total if total else 1.0
    bar = "#" * int(frac * width)
    end = "\n" if done >= total else ""
    return f"\r[{bar:<{width}}] {frac:4.0%} {done / 2**20:.1f}/{total / 2**20:.1f} MiB{end}"
