"""Load stage: the policy file, validated into typed models that remember where each value came from."""

from __future__ import annotations

import datetime
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from rulec.load.domains import BadName, normalize
from rulec.load.probe_spec import Probe, VerifySpec
from rulec.load.schema import After, Constraint, field, model_check
from rulec.load.schema import Model as _Model
from rulec.load.source import Document, load_model
from rulec.resources import data_dir

PROTOCOLS = (
    "IP",
    "TCP",
    "UDP",
    "ICMP",
    "HTTP",
    "FTP",
    "TLS",
    "SMB",
    "DNS",
    "DCERPC",
    "SSH",
    "SMTP",
    "IMAP",
    "MSN",
    "KRB5",
    "IKEV2",
    "TFTP",
    "NTP",
    "DHCP",
    "HTTP2",
    "QUIC",
)
Protocol = Literal[PROTOCOLS]  # type: ignore[valid-type]
TargetType = Literal["TLS_SNI", "HTTP_HOST", "AWS_ROUTE_53_RESOLVED_DOMAIN"]
RESOLVED_DOMAIN = "AWS_ROUTE_53_RESOLVED_DOMAIN"
Egress = Literal["domains", "strict"]
MAX_CAPACITY = 50_000


def _cidr(value: str) -> str:
    if "/" not in value:
        try:
            host = ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            raise ValueError(
                f"'{value}' is an address, not a CIDR block: write {host}/{host.max_prefixlen} if you mean one "
                "host, or the whole VPC CIDR (for example 10.20.0.0/16)"
            )
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        if "host bits set" in str(exc):
            fixed = ipaddress.ip_network(value, strict=False)
            raise ValueError(f"'{value}' has host bits set; did you mean '{fixed}'?") from None
        raise ValueError(f"'{value}' is not a CIDR block such as 10.0.0.0/16") from None


def _name(value: str) -> str:
    try:
        return normalize(value)
    except BadName as exc:
        raise ValueError(str(exc)) from None


Cidr = Annotated[str, After(_cidr)]
Name = Annotated[str, After(_name)]
# unknown or misspelt features (`PyPI`) are reported by resolve, with the known list and a suggestion
FeatureName = Annotated[str, Constraint(min_length=1, max_length=64, json_schema={"pattern": r"^[a-z0-9][a-z0-9-]*$"})]
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"


def _region(value: str) -> str:
    if re.match(REGION_PATTERN, value):
        return value
    guess = re.sub(r"([a-z])([0-9])$", r"\1-\2", value.strip().lower().replace("_", "-").replace(" ", "-"))
    known = sorted(p.stem for p in (data_dir("catalogs") / "regions").glob("*.yaml"))
    import difflib  # here: only a misspelling needs it (start-up)

    close = difflib.get_close_matches(guess, known, 1, 0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"'{value}' is not an AWS region name such as eu-west-1{hint}")


RegionName = Annotated[str, After(_region), Constraint(json_schema={"pattern": REGION_PATTERN})]


class GroupSpec(_Model):
    name: Annotated[str, Constraint(pattern=r"^[a-zA-Z0-9-]+$", min_length=1, max_length=128)]
    capacity: Annotated[int, Constraint(ge=1, le=MAX_CAPACITY)] | None = field(
        None, description="Fixed at creation; omitted = computed with headroom"
    )
    description: Annotated[str, Constraint(max_length=512, pattern=r"^[^\n\r]*$")] | None = None


class Groups(_Model):
    allowlist: GroupSpec = GroupSpec(name="Databricks-FQDNs")
    deny: GroupSpec = GroupSpec(name="Deny-Protocols")
    strict: GroupSpec = GroupSpec(name="Egress-Strict")

    @model_check
    def _distinct(self) -> None:
        seen: dict[str, str] = {}
        for kind in ("allowlist", "deny", "strict"):
            name = getattr(self, kind).name
            if name.lower() in seen:
                raise ValueError(f"{seen[name.lower()]} and {kind} groups share the name '{name}'")
            seen[name.lower()] = kind


