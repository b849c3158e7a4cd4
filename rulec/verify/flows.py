"""A probe as the engine model sees it: which transport, which application protocol Suricata detects in it,
which name it carries."""

from __future__ import annotations

from rulec.verify import model
from rulec.verify.probes import Probe

_APP = {"tls": "tls", "http": "http", "ssh": "ssh", "ftp": "ftp"}
_SIGNATURES = (  # what a raw payload is detected as (the probes rulec sends)
    (b"PRI * HTTP/2.0", "http2"),
    (b"\x16\x03", "tls"),
    (b"GET ", "http"),
    (b"POST ", "http"),
    (b"SSH-", "ssh"),
)


def _detected(payload: bytes | None) -> str | None:
    return next((app for head, app in _SIGNATURES if payload and payload.startswith(head)), None)


def _http_host(raw: bytes) -> str | None:
    for line in raw.split(b"\r\n")[1:]:
        if line.lower().startswith(b"host:"):
            return line[5:].strip().decode("ascii", "replace")
    return None


def flow_of(p: Probe, src: str, dst: str) -> model.Flow:
    if p.kind == "icmp":
        return model.Flow("icmp", None, dst, 0, src, ip_proto=1)
    if p.kind == "ip":
        return model.Flow("ip", None, dst, 0, src, ip_proto=p.port)
    if p.kind == "udp":  # Suricata detects the DNS query rulec sends to port 53; nothing else it sends over UDP
        return model.Flow("udp", "dns" if p.port == 53 and p.payload else None, dst, p.port, src, ip_proto=17)
    if p.kind == "syn":
        return model.Flow("tcp", None, dst, p.port, src, data=False, syn_payload=True)
    if p.kind == "http":
        host = _http_host(p.http_raw) if p.http_raw is not None else (p.host or None)
        return model.Flow("tcp", "http", dst, p.port, src, host, split=p.split is not None)
    if p.kind == "tls":
        return model.Flow("tcp", "tls", dst, p.port, src, p.host or None, split=p.split is not None)
    if p.kind in _APP:
        return model.Flow("tcp", _APP[p.kind], dst, p.port, src)
    if p.port == 53 and p.payload and len(p.payload) > 2 and int.from_bytes(p.payload[:2], "big") == len(p.payload) - 2:
        return model.Flow("tcp", "dns", dst, p.port, src)  # DNS over TCP: a length-prefixed query
    return model.Flow("tcp", _detected(p.payload), dst, p.port, src)
