"""User probes as written (host, src, dst, payload, pad/split, http.raw, region) and the pcap they become."""

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulec.verify.pcap import Pcap, TcpFlow, client_hello, http_request

POLICY = """
version: 1
deny_protocols: [SSH]
regions:
  eu-west-1: {home_net: [10.0.0.0/16], allow: [api.example.org, .example.com]}
  us-east-1: {home_net: [10.1.0.0/16], allow: [api.example.org]}
verify:
  probes:
    - {kind: tls, host: API.EXAMPLE.ORG, expect: pass}
    - {kind: tls, host: "", expect: drop}
    - {kind: http, host: "", expect: drop}
    - {kind: tls, host: Api.Example.Org, pad: 1800, split: 100, expect: pass}
    - {kind: tls, host: sub.EXAMPLE.com, pad: 1800, split: 1448, region: eu-west-1, expect: pass}
    - {kind: http, http: {raw: "GET /x HTTP/1.1\\r\\nHost: api.example.org\\r\\n\\r\\n"}, split: 20, expect: pass}
    - {kind: http, http: {raw: "GET / HTTP/1.1\\r\\nHost: evil.example.net\\r\\n\\r\\n"}, expect: drop}
    - {kind: tcp, port: 4444, payload: "hex:00ff 0d0a", expect: pass}
    - {kind: udp, port: 53, payload: "\\x12\\x34\\x01\\x00", expect: pass}
    - {kind: tls, host: api.example.org, dst: 203.0.113.7, expect: pass}
    - {kind: tls, host: google.com, src: 192.0.2.50, expect: pass}
    - {kind: tls, host: google.com, src: 10.0.9.9, region: eu-west-1, expect: drop}
"""


def _checksum(data: bytes) -> int:
    """RFC 1071, word by word (independent of rulec's modular shortcut)."""
    data += b"\0" * (len(data) % 2)
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def packets(blob: bytes):
    """(ip header, l4 segment) of every packet in a pcap, checking every checksum on the way."""
    off = 24
    while off < len(blob):
        _, _, n, _ = struct.unpack_from("<IIII", blob, off)
        frame = blob[off + 16 : off + 16 + n]
        off += 16 + n
        ip, seg = frame[14:34], frame[34:]
        assert _checksum(ip) == 0 and struct.unpack("!H", ip[2:4])[0] == 20 + len(seg)
        proto = ip[9]
        if proto in (6, 17):
            assert _checksum(ip[12:20] + struct.pack("!BBH", 0, proto, len(seg)) + seg) == 0
        else:
            assert _checksum(seg) == 0
        yield ip, seg


def test_pcap_checksums_and_split_padded_client_hello():
    hello = client_hello("PyPi.Org", 1800)
    assert len(hello) == 1800 and hello.index(b"PyPi.Org") > 1448  # the name comes after the usual cut
    assert len(client_hello("pypi.org")) < 200 and b"pypi.org" in client_hello("pypi.org")
    assert b"\x00\x00" not in client_hello("", None)[43:45]  # no server_name extension first
    with pytest.raises(ValueError, match="smaller than"):
        client_hello("a" * 200, 300)
    assert b"Host:" not in http_request("") and b"Host: X.Org\r\n" in http_request("X.Org")
    pcap = Pcap()
    TcpFlow(pcap, "10.0.0.10", "198.18.0.1", 10_001, 443).open().client_says(hello, 1448).close()
    pcap.udp("10.0.0.10", "198.18.0.2", 10_002, 53, b"\x12\x34\x01")
    pcap.icmp_echo("10.0.0.10", "198.18.0.3", 7)
    tcp_payloads = [seg[20:] for ip, seg in packets(pcap.bytes()) if ip[9] == 6 and len(seg) > 20]
    assert tcp_payloads == [hello[:1448], hello[1448:]]
    assert sum(1 for _ in packets(pcap.bytes())) == 3 + 3 + 3 + 1 + 2  # handshake, 2 segments + ack, fin, udp, icmp


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=3000), split=st.integers(min_value=0, max_value=3000), port=st.integers(1, 65535))
def test_every_checksum_is_right_for_any_payload(data, split, port):
    pcap = Pcap()
    TcpFlow(pcap, "10.0.0.10", "198.18.0.1", 10_001, port).open().client_says(data, split).server_says(data).close()
    pcap.udp("10.0.0.10", "198.18.0.2", 10_002, port, data)
    assert sum(len(seg) for _, seg in packets(pcap.bytes())) >= 2 * len(data)


