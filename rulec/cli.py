"""Command line: the only module that prints, exits or imports typer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rulec.errors import RulecError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Compile a reviewed YAML egress policy into AWS Network Firewall rule groups.",
)
catalog_app = typer.Typer(no_args_is_help=True, help="Browse the catalogs: regions, features, sources.")
app.add_typer(catalog_app, name="catalog")

PolicyArg = Annotated[Path, typer.Argument(help="Policy YAML file", metavar="POLICY", show_default=False)]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory")]
CatalogsOpt = Annotated[Optional[Path], typer.Option("--catalogs", help="Catalogs directory (default: shipped)")]


def _one_of(*allowed: str):
    def check(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(f"'{value}' is not one of {', '.join(allowed)}")
        return value

    return check


FormatOpt = Annotated[str, typer.Option("--format", help="text or json", callback=_one_of("text", "json"))]


def _fail(exc: RulecError) -> None:
    for d in exc.diagnostics:
        typer.echo(str(d), err=True)
    raise typer.Exit(2)


def _gate(result, action: str) -> None:
    """Print the risk findings (and waived ones); exit 1 when any is not waived, before anything is written."""
    from rulec import pipeline

    gate = pipeline.risk_gate(result)
    if gate.blocking or gate.waived:
        typer.echo(gate.report(action), err=True)
    if gate.blocking:
        raise typer.Exit(1)


def _figures(result) -> None:
    for p in result.plans:
        r = p.resolved
        extra = f", {len(r.collapsed)} collapsed" if r.collapsed else ""
        typer.echo(f"{p.region}: {len(r.targets)} names{extra}")
        for g in p.groups:
            how = "set" if g.capacity_explicit else "computed"
            typer.echo(
                f"  {g.name}: {g.rule_count} rules, capacity {g.capacity} ({how}, {g.capacity - g.rule_count} spare)"
            )
        for c in r.collapsed:
            typer.echo(f"    collapsed {c.name}: {c.reason} ({c.origin.pos})")


@app.command()
def build(
    policy: PolicyArg,
    out: OutOpt = Path("build"),
    catalogs: CatalogsOpt = None,
    locked: Annotated[bool, typer.Option(help="Fail instead of changing the SID lock")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Write OUT/<region>/<Group>.json (CreateRuleGroup requests) and .rules, and update the SID lock."""
    from rulec import pipeline

    try:
        result = pipeline.build(policy, catalogs)
        if locked:
            pipeline.require_locked(result)
        _gate(result, "the build")
        changed = pipeline.write(result, out)
    except RulecError as exc:
        _fail(exc)
    if not quiet:
        _figures(result)
        typer.echo(f"wrote {len(changed)} changed file(s) under {out}" if changed else f"{out} is up to date")


@app.command()
def check(policy: PolicyArg, out: OutOpt = Path("build"), catalogs: CatalogsOpt = None) -> None:
    """Rebuild in memory; exit 1 with a diff when the committed output or lock differs."""
    from rulec import pipeline

    try:
        result = pipeline.build(policy, catalogs)
        _gate(result, "the check")
        diffs = pipeline.check(result, out)
    except RulecError as exc:
        _fail(exc)
    if diffs:
        typer.echo("".join(diffs), nl=False)
        typer.echo(f"{len(diffs)} file(s) out of date: run `rulec build {policy} -o {out}` and commit", err=True)
        raise typer.Exit(1)
    typer.echo(f"{out} and the lock match {policy}")


@app.command()
def verify(
    policy: PolicyArg,
    probes: Annotated[Optional[Path], typer.Option("--probes", help="YAML file with `probes: [...]`")] = None,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region")] = None,
    catalogs: CatalogsOpt = None,
    format: FormatOpt = "text",
    problems: Annotated[bool, typer.Option("--problems", help="Show only failures and open paths")] = False,
    suricata: Annotated[
        Optional[str],
        typer.Option("--suricata", help="Suricata binary (default: $RULEC_SURICATA, else `suricata` on PATH)"),
    ] = None,
) -> None:
    """Prove the rule groups on Suricata with real packets; exit 1 if any verdict is unexpected."""
    from rulec import pipeline
    from rulec import verify as verifier
    from rulec.load.policy import load_probes
    from rulec.verify import engine, report

    try:
        lp, plans, _, _ = pipeline.plan(policy, catalogs)
        extra = verifier.user_probes(lp.policy.verify.probes, lp.doc, ("verify", "probes"))
        if probes:
            specs, doc = load_probes(probes)
            extra += verifier.user_probes(specs, doc, ("probes",))
        binary = engine.suricata_path(suricata)
        version = engine.suricata_version(binary)
        reports = [verifier.verify_region(p, extra, binary) for p in pipeline.select(plans, region, policy)]
    except RulecError as exc:
        _fail(exc)
    if format == "json":
        typer.echo(json.dumps([report.as_data(r, version) for r in reports], indent=2))
    else:
        typer.echo("\n\n".join(report.table(r, version, problems) for r in reports))
    if any(r.failures for r in reports):
        raise typer.Exit(1)


