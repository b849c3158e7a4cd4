"""Emit stage: IR -> CreateRuleGroup requests, as `aws network-firewall create-rule-group
--cli-input-json` and boto3 `create_rule_group(**doc)` take them."""

from __future__ import annotations

from typing import Any

from rulec.compile.ir import DomainListGroup, Group, StatefulRule
from rulec.emit import canonical
from rulec.errors import Diagnostic, Position, RulecError
from rulec.resources import load_schema


def rule_document(rule: StatefulRule) -> dict[str, Any]:
    return {
        "Action": rule.action,
        "Header": {
            "Protocol": rule.protocol,
            "Source": rule.source,
            "SourcePort": rule.source_port,
            "Direction": rule.direction,
            "Destination": rule.destination,
            "DestinationPort": rule.destination_port,
        },
        "RuleOptions": [*map(_option, rule.options), {"Keyword": f"sid:{rule.sid}"}],
    }


def _option(option: tuple[str, str | None]) -> dict[str, Any]:
    keyword, settings = option
    return {"Keyword": keyword} if settings is None else {"Keyword": keyword, "Settings": [settings]}


def rule_group(group: Group) -> dict[str, Any]:
    """The `RuleGroup` member of the request."""
    variables = {"IPSets": {"HOME_NET": {"Definition": list(group.home_net)}}}
    if group.external_net is not None:
        variables["IPSets"]["EXTERNAL_NET"] = {"Definition": list(group.external_net)}
    if isinstance(group, DomainListGroup):
        source: dict[str, Any] = {
            "RulesSourceList": {
                "TargetTypes": list(group.target_types),
                "GeneratedRulesType": group.generated,
                "Targets": list(group.targets),
            }
        }
    else:
        source = {"StatefulRules": [rule_document(r) for r in group.rules]}
    return {"RuleVariables": variables, "RulesSource": source}


def request(group: Group) -> dict[str, Any]:
    return {
        "RuleGroupName": group.name,
        "Type": "STATEFUL",
        "Capacity": group.capacity,
        "Description": group.description,
        "RuleGroup": rule_group(group),
    }


def to_bytes(doc: Any) -> bytes:
    """Canonical bytes: sorted keys, two-space indent, ASCII, trailing newline (emit/canonical.py)."""
    return (canonical.dumps(doc) + "\n").encode()


def inline_refs(node: Any, defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The schema with each `{"$ref": "#/$defs/x"}` replaced by x itself (a cycle keeps its `$ref`; `$defs` stays):
    the same verdicts, without jsonschema resolving the reference again for each of 50,000 targets."""
    if isinstance(node, list):
        return [inline_refs(v, defs, seen) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if len(node) == 1 and isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        name = ref[8:]
        return node if name in seen else inline_refs(defs[name], defs, (*seen, name))
    return {k: v if k == "$defs" else inline_refs(v, defs, seen) for k, v in node.items()}


class RequestValidator:
    """Checks requests against schemas/<name>.schema.json (jsonschema is imported lazily)."""

    def __init__(self, name: str = "create-rule-group") -> None:
        import jsonschema

        self._title = "".join(part.title() for part in name.split("-"))
        schema = load_schema(name)
        self._validator = jsonschema.Draft202012Validator(inline_refs(schema, schema.get("$defs", {})))

    def check(self, doc: dict[str, Any], where: str) -> None:
        errors = sorted(self._validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            raise RulecError(
                [
                    Diagnostic(
                        Position(where),
                        f"generated request fails the {self._title} schema at "
                        f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}",
                    )
                    for e in errors[:10]
                ]
            )
