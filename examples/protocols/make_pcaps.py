#!/usr/bin/env python3
"""Writes the example captures of examples/protocols/ (modbus.pcap, memcached.pcap).

Standard library only: a pcap global header, then one record per frame, each an Ethernet,
IPv4 and TCP header (checksums computed) with the payload. A connection is a three-way
handshake, the messages below in order (one segment each), and a FIN exchange.

The unit tests of crates/protocols/src/custom/tests.rs read these files back and feed their
payloads to the example definitions, so a change here shows up there.

Usage: python3 examples/protocols/make_pcaps.py   (from anywhere)
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# (to_server, payload)
MODBUS = [
    # Read holding registers 0x006b, 3 of them; the reply holds 0x022b, 0x0000, 0x0064.
    (True, bytes.fromhex("0001 0000 0006 01 03 006b 0003")),
    (False, bytes.fromhex("0001 0000 0009 01 03 06 022b 0000 0064")),
    # Write single register 1 = 3, echoed.
    (True, bytes.fromhex("0002 0000 0006 01 06 0001 0003")),
    (False, bytes.fromhex("0002 0000 0006 01 06 0001 0003")),
    # Write multiple registers: 2 registers from address 1 (0x000a, 0x0102).
    (True, bytes.fromhex("0003 0000 000b 01 10 0001 0002 04 000a 0102")),
    (False, bytes.fromhex("0003 0000 0006 01 10 0001 0002")),
    # Read coils 0x0013, 19 of them; 3 bytes of packed bits back.
    (True, bytes.fromhex("0004 0000 0006 01 01 0013 0013")),
    (False, bytes.fromhex("0004 0000 0006 01 01 03 cd6b05")),
    # Read holding registers at an address the device lacks: exception 2.
    (True, bytes.fromhex("0005 0000 0006 01 03 ffff 0001")),
    (False, bytes.fromhex("0005 0000 0003 01 83 02")),
]

MEMCACHED = [
    (True, b"set greeting 0 900 5\r\nhello\r\n"),
    (False, b"STORED\r\n"),
    (True, b"get greeting\r\n"),
    (False, b"VALUE greeting 0 5\r\nhello\r\nEND\r\n"),
    (True, b"version\r\n"),
    (False, b"VERSION 1.6.21\r\n"),
    (True, b"quit\r\n"),
]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def frame(src, dst, sport, dport, seq, ack, flags, payload, ip_id):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    csum = checksum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ip_id, 0x4000, 64, 6, 0, ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002" "020000000001") + struct.pack("!H", 0x0800)
    if src != CLIENT:
        eth = bytes.fromhex("020000000001" "020000000002") + struct.pack("!H", 0x0800)
    return eth + ip + tcp + payload


CLIENT = "192.168.1.10"
SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def connection(server, sport, dport, messages):
    """The frames of one TCP connection carrying `messages`."""
    c_seq, s_seq = 1000, 5000
    frames = []
    ip_id = [1]

    def add(to_server, seq, ack, flags, payload=b""):
        src, dst = (CLIENT, server) if to_server else (server, CLIENT)
        sp, dp = (sport, dport) if to_server else (dport, sport)
        frames.append(frame(src, dst, sp, dp, seq, ack, flags, payload, ip_id[0]))
        ip_id[0] += 1

    add(True, c_seq, 0, SYN)
    add(False, s_seq, c_seq + 1, SYN | ACK)
    c_seq += 1
    s_seq += 1
    add(True, c_seq, s_seq, ACK)
    for to_server, payload in messages:
        if to_server:
            add(True, c_seq, s_seq, PSH | ACK, payload)
            c_seq += len(payload)
        else:
            add(False, s_seq, c_seq, PSH | ACK, payload)
            s_seq += len(payload)
    add(True, c_seq, s_seq, FIN | ACK)
    add(False, s_seq, c_seq + 1, FIN | ACK)
    add(True, c_seq + 1, s_seq + 1, ACK)
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000_000_000  # microseconds
        for fr in frames:
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(fr), len(fr)))
            f.write(fr)
            t += 10_000


write_pcap(os.path.join(HERE, "modbus.pcap"), connection("192.168.1.20", 50123, 502, MODBUS))
write_pcap(
    os.path.join(HERE, "memcached.pcap"), connection("192.168.1.30", 50200, 11211, MEMCACHED)
)
