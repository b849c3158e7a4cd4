"""The `push` and `drift` commands: build, guard the reviewed directory, plan, act. cli.py stays a thin call.

Text goes through the `Ui` the command line passes in (this module never prints); the result is an exit
code. Bad input raises RulecError (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rulec.aws import api, reviewed
from rulec.aws import drift as drift_report
from rulec.aws.push import Pusher, PushError
from rulec.errors import RulecError


@dataclass
class Ui:
    echo: Callable[[str], None]
    err: Callable[[str], None]
    confirm: Callable[[str], bool]


@dataclass
class Options:
    policy: Path
    out: Path = Path("build")
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    account_id: str | None = None
    firewall_policy: str | None = None
    catalogs: Path | None = None


class RiskFindings(Exception):
    """Lint errors no waiver accepts (issue 11, the risk gate): push stops with exit 1 before any AWS call."""


def _reviewed(opts: Options, ui: Ui | None = None) -> tuple[Any, reviewed.Reviewed]:
    """Build in memory, refuse an unreviewed lock (exit 2) or a stale build directory (StaleBuild); with `ui`,
    run the risk gate (its findings printed there) and refuse risk findings (RiskFindings)."""
    from rulec import pipeline

    result = pipeline.build(opts.policy, opts.catalogs)
    if result.lock_changed:
        raise RulecError(
            f"{result.lock_path} is not up to date with {opts.policy}; run `rulec build` and "
            "commit the lock before pushing (SIDs must be reviewed)"
        )
    if ui is not None:  # the risk gate, once, before anything is read from AWS
        gate = pipeline.risk_gate(result)
        if gate.blocking or gate.waived:
            ui.err(gate.report("the push"))
        if gate.blocking:
            raise RiskFindings()
    chosen = pipeline.select(result.plans, opts.region, opts.policy)
    names = {p.region: [d["RuleGroupName"] for d in result.requests.get(p.region, [])] for p in chosen}
    docs = reviewed.load(
        opts.out, [p.region for p in chosen], names, list(result.files), pipeline.check(result, opts.out)
    )
    for region, doc in docs.policies.items():
        if opts.firewall_policy not in (None, doc["FirewallPolicyName"]):
            raise RulecError(
                f"--firewall-policy {opts.firewall_policy} differs from the firewall policy the build declares for "
                f"{region} ({doc['FirewallPolicyName']}); leave the option out"
            )
    return chosen, docs


def push(
    opts: Options, ui: Ui, dry_run: bool, yes: bool, replace: bool, prune: bool, allow_unenforced: bool = False
) -> int:
    api.check_model()
    from rulec.load.policy import load_policy

    if load_policy(opts.policy).policy.engine == "next-gen":  # FIREWALL groups and a FirewallPolicyV2
        from rulec.aws import nextgen_push

        return nextgen_push.run(opts, ui, dry_run, yes, allow_unenforced, replace)
    try:
        _, docs = _reviewed(opts, ui)
    except RiskFindings:
        return 1
    except reviewed.StaleBuild as exc:
        ui.err(exc.describe(opts.policy))
        return 1
    pusher = Pusher(opts.profile, opts.endpoint_url, log=ui.echo)
    try:
        plan = pusher.plan(docs.groups, opts.firewall_policy, replace, docs.policies, prune, opts.account_id)
        ui.echo("\n".join(plan.describe()))
        if plan.blocked:
            ui.err("nothing was written: resolve the BLOCKED items above")
            return 1
        if not plan.changes:
            ui.echo("nothing to do: the firewall matches the policy")
            return 0
        if dry_run:
            pusher.dry_run(plan)
            ui.echo("dry run: the service accepted every change; nothing was written")
            return 1
        if not yes and not ui.confirm("apply these changes?"):
            ui.err("not applied: re-run with --yes to apply")
            return 1
        pusher.apply(plan)
    except PushError as exc:
        ui.err(f"push stopped: {exc}")
        ui.err("already applied: " + ("; ".join(exc.done) if exc.done else "nothing"))
        return 1
    except KeyboardInterrupt:
        ui.err("push interrupted")
        ui.err("already applied: " + ("; ".join(pusher.done) if pusher.done else "nothing"))
        ui.err("run the same command again to finish (it reads the live state and converges)")
        return 130
    ui.echo("done")
    return 0


def drift(opts: Options, ui: Ui, fmt: str = "text") -> int:
    """0 in sync, 1 drift, 2 bad input (raised); never writes."""
    api.check_model()
    from rulec.load.policy import load_policy

    if load_policy(opts.policy).policy.engine == "next-gen":
        from rulec.aws import nextgen_push

        return nextgen_push.drift(opts, ui, fmt)
    try:
        chosen, docs = _reviewed(opts)
    except reviewed.StaleBuild as exc:
        raise RulecError(exc.describe(opts.policy).splitlines()[0] + " (see `rulec check`)") from None
    pusher = Pusher(opts.profile, opts.endpoint_url)
    try:
        plan = pusher.plan(docs.groups, opts.firewall_policy, False, docs.policies, True, opts.account_id)
    except PushError as exc:
        ui.err(f"drift: {exc}")
        return 2
    found = drift_report.items(plan, chosen, str(opts.out))
    ui.echo(drift_report.as_json(found, plan) if fmt == "json" else drift_report.text(found, plan))
    return 1 if found else 0