@app.command()
def push(
    policy: PolicyArg,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region (default: all)")] = None,
    profile: Annotated[Optional[str], typer.Option(help="AWS profile (standard boto3 chain otherwise)")] = None,
    endpoint_url: Annotated[Optional[str], typer.Option(help="Network Firewall endpoint (for testing)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and let AWS validate (DryRun); write nothing")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking")] = False,
    replace: Annotated[bool, typer.Option(help="Replace groups whose capacity must change")] = False,
    firewall_policy: Annotated[
        Optional[str], typer.Option(help="Firewall policy that must reference the groups")
    ] = None,
    catalogs: CatalogsOpt = None,
) -> None:
    """Create or update the rule groups through the Network Firewall API (needs `rulec[aws]`)."""
    from rulec import pipeline

    try:
        from rulec.aws.push import Pusher, PushError
    except ImportError:
        _fail(RulecError("rulec push needs boto3: pip install 'rulec[aws]'"))
    try:
        result = pipeline.build(policy, catalogs)
        if result.lock_changed:
            raise RulecError(
                f"{result.lock_path} is not up to date with {policy}; run `rulec build` and "
                "commit the lock before pushing (SIDs must be reviewed)"
            )
        requests = {p.region: result.requests[p.region] for p in pipeline.select(result.plans, region, policy)}
        pusher = Pusher(profile, endpoint_url, log=typer.echo)
        plan = pusher.plan(requests, firewall_policy, replace)
        typer.echo("\n".join(plan.describe()))
        if plan.blocked:
            typer.echo("nothing was written: resolve the BLOCKED items above", err=True)
            raise typer.Exit(1)
        if not plan.changes:
            typer.echo("nothing to do: the firewall matches the policy")
            return
        if dry_run:
            pusher.dry_run(plan)
            typer.echo("dry run: the service accepted every change; nothing was written")
            raise typer.Exit(1)
        if not yes and not (sys.stdin.isatty() and typer.confirm("apply these changes?")):
            typer.echo("not applied: re-run with --yes to apply", err=True)
            raise typer.Exit(1)
        pusher.apply(plan)
        typer.echo("done")
    except RulecError as exc:
        _fail(exc)
    except PushError as exc:
        typer.echo(f"push stopped: {exc}", err=True)
        typer.echo("already applied: " + ("; ".join(exc.done) if exc.done else "nothing"), err=True)
        raise typer.Exit(1) from None


@app.command()
def lint(
    policy: PolicyArg,
    catalogs: CatalogsOpt = None,
    format: Annotated[
        str, typer.Option("--format", help="text, json or sarif", callback=_one_of("text", "json", "sarif"))
    ] = "text",
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on", help="error, warning, info or never", callback=_one_of("error", "warning", "info", "never")
        ),
    ] = "error",
    max_age: Annotated[int, typer.Option("--max-age", help="Days before a catalog entry is stale")] = 365,
) -> None:
    """Point at what is dangerous in a policy: file:line:col: CODE severity message."""
    from rulec import pipeline
    from rulec.review import lint as linter
    from rulec.review.lint import checks, output

    try:
        lp, plans, _, _ = pipeline.plan(policy, catalogs)
        findings = linter.run(linter.Context(lp, plans, max_age_days=max_age))
    except RulecError as exc:
        _fail(exc)
    if format == "sarif":
        typer.echo(output.sarif(findings, checks.ALL))
    else:
        typer.echo(output.as_json(findings) if format == "json" else output.text(findings))
    if fail_on != "never" and any(linter.at_least(f.severity, fail_on) for f in findings):
        raise typer.Exit(1)


