"""Push stage: create or update the rule groups through the Network Firewall API (the only boto3 user).

Plan first (DescribeRuleGroup for every group, compare normalised content), then act. Each write is a
single API call that replaces a whole group, so a group is always wholly old or wholly new; a stale
UpdateToken stops the push and shows what changed remotely instead of overwriting it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from rulec.aws import push_diff
from rulec.errors import RulecError

RETRYABLE = {
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailableException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}
FORWARD = ["aws:forward_to_sfe"]
TMP_SUFFIX = "-rulec-tmp"


class PushError(Exception):
    """A push that stopped (conflict, capacity, API failure); `done` lists what was already applied."""

    def __init__(self, message: str, done: list[str] | None = None):
        super().__init__(message)
        self.done = done or []


@dataclass
class GroupChange:
    region: str
    request: dict[str, Any]  # the CreateRuleGroup request from the build
    action: str  # create | update | none | replace | blocked
    remote: dict[str, Any] | None = None  # DescribeRuleGroup response, when the group exists
    diff: push_diff.Diff = field(default_factory=push_diff.Diff)
    reason: str = ""

    @property
    def name(self) -> str:
        return self.request["RuleGroupName"]


@dataclass
class PolicyChange:
    region: str
    name: str
    remote: dict[str, Any]
    missing: list[str]  # group names not yet referenced
    forward: bool  # stateless default actions must be set to forward to the stateful engine
    reason: str = ""

    @property
    def action(self) -> str:
        if self.reason:
            return "blocked"
        return "update" if self.missing or self.forward else "none"


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
            lines.extend(f"    {line}" for line in (g.diff.describe() if g.action != "none" else []))
            lines.extend([f"    {g.reason}"] if g.reason else [])
        for p in self.policies:
            lines.append(f"{p.region}/firewall policy {p.name}: {p.action.replace('none', 'no change')}")
            lines.extend(f"    + reference {name}" for name in p.missing)
            lines.extend(["    ~ stateless default actions -> aws:forward_to_sfe"] if p.forward else [])
            lines.extend([f"    {p.reason}"] if p.reason else [])
        return lines


class Pusher:
    def __init__(
        self,
        profile: str | None = None,
        endpoint_url: str | None = None,
        log: Callable[[str], None] = lambda _: None,
        retries: int = 5,
        backoff: float = 0.5,
        poll: float = 2.0,
        wait_timeout: float = 600.0,
    ):
        self.profile, self.endpoint_url, self.log = profile, endpoint_url, log
        self.retries, self.backoff, self.poll, self.wait_timeout = retries, backoff, poll, wait_timeout
        self._clients: dict[str, Any] = {}
        self.done: list[str] = []

    # -- API access ----------------------------------------------------------------------------
    def client(self, region: str) -> Any:
        if region not in self._clients:
            try:
                session = boto3.session.Session(profile_name=self.profile, region_name=region)
            except BotoCoreError as exc:
                raise RulecError(f"AWS configuration: {exc}") from None
            config = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60)
            self._clients[region] = session.client("network-firewall", endpoint_url=self.endpoint_url, config=config)
        return self._clients[region]

    def call(self, region: str, operation: str, **params: Any) -> dict[str, Any]:
        """One API call with bounded retries and exponential backoff for throttling and server errors."""
        for attempt in range(self.retries):
            try:
                return getattr(self.client(region), operation)(**params)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in RETRYABLE and attempt + 1 < self.retries:
                    delay = self.backoff * 2**attempt
                    self.log(f"  {operation}: {code}, retrying in {delay:.2f} s ({attempt + 1}/{self.retries - 1})")
                    time.sleep(delay)
                    continue
                raise
            except NoCredentialsError:
                raise RulecError(
                    "no AWS credentials found (environment, --profile, config files, instance role)"
                ) from None
            except BotoCoreError as exc:
                raise PushError(f"{operation} in {region}: {exc}", self.done) from None
        raise AssertionError("unreachable")

    def describe_group(self, region: str, name: str) -> dict[str, Any] | None:
        try:
            return self.call(region, "describe_rule_group", RuleGroupName=name, Type="STATEFUL")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise PushError(_api(exc), self.done) from None

    # -- planning ------------------------------------------------------------------------------
    def plan(self, requests: dict[str, list[dict[str, Any]]], firewall_policy: str | None, replace: bool) -> Plan:
        """requests: region -> CreateRuleGroup requests. Reads only; writes nothing."""
        groups: list[GroupChange] = []
        policies: list[PolicyChange] = []
        for region, docs in requests.items():
            for doc in docs:
                groups.append(self._plan_group(region, doc, replace, firewall_policy))
            if firewall_policy:
                policies.append(self._plan_policy(region, firewall_policy, [d["RuleGroupName"] for d in docs]))
        return Plan(groups, policies)

    def _plan_group(self, region: str, doc: dict[str, Any], replace: bool, firewall_policy: str | None) -> GroupChange:
        remote = self.describe_group(region, doc["RuleGroupName"])
        if remote is None:
            return GroupChange(region, doc, "create", diff=push_diff.diff(None, doc))
        change = GroupChange(region, doc, "update", remote, push_diff.diff(remote, doc))
        have = remote["RuleGroupResponse"]["Capacity"]
        need = push_diff.rules_needed(doc["RuleGroup"])
        if need > have or (doc["Capacity"] != have and replace):
            if not replace:
                change.action, change.reason = (
                    "blocked",
                    (
                        f"needs {need} rules but was created with capacity {have}, which cannot be raised. Replace it: "
                        f"create a new group, point the firewall policy at it, delete the old one; "
                        f"`rulec push --replace --firewall-policy NAME` does exactly that"
                    ),
                )
            elif not firewall_policy:
                change.action, change.reason = "blocked", "--replace needs --firewall-policy (the policy to repoint)"
            else:
                change.action = "replace"
        elif change.diff.empty:
            change.action = "none"
        return change

    def _plan_policy(self, region: str, name: str, group_names: list[str]) -> PolicyChange:
        try:
            remote = self.call(region, "describe_firewall_policy", FirewallPolicyName=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return PolicyChange(region, name, {}, [], False, f"firewall policy '{name}' does not exist in {region}")
            raise PushError(_api(exc), self.done) from None
        body = remote["FirewallPolicy"]
        refs = {r["ResourceArn"].rpartition("/")[2] for r in body.get("StatefulRuleGroupReferences", [])}
        change = PolicyChange(
            region,
            name,
            remote,
            [g for g in group_names if g not in refs],
            body.get("StatelessDefaultActions") != FORWARD or body.get("StatelessFragmentDefaultActions") != FORWARD,
        )
        if body.get("StatefulEngineOptions", {}).get("RuleOrder") == "STRICT_ORDER":
            change.reason = "uses STRICT_ORDER; rulec's groups use DEFAULT_ACTION_ORDER and the orders must match"
        return change

    # -- acting --------------------------------------------------------------------------------
    def dry_run(self, plan: Plan) -> None:
        """Let the service validate every write (DryRun=True); changes nothing."""
        for g in plan.groups:
            if g.action in ("create", "replace"):
                self._create(g.region, g.request, dry_run=True)
            elif g.action == "update":
                self._update(g, dry_run=True)

    def apply(self, plan: Plan) -> list[str]:
        if plan.blocked:
            raise PushError("nothing was written:\n  " + "\n  ".join(plan.blocked))
        for g in plan.groups:
            if g.action == "create":
                self._create(g.region, g.request, dry_run=True)
                self._create(g.region, g.request)
            elif g.action == "update":
                self._update(g)
            elif g.action == "replace":
                self._replace(g, next(p for p in plan.policies if p.region == g.region))
        for p in plan.policies:
            if p.action == "update":
                self._ensure_policy(p)
        return self.done

    def _create(self, region: str, doc: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        try:
            response = self.call(region, "create_rule_group", DryRun=dry_run, **doc)
        except ClientError as exc:
            raise PushError(_api(exc), self.done) from None
        if not dry_run:
            self._step(f"created {region}/{doc['RuleGroupName']} (capacity {doc['Capacity']})")
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
            raise PushError(_api(exc), self.done) from None
        if not dry_run:
            self._step(f"updated {g.region}/{g.name}")
            self.wait_active(g.region, g.name)

    def _replace(self, g: GroupChange, policy: PolicyChange) -> None:
        """Swap in a group with a new capacity; the firewall policy always points at a complete group."""
        tmp = dict(g.request, RuleGroupName=g.name[: 128 - len(TMP_SUFFIX)] + TMP_SUFFIX)
        old_arn = g.remote["RuleGroupResponse"]["RuleGroupArn"]
        tmp_arn = self._create(g.region, tmp)["RuleGroupResponse"]["RuleGroupArn"]
        self._swap_reference(policy, old_arn, tmp_arn)
        self._delete(g.region, g.name)
        new_arn = self._create(g.region, g.request)["RuleGroupResponse"]["RuleGroupArn"]
        self._swap_reference(policy, tmp_arn, new_arn)
        self._delete(g.region, tmp["RuleGroupName"])

    def _delete(self, region: str, name: str) -> None:
        try:
            self.call(region, "delete_rule_group", RuleGroupName=name, Type="STATEFUL")
        except ClientError as exc:
            raise PushError(_api(exc), self.done) from None
        self._step(f"deleted {region}/{name}")
        deadline = time.monotonic() + self.wait_timeout
        while self.describe_group(region, name) is not None:
            if time.monotonic() > deadline:
                raise PushError(f"{region}/{name} was not deleted within {self.wait_timeout:.0f} s", self.done)
            time.sleep(self.poll)

    def _policy_update(self, policy: PolicyChange, body: dict[str, Any], what: str) -> None:
        latest = self.call(policy.region, "describe_firewall_policy", FirewallPolicyName=policy.name)
        if (
            latest["UpdateToken"] != policy.remote["UpdateToken"]
            and latest["FirewallPolicy"] != policy.remote["FirewallPolicy"]
        ):
            raise PushError(
                f"firewall policy {policy.region}/{policy.name} changed remotely since the plan; "
                "nothing was overwritten, push again",
                self.done,
            )
        try:
            response = self.call(
                policy.region,
                "update_firewall_policy",
                FirewallPolicyName=policy.name,
                FirewallPolicy=body,
                UpdateToken=latest["UpdateToken"],
            )
        except ClientError as exc:
            raise PushError(_api(exc), self.done) from None
        policy.remote = {"FirewallPolicy": body, "UpdateToken": response["UpdateToken"]}
        self._step(f"firewall policy {policy.region}/{policy.name}: {what}")

    def _swap_reference(self, policy: PolicyChange, old: str, new: str) -> None:
        body = dict(policy.remote["FirewallPolicy"])
        refs = [r for r in body.get("StatefulRuleGroupReferences", []) if r["ResourceArn"] != old]
        body["StatefulRuleGroupReferences"] = refs + [{"ResourceArn": new}]
        self._policy_update(policy, body, f"now references {new.rpartition('/')[2]}")

    def _ensure_policy(self, policy: PolicyChange) -> None:
        body = dict(policy.remote["FirewallPolicy"])
        refs = list(body.get("StatefulRuleGroupReferences", []))
        have = {r["ResourceArn"].rpartition("/")[2] for r in refs}
        for name in policy.missing:
            if name not in have:
                arn = self.describe_group(policy.region, name)["RuleGroupResponse"]["RuleGroupArn"]
                refs.append({"ResourceArn": arn})
        body.update(
            StatefulRuleGroupReferences=refs, StatelessDefaultActions=FORWARD, StatelessFragmentDefaultActions=FORWARD
        )
        what = ", ".join(
            [f"references {n}" for n in policy.missing]
            + (["forwards to the stateful engine"] if policy.forward else [])
        )
        self._policy_update(policy, body, what)

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

    def _step(self, message: str) -> None:
        self.done.append(message)
        self.log(f"  {message}")


def _api(exc: ClientError) -> str:
    err = exc.response.get("Error", {})
    return f"{exc.operation_name}: {err.get('Code')}: {err.get('Message')}"
