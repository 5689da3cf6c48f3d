#!/usr/bin/env python3
"""Turn the strace logs that `scripts/capture-golden` collected into tests/golden/*.hex.

Usage: scripts/capture-golden.py WORKDIR OUTDIR   (normally run by scripts/capture-golden)

WORKDIR holds, per capture step STEP: STEP.strace (strace -o output, with
`-e read=all -e write=all` hex dumps), STEP.cmd (the ipvsadm command line) and
optionally STEP.note; plus `kernel`, `ipvsadm-version` and `packages`.

Each output file holds comment lines (`#`) and then the bytes of ONE netlink
message, lowercase hex, 16 bytes a line. Requests are the buffer ipvsadm passed
to sendmsg() (checked: exactly one message whose nlmsg_len equals the byte
count); replies are one message cut out of a recvmsg() buffer by nlmsg_len.
recvmsg() calls with MSG_PEEK are skipped (libnl peeks first, then reads).
"""

import ipaddress
import os
import re
import struct
import sys

STRACE_CMD = (
    "strace -f -xx -s 65535 -e trace=sendmsg,recvmsg,sendto,recvfrom "
    "-e read=all -e write=all -o STEP.strace"
)

GENL_ID_CTRL = 0x10
CTRL_CMD_NEWFAMILY = 1
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLMSG_ERROR = 2
NLMSG_DONE = 3

CMD_NAMES = {
    1: "NEW_SERVICE", 2: "SET_SERVICE", 3: "DEL_SERVICE", 4: "GET_SERVICE",
    5: "NEW_DEST", 6: "SET_DEST", 7: "DEL_DEST", 8: "GET_DEST",
    9: "NEW_DAEMON", 10: "DEL_DAEMON", 11: "GET_DAEMON",
    12: "SET_CONFIG", 13: "GET_CONFIG", 14: "SET_INFO", 15: "GET_INFO",
    16: "ZERO", 17: "FLUSH",
}
CMD = {v: k for k, v in CMD_NAMES.items()}

TOP_ATTRS = {1: "SERVICE", 2: "DEST", 3: "DAEMON", 4: "TIMEOUT_TCP",
             5: "TIMEOUT_TCP_FIN", 6: "TIMEOUT_UDP"}
INFO_ATTRS = {1: "VERSION", 2: "CONN_TAB_SIZE"}
SVC_ATTRS = {1: "AF", 2: "PROTOCOL", 3: "ADDR", 4: "PORT", 5: "FWMARK",
             6: "SCHED_NAME", 7: "FLAGS", 8: "TIMEOUT", 9: "NETMASK",
             10: "STATS", 11: "PE_NAME", 12: "STATS64"}
DEST_ATTRS = {1: "ADDR", 2: "PORT", 3: "FWD_METHOD", 4: "WEIGHT", 5: "U_THRESH",
              6: "L_THRESH", 7: "ACTIVE_CONNS", 8: "INACT_CONNS",
              9: "PERSIST_CONNS", 10: "STATS", 11: "ADDR_FAMILY", 12: "STATS64",
              13: "TUN_TYPE", 14: "TUN_PORT", 15: "TUN_FLAGS"}

NLM_F = {0x1: "REQUEST", 0x2: "MULTI", 0x4: "ACK", 0x8: "ECHO",
         0x100: "ROOT", 0x200: "MATCH"}


class CaptureError(Exception):
    pass


# ---------------------------------------------------------------- strace log

SYSCALL_RE = re.compile(
    r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(sendmsg|recvmsg|sendto|recvfrom)\((\d+),.*\)\s+=\s+(-?\d+)"
)
DUMP_HDR_RE = re.compile(r"^ \* (\d+) bytes in buffer (\d+)$")


