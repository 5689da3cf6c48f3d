#!/usr/bin/env python3
"""The guest half of scripts/bench (see there). Runs inside the UML guest as
root: every tool in one network namespace, interleaved, and prints a table."""
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

PEERS = os.environ["LVS_BENCH_PEERS"]
PYPATH = os.environ.get("LVS_BENCH_PYPATH", "")
MOBY = os.environ.get("LVS_BENCH_MOBY", "")
HERE = os.path.dirname(os.path.abspath(__file__))
NS = "lvsbench"
D = 4
REPS = 3
ENV = dict(os.environ, PYTHONPATH=PYPATH)
GO_VERSION = os.environ.get("LVS_BENCH_GO_VERSION", "?")
# lvsadm (examples/lvsadm, release): `lvsadm -R` and `-Sn`, whole process,
# on the same rule file as `ipvsadm -R`.
LVSADM = os.environ.get("LVS_BENCH_LVSADM", "")
# LVS_BENCH_ONLY=ipvsadm,lvsadm runs only those tools (and no strace run
# for the others): a quick comparison.
ONLY = [t for t in os.environ.get("LVS_BENCH_ONLY", "").split(",") if t]


class PeerFailed(Exception):
    """A peer tool (pyroute2, moby/ipvs) failed; it is left out from then on."""


def sh(*cmd, stdin=None, check=True):
    """Runs cmd in the namespace; returns (stdout, wall seconds). A failure
    of lvs or ipvsadm ends the benchmark; one of pyroute2 or moby/ipvs
    raises PeerFailed."""
    t = time.perf_counter()
    p = subprocess.run(["ip", "netns", "exec", NS, *cmd], input=stdin, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t
    if check and p.returncode != 0:
        msg = f"bench: {' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-300:]}"
        if any("bench_pyroute2" in c for c in cmd) or (MOBY and MOBY in cmd):
            print(msg, file=sys.stderr, flush=True)
            raise PeerFailed(msg)
        sys.exit(msg)
    return p.stdout, wall


def inner(out):
    m = re.search(r"^seconds ([0-9.]+)$", out, re.M)
    return float(m.group(1)) if m else None


def vip(i):
    return f"10.{96 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"


def pod(i, j):
    k = i * 4 + j
    return f"10.{244 + (k >> 16)}.{(k >> 8) & 255}.{k & 255}"


def rules(n):
    lines = []
    for i in range(n):
        lines.append(f"-A -t {vip(i)}:80 -s rr")
        lines.extend(f"-a -t {vip(i)}:80 -r {pod(i, j)}:8080 -m -w 1" for j in range(D))
    return "\n".join(lines) + "\n"


def have_pyroute2():
    return subprocess.run([sys.executable, "-c", "import pyroute2"], env=ENV, capture_output=True).returncode == 0


def fresh_ns():
    """A new, empty namespace for the next create. Not a flush: in Linux
    6.1 every deleted destination waits in the namespace's "dest trash" for
    about a minute, and each destination added meanwhile scans that trash,
    so re-creating a large table right after flushing one is quadratic
    (measured: 40,000 destinations took 12 s instead of 0.3 s). Each tool
    gets a table without that history; the old namespace's teardown is
    given time to finish before anything is timed."""
    if os.path.exists(f"/run/netns/{NS}"):
        # Empty it first (synchronously, untimed), so that the namespace's
        # asynchronous teardown has little left to do while the next tool
        # is measured; then give that teardown time.
        subprocess.run(["ip", "netns", "exec", NS, "ipvsadm", "-C"], capture_output=True)
        subprocess.run(["ip", "netns", "del", NS], check=True)
        time.sleep(2 if os.environ.get("LVS_BENCH_GUEST") != "qemu" else 10)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)


def flush():
    fresh_ns()


def count_table():
    out, _ = sh("ipvsadm", "-Sn")
    return sum(l.startswith("-A") for l in out.splitlines()), sum(l.startswith("-a") for l in out.splitlines())


