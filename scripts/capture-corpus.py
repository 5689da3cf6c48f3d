#!/usr/bin/env python3
"""scripts/capture-corpus.py OUTDIR — run by scripts/capture-corpus in a
network namespace of a UML guest: asks the kernel for replies of every kind
lvs decodes and writes each datagram the kernel sent, byte for byte, to
OUTDIR/LABEL-N.bin. Nothing here is made up: every file is a datagram as
recv() returned it.
"""
import os
import socket
import struct
import sys

SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLMSG_ERROR, NLMSG_DONE = 2, 3
F_REQUEST, F_ACK, F_EXCL, F_CREATE, F_DUMP = 1, 4, 0x200, 0x400, 0x300

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
seq = 0


def attr(kind, value):
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + b"\0" * ((4 - length % 4) % 4)


def sock(proto):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
    s.bind((0, 0))
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.settimeout(5)
    return s


def exchange(s, label, kind, flags, body):
    """Sends one request; saves every datagram until the answer ends."""
    global seq
    seq += 1
    s.send(struct.pack("=LHHLL", 16 + len(body), kind, flags, seq, 0) + body)
    datagrams = []
    while True:
        d = s.recv(65536)
        datagrams.append(d)
        with open(os.path.join(out, "%s-%d.bin" % (label, len(datagrams))), "wb") as f:
            f.write(d)
        done, off = False, 0
        while off + 16 <= len(d):
            length, t, fl = struct.unpack_from("=LHH", d, off)
            if t in (NLMSG_DONE, NLMSG_ERROR) or not fl & 2:  # not NLM_F_MULTI
                done = True
            off += (length + 3) & ~3 if length else len(d)
        if done:
            return datagrams


# rtnetlink: links and addresses (dumps: several messages per datagram).
rt = sock(0)
ifinfo = struct.pack("=BxHiII", 0, 0, 0, 0, 0)
exchange(rt, "rtnl-getlink-dump", 18, F_REQUEST | F_DUMP, ifinfo)
lo = struct.pack("=BxHiII", 0, 0, 1, 0, 0)
exchange(rt, "rtnl-getlink-lo", 18, F_REQUEST, lo)
exchange(rt, "rtnl-getaddr-dump", 22, F_REQUEST | F_DUMP, struct.pack("=BBBBI", 0, 0, 0, 0, 0))
# an ACK (error 0) for a request that worked
dummy = attr(3, b"lvsfuzz0\0") + attr(18, attr(1, b"dummy\0"))
exchange(rt, "rtnl-newlink-ack", 16, F_REQUEST | F_ACK | F_CREATE | F_EXCL, ifinfo + dummy)
# errors with an extended ACK: a message and an attribute offset
exchange(rt, "rtnl-newlink-exists-extack", 16, F_REQUEST | F_ACK | F_CREATE | F_EXCL, ifinfo + dummy)
bad_kind = attr(3, b"lvsfuzz1\0") + attr(18, attr(1, b"nosuchkind\0"))
exchange(rt, "rtnl-newlink-badkind-extack", 16, F_REQUEST | F_ACK | F_CREATE | F_EXCL, ifinfo + bad_kind)
long_name = attr(3, b"x" * 40 + b"\0")
exchange(rt, "rtnl-newlink-policy-extack", 16, F_REQUEST | F_ACK | F_CREATE | F_EXCL, ifinfo + long_name)

# generic netlink controller: the IPVS family, and a family that is not there
gn = sock(16)
genl = lambda cmd, version=1: struct.pack("=BBH", cmd, version, 0)
[reply] = exchange(gn, "genl-ctrl-ipvs", 16, F_REQUEST, genl(3) + attr(2, b"IPVS\0"))
exchange(gn, "genl-ctrl-missing", 16, F_REQUEST | F_ACK, genl(3) + attr(2, b"NOSUCHFAMILY\0"))
exchange(gn, "genl-ctrl-dump", 16, F_REQUEST | F_DUMP, genl(3))
family = None
off = 20
while off + 4 <= len(reply):
    length, kind = struct.unpack_from("=HH", reply, off)
    if kind == 1:
        family = struct.unpack_from("=H", reply, off + 4)[0]
    off += (length + 3) & ~3 or 4

# IPVS (the table was filled by scripts/capture-corpus with ipvsadm)
exchange(gn, "ipvs-get-services-dump", family, F_REQUEST | F_DUMP, genl(4))
svc = attr(1, attr(1, struct.pack("=H", 2)) + attr(2, struct.pack("=H", 6))
           + attr(3, socket.inet_aton("10.0.0.1") + b"\0" * 12) + attr(4, struct.pack(">H", 80)))
exchange(gn, "ipvs-get-dests-dump", family, F_REQUEST | F_DUMP, genl(8) + svc)
exchange(gn, "ipvs-get-service", family, F_REQUEST, genl(4) + svc)
exchange(gn, "ipvs-get-info", family, F_REQUEST, genl(15))
exchange(gn, "ipvs-get-config", family, F_REQUEST, genl(13))
exchange(gn, "ipvs-get-daemons-dump", family, F_REQUEST | F_DUMP, genl(11))
missing = attr(1, attr(1, struct.pack("=H", 2)) + attr(2, struct.pack("=H", 6))
               + attr(3, socket.inet_aton("10.9.9.9") + b"\0" * 12) + attr(4, struct.pack(">H", 1)))
exchange(gn, "ipvs-get-service-missing-error", family, F_REQUEST | F_ACK, genl(4) + missing)
exchange(gn, "ipvs-flush-ack", family, F_REQUEST | F_ACK, genl(17))
print("capture-corpus: %d datagrams in %s" % (len(os.listdir(out)), out))