def parse_strace(path):
    """Return [(direction, fd, bytes)] in order, without MSG_PEEK reads."""
    events = []
    cur = None  # [direction, fd, peek, ret, bytearray, expected_offset]

    def finish():
        if cur is None:
            return
        direction, fd, peek, ret, data, _ = cur
        if ret >= 0 and not peek:
            if len(data) != ret and direction == "send":
                raise CaptureError(f"{path}: sent {ret} bytes but dump has {len(data)}")
            events.append((direction, fd, bytes(data)))

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = SYSCALL_RE.match(line)
            if m:
                finish()
                name, fd, ret = m.group(1), int(m.group(2)), int(m.group(3))
                direction = "send" if name.startswith("send") else "recv"
                # The flags argument is the last one before ") = ".
                tail = line[: line.rfind(")")]
                flags = tail[tail.rfind(",") + 1:]
                peek = "MSG_PEEK" in flags
                cur = [direction, fd, peek, ret, bytearray(), 0]
                continue
            if cur is None:
                continue
            if DUMP_HDR_RE.match(line):
                cur[5] = 0
                continue
            if line.startswith(" | "):
                off = int(line[3:8], 16)
                if off != cur[5]:
                    raise CaptureError(f"{path}: hex dump offset {off:#x}, expected {cur[5]:#x}")
                chunk = bytes.fromhex(line[10:59])
                cur[4].extend(chunk)
                cur[5] += len(chunk)
                continue
            # Anything else (exit line, signals) ends the current syscall.
            finish()
            cur = None
    finish()
    return events


# ---------------------------------------------------------------- netlink

def split_messages(buf, what):
    msgs = []
    off = 0
    while off < len(buf):
        if len(buf) - off < 16:
            raise CaptureError(f"{what}: {len(buf) - off} trailing bytes, less than a header")
        (length,) = struct.unpack_from("<I", buf, off)
        if length < 16 or off + length > len(buf):
            raise CaptureError(f"{what}: bad nlmsg_len {length} at offset {off}")
        msgs.append(buf[off: off + length])
        off += (length + 3) & ~3
    return msgs


def header(msg):
    length, mtype, flags, seq, pid = struct.unpack_from("<IHHII", msg, 0)
    return length, mtype, flags, seq, pid


def attrs(buf, off=0, end=None):
    """Yield (type, payload) of the attributes in buf[off:end]."""
    end = len(buf) if end is None else end
    while off + 4 <= end:
        alen, atype = struct.unpack_from("<HH", buf, off)
        if alen < 4 or off + alen > end:
            raise CaptureError(f"bad attribute length {alen} at {off}")
        yield atype & 0x3FFF, buf[off + 4: off + alen]
        off += (alen + 3) & ~3


def genl_cmd(msg):
    return msg[16] if len(msg) >= 20 else None


def top_attrs(msg):
    return dict(attrs(msg, 20))


def u16(b):
    return struct.unpack("<H", b[:2])[0]


def u32(b):
    return struct.unpack("<I", b[:4])[0]


def be16(b):
    return struct.unpack(">H", b[:2])[0]


def addr(af, raw):
    if af == 2:
        return str(ipaddress.IPv4Address(bytes(raw[:4])))
    return str(ipaddress.IPv6Address(bytes(raw[:16])))


def service_id(nest):
    """Identity of a service nest: ('fwmark', af, mark) or (proto, af, addr, port)."""
    a = dict(attrs(nest))
    af = u16(a[1]) if 1 in a else None
    if 5 in a:
        return ("fwmark", af, u32(a[5]))
    return (u16(a[2]) if 2 in a else None, af,
            addr(af, a[3]) if 3 in a else None, be16(a[4]) if 4 in a else None)


def dest_id(nest, svc_af=2):
    a = dict(attrs(nest))
    af = u16(a[11]) if 11 in a else svc_af
    return (af, addr(af, a[1]) if 1 in a else None, be16(a[2]) if 2 in a else None)


# ---------------------------------------------------------------- decoding, for the comments

def fmt_flags(flags):
    names = [n for bit, n in NLM_F.items() if flags & bit]
    rest = flags & ~sum(NLM_F)
    if rest:
        names.append(hex(rest))
    return "|".join(names) or "0"


