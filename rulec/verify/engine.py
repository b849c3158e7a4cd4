"""Run Suricata offline, in simulated IPS mode, over all rule groups of one region at once, and read
back which flows it dropped (and by which rule)."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from rulec.compile.ir import DomainListGroup, Group
from rulec.emit import suricata as emit_suricata
from rulec.errors import RulecError

SID_BLOCK = 1_000_000  # group i's rules get SIDs i*SID_BLOCK + n, so groups never collide in one run

_CONFIG = """%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[{home_net}]"
    EXTERNAL_NET: "{external_net}"
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
      types:{alert_type}
        - drop:
            alerts: yes
            flows: {drop_flows}
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
{mpm}"""


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


def suricata_major(version: str) -> int:
    """8 for "8.0.8"; a version Suricata did not print is bad input, not a crash."""
    head = version.split(".", 1)[0]
    if not head.isdigit():
        raise RulecError(f"cannot tell the Suricata version from '{version}' (`suricata -V`)")
    return int(head)


def suricata_version(path: str | None = None) -> str:
    return _version(path or suricata_path())


@lru_cache(maxsize=8)
def _version(path: str) -> str:
    """`suricata -V` once per binary (verify asks per region and the CLI once more)."""
    out = subprocess.run([path, "-V"], capture_output=True, text=True, check=False).stdout
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
        self.extra: list[tuple[str, RuleRef]] = []  # rules AWS applies outside any group, as rules (body, ref)

    def add(self, body: str, ref: RuleRef) -> None:
        """A rule modelling what the firewall policy does outside any group; `body` lacks the sid."""
        self.extra.append((body, ref))

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
    base = (len(groups) + 1) * SID_BLOCK
    for n, (body, ref) in enumerate(adapter.extra, start=1):
        lines.append(f"{body} sid:{base + n};)")
        refs[base + n] = ref
    return "".join(line + "\n" for line in lines), refs


# Measured on 8.0.8 (whole run, 8,014-probe pcap): ac-ks against the default (Hyperscan) takes 1.0 vs 2.3-3.1 s at
# 2,000 rules, 5.6 vs 12.8 s at 10,000, 13.6 vs 18.1 s at 20,000 (608 vs 203 MB), but 39.9 vs 34.4 s and
# 1.46 GB vs 365 MB at 50,000: ac-ks up to 20,000 rules, the default above.
AC_KS_MAX_RULES = 20_000


@dataclass(frozen=True)
class Options:
    """How Suricata runs. The defaults are the fast path; `straightforward()` is the plain one (every dropped
    packet logged, Suricata's own pattern matcher, the pcap written whole first) that tests compare it with."""

    timeout: float = 300.0  # seconds Suricata may take before verify gives up
    mpm: str = "auto"  # "auto" (ac-ks up to AC_KS_MAX_RULES rules), "default", or a Suricata mpm-algo
    drop_flows: str = "start"  # log each dropped flow once ("all": every dropped packet)
    stream_pcap: bool = True  # hand Suricata the pcap through a FIFO while it is still loading rules
    transform: Callable[[str], str] | None = None  # rewrites the rules text before Suricata runs (mutation tests)
    external_net: str = "!$HOME_NET"  # for groups that do not define their own: the firewall policy's
    adapter: Adapter | None = None  # how AWS's rules become runnable here (see Adapter)

    @classmethod
    def straightforward(cls, **kw) -> Options:
        return cls(mpm="default", drop_flows="all", stream_pcap=False, **kw)


def _config(home_net: tuple[str, ...], work: Path, options: Options, rule_count: int) -> str:
    mpm = options.mpm
    if mpm == "auto":
        mpm = "ac-ks" if rule_count <= AC_KS_MAX_RULES else "default"
    return _CONFIG.format(
        home_net=",".join(home_net),
        external_net=options.external_net,
        log_dir=work,
        alert_type="" if options.drop_flows == "start" else "\n        - alert",
        drop_flows=options.drop_flows,
        mpm="" if mpm == "default" else f"mpm-algo: {mpm}\n",
    )


def _feed(fifo: Path, pcap: Path, done: threading.Event, proc: subprocess.Popen, deadline: float) -> None:
    """Copy the pcap into the FIFO Suricata reads while it is still being written (following the file as
    `tail -f` does, until `done`), once Suricata opens the FIFO; never blocks for ever."""
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO or proc.poll() is not None or time.monotonic() > deadline:
                return  # Suricata is gone (or never opened the FIFO): its exit code or the timeout says why
            time.sleep(0.002)
    os.set_blocking(fd, True)
    try:
        with open(fd, "wb", closefd=True) as out, pcap.open("rb") as src:
            while True:
                finished = done.is_set()
                chunk = src.read(1 << 20)
                if chunk:
                    out.write(chunk)
                elif finished:
                    return
                else:
                    time.sleep(0.002)
    except OSError:
        pass  # Suricata stopped reading (a broken pipe): its exit code says why


_DECODE = json.JSONDecoder().decode  # on str: json.loads would first guess the encoding of every line


class _Timeout(Exception):
    pass


def _lines(path: Path, proc: subprocess.Popen | None, deadline: float) -> Iterator[bytes]:
    """The lines of a log that `proc` may still be writing, as they come (`tail -f`), until it exits."""
    pending, f = b"", None
    try:
        while True:
            running = proc is not None and proc.poll() is None
            if f is None and path.exists():
                f = path.open("rb")
            chunk = f.read(1 << 20) if f is not None else b""
            if chunk:
                *complete, pending = (pending + chunk).split(b"\n")
                yield from complete
            elif not running:
                break
            elif time.monotonic() > deadline:
                raise _Timeout
            else:
                time.sleep(0.003)
    finally:
        if f is not None:
            f.close()
    if pending.strip():
        yield pending


def events(path: Path, proc: subprocess.Popen | None = None, deadline: float = float("inf")) -> Iterator[dict]:
    """The EVE log one event at a time, followed while `proc` writes it and never read whole; a line that is
    not a JSON object is an error."""
    for n, line in enumerate(_lines(path, proc, deadline), start=1):
        try:
            event = _DECODE(line.decode("utf-8", "replace"))
        except ValueError as exc:
            raise RulecError(f"Suricata's EVE log {path.name} is garbled at line {n}: {exc}") from None
        if not isinstance(event, dict):
            raise RulecError(f"Suricata's EVE log {path.name} is garbled at line {n}: not a JSON object")
        yield event


def _fold(results: dict[object, FlowResult], event: dict, key: Callable[[dict], object], refs: dict) -> None:
    k = key(event)
    if k is None:
        return
    r = results.get(k)
    if r is None:
        r = results[k] = FlowResult()
    kind = event.get("event_type")
    if kind == "flow":
        r.app_proto = r.app_proto or event.get("app_proto")
        if (event.get("flow") or {}).get("action") == "drop":
            r.dropped = True
    elif kind in ("drop", "alert"):
        alert = event.get("alert") or {}
        if kind == "drop" or alert.get("action") == "blocked":
            r.dropped = True
            sid = alert.get("signature_id")
            if sid in refs and r.by is None:
                r.by = refs[sid]


def run(
    groups: tuple[Group, ...],
    home_net: tuple[str, ...],
    write_pcap: Callable[[BinaryIO], None],
    key: Callable[[dict], object],
    suricata: str | None = None,
    options: Options = Options(),
) -> dict[object, FlowResult]:
    """Run Suricata over the pcap that write_pcap(file) writes; results keyed by key(event) for every event.

    Fast path: Suricata starts first and loads the rules while the pcap is written and fed to it through a
    FIFO, and its EVE log is read as it is written."""
    rules, refs = ruleset(groups, options.adapter)
    if options.transform is not None:
        rules = options.transform(rules)
    binary = suricata_path(suricata)
    with tempfile.TemporaryDirectory(prefix="rulec-verify-") as tmp:
        work = Path(tmp)
        (work / "suricata.yaml").write_text(_config(home_net, work, options, len(refs)))
        (work / "probes.rules").write_text(rules)
        pcap, fifo = work / "probes.pcap", work / "probes.fifo"
        if options.stream_pcap:
            os.mkfifo(fifo)
        else:
            with pcap.open("wb") as f:
                write_pcap(f)
        cmd = [binary, "-c", str(work / "suricata.yaml"), "-S", str(work / "probes.rules")]
        cmd += ["-r", str(fifo if options.stream_pcap else pcap), "-l", str(work), "--simulate-ips", "-k", "none"]
        cmd += ["--runmode", "single", "--init-errors-fatal"]
        deadline = time.monotonic() + options.timeout
        results: dict[object, FlowResult] = {}
        feeder = None
        with (work / "stderr.txt").open("wb") as err, subprocess.Popen(cmd, stdout=err, stderr=err) as proc:
            try:
                if options.stream_pcap:
                    done = threading.Event()
                    pcap.touch()
                    feeder = threading.Thread(target=_feed, args=(fifo, pcap, done, proc, deadline), daemon=True)
                    feeder.start()
                    try:
                        with pcap.open("wb") as f:
                            write_pcap(f)
                    finally:
                        done.set()
                follow = proc if options.stream_pcap else None
                if follow is None:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
                for event in events(work / "eve.json", follow, deadline):
                    _fold(results, event, key, refs)
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except (subprocess.TimeoutExpired, _Timeout):
                raise RulecError(
                    f"Suricata did not finish within {options.timeout:g} s and was stopped; "
                    "raise --timeout for a very large policy"
                ) from None
            except RulecError:
                if proc.poll() is None or proc.returncode == 0:
                    raise
            finally:
                if proc.poll() is None:
                    proc.kill()
                if feeder is not None:
                    feeder.join()
        if proc.returncode != 0:
            log = work / "suricata.log"
            text = (work / "stderr.txt").read_text(errors="replace") + (
                log.read_text(errors="replace") if log.exists() else ""
            )
            errors = [line for line in text.splitlines() if "Error" in line or "error" in line]
            text = "\n".join(errors).strip() or text.strip()
            raise RulecError(f"Suricata failed (exit {proc.returncode}): {text[-2000:]}")
        return results
