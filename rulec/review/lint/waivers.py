"""Waivers: a reviewed exception for one risk finding, named by its code and target (and optionally region).

A waived finding still prints, as info, naming the waiver. A waiver that matches nothing, or has expired, is
itself an error (RC015), so that exceptions never outlive the reason they were granted for.
"""

from __future__ import annotations

from collections.abc import Iterable

from rulec.review.lint import Check, Context, Finding


class WaiverProblem(Check):
    code, severity = "RC015", "error"
    summary = "A waiver that matches no finding, or that has expired (never waivable)."

    def run(self, ctx: Context) -> Iterable[Finding]:
        return ()  # its findings come from `apply`, which sees every other check's findings


def _norm(text: str) -> str:
    return text.strip().lower().rstrip(".")


def apply(ctx: Context, findings: list[Finding]) -> list[Finding]:
    """Findings with the waived ones turned into info, plus an RC015 error for each unused or expired waiver."""
    waivers = ctx.policy.policy.waivers
    if not waivers:
        return findings
    doc = ctx.policy.doc
    index = {(w.code, _norm(w.target), w.region): i for i, w in enumerate(waivers)}
    expired = {i for i, w in enumerate(waivers) if w.expires is not None and w.expires < ctx.today}
    used: set[int] = set()
    out = []
    for f in findings:
        i = index.get((f.code, _norm(f.target), f.region), index.get((f.code, _norm(f.target), None)))
        if i is None or not f.target or f.code == WaiverProblem.code:
            out.append(f)
            continue
        used.add(i)
        if i in expired:
            out.append(f)
            continue
        w = waivers[i]
        until = f", until {w.expires}" if w.expires else ""
        note = f"waived at {doc.at('waivers', i)}{until} ({w.reason.strip()}): "
        out.append(Finding(f.pos, f.code, "info", note + f.message, f.target, f.region))
    for i, w in enumerate(waivers):
        what = f"waiver for {w.code} '{w.target}'" + (f" in {w.region}" if w.region else "")
        if i in expired:
            message = f"{what} expired on {w.expires}: fix the finding, or review it again and renew the waiver"
        elif i not in used:
            message = f"{what} matches no finding: remove it (a waiver names exactly one code and one target)"
        else:
            continue
        out.append(Finding(doc.at("waivers", i), WaiverProblem.code, "error", message, w.target, w.region or ""))
    return out
