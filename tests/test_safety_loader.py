"""Issue 11, items 7, 8 and 10: the loader never crashes, and its messages say what to write."""

import json

import pytest

from rulec.compile.lock import parse_lock
from rulec.errors import RulecError
from rulec.load.ipranges import parse as parse_ip_ranges
from rulec.load.source import MAX_DEPTH, parse_yaml
from tests.conftest import MINIMAL


def err(raw: bytes) -> str:
    with pytest.raises(RulecError) as info:
        parse_yaml(raw, "p.yaml")
    return str(info.value)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b'a: !!int "abc"\n', "p.yaml:1:4: invalid value: 'abc' is not a valid int"),
        (b"a: !!bool x\n", "p.yaml:1:4: invalid value: 'x' is not a valid bool"),
        (b"a: !!timestamp x\n", "p.yaml:1:4: invalid value: 'x' is not a valid timestamp"),
        (b"a: !!float x\n", "p.yaml:1:4: invalid value: 'x' is not a valid float"),
        (b"a: 1\n!!int x: 1\n", "p.yaml:2:1: invalid value: 'x' is not a valid int"),
        (b"a: !!map x\n", "p.yaml:1:4: invalid value: expected a mapping node, but found scalar"),
        (b"? [a]\n: 1\n", "p.yaml:1:3: mapping keys must be plain scalars"),
        (b"? {a: 1}\n: 1\n", "p.yaml:1:3: mapping keys must be plain scalars"),
    ],
)
def test_explicit_tags_and_odd_keys_are_bad_input_with_a_position(raw, expected):
    assert err(raw) == expected


def test_keys_stay_the_text_written():
    assert parse_yaml(b"2020-01-01: 1\n!!binary aGk=: 2\n", "p.yaml").data == {"2020-01-01": 1, "aGk=": 2}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 999])
def test_deep_nesting_is_refused_with_a_position(depth):
    flow = b"a: " + b"[" * depth + b"]" * depth + b"\n"
    assert f"values nested more than {MAX_DEPTH} levels deep" in err(flow)
    block = b"a:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, depth))
    assert err(block).startswith("p.yaml:")


def test_control_characters_and_nul_at_their_real_position():
    assert err(b"a: 1\nb: x\x00y\n") == "p.yaml:2:5: NUL is not allowed in YAML; " + (
        "remove it (write it as an escape in a double-quoted string if meant)"
    )
    assert err(b"a: 1\nbb: 'x\x07'\n").startswith("p.yaml:2:7: control character U+0007 is not allowed")


def test_tab_and_unquoted_star_say_what_to_write():
    assert err(b"a:\n\t- x\n") == (
        "p.yaml:2:1: YAML syntax error: a tab is used for indentation; YAML allows only spaces, so replace the tab"
    )
    assert err(b"allow:\n  - *.example.com\n") == (
        "p.yaml:2:5: YAML syntax error: '*.example.com': an unquoted '*' starts a YAML alias; "
        "for a name and all its subdomains write '.example.com'"
    )


def test_values_cannot_forge_diagnostic_lines_or_escape_to_the_terminal(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL.replace("[api.example.org]", '["a\\nx.yaml:1:1: forged", "\\e[31mred"]'))
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{p}:") for line in lines)
    assert "'a\\nx.yaml:1:1: forged' contains whitespace" in lines[0]
    assert "\x1b" not in r.stderr and "'\\x1b[31mred'" in lines[1]


