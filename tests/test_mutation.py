"""Mutation test: the built-in probes catch every mutant of the emitted Suricata rules that a stated set of
operators makes, per rule kind, on Suricata 8 (Network Firewall's engine) and on 7.

A mutant is one rule line changed by one operator, applied through verify's rules hook
(`engine.Options.transform`) to the text `engine.ruleset()` produces: the emitter is not touched. It is
killed when `rulec verify` notices: some probe fails, or a path reported as not covered ("open") is dropped
(the report would change). Mutants that no traffic can tell apart from the original are listed in EQUIVALENT
with the reason; the test checks that each of them really survives, so the list cannot go stale.

To cover a new kind of rule (strict egress, services), add one line to KINDS; a new operator is one line in
OPERATORS.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from rulec.errors import RulecError
from rulec.pipeline import plan
from rulec.verify import engine, verify_region

# kind -> a regex that recognises a rule of that kind in the emitted text
KINDS = {
    "TLS exact": r"^pass tls .* startswith;",
    "TLS wildcard": r"^pass tls .* dotprefix;",
    "HTTP exact": r"^pass http .* startswith;",
    "HTTP wildcard": r"^pass http .* dotprefix;",
    "default drop": r'^drop (tls|http) .*msg:"not matching any',
    "denied protocol": r"^(drop|reject) \w+ \S+ \S+ <> \S+ \S+ \(sid:\d+;\)$",
    "strict drop": r"^drop (tcp|udp|ip|http) \$HOME_NET \S+ -> \$EXTERNAL_NET \S+ \(.*sid:\d+;\)$",
    "service": r"^pass (tcp|udp) \$HOME_NET \S+ -> [0-9.]+/\d+ \d+ ",
}

# operator -> (part of the rule it edits, regex, replacement, kinds it applies to or None for all)
OPERATORS = {
    "drop nocase": ("options", r" nocase;", "", None),
    "drop dotprefix": ("options", r" dotprefix;", "", None),
    "drop startswith": ("options", r" startswith;", "", None),
    "drop endswith": ("options", r" endswith;", "", None),
    "widen HOME_NET to any": ("header", r"\$HOME_NET", "any", None),
    "flip flow to_server -> to_client": ("options", r"to_server", "to_client", None),
    "drop flow direction": ("options", r"to_server, ", "", None),
    "remove the rule": ("line", r"^.*$", "", {"default drop", "denied protocol", "strict drop", "service"}),
}

_WIDE = (
    "a pass rule only overrides drops, and every drop rulec emits is itself limited to $HOME_NET sources, so "
    "a client outside HOME_NET passes with or without the pass rule"
)
# (kind, operator) -> {suricata major: why no traffic tells the mutant from the original}
EQUIVALENT = {
    ("TLS exact", "widen HOME_NET to any"): {"7": _WIDE, "8": _WIDE},
    ("service", "widen HOME_NET to any"): {"8": _WIDE},
    ("TLS wildcard", "widen HOME_NET to any"): {"7": _WIDE, "8": _WIDE},
    ("HTTP exact", "widen HOME_NET to any"): {"7": _WIDE, "8": _WIDE},
    ("HTTP wildcard", "widen HOME_NET to any"): {"7": _WIDE, "8": _WIDE},
    **{
        (kind, "drop flow direction"): {
            v: "ssl_state:client_hello, tls.sni, http.host and http.header_names only ever match the client's side, "
            "so Suricata applies the rule to_server without the keyword"
            for v in ("7", "8")
        }
        for kind in ("TLS exact", "TLS wildcard", "HTTP exact", "HTTP wildcard", "default drop")
    },
    ("default drop", "drop startswith"): {
        v: "http.header_names always starts with CRLF (the request line's end), so |0d 0a| is found at the start "
        "either way"
        for v in ("7", "8")
    },
}
_BUFFER = "Suricata refuses to load it: tls.sni / http.host are client-side buffers ('conflicting directions')"
# (kind, operator) -> why the mutant never runs: verify stops with exit 2, as AWS would refuse the rule
STILLBORN = {
    ("TLS exact", "flip flow to_server -> to_client"): _BUFFER,
    ("TLS wildcard", "flip flow to_server -> to_client"): _BUFFER,
    ("HTTP exact", "flip flow to_server -> to_client"): _BUFFER,
    ("HTTP wildcard", "flip flow to_server -> to_client"): _BUFFER,
    # the strict rule that drops HTTP without a Host reads http.host too (the other strict drops are killed)
    ("strict drop", "flip flow to_server -> to_client"): _BUFFER,
}
# mutants that survive because derive() has no probe for them yet (not equivalent: a probe would kill them)
# mutants that survive because derive() has no probe for them yet (not equivalent: a probe would kill them)
NEEDS_A_PROBE: dict[tuple[str, str], str] = {}

POLICY = """
version: 1
deny_protocols: [SSH, FTP, ICMP]
regions:
  eu-west-1:
    home_net: [10.0.0.0/16, 10.9.0.0/16]
    allow: [api.example.org, .example.com]
