"""rulec learn's log reader: every shape Network Firewall delivers, streamed; bad input counted, never raised."""

import gzip
import json

import pytest

from rulec.errors import RulecError
from rulec.learn import logs
from tests.conftest import ROOT

LOGS = ROOT / "tests" / "data" / "logs"
ALERTS = LOGS / "workspace-alert.jsonl"


def test_aws_documented_examples_are_read_and_skipped():
    obs = logs.read([LOGS / "aws-docs-examples.jsonl"])
    assert obs.lines == 4 and obs.events == 4 and obs.bad == {}
    assert obs.names == {} and obs.blocked == 0 and obs.allowed == 1
    assert obs.skipped == {"alert (not blocked)": 1, "netflow": 1, "tls_error": 2}
    assert obs.firewalls == {"firewall", "firewall-tls-test", "test-firewall"}


def test_blocked_names_with_region_hits_times_and_clients():
    obs = logs.read([ALERTS])
    assert obs.events == 11 and obs.blocked == 10 and obs.unnamed_blocked == 1 and obs.skipped == {"netflow": 1}
    pypi = obs.names["us-east-1", "pypi.org"]
    assert pypi.hits == 3 and pypi.protocols == {"TLS", "HTTP"}
    assert pypi.clients == {"10.20.4.17", "10.20.9.41"}
    assert (pypi.first, pypi.last) == (1764316801.0, 1764320410.0)
    assert ("us-east-1", "attacker-drop-3.s3.us-east-1.amazonaws.com") in obs.names


def test_gzip_as_delivered_to_s3_equals_plain(tmp_path):
    gz = tmp_path / "123456789012_network-firewall_alert_202511280800_abcd.log.gz"
    gz.write_bytes(gzip.compress(ALERTS.read_bytes()))
    plain, zipped = logs.read([ALERTS]), logs.read([gz])
    assert zipped.names == plain.names and zipped.bad == {}


def test_cloudwatch_export_lines_with_a_timestamp_prefix(tmp_path):
    exported = tmp_path / "000000.txt"
    exported.write_text(
        "".join(f"2025-11-28T08:00:0{i}.000Z {line}\n" for i, line in enumerate(ALERTS.read_text().splitlines()))
    )
    assert logs.read([exported]).names == logs.read([ALERTS]).names


def test_plain_eve_without_envelope_has_no_region(tmp_path):
    eve = tmp_path / "eve.json"
    eve.write_text("".join(json.dumps(json.loads(line)["event"]) + "\n" for line in ALERTS.read_text().splitlines()))
    obs = logs.read([eve])
    assert obs.names[None, "pypi.org"].hits == 3 and obs.firewalls == set()


def test_bad_logs_are_counted_with_the_first_place(tmp_path):
    data = gzip.compress(ALERTS.read_bytes() * 50)
    truncated = tmp_path / "cut.log.gz"
    truncated.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.jsonl"
    junk.write_text(
        'not json at all\n{"event_type": "weird"}\n[1, 2]\n{"no": "type"}\n'
        '{"firewall_name": "f", "event": {"event_type": "alert", "alert": {"action": "blocked"}, "tls": {"sni": "x.y'
        "\n\n"
    )
    obs = logs.read([truncated, junk])
    assert obs.bad["truncated gzip (the file ends early)"].count == 1
    assert obs.bad["truncated gzip (the file ends early)"].first_at.startswith(str(truncated))
    assert obs.bad["not JSON (a truncated or foreign line)"].count == 2
    assert obs.bad["not JSON (a truncated or foreign line)"].first_at == f"{junk}:1"
    assert obs.bad["unknown event type 'weird'"].first_at == f"{junk}:2"
    assert obs.bad["JSON but not an object"].count == 1
    assert obs.bad["no event_type (not a Network Firewall or Suricata EVE event)"].count == 1
    assert obs.names["us-east-1", "pypi.org"].hits > 3  # what came before the cut still counts


def test_corrupt_gzip_and_missing_file(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 64)
    assert "corrupt gzip data" in logs.read([bad]).bad or "truncated gzip (the file ends early)" in logs.read([bad]).bad
    with pytest.raises(RulecError, match="cannot read log file"):
        logs.read([tmp_path / "missing.jsonl"])
    with pytest.raises(RulecError, match="is a directory"):
        logs.read([tmp_path])


def test_memory_stays_bounded(monkeypatch, tmp_path):
    monkeypatch.setattr(logs, "MAX_NAMES", 5)
    lines = []
    for i in range(40):
        event = {"event_type": "alert", "src_ip": f"10.0.{i}.1", "alert": {"action": "blocked"}}
        event["tls"] = {"sni": f"n{i % 10}.example.com"}
        lines.append(json.dumps({"availability_zone": "eu-west-1a", "event": event}))
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines))
    obs = logs.read([path])
    assert len(obs.names) == 5 and obs.untracked == 20
    seen = obs.names["eu-west-1", "n0.example.com"]
    assert seen.hits == 4 and len(seen.clients) == 4 and not seen.more_clients
    monkeypatch.setattr(logs, "MAX_CLIENTS", 2)
    assert logs.read([path]).names["eu-west-1", "n0.example.com"].more_clients


def test_progress_reports_bytes_of_input(monkeypatch, tmp_path):
    monkeypatch.setattr(logs, "PROGRESS_EVERY", 1024)
    big = tmp_path / "big.jsonl"
    big.write_bytes(ALERTS.read_bytes() * 20)
    calls = []
    logs.read([ALERTS, big], lambda done, total: calls.append((done, total)))
    total = ALERTS.stat().st_size + big.stat().st_size
    assert calls[-1] == (total, total) and any(ALERTS.stat().st_size < d < total for d, _ in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize(
    ("zone", "region"),
    [("us-east-1b", "us-east-1"), ("us-gov-west-1a", "us-gov-west-1"), ("use1-az1", None), ("zone", None), (3, None)],
)
def test_region_of_availability_zone(zone, region):
    assert logs.region_of(zone) == region


def test_an_endless_line_is_skipped_not_held(monkeypatch, tmp_path):
    monkeypatch.setattr(logs, "MAX_LINE", 1000)
    good = ALERTS.read_text().splitlines()
    path = tmp_path / "long.jsonl"
    path.write_text(good[0] + "\n" + "x" * 300_000 + "\n" + good[1] + "\n" + "y" * 5000)
    obs = logs.read([path])
    assert obs.lines == 4 and obs.bad["line longer than 0 MiB (skipped)"].count == 2
    assert obs.bad["line longer than 0 MiB (skipped)"].first_at == f"{path}:2"
    assert set(obs.names) == {("us-east-1", "pypi.org"), ("us-east-1", "files.pythonhosted.org")}
