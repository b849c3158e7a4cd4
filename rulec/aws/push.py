"""Push stage: create or update the rule groups and the firewall policy through the Network Firewall API.

Plan first (DescribeRuleGroup / DescribeFirewallPolicy, compare normalised content), then act. Each group
write is a single API call that replaces a whole group, so a group is always wholly old or wholly new; a
stale UpdateToken stops the push and shows what changed remotely instead of overwriting it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from rulec.aws import fwpolicy, push_diff
from rulec.aws import replace as swap
from rulec.aws.api import Api, PushError, api_message
from rulec.aws.fwpolicy import FORWARD, TMP_SUFFIX, PolicyChange, tmp_name

__all__ = ["FORWARD", "TMP_SUFFIX", "GroupChange", "Plan", "PolicyChange", "PushError", "Pusher"]


@dataclass
class GroupChange:
    region: str
    request: dict[str, Any]  # the CreateRuleGroup request from the build
    action: str  # create | update | none | replace | blocked
    remote: dict[str, Any] | None = None  # DescribeRuleGroup response, when the group exists
    diff: push_diff.Diff = field(default_factory=push_diff.Diff)
    reason: str = ""
    leftover: bool = False  # an interrupted --replace left <name>-rulec-tmp behind

    @property
    def name(self) -> str:
        return self.request["RuleGroupName"]


@dataclass
class Plan:
    groups: list[GroupChange]
    policies: list[PolicyChange]

    @property
    def blocked(self) -> list[str]:
        return [f"{g.region}/{g.name}: {g.reason}" for g in self.groups if g.action == "blocked"] + [
            f"{p.region}/{p.name}: {p.reason}" for p in self.policies if p.action == "blocked"
        ]

    @property
    def changes(self) -> bool:
        return any(g.action != "none" for g in self.groups) or any(p.action != "none" for p in self.policies)

    def describe(self) -> list[str]:
        """The plan as a reviewer reads it: per group the action, capacity and what changes."""
        lines = []
        for g in self.groups:
            have, want = (g.remote["RuleGroupResponse"]["Capacity"] if g.remote else None), g.request["Capacity"]
            if have in (None, want):
                cap = f"capacity {want}"
            elif g.action == "replace":
                cap = f"capacity {have} -> {want}"
            else:
                cap = f"capacity stays {have}: fixed at creation, the policy asks {want} (--replace changes it)"
            label = {"none": "no change", "blocked": "BLOCKED"}.get(g.action, g.action)
            lines.append(f"{g.region}/{g.name}: {label} ({cap})")
            if g.leftover and g.action == "replace":
                lines.append(f"    finishes the interrupted replace that left {tmp_name(g.name)}")
            lines.extend(f"    {line}" for line in (g.diff.describe() if g.action != "none" else []))
            lines.extend([f"    {g.reason}"] if g.reason else [])
        for p in self.policies:
            lines.extend(p.describe())
        return lines


class Pusher(Api):
    def __init__(self, *args: Any, poll: float = 2.0, wait_timeout: float = 600.0, **kw: Any):
        super().__init__(*args, **kw)
        self.poll, self.wait_timeout = poll, wait_timeout

    # -- planning ------------------------------------------------------------------------------
    def plan(
        self,
        requests: dict[str, list[dict[str, Any]]],
        firewall_policy: str | None,
        replace: bool,
        policy_requests: dict[str, dict[str, Any]] | None = None,
        prune: bool = False,
        account_id: str | None = None,
    ) -> Plan:
        """requests: region -> CreateRuleGroup requests; policy_requests: region -> CreateFirewallPolicy
        request (with ${AccountId}). Reads only; writes nothing."""
        policy_requests = policy_requests or {}
        groups: list[GroupChange] = []
        policies: list[PolicyChange] = []
        for region, docs in requests.items():
            doc = policy_requests.get(region)
            name = doc["FirewallPolicyName"] if doc else firewall_policy
            for req in docs:
                groups.append(self._plan_group(region, req, replace, name))
            if doc:
                account = account_id or self.account_id(region)
                policies.append(self._plan_policy(region, name, docs, fwpolicy.substitute(doc, account), prune))
                policies[-1].account = account
            elif firewall_policy:
                policies.append(self._plan_policy(region, firewall_policy, docs, None, prune))
        for g in groups:
            if g.action == "replace" and any(p.region == g.region and p.remote is None for p in policies):
                g.action, g.reason = "blocked", "--replace needs an existing firewall policy to repoint"
        return Plan(groups, policies)

    def _plan_group(self, region: str, doc: dict[str, Any], replace: bool, policy: str | None) -> GroupChange:
        leftover = self.describe_group(region, tmp_name(doc["RuleGroupName"])) is not None
        remote = self.describe_group(region, doc["RuleGroupName"])
        if remote is None and not leftover:
            return GroupChange(region, doc, "create", diff=push_diff.diff(None, doc))
        change = GroupChange(region, doc, "update", remote, push_diff.diff(remote, doc), leftover=leftover)
        have = remote["RuleGroupResponse"]["Capacity"] if remote else doc["Capacity"]
        need = push_diff.rules_needed(doc["RuleGroup"])
        if leftover or need > have or (doc["Capacity"] != have and replace):
            if not replace:
                why = (
                    f"an interrupted --replace left {tmp_name(change.name)}; "
                    if leftover
                    else f"needs {need} rules but was created with capacity {have}, which cannot be raised. "
                )
                change.action, change.reason = (
                    "blocked",
                    why + "Replace it: create a new group, point the firewall policy at it, delete the old one; "
                    "`rulec push --replace --firewall-policy NAME` does exactly that (and finishes an interrupted one)",
                )
            elif not policy:
                change.action, change.reason = "blocked", "--replace needs --firewall-policy (the policy to repoint)"
            else:
                change.action = "replace"
        elif change.diff.empty:
            change.action = "none"
        return change

    def _plan_policy(
        self, region: str, name: str, docs: list[dict[str, Any]], desired: dict[str, Any] | None, prune: bool
    ) -> PolicyChange:
        remote = self.describe_policy(region, name)
        change = PolicyChange(region, name, remote, desired, prune=prune)
        if remote is None and desired is None:
            change.reason = f"firewall policy '{name}' does not exist in {region}"
            return change
        built = {d["RuleGroupName"] for d in docs}
        body = remote["FirewallPolicy"] if remote else None
        if body and body.get(fwpolicy.SEO, {}).get("RuleOrder") == "STRICT_ORDER":
            change.reason = "uses STRICT_ORDER; rulec's groups use DEFAULT_ACTION_ORDER and the orders must match"
            return change
        if desired is None:  # --firewall-policy without a reviewed document: reference the groups, forward
            prefix = remote["FirewallPolicyResponse"]["FirewallPolicyArn"].rpartition(":")[0]
            desired = {
                "StatelessDefaultActions": FORWARD,
                "StatelessFragmentDefaultActions": FORWARD,
                fwpolicy.REFS: [{"ResourceArn": f"{prefix}:stateful-rulegroup/{n}"} for n in sorted(built)],
            }
            change.desired = {"FirewallPolicy": desired}
        stale = self._read_references(change, body or {}, built) if body else set()
        change.merge = fwpolicy.merge(body, change.desired["FirewallPolicy"], stale)
        if change.merge.removals and not prune:
            change.reason = "would remove what is listed above; review it, then push again with --prune"
        return change

    def _read_references(self, change: PolicyChange, body: dict[str, Any], built: set[str]) -> set[str]:
        """Reads every other group the policy references: rulec's own that the build dropped are stale;
        other teams' pass rules to EXTERNAL_NET are reported."""
        stale = set()
        for ref in body.get(fwpolicy.REFS, []):
            arn, name = ref["ResourceArn"], fwpolicy.group_name(ref["ResourceArn"])
            if name in built or (name.endswith(TMP_SUFFIX) and name[: -len(TMP_SUFFIX)] in built):
                continue  # rulec's current groups, or a replace's temporary group (replace.py finishes it)
            described = self.describe_group_arn(change.region, arn)
            if described is None:
                continue
            if fwpolicy.is_rulec_group(described):
                stale.add(arn)
            elif passes := fwpolicy.open_passes(described):
                change.passes[name] = passes
        return stale

    # -- acting --------------------------------------------------------------------------------
    def dry_run(self, plan: Plan) -> None:
        """Let the service validate every write (DryRun=True); changes nothing."""
        for g in plan.groups:
            if g.action in ("create", "replace"):
                self.create(g.region, g.request, dry_run=True)
            elif g.action == "update":
                self._update(g, dry_run=True)
        for p in plan.policies:
            pending = any(g.region == p.region and g.action in ("create", "replace") for g in plan.groups)
            if p.action == "update" and not pending:
                self._write_policy(p, dry_run=True)
            elif p.action == "create" and not pending:
                self.checked(p.region, "create_firewall_policy", DryRun=True, **p.desired)

    def apply(self, plan: Plan) -> list[str]:
        if plan.blocked:
            raise PushError("nothing was written:\n  " + "\n  ".join(plan.blocked))
        replaced: set[str] = set()
        for g in plan.groups:
            if g.action == "create":
                self.create(g.region, g.request, dry_run=True)
                self.create(g.region, g.request)
            elif g.action == "update":
                self._update(g)
            elif g.action == "replace":
                policy = next(p for p in plan.policies if p.region == g.region)
                swap.finish(self, g.region, g.request, policy.name)
                replaced.add(g.region)
        for p in plan.policies:
            if p.region in replaced and p.remote is not None:
                self._refresh(p)
            if p.action in ("create", "update"):
                self._write_policy(p)
        return self.done

    def create(self, region: str, doc: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        response = self.checked(region, "create_rule_group", DryRun=dry_run, **doc)
        if not dry_run:
            self.step(f"created {region}/{doc['RuleGroupName']} (capacity {doc['Capacity']})")
            self.wait_active(region, doc["RuleGroupName"])
        return response

    def _update(self, g: GroupChange, dry_run: bool = False) -> None:
        params = {
            "RuleGroupName": g.name,
            "Type": "STATEFUL",
            "RuleGroup": g.request["RuleGroup"],
            "Description": g.request["Description"],
            "UpdateToken": g.remote["UpdateToken"],
        }
        try:
            self.call(g.region, "update_rule_group", DryRun=dry_run, **params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "InvalidTokenException":
                now = self.describe_group(g.region, g.name)
                changed = push_diff.diff(g.remote, now).describe() if now else ["the group was deleted"]
                raise PushError(
                    f"{g.region}/{g.name} changed remotely since the plan was made; nothing was "
                    f"overwritten. Remote changes:\n    "
                    + "\n    ".join(changed or ["(metadata only)"])
                    + "\n  Review them, then push again.",
                    self.done,
                ) from None
            raise PushError(api_message(exc), self.done) from None
        if not dry_run:
            self.step(f"updated {g.region}/{g.name}")
            self.wait_active(g.region, g.name)

    def delete(self, region: str, name: str) -> None:
        self.checked(region, "delete_rule_group", RuleGroupName=name, Type="STATEFUL")
        self.step(f"deleted {region}/{name}")
        deadline = time.monotonic() + self.wait_timeout
        while self.describe_group(region, name) is not None:
            if time.monotonic() > deadline:
                raise PushError(f"{region}/{name} was not deleted within {self.wait_timeout:.0f} s", self.done)
            time.sleep(self.poll)

    def _refresh(self, p: PolicyChange) -> None:
        """After a replace repointed the policy (with the latest token each time), merge again from there."""
        p.remote = self.describe_policy(p.region, p.name)
        if p.remote is None:
            raise PushError(f"firewall policy {p.region}/{p.name} disappeared during the replace", self.done)
        built = {fwpolicy.group_name(r["ResourceArn"]) for r in p.desired["FirewallPolicy"].get(fwpolicy.REFS, [])}
        stale = self._read_references(p, p.remote["FirewallPolicy"], built)
        p.merge = fwpolicy.merge(p.remote["FirewallPolicy"], p.desired["FirewallPolicy"], stale)

    def _write_policy(self, p: PolicyChange, dry_run: bool = False) -> None:
        desired = p.desired
        if p.merge.removals and not p.prune:
            raise PushError(
                f"firewall policy {p.region}/{p.name}: would remove "
                + "; ".join(p.merge.removals)
                + " (not in the plan that was approved): review, then push again",
                self.done,
            )
        what = "; ".join(c.split(" (arn:")[0] for c in p.merge.changes + (p.merge.removals if p.prune else []))
        if p.remote is None:
            self.checked(p.region, "create_firewall_policy", **desired)
            self.step(f"created firewall policy {p.region}/{p.name}")
            return
        extra = {"Description": desired["Description"]} if desired.get("Description") else {}
        try:
            self.call(
                p.region,
                "update_firewall_policy",
                FirewallPolicyName=p.name,
                FirewallPolicy=p.merge.body,
                UpdateToken=p.remote["UpdateToken"],
                DryRun=dry_run,
                **extra,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "InvalidTokenException":
                raise PushError(
                    f"firewall policy {p.region}/{p.name} changed remotely since the plan; "
                    "nothing was overwritten, push again",
                    self.done,
                ) from None
            raise PushError(api_message(exc), self.done) from None
        if not dry_run:
            self.step(f"firewall policy {p.region}/{p.name}: {what}")

    def wait_active(self, region: str, name: str) -> None:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            found = self.describe_group(region, name)
            status = found["RuleGroupResponse"].get("RuleGroupStatus") if found else "MISSING"
            if status == "ACTIVE":
                return
            if status == "ERROR" or time.monotonic() > deadline:  # MISSING: not yet visible, keep polling
                raise PushError(f"{region}/{name} is {status}, not ACTIVE, after {self.wait_timeout:.0f} s", self.done)
            time.sleep(self.poll)