@app.command()
def explain(
    host: Annotated[str, typer.Argument(help="Host name (SNI / Host header)")],
    policy: Annotated[Path, typer.Option("--policy", "-p", help="Policy YAML file")],
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region")] = None,
    catalogs: CatalogsOpt = None,
    format: FormatOpt = "text",
) -> None:
    """Would HOST pass or drop, for TLS and HTTP, which target or rule decides, and why it is there."""
    from rulec import pipeline
    from rulec.review import explain as explainer

    try:
        _, plans, _, _ = pipeline.plan(policy, catalogs)
        results = [(p.region, explainer.explain(host, p)) for p in pipeline.select(plans, region, policy)]
    except RulecError as exc:
        _fail(exc)
    if format == "json":
        typer.echo(
            json.dumps(
                [{"region": r, "host": host, "verdicts": [v.__dict__ for v in vs]} for r, vs in results], indent=2
            )
        )
        return
    for r, verdicts in results:
        for v in verdicts:
            typer.echo(f"{r} {v.protocol} {host}: {v.verdict.upper()}: {v.reason}")
            for o in v.origins:
                typer.echo(f"    from {o}")
            for n in v.notes:
                typer.echo(f"    note: {n}")


@app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="Build directory, policy file, or git REV:PATH")],
    new: Annotated[str, typer.Argument(help="Build directory, policy file, or git REV:PATH")],
    catalogs: CatalogsOpt = None,
    format: Annotated[
        str, typer.Option("--format", help="text, markdown or json", callback=_one_of("text", "markdown", "json"))
    ] = "text",
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when anything differs")] = False,
) -> None:
    """What a change does: names, rules and capacity per group, with the feature and source behind each name."""
    from rulec.review import compare

    try:
        diffs = compare.compare(compare.load(old, catalogs), compare.load(new, catalogs))
    except RulecError as exc:
        _fail(exc)
    if format == "json":
        typer.echo(json.dumps(compare.as_data(diffs), indent=2))
    else:
        typer.echo(compare.render(diffs, markdown=format == "markdown"))
    if exit_code and any(d.status != "unchanged" for d in diffs):
        raise typer.Exit(1)


@catalog_app.command("list")
def catalog_list(catalogs: CatalogsOpt = None, format: FormatOpt = "text") -> None:
    """Regions (with completeness) and features."""
    from rulec.review import catalog_view

    try:
        data = catalog_view.listing(catalogs)
    except RulecError as exc:
        _fail(exc)
    if format == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo("regions:")
    for r in data["regions"]:
        missing = f" (missing: {', '.join(r['missing'])})" if r["missing"] else ""
        typer.echo(f"  {r['region']:<15} {r['completeness']}{missing}")
    typer.echo("features:")
    for f in data["features"]:
        typer.echo(f"  {f['name']:<15} {f['description']}")


@catalog_app.command("show")
def catalog_show(
    feature: Annotated[str, typer.Argument(help="Feature name")],
    region: Annotated[str, typer.Option("--region", "-r", help="AWS region")],
    catalogs: CatalogsOpt = None,
    format: FormatOpt = "text",
) -> None:
    """The names FEATURE resolves to in a region, each with its source."""
    from rulec.review import catalog_view

    try:
        data = catalog_view.show(feature, region, catalogs)
    except RulecError as exc:
        _fail(exc)
    if format == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"{feature} in {region}: {data['description']}")
    if data["unnecessary_with"]:
        typer.echo(f"  not needed with: {data['unnecessary_with']}")
    for e in data["entries"]:
        typer.echo(f"  {e['entry']}  ({e['where']}, reviewed {e['reviewed']})")
        for t in e["targets"]:
            typer.echo(f"    -> {t}")
        typer.echo(f"    source: {e['source']}")
        if e["note"]:
            typer.echo(f"    note: {e['note']}")


@catalog_app.command("import-ip-ranges")
def catalog_import_ip_ranges(
    file: Annotated[Path, typer.Argument(help="A downloaded copy of Databricks' ip-ranges.json")],
    catalogs: CatalogsOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the catalog differs; write nothing")] = False,
) -> None:
    """Refresh catalogs/ip-ranges.yaml from ip-ranges.json and print what changed (rulec never downloads)."""
    from rulec.load import ipranges
    from rulec.load.catalog import default_root
    from rulec.pipeline import write_atomic

    try:
        data, changes, target = ipranges.import_file(file, catalogs or default_root())
        same = target.is_file() and target.read_bytes() == data
        if not check and not same:
            write_atomic({target: data})
    except RulecError as exc:
        _fail(exc)
    for c in changes:
        for cidr in c.added:
            typer.echo(f"+ {c.region} {c.direction} {cidr}")
        for cidr in c.removed:
            typer.echo(f"- {c.region} {c.direction} {cidr}")
    if same:
        typer.echo(f"{target} is up to date")
    elif check:
        typer.echo(f"{target} differs from {file}", err=True)
        raise typer.Exit(1)
    else:
        typer.echo(f"wrote {target}: {len(changes)} region/direction change(s); review with `git diff`")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
