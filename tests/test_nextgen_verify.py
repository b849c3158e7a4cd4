"""engine: next-gen on real Suricata: the HookKey table, verify on 8's firewall mode, refusal on 7, and mutants of
the emitted ruleset that verify must catch."""

import json
import subprocess

import botocore.session
import pytest

from rulec import pipeline
from rulec.compile import nextgen
from rulec.verify import firewall, hooks
from tests.conftest import ROOT, SURICATAS

EXAMPLE = ROOT / "examples/next-gen/policy.yaml"
PROBES = ROOT / "examples/next-gen/probes.yaml"
FW_CONFIG = "%YAML 1.1\n---\nfirewall: {enabled: yes}\napp-layer:\n  protocols:\n    tls: {enabled: yes}\n"


def _suricata8():
    path = SURICATAS.get("8")
    if path is None:
        pytest.fail("Suricata 8 is not installed: run `bash scripts/suricata.sh`")
    return path


def _loads(binary, rules: str, tmp_path) -> tuple[bool, str]:
    (tmp_path / "fw.yaml").write_text(FW_CONFIG)
    (tmp_path / "h.rules").write_text(rules)
    cmd = [binary, "-T", "-c", str(tmp_path / "fw.yaml"), f"--firewall-rules-exclusive={tmp_path / 'h.rules'}"]
    proc = subprocess.run([*cmd, "-l", str(tmp_path)], capture_output=True, text=True, check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


def test_the_hook_table_covers_every_hookkey_of_the_model():
    model = botocore.session.get_session().get_service_model("network-firewall")
    assert list(hooks.HOOKS) == list(model.shape_for("HookKey").enum)
    refused = [k for k, v in hooks.HOOKS.items() if v is hooks.REFUSED]
    assert {k.split("_", 1)[0] for k in refused} == {"HTTP2", "DOH2", "DNP3"} and len(refused) == 32
    for key in refused:
        with pytest.raises(hooks.Refused, match=key):
            hooks.suricata_hook(key)
    assert hooks.suricata_hook("TLS_CLIENT_HELLO") == "tls:client_hello_done"
    assert hooks.suricata_hook("FTP_DATA_REQUEST_STARTED") == "ftp-data:request_started"


def test_every_mapped_hook_loads_on_suricata_8_and_the_aws_spelling_of_renamed_ones_does_not(tmp_path):
    binary = _suricata8()
    mapped = [v for v in hooks.HOOKS.values() if v is not hooks.REFUSED]
    rules = "".join(f"accept:hook {h} any any -> any any (sid:{i};)\n" for i, h in enumerate(mapped, 1))
    ok, out = _loads(binary, rules, tmp_path)
    assert ok, out
    from rulec.emit.aws_nextgen import aws_hook

    renamed = [aws_hook(k) for k, v in hooks.HOOKS.items() if v is not hooks.REFUSED and v != aws_hook(k)]
    assert sorted(renamed) == sorted(
        f"tls:{s}"
        for s in (
            "client_started",
            "client_hello",
            "client_cert",
            "client_data",
            "server_started",
            "server_cert",
            "server_data",
        )
    )
    for hook in renamed[:2]:  # each rename is needed: 8.0.x refuses AWS's spelling
        ok, out = _loads(binary, f"accept:hook {hook} any any -> any any (sid:1;)\n", tmp_path)
        assert not ok and "does not support hook" in out


def test_verify_next_gen_example(suricata, cli):
    result = cli("verify", EXAMPLE, "--probes", PROBES, "--format", "json")
    if suricata == "7":
        assert result.exit_code == 2
        assert "needs Suricata 8.0 or later" in result.output and "7.0" in result.output
        return
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["engine"].startswith("suricata 8.0") and report["failed"] == 0
    assert any(
        "translated AWS hook names" in n and "tls:client_hello -> tls:client_hello_done" in n for n in report["notes"]
    )
    probes = report["probes"]
    assert not any(p["uncovered"] for p in probes)

    def verdicts(pred):
        found = [p["verdict"] for p in probes if pred(p)]
        assert found, "no such probe"
        return set(found)

    assert verdicts(lambda p: p["expect"] == "pass" and p["kind"] in ("tls", "http")) == {"pass"}
    assert verdicts(lambda p: "split" in p["why"] and p["host"] == "ireland.cloud.databricks.com") == {"pass"}
    for why in (
        "look-alike",
        "foreign S3 bucket",
        "global S3",
        "unlisted domain",
        "without SNI",
        "non-TLS bytes on 443",
    ):
        assert verdicts(lambda p, w=why: w in p["why"]) == {"drop"}, why
    for kind, port in (("udp", 53), ("udp", 443), ("udp", 5000), ("ssh", 22), ("tcp", 4444)):
        assert verdicts(lambda p, k=kind, n=port: p["kind"] == k and p["port"] == n and p["expect"] == "drop") == {
            "drop"
        }
    assert verdicts(lambda p: p["kind"] == "icmp") == {"drop"}
    assert verdicts(lambda p: p["why"].startswith("user probe")) == {"pass", "drop"}


def test_verify_text_says_it_translated(cli, monkeypatch):
    monkeypatch.setenv("RULEC_SURICATA", _suricata8())
    result = cli("verify", EXAMPLE, "--problems")
    assert result.exit_code == 0, result.output
    assert "firewall mode" in result.output and "tls:client_started -> tls:client_in_progress" in result.output
    assert "0 failed" in result.output


MUTANTS = {
    "no unknown-app drop": (lambda s: [x for x in s if x["key"] != "ng:tcp-unknown-app"], "non-TLS bytes on 443"),
    "no TLS prior hook": (lambda s: [x for x in s if x["key"] != "ng:tls:prior"], "allowed name"),
    "no carrier back": (lambda s: [x for x in s if x["key"] != "ng:carrier:to-client"], "allowed name"),
    "SNI case-sensitive": (
        lambda s: [dict(x, options=tuple(o for o in x.get("options", ()) if o[0] != "nocase")) for x in s],
        "upper case",
    ),
    "no dotprefix": (
        lambda s: [dict(x, options=tuple(o for o in x.get("options", ()) if o[0] != "dotprefix")) for x in s],
        "apex of",
    ),
    "carrier on any port": (
        lambda s: [dict(x, destination_port="any") if x["key"].startswith("ng:carrier:to-server") else x for x in s],
        "raw TCP",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_verify_catches_a_broken_ruleset(name, monkeypatch):
    mutate, why = MUTANTS[name]
    original = nextgen.allow_specs
    monkeypatch.setattr(nextgen, "allow_specs", lambda types, targets: mutate(original(types, targets)))
    _, plans, _, _ = pipeline.plan(EXAMPLE)
    report = firewall.verify_region(plans[0], [], _suricata8())
    failures = [v for v in report.verdicts if not v.ok]
    assert failures and any(why in v.probe.why for v in failures), (name, [v.probe.why for v in failures])


def test_ci_proves_against_the_pinned_suricata_8():
    """Firewall mode is experimental upstream and hook names move between releases: moving the pin means measuring
    the hook table again (test above) and updating hooks.PINNED."""
    from rulec.verify.engine import suricata_version

    assert suricata_version(_suricata8()) == hooks.PINNED
