"""Issue 11, item 7: a bounded fuzz run over the loader's input classes ends in 0 tracebacks.

Every input either loads or raises RulecError (exit 2, positioned); no other exception escapes, and no
message can print a second line or a terminal escape.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulec import pipeline
from rulec.compile.lock import parse_lock
from rulec.errors import RulecError
from rulec.load.ipranges import parse as parse_ip_ranges

BASE = """version: 1
target_types: [TLS_SNI, HTTP_HOST]
deny_protocols: [SSH]
groups: {allowlist: {name: Allow, capacity: 100}}
features: [pypi]
allow: [.example.com]
regions:
  eu-west-1:
    home_net: [10.0.0.0/16]
    allow: [api.example.org]
waivers:
  - {code: RC001, target: s3.amazonaws.com, reason: r, expires: 2027-06-30}
"""

FRAGMENTS = [
    '!!int "abc"',
    "!!bool x",
    "!!timestamp x",
    "!!float nan",
    "!!binary aGk=",
    "!!map x",
    "!!seq x",
    "!!set {a}",
    "!foo x",
    "? [a, b]\n: 1",
    "? {a: 1}\n: 2",
    '!!int "x": 1',
    "2020-01-01: x",
    "*.example.com",
    "&a [1]",
    "*a",
    "<<: {a: 1}",
    "\t",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\u202e",
    '"a\\nb.yaml:1:1: forged"',
    '"\\e[2J"',
    "10.20.0.0",
    "xn--zz.org",
    "pypі.org",
    "PyPI",
    "hive_metastore",
    "eu-west1",
    "[" * 600 + "]" * 600,
    "- " * 300,
    "{a: " * 200 + "1" + "}" * 200,
    "1e400",
    "-1",
    "null",
    "~",
    "[]",
    "{}",
    "'",
    '"',
    ":",
    "- ",
    "#",
    "\ufeff",
    "\udcff",
]


def mutate(data: st.DataObject) -> bytes:
    text = BASE
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        piece = data.draw(st.sampled_from(FRAGMENTS) | st.text(max_size=8))
        cut = data.draw(st.integers(0, 3))
        text = text[:at] + piece + text[at + cut :]
    return text.encode("utf-8", "surrogatepass")


def assert_clean(exc: RulecError) -> None:
    assert exc.diagnostics
    for d in exc.diagnostics:
        line = str(d)
        assert "\n" not in line and "\x1b" not in line and "\r" not in line
        assert d.pos.file and line.startswith(f"{d.pos}: ")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_policies_never_end_in_a_traceback(tmp_path_factory, data):
    raw = mutate(data)
    path = tmp_path_factory.mktemp("fuzz") / "p.yaml"
    path.write_bytes(raw)
    try:
        pipeline.build(path)
    except RulecError as exc:
        assert_clean(exc)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["inbound", "outbound", "aws", "eu-west-1", "10.0.0.0/8", "1.2.3.4/8", "::/0"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["version", "groups", "x"]),
        st.just(1)
        | json_values
        | st.dictionaries(
            st.text(max_size=6),
            st.dictionaries(st.sampled_from(["next_sid", "sids", "retired"]), json_values, max_size=3),
            max_size=3,
        ),
    )
)
def test_hand_edited_locks_never_end_in_a_traceback(doc):
    raw = json.dumps(doc).replace("Infinity", "1e400").encode()
    try:
        parse_lock(raw, "p.lock.json")
    except RulecError as exc:
        assert_clean(exc)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "prefixes": st.lists(
                st.dictionaries(
                    st.sampled_from(["platform", "type", "region", "ipv4Prefixes", "ipv6Prefixes"]), json_values
                ),
                max_size=4,
            )
        },
        optional={"timestampSeconds": json_values},
    )
    | json_values
)
def test_malformed_ip_ranges_never_end_in_a_traceback(doc):
    try:
        parse_ip_ranges(json.dumps(doc).encode(), "p.json")
    except RulecError as exc:
        assert_clean(exc)
