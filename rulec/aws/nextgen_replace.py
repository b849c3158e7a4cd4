"""`push --replace` for next-gen: swap in a FIREWALL group with a new capacity, resumable from any interruption.

The same swap as Classic's (rulec/aws/replace.py), on a FirewallPolicyV2: create <name>-rulec-tmp with the new
content, point the policy's entry at it (same priority), delete <name>, recreate it, point the entry back, delete
the temporary group. The policy always references a complete group. Each round reads the live state and takes
the one step it calls for, so a rerun after an interruption finishes the swap."""

from __future__ import annotations

import copy
from typing import Any

from rulec.aws.api import PushError
from rulec.aws.fwpolicy import tmp_name

MAX_ROUNDS = 12


def describe(pusher: Any, region: str, name: str) -> dict[str, Any] | None:
    return pusher.describe_group(region, name, "FIREWALL")


def _policy(pusher: Any, region: str, name: str) -> dict[str, Any] | None:
    return pusher.found(region, "describe_firewall_policy_v2", FirewallPolicyV2Name=name)


def _capacity_ok(group: dict[str, Any] | None, request: dict[str, Any]) -> bool:
    return group is not None and group["RuleGroupResponse"]["Capacity"] == request["Capacity"]


def _entries(policy: dict[str, Any]) -> dict[str, dict]:
    return {e["ResourceArn"].rpartition("/")[2]: e for e in policy["FirewallPolicyV2"]["FirewallRuleGroupEntries"]}


def finish(pusher: Any, region: str, request: dict[str, Any], policy_name: str) -> None:
    """Bring `region` to: <name> with the request's content and capacity, referenced by the V2 policy in place of
    any temporary group, and no temporary group left. `pusher` is a NextGenPusher."""
    name = request["RuleGroupName"]
    tmp_request = dict(request, RuleGroupName=tmp_name(name))
    tmp_named = tmp_request["RuleGroupName"]
    for _ in range(MAX_ROUNDS):
        group, tmp = describe(pusher, region, name), describe(pusher, region, tmp_named)
        policy = _policy(pusher, region, policy_name)
        refs = _entries(policy) if policy else {}
        if tmp is None:
            if group is None:
                _create(pusher, region, request)
            elif _capacity_ok(group, request):
                return
            else:
                _create(pusher, region, tmp_request)
        elif tmp_named in refs:
            if group is None:
                _create(pusher, region, request)
            elif name in refs:
                _repoint(pusher, region, policy, name, None)
            elif not _capacity_ok(group, request):
                _delete(pusher, region, name)
            else:
                _repoint(pusher, region, policy, tmp_named, group)
        elif group is None or _capacity_ok(group, request):
            if group is None:
                _create(pusher, region, request)
            else:
                _delete(pusher, region, tmp_named)
        elif name not in refs:  # nothing references the old group: no swap needed
            _delete(pusher, region, name)
        else:
            _repoint(pusher, region, policy, name, tmp)
    raise PushError(f"{region}/{name}: the replace did not converge in {MAX_ROUNDS} steps", pusher.done)


def _create(pusher: Any, region: str, request: dict[str, Any]) -> None:
    pusher.checked(region, "create_rule_group", **request)
    pusher.step(f"created FIREWALL rule group {region}/{request['RuleGroupName']} (capacity {request['Capacity']})")


def _delete(pusher: Any, region: str, name: str) -> None:
    pusher.checked(region, "delete_rule_group", RuleGroupName=name, Type="FIREWALL")
    pusher.step(f"deleted FIREWALL rule group {region}/{name}")


def _repoint(pusher: Any, region: str, policy: dict[str, Any], old: str, new: dict[str, Any] | None) -> None:
    """The entry of group `old` now names `new` (same priority), or is dropped; one update with the token just
    read, every other entry and setting kept."""
    body = copy.deepcopy(policy["FirewallPolicyV2"])
    new_arn = new["RuleGroupResponse"]["RuleGroupArn"] if new else None
    entries = []
    for e in body["FirewallRuleGroupEntries"]:
        if e["ResourceArn"].rpartition("/")[2] == old:
            if new_arn:
                entries.append(dict(e, ResourceArn=new_arn))
        elif e["ResourceArn"] != new_arn:
            entries.append(e)
    body["FirewallRuleGroupEntries"] = entries
    pusher.checked(
        region,
        "update_firewall_policy_v2",
        FirewallPolicyV2Name=policy["FirewallPolicyV2Response"]["FirewallPolicyV2Name"],
        FirewallPolicyV2=body,
        UpdateToken=policy["UpdateToken"],
    )
    what = f"references {new_arn.rpartition('/')[2]} instead of {old}" if new_arn else f"no longer references {old}"
    pusher.step(f"Next Generation firewall policy {region}: {what}")
