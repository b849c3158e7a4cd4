"""The DNS layer's model: what Route 53 Resolver DNS Firewall answers for a name, read from the emitted
document itself (emit/dns_firewall.py), the way the service evaluates it:

- rules by priority, lowest first; the first rule whose domain list matches the query name decides;
- no match: the query resolves as normal (hence the document's final `*` rule);
- ALLOW and ALERT resolve (ALERT also logs); BLOCK answers its BlockResponse (NXDOMAIN or NODATA);
- `example.com` matches that name only, `*.example.com` its subdomains (not the apex: rulec lists both for a
  wildcard), `*` every name; names compare in lower case without a trailing dot.
`explain` and `verify` show this verdict next to Network Firewall's TLS/HTTP verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rulec.compile.dns import DnsFirewall
from rulec.emit import dns_firewall as emit_dns


@dataclass(frozen=True)
class DnsDecision:
    verdict: str  # resolves | alert | NXDOMAIN | NODATA
    rule: str | None  # the deciding rule's name, None when no rule matched
    domain: str | None  # the domain-list entry that matched
    why: str

    @property
    def resolves(self) -> bool:
        return self.verdict in ("resolves", "alert")


def domain_matches(domain: str, name: str) -> bool:
    name = name.lower().rstrip(".")
    if domain == "*":
        return True
    if domain.startswith("*."):
        return name.endswith(domain[1:]) and name != domain[2:]
    return name == domain.lower()


def decide_document(doc: dict[str, Any], name: str) -> DnsDecision:
    """The answer for a query of `name` through one emitted DNS Firewall document."""
    lists = {d["Domains"]["FirewallDomainListId"]: d["Domains"]["Domains"] for d in doc["FirewallDomainLists"]}
    for rule in sorted(doc["FirewallRules"], key=lambda r: r["Priority"]):
        hit = next((d for d in lists.get(rule.get("FirewallDomainListId"), []) if domain_matches(d, name)), None)
        if hit is None:
            continue
        action = rule["Action"]
        if action == "ALLOW":
            return DnsDecision("resolves", rule["Name"], hit, f"allowed by {hit} ({rule['Name']})")
        if action == "ALERT":
            return DnsDecision("alert", rule["Name"], hit, f"resolves, logged as an alert by {rule['Name']} ({hit})")
        response = rule.get("BlockResponse", "NXDOMAIN")
        return DnsDecision(response, rule["Name"], hit, f"blocked by {rule['Name']} ({hit}): answers {response}")
    return DnsDecision("resolves", None, None, "no rule matches: the resolver answers as normal")


def decide(dns: DnsFirewall, name: str) -> DnsDecision:
    return decide_document(emit_dns.request(dns), name)


def explain(dns: DnsFirewall, name: str) -> tuple[str, str, list[str]]:
    """(verdict, reason, origins) for explain: which rule decides and the policy item behind the list entry."""
    d = decide(dns, name)
    entries = [n for n in (*dns.allowed, *dns.blocked) if n.domain == d.domain]
    origins = [f"{n.kind} {n.source} at {n.origin.pos}" for n in entries]
    return d.verdict, f"DNS Firewall {dns.name}: {d.why}", origins


def one_layer(dns: DnsFirewall | None) -> list[str]:
    """Names only one layer admits (services by address, DNS-only names, carve-outs), as sentences."""
    return list(dns.one_layer) if dns else []
