"""Learn stage: turn Network Firewall logs or a traffic analysis report into a reviewed policy change.

read logs (logs.py) or a report (from_report) -> attribute names to catalog features (attribute.py) ->
judge every proposal with lint (evaluate.py) -> a patch of the policy YAML (patch.py) -> a report
(report.py). Nothing is written unless the caller asks for it (`write`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rulec.errors import Position, error_at
from rulec.learn import attribute, evaluate, patch
from rulec.learn.attribute import Name, Proposal
from rulec.learn.logs import Observations, Seen
from rulec.learn.logs import read as read_logs
from rulec.load.catalog import Catalogs, default_root
from rulec.load.source import read_bytes


@dataclass
class Result:
    policy: Path
    observations: Observations
    names: list[Name]
    proposals: list[Proposal]
    original: str
    patched: str
    patch: str
    min_subdomains: int
    notes: list[str] = field(default_factory=list)
    new_findings: list[str] = field(default_factory=list)
    build_errors: list[str] = field(default_factory=list)


def from_report(rows: list, region: str) -> Observations:
    """Observations from traffic analysis report rows (domain, protocol, hits, unique sources, first/last
    access). A report has no verdict: the caller's policy decides what is already allowed."""
    obs = Observations(source="analysis-report")
    for row in rows:
        name = (row.domain or "").strip().lower().rstrip(".")
        obs.events += 1
        if not name:
            obs.problem("report row without a domain", f"report row {obs.events}")
            continue
        seen = obs.names.setdefault((region, name), Seen())
        seen.hits += row.hits
        seen.protocols.add("TLS" if row.protocol in ("TLS_SNI", "TLS") else "HTTP")
        seen.unique_sources = max(seen.unique_sources or 0, row.unique_sources)
        for t in (row.first, row.last):
            if t is not None:
                seen.first = t if seen.first is None else min(seen.first, t)
                seen.last = t if seen.last is None else max(seen.last, t)
    return obs


def observe(
    logs: list[Path], firewall: str | None, policy: Path, region: str | None, catalogs: Path | None, progress=None
) -> Observations:
    """From log files, or from FIREWALL's traffic analysis report when `firewall` is given."""
    if firewall:
        if logs:
            raise error_at(Position("--from-analysis-report"), "read either log files or a report, not both")
        return from_analysis(firewall, policy, region, catalogs)
    if not logs:
        raise error_at(Position("rulec learn"), "give log files (JSON lines, .gz, EVE) or --from-analysis-report")
    return read_logs(logs, progress)


def from_analysis(firewall: str, policy: Path, region: str | None, catalogs: Path | None = None) -> Observations:
    """Observations from the firewall's traffic analysis report (boto3; endpoint from AWS_ENDPOINT_URL)."""
    import importlib.util

    from rulec import pipeline

    if importlib.util.find_spec("boto3") is None:
        raise error_at(Position("--from-analysis-report"), "needs boto3: pip install 'rulec[aws]'")
    from rulec.aws import analysis

    _, plans, _, _ = pipeline.plan(policy, catalogs)
    if region is None and len(plans) != 1:
        raise error_at(Position("--region"), "the policy has several regions: give the firewall's with --region")
    region = region or plans[0].region
    fetched = analysis.fetch(firewall, region)
    obs = from_report(fetched.rows, region)
    obs.firewalls.add(firewall)
    obs.notes.extend(fetched.notes)
    return obs


def learn(
    policy: Path,
    obs: Observations,
    catalogs: Path | None = None,
    region: str | None = None,
    min_subdomains: int = 3,
) -> Result:
    """Attribute every observed name and propose the change; raises RulecError for a bad policy."""
    from rulec import pipeline
    from rulec.review import lint

    if min_subdomains < 2:
        raise error_at(Position("--min-subdomains"), "must be at least 2 (one name is listed, never widened)")
    lp, plans, _, _ = pipeline.plan(policy, catalogs)
    if region is not None:
        pipeline.select(plans, region, policy)
    cats = Catalogs(catalogs or default_root())
    text = read_bytes(policy).decode("utf-8-sig")
    seen, notes = attribute.by_region(obs, plans, region)
    names = attribute.classify(lp, plans, cats, seen)
    props = attribute.proposals(names, [p.region for p in plans], min_subdomains)
    allowed = {p.region: [t.name for t in p.resolved.targets] for p in plans}
    for n in names:  # names a proposed feature would allow count too: `evilpypi.org` next to pypi
        allowed[n.region].extend(h.target for h in n.features[:1])
    if props or any(n.status == "unexplained" for n in names):
        notes += evaluate.judge(text, policy, cats, props, names, allowed)
    before = lint.run(lint.Context(lp, plans))
    out = evaluate.outcome(text, policy, cats, props, before)
    return Result(
        policy,
        obs,
        names,
        props,
        text,
        out.text,
        patch.unified(text, out.text, policy.as_posix()),
        min_subdomains,
        notes + obs.notes,
        out.new_findings,
        out.build_errors,
    )


def write(result: Result) -> bool:
    """Apply the patch to the policy file atomically, keeping its permissions; False when nothing changes."""
    import os
    import tempfile

    if result.patched == result.original:
        return False
    path = result.policy
    if result.build_errors:
        raise error_at(Position(str(path)), "not written: the patched policy does not build (see above)")
    if read_bytes(path).decode("utf-8-sig") != result.original:
        raise error_at(Position(str(path)), "not written: the file changed while learn was running")
    try:
        mode = path.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(result.patched.encode())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise error_at(Position(str(path)), f"not written: {exc.strerror}") from None
    return True
