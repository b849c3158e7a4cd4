"""JSON Schemas derived from botocore's published service models, for documents rulec writes without importing
botocore (build must work without `rulec[aws]`). tests/test_dns_emit.py and tests/test_fms.py hold the committed
schemas under schemas/ equal to what this derives; regenerate with RULEC_UPDATE_SCHEMAS=1 and review the diff."""

from __future__ import annotations

import json
from typing import Any

import botocore.session

# What the models leave to the server, from the operations' own documentation (see /work/research notes 3 and 4)
DOMAIN = r"^(\*|(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)$"  # optional leading *, labels of A-Z a-z 0-9 -


def shape_schema(shape: Any, depth: int = 0) -> dict[str, Any]:
    meta, kind = shape.metadata, shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {"type": "object", "additionalProperties": False}
        if depth > 3:  # deep unions rulec never writes (FirewallRuleType): any object
            return {"type": "object"}
        out["properties"] = {k: shape_schema(v, depth + 1) for k, v in shape.members.items()}
        if shape.required_members:
            out["required"] = list(shape.required_members)
        return out
    if kind == "list":
        out = {"type": "array", "items": shape_schema(shape.member, depth + 1)}
        if "min" in meta:
            out["minItems"] = meta["min"]
        if "max" in meta:
            out["maxItems"] = meta["max"]
        return out
    if kind == "map":
        return {"type": "object", "additionalProperties": shape_schema(shape.value, depth + 1)}
    if kind == "string":
        out = {"type": "string"}
        if shape.enum:
            out["enum"] = list(shape.enum)
        for key, name in (("min", "minLength"), ("max", "maxLength"), ("pattern", "pattern")):
            if key in meta:
                out[name] = meta[key]
        if "pattern" in out:  # Python's re (jsonschema's) has no Unicode classes: letters+digits+_ = \w, Z = \s
            out["pattern"] = out["pattern"].replace(r"\p{L}\p{Z}\p{N}", r"\w\s")
        return out
    if kind in ("integer", "long"):
        out = {"type": "integer"}
        if "min" in meta:
            out["minimum"] = meta["min"]
        if "max" in meta:
            out["maximum"] = meta["max"]
        return out
    if kind == "boolean":
        return {"type": "boolean"}
    return {}


def _input(service: str, operation: str) -> dict[str, Any]:
    model = botocore.session.get_session().get_service_model(service)
    return shape_schema(model.operation_model(operation).input_shape)


def dns_firewall() -> dict[str, Any]:
    """The DNS Firewall document of emit/dns_firewall.py: each member one route53resolver request."""
    domains = _input("route53resolver", "UpdateFirewallDomains")
    domains["properties"]["Domains"]["items"]["pattern"] = DOMAIN
    domains["properties"]["Domains"]["items"].update(minLength=1, maxLength=255)
    associate = _input("route53resolver", "AssociateFirewallRuleGroup")
    associate["properties"]["Priority"].update(minimum=100, maximum=9900)  # documented: 100-9900
    rule = _input("route53resolver", "CreateFirewallRule")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rulec.invalid/schemas/dns-firewall.schema.json",
        "title": "rulec DNS Firewall document: Route 53 Resolver requests (botocore route53resolver model)",
        "type": "object",
        "additionalProperties": False,
        "required": ["FirewallRuleGroup", "FirewallDomainLists", "FirewallRules", "Associations"],
        "properties": {
            "FirewallRuleGroup": _input("route53resolver", "CreateFirewallRuleGroup"),
            "FirewallDomainLists": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["Create", "Domains"],
                    "properties": {"Create": _input("route53resolver", "CreateFirewallDomainList"), "Domains": domains},
                },
            },
            "FirewallRules": {"type": "array", "items": rule},
            "Associations": {"type": "array", "items": associate},
        },
    }


def fms_put_policy() -> dict[str, Any]:
    schema = _input("fms", "PutPolicy")
    schema.update(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://rulec.invalid/schemas/fms-put-policy.schema.json",
            "title": "Firewall Manager PutPolicy request (botocore fms model)",
        }
    )
    return schema


def dump(schema: dict[str, Any]) -> bytes:
    return (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode()
