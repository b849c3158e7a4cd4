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

    @property
    def rule_count(self) -> int:
        """Rules Network Firewall generates: one per target and type, plus a default drop per type."""
        extra = len(self.target_types) if self.generated == "ALLOWLIST" else 0
        return len(self.targets) * len(self.target_types) + extra


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


@dataclass(frozen=True)
class StatefulGroup:
    name: str
    description: str
    capacity: int
    capacity_explicit: bool
    home_net: tuple[str, ...]
    rules: tuple[StatefulRule, ...]

    @property
    def rule_count(self) -> int:
        return len(self.rules)


Group = DomainListGroup | StatefulGroup


@dataclass(frozen=True)
class RegionPlan:
    region: str
    groups: tuple[Group, ...]
    resolved: ResolvedRegion
