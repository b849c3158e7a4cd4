"""The small network a region's verdicts are computed in: the client, an address for every name (as the
Route 53 Resolver would answer it), and the EXTERNAL_NET the engine applies. `explain` asks the engine model in
it; `verify` sends real packets in the same terms."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from rulec.compile.ir import RegionPlan
from rulec.errors import RulecError
from rulec.verify import model

POOLS = ("198.18.0.0/15", "100.64.0.0/10", "172.16.0.0/12")


def home_host(cidr: str) -> str | None:
    net = ipaddress.ip_network(cidr)
    if net.version != 4:
        return None
    return str(net.network_address + min(10, max(net.num_addresses - 2, 0)))


def external_bound(plan: RegionPlan, bound: str | None = None):
    """EXTERNAL_NET for groups that do not define their own, as AWS computes it: the negation of the firewall
    policy's HOME_NET. Declared policy: exact. Otherwise `bound` says which HOME_NET to assume: "home_net"
    (PolicyVariables set to the region's home_net, AWS's recommended practice and rulec's default) or
    "inspection" (no PolicyVariables: AWS's default HOME_NET, the inspection VPC's CIDR)."""
    declared = plan.resolved.firewall_policy
    if declared is not None:
        home = tuple(declared.home_net)
    elif bound == "inspection" and plan.resolved.inspection_cidr:
        home = (plan.resolved.inspection_cidr,)
    else:
        home = tuple(plan.resolved.home_net)
    return home, (lambda addr: not model.inside(addr, home))


@dataclass
class World:
    plan: RegionPlan
    client: str
    pool: ipaddress.IPv4Network
    bound: str | None = None
    resolved: dict[str, set[str]] = field(default_factory=dict)
    _used: int = 0

    @classmethod
    def for_plan(cls, plan: RegionPlan, bound: str | None = None) -> World:
        client = next((h for h in map(home_host, plan.resolved.home_net) if h), None)
        if client is None:
            raise RulecError(f"{plan.region}: verify and explain need an IPv4 block in home_net")
        nets = [ipaddress.ip_network(c) for c in plan.resolved.home_net]
        pool = next((p for p in map(ipaddress.ip_network, POOLS) if not any(p.overlaps(n) for n in nets)), None)
        if pool is None:
            raise RulecError("HOME_NET covers every address pool rulec probes towards; narrow HOME_NET")
        return cls(plan, client, pool, bound)

    def address(self, name: str) -> str:
        """The address the modelled resolver returns for `name` (one per name, in order of first use)."""
        known = self.resolved.get(name)
        if known:
            return min(known)
        addr = self.fresh()
        self.resolved[name] = {addr}
        return addr

    def fresh(self) -> str:
        """An address nobody resolved: the next one of the pool."""
        self._used += 1
        if self._used >= self.pool.num_addresses - 1:
            raise RulecError(f"more probes than the {self.pool} pool has addresses")
        return socket.inet_ntoa((int(self.pool.network_address) + self._used).to_bytes(4, "big"))

    def resolved_for(self, target: str) -> set[str]:
        """Addresses returned for every name `target` matches (exact, or a wildcard and its subdomains)."""
        return self.context().resolved_for(target)

    def flow(self, app: str, host: str, port: int) -> model.Flow:
        return model.Flow("tcp", app, self.address(host), port, self.client, host)

    def service_flow(self, service, name: str, port: int, proto: str) -> model.Flow:
        if service is not None and service.ips:
            net = ipaddress.ip_network(service.ips[0])
            dst = str(net.network_address + (1 if net.num_addresses > 2 else 0))
        else:
            dst = self.address(name)
        return model.Flow(proto.lower(), None, dst, port, self.client)

    def context(self, suricata: int = 8) -> model.Context:
        from rulec.emit.firewall_policy import bypass_ranges

        home, external = external_bound(self.plan, self.bound)
        declared = self.plan.resolved.firewall_policy
        return model.Context(
            tuple(self.plan.resolved.home_net),
            external,
            self.resolved,
            declared.validation if declared else None,
            tuple(bypass_ranges(self.plan)),
            suricata,
        )
