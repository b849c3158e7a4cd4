import json

import jsonschema
import pytest
import yaml

from rulec import schemagen
from rulec.emit.aws_classic import RequestValidator
from rulec.errors import RulecError
from rulec.load.catalog import default_root
from rulec.resources import data_dir, load_schema
from tests.conftest import EXAMPLE, ROOT


def test_committed_schemas_match_the_models():
    for name, data in schemagen.generated().items():
        assert (data_dir("schemas") / name).read_bytes() == data, f"run python -m rulec.schemagen ({name})"


def test_policies_validate_against_the_committed_policy_schema():
    schema = load_schema("policy")
    for path in [EXAMPLE, *ROOT.glob("tests/golden/*/policy.yaml"), *ROOT.glob("examples/*/policy.yaml")]:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_catalog_files_validate_against_their_schemas():
    root = default_root()
    jsonschema.validate(_json_safe(root / "features.yaml"), load_schema("catalog-features"))
    for path in sorted((root / "regions").glob("*.yaml")):
        jsonschema.validate(_json_safe(path), load_schema("catalog-region"))


def _json_safe(path):
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


def test_request_schema_catches_what_botocore_leaves_to_the_server():
    validator = RequestValidator()
    good = json.loads((EXAMPLE.parent / "out" / "eu-west-1" / "Deny-Protocols.json").read_text())
    validator.check(good, "x")
    for mutate in (
        lambda d: d.update(RuleGroupName="bad_name"),
        lambda d: d.update(Capacity=50_001),
        lambda d: d["RuleGroup"]["RulesSource"]["StatefulRules"][0].update(Action="DENY"),
        lambda d: d["RuleGroup"]["RulesSource"]["StatefulRules"][0]["Header"].update(Direction="BOTH"),
        lambda d: d["RuleGroup"]["RulesSource"]["StatefulRules"][0].update(RuleOptions=[{"Keyword": "msg"}]),
        lambda d: d["RuleGroup"]["RuleVariables"]["IPSets"].update({"1BAD": {"Definition": ["10.0.0.0/8"]}}),
    ):
        doc = json.loads(json.dumps(good))
        mutate(doc)
        with pytest.raises(RulecError, match="fails the CreateRuleGroup schema"):
            validator.check(doc, "x")


def test_requests_pass_botocore_parameter_validation():
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("network-firewall")
    shape = model.operation_model("CreateRuleGroup").input_shape
    for path in sorted((EXAMPLE.parent / "out").rglob("*.json")):
        report = ParamValidator().validate(json.loads(path.read_text()), shape)
        assert not report.has_errors(), report.generate_report()