class Service(_Model):
    """A non-HTTP destination that `egress: strict` lets through, such as a MySQL metastore."""

    host: Name = field(description="The service's DNS name (exact, no wildcard)")
    port: Annotated[int, Constraint(ge=1, le=65535)]
    protocol: Literal["TCP", "UDP"] = "TCP"
    ips: Annotated[list[Cidr], Constraint(min_length=1)] | None = field(
        None,
        description="Destination CIDRs; without them the service matches by Route 53 resolved domain, "
        "which needs firewall_policy.resolved_ip_validation",
    )

    @model_check
    def _exact(self) -> None:
        if self.host.startswith("."):
            raise ValueError(f"a service needs an exact host, not the wildcard '{self.host}'")


def _no_default_actions(value: object) -> object:
    raise ValueError(
        "Network Firewall accepts stateful default actions only under STRICT_ORDER, and rulec's groups use "
        "the default action order; remove the key (egress: strict drops what the groups do not allow)"
    )


class ResolvedIPValidation(_Model):
    """Route53ResolvedIPValidation: drop flows to addresses the Route 53 Resolver never returned."""

    action: Literal["ALERT", "DROP", "REJECT"]
    dns_firewall_rule_group_id: Annotated[str, Constraint(pattern=r"^rslvr-frg-[0-9a-f]{1,246}$")] | None = field(
        None, description="DNS Firewall rule group (rslvr-frg-...); required"
    )
    dns_expiry_exception_policy: Literal["DROP", "REJECT", "CONTINUE"] = "DROP"
    source_ip_ranges: Annotated[list[Cidr], Constraint(min_length=1)] | None = field(
        None, description="Clients whose flows are validated; default: the firewall policy's home_net"
    )


class FirewallPolicySpec(_Model):
    """The firewall policy as code (CreateFirewallPolicy). Regions may override it key by key."""

    name: Annotated[str, Constraint(pattern=r"^[a-zA-Z0-9-]+$", min_length=1, max_length=128)] | None = None
    description: Annotated[str, Constraint(max_length=512, pattern=r"^[^\n\r]*$")] | None = None
    home_net: Annotated[list[Cidr], Constraint(min_length=1)] | None = field(
        None, description="PolicyVariables HOME_NET; default: the region's home_net"
    )
    stream_exception_policy: Literal["DROP", "CONTINUE", "REJECT"] | None = None
    resolved_ip_validation: ResolvedIPValidation | None = None
    stateful_default_actions: Annotated[object, After(_no_default_actions)] = field(None, json_schema={"not": {}})
    mode: Literal["monitor", "enforce"] | None = field(
        None,
        description="engine: next-gen only: PolicyMode of the FirewallPolicyV2 (default enforce); in monitor "
        "nothing is blocked, so use it only as a first step for a new firewall",
    )


