"""Load stage: the policy file, validated into typed models that remember where each value came from."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rulec.load.domains import BadName, normalize
from rulec.load.source import Document, load_model

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


Cidr = Annotated[str, AfterValidator(_cidr)]
Name = Annotated[str, AfterValidator(_name)]
FeatureName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class GroupSpec(_Model):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9-]+$", min_length=1, max_length=128)]
    capacity: Annotated[int, Field(ge=1, le=MAX_CAPACITY)] | None = Field(
        default=None, description="Fixed at creation; omitted = computed with headroom"
    )
    description: Annotated[str, Field(max_length=512, pattern=r"^[^\n\r]*$")] | None = None


class Groups(_Model):
    allowlist: GroupSpec = GroupSpec(name="Databricks-FQDNs")
    deny: GroupSpec = GroupSpec(name="Deny-Protocols")
    strict: GroupSpec = GroupSpec(name="Egress-Strict")

    @model_validator(mode="after")
    def _distinct(self) -> Groups:
        seen: dict[str, str] = {}
        for kind in ("allowlist", "deny", "strict"):
            name = getattr(self, kind).name
            if name.lower() in seen:
                raise ValueError(f"{seen[name.lower()]} and {kind} groups share the name '{name}'")
            seen[name.lower()] = kind
        return self


class Service(_Model):
    """A non-HTTP destination that `egress: strict` lets through, such as a MySQL metastore."""

    host: Name = Field(description="The service's DNS name (exact, no wildcard)")
    port: Annotated[int, Field(ge=1, le=65535)]
    protocol: Literal["TCP", "UDP"] = "TCP"
    ips: Annotated[list[Cidr], Field(min_length=1)] | None = Field(
        default=None,
        description="Destination CIDRs; without them the service matches by Route 53 resolved domain, "
        "which needs firewall_policy.resolved_ip_validation",
    )

    @model_validator(mode="after")
    def _exact(self) -> Service:
        if self.host.startswith("."):
            raise ValueError(f"a service needs an exact host, not the wildcard '{self.host}'")
        return self


def _no_default_actions(value: object) -> object:
    raise ValueError(
        "Network Firewall accepts stateful default actions only under STRICT_ORDER, and rulec's groups use "
        "the default action order; remove the key (egress: strict drops what the groups do not allow)"
    )


class ResolvedIPValidation(_Model):
    """Route53ResolvedIPValidation: drop flows to addresses the Route 53 Resolver never returned."""

    action: Literal["ALERT", "DROP", "REJECT"]
    dns_firewall_rule_group_id: Annotated[str, Field(pattern=r"^rslvr-frg-[0-9a-f]{1,246}$")] | None = Field(
        default=None, description="DNS Firewall rule group (rslvr-frg-...); required"
    )
    dns_expiry_exception_policy: Literal["DROP", "REJECT", "CONTINUE"] = "DROP"
    source_ip_ranges: Annotated[list[Cidr], Field(min_length=1)] | None = Field(
        default=None, description="Clients whose flows are validated; default: the firewall policy's home_net"
    )


class FirewallPolicySpec(_Model):
    """The firewall policy as code (CreateFirewallPolicy). Regions may override it key by key."""

    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9-]+$", min_length=1, max_length=128)] | None = None
    description: Annotated[str, Field(max_length=512, pattern=r"^[^\n\r]*$")] | None = None
    home_net: Annotated[list[Cidr], Field(min_length=1)] | None = Field(
        default=None, description="PolicyVariables HOME_NET; default: the region's home_net"
    )
    stream_exception_policy: Literal["DROP", "CONTINUE", "REJECT"] | None = None
    resolved_ip_validation: ResolvedIPValidation | None = None
    stateful_default_actions: Annotated[object, AfterValidator(_no_default_actions)] = Field(
        default=None, json_schema_extra={"not": {}}
    )
    mode: Literal["monitor", "enforce"] | None = Field(
        default=None,
        description="engine: next-gen only: PolicyMode of the FirewallPolicyV2 (default enforce); in monitor "
        "nothing is blocked, so use it only as a first step for a new firewall",
    )


VpcId = Annotated[str, Field(pattern=r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$", description="vpc- and 8 or 17 hex digits")]


class DnsFirewallSpec(_Model):
    """Route 53 Resolver DNS Firewall from the same policy: the allowed names resolve, everything else is blocked
    (or alerted on, for a first rollout). Regions may override it key by key."""

    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9-]+$", min_length=1, max_length=40)] | None = Field(
        default=None, description="Rule group name; the domain lists and associations are named after it"
    )
    block_response: Literal["NXDOMAIN", "NODATA"] | None = Field(default=None, description="default NXDOMAIN")
    alert_first: bool | None = Field(default=None, description="ALERT instead of BLOCK (first rollout); default false")
    vpcs: list[VpcId] | None = Field(default=None, description="VPCs the rule group is associated with")
    priority: Annotated[int, Field(ge=100, le=9900)] | None = Field(
        default=None, description="Association priority (100-9900, default 100: before other local groups)"
    )
    mutation_protection: bool | None = Field(default=None, description="Association MutationProtection; default off")
    trust_redirection: bool | None = Field(
        default=None,
        description="TRUST_REDIRECTION_DOMAIN on the ALLOW rule (default true): CNAME targets of allowed names "
        "(S3, RDS and CDN answers) need not be listed",
    )
    allow: list[Name] | None = Field(default=None, description="Names that resolve but Network Firewall never sees")
    block: list[Name] | None = Field(default=None, description="Names blocked before the allowlist (carve-outs)")


class RegionSpec(_Model):
    home_net: Annotated[
        list[Cidr],
        Field(
            min_length=1,
            description=(
                "Every spoke VPC CIDR and the inspection VPC. Required: without it Network Firewall uses the "
                "inspection VPC CIDR and spoke traffic bypasses the domain list."
            ),
        ),
    ]
    features: list[FeatureName] = []
    allow: list[Name] = []
    services: list[Service] = Field(default=[], description="Added to the top-level services")
    egress: Egress | None = Field(default=None, description="Overrides the top-level egress for this region")
    firewall_policy: FirewallPolicySpec | None = Field(default=None, description="Overrides keys of the top level")
    inspection_cidr: Cidr | None = Field(
        default=None, description="The inspection VPC's CIDR (AWS's default HOME_NET without PolicyVariables)"
    )
    dns_firewall: DnsFirewallSpec | None = Field(default=None, description="Overrides keys of the top level")


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"'{value}' is not an IPv4 address such as 10.0.0.10") from None


def _probe_host(value: str) -> str:
    if any(not 0x20 < ord(c) < 0x7F for c in value):
        raise ValueError(f"{value!r}: a probe host is sent exactly as written; use printable ASCII (xn-- for IDN)")
    return value


def _payload(value: str) -> str:
    if value.startswith("hex:"):
        try:
            bytes.fromhex(value[4:])
        except ValueError:
            raise ValueError("'hex:' must be followed by pairs of hex digits (spaces allowed)") from None
    elif any(ord(c) > 0xFF for c in value):
        raise ValueError("a payload string holds bytes: use \\xNN escapes or 'hex:...' for anything above \\xff")
    return value


def probe_bytes(value: str) -> bytes:
    """A `payload` / `http.raw` as the bytes sent: `hex:0d0a...` or the string's characters as bytes 0-255."""
    return bytes.fromhex(value[4:]) if value.startswith("hex:") else value.encode("latin-1")


