"""What the CloudFormation and Terraform exports share: exported names, the group an ARN points at, and the
refusal of settings a target cannot express (never drop a setting silently)."""

from __future__ import annotations

import re
from typing import Any

from rulec.errors import RulecError

MAX_NAME = 128  # RuleGroupName: [a-zA-Z0-9-]+, 1..128
_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:network-firewall:[a-z0-9-]+:[^:]*:stateful-rulegroup/(?P<name>[A-Za-z0-9-]+)$"
)
RESOLVED_DOMAIN = "AWS_ROUTE_53_RESOLVED_DOMAIN"


def exported_name(request: dict[str, Any]) -> str:
    """`<name>-c<capacity>`: capacity cannot change in place and a name is unique per account and region, so a
    capacity change gets a new name and both tools can create the new group before deleting the old one."""
    name = f"{request['RuleGroupName']}-c{request['Capacity']}"
    if len(name) > MAX_NAME:
        raise RulecError(
            f"exported rule group name {name} is longer than {MAX_NAME} characters: shorten groups.*.name "
            f"to at most {MAX_NAME - len(name) + len(request['RuleGroupName'])} characters"
        )
    return name


def referenced_group(arn: str) -> str | None:
    """The rule group name a stateful-rulegroup ARN names (None for anything else)."""
    m = _GROUP_ARN.match(arn)
    return m.group("name") if m else None


def sid_option(keyword: str, settings: list[str]) -> tuple[str, list[str]]:
    """`sid:N` as keyword `sid` with settings [`N`]: the form the service returns on Describe, so neither tool
    sees a difference between what it wrote and what it reads back."""
    head, sep, value = keyword.partition(":")
    if sep and head.strip() == "sid" and not settings:
        return "sid", [value.strip()]
    return keyword, list(settings)


def refuse(target: str, feature: str, support: str) -> RulecError:
    """The refusal of a setting an export cannot express; `.feature` names it, so export can point at its line."""
    err = RulecError(f"export --format {target} cannot express {feature}: {support}; nothing was written")
    err.feature = feature
    return err


def check_known(target: str, where: str, doc: dict[str, Any], known: set[str], support: str) -> None:
    """Refuse any key the emitter does not translate, so a new setting is never dropped silently."""
    unknown = sorted(set(doc) - known)
    if unknown:
        raise refuse(target, f"{where}.{unknown[0]}", support)
