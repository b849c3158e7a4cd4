"""`push --share-with ACCOUNT|ORG-ARN`: share the region's rule groups (Network Firewall and DNS Firewall)
through AWS RAM, so other accounts of the organisation (or Firewall Manager policies there) can use them.

One resource share per region, named `rulec-<policy file stem>`, owned by the pushing account. Reads first
(GetResourceShares, GetResourceShareAssociations) and writes only what is missing: CreateResourceShare the first
time, then AssociateResourceShare for new groups or principals. Principals outside the organisation are
refused by the share (allowExternalPrincipals false), so a typo cannot share the groups with a stranger."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from rulec.aws.api import Api, PushError, api_message
from rulec.emit.firewall_policy import partition
from rulec.errors import RulecError

PRINCIPAL = re.compile(
    r"^(\d{12}|arn:aws[a-z-]*:organizations::\d{12}:(organization/o-[a-z0-9]{10,32}"
    r"|ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}))$"
)


def check_principal(text: str) -> str:
    if not PRINCIPAL.match(text):
        raise RulecError(
            f"--share-with '{text}': give a 12-digit account id, an organization ARN "
            "(arn:aws:organizations::111122223333:organization/o-exampleorgid) or an OU ARN"
        )
    return text


def group_arns(region: str, account: str, names: list[str]) -> list[str]:
    return [f"arn:{partition(region)}:network-firewall:{region}:{account}:stateful-rulegroup/{n}" for n in names]


def _call(api: Api, region: str, operation: str, **params: Any) -> dict[str, Any]:
    try:
        return api.call(region, operation, "ram", **params)
    except ClientError as exc:
        raise PushError(f"sharing through AWS RAM: {api_message(exc)}", api.done) from None


def share(api: Api, region: str, name: str, arns: list[str], principal: str) -> list[str]:
    """Make share `name` in `region` hold `arns` and `principal`; returns what was written (empty: nothing)."""
    found = _call(api, region, "get_resource_shares", resourceOwner="SELF", name=name)["resourceShares"]
    live = next((s for s in found if s.get("status") == "ACTIVE"), None)
    if live is None:
        _call(
            api,
            region,
            "create_resource_share",
            name=name,
            resourceArns=arns,
            principals=[principal],
            allowExternalPrincipals=False,
        )
        api.step(f"{region}: shared {len(arns)} rule group(s) with {principal} (resource share {name})")
        return [f"created resource share {name}"]
    arn = live["resourceShareArn"]
    held = {}
    for kind in ("RESOURCE", "PRINCIPAL"):
        rows = _call(api, region, "get_resource_share_associations", associationType=kind, resourceShareArns=[arn])
        held[kind] = {
            r["associatedEntity"] for r in rows["resourceShareAssociations"] if r["status"] != "DISASSOCIATED"
        }
    resources = [a for a in arns if a not in held["RESOURCE"]]
    principals = [principal] if principal not in held["PRINCIPAL"] else []
    if not resources and not principals:
        return []
    extra = {"resourceArns": resources} if resources else {}
    extra |= {"principals": principals} if principals else {}
    _call(api, region, "associate_resource_share", resourceShareArn=arn, **extra)
    what = ", ".join([f"{len(resources)} rule group(s)"] * bool(resources) + [principal] * bool(principals))
    api.step(f"{region}: resource share {name} now also holds {what}")
    return [f"associated {what}"]
