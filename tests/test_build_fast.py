"""The build's fast paths give what the straightforward code gives: name checks, review SIDs, domain-list
matching and the storage check, on hand-picked edge cases and on random input (issue 12)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rulec import pipeline
from rulec.compile.ir import DomainListGroup
from rulec.emit import suricata
from rulec.emit.aws_classic import to_bytes
from rulec.errors import RulecError
from rulec.load.domains import BadName, Matcher, checked, matches, normalize, public_suffix_list
from rulec.review.lint import checks

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Characters that reach every branch of the name checks: case, digits, hyphens, dots, wildcards, ports, URLs,
# quotes, spaces, and non-ASCII letters that fold to ASCII under a careless case-insensitive match.
ALPHABET = "abcxnAZ019-.-..*:/ '\"\u212a\u017f\u00e9\u0430"
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
NAMES = st.builds(
    lambda dot, labels, tail, upper: (
        (("." if dot else "") + ".".join(labels) + ("." if tail else ""))
        if not upper
        else (("." if dot else "") + ".".join(labels)).upper()
    ),
    st.booleans(),
    st.lists(
        LABEL | st.sampled_from(["xn--bcher-kva", "xn--abc", "1", "255", "x" * 63, "x" * 64]), min_size=1, max_size=6
    ),
    st.booleans(),
    st.booleans(),
)


def both(raw):
    out = []
    for fn in (normalize, checked):
        try:
            out.append(("ok", fn(raw)))
        except BadName as exc:
            out.append(("bad", str(exc)))
    return out


@pytest.mark.parametrize(
    "raw",
    [
        "a.b",
        ".A.Example.org.",
        "1.2.3.4",
        "x.1",
        "a..b",
        ".",
        "..a",
        "a-.b",
        "-a.b",
        "xn--bcher-kva.de",
        "xn--abc.de",
        "a" * 64 + ".org",
        ".".join(["abcdefgh"] * 28) + ".org",
        "\u212aelvin.org",
        "host:443",
        "*.a.org",
        7,
        None,
    ],
)
def test_normalize_fast_path_agrees_on_edge_cases(raw):
    fast, plain = both(raw)
    assert fast == plain


@settings(max_examples=400, deadline=None)
@given(raw=NAMES | st.text(ALPHABET, min_size=0, max_size=30))
def test_normalize_fast_path_agrees_on_random_names(raw):
    fast, plain = both(raw)
    assert fast == plain


HOSTS = st.builds(
    lambda labels: ".".join(labels), st.lists(st.sampled_from(["a", "b", "c", "A", ""]), min_size=1, max_size=4)
)
TARGETS = st.builds(
    lambda dot, h: ("." if dot else "") + h,
    st.booleans(),
    st.builds(lambda labels: ".".join(labels), st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3)),
)


@settings(max_examples=300, deadline=None)
@given(targets=st.lists(TARGETS, unique=True, max_size=8), host=HOSTS, tail=st.booleans())
def test_matcher_finds_every_target_that_matches(targets, host, tail):
    host = host + ("." if tail else "")
    every = [t for t in targets if matches(t, host)]
    assert sorted(Matcher(targets).every(host)) == sorted(every)
    exact = [t for t in every if not t.startswith(".")]
    broadest = min((t for t in every if t.startswith(".")), key=len, default=None)  # the shortest suffix
    assert Matcher(targets).match(host) == (exact[0] if exact else broadest)


def straightforward_sids(group: DomainListGroup) -> dict:
    """review_sids as first written: every (type, target) in sorted order, a clash moves to the next free SID."""
    out = {}
    if group.generated == "ALLOWLIST":
        out.update({(t, None): suricata._DEFAULT_SID[t] for t in group.target_types if t in suricata._DEFAULT_SID})
    taken = set(out.values())
    for ttype, target in sorted((t, n) for t in group.target_types for n in group.targets):
        digest = hashlib.sha256(f"{ttype}|{target}".encode()).digest()
        sid = suricata.REVIEW_BASE + int.from_bytes(digest[:8], "big") % suricata.REVIEW_SPAN
        while sid in taken:
            sid = suricata.REVIEW_BASE + (sid - suricata.REVIEW_BASE + 1) % suricata.REVIEW_SPAN
        taken.add(sid)
        out[ttype, target] = sid
    return out


def group_of(targets, types=("TLS_SNI", "HTTP_HOST"), generated="ALLOWLIST"):
    return DomainListGroup("G", "d", 100, False, ("10.0.0.0/8",), tuple(types), tuple(targets), generated)


@settings(max_examples=60, deadline=None)
@given(
    targets=st.lists(st.from_regex(r"[a-z]{1,6}\.org", fullmatch=True), unique=True, min_size=1, max_size=40),
    span=st.sampled_from([83, 151, 2_000_000_000]),  # more SIDs than keys (at most 80 here)
    generated=st.sampled_from(["ALLOWLIST", "DENYLIST"]),
)
def test_review_sids_equal_the_sorted_assignment_with_and_without_clashes(targets, span, generated):
    # a small span forces clashes, so the settling path runs as well as the clash-free one
    saved = suricata.REVIEW_SPAN
    suricata.REVIEW_SPAN = span
    try:
        group = group_of(targets, generated=generated)
        assert suricata.review_sids.__wrapped__(group) == straightforward_sids(group)
    finally:
        suricata.REVIEW_SPAN = saved


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.sampled_from(
            [
                ".amazonaws.com",
                ".s3.amazonaws.com",
                "s3.amazonaws.com",
                ".s3.eu-west-1.amazonaws.com",
                ".com",
                ".core.windows.net",
                ".blob.core.windows.net",
                ".storage.googleapis.com",
                ".googleapis.com",
                ".cloudfront.net",
                "pypi.org",
                ".example.org",
                "s3.eu-west-1.amazonaws.com",
                ".windows.net",
                ".net",
            ]
        ),
        max_size=6,
    ),
    region=st.sampled_from(["eu-west-1", "us-east-1"]),
)
def test_storage_lookup_gives_the_first_probe_each_name_matches(names, region):
    table = checks._first_probe_hit(region)
    probes = [(svc, n.format(region=region)) for svc, ns in checks.STORAGE_PROBES.items() for n in ns]
    for name in names:
        assert table.get(name) == next(((svc, n) for svc, n in probes if matches(name, n)), None)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


def plain_json(doc) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()


@settings(max_examples=300, deadline=None)
@given(doc=JSON)
def test_canonical_json_is_the_standard_librarys_bytes(doc):
    assert to_bytes(doc) == plain_json(doc)


@pytest.mark.parametrize("example", sorted(p.parent.name for p in EXAMPLES.glob("*/policy.yaml")))
def test_every_written_request_is_the_standard_librarys_bytes(example):
    result = pipeline.build(EXAMPLES / example / "policy.yaml")
    written = [rel for rel in result.files if rel.endswith(".json")]
    assert written and set(result.schemas) <= set(written)
    pipeline.validate(result)  # and every request fits its API schema
    for rel in written:
        assert result.files[rel] == plain_json(json.loads(result.files[rel])), rel


def test_fast_public_suffix_list_holds_the_librarys_rules():
    from publicsuffixlist import PublicSuffixList

    fast, plain = public_suffix_list(), PublicSuffixList()
    assert fast._publicsuffix == plain._publicsuffix and fast._maxlabel == plain._maxlabel


PSL_NAMES = [
    "com",
    "co.uk",
    "uk",
    "s3.amazonaws.com",
    "amazonaws.com",
    "xn--55qx5d.cn",
    "cn",
    "www.ck",
    "a.b.ck",
    "ck",
    "example.org",
    "zz",
    "a.zz",
    "github.io",
    "x.github.io",
    "blogspot.com",
    "city.kawasaki.jp",
    "a.kawasaki.jp",
    "xn--90a3ac",
    "a.xn--90a3ac",
    "b.a.xn--90a3ac",
    "compute.amazonaws.com",
    "x.eu-west-1.compute.amazonaws.com",
]


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.sampled_from(PSL_NAMES), min_size=1, max_size=5))
def test_public_suffix_list_of_some_tlds_answers_as_the_whole_list(names):
    from publicsuffixlist import PublicSuffixList

    plain = PublicSuffixList()
    some = public_suffix_list(frozenset(n.rpartition(".")[2] for n in names))
    for name in names:
        assert some.is_public(name) == plain.is_public(name), name
        assert some.publicsuffix(name) == plain.publicsuffix(name), name
        assert some.privatesuffix(name) == plain.privatesuffix(name), name


RAW = ["yes", "on", "0x1f", "1_000", "~", "!!str 12", "!!int 12", "'quoted'", '"a\\tb"', "2026-11-28", "1.5", ".inf"]
SCALARS = st.lists(
    st.builds(lambda v: ("raw", v), st.sampled_from(RAW))
    | st.builds(lambda v: ("dump", v), st.text(max_size=12) | st.integers() | st.booleans() | st.none() | st.dates()),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(values=SCALARS)
def test_positioned_yaml_reads_scalars_as_pyyaml_does(values):
    import yaml

    from rulec.load.source import parse_yaml

    def text_of(how, v):  # literals as written, or PyYAML's own flow form of a value
        return v if how == "raw" else yaml.safe_dump([v], default_flow_style=True).strip()[1:-1]

    text = "items:\n" + "".join(f"  - {text_of(how, v)}\n" for how, v in values)
    assert parse_yaml(text.encode(), "t.yaml").data == yaml.safe_load(text)


def test_check_validates_what_build_wrote(tmp_path):
    """build skips the schema check; check (and so push) refuses a request that fails it."""
    result = pipeline.build(EXAMPLES / "reference" / "policy.yaml")
    rel = next(rel for rel, name in result.schemas.items() if name == "create-rule-group")
    doc = json.loads(result.files[rel])
    doc["Capacity"] = 50_001
    result.files[rel] = to_bytes(doc)
    with pytest.raises(RulecError, match="fails the CreateRuleGroup schema at Capacity"):
        pipeline.check(result, tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "create-rule-group",
        "create-firewall-policy",
        "dns-firewall",
        "create-rule-group-firewall",
        "create-firewall-policy-v2",
        "fms-put-policy",
    ],
)
def test_schemas_with_references_inlined_give_the_same_errors(name):
    import jsonschema

    from rulec.emit.aws_classic import inline_refs
    from rulec.resources import load_schema

    schema = load_schema(name)
    plain, fast = (jsonschema.Draft202012Validator(s) for s in (schema, inline_refs(schema, schema.get("$defs", {}))))
    docs = []
    for example in sorted(EXAMPLES.glob("*/out/*/*.json")):
        doc = json.loads(example.read_text())
        docs += [doc, _mutated(doc)]
    assert docs
    for doc in docs:
        errs = [sorted((list(e.absolute_path), e.message) for e in v.iter_errors(doc)) for v in (plain, fast)]
        assert errs[0] == errs[1]


def _mutated(doc):
    """The document with every string made invalid-looking and every number out of range, recursively."""
    if isinstance(doc, dict):
        return {k: _mutated(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_mutated(v) for v in doc] + ["x y"]
    if isinstance(doc, bool):
        return "true"
    if isinstance(doc, int):
        return -doc - 1
    return "bad name!" if isinstance(doc, str) else doc
