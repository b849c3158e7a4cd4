"""The emitted JSON, translated independently as AWS documents it (tests/aws_translation.py), gives the same
verdicts on Suricata as rulec's own translation, probe by probe."""

import json

import pytest

from rulec import pipeline
from rulec.verify import engine, prepare, synthesize, verify_region
from rulec.verify import _keys as keys
from tests.aws_translation import translate
from tests.conftest import ROOT


# Strict egress uses keywords only Suricata 8 (what AWS runs) knows, so it is compared on 8 alone.
CASES = [("reference", "7"), ("reference", "8"), ("hub-and-spoke", "7"), ("hub-and-spoke", "8"), ("strict", "8")]


@pytest.mark.parametrize(("example", "major"), CASES)
def test_independent_translation_gives_the_same_verdicts(example, major, monkeypatch):
    from tests.conftest import SURICATAS

    monkeypatch.setenv("RULEC_SURICATA", SURICATAS[major])
    result = pipeline.build(ROOT / "examples" / example / "policy.yaml")
    for plan in result.plans:
        requests = [json.loads(result.files[f"{plan.region}/{g.name}.json"]) for g in plan.groups]
        text = translate(requests, list(plan.resolved.home_net))
        ours = verify_region(plan, [])
        probes, servers, world, _ = prepare(plan, [])
        theirs = engine.run(
            plan.groups,
            tuple(plan.resolved.home_net),
            lambda out, p=probes, s=servers, c=world.client: synthesize(p, c, s, out),
            keys(probes, world.client, servers),
            options=engine.Options(transform=lambda _: text),
        )
        for i, v in enumerate(ours.verdicts):
            got = theirs.get(i, engine.FlowResult()).dropped
            assert got == v.dropped, (plan.region, v.probe.kind, v.probe.target, v.probe.why)