def decode_value(kind, atype, payload, af):
    if kind == "svc":
        if atype in (1, 2):
            return str(u16(payload))
        if atype == 3:
            return addr(af or 2, payload) + f" ({len(payload)} bytes)"
        if atype == 4:
            return f"{be16(payload)} (be16)"
        if atype in (5, 8):
            return str(u32(payload))
        if atype in (6, 11):
            return repr(bytes(payload).rstrip(b"\0").decode()) + " (NUL-terminated)"
        if atype == 7:
            fl, mask = struct.unpack("<II", payload[:8])
            return f"flags={fl:#x} mask={mask:#x}"
        if atype == 9:
            return payload.hex() + (f" (/{u32(payload)})" if af == 10 else "")
    if kind == "dest":
        if atype == 1:
            return addr(af or 2, payload) + f" ({len(payload)} bytes)"
        if atype in (2, 14):
            return f"{be16(payload)} (be16)"
        if atype in (3, 4, 5, 6, 7, 8, 9):
            return str(u32(payload))
        if atype in (11, 15):
            return str(u16(payload))
        if atype == 13:
            return str(payload[0])
    if kind in ("top", "info") and len(payload) == 4:
        return str(u32(payload))
    if atype in (10, 12) and kind in ("svc", "dest"):
        return f"{len(payload)} bytes, all zero" if not any(payload) else f"{len(payload)} bytes"
    return payload.hex()


def describe(msg, family_id):
    length, mtype, flags, seq, pid = header(msg)
    lines = [f"nlmsghdr: len={length} type={mtype:#x}"
             + (" (IPVS family id on this boot)" if mtype == family_id else "")
             + f" flags={flags:#x} ({fmt_flags(flags)}) (seq, pid: bytes 8..16, as captured)"]
    if mtype != family_id:
        return lines
    cmd = genl_cmd(msg)
    lines.append(f"genlmsghdr: cmd={cmd} ({CMD_NAMES.get(cmd, '?')}) version={msg[17]}")
    for atype, payload in attrs(msg, 20):
        if cmd == CMD["SET_INFO"]:
            lines.append(f"  INFO_ATTR_{INFO_ATTRS.get(atype, atype)} = {decode_value('info', atype, payload, None)}")
            continue
        name = TOP_ATTRS.get(atype, str(atype))
        if atype in (1, 2):
            kind, table = ("svc", SVC_ATTRS) if atype == 1 else ("dest", DEST_ATTRS)
            sub = dict(attrs(payload))
            af = u16(sub[1]) if kind == "svc" and 1 in sub else (u16(sub[11]) if 11 in sub else None)
            lines.append(f"  CMD_ATTR_{name} (nested, {len(payload)} bytes)")
            for st, sp in attrs(payload):
                lines.append(f"    {table.get(st, st)} = {decode_value(kind, st, sp, af)}")
        else:
            lines.append(f"  CMD_ATTR_{name} = {decode_value('top', atype, payload, None)}")
    return lines


# ---------------------------------------------------------------- one capture step

class Step:
    def __init__(self, work, name):
        self.name = name
        self.cmd = read(os.path.join(work, name + ".cmd")).strip()
        note = os.path.join(work, name + ".note")
        self.note = read(note).strip() if os.path.exists(note) else ""
        self.family_id = None
        # [(request message, [reply messages])] for IPVS requests, in order
        self.exchanges = []
        events = parse_strace(os.path.join(work, name + ".strace"))
        current = None
        for direction, _fd, data in events:
            if direction == "send":
                msgs = split_messages(data, f"{name}: sent buffer")
                if len(msgs) != 1 or header(msgs[0])[0] != len(data):
                    raise CaptureError(
                        f"{name}: a sent buffer of {len(data)} bytes is not exactly one message")
                msg = msgs[0]
                if header(msg)[1] == GENL_ID_CTRL:
                    current = None
                    continue
                if self.family_id is None or header(msg)[1] != self.family_id:
                    raise CaptureError(f"{name}: request of type {header(msg)[1]} before the family lookup")
                current = (msg, [])
                self.exchanges.append(current)
            else:
                for msg in split_messages(data, f"{name}: received buffer"):
                    _, mtype, _, _, _ = header(msg)
                    if mtype == GENL_ID_CTRL and genl_cmd(msg) == CTRL_CMD_NEWFAMILY:
                        a = top_attrs(msg)
                        if bytes(a.get(CTRL_ATTR_FAMILY_NAME, b"")).rstrip(b"\0") == b"IPVS":
                            self.family_id = u16(a[CTRL_ATTR_FAMILY_ID])
                        continue
                    if current is not None:
                        if header(msg)[3] != header(current[0])[3]:
                            raise CaptureError(f"{name}: reply seq does not match its request")
                        current[1].append(msg)

    def requests(self, cmd):
        return [(req, replies) for req, replies in self.exchanges if genl_cmd(req) == CMD[cmd]]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def only(items, what):
    if len(items) != 1:
        raise CaptureError(f"{what}: expected exactly one match, found {len(items)}")
    return items[0]


