"""A capacity change replaces cleanly in both tools: replayed with real boto3 over HTTP against the emulator
(which enforces unique names and refuses to delete a group a policy still references).

What each tool does on a change of a create-only / ForceNew property, replayed call by call:
- CloudFormation: create the replacement, update the resources that reference it, delete the old one in
  the clean-up phase;
- Terraform with `create_before_destroy`: create the new group, update the firewall policy, destroy the old.
"""

import json
import shutil

import boto3
import pytest
from botocore.exceptions import ClientError

from rulec import export, pipeline
from rulec.emit import terraform
from tests.conftest import EXAMPLE
from tests.test_export import tf_groups, with_policies

REGION = "eu-west-1"
CREATE_ONLY = ("RuleGroupName", "Capacity", "Type")


def policy_with_capacity(tmp_path, capacity: int):
    d = tmp_path / f"c{capacity}"
    shutil.copytree(EXAMPLE.parent, d, ignore=shutil.ignore_patterns("out"))
    p = d / "policy.yaml"
    p.write_text(
        p.read_text().replace(
            "{name: Databricks-FQDNs, capacity: 100}", f"{{name: Databricks-FQDNs, capacity: {capacity}}}"
        )
    )
    return p


def exported(policy, fmt: str) -> dict:
    files = export.render(with_policies(pipeline.build(policy)), fmt)
    return json.loads(files[f"{REGION}{'.template.json' if fmt == 'cloudformation' else '.tf.json'}"])


class Account:
    """The emulated account, through boto3; every write is logged."""

    def __init__(self, server):
        self.client = boto3.client("network-firewall", region_name=REGION, endpoint_url=server.url)
        self.log: list[str] = []

    def create_group(self, request: dict) -> str:
        self.log.append(f"create {request['RuleGroupName']}")
        return self.client.create_rule_group(**request)["RuleGroupResponse"]["RuleGroupArn"]

    def delete_group(self, arn: str) -> None:
        self.log.append(f"delete {arn.rpartition('/')[2]}")
        self.client.delete_rule_group(RuleGroupArn=arn)

    def put_policy(self, request: dict) -> str:
        name = request["FirewallPolicyName"]
        try:
            token = self.client.describe_firewall_policy(FirewallPolicyName=name)["UpdateToken"]
        except self.client.exceptions.ResourceNotFoundException:
            self.log.append(f"create policy {name}")
            return self.client.create_firewall_policy(**request)["FirewallPolicyResponse"]["FirewallPolicyArn"]
        self.log.append(f"update policy {name}")
        return self.client.update_firewall_policy(UpdateToken=token, **request)["FirewallPolicyResponse"][
            "FirewallPolicyArn"
        ]

    def names(self) -> list[str]:
        return [g["Name"] for g in self.client.list_rule_groups()["RuleGroups"]]

    def policy_refs(self, name: str) -> list[str]:
        body = self.client.describe_firewall_policy(FirewallPolicyName=name)["FirewallPolicy"]
        return [r["ResourceArn"].rpartition("/")[2] for r in body["StatefulRuleGroupReferences"]]


def resolve(value, physical: dict[str, str]):
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            return physical[value["Fn::GetAtt"][0]]
        return {k: resolve(v, physical) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, physical) for v in value]
    return value


def deploy_stack(account: Account, template: dict, state: dict) -> None:
    """One CloudFormation create or update of the stack; `state` holds the previous template and ARNs."""
    old = state.get("template", {"Resources": {}})["Resources"]
    physical, cleanup = state.setdefault("physical", {}), []
    for lid, res in template["Resources"].items():
        if res["Type"] != "AWS::NetworkFirewall::RuleGroup":
            continue
        props, before = res["Properties"], old.get(lid)
        if before is None or any(before["Properties"][k] != props[k] for k in CREATE_ONLY):
            if before is not None:
                cleanup.append(physical[lid])
            physical[lid] = account.create_group(props)
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::NetworkFirewall::FirewallPolicy":
            physical[lid] = account.put_policy(resolve(res["Properties"], physical))
    for arn in cleanup:
        account.delete_group(arn)
    state["template"] = template


