"""Verify a next-gen policy on Suricata 8's firewall mode: the FIREWALL groups' rules, translated from AWS's
hook names through rulec.verify.hooks, run with `firewall: {enabled: yes}` and
`--firewall-rules-exclusive`, whose built-in default policy drops at every hook like FirewallDefaultAction DROP.

Suricata 7 has no firewall mode: a next-gen policy is refused there (bad input, exit 2). The report has the
shape of Classic's (rulec.verify.RegionReport), so the table, JSON and exit codes are the same.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rulec.emit import aws_nextgen
from rulec.errors import RulecError
from rulec.verify import RegionReport, Verdict, engine, hooks, synthesize
from rulec.verify.firewall_probes import derive
from rulec.verify.world import POOLS

SID_BLOCK = 1_000_000
CONFIG = """%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[{home_net}]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups: {{}}
firewall:
  enabled: yes
default-log-dir: "{log_dir}"
logging:
  default-log-level: warning
  outputs:
    - console: {{enabled: no}}
    - file: {{enabled: yes, level: warning, filename: suricata.log}}
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - alert
        - drop:
            alerts: yes
            flows: all
        - flow
app-layer:
  protocols:
    tls: {{enabled: yes, detection-ports: {{dp: 443}}}}
    http: {{enabled: yes}}
    ssh: {{enabled: yes}}
    ftp: {{enabled: yes}}
    dns: {{tcp: {{enabled: yes}}, udp: {{enabled: yes}}}}
stream:
  checksum-validation: no