# ---------------------------------------------------------------- what to extract

def req(step_name, cmd, desc, match=None):
    def pick(steps):
        step = steps[step_name]
        cands = [r for r, _ in step.requests(cmd) if match is None or match(r)]
        msg = only(cands, f"{step_name}: {cmd} request")
        return step, msg, f"request as sent by ipvsadm: {desc}"
    return pick


def reply(step_name, req_cmd, reply_cmd, desc, req_match=None, match=None):
    def pick(steps):
        step = steps[step_name]
        cands = []
        for r, replies in step.requests(req_cmd):
            if req_match is not None and not req_match(r):
                continue
            for m in replies:
                if header(m)[1] == step.family_id and genl_cmd(m) == CMD[reply_cmd] and (
                        match is None or match(m)):
                    cands.append(m)
        msg = only(cands, f"{step_name}: {reply_cmd} reply")
        return step, msg, f"one reply message as received from the kernel: {desc}"
    return pick


def svc_is(ident):
    return lambda m: 1 in top_attrs(m) and service_id(top_attrs(m)[1]) == ident


def dest_is(ident):
    return lambda m: 2 in top_attrs(m) and dest_id(top_attrs(m)[2]) == ident


TCP, UDP, SCTP = 6, 17, 132
SVC_TCP4 = (TCP, 2, "10.0.0.1", 80)

