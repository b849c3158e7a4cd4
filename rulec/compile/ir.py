"""The intermediate representation: rule groups as Network Firewall will hold them, before any format."""

from __future__ import annotations

from dataclasses import dataclass

from rulec.compile.resolve import ResolvedRegion

# What a DROP rule for a protocol takes down with it: Suricata sees TLS and HTTP inside TCP, and IP
# matches everything. Keys are target types (what a domain list inspects) and the transports.
DROPPED_BY = {
    "TLS_SNI": frozenset({"TLS", "TCP", "IP"}),
    "HTTP_HOST": frozenset({"HTTP", "TCP", "IP"}),
    "TCP": frozenset({"TCP", "IP"}),
    "UDP": frozenset({"UDP", "IP"}),
}


RESOLVED_DOMAIN = "AWS_ROUTE_53_RESOLVED_DOMAIN"
PROTOCOL_TYPES = ("TLS_SNI", "HTTP_HOST")  # the target types that inspect a protocol (and get a default drop)


@dataclass(frozen=True)
class DomainListGroup:
    name: str
    description: str
    capacity: int
    capacity_explicit: bool
    home_net: tuple[str, ...]
    target_types: tuple[str, ...]
    targets: tuple[str, ...]
    generated: str = "ALLOWLIST"
    external_net: tuple[str, ...] | None = None  # defined by the group (strict egress), else the policy's

    def __hash__(self) -> int:
        # cheap: the emit and verify caches look a group up per probe; equal groups still hash alike
        return hash((self.name, self.generated, self.target_types, len(self.targets)))

    @property
    def rule_count(self) -> int:
        """Rules Network Firewall generates: one per target and type, plus, for an ALLOWLIST, a default drop per
        protocol type (TLS_SNI, HTTP_HOST; AWS_ROUTE_53_RESOLVED_DOMAIN alone is additive and has none).

        Counting every type per target is the conservative reading for AWS_ROUTE_53_RESOLVED_DOMAIN, which AWS
        ANDs into the protocol rules of an ALLOWLIST; DryRun reports the service's own figure."""
        defaults = sum(t in PROTOCOL_TYPES for t in self.target_types) if self.generated == "ALLOWLIST" else 0
        return len(self.targets) * len(self.target_types) + defaults


@dataclass(frozen=True)
class StatefulRule:
    key: str  # stable identity in the SID lock
    sid: int
    action: str
    protocol: str
    source: str = "Any"
    source_port: str = "Any"
    direction: str = "ANY"
    destination: str = "Any"
    destination_port: str = "Any"
    options: tuple[tuple[str, str | None], ...] = ()  # (keyword, settings) in order; the sid comes last
    match: str = ""  # what the rule means, for the engine model (rulec.verify.model); "" = its header only
    note: str = ""  # why it exists, for reviewers
    min_suricata: int = 7  # oldest Suricata major version that parses it


@dataclass(frozen=True)
class StatefulGroup:
    name: str
    description: str
    capacity: int
    capacity_explicit: bool
    home_net: tuple[str, ...]
    rules: tuple[StatefulRule, ...]
    external_net: tuple[str, ...] | None = None
    role: str = "deny"  # deny (deny_protocols) | strict (strict egress and services)

    @property
    def rule_count(self) -> int:
        return len(self.rules)


Group = DomainListGroup | StatefulGroup


@dataclass(frozen=True)
class RegionPlan:
    region: str
    groups: tuple[Group, ...]
    resolved: ResolvedRegion
    nextgen: object | None = None  # engine: next-gen: a compile.nextgen.NextGenPlan (then `groups` is empty)
