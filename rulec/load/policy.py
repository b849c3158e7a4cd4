"""Load stage: the policy file, validated into typed models that remember where each value came from."""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from rulec.load.domains import BadName, normalize
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


Cidr = Annotated[str, AfterValidator(_cidr)]
Name = Annotated[str, AfterValidator(_name)]
# unknown or misspelt features (`PyPI`) are reported by resolve, with the known list and a suggestion
FeatureName = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"pattern": r"^[a-z0-9][a-z0-9-]*$"})]
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"


def _region(value: str) -> str:
    if re.match(REGION_PATTERN, value):
        return value
    guess = re.sub(r"([a-z])([0-9])$", r"\1-\2", value.strip().lower().replace("_", "-").replace(" ", "-"))
    known = sorted(p.stem for p in (data_dir("catalogs") / "regions").glob("*.yaml"))
    close = difflib.get_close_matches(guess, known, 1, 0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"'{value}' is not an AWS region name such as eu-west-1{hint}")


RegionName = Annotated[str, AfterValidator(_region), Field(json_schema_extra={"pattern": REGION_PATTERN})]


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


class Waiver(_Model):
    """An accepted risk: one lint code for one target (optionally in one region), with a reason."""

    code: Annotated[str, Field(pattern=r"^RC[0-9]{3}$", description="The lint code, such as RC001")]
    target: Annotated[str, Field(min_length=1, max_length=300, description="The name, CIDR or protocol it names")]
    region: RegionName | None = Field(default=None, description="Only in this region (default: every region)")
    reason: Annotated[str, Field(min_length=1, max_length=1000, description="Why the risk is accepted")]
    expires: datetime.date | None = Field(default=None, description="Last day the waiver applies (YYYY-MM-DD)")

    @model_validator(mode="after")
    def _reason(self) -> Waiver:
        if not self.reason.strip():
            raise ValueError("a waiver needs a reason: say why the risk is accepted")
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
    regions: Annotated[dict[RegionName, RegionSpec], Field(min_length=1)]
    verify: VerifySpec = VerifySpec()
    engine: Literal["classic", "next-gen"] = Field(
        default="classic",
        description="classic: STATEFUL rule groups for a FirewallPolicy; next-gen: FIREWALL rule groups and a "
        "FirewallPolicyV2 (drop by default, egress strict by construction; needs firewall_policy.name)",
    )
    waivers: list[Waiver] = Field(default=[], description="Accepted risk findings (see `rulec lint`)")

    @model_validator(mode="after")
    def _no_repeats(self) -> Policy:
        for label, items in (("target_types", self.target_types), ("deny_protocols", self.deny_protocols)):
            seen = [x for i, x in enumerate(items) if x in items[:i]]
            if seen:
                raise ValueError(f"{label} lists {seen[0]} twice")
        keys = [(w.code, w.target.strip().lower().rstrip("."), w.region) for w in self.waivers]
        twice = [k for i, k in enumerate(keys) if k in keys[:i]]
        if twice:
            raise ValueError(f"waivers: {twice[0][0]} '{twice[0][1]}' is waived twice; keep one waiver")
        return self


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
