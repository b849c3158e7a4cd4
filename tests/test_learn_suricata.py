"""EVE from rulec's own Suricata runs (7 and 8), wrapped in Network Firewall's envelope, is valid learn input."""

import datetime
import gzip
import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from rulec import learn, pipeline
from rulec.learn import logs, report
from rulec.verify import synthesize
from rulec.verify.engine import ruleset, suricata_path
from rulec.verify.probes import Probe, home_host
from tests.test_learn import WORKSPACE

pytestmark = pytest.mark.usefixtures("suricata")

# Suricata's settings as rulec/verify/engine.py runs it: simulated IPS, EVE alert/drop/flow events
CONFIG = """%YAML 1.1
---
vars:
  address-groups: {{HOME_NET: "[{home_net}]", EXTERNAL_NET: "!$HOME_NET"}}
  port-groups: {{}}
default-log-dir: "{log_dir}"
logging: {{default-log-level: warning, outputs: [{{console: {{enabled: no}}}}]}}
outputs:
  - eve-log: {{enabled: yes, filetype: regular, filename: eve.json, types: [alert, {{drop: {{alerts: yes}}}}, flow]}}
app-layer:
  protocols: {{tls: {{enabled: yes, detection-ports: {{dp: 443}}}}, http: {{enabled: yes}}}}
action-order: [pass, drop, reject, alert]
stream: {{checksum-validation: no}}
classification-file: /dev/null
reference-config-file: /dev/null
"""
PROBES = [
    Probe("tls", "pypi.org", 443, "drop", "learn"),
    Probe("tls", "files.pythonhosted.org", 443, "drop", "learn"),
    Probe("http", "pypi.org", 80, "drop", "learn"),
    Probe("tls", "telemetry.unknown-vendor.example", 443, "drop", "learn"),
    Probe("tls", "exfil-1.s3.amazonaws.com", 443, "drop", "learn"),
    Probe("tls", "api.example.org", 443, "pass", "learn"),
]


def eve_events(policy: Path) -> list[dict]:
    """Run Suricata over verify's probe packets the way rulec/verify/engine.py does, and keep eve.json."""
    _, plans, _, _ = pipeline.plan(policy)
    plan = plans[0]
    rules, _ = ruleset(plan.groups)
    servers = [f"198.18.0.{i + 1}" for i in range(len(PROBES))]
    pcap = synthesize(PROBES, home_host(plan.resolved.home_net[0]), servers)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "suricata.yaml").write_text(CONFIG.format(home_net=",".join(plan.resolved.home_net), log_dir=work))
        (work / "probes.rules").write_text(rules)
        (work / "probes.pcap").write_bytes(pcap)
        cmd = [suricata_path(), "-c", work / "suricata.yaml", "-S", work / "probes.rules", "-r", work / "probes.pcap"]
        cmd += ["-l", work, "--simulate-ips", "-k", "none", "--runmode", "single", "--init-errors-fatal"]
        subprocess.run([str(c) for c in cmd], check=True, capture_output=True)
        return [json.loads(line) for line in (work / "eve.json").read_text().splitlines()]


def envelope(event: dict) -> str:
    when = datetime.datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    wrapped = {
        "firewall_name": "inspection",
        "availability_zone": "us-east-1c",
        "event_timestamp": str(int(when.timestamp())),
    }
    return json.dumps(wrapped | {"event": event})


def test_eve_from_rulecs_suricata_run_in_the_envelope(write_policy, tmp_path):
    policy = write_policy(WORKSPACE)
    events = eve_events(policy)
    blocked = [e for e in events if e["event_type"] == "alert" and e["alert"]["action"] == "blocked"]
    assert {e.get("tls", {}).get("sni") or e.get("http", {}).get("hostname") for e in blocked} >= {
        "pypi.org",
        "files.pythonhosted.org",
        "telemetry.unknown-vendor.example",
    }
    gz = tmp_path / "AWSLogs" / "123456789012_network-firewall_alert_us-east-1_inspection.log.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress("".join(envelope(e) + "\n" for e in events).encode()))
    obs = logs.read([gz])
    assert obs.bad == {} and obs.events == len(events) and obs.blocked == len(blocked)
    r = learn.learn(policy, obs)
    (p,) = [p for p in r.proposals if p.accepted]
    assert (p.kind, p.value, p.regions) == ("feature", "pypi", ["us-east-1"])
    assert p.hits >= 3 and {"TLS", "HTTP"} <= set().union(*(n.seen.protocols for n in p.names))
    assert all(n.seen.clients == {home_host("10.20.0.0/16")} for n in p.names)
    unexplained = {n.name for n in r.names if n.status == "unexplained"}
    assert unexplained == {"telemetry.unknown-vendor.example", "exfil-1.s3.amazonaws.com"}
    assert "api.example.org" not in {n.name for n in r.names}  # it passed: no verdict to learn from
    assert "+ feature pypi in us-east-1" in report.text(r)


def test_bare_eve_json_of_a_run_is_valid_input(write_policy, tmp_path):
    policy = write_policy(WORKSPACE)
    eve = tmp_path / "eve.json"
    eve.write_text("".join(json.dumps(e) + "\n" for e in eve_events(policy)))
    r = learn.learn(policy, logs.read([eve]))  # no zone: the policy's only region
    assert [p.value for p in r.proposals if p.accepted] == ["pypi"]
