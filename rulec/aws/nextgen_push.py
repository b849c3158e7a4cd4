"""push for `engine: next-gen`: the reviewed FIREWALL rule groups and the FirewallPolicyV2 of each region.

Plan first (reads only), then write only what differs: groups (create, or update with their UpdateToken), then
the V2 policy (create, or update with its UpdateToken) pointing at the groups' real ARNs. A stale token stops the
push without overwriting anything. Going from ENFORCE to MONITOR is reviewed in the YAML and still refused here
without `--allow-unenforced`, because nothing is blocked afterwards. A group whose capacity is too small is
BLOCKED: Network Firewall cannot raise capacity in place (replace it; see the README)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from rulec.aws.api import Api, PushError, api_message

ACCOUNT = "${AccountId}"


@dataclass
class Item:
    region: str
    kind: str  # group | policy
    name: str
    action: str  # create | update | replace | none | blocked
    doc: dict[str, Any]
    token: str | None = None
    arn: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class NgPlan:
    items: list[Item]

    @property
    def blocked(self) -> list[str]:
        return [f"{i.region}/{i.name}: {n}" for i in self.items if i.action == "blocked" for n in i.notes]

    @property
    def changes(self) -> bool:
        return any(i.action in ("create", "update", "replace") for i in self.items)

    def describe(self) -> list[str]:
        lines = []
        for i in self.items:
            what = "FIREWALL rule group" if i.kind == "group" else "Next Generation firewall policy"
            verb = {"create": "create", "update": "update", "replace": "replace", "none": "unchanged"}.get(
                i.action, "BLOCKED"
            )
            lines.append(f"{i.region}: {what} {i.name}: {verb}")
            lines.extend(f"    {n}" for n in i.notes)
        return lines


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class NextGenPusher(Api):
    def plan(
        self,
        docs: dict[str, tuple[list[dict], dict]],
        allow_unenforced: bool,
        account: str | None,
        replace: bool = False,
    ) -> NgPlan:
        items: list[Item] = []
        for region, (groups, policy) in docs.items():
            arns = {}
            for doc in groups:
                item = self._plan_group(region, doc, replace)
                arns[doc["RuleGroupName"]] = item.arn
                items.append(item)
            items.append(self._plan_policy(region, policy, arns, allow_unenforced, account))
        return NgPlan(items)

    def _plan_group(self, region: str, doc: dict[str, Any], replace: bool = False) -> Item:
        name = doc["RuleGroupName"]
        if replace:
            from rulec.aws import nextgen_replace
            from rulec.aws.fwpolicy import tmp_name

            if nextgen_replace.describe(self, region, tmp_name(name)) is not None:
                note = f"resuming an interrupted replace ({tmp_name(name)} exists)"
                return Item(region, "group", name, "replace", doc, notes=[note])
        live = self.describe_group(region, name, "FIREWALL")
        if live is None:
            return Item(region, "group", name, "create", doc, notes=[f"capacity {doc['Capacity']}"])
        response = live["RuleGroupResponse"]
        item = Item(region, "group", name, "none", doc, live["UpdateToken"], response["RuleGroupArn"])
        rules = doc["FirewallRuleGroup"]["RulesSource"]["FirewallRules"]
        if len(rules) > response["Capacity"]:
            item.action = "replace" if replace else "blocked"
            item.notes.append(
                f"{len(rules)} rules do not fit its capacity {response['Capacity']} (fixed at creation): "
                + (
                    f"replace it with capacity {doc['Capacity']} via {doc['RuleGroupName']}-rulec-tmp"
                    if replace
                    else "re-run with --replace"
                )
            )
        elif not _same(live.get("FirewallRuleGroup"), doc["FirewallRuleGroup"]) or response.get(
            "Description", ""
        ) != doc.get("Description", ""):
            item.action = "update"
            item.notes.append(f"{len(rules)} rules (capacity {response['Capacity']})")
        return item

    def _desired_policy(self, policy: dict, arns: dict[str, str | None], account: str | None) -> dict:
        body = copy.deepcopy(policy["FirewallPolicyV2"])
        for entry in body["FirewallRuleGroupEntries"]:
            name = entry["ResourceArn"].rpartition("/")[2]
            entry["ResourceArn"] = arns.get(name) or entry["ResourceArn"].replace(ACCOUNT, account or ACCOUNT)
        return body

    def _plan_policy(self, region: str, policy: dict, arns: dict, allow_unenforced: bool, account: str | None) -> Item:
        name = policy["FirewallPolicyV2Name"]
        if account is None and None in arns.values():
            account = self.account_id(region)
        desired = dict(policy, FirewallPolicyV2=self._desired_policy(policy, arns, account))
        mode = desired["FirewallPolicyV2"]["PolicyMode"]
        live = self.found(region, "describe_firewall_policy_v2", FirewallPolicyV2Name=name)
        if live is None:
            item = Item(region, "policy", name, "create", desired, notes=[f"PolicyMode {mode}"])
            if mode == "MONITOR":
                item.notes.append("MONITOR: nothing will be blocked (a first step for a new firewall)")
            return item
        item = Item(region, "policy", name, "none", desired, live["UpdateToken"])
        before = live["FirewallPolicyV2"].get("PolicyMode", "ENFORCE")
        if _same(live["FirewallPolicyV2"], desired["FirewallPolicyV2"]):
            return item
        item.action = "update"
        if before != mode:
            item.notes.append(f"PolicyMode {before} -> {mode}")
        if before == "ENFORCE" and mode == "MONITOR":
            item.notes.append("nothing will be blocked after this change: every flow is only logged")
            if not allow_unenforced:
                item.action = "blocked"
                item.notes.append("refused without --allow-unenforced (monitor is a first step, never a rollback)")
        return item

    def dry_run(self, plan: NgPlan) -> None:
        self._writes(plan, dry_run=True)

    def apply(self, plan: NgPlan) -> list[str]:
        self._writes(plan, dry_run=False)
        return self.done

    def _writes(self, plan: NgPlan, dry_run: bool) -> None:
        arns: dict[tuple[str, str], str] = {}
        policies = {i.region: i for i in plan.items if i.kind == "policy"}
        for i in plan.items:
            if i.kind == "group" and i.action == "replace" and not dry_run:
                from rulec.aws import nextgen_replace

                nextgen_replace.finish(self, i.region, i.doc, policies[i.region].name)
                i.arn = nextgen_replace.describe(self, i.region, i.name)["RuleGroupResponse"]["RuleGroupArn"]
                self._refresh(policies[i.region])
            if i.kind == "group":
                arn = self._write_group(i, dry_run) if i.action in ("create", "update") else i.arn
                if arn:
                    arns[i.region, i.name] = arn
        created = {i.region for i in plan.items if i.kind == "group" and i.action == "create"}
        for i in plan.items:
            if dry_run and i.region in created:  # it would reference groups that do not exist yet
                continue
            if i.kind == "policy" and i.action in ("create", "update"):
                for entry in i.doc["FirewallPolicyV2"]["FirewallRuleGroupEntries"]:
                    found = arns.get((i.region, entry["ResourceArn"].rpartition("/")[2]))
                    entry["ResourceArn"] = found or entry["ResourceArn"]
                self._write_policy(i, dry_run)

    def _refresh(self, i: Item) -> None:
        """After a replace rewrote the policy, take its new token (and skip the update if nothing is left)."""
        try:
            live = self.call(i.region, "describe_firewall_policy_v2", FirewallPolicyV2Name=i.name)
        except ClientError:
            return
        i.token = live["UpdateToken"]
        i.action = "create" if i.action == "create" else "update"
        if _same(live["FirewallPolicyV2"], i.doc["FirewallPolicyV2"]):
            i.action = "none"

    def _write_group(self, i: Item, dry_run: bool) -> str | None:
        try:
            if i.action == "create":
                out = self.call(i.region, "create_rule_group", **i.doc, DryRun=dry_run)
            else:
                params = {k: v for k, v in i.doc.items() if k not in ("Capacity",)}
                out = self.call(i.region, "update_rule_group", **params, UpdateToken=i.token, DryRun=dry_run)
        except ClientError as exc:
            raise PushError(self._why(exc, i), self.done) from None
        if not dry_run:
            self.step(f"FIREWALL rule group {i.region}/{i.name}: {i.action}d")
        return out["RuleGroupResponse"]["RuleGroupArn"]

    def _write_policy(self, i: Item, dry_run: bool) -> None:
        try:
            if i.action == "create":
                self.call(i.region, "create_firewall_policy_v2", **i.doc, DryRun=dry_run)
            else:
                self.call(i.region, "update_firewall_policy_v2", **i.doc, UpdateToken=i.token, DryRun=dry_run)
        except ClientError as exc:
            raise PushError(self._why(exc, i), self.done) from None
        if not dry_run:
            self.step(f"Next Generation firewall policy {i.region}/{i.name}: {i.action}d")

    def _why(self, exc: ClientError, i: Item) -> str:
        if exc.response["Error"]["Code"] == "InvalidTokenException":
            return f"{i.region}/{i.name} changed since it was read; nothing was overwritten, push again"
        return api_message(exc)


def reviewed_docs(opts, ui=None) -> dict[str, tuple[list[dict], dict]]:
    """The reviewed requests of the selected regions, read from the build directory (StaleBuild when it is not
    what the policy builds now). With `ui`, the risk gate runs first, as for Classic (RiskFindings)."""
    from rulec import pipeline
    from rulec.aws import reviewed
    from rulec.aws.command import stop_on_risks
    from rulec.errors import RulecError

    result = pipeline.build(opts.policy, opts.catalogs)
    if result.lock_changed:
        raise RulecError(f"{result.lock_path} is not up to date with {opts.policy}; run `rulec build` and commit it")
    if ui is not None:
        stop_on_risks(result, ui)
    diffs = pipeline.check(result, opts.out)
    if diffs:
        raise reviewed.StaleBuild(opts.out, diffs)
    docs = {}
    for p in pipeline.select(result.plans, opts.region, opts.policy):
        groups, policy = result.nextgen_requests[p.region]
        read = [json.loads((opts.out / p.region / f"{g['RuleGroupName']}.json").read_text()) for g in groups]
        name = f"{policy['FirewallPolicyV2Name']}.firewall-policy-v2.json"
        docs[p.region] = (read, json.loads((opts.out / p.region / name).read_text()))
    return docs


def drift(opts, ui, fmt: str = "text") -> int:
    """0 in sync, 1 drift (what push would change), 2 bad input; reads only."""
    from rulec.aws import reviewed
    from rulec.errors import RulecError

    try:
        docs = reviewed_docs(opts)
    except reviewed.StaleBuild as exc:
        raise RulecError(exc.describe(opts.policy).splitlines()[0] + " (see `rulec check`)") from None
    try:
        plan = NextGenPusher(opts.profile, opts.endpoint_url).plan(docs, True, opts.account_id)
    except PushError as exc:
        ui.err(f"drift: {exc}")
        return 2
    found = [i for i in plan.items if i.action != "none"]
    if fmt == "json":
        ui.echo(
            json.dumps(
                [
                    {"region": i.region, "kind": i.kind, "name": i.name, "change": i.action, "notes": i.notes}
                    for i in found
                ],
                indent=2,
            )
        )
    else:
        ui.echo(
            "\n".join(plan.describe())
            + ("\ndrift: the firewall differs from the reviewed build" if found else "\nno drift")
        )
    return 1 if found else 0


def run(opts, ui, dry_run: bool, yes: bool, allow_unenforced: bool, replace: bool = False) -> int:
    """`rulec push` for a next-gen policy: the reviewed build directory, planned, then applied (exit codes as
    Classic's push: 0 done or nothing to do, 1 pending/blocked/stopped, 2 bad input)."""
    from rulec.aws import reviewed
    from rulec.aws.command import RiskFindings

    try:
        docs = reviewed_docs(opts, ui)
    except RiskFindings:
        return 1
    except reviewed.StaleBuild as exc:
        ui.err(exc.describe(opts.policy))
        return 1
    pusher = NextGenPusher(opts.profile, opts.endpoint_url, log=ui.echo)
    try:
        plan = pusher.plan(docs, allow_unenforced, opts.account_id, replace)
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
    ui.echo("done")
    return 0
