"""Verify results as text or JSON-ready data. Returns strings and data; never prints.

Text, by default: the failures of every region in one table, each open path once (with the regions it is
open in), the notes, then a summary per region and in total. `every=True` prints every probe instead."""

from __future__ import annotations

from typing import Any

from rulec.verify import RegionReport, Verdict

_HEAD = ("region", "", "verdict", "expect", "kind", "target", "rule", "why")


def _rule(v: Verdict) -> str:
    return f"{v.by.group} sid {v.by.sid}" if v.by else ("-" if not v.dropped else "(policy default)")


def _status(v: Verdict) -> str:
    if v.differs and v.ok:
        return "DIFFERS"
    if v.uncovered:
        return "OPEN"
    if not v.understood:
        return "UNPARSED"
    return "ok" if v.ok else "FAIL"


def _table(rows: list[tuple[str, Verdict]]) -> list[str]:
    cells = [
        (region, _status(v), v.verdict, v.probe.expect, v.probe.kind, v.probe.target, _rule(v), v.probe.why)
        for region, v in rows
    ]
    head = _HEAD
    if any(v.dns for _, v in rows):  # the DNS layer's answer next to the firewall's verdict
        head = (*_HEAD[:3], "dns", *_HEAD[3:])
        cells = [(*c[:3], v.dns or "-", *c[3:]) for c, (_, v) in zip(cells, rows, strict=True)]
    widths = [max(len(r[i]) for r in [head, *cells]) for i in range(len(head) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in [head, *cells]]


def _once(found: dict, key, region: str) -> None:
    """Remember that `key` was seen in `region`, each region once."""
    regions = found.setdefault(key, [])
    if region not in regions:
        regions.append(region)


def _counts(reports: list[RegionReport]) -> tuple[int, int, int, int]:
    probes = sum(len(r.verdicts) for r in reports)
    failed = sum(len(r.failures) for r in reports)
    open_ = sum(1 for r in reports for v in r.verdicts if v.uncovered)
    return probes, failed, probes - failed - open_, open_


def _summary(label: str, reports: list[RegionReport]) -> str:
    probes, failed, ok, open_ = _counts(reports)
    seconds = max((r.seconds for r in reports), default=0.0)
    return f"{label}: {failed} failed, {ok} as expected, {open_} not covered ({probes} probes, {seconds:.2f} s)"


def text(reports: list[RegionReport], engine: str, every: bool = False) -> str:
    """The whole verify run as text: failures (or, with `every`, every probe), open paths once, summaries."""
    lines = [f"Suricata {engine}: {len(reports)} region(s)"]
    rows = [(r.region, v) for r in reports for v in r.verdicts if every or not v.ok]
    if rows:
        lines += ["", *_table(rows)]
    paths: dict[tuple[str, str, str], list[str]] = {}
    for r in reports:
        for v in r.verdicts:
            if v.uncovered:
                _once(paths, (v.probe.kind, v.probe.target, v.probe.why), r.region)
    if paths:
        lines.append("")
        for (kind, target, why), regions in paths.items():
            where = "every region" if len(regions) == len(reports) > 1 else ", ".join(regions)
            lines.append(f"warning: not covered: {kind} {target} passes ({why}) [{where}]")
    differ: dict[tuple[str, str, str, str], list[str]] = {}
    for r in reports:
        for v in r.verdicts:
            if v.differs and v.ok:
                _once(differ, (v.probe.kind, v.probe.target, v.probe.why, v.differs[1]), r.region)
    if differ:
        lines.append("")
        for (kind, target, why, how), regions in differ.items():
            where = "every region" if len(regions) == len(reports) > 1 else ", ".join(regions)
            lines.append(f"warning: differs from Suricata 8: {kind} {target} ({why}): {how} [{where}]")
    notes: dict[str, list[str]] = {}
    for r in reports:
        for n in r.notes:
            _once(notes, n, r.region)
    lines += [f"note: {n} [{', '.join(regions)}]" for n, regions in notes.items()]
    lines.append("")
    lines += [_summary(r.region, [r]) for r in reports]
    if len(reports) > 1:
        lines.append(_summary("total", reports))
    return "\n".join(lines)


def as_data(report: RegionReport, engine: str, only_problems: bool = False) -> dict[str, Any]:
    """One region as JSON-ready data: every probe, or with `only_problems` the failures and open paths."""
    probes, failed, ok, open_ = _counts([report])
    return {
        "region": report.region,
        "engine": f"suricata {engine}",
        "seconds": round(report.seconds, 3),
        "probe_count": probes,
        "failed": failed,
        "as_expected": ok,
        "not_covered": open_,
        "notes": report.notes,
        "probes": [
            {
                "kind": v.probe.kind,
                "host": v.probe.host,
                "port": v.probe.port,
                "source": v.probe.source,
                "dst": v.probe.dst,
                "pad": v.probe.pad,
                "split": v.probe.split,
                "expect": v.probe.expect,
                "verdict": v.verdict,
                "ok": v.ok,
                "uncovered": v.uncovered,
                "understood": v.understood,
                "rule": {"group": v.by.group, "sid": v.by.sid} if v.by else None,
                "app_proto": v.app_proto,
                "why": v.probe.why,
                "differs_from_suricata8": v.differs[1] if v.differs else None,
                "dns": v.dns,
            }
            for v in report.verdicts
            if not only_problems or not v.ok or v.uncovered or v.differs
        ],
    }