classification-file: /dev/null
reference-config-file: /dev/null
"""


def require_firewall_mode(binary: str) -> str:
    """The Suricata version of `binary`; bad input when it has no firewall mode (before 8)."""
    version = engine.suricata_version(binary)
    if engine.suricata_major(version) < 8:
        raise RulecError(
            f"engine: next-gen is verified on Suricata's firewall mode, which needs Suricata 8.0 or later; "
            f"{binary} is Suricata {version or 'of unknown version'}: use --suricata suricata8 (or RULEC_SURICATA)"
        )
    return version


def ruleset(plan) -> tuple[str, dict[int, engine.RuleRef], list[str]]:
    """The groups' rules in policy priority order, in Suricata 8.0.x's dialect, SIDs made unique per group;
    a map back to (group, sid); and the hook names that were translated."""
    lines, refs, translated = [], {}, {}
    for i, group in enumerate(sorted(plan.nextgen.groups, key=lambda g: g.priority), start=1):
        request = aws_nextgen.group_request(group)
        for doc in request["FirewallRuleGroup"]["RulesSource"]["FirewallRules"]:
            sid = int(next(o["Settings"][0] for o in doc["RuleOptions"] if o["Keyword"] == "sid"))
            unique = i * SID_BLOCK + sid
            doc = dict(doc, RuleOptions=[o for o in doc["RuleOptions"] if o["Keyword"] != "sid"])
            doc["RuleOptions"].append({"Keyword": "sid", "Settings": [str(unique)]})
            try:
                native = hooks.suricata_hook(doc["Hook"])
            except hooks.Refused as exc:
                raise RulecError(f"{plan.region}: {group.name} sid {sid}: {exc}") from None
            if native != aws_nextgen.aws_hook(doc["Hook"]):
                translated[aws_nextgen.aws_hook(doc["Hook"])] = native
            lines.append(aws_nextgen.rule_text(doc, hook=lambda _key, n=native: n))
            refs[unique] = engine.RuleRef(group.name, sid)
    notes = [f"{aws} -> {native}" for aws, native in sorted(translated.items())]
    return "".join(line + "\n" for line in lines), refs, notes


def _addresses(home_net: tuple[str, ...], count: int) -> list[str]:
    nets = [ipaddress.ip_network(c) for c in home_net]
    for pool in map(ipaddress.ip_network, POOLS):
        if not any(pool.overlaps(n) for n in nets) and pool.num_addresses > count + 2:
            return [str(pool.network_address + 1 + i) for i in range(count)]
    raise RulecError("HOME_NET covers every address pool rulec probes towards; narrow HOME_NET")


def run(plan, pcap: bytes, key, binary: str, rules: str, refs: dict, servers: list[str]) -> dict[int, FwResult]:
    with tempfile.TemporaryDirectory(prefix="rulec-verify-fw-") as tmp:
        work = Path(tmp)
        (work / "suricata.yaml").write_text(CONFIG.format(home_net=",".join(plan.resolved.home_net), log_dir=work))
        (work / "firewall.rules").write_text(rules)
        (work / "probes.pcap").write_bytes(pcap)
        cmd = [binary, "-c", str(work / "suricata.yaml"), f"--firewall-rules-exclusive={work / 'firewall.rules'}"]
        cmd += ["-r", str(work / "probes.pcap"), "-l", str(work), "--simulate-ips", "-k", "none"]
        cmd += ["--runmode", "single", "--init-errors-fatal"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        log = (work / "suricata.log").read_text() if (work / "suricata.log").exists() else ""
        if proc.returncode != 0:
            raise RulecError(f"Suricata failed (exit {proc.returncode}): {(proc.stderr or log).strip()[-2000:]}")
        eve = work / "eve.json"
        return parse_eve(eve.read_text() if eve.exists() else "", key, refs, servers)


@dataclass
class FwResult:
    dropped: bool = False  # any packet of the flow dropped
    client_dropped: bool = False  # a packet from the client dropped: its bytes did not get out
    by: engine.RuleRef | None = None
    app_proto: str | None = None


def parse_eve(text: str, key, refs: dict, servers: list[str]) -> dict[int, FwResult]:
    """Per probe: what was dropped (drop events, blocked alerts, a flow whose action is drop), by which rule."""
    results: dict[int, FwResult] = {}
    for line in text.splitlines():
        event = json.loads(line)
        k = key(event)
        if k is None:
            continue
        r = results.setdefault(k, FwResult())
        kind = event.get("event_type")
        if kind == "flow":
            r.app_proto = r.app_proto or event.get("app_proto")
            if event.get("flow", {}).get("action") == "drop":
                r.dropped = r.client_dropped = True
        elif kind in ("drop", "alert"):
            alert = event.get("alert") or {}
            if kind == "drop" or alert.get("action") == "blocked":
                r.dropped = True
                r.client_dropped = r.client_dropped or event.get("src_ip") != servers[k]
                sid = alert.get("signature_id")
                if sid in refs and r.by is None:
                    r.by = refs[sid]
    return results


def verify_region(plan, extra: list, suricata: str | None = None) -> RegionReport:
    """Classic's verify_region for a next-gen plan: built-in probes plus `extra`, one Suricata 8 run."""
    started = time.perf_counter()
    binary = engine.suricata_path(suricata)
    version = require_firewall_mode(binary)
    probes = derive(plan) + [p for p in extra if getattr(p, "region", None) in (None, plan.region)]
    client = next((h for h in map(_client, plan.resolved.home_net) if h), None)
    if client is None:
        raise RulecError(f"{plan.region}: verify needs an IPv4 block in home_net")
    pool = _addresses(tuple(plan.resolved.home_net), len(probes))
    servers = [p.dst or pool[i] for i, p in enumerate(probes)]
    by_server: dict[str, list[tuple[int, int]]] = {}
    for i, (p, ip) in enumerate(zip(probes, servers, strict=True)):
        by_server.setdefault(ip, []).append((i, p.port))

    def key(event: dict) -> int | None:
        for ip, port in ((event.get("dest_ip"), event.get("dest_port")), (event.get("src_ip"), event.get("src_port"))):
            found = by_server.get(ip, [])
            if len(found) == 1:
                return found[0][0]
            if found:
                return next((i for i, p in found if p == port), None)
        return None

    rules, refs, translated = ruleset(plan)
    results = run(plan, synthesize(probes, client, servers), key, binary, rules, refs, servers)
    verdicts = []
    for i, p in enumerate(probes):
        r = results.get(i, FwResult())
        # a pass means nothing of the flow was dropped; a drop means the client's bytes were stopped (the server's
        # answers being dropped while the client's data leaves is not a drop)
        dropped = r.dropped if p.expect == "pass" else r.client_dropped
        verdicts.append(Verdict(p, dropped, r.by, r.app_proto))
    notes = [
        (
            f"engine: next-gen, verified on Suricata {version}'s firewall mode (experimental upstream; AWS runs 8.0.3); "
            "FirewallDefaultAction DROP is Suricata's built-in firewall default"
        ),
        "translated AWS hook names through rulec/verify/hooks.py: " + (", ".join(translated) or "none needed"),
    ]
    if plan.nextgen.mode == "MONITOR":
        notes.append("firewall_policy.mode is monitor: AWS blocks nothing; these are the verdicts of enforce")
    if plan.nextgen.validation is not None:
        notes.append("resolved_ip_validation is emitted in the V2 policy but not modelled by this run")
    return RegionReport(plan.region, verdicts, notes, time.perf_counter() - started)


def _client(cidr: str) -> str | None:
    net = ipaddress.ip_network(cidr)
    return None if net.version != 4 else str(net.network_address + min(10, max(net.num_addresses - 2, 0)))