# (file, picker), in the order of the README
OUTPUTS = [
    ("add_service_tcp4_rr.hex", req("add_service_tcp4_rr", "NEW_SERVICE", "NEW_SERVICE, TCP 10.0.0.1:80, rr")),
    ("add_service_udp6_sh_persistent.hex", req(
        "add_service_udp6_sh_persistent", "NEW_SERVICE",
        "NEW_SERVICE, UDP [2001:db8::1]:53, sh with sh-fallback,sh-port, persistent 600 s, prefix /64")),
    ("add_service_fwmark_pe.hex", req(
        "add_service_fwmark_pe", "NEW_SERVICE",
        "NEW_SERVICE, fwmark 42, wlc, persistent 360 s, netmask 255.255.255.0, pe sip")),
    ("add_service_sctp_mh_ops.hex", req(
        "add_service_sctp_mh_ops", "NEW_SERVICE", "NEW_SERVICE, SCTP 10.0.0.3:3868, mh with mh-port")),
    ("edit_service.hex", req("edit_service", "SET_SERVICE", "SET_SERVICE, TCP 10.0.0.1:80 -> wrr, persistent 30 s")),
    ("add_dest_masq.hex", req(
        "add_dest_masq", "NEW_DEST", "NEW_DEST 10.0.1.1:8080 masq, weight 3, u_thresh 100, l_thresh 50")),
    ("add_dest_route.hex", req("add_dest_route", "NEW_DEST", "NEW_DEST 10.0.1.2 direct routing, weight 70000")),
    ("add_dest_gue.hex", req(
        "add_dest_gue", "NEW_DEST", "NEW_DEST 10.0.1.4 tunnel, GUE port 6080, csum")),
    ("add_dest_gre_mixed.hex", req(
        "add_dest_gre_mixed", "NEW_DEST", "NEW_DEST 2001:db8::5 (IPv6 dest of an IPv4 service) tunnel, GRE, nocsum")),
    ("edit_dest.hex", req("edit_dest", "SET_DEST", "SET_DEST 10.0.1.1:8080 masq, weight 0")),
    ("del_dest.hex", req("del_dest", "DEL_DEST", "DEL_DEST 10.0.1.2 from TCP 10.0.0.1:80")),
    ("zero_service.hex", req("zero_service", "ZERO", "ZERO, service TCP 10.0.0.1:80")),
    ("set_timeouts.hex", req("set_timeouts", "SET_CONFIG", "SET_CONFIG (ipvsadm: SET_TIMEOUT) tcp 100, tcpfin 20, udp 30")),
    ("get_config.hex", req("get_config", "GET_CONFIG", "GET_CONFIG (ipvsadm: GET_TIMEOUT)")),
    ("get_config_reply.hex", reply("get_config", "GET_CONFIG", "SET_CONFIG", "GET_CONFIG reply (cmd SET_CONFIG): timeouts 100/20/30")),
    ("get_services_dump.hex", req("list", "GET_SERVICE", "GET_SERVICE dump (NLM_F_DUMP)")),
    ("service_tcp4_reply.hex", reply(
        "list", "GET_SERVICE", "NEW_SERVICE", "service TCP 10.0.0.1:80 (wrr, persistent 30)",
        match=svc_is(SVC_TCP4))),
    ("service_fwmark_reply.hex", reply(
        "list", "GET_SERVICE", "NEW_SERVICE", "service fwmark 42 (wlc, persistent 360, pe sip)",
        match=svc_is(("fwmark", 2, 42)))),
    ("service_udp6_reply.hex", reply(
        "list", "GET_SERVICE", "NEW_SERVICE", "service UDP [2001:db8::1]:53 (sh, persistent 600, /64)",
        match=svc_is((UDP, 10, "2001:db8::1", 53)))),
    ("get_dests_dump.hex", req(
        "list", "GET_DEST", "GET_DEST dump (NLM_F_DUMP) for TCP 10.0.0.1:80", match=svc_is(SVC_TCP4))),
    ("dest_masq_reply.hex", reply(
        "list", "GET_DEST", "NEW_DEST", "dest 10.0.1.1:8080 of TCP 10.0.0.1:80 (masq, weight 0 after edit)",
        req_match=svc_is(SVC_TCP4), match=dest_is((2, "10.0.1.1", 8080)))),
    ("dest_gue_reply.hex", reply(
        "list", "GET_DEST", "NEW_DEST", "dest 10.0.1.4:80 of TCP 10.0.0.1:80 (tunnel, GUE 6080, csum)",
        req_match=svc_is(SVC_TCP4), match=dest_is((2, "10.0.1.4", 80)))),
    ("dest_gre_mixed_reply.hex", reply(
        "list", "GET_DEST", "NEW_DEST", "dest [2001:db8::5]:80 of TCP 10.0.0.1:80 (tunnel, GRE, nocsum)",
        req_match=svc_is(SVC_TCP4), match=dest_is((10, "2001:db8::5", 80)))),
    ("del_service.hex", req("del_service", "DEL_SERVICE", "DEL_SERVICE TCP 10.0.0.1:80")),
    ("flush.hex", req("flush", "FLUSH", "FLUSH")),
    ("get_info.hex", req("add_service_tcp4_rr", "GET_INFO", "GET_INFO (ipvsadm sends it first on every run)")),
    ("get_info_reply.hex", reply("add_service_tcp4_rr", "GET_INFO", "SET_INFO", "GET_INFO reply (cmd SET_INFO): version, conn_tab_size")),
]


def hexlines(msg):
    h = msg.hex()
    return [" ".join(h[i: i + 2] for i in range(j, min(j + 32, len(h)), 2))
            for j in range(0, len(h), 32)]


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    work, out = sys.argv[1], sys.argv[2]
    kernel = read(os.path.join(work, "kernel")).strip()
    ipvsadm_version = read(os.path.join(work, "ipvsadm-version")).strip()
    packages = read(os.path.join(work, "packages")).strip()
    names = sorted({f[:-len(".cmd")] for f in os.listdir(work) if f.endswith(".cmd")})
    steps = {n: Step(work, n) for n in names}
    os.makedirs(out, exist_ok=True)
    written = []
    for fname, pick in OUTPUTS:
        step, msg, desc = pick(steps)
        length = header(msg)[0]
        if length != len(msg):
            raise CaptureError(f"{fname}: nlmsg_len {length} != {len(msg)} bytes")
        lines = [
            f"# {step.cmd}",
            f"# {desc}; one netlink message, {len(msg)} bytes.",
            f"# kernel: Linux {kernel} (User-Mode Linux guest, scripts/uml; {packages})",
            f"# ipvsadm: {ipvsadm_version}",
            f"# captured: in a fresh netns (lo up), ip netns exec NS {STRACE_CMD.replace('STEP', step.name)} {step.cmd}",
            "# regenerate: scripts/capture-golden. nlmsg_seq and nlmsg_pid are as captured and change on every run.",
        ]
        if step.note:
            lines += [f"# note: {n}" for n in step.note.splitlines()]
        lines.append("# decoded:")
        lines += [f"#   {d}" for d in describe(msg, step.family_id)]
        lines += hexlines(msg)
        path = os.path.join(out, fname)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        written.append((fname, step, desc, len(msg)))
        print(f"  {fname:36} {len(msg):4} bytes  {step.cmd}")
    write_readme(out, written, kernel, ipvsadm_version, packages)
    return 0


