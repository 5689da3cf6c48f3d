#!/usr/bin/env python3
"""The pyroute2 side of scripts/bench: one step of the scenario per run, in
the network namespace it runs in. Same rules as benches/peers.rs:
service i is TCP 10.96.0.0+i:80 (rr), destination j 10.244.0.0+4i+j:8080
(masquerade, weight 1). Prints `seconds S` (in-process time).

    bench_pyroute2.py create N D | dump N D | edit N
"""
import ipaddress
import socket
import sys
import time

from pyroute2 import IPVS, IPVSDest, IPVSService

MASQ = 0


def vip(i):
    return str(ipaddress.IPv4Address(0x0A600000 + i))


def pod(i, j):
    return str(ipaddress.IPv4Address(0x0AF40000 + i * 4 + j))


def service(i, sched="rr"):
    return IPVSService(addr=vip(i), port=80, protocol=socket.IPPROTO_TCP, sched_name=sched)


def main():
    cmd, n = sys.argv[1], int(sys.argv[2])
    d = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    ipvs = IPVS()
    if cmd == "create":
        services = [service(i) for i in range(n)]
        dests = [[IPVSDest(addr=pod(i, j), port=8080, fwd_method=MASQ, weight=1) for j in range(d)] for i in range(n)]
        t = time.perf_counter()
        for s, ds in zip(services, dests):
            ipvs.service("add", service=s)
            for dst in ds:
                ipvs.dest("add", service=s, dest=dst)
        secs = time.perf_counter() - t
    elif cmd == "dump":
        t = time.perf_counter()
        count_s = count_d = 0
        for msg in ipvs.service("dump"):
            s = IPVSService.from_message(msg)
            count_s += 1
            for _ in ipvs.dest("dump", service=s):
                count_d += 1
        secs = time.perf_counter() - t
        if (count_s, count_d) != (n, n * d):
            sys.exit(f"incomplete dump: {count_s} services, {count_d} destinations")
    elif cmd == "edit":
        # read the current scheduler, then time only the edit
        s = service(n // 2)
        cur = None
        for msg in ipvs.service("get", service=s):
            cur = IPVSService.from_message(msg).get("sched_name")
        new = service(n // 2, "wrr" if cur == "rr" else "rr")
        t = time.perf_counter()
        ipvs.service("set", service=new)
        secs = time.perf_counter() - t
    else:
        sys.exit(__doc__)
    ipvs.close()
    print(f"seconds {secs:.6f}")


if __name__ == "__main__":
    main()
