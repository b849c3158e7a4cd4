"""The risk gate: lint errors stop `build`, `check`, `push` and `export` unless a waiver accepts them.

Two classes of problem: bad input (exit 2, never waivable, raised as RulecError by the stages) and risk
findings (lint errors, exit 1). The gate runs only the checks that can find errors, plus those a waiver names,
so it costs one pass over the names; `rulec lint` stays the full report.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from rulec.compile.ir import RegionPlan
from rulec.load.policy import LoadedPolicy
from rulec.review.lint import Context, Finding, collect, unique
from rulec.review.lint.waivers import apply


@dataclass(frozen=True)
class GateResult:
    blocking: list[Finding]  # errors no waiver accepts (unused and expired waivers included)
    waived: list[Finding]  # accepted findings, as info

    @property
    def passed(self) -> bool:
        return not self.blocking

    def report(self, action: str = "build") -> str:
        """The findings, one per line (file:line:col: CODE severity message), and what to do; '' if none."""
        lines = [str(f) for f in sorted(self.blocking + self.waived, key=lambda f: (f.pos, f.code, f.message))]
        if self.blocking:
            n = len(self.blocking)
            lines.append(
                f"{n} risk finding{'s' if n != 1 else ''} stop{'' if n != 1 else 's'} {action}: fix "
                f"{'them' if n != 1 else 'it'}, or accept each with a waiver (code, target, reason) under "
                "`waivers:` in the policy; nothing was written"
            )
        return "\n".join(lines)


def risk_gate(lp: LoadedPolicy, plans: list[RegionPlan], today: datetime.date | None = None) -> GateResult:
    """Run the checks that can stop a build and apply the policy's waivers."""
    from rulec.review.lint.checks import ALL

    ctx = Context(lp, plans, today or datetime.date.today())
    named = {w.code for w in lp.policy.waivers}
    checks = [c() for c in ALL if c.can_block() or c.code in named]
    found = unique(apply(ctx, collect(ctx, checks)))
    blocking = [f for f in found if f.severity == "error"]
    waived = [f for f in found if f.severity == "info" and f.message.startswith("waived at ")]
    return GateResult(blocking, waived)
