import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rulec.load.domains import BadName, _is_ip, covers, matches, normalize

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
names = st.lists(label, min_size=2, max_size=5).map(".".join).filter(lambda n: not n.split(".")[-1].isdigit())


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("API.Example.org.", "api.example.org"),
        (".PyPI.org", ".pypi.org"),
        ("bücher.de", "xn--bcher-kva.de"),
        (".Bücher.de", ".xn--bcher-kva.de"),
    ],
)
def test_normalise(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw, hint",
    [
        ("*.example.com", "write '.example.com'"),
        ("*", "'*' is not supported"),
        ("https://files.example.com/x", "write 'files.example.com'"),
        ("example.com/path", "write 'example.com'"),
        ("example.com:443", "write 'example.com'"),
        ("10.0.0.1", "IP address"),
        ("[::1]", "IP address"),
        ('ex"ample.com', "would break the generated Suricata rule"),
        ("a;b.com", "would break"),
        ("a b.com", "whitespace"),
        (" a.com", "whitespace"),
        ("a..com", "empty label"),
        ("..com", "empty label"),
        ("", "empty name"),
        ("a" * 64 + ".com", "longer than 63"),
        (".".join(["abcdefghi"] * 26), "longer than 253"),
        ("under_score.com", "letters, digits and inner hyphens"),
        ("-lead.com", "inner hyphens"),
        ("x.*.com", "leading wildcard"),
        (42, "expected a domain name as a string"),
    ],
)
def test_rejected_with_a_hint(raw, hint):
    with pytest.raises(BadName, match=".*") as info:
        normalize(raw)
    assert hint in str(info.value)


@given(names, st.booleans())
def test_normalise_is_idempotent(name, wildcard):
    target = ("." if wildcard else "") + name
    assert normalize(normalize(target.upper())) == target


@given(names, label)
def test_wildcard_covers_apex_and_subdomains_but_not_lookalikes(name, sub):
    wildcard = "." + name
    assume(not f"{name}.{sub}".endswith(wildcard))
    assert covers(wildcard, name) and covers(wildcard, f"{sub}.{name}") and covers(wildcard, f".{sub}.{name}")
    assert matches(wildcard, name) and matches(wildcard, f"{sub}.{name}".upper())
    assert not matches(wildcard, f"{sub}{name}")  # evilpypi.org is not under .pypi.org
    assert not matches(wildcard, f"{name}.{sub}")  # pypi.org.attacker.io neither
    assert not matches(name, f"{sub}.{name}")


@given(st.lists(st.tuples(st.booleans(), names), max_size=6), names, st.lists(label, max_size=2))
def test_matcher_agrees_with_matches(raw_targets, host, prefix):
    from rulec.load.domains import Matcher

    targets = [("." if w else "") + n for w, n in raw_targets]
    host = ".".join([*prefix, host])
    found = Matcher(targets).match(host)
    assert (found is not None) == any(matches(t, host) for t in targets)
    if found is not None:
        assert matches(found, host)


@given(st.text(alphabet="0123456789abcdefx.:[]%-²", max_size=20) | st.ip_addresses().map(str))
def test_the_address_check_agrees_with_ipaddress(text):
    try:
        ipaddress.ip_address(text.strip("[]"))
        expected = True
    except ValueError:
        expected = False
    assert _is_ip(text) is expected
