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
TargetType = Literal["TLS_SNI", "HTTP_HOST"]
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

    @model_validator(mode="after")
    def _distinct(self) -> Groups:
        if self.allowlist.name.lower() == self.deny.name.lower():
            raise ValueError(f"allowlist and deny groups share the name '{self.deny.name}'")
        return self


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


class Probe(_Model):
    """A connection `rulec verify` sends through the rule groups, and the verdict it must get."""

    kind: Literal["tls", "http", "ssh", "ftp", "icmp", "tcp", "udp"]
    host: Name | None = Field(default=None, description="SNI / Host name; required for tls and http")
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    expect: Literal["pass", "drop"]

    @model_validator(mode="after")
    def _host(self) -> Probe:
        if self.kind in ("tls", "http") and (self.host is None or self.host.startswith(".")):
            raise ValueError(f"a {self.kind} probe needs a 'host' (an exact name, not a wildcard)")
        if self.kind == "icmp" and self.port is not None:
            raise ValueError("an icmp probe has no port")
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
    groups: Groups = Groups()
    features: list[FeatureName] = Field(default=[], description="Features applied to every region")
    allow: list[Name] = Field(default=[], description="Names allowed in every region")
    regions: Annotated[dict[RegionName, RegionSpec], Field(min_length=1)]
    verify: VerifySpec = VerifySpec()
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
