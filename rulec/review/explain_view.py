"""`rulec explain HOST POLICY`: the answer, its warnings and its exit status (returns data; never prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rulec.errors import RulecError


def run(
    host: str, policy: Path | None, region: str | None, catalogs: Path | None, fmt: str
) -> tuple[str, list[str], bool]:
    """(text or JSON, warnings, whether anything drops) for HOST in every region of POLICY (or `region`)."""
    from rulec import pipeline
    from rulec.review import explain as explainer

    if policy is None:
        raise RulecError("give the policy: rulec explain HOST POLICY")
    _, plans, _, _ = pipeline.plan(policy, catalogs)
    results = [(p.region, explainer.explain(host, p)) for p in pipeline.select(plans, region, policy)]
    return (explainer.render(results, host, fmt), *status(host, results))


def status(host: str, results: list[tuple[str, list[Any]]]) -> tuple[list[str], bool]:
    """(warnings, any drop). A protocol no domain list inspects counts as a pass, with a warning."""
    pairs = [(r, v) for r, vs in results for v in vs if getattr(v, "counted", True)]
    warnings = [
        f"warning: {r} {v.protocol} {host} is not inspected by any domain list; counted as a pass"
        for r, v in pairs
        if v.verdict == "uninspected"
    ]
    return warnings, any(v.verdict == "drop" for _, v in pairs)
