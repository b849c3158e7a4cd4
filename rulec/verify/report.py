"""Verify results as text (a table per region) or JSON-ready data. Returns strings; never prints."""

from __future__ import annotations

from typing import Any

from rulec.verify import RegionReport, Verdict


def _rule(v: Verdict) -> str:
    return f"{v.by.group} sid {v.by.sid}" if v.by else ("-" if not v.dropped else "(policy default)")


def _status(v: Verdict) -> str:
    if v.uncovered:
        return "OPEN"
    if not v.understood:
        return "UNPARSED"
    return "ok" if v.ok else "FAIL"


def table(report: RegionReport, engine: str, only_problems: bool = False) -> str:
    rows = [v for v in report.verdicts if not only_problems or not v.ok or v.uncovered]
    head = ("", "verdict", "expect", "kind", "target", "rule", "why")
    cells = [(_status(v), v.verdict, v.probe.expect, v.probe.kind, v.probe.target, _rule(v), v.probe.why) for v in rows]
    widths = [max(len(str(r[i])) for r in [head, *cells]) for i in range(len(head) - 1)]
    lines = [f"{report.region}: {len(report.verdicts)} probes on Suricata {engine} in {report.seconds:.2f} s"]
    for r in [head, *cells]:
        lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    failures, open_ = report.failures, [v for v in report.verdicts if v.uncovered]
    for v in open_:
        lines.append(f"warning: not covered: {v.probe.kind} {v.probe.target} passes ({v.probe.why})")
    lines.extend(f"note: {n}" for n in report.notes)
    lines.append(
        f"{report.region}: {len(failures)} failed, {len(report.verdicts) - len(failures) - len(open_)} as expected, "
        f"{len(open_)} not covered"
    )
    return "\n".join(lines)


def as_data(report: RegionReport, engine: str) -> dict[str, Any]:
    return {
        "region": report.region,
        "engine": f"suricata {engine}",
        "seconds": round(report.seconds, 3),
        "failed": len(report.failures),
        "notes": report.notes,
        "probes": [
            {
                "kind": v.probe.kind,
                "host": v.probe.host,
                "port": v.probe.port,
                "source": v.probe.source,
                "expect": v.probe.expect,
                "verdict": v.verdict,
                "ok": v.ok,
                "uncovered": v.uncovered,
                "understood": v.understood,
                "rule": {"group": v.by.group, "sid": v.by.sid} if v.by else None,
                "app_proto": v.app_proto,
                "why": v.probe.why,
            }
            for v in report.verdicts
        ],
    }