VpcId = Annotated[
    str, Constraint(pattern=r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$", description="vpc- and 8 or 17 hex digits")
]


class DnsFirewallSpec(_Model):
    """Route 53 Resolver DNS Firewall from the same policy: the allowed names resolve, everything else is blocked
    (or alerted on, for a first rollout). Regions may override it key by key."""

    # 29: the requests refer to a domain list as ${FirewallDomainListId:<name>-everything} until push knows its ID,
    # and a FirewallDomainListId holds at most 64 characters
    name: Annotated[str, Constraint(pattern=r"^[a-zA-Z0-9-]+$", min_length=1, max_length=29)] | None = field(
        None, description="Rule group name (up to 29 characters); the domain lists and associations are named after it"
    )
    block_response: Literal["NXDOMAIN", "NODATA"] | None = field(None, description="default NXDOMAIN")
    alert_first: bool | None = field(None, description="ALERT instead of BLOCK (first rollout); default false")
    vpcs: list[VpcId] | None = field(None, description="VPCs the rule group is associated with")
    priority: Annotated[int, Constraint(ge=100, le=9900)] | None = field(
        None, description="Association priority (100-9900, default 100: before other local groups)"
    )
    mutation_protection: bool | None = field(None, description="Association MutationProtection; default off")
    trust_redirection: bool | None = field(
        None,
        description="TRUST_REDIRECTION_DOMAIN on the ALLOW rule (default true): CNAME targets of allowed names "
        "(S3, RDS and CDN answers) need not be listed",
    )
    allow: list[Name] | None = field(None, description="Names that resolve but Network Firewall never sees")
    block: list[Name] | None = field(None, description="Names blocked before the allowlist (carve-outs)")


class RegionSpec(_Model):
    home_net: Annotated[
        list[Cidr],
        Constraint(
            min_length=1,
            description=(
                "Every spoke VPC CIDR and the inspection VPC. Required: without it Network Firewall uses the "
                "inspection VPC CIDR and spoke traffic bypasses the domain list."
            ),
        ),
    ]
    features: list[FeatureName] = field([])
    allow: list[Name] = field([])
    services: list[Service] = field([], description="Added to the top-level services")
    egress: Egress | None = field(None, description="Overrides the top-level egress for this region")
    firewall_policy: FirewallPolicySpec | None = field(None, description="Overrides keys of the top level")
    inspection_cidr: Cidr | None = field(
        None, description="The inspection VPC's CIDR (AWS's default HOME_NET without PolicyVariables)"
    )
    dns_firewall: DnsFirewallSpec | None = field(None, description="Overrides keys of the top level")


class Waiver(_Model):
    """An accepted risk: one lint code for one target (optionally in one region), with a reason."""

    code: Annotated[str, Constraint(pattern=r"^RC[0-9]{3}$", description="The lint code, such as RC001")]
    target: Annotated[str, Constraint(min_length=1, max_length=300, description="The name, CIDR or protocol it names")]
    region: RegionName | None = field(None, description="Only in this region (default: every region)")
    reason: Annotated[str, Constraint(min_length=1, max_length=1000, description="Why the risk is accepted")]
    expires: datetime.date | None = field(None, description="Last day the waiver applies (YYYY-MM-DD)")

    @model_check
    def _reason(self) -> None:
        if not self.reason.strip():
            raise ValueError("a waiver needs a reason: say why the risk is accepted")


class Policy(_Model):
    """A rulec egress policy (version 1)."""

    version: Literal[1]
    target_types: Annotated[list[TargetType], Constraint(min_length=1)] = field(["TLS_SNI", "HTTP_HOST"])
    deny_protocols: list[Protocol] = field([])
    egress: Egress = field(
        "domains",
        description="domains: only TLS/HTTP names are filtered (the reference design); strict: everything "
        "else from HOME_NET to EXTERNAL_NET is dropped unless it is a declared service",
    )
    groups: Groups = Groups()
    features: list[FeatureName] = field([], description="Features applied to every region")
    allow: list[Name] = field([], description="Names allowed in every region")
    services: list[Service] = field([], description="Non-HTTP destinations strict egress lets through")
    firewall_policy: FirewallPolicySpec | None = None
    regions: Annotated[dict[RegionName, RegionSpec], Constraint(min_length=1)]
    verify: VerifySpec = VerifySpec()
    engine: Literal["classic", "next-gen"] = field(
        "classic",
        description="classic: STATEFUL rule groups for a FirewallPolicy; next-gen: FIREWALL rule groups and a "
        "FirewallPolicyV2 (drop by default, egress strict by construction; needs firewall_policy.name)",
    )
    waivers: list[Waiver] = field([], description="Accepted risk findings (see `rulec lint`)")
    dns_firewall: DnsFirewallSpec | None = field(None, description="Route 53 Resolver DNS Firewall")

    @model_check
    def _no_repeats(self) -> None:
        for label, items in (("target_types", self.target_types), ("deny_protocols", self.deny_protocols)):
            seen = [x for i, x in enumerate(items) if x in items[:i]]
            if seen:
                raise ValueError(f"{label} lists {seen[0]} twice")
        keys = [(w.code, w.target.strip().lower().rstrip("."), w.region) for w in self.waivers]
        twice = [k for i, k in enumerate(keys) if k in keys[:i]]
        if twice:
            raise ValueError(f"waivers: {twice[0][0]} '{twice[0][1]}' is waived twice; keep one waiver")


class LoadedPolicy:
    """A validated policy and the YAML document it came from (for positions)."""

    def __init__(self, path: Path, doc: Document, policy: Policy):
        self.path = path
        self.doc = doc
        self.policy = policy


def load_policy(path: Path) -> LoadedPolicy:
    """Read and validate a policy file (`-` reads standard input, reported as <stdin>)."""
    policy, doc = load_model(path, Policy, "<stdin>" if str(path) == "-" else None)
    return LoadedPolicy(path, doc, policy)


def load_probes(path: Path) -> tuple[list[Probe], Document]:
    """A `--probes` file (`probes: [...]`, the policy's `verify:` section on its own)."""
    spec, doc = load_model(path, VerifySpec)
    return spec.probes, doc


def json_schema() -> dict:
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://rulec.invalid/schemas/policy.schema.json"
    return schema