def write_readme(out, written, kernel, ipvsadm_version, packages):
    lines = [
        "# Golden netlink bytes from the kernel",
        "",
        "Each `*.hex` file holds ONE netlink message that `ipvsadm` sent to, or received from,",
        f"a real kernel: Linux {kernel} under User-Mode Linux ({packages}), with",
        f"`{ipvsadm_version}`. Lines starting with `#` are comments (the exact ipvsadm",
        "command, kernel and ipvsadm versions, how it was captured, a decoded view); the rest is",
        "the message as lowercase hex, 16 bytes a line.",
        "",
        "- `*_reply.hex`: one message as received from the kernel, cut out of the",
        "  `recvmsg()` buffer by `nlmsg_len` (a dump reply buffer holds several).",
        "- every other file: the request exactly as ipvsadm passed it to `sendmsg()`",
        "  (checked: one message whose `nlmsg_len` equals the byte count).",
        "- `nlmsg_seq` and `nlmsg_pid` (bytes 8..16) are as captured and differ on every run;",
        "  tests should ignore them. The family id (`nlmsg_type`) is the one the kernel",
        "  allocated on that boot; tests should not rely on it either.",
        "",
        "All commands ran in one fresh network namespace (with `lo` up), in the order of",
        "`scripts/capture-golden`, so the state builds up: `-A` x4, `-E`, `-a` x4, `-e`, `-d`,",
        "`-Z`, `--set`, `-L --timeout`, `-Ln`, `-D`, `-C`. The `-Ln` replies therefore show",
        "TCP 10.0.0.1:80 after the edit (wrr, persistent 30) with dests 10.0.1.1:8080 (weight 0",
        "after `-e`), 10.0.1.4 and 2001:db8::5 (10.0.1.2 was deleted). Stats are all zero (no",
        "traffic). `get_info*.hex` come from the first command's run.",
        "",
        "Worth knowing when comparing: ipvsadm sets `NLA_F_NESTED` (0x8000) on the",
        "`CMD_ATTR_SERVICE`/`CMD_ATTR_DEST` nests of its requests; the kernel's replies do not.",
        "",
        "## Regenerate",
        "",
        "    scripts/capture-golden            # writes tests/golden/ (needs root, linux.uml, strace)",
        "",
        "It boots a UML guest (`scripts/uml`), runs each ipvsadm command under",
        "`strace -f -xx -s 65535 -e trace=sendmsg,recvmsg,sendto,recvfrom -e read=all -e write=all`",
        "and extracts the messages with `scripts/capture-golden.py`. A second run gives the same",
        "files apart from the sequence numbers and port ids.",
        "",
        "## Files",
        "",
        "| file | bytes | ipvsadm command | content |",
        "|---|---|---|---|",
    ]
    notes = []
    for fname, step, desc, n in written:
        lines.append(f"| `{fname}` | {n} | `{step.cmd}` | {desc} |")
        if step.note and step.note not in notes:
            notes.append(step.note)
    if notes:
        lines += ["", "## Deviations from the intended commands", ""]
        lines += [f"- {n}" for n in notes]
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CaptureError, KeyError, OSError) as e:
        print(f"capture-golden.py: error: {e}", file=sys.stderr)
        sys.exit(1)
