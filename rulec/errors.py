"""Diagnostics: every user-facing problem carries a place (file:line:col) and a message."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class Position:
    file: str
    line: int = 0  # 1-based; 0 = whole file
    col: int = 0  # 1-based; 0 = whole line

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"


def printable(text: str) -> str:
    """`text` with newlines, terminal escapes and other invisible characters shown as escapes, so that a
    value quoted in a message cannot forge another diagnostic line or restyle the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass(frozen=True)
class Diagnostic:
    pos: Position
    message: str

    def __str__(self) -> str:
        return f"{printable(str(self.pos))}: {printable(self.message)}"


class RulecError(Exception):
    """Bad input (exit code 2). Carries one or more diagnostics, all reported together."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic | str):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(Position("rulec"), diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        # the same problem seen from several places (a policy-wide entry, once per region) is reported once
        self.diagnostics = sorted(set(diagnostics), key=lambda d: (d.pos, d.message))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def error_at(pos: Position, message: str) -> RulecError:
    return RulecError([Diagnostic(pos, message)])
