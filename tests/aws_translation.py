"""An independent translation of CreateRuleGroup requests into Suricata rules, written from AWS's documentation
(../shared/reference/nfw-facts.md: "The Suricata rules AWS generates from a domain list", StatefulRules, rule
variables) and nothing of rulec's emitter. Tests run it on the same packets as `rulec verify` and compare.

Group variables are scoped to their group, as in Network Firewall: each group's HOME_NET and EXTERNAL_NET are
written into its own rules as address lists. EXTERNAL_NET is the group's own when it defines one, otherwise
the negation of `policy_home_net`."""

from __future__ import annotations

from typing import Any

TAIL = "priority:1; flow:to_server, established;"


def _addresses(cidrs: list[str]) -> str:
    return "[" + ",".join(cidrs) + "]"


def _variables(group: dict[str, Any], policy_home_net: list[str]) -> dict[str, str]:
    sets = group.get("RuleVariables", {}).get("IPSets", {})
    home = sets.get("HOME_NET", {}).get("Definition", policy_home_net)
    external = sets.get("EXTERNAL_NET", {}).get("Definition")
    return {
        "$HOME_NET": _addresses(home),
        "$EXTERNAL_NET": _addresses(external) if external else "!" + _addresses(policy_home_net),
    }


def domain_list(source: dict[str, Any], v: dict[str, str], sid: int) -> list[str]:
    """AWS's documented rules for a RulesSourceList (TLS_SNI and HTTP_HOST; ALLOWLIST or DENYLIST)."""
    action = {"ALLOWLIST": "pass", "DENYLIST": "drop", "REJECTLIST": "reject", "ALERTLIST": "alert"}[
        source["GeneratedRulesType"]
    ]
    head = f"{v['$HOME_NET']} any -> {v['$EXTERNAL_NET']} any"
    rules = []
    for ttype in source["TargetTypes"]:
        if ttype == "TLS_SNI":
            proto, buf, case, label = "tls", "ssl_state:client_hello; tls.sni;", " nocase;", "TLS"
        elif ttype == "HTTP_HOST":
            proto, buf, case, label = "http", "http.host;", "", "HTTP"
        else:
            raise ValueError(f"open-source Suricata cannot run {ttype}")
        for target in source["Targets"]:
            if target.startswith("."):
                match = f'dotprefix; content:"{target}";{case} endswith;'
            else:
                match = f'content:"{target}"; startswith;{case} endswith;'
            sid += 1
            rules.append(f'{action} {proto} {head} ({buf} {match} msg:"m"; {TAIL} sid:{sid}; rev:1;)')
    if source["GeneratedRulesType"] == "ALLOWLIST":
        for ttype in source["TargetTypes"]:
            sid += 1
            if ttype == "TLS_SNI":
                rules.append(
                    f'drop tls {head} (msg:"d"; priority:1; ssl_state:client_hello; flow:to_server, established; '
                    f"sid:{sid};)"
                )
            else:
                rules.append(
                    f'drop http {head} (http.header_names; content:"|0d 0a|"; startswith; msg:"d"; {TAIL} sid:{sid};)'
                )
    return rules


def stateful(rules: list[dict[str, Any]], v: dict[str, str], sid: int) -> list[str]:
    """`action proto src sport ->|<> dst dport (options; sid;)`, variables replaced by the group's values."""
    out = []
    for r in rules:
        h = r["Header"]
        arrow = "<>" if h["Direction"] == "ANY" else "->"
        src, dst = (v.get(h[k], h[k]) for k in ("Source", "Destination"))
        options = []
        for o in r["RuleOptions"]:
            if o["Keyword"].startswith("sid"):
                continue
            options.append(o["Keyword"] + (":" + ",".join(o["Settings"]) if o.get("Settings") else ""))
        sid += 1
        body = "".join(f"{o}; " for o in options)
        out.append(
            f"{r['Action'].lower()} {h['Protocol'].lower()} {src} {h['SourcePort']} {arrow} {dst} "
            f"{h['DestinationPort']} ({body}sid:{sid};)"
        )
    return out


def translate(requests: list[dict[str, Any]], policy_home_net: list[str]) -> str:
    """Every group of a region, as one Suricata rules file (SIDs renumbered per group)."""
    lines = []
    for i, req in enumerate(requests, start=1):
        group = req["RuleGroup"]
        v = _variables(group, policy_home_net)
        source = group["RulesSource"]
        if "RulesSourceList" in source:
            lines += domain_list(source["RulesSourceList"], v, i * 1_000_000)
        else:
            lines += stateful(source["StatefulRules"], v, i * 1_000_000)
    return "".join(line + "\n" for line in lines)
