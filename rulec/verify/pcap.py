"""Synthesize probe traffic as a pcap: real TCP handshakes, a TLS ClientHello with SNI, an HTTP request
with Host, SSH and FTP banners, ICMP echo, raw TCP and UDP. Pure Python, IPv4 over Ethernet."""

from __future__ import annotations

import hashlib
import ipaddress
import struct

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
_MAC_CLIENT = bytes.fromhex("020000000001")
_MAC_SERVER = bytes.fromhex("020000000002")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + payload


def _l4_checksum(src: bytes, dst: bytes, proto: int, segment: bytes) -> int:
    return _checksum(src + dst + struct.pack("!BBH", 0, proto, len(segment)) + segment)


class Pcap:
    """An in-memory pcap file; each packet gets a timestamp 1 ms after the previous one."""

    def __init__(self) -> None:
        self._chunks = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
        self._usec = 0
        self._ident = 0

    def bytes(self) -> bytes:
        return b"".join(self._chunks)

    def _frame(self, ip: bytes, from_client: bool) -> None:
        src, dst = (_MAC_CLIENT, _MAC_SERVER) if from_client else (_MAC_SERVER, _MAC_CLIENT)
        frame = dst + src + b"\x08\x00" + ip
        self._usec += 1000
        sec, usec = divmod(self._usec, 1_000_000)
        self._chunks.append(struct.pack("<IIII", 1_700_000_000 + sec, usec, len(frame), len(frame)) + frame)

    def ip(self, src: str, dst: str, proto: int, segment: bytes, from_client: bool = True) -> None:
        self._ident += 1
        self._frame(
            _ipv4(ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed, proto, segment, self._ident),
            from_client,
        )

    def udp(self, src: str, dst: str, sport: int, dport: int, payload: bytes) -> None:
        seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        csum = _l4_checksum(ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed, 17, seg) or 0xFFFF
        self.ip(src, dst, 17, seg[:6] + struct.pack("!H", csum) + seg[8:])

    def icmp_echo(self, src: str, dst: str, ident: int) -> None:
        for kind, a, b, from_client in ((8, src, dst, True), (0, dst, src, False)):
            body = struct.pack("!BBHHH", kind, 0, 0, ident & 0xFFFF, 1) + b"rulec-verify"
            self.ip(a, b, 1, body[:2] + struct.pack("!H", _checksum(body)) + body[4:], from_client)


class TcpFlow:
    """One TCP connection between a client and a server, written packet by packet into a Pcap."""

    def __init__(self, pcap: Pcap, client: str, server: str, sport: int, dport: int):
        self.pcap, self.client, self.server, self.sport, self.dport = pcap, client, server, sport, dport
        seed = hashlib.sha256(f"{client}:{sport}>{server}:{dport}".encode()).digest()
        self.cseq, self.sseq = int.from_bytes(seed[:4], "big"), int.from_bytes(seed[4:8], "big")

    def _seg(self, from_client: bool, flags: int, payload: bytes = b"") -> None:
        if from_client:
            src, dst, sp, dp, seq, ack = self.client, self.server, self.sport, self.dport, self.cseq, self.sseq
        else:
            src, dst, sp, dp, seq, ack = self.server, self.client, self.dport, self.sport, self.sseq, self.cseq
        seg = (
            struct.pack(
                "!HHIIBBHHH",
                sp,
                dp,
                seq & 0xFFFFFFFF,
                (ack if flags & ACK else 0) & 0xFFFFFFFF,
                5 << 4,
                flags,
                64240,
                0,
                0,
            )
            + payload
        )
        csum = _l4_checksum(ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed, 6, seg)
        self.pcap.ip(src, dst, 6, seg[:16] + struct.pack("!H", csum) + seg[18:], from_client)
        advance = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if from_client:
            self.cseq += advance
        else:
            self.sseq += advance

    def open(self) -> TcpFlow:
        self._seg(True, SYN)
        self._seg(False, SYN | ACK)
        self._seg(True, ACK)
        return self

    def client_says(self, data: bytes) -> TcpFlow:
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


def client_hello(sni: str) -> bytes:
    """A TLS 1.2/1.3 ClientHello record carrying `sni` in the server_name extension."""
    name = sni.encode("ascii")
    server_name = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    groups = struct.pack("!HHHH", 6, 0x001D, 0x0017, 0x0018)
    sig_algs = struct.pack("!HHHH", 6, 0x0403, 0x0804, 0x0401)
    versions = struct.pack("!BHH", 4, 0x0304, 0x0303)
    extensions = b"".join(
        struct.pack("!HH", kind, len(body)) + body
        for kind, body in ((0, server_name), (10, groups), (13, sig_algs), (43, versions))
    )
    ciphers = struct.pack("!HHHHH", 8, 0x1301, 0x1302, 0xC02F, 0xC030)
    digest = hashlib.sha256(name).digest()
    body = (
        b"\x03\x03"
        + digest
        + b"\x20"
        + digest
        + ciphers
        + b"\x01\x00"
        + struct.pack("!H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def http_request(host: str) -> bytes:
    return (f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: rulec-verify\r\nAccept: */*\r\n\r\n").encode("ascii")


HTTP_RESPONSE = b"HTTP/1.1 204 No Content\r\nServer: rulec-verify\r\nContent-Length: 0\r\n\r\n"
SSH_BANNER = b"SSH-2.0-OpenSSH_9.6\r\n"
FTP_GREETING = b"220 rulec-verify FTP ready\r\n"
