"""The verify engine: the fast path gives the same verdicts as the straightforward one, a hung Suricata times
out, a garbled EVE log is an error, and regions run in parallel in order."""

import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulec.errors import RulecError
from rulec.pipeline import plan
from rulec.verify import engine, user_probes, verify_region, verify_regions
from tests.conftest import EXAMPLE, SURICATAS

HUB = EXAMPLE.parent.parent / "hub-and-spoke" / "policy.yaml"


def outcome(report):
    return [(v.probe, v.dropped, v.by, v.app_proto) for v in report.verdicts]


def assert_same_both_ways(path):
    lp, plans, _, _ = plan(path)
    extra = user_probes(lp.policy.verify.probes, lp.doc, ("verify", "probes"))
    for region in plans:
        fast = verify_region(region, extra)
        plain = verify_region(region, extra, options=engine.Options.straightforward())
        hs = verify_region(region, extra, options=engine.Options(mpm="default"))
        assert outcome(fast) == outcome(plain) == outcome(hs)


@pytest.mark.usefixtures("suricata")
@pytest.mark.parametrize("path", [EXAMPLE, HUB], ids=["reference", "hub-and-spoke"])
def test_fast_path_gives_the_straightforward_verdicts_on_the_examples(path):
    assert_same_both_ways(path)


NAMES = ["api.example.org", ".example.com", "pypi.org", ".pythonhosted.org", "a.b.example.net", ".s3.example.io"]


@st.composite
def policies(draw):
    allow = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    types = draw(st.sampled_from([["TLS_SNI", "HTTP_HOST"], ["TLS_SNI"], ["HTTP_HOST"]]))
    deny = draw(st.lists(st.sampled_from(["SSH", "FTP", "ICMP", "UDP", "TLS", "HTTP", "TCP"]), max_size=3, unique=True))
    home = draw(st.sampled_from([["10.0.0.0/16"], ["10.0.0.0/16", "172.31.0.0/16"]]))
    return (
        f"version: 1\ntarget_types: {types}\ndeny_protocols: {deny}\n"
        f"regions:\n  eu-west-1: {{home_net: {home}, allow: {allow}}}\n".replace("'", "")
    )


@pytest.mark.usefixtures("suricata")
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=policies())
def test_fast_path_gives_the_straightforward_verdicts_on_random_policies(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("random") / "policy.yaml"
    path.write_text(text)
    assert_same_both_ways(path)


def test_mpm_choice_follows_the_rule_count(tmp_path):
    assert "mpm-algo: ac-ks" in engine._config(("10.0.0.0/16",), tmp_path, engine.Options(), 20_000)
    assert "mpm-algo" not in engine._config(("10.0.0.0/16",), tmp_path, engine.Options(), 20_001)
    assert "flows: start" in engine._config(("10.0.0.0/16",), tmp_path, engine.Options(), 1)
    assert "flows: all" in engine._config(("10.0.0.0/16",), tmp_path, engine.Options.straightforward(), 1)


def wrapper(tmp_path, body: str) -> str:
    """A Suricata that runs the real Suricata 8 (RULEC's `suricata8`) as `body` says; `-V` answers as usual."""
    real = SURICATAS["8"]
    script = tmp_path / "suricata-wrapper"
    script.write_text(f'#!/bin/bash\nif [ "$1" = -V ]; then exec {real} -V; fi\n{body.replace("REAL", real)}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_a_hung_suricata_times_out(tmp_path, cli):
    hung = wrapper(tmp_path, "exec sleep 120")
    r = cli("verify", EXAMPLE, "--suricata", hung, "--timeout", "1")
    assert r.exit_code == 2
    assert "Suricata did not finish within 1 s and was stopped" in r.stderr and "Traceback" not in r.output


def test_a_garbled_eve_log_is_an_error(tmp_path, cli):
    body = (
        'REAL "$@"; rc=$?; while [ "$1" != -l ]; do shift; done; printf \'{"event_type": "flow"\\n\' >> "$2/eve.json"'
    )
    r = cli("verify", EXAMPLE, "--suricata", wrapper(tmp_path, body + "; exit $rc"))
    assert r.exit_code == 2
    assert "Suricata's EVE log eve.json is garbled at line" in r.stderr and "Traceback" not in r.output
    not_object = tmp_path / "eve.json"
    not_object.write_text('{"event_type": "flow"}\n[1, 2]\n')
    with pytest.raises(RulecError, match="line 2: not a JSON object"):
        list(engine.events(not_object))


def test_a_failing_suricata_is_reported(tmp_path, cli):
    r = cli("verify", EXAMPLE, "--suricata", wrapper(tmp_path, "echo 'bad rules' >&2; exit 3"))
    assert r.exit_code == 2 and "Suricata failed (exit 3): bad rules" in r.stderr


@pytest.mark.usefixtures("suricata")
def test_regions_in_parallel_keep_their_order_and_verdicts():
    lp, plans, _, _ = plan(HUB)
    extra = user_probes(lp.policy.verify.probes, lp.doc, ("verify", "probes"))
    together = verify_regions(plans, extra)
    assert [r.region for r in together] == [p.region for p in plans] and len(plans) > 1
    assert [outcome(r) for r in together] == [outcome(verify_region(p, extra)) for p in plans]


def test_the_rules_hook_sees_and_changes_what_suricata_runs(monkeypatch):
    monkeypatch.setenv("RULEC_SURICATA", SURICATAS["8"])
    _, (region,), _, _ = plan(EXAMPLE)
    seen = []

    def no_default_drops(rules: str) -> str:
        seen.append(rules)
        return "".join(line + "\n" for line in rules.splitlines() if "not matching any" not in line)

    report = verify_region(region, [], options=engine.Options(transform=no_default_drops))
    assert seen == [engine.ruleset(region.groups)[0]]
    assert {v.probe.host for v in report.failures} >= {"google.com", "evilpypi.org"}


def test_no_temporary_files_are_left(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("RULEC_SURICATA", SURICATAS["8"])
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    _, (region,), _, _ = plan(EXAMPLE)
    verify_region(region, [])
    assert list(Path(tmp_path).iterdir()) == []