def tf_policy_request(body: dict, state: dict) -> dict:
    (fp,) = body["firewall_policy"]
    (engine,) = fp["stateful_engine_options"]
    (variables,) = fp["policy_variables"]
    refs = [r["resource_arn"].split(".")[1] for r in fp["stateful_rule_group_reference"]]
    return {
        "FirewallPolicyName": body["name"],
        "Description": body["description"],
        "FirewallPolicy": {
            "StatelessDefaultActions": fp["stateless_default_actions"],
            "StatelessFragmentDefaultActions": fp["stateless_fragment_default_actions"],
            "StatefulRuleGroupReferences": [{"ResourceArn": state[label]["arn"]} for label in refs],
            "StatefulEngineOptions": {"RuleOrder": engine["rule_order"], "StreamExceptionPolicy": "DROP"},
            "PolicyVariables": {
                "RuleVariables": {
                    v["key"]: {"Definition": v["ip_set"][0]["definition"]} for v in variables["rule_variables"]
                }
            },
        },
    }


def terraform_apply(account: Account, module: dict, state: dict) -> None:
    """One `terraform apply`: ForceNew changes on a create_before_destroy group create first, update the
    policy that depends on it, and destroy the deposed group last."""
    deposed = []
    for label, body in module["resource"][terraform.GROUP].items():
        (request,) = tf_groups({"resource": {terraform.GROUP: {label: body}}}).values()
        request["RuleGroupName"] = body["name"]
        before = state.get(label)
        if before is None or (before["name"], before["capacity"]) != (body["name"], body["capacity"]):
            assert body["lifecycle"] == {"create_before_destroy": True}
            if before is not None:
                deposed.append(before["arn"])
            state[label] = {"name": body["name"], "capacity": body["capacity"], "arn": account.create_group(request)}
    for body in module["resource"][terraform.POLICY].values():
        account.put_policy(tf_policy_request(body, state))
    for arn in deposed:
        account.delete_group(arn)


@pytest.mark.parametrize("fmt", ["cloudformation", "terraform"])
def test_a_capacity_change_creates_the_new_group_repoints_the_policy_then_deletes_the_old(emulator, tmp_path, fmt):
    account, state = Account(emulator), {}
    apply = deploy_stack if fmt == "cloudformation" else terraform_apply
    apply(account, exported(policy_with_capacity(tmp_path, 100), fmt), state)
    assert account.names() == ["Databricks-FQDNs-c100", "Deny-Protocols-c100"]
    account.log.clear()

    bigger = policy_with_capacity(tmp_path, 300)
    apply(account, exported(bigger, fmt), state)
    assert account.log == [
        "create Databricks-FQDNs-c300",
        "update policy Databricks-Egress",
        "delete Databricks-FQDNs-c100",
    ]
    assert account.names() == ["Databricks-FQDNs-c300", "Deny-Protocols-c100"]
    assert account.policy_refs("Databricks-Egress") == ["Databricks-FQDNs-c300", "Deny-Protocols-c100"]
    group = account.client.describe_rule_group(RuleGroupName="Databricks-FQDNs-c300", Type="STATEFUL")
    assert group["RuleGroupResponse"]["Capacity"] == 300
    want = pipeline.build(bigger).requests[REGION][0]["RuleGroup"]
    got = group["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]
    assert sorted(got) == sorted(want["RulesSource"]["RulesSourceList"]["Targets"])


def test_without_the_capacity_in_the_name_both_replacement_orders_fail(emulator, tmp_path):
    """Why the names carry the capacity: under one fixed name, create-before-delete collides and
    delete-before-create is refused while the policy references the group (Terraform retries it endlessly)."""
    account, state = Account(emulator), {}
    template = exported(policy_with_capacity(tmp_path, 100), "cloudformation")
    for res in template["Resources"].values():
        if res["Type"] == "AWS::NetworkFirewall::RuleGroup":
            res["Properties"]["RuleGroupName"] = res["Properties"]["RuleGroupName"].rsplit("-c", 1)[0]
    deploy_stack(account, template, state)
    bigger = json.loads(json.dumps(template["Resources"]["DatabricksFQDNsRuleGroup"]["Properties"]))
    bigger["Capacity"] = 300
    with pytest.raises(ClientError, match="already exists"):
        account.create_group(bigger)
    with pytest.raises(ClientError, match="still in use"):
        account.delete_group(state["physical"]["DatabricksFQDNsRuleGroup"])
    assert account.names() == ["Databricks-FQDNs", "Deny-Protocols"]
