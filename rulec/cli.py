"""Command line: the only module that prints, exits or imports typer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rulec.errors import RulecError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Compile a reviewed YAML egress policy into AWS Network Firewall rule groups.",
)
catalog_app = typer.Typer(no_args_is_help=True, help="Browse the catalogs: regions, features, sources.")
app.add_typer(catalog_app, name="catalog")


PolicyArg = Annotated[Path, typer.Argument(help="Policy YAML file, - for stdin", metavar="POLICY", show_default=False)]
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

    report = (gate := pipeline.risk_gate(result)).report(action)
    typer.echo(report, err=True, nl=bool(report))
    if gate.blocking:
        raise typer.Exit(1)


@app.command()
def build(
    policy: PolicyArg,
    out: OutOpt = Path("build"),
    catalogs: CatalogsOpt = None,
    locked: Annotated[bool, typer.Option(help="Fail instead of changing the SID lock")] = False,
    lock: Annotated[Optional[Path], typer.Option(help="SID lock file (default: beside the policy)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Write OUT/<region>/<Group>.json (CreateRuleGroup requests) and .rules, and update the SID lock."""
    from rulec import pipeline

    try:
        result = pipeline.build(policy, catalogs, lock)
        if locked or result.lock_path is None:  # a policy from stdin without --lock has no lock to update
            pipeline.require_locked(result)
        _gate(result, "the build")
        changed = pipeline.write(result, out)
    except RulecError as exc:
        _fail(exc)
    if not quiet:
        typer.echo(pipeline.figures(result))
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
def export(
    policy: PolicyArg,
    format: Annotated[
        str,
        typer.Option(
            help="cloudformation, terraform or firewall-manager",
            callback=_one_of("cloudformation", "terraform", "firewall-manager"),
        ),
    ],
    out: OutOpt,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region")] = None,
    catalogs: CatalogsOpt = None,
) -> None:
    """Write OUT/<region>.template.json (CloudFormation), .tf.json (Terraform JSON) or .fms.json (PutPolicy)."""
    from rulec import export as exporter

    try:
        changed = exporter.run(policy, format, out, region, catalogs, lambda r: _gate(r, "the export"))
    except RulecError as exc:
        _fail(exc)
    typer.echo(f"wrote {len(changed)} changed file(s) under {out}" if changed else f"{out} is up to date")


@app.command(hidden=True)
def hook(name: str, files: list[Path], out: OutOpt = Path("build")) -> None:
    from rulec import hooks

    code, text = hooks.run(name, files, out)
    typer.echo(text, nl=False)
    raise typer.Exit(code)


@app.command()
def verify(
    policy: PolicyArg,
    probes: Annotated[Optional[Path], typer.Option("--probes", help="YAML file with `probes: [...]`")] = None,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region")] = None,
    catalogs: CatalogsOpt = None,
    format: FormatOpt = "text",
    problems: Annotated[bool, typer.Option("--problems", help="Only failures and open paths (JSON)")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Print every probe (text)")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds Suricata may take per region", min=1)] = 300,
    suricata: Annotated[
        Optional[str],
        typer.Option("--suricata", help="Suricata binary (default: $RULEC_SURICATA, else `suricata` on PATH)"),
    ] = None,
) -> None:
    """Prove the rule groups on Suricata with real packets; exit 1 if any verdict is unexpected."""
    from rulec import verify as verifier
    from rulec.verify import report

    try:
        reports, version = verifier.run(policy, probes, region, catalogs, suricata, timeout)
    except RulecError as exc:
        _fail(exc)
    if format == "json":
        typer.echo(json.dumps([report.as_data(r, version, problems) for r in reports], indent=2))
    else:
        typer.echo(report.text(reports, version, all_))
    if any(r.failures for r in reports):
        raise typer.Exit(1)


ProfileOpt = Annotated[Optional[str], typer.Option(help="AWS profile (standard boto3 chain otherwise)")]
EndpointOpt = Annotated[Optional[str], typer.Option(help="Network Firewall (and STS) endpoint, for testing")]
AccountOpt = Annotated[Optional[str], typer.Option(help="Account for ${AccountId} (default: STS)")]


def _aws(run, *args) -> None:
    try:
        from rulec.aws import command
    except ImportError:
        _fail(RulecError("this command needs boto3: pip install 'rulec[aws]'"))
    ui = command.Ui(typer.echo, lambda m: typer.echo(m, err=True), lambda q: sys.stdin.isatty() and typer.confirm(q))
    try:
        code = getattr(command, run)(*args[:1], ui, *args[1:])
    except RulecError as exc:
        _fail(exc)
    raise typer.Exit(code)


@app.command()
def push(
    policy: PolicyArg,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region (default: all)")] = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and let AWS validate (DryRun); write nothing")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking")] = False,
    replace: Annotated[bool, typer.Option(help="Replace groups whose capacity must change")] = False,
    firewall_policy: Annotated[
        Optional[str], typer.Option(help="Firewall policy that must reference the groups")
    ] = None,
    prune: Annotated[bool, typer.Option(help="Let the firewall policy update remove what the plan lists")] = False,
    account_id: AccountOpt = None,
    out: OutOpt = Path("build"),
    catalogs: CatalogsOpt = None,
    allow_unenforced: Annotated[
        bool, typer.Option(help="next-gen: allow a policy to go from ENFORCE to MONITOR")
    ] = False,
    share_with: Annotated[
        Optional[str], typer.Option(help="Share the groups via AWS RAM: ACCOUNT or ORG/OU ARN")
    ] = None,
) -> None:
    """Push the reviewed build (--out) to the Network Firewall API (needs rulec\\[aws])."""
    from rulec.aws.command import Options

    opts = Options(policy, out, region, profile, endpoint_url, account_id, firewall_policy, catalogs)
    _aws("push", opts, dry_run, yes, replace, prune, allow_unenforced, share_with)


