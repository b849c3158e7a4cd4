"""rulec/load/schema.py: the declarative validator behind every YAML model (strict, located, immutable)."""

import datetime
import pickle
import re
import subprocess
import sys
from typing import Annotated, Literal

import pytest

from rulec.load.policy import FirewallPolicySpec, Groups, GroupSpec, Policy, RegionSpec
from rulec.load.schema import After, Constraint, Error, Invalid, Model, field, model_check
from rulec.load.source import parse_yaml, validate
from tests.conftest import EXAMPLE, ROOT


def _upper(value: str) -> str:
    if value == "bad":
        raise ValueError("'bad' is refused")
    return value.upper()


class Inner(Model):
    """An inner mapping."""

    code: Annotated[str, Constraint(pattern=r"^[a-z]+$", min_length=2, max_length=4)]
    size: Annotated[int, Constraint(ge=1, le=9)] = 1


class Outer(Model):
    kind: Literal["a", "b"]
    when: datetime.date | None = None
    on: bool = False
    tags: Annotated[list[Annotated[str, After(_upper)]], Constraint(min_length=1)] = field(["x"])
    inner: Inner | None = field(None, description="the inner one")
    table: dict[Annotated[str, After(_upper)], Inner] = field({})
    anything: object = None

    @model_check
    def _not_both(self) -> None:
        if self.kind == "b" and self.inner is not None:
            raise ValueError("kind b has no inner")


def errors(model, data) -> list[Error]:
    with pytest.raises(Invalid) as exc:
        model.model_validate(data)
    return exc.value.errors


def test_a_valid_document_is_typed_normalised_and_defaulted():
    o = Outer.model_validate({"kind": "a", "tags": ["p", "q"], "table": {"k": {"code": "ab"}}, "anything": [1]})
    assert (o.kind, o.tags, o.on, o.when, o.inner, o.anything) == ("a", ["P", "Q"], False, None, None, [1])
    assert list(o.table) == ["K"] and o.table["K"] == Inner(code="ab", size=1)
    assert o.model_fields_set == {"kind", "tags", "table", "anything"}


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"kind": "c"}, [(("kind",), "value", "Input should be 'a' or 'b'")]),
        ({"kind": "a", "x": 1}, [(("x",), "extra", "unknown key 'x'")]),
        ({}, [(("kind",), "missing", "missing required key 'kind'")]),
        ({"kind": "a", "on": 1}, [(("on",), "value", "expected true or false, not int 1")]),
        (
            {"kind": "a", "inner": {"code": "ab", "size": True}},
            [(("inner", "size"), "value", "expected a whole number, not bool True")],
        ),
        (
            {"kind": "a", "inner": {"code": "ab", "size": "1"}},
            [(("inner", "size"), "value", "expected a whole number, not the string '1'")],
        ),
        (
            {"kind": "a", "inner": {"code": "ab", "size": 1.0}},
            [(("inner", "size"), "value", "expected a whole number, not float 1.0")],
        ),
        ({"kind": "a", "inner": {"code": 12}}, [(("inner", "code"), "value", "expected a string, not int 12")]),
        (
            {"kind": "a", "inner": {"code": "ab", "size": 10}},
            [(("inner", "size"), "value", "Input should be less than or equal to 9")],
        ),
        (
            {"kind": "a", "inner": {"code": "ab", "size": 0}},
            [(("inner", "size"), "value", "Input should be greater than or equal to 1")],
        ),
        (
            {"kind": "a", "inner": {"code": "a"}},
            [(("inner", "code"), "value", "String should have at least 2 characters")],
        ),
        (
            {"kind": "a", "inner": {"code": "abcde"}},
            [(("inner", "code"), "value", "String should have at most 4 characters")],
        ),
        (
            {"kind": "a", "inner": {"code": "AB"}},
            [(("inner", "code"), "value", "'AB' does not have the form this key needs")],
        ),
        (
            {"kind": "a", "inner": {"code": "ab\n"}},
            [(("inner", "code"), "value", "'ab\n' does not have the form this key needs")],
        ),
        ({"kind": "a", "inner": []}, [(("inner",), "value", "expected a mapping (key: value), not a list")]),
        (
            {"kind": "a", "tags": []},
            [(("tags",), "value", "List should have at least 1 item after validation, not 0")],
        ),
        ({"kind": "a", "tags": "x"}, [(("tags",), "value", "expected a list, such as [a, b], not the string 'x'")]),
        ({"kind": "a", "tags": None}, [(("tags",), "value", "expected a list, such as [a, b]")]),
        ({"kind": "a", "tags": ["ok", "bad"]}, [(("tags", 1), "check", "'bad' is refused")]),
        (
            {"kind": "a", "when": "2027-06-30"},
            [(("when",), "value", "expected a date such as 2027-06-30 (unquoted), not the string '2027-06-30'")],
        ),
        (
            {"kind": "a", "when": datetime.datetime(2027, 6, 30)},
            [(("when",), "value", "expected a date such as 2027-06-30 (unquoted), not datetime 2027-06-30 00:00:00")],
        ),
        ({"kind": "a", "table": {"bad": {"code": "ab"}}}, [(("table", "bad"), "key", "'bad' is refused")]),
        ({"kind": "a", "table": {"k": {}}}, [(("table", "k", "code"), "missing", "missing required key 'code'")]),
        ({"kind": "b", "inner": {"code": "ab"}}, [((), "check", "kind b has no inner")]),
    ],
)
def test_every_error_is_reported_with_its_location(data, expected):
    assert [tuple(e) for e in errors(Outer, data)] == expected


