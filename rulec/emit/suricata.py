"""Emit stage: IR -> the Suricata rules Network Firewall generates from each group (for review and
for `rulec verify`). Domain lists translate exactly as AWS documents; StatefulRules become headers."""

from __future__ import annotations

from rulec.compile.ir import DomainListGroup, Group, StatefulRule

_PROTO = {"TLS_SNI": ("tls", "TLS", "ssl_state:client_hello; tls.sni;"), "HTTP_HOST": ("http", "HTTP", "http.host;")}
_ACTION = {"ALLOWLIST": "pass", "DENYLIST": "drop", "REJECTLIST": "reject", "ALERTLIST": "alert"}
_WORD = {"ALLOWLIST": "allowlisted", "DENYLIST": "denylisted", "REJECTLIST": "rejectlisted", "ALERTLIST": "alertlisted"}
_TAIL = "priority:1; flow:to_server, established;"


def domain_sid(group: DomainListGroup, ttype: str, target: str | None = None) -> int:
    """SID (from 1) of a target's rule for `ttype`, or with target None of that type's default drop.

    Layout: every target for the first type, then for the next, then one default drop per type."""
    if target is None:
        return len(group.targets) * len(group.target_types) + group.target_types.index(ttype) + 1
    return group.target_types.index(ttype) * len(group.targets) + group.targets.index(target) + 1


def domain_rules(group: DomainListGroup, first_sid: int = 1) -> list[str]:
    """The rules in SID order (see `domain_sid`); SIDs start at `first_sid`."""
    rules = []
    sid = first_sid
    action = _ACTION[group.generated]
    for ttype in group.target_types:
        proto, label, buffer = _PROTO[ttype]
        nocase = " nocase;" if ttype == "TLS_SNI" else ""
        msg = f'msg:"matching {label} {_WORD[group.generated]} FQDNs";'
        for target in group.targets:
            if target.startswith("."):
                match = f'dotprefix; content:"{target}";{nocase} endswith;'
            else:
                match = f'content:"{target}"; startswith;{nocase} endswith;'
            rules.append(
                f"{action} {proto} $HOME_NET any -> $EXTERNAL_NET any ({buffer} {match} {msg} "
                f"{_TAIL} sid:{sid}; rev:1;)"
            )
            sid += 1
    if group.generated == "ALLOWLIST":
        for ttype in group.target_types:
            proto, label, _ = _PROTO[ttype]
            msg = f'msg:"not matching any {label} allowlisted FQDNs";'
            if ttype == "TLS_SNI":
                body = f"{msg} priority:1; ssl_state:client_hello; flow:to_server, established;"
            else:
                body = f'http.header_names; content:"|0d 0a|"; startswith; {msg} {_TAIL}'
            rules.append(f"drop {proto} $HOME_NET any -> $EXTERNAL_NET any ({body} sid:{sid}; rev:1;)")
            sid += 1
    return rules


def stateful_rule(rule: StatefulRule, sid: int | None = None) -> str:
    arrow = "<>" if rule.direction == "ANY" else "->"
    return (
        f"{rule.action.lower()} {rule.protocol.lower()} {rule.source} {rule.source_port} {arrow} "
        f"{rule.destination} {rule.destination_port} (sid:{rule.sid if sid is None else sid};)"
    )


def group_rules(group: Group) -> list[str]:
    if isinstance(group, DomainListGroup):
        return domain_rules(group)
    return [stateful_rule(r) for r in group.rules]


def rules_text(group: Group) -> str:
    header = (
        f"# {group.name}: the Suricata rules AWS Network Firewall generates from this group\n"
        f"# HOME_NET = [{', '.join(group.home_net)}]; EXTERNAL_NET = !$HOME_NET\n"
    )
    return header + "".join(line + "\n" for line in group_rules(group))
