"""`push --replace`: swap in a group with a new capacity, resumable from any interruption.

The swap is: create <name>-rulec-tmp with the new content, point the policy at it, delete <name>, recreate
<name>, point the policy back, delete the temporary group. The firewall policy always references a complete
group. Each round reads the live state and takes the one step that state calls for, so a rerun after an
interruption at any step (even one the service handled while the connection dropped) finishes the swap
instead of failing on "already exists" or leaving the temporary group referenced.
"""

from __future__ import annotations

import copy
from typing import Any

from rulec.aws import push_diff
from rulec.aws.api import PushError
from rulec.aws.fwpolicy import REFS, group_name, tmp_name

MAX_ROUNDS = 12  # a full swap is six steps; the bound only stops a loop against a misbehaving service


def _capacity(described: dict[str, Any]) -> int:
    return described["RuleGroupResponse"]["Capacity"]


def _matches(described: dict[str, Any], request: dict[str, Any]) -> bool:
    return _capacity(described) == request["Capacity"] and push_diff.diff(described, request).empty


def finish(pusher: Any, region: str, request: dict[str, Any], policy_name: str) -> None:
    """Bring `region` to: <name> with the request's content and capacity, referenced by the policy in
    place of any temporary group, and no temporary group left. `pusher` is a push.Pusher."""
    name = request["RuleGroupName"]
    tmp_request = dict(request, RuleGroupName=tmp_name(name))
    for _ in range(MAX_ROUNDS):
        group = pusher.describe_group(region, name)
        tmp = pusher.describe_group(region, tmp_request["RuleGroupName"])
        policy = pusher.describe_policy(region, policy_name)
        if policy is None:
            raise PushError(f"firewall policy {region}/{policy_name} does not exist", pusher.done)
        refs = {group_name(r["ResourceArn"]) for r in policy["FirewallPolicy"].get(REFS, [])}
        group_ok = group is not None and _capacity(group) == request["Capacity"]
        if tmp is None:
            if group is None:
                pusher.create(region, request)
            elif group_ok:
                _sync(pusher, region, group, request)
                return
            else:
                pusher.create(region, tmp_request)
        elif tmp_request["RuleGroupName"] in refs:
            if group is None:
                pusher.create(region, request)
            elif name in refs:  # both referenced: drop the old one first, it is about to go
                _repoint(pusher, region, policy, name, None)
            elif not group_ok:
                pusher.delete(region, name)
            else:
                _sync(pusher, region, group, request)
                _repoint(pusher, region, policy, tmp_request["RuleGroupName"], group)
        elif group is None or group_ok:
            if group is None:
                pusher.create(region, request)
            else:
                pusher.delete(region, tmp_request["RuleGroupName"])
        elif not _matches(tmp, tmp_request):  # left by an earlier build: unreferenced, so recreate it
            pusher.delete(region, tmp_request["RuleGroupName"])
        else:
            _repoint(pusher, region, policy, name, tmp)
    raise PushError(f"{region}/{name}: the replace did not converge in {MAX_ROUNDS} steps", pusher.done)


def _sync(pusher: Any, region: str, group: dict[str, Any], request: dict[str, Any]) -> None:
    """The recreated group must hold the reviewed content (it does, unless the build changed in between)."""
    if push_diff.diff(group, request).empty:
        return
    pusher.checked(
        region,
        "update_rule_group",
        RuleGroupName=request["RuleGroupName"],
        Type="STATEFUL",
        RuleGroup=request["RuleGroup"],
        Description=request["Description"],
        UpdateToken=group["UpdateToken"],
    )
    pusher.step(f"updated {region}/{request['RuleGroupName']}")
    pusher.wait_active(region, request["RuleGroupName"])


def _repoint(pusher: Any, region: str, policy: dict[str, Any], old: str, new: dict[str, Any] | None) -> None:
    """Replace the reference to group `old` with one to `new` (or drop it), in one UpdateFirewallPolicy with
    the token just read: every other reference and setting stays as it is."""
    body = copy.deepcopy(policy["FirewallPolicy"])
    new_arn = new["RuleGroupResponse"]["RuleGroupArn"] if new else None
    refs = []
    for ref in body.get(REFS, []):
        if group_name(ref["ResourceArn"]) == old:
            if new_arn and new_arn not in [r["ResourceArn"] for r in refs]:
                refs.append(dict(ref, ResourceArn=new_arn))
        elif ref["ResourceArn"] != new_arn:
            refs.append(ref)
    if new_arn and new_arn not in [r["ResourceArn"] for r in refs]:
        refs.append({"ResourceArn": new_arn})
    body[REFS] = refs
    name = policy["FirewallPolicyResponse"]["FirewallPolicyName"]
    pusher.checked(
        region,
        "update_firewall_policy",
        FirewallPolicyName=name,
        FirewallPolicy=body,
        UpdateToken=policy["UpdateToken"],
    )
    what = f"now references {group_name(new_arn)} instead of {old}" if new_arn else f"no longer references {old}"
    pusher.step(f"firewall policy {region}/{name}: {what}")