def test_all_errors_are_collected_and_model_checks_wait_for_valid_fields():
    got = errors(Outer, {"kind": "b", "on": "yes", "inner": {"code": 1, "extra": 2}, "zzz": 0})
    assert [(e.loc, e.kind) for e in got] == [
        (("on",), "value"),
        (("inner", "code"), "value"),
        (("inner", "extra"), "extra"),
        (("zzz",), "extra"),
    ]


def test_mutable_defaults_are_never_shared():
    a, b = Outer.model_validate({"kind": "a"}), Outer.model_validate({"kind": "a"})
    a.tags.append("y")
    assert b.tags == ["x"] and Outer.model_validate({"kind": "a"}).table == {}


def test_models_are_immutable_hashable_comparable_and_picklable():
    g = GroupSpec(name="A", capacity=5)
    with pytest.raises(AttributeError, match="immutable"):
        g.name = "B"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del g.name
    assert g == GroupSpec.model_validate({"name": "A", "capacity": 5}) and g != GroupSpec(name="A")
    assert len({g, GroupSpec(name="A", capacity=5), Groups()}) == 2
    assert repr(g) == "GroupSpec(name='A', capacity=5, description=None)"
    back = pickle.loads(pickle.dumps(g))
    assert back == g and back.model_fields_set == {"name", "capacity"}
    with pytest.raises(Invalid, match="^GroupSpec: capacity: expected a whole number, not the string '5'$"):
        GroupSpec(name="A", capacity="5")
    with pytest.raises(Invalid, match="^Groups: allowlist and deny groups share the name 'A'$"):
        Groups(allowlist=GroupSpec(name="a"), deny=GroupSpec(name="A"))


def test_dump_copy_and_fields():
    spec = FirewallPolicySpec.model_validate({"name": "fw", "resolved_ip_validation": {"action": "DROP"}})
    assert spec.model_dump(exclude_unset=True) == {"name": "fw", "resolved_ip_validation": {"action": "DROP"}}
    assert spec.model_dump()["resolved_ip_validation"]["dns_expiry_exception_policy"] == "DROP"
    groups = Groups()
    assert list(Groups.model_fields) == ["allowlist", "deny", "strict"] and groups.model_fields_set == set()
    free = groups.model_copy(update={"deny": GroupSpec(name="D")})
    assert free.deny.name == "D" and free.allowlist is groups.allowlist and free.model_fields_set == {"deny"}
    assert groups.deny.name == "Deny-Protocols"


def test_a_model_instance_is_accepted_where_the_model_is_expected():
    spec = GroupSpec(name="X")
    assert Groups(allowlist=spec).allowlist is spec


def test_the_json_schema_describes_fields_defaults_and_checks():
    s = Outer.model_json_schema()
    assert s["required"] == ["kind"] and s["additionalProperties"] is False and "description" not in s
    assert s["properties"]["inner"] == {
        "anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}],
        "default": None,
        "description": "the inner one",
    }
    assert s["properties"]["tags"] == {
        "default": ["x"],
        "items": {"type": "string"},
        "minItems": 1,
        "title": "Tags",
        "type": "array",
    }
    assert s["properties"]["when"]["anyOf"][0] == {"format": "date", "type": "string"}
    assert s["$defs"]["Inner"]["properties"]["code"] == {
        "maxLength": 4,
        "minLength": 2,
        "pattern": "^[a-z]+$",
        "title": "Code",
        "type": "string",
    }
    assert s["$defs"]["Inner"]["description"] == "An inner mapping."


def test_policy_errors_map_onto_positions():
    doc = parse_yaml(b"version: 1\nregions:\n  EU: {home_net: [10.0.0.0/8]}\n  eu-west-1: {home_net: []}\nx: 1\n", "p")
    with pytest.raises(Exception) as exc:
        validate(doc, Policy)
    assert str(exc.value).splitlines() == [
        "p:3:3: regions: 'EU' is not an AWS region name such as eu-west-1",
        "p:4:25: regions.eu-west-1.home_net: List should have at least 1 item after validation, not 0",
        "p:5:1: unknown key 'x'",
    ]


def test_region_override_reports_only_the_keys_it_sets():
    spec = RegionSpec.model_validate({"home_net": ["10.0.0.0/8"], "firewall_policy": {"home_net": ["10.1.0.0/16"]}})
    assert spec.firewall_policy.model_dump(exclude_unset=True) == {"home_net": ["10.1.0.0/16"]}
    assert spec.model_fields_set == {"home_net", "firewall_policy"}


def test_no_module_of_rulec_imports_pydantic():
    """Start-up (issue 12): the models are rulec's own; loading, building and linting never import pydantic."""
    for path in sorted((ROOT / "rulec").rglob("*.py")):
        assert not re.search(r"^\s*(import|from) pydantic\b", path.read_text(), re.MULTILINE), path
    code = (
        "import sys; from pathlib import Path; import rulec.aws.accounts, rulec.learn.evaluate, rulec.schemagen; "
        "from rulec.review.lint import checks, names; from rulec import pipeline; pipeline.build(Path(sys.argv[1])); "
        "names.services(); rulec.schemagen.generated(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))"
    )
    run = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, check=True)
    assert run.stdout == "[]\n"


def test_a_subclass_that_retypes_a_field_leaves_its_parent_alone():
    class Parent(Model):
        x: int = field(1)

    class Child(Parent):
        x: str = field("a")

    assert Parent.model_validate({"x": 3}).x == 3 and Child.model_validate({"x": "b"}).x == "b"
    assert errors(Parent, {"x": "oops"})[0].message.startswith("expected a whole number")
    assert errors(Child, {"x": 3})[0].message.startswith("expected a string")


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_version_must_be_the_number_1(version):
    """pydantic's strict Literal[1] took `true` and `1.0` (equal to 1); a policy says `version: 1`."""
    assert [e.message for e in errors(Policy, {"version": version, "regions": {}})][0] == "Input should be 1"
