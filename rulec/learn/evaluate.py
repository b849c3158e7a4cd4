"""Decide which proposals are safe, with rulec's own lint checks run on the policy as it would become.

One trial policy holds every proposal and every unexplained name (each as its own `allow` item); a lint
finding at an item's position belongs to it. Error-level findings reject a feature or name; a wildcard
is rejected at warning level already, and also when a name it covers has an error (a look-alike, S3...).
Then the accepted proposals are applied to the real text, which must still build.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rulec.compile.ir import RegionPlan
from rulec.compile.lock import lock_path, read_lock
from rulec.compile.plan import compile_policy
from rulec.compile.resolve import resolve
from rulec.errors import RulecError
from rulec.learn import patch
from rulec.learn.attribute import Name, Proposal, lookalike
from rulec.load.catalog import Catalogs
from rulec.load.policy import LoadedPolicy, Policy
from rulec.load.source import parse_yaml, validate
from rulec.review import lint
from rulec.review.lint import Finding


@dataclass
class Outcome:
    text: str  # the policy with the accepted proposals
    new_findings: list[str] = field(default_factory=list)  # lint findings at warning+ the change introduces
    build_errors: list[str] = field(default_factory=list)


def plan_text(text: str, path: Path, cats: Catalogs, free_capacity: bool = False) -> tuple[LoadedPolicy, list]:
    """Load, resolve and compile a policy given as text (the SID lock is the one beside `path`)."""
    doc = parse_yaml(text.encode(), str(path))
    policy = validate(doc, Policy)
    if free_capacity:  # the trial only asks lint; an explicit capacity must not stop it
        g = policy.groups
        free = {k: getattr(g, k).model_copy(update={"capacity": None}) for k in g.model_fields}
        policy = policy.model_copy(update={"groups": g.model_copy(update=free)})
    lp = LoadedPolicy(path, doc, policy)
    plans, _ = compile_policy(lp, resolve(lp, cats), read_lock(lock_path(path)))
    return lp, plans


def _findings(lp: LoadedPolicy, plans: list[RegionPlan]) -> list[Finding]:
    return lint.run(lint.Context(lp, plans))


_BUCKET = re.compile(r"\.s3[.-]([a-z0-9-]+\.)*amazonaws\.com$")
MAX_TRIAL_NAMES = 10_000  # unexplained names linted one by one (a domain list holds at most 25,000 per type)


def judge(text: str, path: Path, cats: Catalogs, props: list[Proposal], names: list[Name], allowed: dict) -> list[str]:
    """Fill in warnings/errors of every proposal and the findings of the unexplained names; returns notes."""
    covered = {id(n) for p in props if p.kind == "wildcard" for n in p.names}
    loose = sorted(
        (n for n in names if n.status == "unexplained"), key=lambda n: (id(n) not in covered, -n.seen.hits, n.name)
    )
    notes = []
    if len(loose) > MAX_TRIAL_NAMES:
        notes.append(f"{len(loose) - MAX_TRIAL_NAMES} unexplained name(s) with the fewest hits were not linted")
        loose = loose[:MAX_TRIAL_NAMES]
    edits = [patch.Edit(p.path, p.value) for p in props]
    edits += [patch.Edit(("regions", n.region, "allow"), n.name) for n in loose]
    trial = patch.apply(text, edits, str(path))
    lp, plans = plan_text(trial, path, cats, free_capacity=True)
    at: dict = {}
    for f in _findings(lp, plans):
        at.setdefault(f.pos, []).append(f)

    def found(edit_path: tuple[str, ...], value: str) -> list[Finding]:
        node = lp.doc.data
        for key in edit_path:
            node = node[key]
        return at.get(lp.doc.at(*edit_path, node.index(value)), [])

    for n in loose:
        fs = found(("regions", n.region, "allow"), n.name)
        n.findings = [f"{f.code} {f.severity}: {f.message}" for f in fs if lint.at_least(f.severity, "warning")]
        if _BUCKET.search(n.name):
            n.findings.append("note: an S3 bucket no catalog feature names; allow it only if your account owns it")
        look = lookalike(n.name, allowed.get(n.region, []))
        if look:
            n.findings.append(f"look-alike error: {look}")
        n.errors = bool(look) or any(f.severity == "error" for f in fs)
    for p in props:
        for f in found(p.path, p.value):
            text_ = f"{f.code} {f.severity}: {f.message}"
            if f.severity == "error":
                p.errors.append(text_)
            elif f.severity == "warning":
                p.warnings.append(text_)
        if p.kind == "wildcard":
            bad = sorted({n.name for n in p.names if n.errors})
            if bad:
                p.errors.append(f"covers {', '.join(bad)}, which must not be allowed (see the names below)")
            for n in p.names:
                n.wildcard = p.value if p.accepted else None
    return notes


def outcome(text: str, path: Path, cats: Catalogs, props: list[Proposal], before: list[Finding]) -> Outcome:
    """Apply the accepted proposals; check the result builds and what lint says that it did not before."""
    edits = [patch.Edit(p.path, p.value) for p in props if p.accepted]
    new = patch.apply(text, edits, str(path))
    out = Outcome(new)
    if new == text:
        return out
    try:
        lp, plans = plan_text(new, path, cats)
    except RulecError as exc:
        out.build_errors = [str(d) for d in exc.diagnostics]
        return out
    old = Counter((f.code, f.message) for f in before if lint.at_least(f.severity, "warning"))
    for f in _findings(lp, plans):
        if lint.at_least(f.severity, "warning"):
            key = (f.code, f.message)
            if old[key]:
                old[key] -= 1
            else:
                out.new_findings.append(str(f))
    return out