class HttpRaw(_Model):
    raw: Annotated[str, AfterValidator(_payload), Field(min_length=1)] = Field(
        description="The whole request, sent as written (YAML escapes such as \\r\\n, or hex:...)"
    )


class Probe(_Model):
    """A connection `rulec verify` sends through the rule groups, and the verdict it must get."""

    kind: Literal["tls", "http", "ssh", "ftp", "icmp", "tcp", "udp", "syn", "ip"] = Field(
        description="syn: a TCP SYN carrying `payload` (TCP Fast Open); ip: another IP protocol, `port` = its number"
    )
    host: Annotated[str, AfterValidator(_probe_host)] | None = Field(
        default=None, description='SNI / Host, sent exactly as written (no normalisation); "" sends none'
    )
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    src: Annotated[str, AfterValidator(_ipv4)] | None = Field(
        default=None, description="Client address (default: a host in the region's first HOME_NET block)"
    )
    dst: Annotated[str, AfterValidator(_ipv4)] | None = Field(
        default=None, description="Server address (default: a fresh address outside HOME_NET)"
    )
    payload: Annotated[str, AfterValidator(_payload)] | None = Field(
        default=None, description="tcp/udp: the bytes the client sends (YAML escapes, or hex:...)"
    )
    pad: Annotated[int, Field(ge=512, le=16_000)] | None = Field(
        default=None, description="tls: pad the ClientHello record to this many bytes (1800 = post-quantum size)"
    )
    split: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="tls/http/tcp: cut the client's first message into two TCP segments here"
    )
    http: HttpRaw | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")] | None = Field(
        default=None, description="Only in this region"
    )
    expect: Literal["pass", "drop"]

    @model_validator(mode="after")
    def _host(self) -> Probe:
        if self.kind == "tls" and self.host is None:
            raise ValueError("a tls probe needs a 'host' (\"\" for a ClientHello without SNI)")
        if self.kind == "http" and (self.host is None) == (self.http is None):
            raise ValueError("a http probe needs a 'host' (\"\" for none) or 'http: {raw: ...}', not both")
        if self.kind == "icmp" and self.port is not None:
            raise ValueError("an icmp probe has no port")
        if self.payload is not None and self.kind not in ("tcp", "udp", "syn", "ip"):
            raise ValueError("'payload' is for tcp, udp, syn and ip probes")
        if self.kind == "ip" and self.port is not None and self.port > 255:
            raise ValueError("an ip probe's port is the IP protocol number (1-255), such as 47 for GRE")
        if self.http is not None and self.kind != "http":
            raise ValueError("'http' is for http probes")
        if self.pad is not None and self.kind != "tls":
            raise ValueError("'pad' is for tls probes")
        if self.split is not None and self.kind not in ("tls", "http", "tcp"):
            raise ValueError("'split' is for tls, http and tcp probes")
        return self


