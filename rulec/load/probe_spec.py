"""Load stage: the probes `rulec verify` sends (`verify.probes` in a policy, or a `--probes` file)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from rulec.load.base import Model as _Model


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


class HttpRaw(_Model):
    raw: Annotated[str, AfterValidator(_payload), Field(min_length=1)] = Field(
        description="The whole request, sent as written (YAML escapes such as \\r\\n, or hex:...)"
    )


class Probe(_Model):
    """A connection `rulec verify` sends through the rule groups, and the verdict it must get."""

    kind: Literal["tls", "http", "ssh", "ftp", "icmp", "tcp", "udp", "syn", "ip"] = Field(
        description="syn: a TCP SYN carrying `payload` (TCP Fast Open); ip: another IP protocol, `port` = its number"
    )
    host: Annotated[str, AfterValidator(_probe_host)] | None = Field(
        default=None, description='SNI / Host, sent exactly as written (no normalisation); "" sends none'
    )
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    src: Annotated[str, AfterValidator(_ipv4)] | None = Field(
        default=None, description="Client address (default: a host in the region's first HOME_NET block)"
    )
    dst: Annotated[str, AfterValidator(_ipv4)] | None = Field(
        default=None, description="Server address (default: a fresh address outside HOME_NET)"
    )
    payload: Annotated[str, AfterValidator(_payload)] | None = Field(
        default=None, description="tcp/udp: the bytes the client sends (YAML escapes, or hex:...)"
    )
    pad: Annotated[int, Field(ge=512, le=16_000)] | None = Field(
        default=None, description="tls: pad the ClientHello record to this many bytes (1800 = post-quantum size)"
    )
    split: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="tls/http/tcp: cut the client's first message into two TCP segments here"
    )
    http: HttpRaw | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")] | None = Field(
        default=None, description="Only in this region"
    )
    expect: Literal["pass", "drop"]

    @model_validator(mode="after")
    def _host(self) -> Probe:
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
        return self


class VerifySpec(_Model):
    probes: list[Probe] = []