def main():
    ns_list = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    subprocess.run(["modprobe", "ip_vs"], check=False)
    fresh_ns()
    py = [sys.executable, os.path.join(HERE, "bench_pyroute2.py")]
    pyroute2 = have_pyroute2()
    kernel = platform.release()
    ipvsadm_version = subprocess.run(["ipvsadm", "-v"], capture_output=True, text=True).stdout.strip()
    results = {}  # (n, op, tool) -> [seconds]
    failed_peers = set()  # (n, tool) that failed at least once
    canary = []

    def rec(n, op, tool, secs):
        results.setdefault((n, op, tool), []).append(secs)

    def rotated(runners, rep, n, before=lambda: None):
        """Runs each tool of `runners` once, starting at a different one
        each round, and yields (tool, stdout, wall seconds); a peer that
        fails is recorded in failed_peers and skipped."""
        order = list(runners)
        order = order[rep % len(order):] + order[: rep % len(order)]
        for tool in order:
            before()
            try:
                out, wall = runners[tool]()
            except PeerFailed:
                failed_peers.add((n, tool))
                continue
            yield tool, out, wall

    for n in ns_list:
        rulefile = tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False)
        rulefile.write(rules(n))
        rulefile.close()
        creators = {
            "ipvsadm": lambda: sh("sh", "-c", f"ipvsadm -R < {rulefile.name}"),
            "lvs one-by-one": lambda: sh(PEERS, "create", "single", str(n), str(D)),
            "lvs batch": lambda: sh(PEERS, "create", "batch", str(n), str(D)),
            "lvs stream": lambda: sh(PEERS, "create", "stream", str(n), str(D)),
            "lvs apply": lambda: sh(PEERS, "create", "apply", str(n), str(D)),
        }
        dumpers = {
            "ipvsadm": lambda: sh("ipvsadm", "-Sn"),
            "lvs one-by-one": lambda: sh(PEERS, "dump", "naive", str(n), str(D)),
            "lvs one-pass": lambda: sh(PEERS, "dump", "onepass", str(n), str(D)),
        }
        editors = {
            "ipvsadm": lambda: sh("ipvsadm", "-E", "-t", f"{vip(n // 2)}:80", "-s", "wrr"),
            "lvs": lambda: sh(PEERS, "edit", str(n)),
        }
        if MOBY:
            creators["moby/ipvs"] = lambda: sh(MOBY, "create", str(n), str(D))
            dumpers["moby/ipvs"] = lambda: sh(MOBY, "dump", str(n), str(D))
            editors["moby/ipvs"] = lambda: sh(MOBY, "edit", str(n))
        if LVSADM:
            creators["lvsadm"] = lambda: sh("sh", "-c", f"{LVSADM} -R < {rulefile.name}")
            dumpers["lvsadm"] = lambda: sh(LVSADM, "-Sn")
        if pyroute2:
            creators["pyroute2"] = lambda: sh(*py, "create", str(n), str(D))
            dumpers["pyroute2"] = lambda: sh(*py, "dump", str(n), str(D))
            editors["pyroute2"] = lambda: sh(*py, "edit", str(n))
        if ONLY:
            for d in (creators, dumpers, editors):
                for t in list(d):
                    if t not in ONLY:
                        del d[t]
        for rep in range(REPS):
            out, _ = sh(PEERS, "canary")
            canary.append(float(out.split()[1]))
            for (fn, ft) in failed_peers:
                if fn == n:
                    creators.pop(ft, None)
                    dumpers.pop(ft, None)
                    editors.pop(ft, None)
            for tool, out, wall in rotated(creators, rep, n, before=flush):
                rec(n, "create", tool, wall)
                if tool.startswith("lvs"):
                    rec(n, "create (in-process)", tool, inner(out))
                got = count_table()
                if got != (n, n * D):
                    sys.exit(f"bench: {tool} created {got}, not {(n, n * D)}")
                print(f"  N={n} round {rep + 1}: create {tool:<15} {wall:8.3f} s", file=sys.stderr, flush=True)
            for tool, out, wall in rotated(dumpers, rep, n):
                if tool in ("ipvsadm", "lvsadm") and (out.count("\n-A") + out.startswith("-A"), out.count("\n-a")) != (n, n * D):
                    sys.exit(f"bench: {tool} -Sn incomplete")
                rec(n, "dump", tool, wall)
                if tool.startswith("lvs"):
                    rec(n, "dump (in-process)", tool, inner(out))
                print(f"  N={n} round {rep + 1}: dump   {tool:<15} {wall:8.3f} s", file=sys.stderr, flush=True)
            if not ONLY or "lvs apply" in ONLY:
                out, wall = sh(PEERS, "idle-apply", str(n), str(D))
                if "changes 0" not in out:
                    sys.exit(f"bench: idle apply changed something: {out}")
                rec(n, "idle apply", "lvs apply", wall)
            for tool, out, wall in rotated(editors, rep, n):
                rec(n, "edit one", tool, wall if tool == "ipvsadm" else inner(out))
            flush()
            if not ONLY:
                out, _ = sh(PEERS, "create", "limit", str(n), str(D))
                rec(n, "create (in-process)", "limit", inner(out))
                flush()
        os.unlink(rulefile.name)

    # System calls per operation, counted in a separate, untimed run.
    sc = {}
    n = 1000
    rulefile = tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False)
    rulefile.write(rules(n))
    rulefile.close()
    counted = {
        ("create", "ipvsadm"): ["sh", "-c", f"ipvsadm -R < {rulefile.name}"],
        ("create", "lvs one-by-one"): [PEERS, "create", "single", str(n), str(D)],
        ("create", "lvs batch"): [PEERS, "create", "batch", str(n), str(D)],
        ("create", "lvs stream"): [PEERS, "create", "stream", str(n), str(D)],
        ("create", "lvs apply"): [PEERS, "create", "apply", str(n), str(D)],
        ("dump", "ipvsadm"): ["ipvsadm", "-Sn"],
        ("dump", "lvs one-by-one"): [PEERS, "dump", "naive", str(n), str(D)],
        ("dump", "lvs one-pass"): [PEERS, "dump", "onepass", str(n), str(D)],
        ("idle apply", "lvs apply"): [PEERS, "idle-apply", str(n), str(D)],
    }
    if LVSADM:
        counted[("create", "lvsadm")] = ["sh", "-c", f"{LVSADM} -R < {rulefile.name}"]
        counted[("dump", "lvsadm")] = [LVSADM, "-Sn"]
    if MOBY:
        counted[("create", "moby/ipvs")] = [MOBY, "create", str(n), str(D)]
        counted[("dump", "moby/ipvs")] = [MOBY, "dump", str(n), str(D)]
    if pyroute2:
        counted[("create", "pyroute2")] = [*py, "create", str(n), str(D)]
        counted[("dump", "pyroute2")] = [*py, "dump", str(n), str(D)]
    if ONLY:
        counted = {k: v for k, v in counted.items() if k[1] in ONLY}
    for (op, tool), cmd in counted.items():
        if op == "create":
            flush()
        trace = tempfile.NamedTemporaryFile(suffix=".strace", delete=False).name
        try:
            sh("strace", "-f", "-c", "-o", trace, *cmd)
        except PeerFailed:
            continue
        total = None
        with open(trace) as f:
            for line in f:
                words = line.split()
                # "100.00 seconds usecs/call calls [errors] total"
                if words and words[-1] == "total" and len(words) >= 5:
                    total = int(words[3])
        os.unlink(trace)
        per = n * (D + 1) if op == "create" else n
        sc[(op, tool)] = total / per if total else None
    flush()
    os.unlink(rulefile.name)

    med = lambda v: statistics.median(v) if v else None
    def fmt(s):
        if s is None:
            return "—"
        return f"{s * 1000:.2f} ms" if s < 1 else f"{s:.2f} s"
    print()
    guest = "QEMU guest, TCG" if os.environ.get("LVS_BENCH_GUEST") == "qemu" else "User-Mode Linux guest"
    print(f"Linux {kernel} ({guest}), one boot; {ipvsadm_version.split(' (')[0]}; "
          f"pyroute2 0.9.7{'' if pyroute2 else ' (not available)'}; "
          f"moby/ipvs{' (Debian golang-github-docker-docker-dev, Go ' + GO_VERSION + ')' if MOBY else ' (not available)'}; medians of {REPS}; "
          f"syscall canary: median {statistics.median(canary):.1f} us per getppid() "
          f"(min {min(canary):.1f}, max {max(canary):.1f})")
    for n in ns_list:
        print()
        print(f"N = {n} services x {D} destinations ({n * (D + 1)} adds)")
        print()
        print("| tool | create | vs ipvsadm | dump | vs ipvsadm | edit one | idle re-apply |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        base_c = med(results.get((n, "create", "ipvsadm"), []))
        base_d = med(results.get((n, "dump", "ipvsadm"), []))
        tools = ["ipvsadm", "lvsadm", "moby/ipvs", "pyroute2", "lvs one-by-one", "lvs batch", "lvs stream", "lvs apply", "lvs one-pass", "lvs"]
        for tool in tools:
            c = med(results.get((n, "create", tool), []))
            d = med(results.get((n, "dump", tool), []))
            e = med(results.get((n, "edit one", tool), []))
            i = med(results.get((n, "idle apply", tool), []))
            if c is None and d is None and e is None and i is None:
                continue
            rc = f"{base_c / c:.1f}x" if c and base_c else ""
            rd = f"{base_d / d:.1f}x" if d and base_d else ""
            note = " (failed at this size, see the log)" if (n, tool) in failed_peers else ""
            print(f"| {tool}{note} | {fmt(c)} | {rc} | {fmt(d)} | {rd} | {fmt(e)} | {fmt(i)} |")
        b = med(results.get((n, "create (in-process)", "lvs batch"), []))
        st = med(results.get((n, "create (in-process)", "lvs stream"), []))
        l = med(results.get((n, "create (in-process)", "limit"), []))
        print()
        if b and st and l:
            print(f"- the limit (the same pre-encoded batches sent back to back, only the final ack awaited), "
                  f"in-process: {fmt(l)}; batch (sending a Batch built beforehand) / limit = {b / l:.2f}; "
                  f"stream (encoding each rule while sending) / limit = {st / l:.2f}")
        for tool in ["lvs one-by-one", "lvs batch", "lvs stream", "lvs apply"]:
            v = med(results.get((n, "create (in-process)", tool), []))
            if v:
                print(f"- create in-process, {tool}: {fmt(v)}")
        for tool in ["lvs one-by-one", "lvs one-pass"]:
            v = med(results.get((n, "dump (in-process)", tool), []))
            if v:
                print(f"- dump in-process, {tool}: {fmt(v)}" + (f" ({base_d / v:.1f}x ipvsadm -Sn)" if base_d else ""))
        print("(create and dump: wall time of the whole command, process start included; "
              "edit one: in-process for the libraries, the whole `ipvsadm -E` command for ipvsadm.)")
    print()
    print(f"System calls per operation (strace -f -c, N = 1000; create: per add, dump and idle re-apply: per service):")
    print()
    print("| tool | create | dump | idle re-apply |")
    print("|---|---:|---:|---:|")
    for tool in ["ipvsadm", "lvsadm", "moby/ipvs", "pyroute2", "lvs one-by-one", "lvs batch", "lvs stream", "lvs apply", "lvs one-pass"]:
        row = [sc.get((op, tool)) for op in ("create", "dump", "idle apply")]
        if all(v is None for v in row):
            continue
        print(f"| {tool} | " + " | ".join("—" if v is None else f"{v:.2f}" for v in row) + " |")
    subprocess.run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
