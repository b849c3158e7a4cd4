"""One policy, two layers, no disagreement: on random policies, every name the DNS domain list passes is one
Network Firewall passes (TLS/HTTP, or a service by resolved domain), and nothing resolves for a name every
layer drops; names only one layer admits are the ones the policy says, and they are reported."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulec import pipeline
from rulec.emit import dns_firewall as emit_dns
from rulec.review.explain import explain
from rulec.verify import dns_model

label = st.sampled_from(["a", "b", "api", "www", "pypi", "files"])
name = st.lists(label, min_size=1, max_size=3).map(lambda ls: ".".join(ls) + ".example.org")
target = st.tuples(st.booleans(), name).map(lambda t: ("." if t[0] else "") + t[1])
service = st.tuples(name, st.integers(1000, 1010), st.booleans())
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _policy(targets, services, dns_allow=()):
    lines = [
        "version: 1",
        "egress: strict",
        "firewall_policy: {name: fw, resolved_ip_validation: {action: ALERT}}",
        "dns_firewall: {name: dns, vpcs: [vpc-0a1b2c3d]}",
        "services:",
    ]
    seen = set()
    for host, port, with_ips in services:
        if (host, port) not in seen:
            seen.add((host, port))
            lines.append(f"  - {{host: {host}, port: {port}" + (", ips: [203.0.113.7/32]}" if with_ips else "}"))
    if len(lines) == 5:
        lines[-1] = "services: []"
    lines += ["regions:", "  eu-west-1:", "    home_net: [10.0.0.0/16]", f"    allow: [{', '.join(targets)}]"]
    if dns_allow:
        lines.append(f"    dns_firewall: {{allow: [{', '.join(dns_allow)}]}}")
    return "\n".join(lines) + "\n"


def _verdicts(host, plan):
    return {v.protocol: v.verdict for v in explain(host, plan)}


def _concrete(domain: str) -> list[str]:
    return [domain[2:], "x1." + domain[2:]] if domain.startswith("*.") else [domain]


@SETTINGS
@given(st.lists(target, min_size=1, max_size=8), st.lists(service, max_size=3), st.lists(name, max_size=6))
def test_the_dns_layer_agrees_with_network_firewall(write_policy, targets, services, probes):
    services = list({(h, port): (h, port, ips) for h, port, ips in reversed(services)}.values())
    _, (plan,), _, _ = pipeline.plan(write_policy(_policy(targets, services)))
    dns = plan.resolved.dns
    by_domain = {s[0] for s in services if not s[2]}
    for t in plan.resolved.targets:  # every allowed name resolves and passes TLS and HTTP
        for host in [t.name.lstrip(".")] + (["x1." + t.name[1:]] if t.name.startswith(".") else []):
            v = _verdicts(host, plan)
            assert v["TLS"] == v["HTTP"] == "pass" and v["DNS"] == "resolves", (host, v)
    for entry in dns.allowed:  # everything the domain list passes is admitted by Network Firewall
        for host in _concrete(entry.domain):
            v = _verdicts(host, plan)
            assert v["DNS"] == "resolves", (host, v)
            assert v["TLS"] == "pass" or host in by_domain, (host, v)
    for host in probes + [t.lstrip(".") + ".evil.example" for t in targets]:
        v = _verdicts(host, plan)
        if v["TLS"] == v["HTTP"] == "drop" and host not in by_domain:
            assert v["DNS"] == "NXDOMAIN", (host, v)  # every layer drops it: it does not resolve
    for host, port, with_ips in services:
        resolves = dns_model.decide(dns, host).resolves
        if not with_ips:
            assert resolves, host  # matched by resolved domain: it needs its answer
        elif not resolves:
            assert any(line.startswith(f"{host}:{port}/tcp") for line in dns.one_layer), dns.one_layer


@SETTINGS
@given(st.lists(target, min_size=1, max_size=5), st.lists(name, min_size=1, max_size=3, unique=True))
def test_dns_only_names_are_reported_and_resolve(write_policy, targets, extra):
    _, plans, _, _ = pipeline.plan(write_policy(_policy(targets, [], extra)))
    dns = plans[0].resolved.dns
    for host in extra:
        assert dns_model.decide(dns, host).resolves
        assert any(line.startswith(f"{host}: resolves") for line in dns.one_layer)


def test_the_model_reads_dns_firewall_syntax():
    assert dns_model.domain_matches("*.example.com", "a.b.Example.COM.")
    assert not dns_model.domain_matches("*.example.com", "example.com")  # the apex is listed separately
    assert not dns_model.domain_matches("*.example.com", "badexample.com")
    assert dns_model.domain_matches("example.com", "EXAMPLE.com.") and not dns_model.domain_matches(
        "example.com", "a.example.com"
    )
    assert dns_model.domain_matches("*", "anything.at.all")
    assert emit_dns.list_id("x") == "${FirewallDomainListId:x}"
