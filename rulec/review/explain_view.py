"""`rulec explain` as text or JSON, and what its exit status says (returns strings; never prints)."""

from __future__ import annotations

import json
from typing import Any


def render(host: str, results: list[tuple[str, list[Any]]], fmt: str = "text") -> tuple[str, list[str], bool]:
    """(output, warnings, any drop). A protocol no domain list inspects counts as a pass, with a warning."""
    if fmt == "json":
        data = [{"region": r, "host": host, "verdicts": [v.__dict__ for v in vs]} for r, vs in results]
        text = json.dumps(data, indent=2)
    else:
        lines = []
        for r, verdicts in results:
            for v in verdicts:
                lines.append(f"{r} {v.protocol} {host}: {v.verdict.upper()}: {v.reason}")
                lines += [f"    from {o}" for o in v.origins] + [f"    note: {n}" for n in v.notes]
        text = "\n".join(lines)
    pairs = [(r, v) for r, vs in results for v in vs]
    warnings = [
        f"warning: {r} {v.protocol} {host} is not inspected by any domain list; counted as a pass"
        for r, v in pairs
        if v.verdict == "uninspected"
    ]
    return text, warnings, any(v.verdict == "drop" for _, v in pairs)