class VerifySpec(_Model):
    probes: list[Probe] = []


class Policy(_Model):
    """A rulec egress policy (version 1)."""

    version: Literal[1]
    target_types: Annotated[list[TargetType], Field(min_length=1)] = ["TLS_SNI", "HTTP_HOST"]
    deny_protocols: list[Protocol] = []
    egress: Egress = Field(
        default="domains",
        description="domains: only TLS/HTTP names are filtered (the reference design); strict: everything "
        "else from HOME_NET to EXTERNAL_NET is dropped unless it is a declared service",
    )
    groups: Groups = Groups()
    features: list[FeatureName] = Field(default=[], description="Features applied to every region")
    allow: list[Name] = Field(default=[], description="Names allowed in every region")
    services: list[Service] = Field(default=[], description="Non-HTTP destinations strict egress lets through")
    firewall_policy: FirewallPolicySpec | None = None
    regions: Annotated[
        dict[Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")], RegionSpec], Field(min_length=1)
    ]
    verify: VerifySpec = VerifySpec()
    engine: Literal["classic", "next-gen"] = Field(
        default="classic",
        description="classic: STATEFUL rule groups for a FirewallPolicy; next-gen: FIREWALL rule groups and a "
        "FirewallPolicyV2 (drop by default, egress strict by construction; needs firewall_policy.name)",
    )
    dns_firewall: DnsFirewallSpec | None = Field(default=None, description="Route 53 Resolver DNS Firewall")

    @model_validator(mode="after")
    def _no_repeats(self) -> Policy:
        for label, items in (("target_types", self.target_types), ("deny_protocols", self.deny_protocols)):
            seen = [x for i, x in enumerate(items) if x in items[:i]]
            if seen:
                raise ValueError(f"{label} lists {seen[0]} twice")
        return self


class LoadedPolicy:
    """A validated policy and the YAML document it came from (for positions)."""

    def __init__(self, path: Path, doc: Document, policy: Policy):
        self.path = path
        self.doc = doc
        self.policy = policy


def load_policy(path: Path) -> LoadedPolicy:
    policy, doc = load_model(path, Policy)
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
