#!/usr/bin/env python3
"""Writes the per-target seed corpora fuzz/corpus/<target>/seed-* from real
kernel replies (tests/golden/*_reply.hex, captured from Linux 6.1) and, for
the decoders without a capture there (link, address, genl controller, error),
from messages laid out like the kernel's. Rerun after a golden capture; the
fuzzers add their own finds next to the seeds."""
import glob, os, struct

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, "fuzz", "corpus")


def golden(path):
    hexs = "".join(l.strip() for l in open(path) if not l.startswith("#"))
    return bytes.fromhex(hexs)


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def nla(kind, value):
    n = 4 + len(value)
    return struct.pack("=HH", n, kind) + value + b"\0" * ((4 - n % 4) % 4)


def nlmsg(ty, flags, payload, seq=1, pid=0):
    return struct.pack("=IHHII", 16 + len(payload), ty, flags, seq, pid) + payload


replies = {}
for p in sorted(glob.glob(os.path.join(root, "tests", "golden", "*.hex"))):
    replies[os.path.basename(p)[:-4]] = golden(p)

# Message walk: every capture, whole, and a dump of several plus DONE.
dump = b""
for name, msg in replies.items():
    put("messages", name, msg)
    if name.endswith("_reply"):
        dump += msg
put("messages", "dump_with_done", dump + nlmsg(3, 2, struct.pack("=i", 0)))
put("messages", "ack", nlmsg(2, 0x100, struct.pack("=i", 0) + replies["flush"][:16]))

# Payload decoders: the message without its 16-byte netlink header.
for name, msg in replies.items():
    payload = msg[16:]
    if name.startswith("service_"):
        put("service", name, payload)
    if name.startswith("dest_"):
        put("destination", name + "_v4", b"\0" + payload)
        put("destination", name + "_v6", b"\1" + payload)
    if name == "get_config_reply":
        put("config", name, payload)
    if name == "get_info_reply":
        put("info", name, payload)

# Stats nests, cut out of the service capture: walk its service nest.
def attrs(buf):
    i = 0
    while i + 4 <= len(buf):
        n, k = struct.unpack_from("=HH", buf, i)
        if n < 4:
            break
        yield k & 0x3FFF, buf[i + 4 : i + n]
        i += (n + 3) & ~3

svc = replies["service_tcp4_reply"][16 + 4 :]
for k, v in attrs(svc):
    if k == 1:  # IPVS_CMD_ATTR_SERVICE
        for sk, sv in attrs(v):
            if sk == 10:  # IPVS_SVC_ATTR_STATS
                put("stats", "legacy", b"\0" + sv)
            if sk == 12:  # IPVS_SVC_ATTR_STATS64
                put("stats", "wide", b"\1" + sv)

# Daemon reply: genl header (cmd NEW_DAEMON=16? GET_DAEMON reply), nest of
# state, mcast ifname, syncid (the kernel's layout).
genl = struct.pack("=BBH", 13, 1, 0)
daemon = nla(1, struct.pack("=I", 1)) + nla(2, b"eth0\0") + nla(3, struct.pack("=I", 7))
put("daemon", "master", genl + nla(3, daemon))

# Error messages: flags (2 bytes) then the NLMSG_ERROR payload.
req = replies["add_service_tcp4_rr"]
put("error", "einval_full", struct.pack("=H", 0) + struct.pack("=i", -22) + req)
ext = nla(1, b"Attribute failed policy validation\0") + nla(2, struct.pack("=I", 36))
put("error", "einval_capped_ext", struct.pack("=H", 0x300) + struct.pack("=i", -22) + req[:16] + ext)
put("error", "ack", struct.pack("=H", 0x100) + struct.pack("=i", 0) + req[:16])

# Link reply: ifinfomsg then IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO{KIND}.
ifinfo = struct.pack("=BxHiII", 0, 772, 1, 0x49, 0)
put("link", "lo", ifinfo + nla(3, b"lo\0") + nla(4, struct.pack("=I", 65536)))
ifinfo = struct.pack("=BxHiII", 0, 1, 5, 0x83, 0)
put("link", "dummy", ifinfo + nla(3, b"kube-ipvs0\0") + nla(4, struct.pack("=I", 1500))
    + nla(18, nla(1, b"dummy\0")))

# Address replies: ifaddrmsg then IFA_ADDRESS, IFA_LOCAL, IFA_LABEL.
put("address", "v4", struct.pack("=BBBBI", 2, 32, 0x80, 0, 5)
    + nla(1, bytes([10, 0, 0, 1])) + nla(2, bytes([10, 0, 0, 1])) + nla(3, b"kube-ipvs0\0"))
put("address", "v6", struct.pack("=BBBBI", 10, 128, 0x80, 0, 5)
    + nla(1, bytes.fromhex("20010db8000000000000000000000005")))

# Generic netlink controller: family id, name, version, ops, mcast groups.
ops = nla(1, nla(1, struct.pack("=I", 1)) + nla(2, struct.pack("=I", 0x0e)))
grp = nla(1, nla(2, b"x\0") + nla(1, struct.pack("=I", 9)))
put("genl_family", "ipvs", struct.pack("=BBH", 1, 2, 0) + nla(1, struct.pack("=H", 35))
    + nla(2, b"IPVS\0") + nla(3, struct.pack("=I", 1)) + nla(4, struct.pack("=I", 0))
    + nla(5, struct.pack("=I", 10)) + nla(6, ops) + nla(7, grp))
reg = os.path.join(root, "tests", "fuzz-regressions", "genl-ctrl-policy-underflow.bin")
if os.path.exists(reg):
    put("genl_family", "policy_underflow", open(reg, "rb").read()[16:])
