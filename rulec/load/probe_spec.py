"""Load stage: the probes `rulec verify` sends (`verify.probes` in a policy, or a `--probes` file)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from rulec.load.schema import After, Constraint, Model, field, model_check


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


class HttpRaw(Model):
    raw: Annotated[str, After(_payload), Constraint(min_length=1)] = field(
        description="The whole request, sent as written (YAML escapes such as \\r\\n, or hex:...)"
    )


class Probe(Model):
    """A connection `rulec verify` sends through the rule groups, and the verdict it must get."""

    kind: Literal["tls", "http", "ssh", "ftp", "icmp", "tcp", "udp", "syn", "ip"] = field(
        description="syn: a TCP SYN carrying `payload` (TCP Fast Open); ip: another IP protocol, `port` = its number"
    )
    host: Annotated[str, After(_probe_host)] | None = field(
        None, description='SNI / Host, sent exactly as written (no normalisation); "" sends none'
    )
    port: Annotated[int, Constraint(ge=1, le=65535)] | None = None
    src: Annotated[str, After(_ipv4)] | None = field(
        None, description="Client address (default: a host in the region's first HOME_NET block)"
    )
    dst: Annotated[str, After(_ipv4)] | None = field(
        None, description="Server address (default: a fresh address outside HOME_NET)"
    )
    payload: Annotated[str, After(_payload)] | None = field(
        None, description="tcp/udp: the bytes the client sends (YAML escapes, or hex:...)"
    )
    pad: Annotated[int, Constraint(ge=512, le=16_000)] | None = field(
        None, description="tls: pad the ClientHello record to this many bytes (1800 = post-quantum size)"
    )
    split: Annotated[int, Constraint(ge=1)] | None = field(
        None, description="tls/http/tcp: cut the client's first message into two TCP segments here"
    )
    http: HttpRaw | None = None
    region: Annotated[str, Constraint(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")] | None = field(
        None, description="Only in this region"
    )
    expect: Literal["pass", "drop"]

    @model_check
    def _host(self) -> None:
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


class VerifySpec(Model):
    probes: list[Probe] = field([])
