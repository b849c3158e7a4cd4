"""Emit stage: IR -> the Suricata rules Network Firewall generates from each group (for review and
for `rulec verify`). Domain lists translate exactly as AWS documents; StatefulRules become headers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from rulec.compile.ir import RESOLVED_DOMAIN, DomainListGroup, Group, StatefulRule

_PROTO = {"TLS_SNI": ("tls", "TLS", "ssl_state:client_hello; tls.sni;"), "HTTP_HOST": ("http", "HTTP", "http.host;")}
_ACTION = {"ALLOWLIST": "pass", "DENYLIST": "drop", "REJECTLIST": "reject", "ALERTLIST": "alert"}
_WORD = {"ALLOWLIST": "allowlisted", "DENYLIST": "denylisted", "REJECTLIST": "rejectlisted", "ALERTLIST": "alertlisted"}
_TAIL = "priority:1; flow:to_server, established;"
_DEFAULT_SID = {"TLS_SNI": 1, "HTTP_HOST": 2}  # review SIDs of the default drops
REVIEW_BASE, REVIEW_SPAN = 1_000_000, 2_000_000_000  # review SIDs of target rules: [1e6, 2.001e9)


@lru_cache(maxsize=8)  # a pure function of a frozen group, asked for by rules_text, explain, lint and verify
def review_sids(group: DomainListGroup) -> Mapping[tuple[str, str | None], int]:
    """SIDs for reviewing a domain list's rules in `.rules`. Network Firewall numbers the rules it generates
    itself, so these are rulec's: each comes from a hash of (target type, target), so adding or removing a
    name moves no other rule's SID; the rare clash of two hashes is settled in sorted order, so none collide.
    Keys: (type, target) for a target's rule, (type, None) for a type's default drop."""
    out: dict[tuple[str, str | None], int] = {}
    if group.generated == "ALLOWLIST":
        out.update({(t, None): _DEFAULT_SID[t] for t in group.target_types if t in _DEFAULT_SID})
    sha256, from_bytes = hashlib.sha256, int.from_bytes
    first = {
        (t, n): REVIEW_BASE + from_bytes(sha256(f"{t}|{n}".encode()).digest()[:8], "big") % REVIEW_SPAN
        for t in group.target_types
        for n in group.targets
    }
    if len(set(first.values())) == len(first):  # no clash (defaults lie below REVIEW_BASE): nothing to settle
        out.update(first)
        return MappingProxyType(out)
    taken = set(out.values())
    for key in sorted(first):
        sid = first[key]
        while sid in taken:
            sid = REVIEW_BASE + (sid - REVIEW_BASE + 1) % REVIEW_SPAN
        taken.add(sid)
        out[key] = sid
    return MappingProxyType(out)  # cached and shared: read-only


def domain_sid(group: DomainListGroup, ttype: str, target: str | None = None) -> int:
    """Review SID of a target's rule for `ttype`, or with target None of that type's default drop."""
    return review_sids(group)[ttype, target]


def domain_rules(group: DomainListGroup) -> list[tuple[int, str]]:
    """(review SID, rule) in the order AWS documents: every target per protocol type, then the default drops.

    With AWS_ROUTE_53_RESOLVED_DOMAIN in an ALLOWLIST next to a protocol type, AWS requires both conditions:
    the protocol rule also carries `aws_route_53_resolved_domain`. On its own (or in other list types) the
    resolved domain is a rule of its own, on any IP protocol, with no default drop. rulec writes these rules
    from AWS's description of the target type (the generated text itself is not published)."""
    sids = review_sids(group)
    resolved = RESOLVED_DOMAIN in group.target_types
    protocols = [t for t in group.target_types if t in _PROTO]
    anded = resolved and bool(protocols) and group.generated == "ALLOWLIST"
    rules = []
    action = _ACTION[group.generated]
    for ttype in protocols:
        proto, label, buffer = _PROTO[ttype]
        nocase = " nocase;" if ttype == "TLS_SNI" else ""
        head = f"{action} {proto} $HOME_NET any -> $EXTERNAL_NET any ({buffer} "
        tail = f' msg:"matching {label} {_WORD[group.generated]} FQDNs"; {_TAIL} sid:'
        for target in group.targets:  # one rule per name: built from the parts above, 50,000 at the limit
            if target[0] == ".":
                match = f'dotprefix; content:"{target}";{nocase} endswith;'
            else:
                match = f'content:"{target}"; startswith;{nocase} endswith;'
            if anded:
                match += f' aws_route_53_resolved_domain:"{target}";'
            sid = sids[ttype, target]
            rules.append((sid, f"{head}{match}{tail}{sid}; rev:1;)"))
    if resolved and not anded:
        for target in group.targets:
            sid = sids[RESOLVED_DOMAIN, target]
            rules.append(
                (
                    sid,
                    f'{action} ip $HOME_NET any -> $EXTERNAL_NET any (aws_route_53_resolved_domain:"{target}"; '
                    f'msg:"matching resolved-domain {_WORD[group.generated]} FQDNs"; flow:to_server; sid:{sid}; rev:1;)',
                )
            )
    if group.generated == "ALLOWLIST":
        for ttype in protocols:
            proto, label, _ = _PROTO[ttype]
            msg = f'msg:"not matching any {label} allowlisted FQDNs";'
            if ttype == "TLS_SNI":
                body = f"{msg} priority:1; ssl_state:client_hello; flow:to_server, established;"
            else:
                body = f'http.header_names; content:"|0d 0a|"; startswith; {msg} {_TAIL}'
            sid = sids[ttype, None]
            rules.append((sid, f"drop {proto} $HOME_NET any -> $EXTERNAL_NET any ({body} sid:{sid}; rev:1;)"))
    return rules


def stateful_rule(rule: StatefulRule, sid: int | None = None) -> str:
    arrow = "<>" if rule.direction == "ANY" else "->"
    options = "".join(f"{k}; " if v is None else f"{k}:{v}; " for k, v in rule.options)
    return (
        f"{rule.action.lower()} {rule.protocol.lower()} {rule.source} {rule.source_port} {arrow} "
        f"{rule.destination} {rule.destination_port} ({options}sid:{rule.sid if sid is None else sid};)"
    )


def group_rules(group: Group) -> list[str]:
    if isinstance(group, DomainListGroup):
        return [rule for _, rule in domain_rules(group)]
    return [stateful_rule(r) for r in group.rules]


def rules_text(group: Group) -> str:
    external = (
        "the group's own, every address outside HOME_NET"
        if group.external_net is not None
        else "the firewall policy's (the negation of the policy's HOME_NET)"
    )
    header = (
        f"# {group.name}: the Suricata rules AWS Network Firewall generates from this group\n"
        f"# HOME_NET = [{', '.join(group.home_net)}]; EXTERNAL_NET = {external}\n"
    )
    if isinstance(group, DomainListGroup):
        header += (
            "# Network Firewall numbers the rules it generates from a domain list itself; the SIDs below are\n"
            "# rulec's review SIDs (a hash of type and name: stable across edits, never shared)\n"
        )
        if RESOLVED_DOMAIN in group.target_types:
            header += (
                "# AWS_ROUTE_53_RESOLVED_DOMAIN is written as the aws_route_53_resolved_domain keyword, as AWS describes\n"
                "# the target type; AWS does not publish the text it generates for it\n"
            )
    return header + "".join(line + "\n" for line in group_rules(group))
