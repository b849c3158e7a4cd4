"""Run Suricata offline, in simulated IPS mode, over all rule groups of one region at once, and read
back which flows it dropped (and by which rule)."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

from rulec.compile.ir import DomainListGroup, Group
from rulec.emit import suricata as emit_suricata
from rulec.errors import RulecError

SID_BLOCK = 1_000_000  # group i's rules get SIDs i*SID_BLOCK + n, so groups never collide in one run

_CONFIG = """%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[{home_net}]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups: {{}}
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
action-order: [pass, drop, reject, alert]
stream:
  checksum-validation: no
classification-file: /dev/null
reference-config-file: /dev/null
"""


@dataclass(frozen=True)
class RuleRef:
    group: str
    sid: int  # the SID inside its group (as in the .rules file)


@dataclass
class FlowResult:
    dropped: bool = False
    by: RuleRef | None = None
    app_proto: str | None = None


def suricata_path(explicit: str | None = None) -> str:
    """The Suricata to run: `explicit` (--suricata), else $RULEC_SURICATA, else `suricata` on PATH."""
    chosen = explicit or os.environ.get("RULEC_SURICATA") or None
    if chosen:
        path = shutil.which(chosen)
        if not path:
            how = "--suricata" if explicit else "RULEC_SURICATA"
            raise RulecError(f"{how} names '{chosen}', which is not an executable Suricata")
        return path
    path = shutil.which("suricata")
    if not path:
        raise RulecError(
            "Suricata is not installed (rulec verify runs it offline). Install it with "
            "`bash scripts/setup.sh` (Suricata 7 and 8), or name one with --suricata PATH or RULEC_SURICATA"
        )
    return path


def suricata_version(path: str | None = None) -> str:
    out = subprocess.run([path or suricata_path(), "-V"], capture_output=True, text=True, check=False).stdout
    return out.strip().removeprefix("This is Suricata version ").removesuffix("RELEASE").strip()


class Adapter:
    """Makes AWS's rules runnable on open-source Suricata, saying what it changed: rules newer than the running
    Suricata are left out (their verdicts are reported as differences), and the resolved-domain keyword AWS adds
    becomes a destination-address match on the addresses the modelled resolver returned."""

    def __init__(self, major: int = 8, resolved_for: Callable[[str], set[str]] | None = None):
        self.major = major
        self.resolved_for = resolved_for
        self.notes: list[str] = []
        self.left_out: list[RuleRef] = []

    def rule(self, text: str) -> str:
        match = _RESOLVED.search(text)
        if match is None:
            return text
        if self.resolved_for is None:
            raise RulecError("verify cannot model aws_route_53_resolved_domain without the probes' addresses")
        addresses = sorted(set().union(*(self.resolved_for(n) for n in match.group(1).split(","))))
        where = f"[{','.join(addresses)}]" if addresses else _NEVER
        head, _, body = text.partition(" (")
        parts = head.split(" ")
        parts[5] = where  # action proto src sport arrow DST dport
        return " ".join(parts) + " (" + body.replace(match.group(0), "")


_RESOLVED = re.compile(r' ?aws_route_53_resolved_domain:"([^"]*)";')
_NEVER = "192.0.2.255"  # TEST-NET-1: no probe ever uses it, so a rule with no resolved address never matches


def ruleset(groups: tuple[Group, ...], adapter: Adapter | None = None) -> tuple[str, dict[int, RuleRef]]:
    """All groups' rules in one file with non-colliding SIDs, and a map back to (group, sid)."""
    adapter = adapter or Adapter()
    lines, refs = [], {}
    for i, group in enumerate(groups, start=1):
        if isinstance(group, DomainListGroup):
            rules = []
            for n, (review, rule) in enumerate(emit_suricata.domain_rules(group), start=1):
                rules.append(rule.replace(f" sid:{review}; rev:1;)", f" sid:{i * SID_BLOCK + n}; rev:1;)"))
                refs[i * SID_BLOCK + n] = RuleRef(group.name, review)
        else:
            rules = []
            for r in group.rules:
                if r.min_suricata > adapter.major:
                    adapter.left_out.append(RuleRef(group.name, r.sid))
                    adapter.notes.append(
                        f"Suricata {adapter.major} cannot load {group.name} sid {r.sid} ({r.note}); it is left out, "
                        f"and verdicts that depend on it differ from Network Firewall's Suricata 8"
                    )
                    continue
                rules.append(emit_suricata.stateful_rule(r, sid=i * SID_BLOCK + r.sid))
                refs[i * SID_BLOCK + r.sid] = RuleRef(group.name, r.sid)
        lines.extend(adapter.rule(rule) for rule in rules)
    return "".join(line + "\n" for line in lines), refs


def run(
    groups: tuple[Group, ...], home_net: tuple[str, ...], pcap: bytes, key: callable, suricata: str | None = None
) -> dict[object, FlowResult]:
    """Run Suricata over `pcap`; return results keyed by key(src_ip, dest_ip) for every event seen."""
    rules, refs = ruleset(groups)
    with tempfile.TemporaryDirectory(prefix="rulec-verify-") as tmp:
        work = Path(tmp)
        (work / "suricata.yaml").write_text(_CONFIG.format(home_net=",".join(home_net), log_dir=work))
        (work / "probes.rules").write_text(rules)
        (work / "probes.pcap").write_bytes(pcap)
        cmd = [
            suricata_path(suricata),
            "-c",
            str(work / "suricata.yaml"),
            "-S",
            str(work / "probes.rules"),
            "-r",
            str(work / "probes.pcap"),
            "-l",
            str(work),
            "--simulate-ips",
            "-k",
            "none",
            "--runmode",
            "single",
            "--init-errors-fatal",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        log = (work / "suricata.log").read_text() if (work / "suricata.log").exists() else ""
        if proc.returncode != 0:
            raise RulecError(f"Suricata failed (exit {proc.returncode}): {(proc.stderr or log).strip()[-2000:]}")
        results: dict[object, FlowResult] = {}
        eve = work / "eve.json"
        for line in eve.read_text().splitlines() if eve.exists() else []:
            event = json.loads(line)
            k = key(event.get("src_ip"), event.get("dest_ip"))
            if k is None:
                continue
            r = results.setdefault(k, FlowResult())
            kind = event.get("event_type")
            if kind == "flow":
                r.app_proto = r.app_proto or event.get("app_proto")
                if event.get("flow", {}).get("action") == "drop":
                    r.dropped = True
            elif kind in ("drop", "alert"):
                alert = event.get("alert") or {}
                if kind == "drop" or alert.get("action") == "blocked":
                    r.dropped = True
                    sid = alert.get("signature_id")
                    if sid in refs and r.by is None:
                        r.by = refs[sid]
        return results
