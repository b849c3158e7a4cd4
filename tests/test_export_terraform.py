"""Terraform JSON: golden files of rulec's own output, checked against the committed subset of the pinned
hashicorp/aws provider schema (tests/data/terraform-aws-6.32.1-networkfirewall.json, sources cited inside).

Regenerate the golden files after an intended change with `RULEC_UPDATE_GOLDEN=1 pytest tests/test_export_terraform.py`.
"""

import json
import os
from pathlib import Path

from rulec import export, pipeline
from rulec.emit import terraform
from tests.conftest import ROOT
from tests.test_export import EXAMPLES, examples, with_policies  # noqa: F401 (fixture)

GOLDEN = Path(__file__).parent / "golden" / "export-terraform"
SCHEMA_FILE = ROOT / "tests" / "data" / f"terraform-aws-{terraform.PROVIDER_VERSION}-networkfirewall.json"
META = {"lifecycle", "provider", "depends_on", "count", "for_each"}  # Terraform's own meta-arguments
PRIMITIVE = {"string": str, "number": int, "bool": bool}


def provider_schema() -> dict:
    doc = json.loads(SCHEMA_FILE.read_text())
    provider = doc["provider_schemas"]["registry.terraform.io/hashicorp/aws"]
    assert provider["version"] == terraform.PROVIDER_VERSION
    return provider["resource_schemas"]


def type_ok(value, t) -> bool:
    if isinstance(t, str):
        return isinstance(value, PRIMITIVE[t]) and not (t == "number" and isinstance(value, bool))
    kind, inner = t
    if kind in ("list", "set"):
        return isinstance(value, list) and all(type_ok(v, inner) for v in value)
    return isinstance(value, dict) and all(type_ok(v, inner) for v in value.values())


def problems(body: dict, block: dict, where: str) -> list[str]:
    """Every way `body` departs from the provider's block schema: unknown names, wrong types, missing required
    attributes or blocks, item limits, and arguments that are computed only."""
    out = []
    attributes, blocks = block.get("attributes", {}), block.get("block_types", {})
    for key, value in body.items():
        path = f"{where}.{key}"
        if key in META or key == "//":
            continue
        if key in attributes:
            a = attributes[key]
            if not (a.get("required") or a.get("optional")):
                out.append(f"{path}: computed only, cannot be set")
            elif not type_ok(value, a["type"]):
                out.append(f"{path}: not of type {a['type']}")
        elif key in blocks:
            b = blocks[key]
            items = value if isinstance(value, list) else [value]
            if not b.get("min_items", 0) <= len(items) <= b.get("max_items", len(items)):
                out.append(f"{path}: {len(items)} blocks, allowed {b.get('min_items', 0)}..{b.get('max_items')}")
            for i, item in enumerate(items):
                out += problems(item, b["block"], f"{path}[{i}]")
        else:
            out.append(f"{path}: not in the provider schema")
    out += [f"{where}.{k}: required" for k, a in attributes.items() if a.get("required") and k not in body]
    out += [f"{where}.{k}: required block" for k, b in blocks.items() if b.get("min_items") and k not in body]
    return out


def check_module(module: dict) -> list[str]:
    schemas = provider_schema()
    assert set(module) <= {"//", "resource", "output"}
    out = []
    for rtype, resources in module["resource"].items():
        for name, body in resources.items():
            out += problems(body, schemas[rtype]["block"], f"{rtype}.{name}")
    return out


def cases(paths: dict) -> dict[str, pipeline.Build]:
    return {
        "reference": pipeline.build(paths["reference"]),
        "hub-and-spoke": pipeline.build(paths["hub-and-spoke"]),
        "firewall-policy": with_policies(pipeline.build(paths["hub-and-spoke"])),
    }


def test_golden_files_and_provider_schema(examples):  # noqa: F811 (fixture)
    for case, build in cases(examples).items():
        files = export.render(build, "terraform")
        for name, data in files.items():
            assert check_module(json.loads(data)) == [], (case, name)
        expected = GOLDEN / case
        if os.environ.get("RULEC_UPDATE_GOLDEN"):
            expected.mkdir(parents=True, exist_ok=True)
            for old in expected.iterdir():
                old.unlink()
            for name, data in files.items():
                (expected / name).write_bytes(data)
        assert files == {p.name: p.read_bytes() for p in sorted(expected.iterdir())}, case


def test_the_schema_check_catches_what_terraform_would_reject(examples):  # noqa: F811 (fixture)
    module = json.loads(export.render(pipeline.build(examples["reference"]), "terraform")["eu-west-1.tf.json"])
    (allow, deny) = module["resource"][terraform.GROUP].values()
    del allow["capacity"]
    allow["arn"] = "arn:aws:network-firewall:eu-west-1:1:stateful-rulegroup/x"
    allow["rule_group"][0]["rules_source"].append(allow["rule_group"][0]["rules_source"][0])
    deny["rule_group"][0]["rules_source"][0]["stateful_rule"][0]["rule_option"][0]["keyword"] = 1
    deny["rule_group"][0]["stateful_rule_options"] = [{"rule_order": "STRICT_ORDER"}]
    found = check_module(module)
    assert any(p.endswith(".capacity: required") for p in found)
    assert any(p.endswith(".arn: computed only, cannot be set") for p in found)
    assert any("rules_source: 2 blocks, allowed 1..1" in p for p in found)
    assert any(p.endswith("keyword: not of type string") for p in found)
    assert any(p.endswith("stateful_rule_options: not in the provider schema") for p in found)


def test_no_perpetual_diff_triggers(examples):  # noqa: F811 (fixture)
    """The forms the provider's issue tracker reports as endless diffs are not used: `sid` is split into keyword
    and settings (hashicorp/terraform-provider-aws#28816), rules are an ordered list in SID order (the set form was
    replaced by a list in #27102), and a capacity change is a new name with create_before_destroy."""
    module = json.loads(export.render(pipeline.build(examples["reference"]), "terraform")["eu-west-1.tf.json"])
    schema = provider_schema()[terraform.GROUP]["block"]["block_types"]["rule_group"]["block"]
    assert schema["block_types"]["rules_source"]["block"]["block_types"]["stateful_rule"]["nesting_mode"] == "list"
    deny = module["resource"][terraform.GROUP]["eu_west_1_Deny_Protocols"]
    rules = deny["rule_group"][0]["rules_source"][0]["stateful_rule"]
    assert [r["rule_option"] for r in rules] == [[{"keyword": "sid", "settings": [str(i)]}] for i in (1, 2, 3)]
    assert not any(":" in o["keyword"] for r in rules for o in r["rule_option"])
    for body in module["resource"][terraform.GROUP].values():
        assert body["lifecycle"] == {"create_before_destroy": True}
        assert body["name"].endswith(f"-c{body['capacity']}")


def test_every_example_in_the_repository_exports(examples):  # noqa: F811 (fixture)
    assert set(EXAMPLES) == {p.parent.name for p in (ROOT / "examples").glob("*/policy.yaml")} and set(EXAMPLES) < set(
        examples
    )
