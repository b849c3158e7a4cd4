"""Emit stage: a region's Route 53 Resolver DNS Firewall as the requests that create it, in one document
(`DIR/<region>/<name>.dns-firewall.json`), which `check` and `push` validate against
schemas/dns-firewall.schema.json, derived from botocore's `route53resolver` model (tests hold it equal).

- `FirewallDomainLists`: CreateFirewallDomainList + UpdateFirewallDomains (REPLACE) for the allowed names, the
  carve-outs (if any) and `*` (everything);
- `FirewallRules`: CreateFirewallRule requests, in priority order: BLOCK the carve-outs, ALLOW the allowed names
  (TRUST_REDIRECTION_DOMAIN unless the policy says otherwise: CNAME targets of allowed names need not be
  listed), then BLOCK (or ALERT, `alert_first`) everything else. DNS Firewall evaluates rules by priority and
  the first match decides; without a match a query resolves, hence the final rule;
- `Associations`: AssociateFirewallRuleGroup per VPC (priority, mutation protection).
IDs do not exist before push creates the resources: they are `${FirewallRuleGroupId}` and
`${FirewallDomainListId:<list name>}`, which push substitutes (like `${AccountId}` in a firewall policy)."""

from __future__ import annotations

from typing import Any

from rulec.compile.dns import DnsFirewall

GROUP = "${FirewallRuleGroupId}"
SUFFIX = ".dns-firewall.json"


def list_id(name: str) -> str:
    return "${FirewallDomainListId:" + name + "}"


def file_name(dns: DnsFirewall) -> str:
    return f"{dns.name}{SUFFIX}"


def _token(dns: DnsFirewall, what: str) -> str:
    """A deterministic CreatorRequestId: a retried create is idempotent, as the API intends."""
    return f"rulec-{dns.region}-{dns.name}-{what}"


def _domain_list(dns: DnsFirewall, suffix: str, domains: list[str]) -> dict[str, Any]:
    name = f"{dns.name}-{suffix}"
    return {
        "Create": {"CreatorRequestId": _token(dns, suffix), "Name": name},
        "Domains": {"FirewallDomainListId": list_id(name), "Operation": "REPLACE", "Domains": domains},
    }


def _rule(dns: DnsFirewall, suffix: str, priority: int, action: str, extra: dict[str, Any]) -> dict[str, Any]:
    rule = {
        "CreatorRequestId": _token(dns, f"rule-{suffix}"),
        "FirewallRuleGroupId": GROUP,
        "FirewallDomainListId": list_id(f"{dns.name}-{suffix}"),
        "Priority": priority,
        "Action": action,
        "Name": f"{dns.name}-{suffix}",
        **extra,
    }
    if action == "BLOCK":
        rule["BlockResponse"] = dns.block_response
    return rule


def request(dns: DnsFirewall) -> dict[str, Any]:
    lists = []
    rules = []
    if dns.blocked:
        lists.append(_domain_list(dns, "blocked", [n.domain for n in dns.blocked]))
        rules.append(_rule(dns, "blocked", 100, dns.final_action, {}))
    lists.append(_domain_list(dns, "allowed", [n.domain for n in dns.allowed]))
    redirect = "TRUST_REDIRECTION_DOMAIN" if dns.trust_redirection else "INSPECT_REDIRECTION_DOMAIN"
    rules.append(_rule(dns, "allowed", 200, "ALLOW", {"FirewallDomainRedirectionAction": redirect}))
    lists.append(_domain_list(dns, "everything", ["*"]))
    rules.append(_rule(dns, "everything", 300, dns.final_action, {}))
    associations = [
        {
            "CreatorRequestId": _token(dns, vpc),
            "FirewallRuleGroupId": GROUP,
            "VpcId": vpc,
            "Priority": dns.priority,
            "Name": f"{dns.name}-{vpc}",
            "MutationProtection": "ENABLED" if dns.mutation_protection else "DISABLED",
        }
        for vpc in dns.vpcs
    ]
    return {
        "FirewallRuleGroup": {"CreatorRequestId": _token(dns, "group"), "Name": dns.name},
        "FirewallDomainLists": lists,
        "FirewallRules": rules,
        "Associations": associations,
    }


def substitute(value: Any, ids: dict[str, str]) -> Any:
    """`value` with the placeholders replaced: ids maps `${FirewallRuleGroupId}` / `${FirewallDomainListId:X}`
    to the live ids."""
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value