"""


def kind_of(line: str) -> str | None:
    return next((k for k, pattern in KINDS.items() if re.search(pattern, line)), None)


def mutate(line: str, operator: str) -> str | None:
    part, pattern, replacement, kinds = OPERATORS[operator]
    if kinds is not None and kind_of(line) not in kinds:
        return None
    if part == "line":
        return replacement
    head, _, options = line.partition("(")
    text = head if part == "header" else options
    changed = re.sub(pattern, replacement, text, count=1)
    if changed == text:
        return None
    return changed + "(" + options if part == "header" else head + "(" + changed


def mutants(rules: str) -> list[tuple[str, str, str, str]]:
    """(kind, operator, original line, mutated rules text) for every line and operator that applies."""
    lines = rules.splitlines()
    out = []
    for i, line in enumerate(lines):
        kind = kind_of(line)
        assert kind, f"a rule of no known kind: {line}"
        for operator in OPERATORS:
            changed = mutate(line, operator)
            if changed is not None:
                text = "".join(x + "\n" for x in [*lines[:i], changed, *lines[i + 1 :]] if x)
                out.append((kind, operator, line, text))
    return out


def outcome(region, text: str) -> str:
    """'killed', 'survived', or 'stillborn' (Suricata refuses the mutated rules)."""
    try:
        report = verify_region(region, [], options=engine.Options(transform=lambda _: text))
    except RulecError as exc:
        assert "Suricata failed" in str(exc)
        return "stillborn"
    dead = bool(report.failures) or any(v.probe.expect == "open" and v.dropped for v in report.verdicts)
    return "killed" if dead else "survived"


STRICT_POLICY = """
version: 1
egress: strict
services:
  - {host: db.example.net, port: 3306, ips: [203.0.113.10/32]}
  - {host: ntp.example.net, port: 123, protocol: UDP, ips: [203.0.113.123/32]}
regions:
  eu-west-1:
    home_net: [10.0.0.0/16, 10.9.0.0/16]
    allow: [api.example.org, .example.com]
"""


def test_the_built_in_probes_kill_every_mutant(write_policy, suricata):
    check_mutants(write_policy(POLICY), suricata, kinds=set(KINDS) - {"strict drop", "service"})


def test_the_built_in_probes_kill_every_mutant_of_strict_egress(write_policy, monkeypatch):
    """Strict egress and services, on Suricata 8: two of its rules use keywords Suricata 7 cannot load."""
    from tests.conftest import SURICATAS

    monkeypatch.setenv("RULEC_SURICATA", SURICATAS["8"])
    check_mutants(write_policy(STRICT_POLICY), "8", kinds=set(KINDS) - {"denied protocol"})


def check_mutants(path, suricata: str, kinds: set[str]) -> None:
    _, (region,), _, _ = plan(path)
    rules = engine.ruleset(region.groups)[0]
    assert outcome(region, rules) == "survived"  # the original passes verify
    cases = mutants(rules)
    assert {k for k, *_ in cases} == kinds  # every kind is exercised
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: outcome(region, c[3]), cases))
    found = {(kind, op, line): result for (kind, op, line, _), result in zip(cases, results, strict=True)}
    stillborn = sorted({(k, op) for (k, op, _), r in found.items() if r == "stillborn"})
    assert stillborn == sorted(s for s in STILLBORN if s[0] in kinds)
    survivors = {s for s, r in found.items() if r == "survived"}
    unexpected = sorted(
        s for s in survivors if suricata not in EQUIVALENT.get(s[:2], {}) and s[:2] not in NEEDS_A_PROBE
    )
    assert unexpected == [], "mutants no built-in probe catches:\n" + "\n".join(map(str, unexpected))
    stale = sorted(
        {
            (kind, op)
            for kind, op, *_ in cases
            if (suricata in EQUIVALENT.get((kind, op), {}) or (kind, op) in NEEDS_A_PROBE)
            and not any(s[:2] == (kind, op) for s in survivors)
        }
    )
    assert stale == [], f"listed as surviving but killed on Suricata {suricata}: {stale}"
    assert sum(r == "killed" for r in found.values()) >= len(found) // 2


@pytest.mark.parametrize(
    ("line", "operator", "expected"),
    [
        (
            'pass tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; content:"$HOME_NET"; flow:to_server; sid:1;)',
            "widen HOME_NET to any",
            'pass tls any any -> $EXTERNAL_NET any (tls.sni; content:"$HOME_NET"; flow:to_server; sid:1;)',
        ),
        ("drop ssh $HOME_NET any <> $EXTERNAL_NET any (sid:3;)", "remove the rule", ""),
        ("drop ssh $HOME_NET any <> $EXTERNAL_NET any (sid:3;)", "drop nocase", None),
        (
            'pass tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; dotprefix; content:".a.org"; nocase; endswith; sid:1;)',
            "drop dotprefix",
            'pass tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; content:".a.org"; nocase; endswith; sid:1;)',
        ),
    ],
)
def test_operators_edit_one_place(line, operator, expected):
    assert mutate(line, operator) == expected
