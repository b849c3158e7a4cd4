"""The README's table of exfiltration paths, held to what `rulec verify` shows on Suricata 8."""

import json

import pytest

from tests.conftest import ROOT

COLUMNS = {"domains": "reference", "strict": "strict", "strict + resolved domain": "strict-resolved"}
PATHS = {  # row -> which probes show it (kind, port, why prefix, host)
    "raw TCP": ("tcp", 4444, "raw TCP", None),
    "UDP": ("udp", 5000, "UDP", None),
    "DNS out": ("udp", 53, "DNS to an outside resolver", None),
    "QUIC": ("udp", 443, "QUIC", None),
    "non-TLS on 443": ("tcp", 443, "non-TLS bytes on 443", None),
    "no SNI": ("tls", 443, "TLS without SNI", ""),
    "spoofed SNI": ("tls", 443, "spoofed TLS name", None),
    "ICMP": ("icmp", 0, "", None),
    "east-west": ("tls", 443, "east-west", None),
    "client outside HOME_NET": ("tls", 443, "client outside HOME_NET", None),
}


def readme_table() -> dict[str, dict[str, str]]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- paths-table -->")[1].split("<!-- /paths-table -->")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.strip().splitlines()]
    head, body = rows[0], rows[2:]
    return {r[0]: dict(zip(head[1:], r[1:], strict=True)) for r in body}


def cell(probes: list[dict], row: str) -> str:
    kind, port, why, host = PATHS[row]
    chosen = [
        p
        for p in probes
        if p["kind"] == kind and p["port"] == port and p["why"].startswith(why) and (host is None or p["host"] == host)
    ]
    if row != "client outside HOME_NET":  # the same path from outside HOME_NET is that row's business
        chosen = [p for p in chosen if p["source"] is None]
    assert chosen, row
    if any(p["uncovered"] for p in chosen):
        return "OPEN"
    assert all(p["ok"] for p in chosen), chosen
    return "drop" if all(p["verdict"] == "drop" for p in chosen) else "pass"


@pytest.fixture(scope="module")
def verified():
    from tests.conftest import SURICATAS, invoke

    out = {}
    for column, example in COLUMNS.items():
        r = invoke(
            "verify",
            str(ROOT / "examples" / example / "policy.yaml"),
            "--format",
            "json",
            "--suricata",
            SURICATAS["8"],
        )
        assert r.exit_code == 0, r.output
        out[column] = [p for region in json.loads(r.stdout) for p in region["probes"]]
    return out


def test_the_readme_table_is_what_verify_shows(verified):
    table = readme_table()
    assert set(table) == set(PATHS)
    for row, cells in table.items():
        for column, expected in cells.items():
            assert cell(verified[column], row) == expected, (row, column)


def test_strict_leaves_no_raw_tcp_or_udp_probe_uncovered(verified):
    for column in ("strict", "strict + resolved domain"):
        assert not [p for p in verified[column] if p["uncovered"] and p["kind"] in ("tcp", "udp", "syn", "ip")]
        assert all(p["ok"] for p in verified[column])
