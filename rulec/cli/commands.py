"""The commands: each a thin call into the library (imported here, lazily, so a command loads only what it uses).

A command takes the parsed arguments and returns its exit code; a RulecError it raises is printed by
rulec.cli.main as `file:line:col: message` and exits 2."""

from __future__ import annotations

import sys
from pathlib import Path


def echo(text: str, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{text}\n" if nl else text)
    stream.flush()


def dumps(data) -> str:
    import json

    return json.dumps(data, indent=2)


def _gate(result, action: str) -> None:
    """Print the risk findings (and waived ones); exit 1 when any is not waived, before anything is written."""
    from rulec import pipeline

    report = (gate := pipeline.risk_gate(result)).report(action)
    echo(report, err=True, nl=bool(report))
    if gate.blocking:
        raise SystemExit(1)


def _wrote(changed: list[str], out) -> str:
    """What build wrote: the files under the output directory, and the lock wherever it lives."""
    inside = [c for c in changed if Path(c.removesuffix(" (removed)")).is_relative_to(out)]
    elsewhere = [c for c in changed if c not in inside]
    if not changed:
        return f"{out} is up to date"
    text = f"wrote {len(inside)} changed file(s) under {out}" if inside else f"{out} is up to date"
    return text + "".join(f"; wrote {c}" for c in elsewhere)


def build(a) -> int:
    from rulec import pipeline

    result = pipeline.build(a.policy, a.catalogs, a.lock)
    if a.locked or result.lock_path is None:  # a policy from stdin without --lock has no lock to update
        pipeline.require_locked(result)
    _gate(result, "the build")
    changed = pipeline.write(result, a.out)
    if not a.quiet:
        echo(pipeline.figures(result))
        echo(_wrote(changed, a.out))
    else:  # quiet, but not about a firewall policy that cannot hold the groups
        for warning in pipeline.pool_warnings(result):
            echo(f"warning: {warning}", err=True)
    return 0


def check(a) -> int:
    from rulec import pipeline

    result = pipeline.build(a.policy, a.catalogs)
    _gate(result, "the check")
    diffs = pipeline.check(result, a.out)
    if diffs:
        echo("".join(diffs), nl=False)
        echo(f"{len(diffs)} file(s) out of date: run `rulec build {a.policy} -o {a.out}` and commit", err=True)
        return 1
    echo(f"{a.out} and the lock match {a.policy}")
    return 0


def export(a) -> int:
    from rulec import export as exporter

    changed = exporter.run(a.policy, a.format, a.out, a.region, a.catalogs, lambda r: _gate(r, "the export"))
    echo(f"wrote {len(changed)} changed file(s) under {a.out}" if changed else f"{a.out} is up to date")
    return 0


def hook(a) -> int:
    from rulec import hooks

    code, text = hooks.run(a.name, a.files, a.out)
    echo(text, nl=False)
    return code


def verify(a) -> int:
    from rulec import verify as verifier
    from rulec.verify import report

    reports, version = verifier.run(a.policy, a.probes, a.region, a.catalogs, a.suricata, a.timeout)
    if a.format == "json":
        echo(dumps([report.as_data(r, version, a.problems) for r in reports]))
    else:
        echo(report.text(reports, version, a.all))
    return int(any(r.failures for r in reports))


def confirm(question: str) -> bool:
    """Ask on a terminal only (never in a pipe or CI): y or yes applies, anything else (or EOF) does not."""
    if not sys.stdin.isatty():
        return False
    while True:
        try:
            answer = input(f"{question} [y/N]: ").strip().lower()
        except EOFError:
            return False
        if answer in ("y", "yes", "n", "no", ""):
            return answer in ("y", "yes")
        echo("Error: invalid input", err=True)


def _aws(run: str, a, *args) -> int:
    try:
        from rulec.aws import command
    except ImportError:
        from rulec.errors import RulecError

        raise RulecError("this command needs boto3: pip install 'rulec[aws]'") from None
    opts = command.Options(
        a.policy, a.out, a.region, a.profile, a.endpoint_url, a.account_id, a.firewall_policy, a.catalogs
    )
    ui = command.Ui(echo, lambda m: echo(m, err=True), confirm)
    return getattr(command, run)(opts, ui, *args)


def push(a) -> int:
    return _aws("push", a, a.dry_run, a.yes, a.replace, a.prune, a.allow_unenforced, a.share_with)


def drift(a) -> int:
    return _aws("drift", a, a.format, a.accounts, a.parallel)


def lint(a) -> int:
    from rulec import pipeline
    from rulec.review import lint as linter
    from rulec.review.lint import checks, output

    lp, plans, _, _ = pipeline.plan(a.policy, a.catalogs)
    findings = linter.run(linter.Context(lp, plans, max_age_days=a.max_age))
    if a.format == "sarif":
        echo(output.sarif(findings, checks.ALL))
    else:
        echo(output.as_json(findings) if a.format == "json" else output.text(findings))
    return int(a.fail_on != "never" and any(linter.at_least(f.severity, a.fail_on) for f in findings))


def explain(a) -> int:
    from rulec.cli.grammar import UsageError
    from rulec.review import explain_view

    if (a.policy_arg or a.policy) is None:  # POLICY may come as the second argument or as --policy/-p
        raise UsageError(
            "rulec explain: the following arguments are required: POLICY (or --policy) (see 'rulec explain --help')"
        )
    text, warnings, dropped = explain_view.run(a.host, a.policy_arg or a.policy, a.region, a.catalogs, a.format)
    echo(text)
    echo("\n".join(warnings), err=True, nl=bool(warnings))
    return int(dropped)


def diff(a) -> int:
    from rulec.review import compare

    text, changed = compare.run(a.old, a.new, a.catalogs, a.format)
    echo(text)
    return int(a.exit_code and changed)


def catalog_list(a) -> int:
    from rulec.review import catalog_view

    data = catalog_view.listing(a.catalogs)
    echo(dumps(data) if a.format == "json" else catalog_view.render_listing(data))
    return 0


def catalog_show(a) -> int:
    from rulec.review import catalog_view

    data = catalog_view.show(a.feature, a.region, a.catalogs)
    echo(dumps(data) if a.format == "json" else catalog_view.render_show(a.feature, a.region, data))
    return 0


def catalog_import_ip_ranges(a) -> int:
    from rulec.load import ipranges
    from rulec.load.catalog import default_root

    out, err, code = ipranges.refresh(a.file, a.catalogs or default_root(), a.check)
    echo(out, nl=bool(out))
    echo(err, err=True, nl=bool(err))
    return code


def learn(a) -> int:
    from rulec import learn as learner
    from rulec.learn.report import progress_line, render

    bar = (lambda d, t: echo(progress_line(d, t), err=True, nl=False)) if sys.stderr.isatty() else None
    obs = learner.observe(a.logs, a.from_analysis_report, a.policy, a.region, a.catalogs, bar)
    result = learner.learn(a.policy, obs, a.catalogs, a.region, a.min_subdomains)
    written = a.write and learner.write(result)
    echo(render(result, a.format, written), nl=False)
    return 0


def run(path: tuple[str, ...], args) -> int:
    """Run the command at `path`, e.g. ("catalog", "show")."""
    return globals()["_".join(path).replace("-", "_")](args)
