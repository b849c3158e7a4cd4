"""Synthesize probe traffic as a pcap: real TCP handshakes, a TLS ClientHello with SNI (optionally padded to
post-quantum size and split across two TCP segments), an HTTP request with Host or raw, SSH and FTP banners,
ICMP echo, raw TCP and UDP payloads. Pure Python, IPv4 over Ethernet, written to a file as it is built.

Speed matters (tens of thousands of probes): addresses are packed once per flow, and checksums use the
identity that a one's-complement sum of 16-bit words is the number modulo 0xFFFF."""

from __future__ import annotations

import hashlib
import socket
import struct
from typing import BinaryIO

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
_ETHER = bytes.fromhex("0200000000020200000000010800")  # to the server, from the client
_ETHER_BACK = bytes.fromhex("0200000000010200000000020800")
_TCP = struct.Struct("!HHIIBBHHH")
_IP = struct.Struct("!BBHHHBBH4s4s")
_REC = struct.Struct("<IIII")


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = int.from_bytes(data, "big") % 0xFFFF
    if total == 0 and any(data):
        total = 0xFFFF
    return ~total & 0xFFFF


class Pcap:
    """A pcap file written to `out` (or kept in memory); each packet 1 ms after the previous one."""

    def __init__(self, out: BinaryIO | None = None) -> None:
        self._chunks: list[bytes] = []
        self._write = out.write if out is not None else self._chunks.append
        self._write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self._usec = 0
        self._ident = 0

    def bytes(self) -> bytes:
        return b"".join(self._chunks)

    def packet(self, src: bytes, dst: bytes, proto: int, segment: bytes, from_client: bool = True) -> None:
        """One IPv4 packet from packed address `src` to `dst` carrying `segment` (checksummed already)."""
        self._ident = ident = (self._ident + 1) & 0xFFFF
        total = 20 + len(segment)
        # the header's 16-bit words, summed modulo 0xFFFF: 0x4500, length, ident, 0x4000 (DF), TTL 64 | proto, addresses
        words = (0xC500 + proto + total + ident + int.from_bytes(src + dst, "big")) % 0xFFFF
        header = _IP.pack(0x45, 0, total, ident, 0x4000, 64, proto, ~(words or 0xFFFF) & 0xFFFF, src, dst)
        self._usec += 1000
        n = 14 + total
        record = _REC.pack(1_700_000_000 + self._usec // 1_000_000, self._usec % 1_000_000, n, n)
        self._write(b"".join((record, _ETHER if from_client else _ETHER_BACK, header, segment)))

    def udp(self, src: str, dst: str, sport: int, dport: int, payload: bytes) -> None:
        s, d = socket.inet_aton(src), socket.inet_aton(dst)
        seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        csum = _checksum(s + d + struct.pack("!BBH", 0, 17, len(seg)) + seg) or 0xFFFF
        self.packet(s, d, 17, seg[:6] + csum.to_bytes(2, "big") + seg[8:])

    def icmp_echo(self, src: str, dst: str, ident: int) -> None:
        s, d = socket.inet_aton(src), socket.inet_aton(dst)
        for kind, a, b, from_client in ((8, s, d, True), (0, d, s, False)):
            body = struct.pack("!BBHHH", kind, 0, 0, ident & 0xFFFF, 1) + b"rulec-verify"
            self.packet(a, b, 1, body[:2] + _checksum(body).to_bytes(2, "big") + body[4:], from_client)


class TcpFlow:
    """One TCP connection between a client and a server, written packet by packet into a Pcap."""

    def __init__(self, pcap: Pcap, client: str, server: str, sport: int, dport: int):
        self.pcap, self.sport, self.dport = pcap, sport, dport
        self.c, self.s = socket.inet_aton(client), socket.inet_aton(server)
        seed = hashlib.sha256(f"{client}:{sport}>{server}:{dport}".encode()).digest()
        self.cseq, self.sseq = int.from_bytes(seed[:4], "big"), int.from_bytes(seed[4:8], "big")
        self._pseudo_sum = int.from_bytes(self.c + self.s, "big") + 6  # addresses + protocol (length added later)

    def _seg(self, from_client: bool, flags: int, payload: bytes = b"") -> None:
        if from_client:
            src, dst, sp, dp, seq, ack = self.c, self.s, self.sport, self.dport, self.cseq, self.sseq
        else:
            src, dst, sp, dp, seq, ack = self.s, self.c, self.dport, self.sport, self.sseq, self.cseq
        seq &= 0xFFFFFFFF
        ack = ack & 0xFFFFFFFF if flags & ACK else 0
        body = int.from_bytes(payload + b"\0" if len(payload) % 2 else payload, "big")
        # pseudo-header + header words + payload, modulo 0xFFFF (a 32-bit field counts as its two words)
        words = (self._pseudo_sum + 20 + len(payload) + sp + dp + seq + ack + (0x5000 | flags) + 64240 + body) % 0xFFFF
        head = _TCP.pack(sp, dp, seq, ack, 0x50, flags, 64240, ~(words or 0xFFFF) & 0xFFFF, 0)
        self.pcap.packet(src, dst, 6, head + payload, from_client)
        advance = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if from_client:
            self.cseq += advance
        else:
            self.sseq += advance

    def syn(self, data: bytes) -> TcpFlow:
        """Only a SYN that carries data (TCP Fast Open), no handshake after it."""
        self._seg(True, SYN, data)
        return self

    def open(self) -> TcpFlow:
        self._seg(True, SYN)
        self._seg(False, SYN | ACK)
        self._seg(True, ACK)
        return self

    def client_says(self, data: bytes, split: int | None = None) -> TcpFlow:
        """Send `data`; with `split`, as two segments cut at that byte, back to back, then the server's ACK."""
        if split and 0 < split < len(data):
            self._seg(True, ACK, data[:split])
            self._seg(True, PSH | ACK, data[split:])
        else:
            self._seg(True, PSH | ACK, data)
        self._seg(False, ACK)
        return self

    def server_says(self, data: bytes) -> TcpFlow:
        self._seg(False, PSH | ACK, data)
        self._seg(True, ACK)
        return self

    def close(self) -> None:
        self._seg(True, FIN | ACK)
        self._seg(False, FIN | ACK)
        self._seg(True, ACK)


def client_hello(sni: str | None, pad: int | None = None) -> bytes:
    """A TLS 1.2/1.3 ClientHello record naming `sni` exactly as given (None or "": no server_name extension).

    With `pad`, a padding extension (RFC 7685) placed before server_name brings the record to `pad` bytes, as
    post-quantum key shares do (about 1.8 KB): the name then comes late, after any realistic segment cut."""
    name = (sni or "").encode("ascii")
    extensions = []
    if name:
        extensions.append((0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name))
    extensions += [
        (10, struct.pack("!HHHH", 6, 0x001D, 0x0017, 0x0018)),
        (13, struct.pack("!HHHH", 6, 0x0403, 0x0804, 0x0401)),
        (43, struct.pack("!BHH", 4, 0x0304, 0x0303)),
    ]
    digest = hashlib.sha256(name).digest()
    fixed = (
        b"\x03\x03" + digest + b"\x20" + digest + struct.pack("!HHHHH", 8, 0x1301, 0x1302, 0xC02F, 0xC030) + b"\x01\x00"
    )

    def record(exts: list[tuple[int, bytes]]) -> bytes:
        ext = b"".join(struct.pack("!HH", kind, len(body)) + body for kind, body in exts)
        body = fixed + struct.pack("!H", len(ext)) + ext
        handshake = b"\x01" + len(body).to_bytes(3, "big") + body
        return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake

    plain = record(extensions)
    if pad is None:
        return plain
    if pad < len(plain) + 4:
        raise ValueError(f"pad {pad} is smaller than this ClientHello needs ({len(plain) + 4} bytes)")
    return record([(21, b"\0" * (pad - len(plain) - 4)), *extensions])


def http_request(host: str | None) -> bytes:
    """A GET with `host` exactly as given (None or "": no Host header)."""
    head = f"Host: {host}\r\n" if host else ""
    return f"GET / HTTP/1.1\r\n{head}User-Agent: rulec-verify\r\nAccept: */*\r\n\r\n".encode("latin-1")


HTTP_RESPONSE = b"HTTP/1.1 204 No Content\r\nServer: rulec-verify\r\nContent-Length: 0\r\n\r\n"
SSH_BANNER = b"SSH-2.0-OpenSSH_9.6\r\n"
FTP_GREETING = b"220 rulec-verify FTP ready\r\n"
