"""The validator (rulec/load/schema.py) and the JSON Schema it generates accept the same documents.

Random mutations of the example policies and catalogs (wrong types, extra, missing and renamed keys,
out-of-range numbers, bad patterns, repeated items) go through both. Where they disagree, the reason must
be one that JSON Schema cannot express, each listed here:

- after-validators and model checks (kind "check"): CIDR blocks, domain names, region names and probe
  fields are parsed by code, and whole-model rules (distinct group names, an exact service host, a waiver
  reason, no repeated target type) look at several keys; the validator refuses more than the schema.
- YAML dates and timestamps: JSON has none, so the schema sees them as strings (and `format: date` is not
  asserted): a date where a string belongs, or a quoted '2027-06-30' where a date belongs, passes the
  schema and not the validator.
- a float with no fraction (1.0): JSON Schema counts it as an integer; the validator does not coerce.
- feature names: the schema gives their pattern, the validator leaves unknown or misspelt features to
  resolve, which names the known ones and suggests the closest.
The value pool has no string ending in a newline: jsonschema evaluates `pattern` with Python's `re`, whose
`$` also matches before a final newline, unlike ECMA-262 (JSON Schema's dialect) and the validator.
"""

import datetime
import json

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulec.load import catalog, policy
from rulec.load.schema import Invalid
from rulec.resources import data_dir
from tests.conftest import ROOT

POLICIES = sorted(ROOT.glob("examples/*/policy.yaml")) + sorted(ROOT.glob("tests/golden/*/policy.yaml"))
FULL = """
version: 1
egress: strict
target_types: [TLS_SNI, HTTP_HOST]
deny_protocols: [SSH, FTP]
groups: {allowlist: {name: A, capacity: 100, description: d}, deny: {name: B}, strict: {name: C}}
features: [pypi]
allow: [.example.com]
services: [{host: db.example.com, port: 3306, protocol: TCP, ips: [10.0.0.0/8]}]
firewall_policy:
  name: fw
  home_net: [10.0.0.0/8]
  stream_exception_policy: DROP
  mode: monitor
  resolved_ip_validation: {action: DROP, dns_firewall_rule_group_id: rslvr-frg-abc, source_ip_ranges: [10.0.0.0/8]}
dns_firewall: {name: dns, block_response: NODATA, alert_first: true, vpcs: [vpc-0123abcd], priority: 200, allow: [a.com]}
regions:
  eu-west-1:
    home_net: [10.0.0.0/16]
    features: [pypi]
    allow: [x.org]
    services: [{host: m.x.org, port: 5432}]
    egress: domains
    inspection_cidr: 10.1.0.0/16
    firewall_policy: {name: fw2}
    dns_firewall: {priority: 300}
verify:
  probes:
    - {kind: tls, host: x.org, expect: pass, pad: 1800, split: 3}
    - {kind: http, http: {raw: "GET / HTTP/1.0\\r\\n\\r\\n"}, expect: drop}
    - {kind: tcp, port: 3306, payload: "hex:00ff", dst: 1.2.3.4, src: 10.0.0.1, region: eu-west-1, expect: drop}
waivers: [{code: RC001, target: s3.amazonaws.com, reason: r, region: eu-west-1, expires: 2027-06-30}]
"""
CATALOGS = data_dir("catalogs")
CASES = [(policy.Policy, yaml.safe_load(p.read_text())) for p in POLICIES] + [(policy.Policy, yaml.safe_load(FULL))]
CASES += [(catalog.RegionCatalog, yaml.safe_load(p.read_text())) for p in sorted(CATALOGS.glob("regions/*.yaml"))[:4]]
CASES += [(catalog.FeatureCatalog, yaml.safe_load((CATALOGS / "features.yaml").read_text()))]
SCHEMAS = {policy.Policy: policy.json_schema(), **dict(zip((catalog.FeatureCatalog, catalog.RegionCatalog), [
    catalog.schemas()["catalog-features"], catalog.schemas()["catalog-region"]]))}  # fmt: skip
POOL = [True, False, 0, 1, -1, 2, 100, 65536, 50001, 1.0, 1.5, "1", "", "x", "a b", "a\nb", "TCP", "DROP", "tls",
        "pass", "eu-west-1", "EU", "10.0.0.0/8", "10.0.0.1/8", "10.0.0.1", ".example.com", "*.x.com", "https://x.org",
        "RC001", "rslvr-frg-zz", "vpc-12345678", "webapp", "hex:zz", "xn--zz.org", "Ā", "x" * 130, None, [], {},
        ["a"], [1], {"a": 1}, {"name": "x"}, datetime.date(2020, 1, 1), datetime.datetime(2020, 1, 1, 3), "2020-01-01"]  # fmt: skip
KEYS = ["extra", "nme", "EU", "eu-west-9", "name", "capacity", "webapp", "Bad_Key", "host", "kind"]


def _paths(node, here=()):
    yield here
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for k, v in items:
        yield from _paths(v, (*here, k))


def _at(node, path):
    for k in path:
        node = node[k]
    return node


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return [_copy(v) for v in value] if isinstance(value, list) else value


@st.composite
def documents(draw):
    model, doc = draw(st.sampled_from(CASES))
    doc = _copy(doc)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from([p for p in _paths(doc) if p]))
        parent, key = _at(doc, path[:-1]), path[-1]
        op = draw(st.sampled_from(["value", "value", "delete", "add", "rename", "repeat"]))
        if op == "value":
            parent[key] = _copy(draw(st.sampled_from(POOL)))
        elif op == "delete" and isinstance(parent, dict):
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = _copy(draw(st.sampled_from(POOL)))
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from([key.upper(), key + "x", "eu-west1", *KEYS]))] = parent.pop(key)
        elif op == "repeat" and isinstance(parent, list):
            parent.append(_copy(parent[key]))
    return model, doc


def _beyond_schema(err, doc) -> bool:
    """A validator error the JSON Schema cannot express (see the module docstring)."""
    if err.kind == "check":
        return True
    value = _at(doc, err.loc) if err.kind == "value" else None
    if isinstance(value, datetime.date) or (isinstance(value, str) and err.message.startswith("expected a date")):
        return True
    return isinstance(value, float) and value.is_integer()


def _schema_only(err) -> bool:
    """A schema error the validator leaves to a later stage: a feature name that is not in the catalog."""
    return err.validator == "pattern" and len(err.absolute_path) >= 2 and err.absolute_path[-2] == "features"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_the_validator_accepts_what_its_json_schema_accepts(case):
    model, doc = case
    try:
        model.model_validate(doc)
        errors = []
    except Invalid as exc:
        errors = exc.errors
    as_json = json.loads(json.dumps(doc, default=str))
    schema_errors = list(jsonschema.Draft202012Validator(SCHEMAS[model]).iter_errors(as_json))
    if not errors:
        assert all(_schema_only(e) for e in schema_errors), [e.message for e in schema_errors]
    if not schema_errors:
        assert all(_beyond_schema(e, doc) for e in errors), errors


def test_every_example_is_accepted_by_both():
    for model, doc in CASES:
        model.model_validate(doc)
        jsonschema.validate(json.loads(json.dumps(doc, default=str)), SCHEMAS[model])
