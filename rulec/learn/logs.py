"""Read Network Firewall alert and flow logs, streaming, into per-name observations of blocked traffic.

Accepted, line by line and in any mix: the service's JSON-lines envelope (`firewall_name`,
`availability_zone`, `event_timestamp`, `event` = a Suricata EVE event), gzip as delivered to S3 or plain,
lines exported from CloudWatch Logs (a timestamp before the JSON), and bare EVE JSON (Suricata's own
eve.json, such as `rulec verify` produces). Memory stays bounded: only per-name counters are kept, each
with a capped sample of client addresses, and at most MAX_NAMES names.
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rulec.errors import Position, error_at

MAX_CLIENTS = 20  # client addresses kept per name (the report says when there were more)
MAX_NAMES = 200_000  # distinct (region, name) pairs tracked; beyond that events are counted, not kept
MAX_LINE = 1 << 20  # bytes; a longer line is no log event (EVE lines are a few kB)
PROGRESS_EVERY = 1 << 20  # bytes of input between progress callbacks
# EVE event types Suricata and Network Firewall write that carry no verdict on a name: read and skipped
SKIPPED_TYPES = frozenset(
    {
        *("netflow", "flow", "drop", "tls", "http", "dns", "fileinfo", "anomaly", "stats", "ssh", "ftp", "ftp_data"),
        *("smtp", "smb", "nfs", "krb5", "dhcp", "snmp", "sip", "rdp", "rfb", "mqtt", "http2", "quic", "ike", "tftp"),
        *("dnp3", "modbus", "bittorrent-dht", "pgsql", "websocket", "frame", "arp", "tls_error"),
    }
)
_AZ = re.compile(r"^([a-z]{2}(?:-gov)?-[a-z]+-\d)[a-z]+$")

Progress = Callable[[int, int], None]


@dataclass
class Seen:
    """What the logs say about one blocked name in one region."""

    hits: int = 0
    first: float | None = None  # epoch seconds, UTC
    last: float | None = None
    clients: set[str] = field(default_factory=set)
    more_clients: bool = False
    protocols: set[str] = field(default_factory=set)
    unique_sources: int | None = None  # from a traffic analysis report (it has no addresses)

    def add(self, when: float | None, client: str | None, protocol: str) -> None:
        self.hits += 1
        self.protocols.add(protocol)
        if when is not None:
            self.first = when if self.first is None else min(self.first, when)
            self.last = when if self.last is None else max(self.last, when)
        if client:
            if len(self.clients) < MAX_CLIENTS:
                self.clients.add(client)
            elif client not in self.clients:
                self.more_clients = True


@dataclass
class Problem:
    count: int
    first_at: str  # file:line of the first occurrence


@dataclass
class Observations:
    """Everything read: blocked names per (region, name), and counts of what was skipped and why."""

    names: dict[tuple[str | None, str], Seen] = field(default_factory=dict)
    source: str = "logs"  # or "analysis-report"
    files: int = 0
    lines: int = 0
    events: int = 0
    blocked: int = 0
    allowed: int = 0
    unnamed_blocked: int = 0  # blocked events without an SNI or Host (denied protocols, no SNI)
    untracked: int = 0  # blocked events of names beyond MAX_NAMES
    skipped: dict[str, int] = field(default_factory=dict)  # event type -> count (no verdict on a name)
    bad: dict[str, Problem] = field(default_factory=dict)  # reason -> count and first place
    firewalls: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def problem(self, reason: str, where: str) -> None:
        if reason in self.bad:
            self.bad[reason].count += 1
        else:
            self.bad[reason] = Problem(1, where)

    def seen(self, region: str | None, name: str) -> Seen | None:
        key = (region, name)
        s = self.names.get(key)
        if s is None:
            if len(self.names) >= MAX_NAMES:
                return None
            s = self.names[key] = Seen()
        return s


def region_of(zone: object) -> str | None:
    """`us-east-1b` -> `us-east-1`; zone IDs (`use1-az1`) and anything else -> None."""
    m = _AZ.match(zone) if isinstance(zone, str) else None
    return m.group(1) if m else None


def _epoch(envelope: dict | None, event: dict) -> float | None:
    raw = envelope.get("event_timestamp") if envelope else None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str) and raw.isdigit():
        return float(raw)
    stamp = event.get("timestamp")
    if isinstance(stamp, str):
        try:
            t = datetime.datetime.fromisoformat(stamp)
        except ValueError:
            return None
        return (t if t.tzinfo else t.replace(tzinfo=datetime.UTC)).timestamp()
    return None


_DECODER = json.JSONDecoder()


def _parse(line: bytes) -> object:
    text = line.decode("utf-8", "replace")
    try:
        return _DECODER.decode(text)
    except ValueError:
        start = text.find("{")  # CloudWatch Logs export: "2026-11-28T07:00:00.000Z {...}"
        if start <= 0:
            raise
        return _DECODER.decode(text[start:])


def read_event(obs: Observations, line: bytes, where: str) -> None:
    """Account for one log line."""
    try:
        obj = _parse(line)
    except ValueError:
        obs.problem("not JSON (a truncated or foreign line)", where)
        return
    if not isinstance(obj, dict):
        obs.problem("JSON but not an object", where)
        return
    envelope, event = (obj, obj["event"]) if isinstance(obj.get("event"), dict) else (None, obj)
    kind = event.get("event_type")
    if kind is None and "tls_error" in event:
        kind = "tls_error"  # Network Firewall's TLS log: no event_type
    if not isinstance(kind, str):
        obs.problem("no event_type (not a Network Firewall or Suricata EVE event)", where)
        return
    obs.events += 1
    if envelope and isinstance(envelope.get("firewall_name"), str):
        obs.firewalls.add(envelope["firewall_name"])
    if kind != "alert":
        if kind in SKIPPED_TYPES:
            obs.skipped[kind] = obs.skipped.get(kind, 0) + 1
        else:
            obs.problem(f"unknown event type '{kind[:40]}'", where)
        return
    alert = event.get("alert")
    action = alert.get("action") if isinstance(alert, dict) else None
    if action != "blocked":
        obs.allowed += action == "allowed"
        obs.skipped["alert (not blocked)"] = obs.skipped.get("alert (not blocked)", 0) + 1
        return
    obs.blocked += 1
    name, protocol = _name(event)
    if not name:
        obs.unnamed_blocked += 1
        return
    region = region_of(envelope.get("availability_zone")) if envelope else None
    seen = obs.seen(region, name)
    if seen is None:
        obs.untracked += 1
        return
    client = event.get("src_ip")
    seen.add(_epoch(envelope, event), client if isinstance(client, str) else None, protocol)


def _name(event: dict) -> tuple[str | None, str]:
    for key, field_, protocol in (("tls", "sni", "TLS"), ("http", "hostname", "HTTP")):
        part = event.get(key)
        value = part.get(field_) if isinstance(part, dict) else None
        if isinstance(value, str) and value.strip(". "):
            return value.strip().lower().rstrip("."), protocol
    return None, ""


class _Counting:
    """A binary file that reports how many bytes were read from the disk (compressed, for gzip)."""

    def __init__(self, fh, progress: Callable[[int], None]):
        self.fh, self.progress, self.done, self.reported = fh, progress, 0, 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.done += len(data)
        if self.done - self.reported >= PROGRESS_EVERY:
            self.reported = self.done
            self.progress(self.done)
        return data

    read1 = read

    def __getattr__(self, name: str):
        return getattr(self.fh, name)


def read(paths: list[Path], progress: Progress | None = None) -> Observations:
    """Read every file in `paths`; bad content is counted in `Observations.bad`, never raised."""
    obs = Observations()
    sizes = []
    for p in paths:
        try:
            sizes.append(p.stat().st_size)
        except OSError as exc:
            raise error_at(Position(str(p)), f"cannot read log file: {exc.strerror}") from None
        if p.is_dir():
            raise error_at(Position(str(p)), "is a directory; pass the log files (a shell glob works)")
    total, before = sum(sizes), 0
    for path, size in zip(paths, sizes, strict=True):
        done = before

        def tick(n: int, base: int = before) -> None:
            if progress:
                progress(base + n, total)

        _read_file(obs, path, tick)
        before = done + size
        if progress:
            progress(before, total)
    return obs


def _read_file(obs: Observations, path: Path, tick: Callable[[int], None]) -> None:
    obs.files += 1
    n = 0
    try:
        with path.open("rb") as raw:
            counted = _Counting(raw, tick)
            is_gzip = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=counted, mode="rb") if is_gzip else counted
            for n, line in enumerate(_lines(stream), start=1):
                obs.lines += 1
                if line is None:
                    obs.problem(f"line longer than {MAX_LINE // 2**20} MiB (skipped)", f"{path}:{n}")
                elif line.strip():
                    read_event(obs, line, f"{path}:{n}")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        reason = "truncated gzip (the file ends early)" if isinstance(exc, EOFError) else "corrupt gzip data"
        obs.problem(reason, f"{path}:{n + 1}")
    except OSError as exc:
        obs.problem(f"unreadable file ({exc.strerror or exc})", str(path))


def _lines(fh) -> Iterator[bytes | None]:
    """The lines read through `fh` (so progress is counted); None for a line over MAX_LINE, which is
    skipped without being held in memory."""
    rest, skipping = b"", False
    read = getattr(fh, "read1", fh.read)  # gzip: what one input chunk gives, so a truncated file loses little
    while chunk := read(1 << 16):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        if skipping and parts:
            parts[0], skipping = None, False
        elif skipping:
            rest = b""
        yield from parts
        if len(rest) > MAX_LINE:
            rest, skipping = b"", True
    if skipping:
        yield None
    elif rest:
        yield rest