@app.command()
def drift(
    policy: PolicyArg,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region (default: all)")] = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    firewall_policy: Annotated[Optional[str], typer.Option(help="Also compare this firewall policy")] = None,
    account_id: AccountOpt = None,
    out: OutOpt = Path("build"),
    format: FormatOpt = "text",
    catalogs: CatalogsOpt = None,
    accounts: Annotated[Optional[Path], typer.Option(help="YAML list of accounts (profiles or roles)")] = None,
    parallel: Annotated[int, typer.Option(help="Accounts read at once (with --accounts)", min=1)] = 4,
) -> None:
    """Compare the live groups and firewall policy with the reviewed build: exit 1 on drift (needs rulec\\[aws])."""
    from rulec.aws.command import Options

    opts = Options(policy, out, region, profile, endpoint_url, account_id, firewall_policy, catalogs)
    _aws("drift", opts, format, accounts, parallel)


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
    policy_arg: Annotated[Optional[Path], typer.Argument(help="Policy YAML file", metavar="POLICY")] = None,
    policy: Annotated[Optional[Path], typer.Option("--policy", "-p", help="Policy YAML file")] = None,
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="Only this region")] = None,
    catalogs: CatalogsOpt = None,
    format: FormatOpt = "text",
) -> None:
    """Would HOST pass or drop, for TLS and HTTP, which target or rule decides, and why it is there.
    Exit 0 when every region and protocol passes (uninspected counts as a pass, with a warning), 1 when any drops."""
    from rulec.review import explain_view

    try:
        text, warnings, dropped = explain_view.run(host, policy_arg or policy, region, catalogs, format)
    except RulecError as exc:
        _fail(exc)
    typer.echo(text)
    typer.echo("\n".join(warnings), err=True, nl=bool(warnings))
    raise typer.Exit(int(dropped))


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
        text, changed = compare.run(old, new, catalogs, format)
    except RulecError as exc:
        _fail(exc)
    typer.echo(text)
    raise typer.Exit(int(exit_code and changed))


@catalog_app.command("list")
def catalog_list(catalogs: CatalogsOpt = None, format: FormatOpt = "text") -> None:
    """Regions (with completeness) and features."""
    from rulec.review import catalog_view

    try:
        data = catalog_view.listing(catalogs)
    except RulecError as exc:
        _fail(exc)
    typer.echo(json.dumps(data, indent=2) if format == "json" else catalog_view.render_listing(data))


@catalog_app.command("show")
def catalog_show(
    feature: Annotated[str, typer.Argument(help="Feature name")],
    region: Annotated[Optional[str], typer.Option("--region", "-r", help="AWS region, when it matters")] = None,
    catalogs: CatalogsOpt = None,
    format: FormatOpt = "text",
) -> None:
    """The names FEATURE resolves to in a region, each with its source."""
    from rulec.review import catalog_view

    try:
        data = catalog_view.show(feature, region, catalogs)
    except RulecError as exc:
        _fail(exc)
    typer.echo(json.dumps(data, indent=2) if format == "json" else catalog_view.render_show(feature, region, data))


@catalog_app.command("import-ip-ranges")
def catalog_import_ip_ranges(
    file: Annotated[Path, typer.Argument(help="A downloaded copy of Databricks' ip-ranges.json")],
    catalogs: CatalogsOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the catalog differs; write nothing")] = False,
) -> None:
    """Refresh catalogs/ip-ranges.yaml from ip-ranges.json and print what changed (rulec never downloads)."""
    from rulec.load import ipranges
    from rulec.load.catalog import default_root

    try:
        out, err, code = ipranges.refresh(file, catalogs or default_root(), check)
    except RulecError as exc:
        _fail(exc)
    typer.echo(out, nl=bool(out))
    typer.echo(err, err=True, nl=bool(err))
    raise typer.Exit(code)


@app.command()
def learn(
    policy: PolicyArg,
    logs: Annotated[list[Path] | None, typer.Argument(help="Logs: JSON lines, .gz, EVE", metavar="LOGS")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Region of the logs")] = None,
    format: Annotated[
        str, typer.Option(help="text, json or patch", callback=_one_of("text", "json", "patch"))
    ] = "text",
    min_subdomains: Annotated[int, typer.Option(help="Subdomains seen before a wildcard is proposed")] = 3,
    from_analysis_report: Annotated[str | None, typer.Option(help="Read FIREWALL's analysis report")] = None,
    write: Annotated[bool, typer.Option("--write", help="Apply the patch to POLICY")] = False,
    catalogs: CatalogsOpt = None,
) -> None:
    """Propose policy changes from Network Firewall logs or a traffic analysis report."""
    from rulec import learn as learner
    from rulec.learn.report import progress_line, render

    bar = (lambda d, t: typer.echo(progress_line(d, t), err=True, nl=False)) if sys.stderr.isatty() else None
    try:
        obs = learner.observe(logs or [], from_analysis_report, policy, region, catalogs, bar)
        result = learner.learn(policy, obs, catalogs, region, min_subdomains)
        written = write and learner.write(result)
    except RulecError as exc:
        _fail(exc)
    typer.echo(render(result, format, written), nl=False)


def main() -> None:
    if sys.argv[1:] == ["--version"]:  # here, not as a root option: the root stays typer's (shell completion)
        typer.echo(f"rulec {__import__('rulec').__version__}")
        return
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
