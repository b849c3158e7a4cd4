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
from rulec.errors import Position
from rulec.load.policy import LoadedPolicy

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True, order=True)
class Finding:
    pos: Position
    code: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.pos}: {self.code} {self.severity} {self.message}"


@dataclass
class Context:
    policy: LoadedPolicy
    plans: list[RegionPlan]
    today: datetime.date = field(default_factory=datetime.date.today)
    max_age_days: int = 365


class Check:
    """One rule: a stable code, a default severity, and a one-line description for the docs."""

    code: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]

    def run(self, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def at(self, pos: Position, message: str, severity: str | None = None) -> Finding:
        return Finding(pos, self.code, severity or self.severity, message)

    def origin(self, origin: Origin, message: str, severity: str | None = None) -> Finding:
        """A finding at the policy line of `origin`, naming the catalog entry when a feature brought it."""
        if origin.feature is not None and origin.entry is not None:
            message += f" (from feature '{origin.feature}': catalog entry {origin.entry.label} at {origin.entry_pos})"
        return self.at(origin.pos, message, severity)


def run(ctx: Context, checks: Iterable[Check] | None = None) -> list[Finding]:
    from rulec.review.lint.checks import ALL

    found: set[Finding] = set()
    for check in checks if checks is not None else [c() for c in ALL]:
        found.update(check.run(ctx))
    return sorted(found, key=lambda f: (f.pos, f.code, f.message))


def at_least(severity: str, threshold: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)