@pytest.mark.usefixtures("suricata")
def test_user_probes_are_sent_as_written(write_policy, cli):
    p = write_policy(POLICY)
    r = cli("verify", p, "--format", "json")
    assert r.exit_code == 0, r.output
    regions = {x["region"]: x for x in json.loads(r.stdout)}
    user = {name: [x for x in data["probes"] if x["why"].startswith("user probe")] for name, data in regions.items()}
    assert [x["host"] for x in user["eu-west-1"][:2]] == ["API.EXAMPLE.ORG", ""]
    assert all(x["ok"] and not x["uncovered"] for probes in user.values() for x in probes)
    assert len(user["eu-west-1"]) == 12 and len(user["us-east-1"]) == 10  # `region:` scopes two probes
    lines = [int(x["why"].rsplit(":", 2)[-2]) for x in user["us-east-1"]]
    assert 12 not in lines and 19 not in lines
    for x in user["eu-west-1"]:
        assert {"kind", "host", "port", "verdict", "uncovered"} <= x.keys()
    split = next(x for x in user["eu-west-1"] if x["split"] == 100)
    assert split["verdict"] == "pass" and split["app_proto"] == "tls" and split["pad"] == 1800


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        ("{kind: tls, host: api.example.org, split: 5000, expect: pass}", "3:47: split 5000 is not inside the"),
        (
            "{kind: tls, host: api.example.org, payload: x, expect: pass}",
            "'payload' is for tcp, udp, syn and ip probes",
        ),
        ("{kind: http, host: a.org, http: {raw: x}, expect: pass}", "a 'host'"),
        ("{kind: tls, host: api.example.org, region: eu-west-9, expect: pass}", "3:48: region 'eu-west-9' is not in"),
        ("{kind: tcp, payload: 'hex:0g', expect: pass}", "pairs of hex digits"),
        ("{kind: tcp, src: 10.0.0.0/8, expect: pass}", "not an IPv4 address"),
        ("{kind: tls, host: 'a b', expect: pass}", "printable ASCII"),
    ],
)
def test_bad_probes_are_bad_input(write_policy, tmp_path, cli, probe, message):
    p = write_policy("version: 1\nregions: {eu-west-1: {home_net: [10.0.0.0/16], allow: [api.example.org]}}\n")
    probes = tmp_path / "probes.yaml"
    probes.write_text(f"probes:\n  - {{kind: tcp, expect: pass}}\n  - {probe}\n")
    r = cli("verify", p, "--probes", probes, "--suricata", "suricata8")
    assert r.exit_code == 2 and message in r.stderr and str(probes) in r.stderr, r.output
    assert "Traceback" not in r.output


@pytest.mark.usefixtures("suricata")
def test_text_output_shows_failures_open_paths_once_and_summaries(write_policy, cli):
    p = write_policy(POLICY.replace("API.EXAMPLE.ORG, expect: pass", "API.EXAMPLE.ORG, expect: drop"))
    r = cli("verify", p)
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    fails = [line for line in lines if " FAIL " in line]
    assert len(fails) == 2 and all("API.EXAMPLE.ORG:443" in line for line in fails)  # one per region
    open_ = [line for line in lines if line.startswith("warning: not covered:")]
    assert len(open_) == len(set(open_)) and any("4444" in line and "[every region]" in line for line in open_)
    assert not any(" ok " in line for line in lines)
    assert any(line.startswith("eu-west-1: 1 failed,") for line in lines)
    assert any(line.startswith("us-east-1: 1 failed,") for line in lines)
    assert lines[-1].startswith("total: 2 failed,")
    every = cli("verify", p, "--all").stdout.splitlines()
    assert sum(1 for line in every if " ok " in line) > 50 and len(every) > len(lines)
    full = json.loads(cli("verify", p, "--format", "json").stdout)
    short = json.loads(cli("verify", p, "--format", "json", "--problems").stdout)
    for whole, problems in zip(full, short, strict=True):
        assert len(whole["probes"]) == whole["probe_count"]
        assert [x for x in whole["probes"] if not x["ok"] or x["uncovered"]] == problems["probes"]


@pytest.mark.usefixtures("suricata")
def test_split_client_hellos_catch_a_drop_of_the_first_segment(write_policy):
    """The trap nfw-facts.md records for a naive strict TCP drop: a ClientHello in one segment passes, but the
    first segment of a split one is dropped before the name arrives. Only the split probes see it."""
    from rulec.pipeline import plan
    from rulec.verify import engine, verify_region

    _, (region,), _, _ = plan(
        write_policy("version: 1\nregions: {eu-west-1: {home_net: [10.0.0.0/16], allow: [a.org]}}\n")
    )
    naive = "drop tcp $HOME_NET any -> $EXTERNAL_NET any (flow:established,to_server; sid:999;)\n"
    report = verify_region(region, [], options=engine.Options(transform=lambda rules: rules + naive))
    tls = [v for v in report.verdicts if v.probe.kind == "tls" and v.probe.expect == "pass"]
    assert {(v.probe.host, v.probe.split, v.dropped) for v in tls} == {("a.org", None, False), ("A.OrG", 1448, True)}
    assert {v.probe.host for v in report.failures} >= {"A.OrG"}
    clean = verify_region(region, [])
    assert not clean.failures and not any(
        v.dropped for v in clean.verdicts if v.probe.split and v.probe.expect == "pass"
    )


@pytest.mark.usefixtures("suricata")
def test_every_warning_and_note_is_printed_once(cli):
    from tests.conftest import ROOT

    r = cli("verify", ROOT / "examples" / "strict" / "policy.yaml")
    assert r.exit_code == 0, r.output
    said = [line for line in r.stdout.splitlines() if line.startswith(("warning:", "note:"))]
    assert said and len(said) == len(set(said))
    assert all(line.count("eu-west-1") <= 2 for line in said)  # the region is named once per line (the why may too)
