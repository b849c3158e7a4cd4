"""Lint stage: small checks with stable codes over a resolved and compiled policy.

Every finding points at the policy line that causes it (the `allow` entry, or the `features` item that
brought a catalog entry in, naming that entry), so a reviewer can act on it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import ClassVar, Iterable

from rulec.compile.ir import RegionPlan
from rulec.compile.resolve import Origin
from rulec.errors import Position, printable
from rulec.load.policy import LoadedPolicy

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True, order=True)
class Finding:
    pos: Position
    code: str
    severity: str
    message: str
    # what a waiver names (a domain name, a CIDR, a protocol) and the region, when the finding has them
    target: str = field(default="", compare=False)
    region: str = field(default="", compare=False)

    def __str__(self) -> str:
        return printable(f"{self.pos}: {self.code} {self.severity} {self.message}")


@dataclass
class Context:
    policy: LoadedPolicy
    plans: list[RegionPlan]
    today: datetime.date = field(default_factory=datetime.date.today)
    max_age_days: int = 365
    memo: dict = field(default_factory=dict)  # what several checks derive from the plans, derived once per run


class Check:
    """One rule: a stable code, a default severity, and a one-line description for the docs."""

    code: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]
    max_severity: ClassVar[str | None] = None  # when some findings are more severe than `severity`

    @classmethod
    def can_block(cls) -> bool:
        """Whether the check can find errors, the findings that stop build, check, push and export."""
        return (cls.max_severity or cls.severity) == "error"

    def run(self, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def at(
        self, pos: Position, message: str, severity: str | None = None, target: str = "", region: str = ""
    ) -> Finding:
        return Finding(pos, self.code, severity or self.severity, message, target, region)

    def origin(
        self, origin: Origin, message: str, severity: str | None = None, target: str = "", region: str = ""
    ) -> Finding:
        """A finding at the policy line of `origin`, naming the catalog entry when a feature brought it."""
        if origin.feature is not None and origin.entry is not None:
            message += f" (from feature '{origin.feature}': catalog entry {origin.entry.label} at {origin.entry_pos})"
        return self.at(origin.pos, message, severity, target, region)


def collect(ctx: Context, checks: Iterable[Check] | None = None) -> list[Finding]:
    """Every finding as the checks report it, once per region (before waivers and de-duplication)."""
    from rulec.review.lint.checks import ALL

    found: list[Finding] = []
    for check in checks if checks is not None else [c() for c in ALL]:
        found.extend(check.run(ctx))
    return found


def run(ctx: Context, checks: Iterable[Check] | None = None) -> list[Finding]:
    """The full report: every finding once, waived ones as info, unused or expired waivers as errors."""
    from rulec.review.lint.waivers import apply

    return unique(apply(ctx, collect(ctx, checks)))


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """One line per finding: the same problem seen from several regions is reported once."""
    return sorted(set(findings), key=lambda f: (f.pos, f.code, f.message))


def at_least(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)