@pytest.mark.parametrize(
    "lock, message",
    [
        ('{"version": 1, "groups": {"G": {"next_sid": 1e400}}}', "next_sid must be a whole number"),
        ('{"version": 1, "groups": {"G": {"next_sid": 2.5}}}', "next_sid must be a whole number"),
        ('{"version": 1, "groups": {"G": {"next_sid": true}}}', "next_sid must be a whole number"),
        ('{"version": 1, "groups": {"G": []}}', "next_sid must be a whole number"),
        ('{"version": 1, "groups": {"G": {"next_sid": 5000000000, "sids": {"k": 4294967296}}}}', "next_sid"),
        ('{"version": 1, "groups": {"G": {"next_sid": 4294967296, "sids": {"k": 4294967296}}}}', "invalid SIDs"),
        ('{"version": 1, "groups": {"G": {"next_sid": 3, "sids": []}}}', "lock file is damaged"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_hand_edited_locks_are_bad_input(lock, message):
    with pytest.raises(RulecError, match=message):
        parse_lock(lock.encode(), "p.lock.json")


def test_lock_at_the_last_sid_still_reads():
    lock = parse_lock(b'{"version": 1, "groups": {"G": {"next_sid": 4294967296, "sids": {"k": 4294967295}}}}', "l")
    assert lock.groups["G"].sids == {"k": 4294967295}


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"prefixes": [{"platform": "aws", "type": "inbound", "region": "eu-west-1", "ipv4Prefixes": 5}]}, "lists"),
        (
            {"prefixes": [{"platform": "aws", "type": "inbound", "region": "eu-west-1", "ipv4Prefixes": [167772160]}]},
            "167772160 is not a CIDR block",
        ),
        ({"prefixes": [{"platform": "aws", "type": "inbound", "region": "../x", "ipv4Prefixes": []}]}, "region"),
        ({"prefixes": [], "timestampSeconds": "soon"}, "timestampSeconds must be a whole number"),
    ],
)
def test_malformed_ip_ranges_are_bad_input(doc, message):
    with pytest.raises(RulecError, match=message):
        parse_ip_ranges(json.dumps(doc).encode(), "ip-ranges.json")


def test_import_ip_ranges_cli_on_a_malformed_file_exits_2(cli, tmp_path):
    bad = tmp_path / "ip.json"
    bad.write_text("[" * 50_000 + "]" * 50_000)
    r = cli("catalog", "import-ip-ranges", bad, "--catalogs", tmp_path, "--check")
    assert r.exit_code == 2 and "nested too deeply" in r.stderr


def test_home_net_bare_address_is_refused(cli, write_policy, tmp_path):
    p = write_policy(MINIMAL.replace("10.0.0.0/16", "10.20.0.0"))
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert f"{p}:4:16: regions.eu-west-1.home_net.0: '10.20.0.0' is an address" in r.stderr
    assert "write 10.20.0.0/32 if you mean one host" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            "regions:\n  eu-west1: {home_net: [10.0.0.0/16], allow: [a.example.org]}\n",
            "3:3: regions: 'eu-west1' is not an AWS region name such as eu-west-1; did you mean 'eu-west-1'?",
        ),
        (
            "regions:\n  eu-west-1: {home_net: [10.0.0.0/16], features: [PyPI]}\n",
            "3:51: unknown feature 'PyPI'; did you mean 'pypi'? known: artifacts, cran,",
        ),
        (
            "regions:\n  eu-west-1: {home_net: [10.0.0.0/16], features: [hive_metastore]}\n",
            "3:51: unknown feature 'hive_metastore'; did you mean 'hive-metastore'? known: artifacts, cran,",
        ),
        ("regions:\n  eu-west-1: []\n", "3:14: regions.eu-west-1: expected a mapping (key: value), not a list"),
        (
            "regions:\n  eu-west-1: {home_net: [10.0.0.0/16]}\n",
            "3:3: region 'eu-west-1' allows no names: add `features` or `allow`",
        ),
        (
            "groups: {allowlist: {name: 'a b'}}\nregions:\n  eu-west-1: {home_net: [10.0.0.0/16], allow: [a.example.org]}\n",
            "2:28: groups.allowlist.name: 'a b' may hold only letters, digits and '-'",
        ),
        (
            "regions:\n  eu-west-1: {home_net: [10.0.0.0/16], allow: [xn--zz.example.org]}\n",
            "3:48: regions.eu-west-1.allow.0: 'xn--zz.example.org': label 'xn--zz' is not valid punycode",
        ),
    ],
)
def test_messages_point_at_the_cause_without_jargon(cli, write_policy, tmp_path, body, expected):
    p = write_policy("version: 1\n" + body)
    r = cli("build", p, "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert f"{p}:{expected}" in r.stderr
    for jargon in ("instance of", "String should match pattern", "^[", "schema"):
        assert jargon not in r.stderr
