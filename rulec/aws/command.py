"""The `push` and `drift` commands: build, guard the reviewed directory, plan, act. cli.py stays a thin call.

Text goes through the `Ui` the command line passes in (this module never prints); the result is an exit
code. Bad input raises RulecError (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rulec.aws import api, dns_push, reviewed, share
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


def stop_on_risks(result, ui: Ui) -> None:
    """The risk gate, once, before anything is read from AWS: its findings on `ui`, RiskFindings when one blocks."""
    from rulec import pipeline

    gate = pipeline.risk_gate(result)
    if gate.blocking or gate.waived:
        ui.err(gate.report("the push"))
    if gate.blocking:
        raise RiskFindings()


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
    if ui is not None:
        stop_on_risks(result, ui)
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
    opts: Options,
    ui: Ui,
    dry_run: bool,
    yes: bool,
    replace: bool,
    prune: bool,
    allow_unenforced: bool = False,
    share_with: str | None = None,
) -> int:
    api.check_model()
    if share_with:
        share.check_principal(share_with)
    from rulec.load.policy import load_policy

    if load_policy(opts.policy).policy.engine == "next-gen":  # FIREWALL groups and a FirewallPolicyV2
        from rulec.aws import nextgen_push

        return nextgen_push.run(opts, ui, dry_run, yes, allow_unenforced, replace)
    try:
        chosen, docs = _reviewed(opts, ui)
    except RiskFindings:
        return 1
    except reviewed.StaleBuild as exc:
        ui.err(exc.describe(opts.policy))
        return 1
    pusher = Pusher(opts.profile, opts.endpoint_url, log=ui.echo)
    try:
        dns_plans = dns_push.plan(pusher, dns_push.documents(opts.out, chosen))  # the DNS layer (rulec/aws/dns.py)
        policies = dns_push.fill_policies(docs.policies, dns_plans)
        plan = pusher.plan(docs.groups, opts.firewall_policy, replace, policies, prune, opts.account_id)
        ui.echo("\n".join(plan.describe() + dns_push.describe(dns_plans)))
        if plan.blocked:
            ui.err("nothing was written: resolve the BLOCKED items above")
            return 1
        if not plan.changes and not any(p.changes for p in dns_plans):
            if share_with:
                _share(opts, pusher, docs, dns_plans, share_with)
            ui.echo("nothing to do: the firewall matches the policy")
            return 0
        if dry_run:
            pusher.dry_run(dns_push.stand_in(plan, dns_plans))
            ui.echo("dry run: the service accepted every change; nothing was written")
            if any(p.changes for p in dns_plans):
                ui.echo("(DNS Firewall changes are planned only: the Route 53 Resolver API has no dry run)")
            return 1
        if not yes and not ui.confirm("apply these changes?"):
            ui.err("not applied: re-run with --yes to apply")
            return 1
        dns_push.apply(pusher, dns_plans, plan)
        pusher.apply(plan)
        if share_with:
            _share(opts, pusher, docs, dns_plans, share_with)
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


def _share(opts: Options, pusher: Pusher, docs: reviewed.Reviewed, dns_plans: list, principal: str) -> None:
    """`--share-with`: each region's rule groups in one AWS RAM resource share (rulec/aws/share.py)."""
    for region, requests in docs.groups.items():
        account = opts.account_id or pusher.account_id(region)
        arns = share.group_arns(region, account, [d["RuleGroupName"] for d in requests])
        arns += [p.arn for p in dns_plans if p.region == region and p.arn]
        share.share(pusher, region, f"rulec-{opts.policy.stem}", arns, principal)


def drift(opts: Options, ui: Ui, fmt: str = "text", accounts: Path | None = None, parallel: int = 4) -> int:
    """0 in sync, 1 drift, 2 bad input (raised) or an unreadable account; never writes."""
    api.check_model()
    from rulec.load.policy import load_policy

    if load_policy(opts.policy).policy.engine == "next-gen":
        from rulec.aws import nextgen_push

        return nextgen_push.drift(opts, ui, fmt)
    try:
        chosen, docs = _reviewed(opts)
    except reviewed.StaleBuild as exc:
        raise RulecError(exc.describe(opts.policy).splitlines()[0] + " (see `rulec check`)") from None
    if accounts is not None:  # many accounts, bounded parallelism (rulec/aws/accounts.py)
        from rulec.aws import accounts as many

        def one(account: Any, pusher: Pusher) -> list:
            keep = [p for p in chosen if account.regions is None or p.region in account.regions]
            regions = {p.region for p in keep}
            mine = reviewed.Reviewed(
                {r: g for r, g in docs.groups.items() if r in regions},
                {r: d for r, d in docs.policies.items() if r in regions},
            )
            return compare(replace(opts, account_id=account.account_id), keep, mine, pusher)[0]

        results = many.run(many.load(accounts), one, parallel, opts.endpoint_url)
        ui.echo(many.as_json(results) if fmt == "json" else many.text(results))
        return many.exit_code(results)
    pusher = Pusher(opts.profile, opts.endpoint_url)
    try:
        found, plan = compare(opts, chosen, docs, pusher)
    except PushError as exc:
        ui.err(f"drift: {exc}")
        return 2
    ui.echo(drift_report.as_json(found, plan) if fmt == "json" else drift_report.text(found, plan))
    return 1 if found else 0


def compare(opts: Options, chosen: list, docs: reviewed.Reviewed, pusher: Pusher) -> tuple[list, Any]:
    """The drift items of one account (and push's plan they come from); reads only."""
    dns_plans = dns_push.plan(pusher, dns_push.documents(opts.out, chosen))
    policies = dns_push.fill_policies(docs.policies, dns_plans)
    plan = pusher.plan(docs.groups, opts.firewall_policy, False, policies, True, opts.account_id)
    return drift_report.items(plan, chosen, str(opts.out)) + dns_push.drift_items(dns_plans, str(opts.out)), plan
