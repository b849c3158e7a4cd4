"""The engine model's and the next-gen checks' look-ups give what the straightforward scans give (issue 12):
a domain list's matching rules by suffix look-up instead of a match per target, RC030 from a set of accepted hooks
instead of a scan of every rule per rule."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rulec.compile.ir import RESOLVED_DOMAIN, DomainListGroup
from rulec.emit.suricata import review_sids
from rulec.load.domains import matches
from rulec.review.lint import nextgen
from rulec.verify import model as m

ACTION = {"ALLOWLIST": "PASS", "DENYLIST": "DROP", "REJECTLIST": "REJECT", "ALERTLIST": "ALERT"}


def straightforward(group, flow, ctx):
    """domain_matches as first written: every target matched against the name in turn."""
    if not m._scope(group, flow, ctx):
        return []
    sids, out, action = review_sids(group), [], ACTION[group.generated]
    types = group.target_types
    anded = RESOLVED_DOMAIN in types and any(t != RESOLVED_DOMAIN for t in types) and action == "PASS"
    for ttype, app in (("TLS_SNI", "tls"), ("HTTP_HOST", "http")):
        if ttype not in types or flow.app != app:
            continue
        name = m._name(flow.host, ctx.suricata, app == "http")
        for target in group.targets:
            exact_case = app != "http" or name == (name or "").lower()
            if name and exact_case and matches(target, name) and (not anded or flow.dst in ctx.resolved_for(target)):
                out.append((frozenset({m.COMPLETE}), action, sids[ttype, target], f"{ttype} {target}"))
        if group.generated == "ALLOWLIST" and (app == "tls" or flow.host is not None):
            out.append(
                (
                    frozenset({m.COMPLETE}),
                    "DROP",
                    sids[ttype, None],
                    f"not matching any {app.upper()} allowlisted FQDNs",
                )
            )
    if RESOLVED_DOMAIN in types and not anded:
        for target in group.targets:
            if flow.dst in ctx.resolved_for(target):
                out.append((m.CLIENT, action, sids[RESOLVED_DOMAIN, target], f"resolved domain {target}"))
    return out


LABEL = st.sampled_from(["a", "b", "c"])
TARGET = st.builds(
    lambda dot, ls: ("." if dot else "") + ".".join(ls), st.booleans(), st.lists(LABEL, min_size=1, max_size=3)
)
HOST = st.none() | st.builds(
    lambda ls, tail: ".".join(ls) + tail,
    st.lists(st.sampled_from(["a", "b", "c", "A", ""]), min_size=1, max_size=4),
    st.sampled_from(["", ".", ":80"]),
)


@settings(max_examples=400, deadline=None)
@given(
    targets=st.lists(TARGET, min_size=1, max_size=6, unique=True),
    types=st.sampled_from([("TLS_SNI",), ("HTTP_HOST",), ("TLS_SNI", "HTTP_HOST"), ("TLS_SNI", RESOLVED_DOMAIN)]),
    generated=st.sampled_from(["ALLOWLIST", "DENYLIST"]),
    app=st.sampled_from(["tls", "http"]),
    host=HOST,
    resolved=st.lists(st.booleans(), min_size=6, max_size=6),
    suricata=st.sampled_from([7, 8]),
)
def test_domain_matches_equals_matching_every_target(targets, types, generated, app, host, resolved, suricata):
    group = DomainListGroup("G", "d", 100, False, ("10.0.0.0/8",), types, tuple(targets), generated)
    flow = m.Flow("tcp", app, "1.2.3.4", 443, "10.0.0.5", host)
    answers = {t.lstrip("."): {"1.2.3.4"} for t, r in zip(targets, resolved) if r}
    ctx = m.Context(("10.0.0.0/8",), lambda a: True, answers, suricata=suricata)
    assert m.domain_matches(group, flow, ctx) == straightforward(group, flow, ctx)


HOOKS = [
    "TLS_CLIENT_STARTED",
    "SSH_REQUEST_IN_PROGRESS",
    "SSH_REQUEST_BANNER_WAIT_EOL",
    "DNS_REQUEST_STARTED",
    "TLS_CLIENT_HELLO",
    "TLS_CLIENT_HELLO_DONE",
    "HTTP_REQUEST_STARTED",
    "HTTP_REQUEST_HEADERS",
    "HTTP_REQUEST_COMPLETE",
    "TCP_ALL",
    "SSH_REQUEST_BANNER_DONE",
    "SSH_REQUEST_FINISHED",
    "DNS_REQUEST_COMPLETE",
]
RULE = st.builds(
    lambda hook, action, prior, sid: SimpleNamespace(hook=hook, action=action, accept_prior=prior, sid=sid),
    st.sampled_from(HOOKS),
    st.sampled_from(["ACCEPT", "DROP"]),
    st.booleans(),
    st.integers(1, 10**6),
)


@settings(max_examples=300, deadline=None)
@example(rules=[SimpleNamespace(hook="TLS_CLIENT_HELLO", action="DROP", accept_prior=False, sid=1)])  # a finding
@example(
    rules=[  # none: the earlier hook is accepted through AcceptPriorHooks
        SimpleNamespace(hook="TLS_CLIENT_HELLO", action="DROP", accept_prior=False, sid=1),
        SimpleNamespace(hook="TLS_CLIENT_HELLO", action="ACCEPT", accept_prior=True, sid=2),
    ]
)
@given(rules=st.lists(RULE, max_size=8))
def test_prior_hooks_check_equals_scanning_every_rule(rules):
    group = SimpleNamespace(name="G", rules=rules)
    plan = SimpleNamespace(region="eu-west-1", nextgen=SimpleNamespace(groups=[group]))
    ctx = SimpleNamespace(plans=[plan], policy=SimpleNamespace(doc=SimpleNamespace(at=lambda *a: "p:1:1")))
    found = [f.message for f in nextgen.PriorHooksNotAccepted().run(ctx)]
    expected = []
    for rule in rules:
        if rule.accept_prior and rule.action == "ACCEPT":
            continue
        missing = [
            h
            for h in nextgen.prior_hooks(rule.hook)
            if not any(
                (r.hook == h and r.action == "ACCEPT")
                or (r.accept_prior and r.action == "ACCEPT" and h in nextgen.prior_hooks(r.hook))
                for r in rules
            )
        ]
        if missing:
            expected.append(f"G sid {rule.sid} ({rule.hook}) in eu-west-1: earlier hooks {', '.join(missing)}")
    assert [f.split(" are not accepted")[0] for f in found] == expected
