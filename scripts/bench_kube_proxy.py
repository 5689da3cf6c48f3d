#!/usr/bin/env python3
"""scripts/bench --kube-proxy: kube_proxy_sync at kube-proxy's scale, in the
User-Mode Linux guest (Linux 6.1).

  scripts/bench --kube-proxy [N [ENDPOINTS]]      (default 10000 5)

On the host: builds the example (release) and writes the cluster as JSON
under target/bench-kube-proxy/: N ClusterIP Services (one TCP port each)
and one EndpointSlice each with ENDPOINTS ready endpoints, both as one
`kubectl get services,endpointslices -A -o json` List and as two watch
streams (`kubectl get KIND -A --watch --output-watch-events -o json`).
In the guest, each in a fresh network namespace:

  - full sync: `kube_proxy_sync FILE` on an empty table (read + parse +
    compute + apply + kube-ipvs0 addresses), 3 runs; and the same again on
    the programmed table (nothing to change);
  - watch: `kube_proxy_sync --watch` on two FIFOs fed the streams; once the
    whole cluster is programmed, one EndpointSlice MODIFIED event (one
    endpoint replaced) at a time, timed from writing the event to the
    watcher's report that the kernel has the change (its sync line, printed
    after the apply returned), 7 events.

Prints medians beside kube-proxy's published sync times at that scale.
UML figures: a system call costs far more there than on hardware.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "bench-kube-proxy")


def vip(i):
    return f"10.{96 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"


def pod(k):
    return f"10.{128 + (k >> 16)}.{(k >> 8) & 255}.{k & 255}"


def service(i):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"svc{i}", "namespace": "bench"},
            "spec": {"type": "ClusterIP", "clusterIP": vip(i), "clusterIPs": [vip(i)],
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}


def endpoint(addr, node):
    return {"addresses": [addr], "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": node}


def slice_(i, e, replaced=None):
    eps = [endpoint(pod(i * e + j), f"node-{j % 3}") for j in range(e)]
    if replaced:
        eps[0] = endpoint(replaced, "node-0")
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"svc{i}-abcde", "namespace": "bench",
                         "labels": {"kubernetes.io/service-name": f"svc{i}"}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def generate(n, e):
    os.makedirs(OUT, exist_ok=True)
    items = [service(i) for i in range(n)] + [slice_(i, e) for i in range(n)]
    with open(os.path.join(OUT, "list.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    with open(os.path.join(OUT, "services.watch"), "w") as f:
        for i in range(n):
            f.write(json.dumps({"type": "ADDED", "object": service(i)}) + "\n")
    with open(os.path.join(OUT, "endpointslices.watch"), "w") as f:
        for i in range(n):
            f.write(json.dumps({"type": "ADDED", "object": slice_(i, e)}) + "\n")


def host(args):
    n = int(args[0]) if args else 10000
    e = int(args[1]) if len(args) > 1 else 5
    subprocess.run(["scripts/install-deps"], cwd=ROOT, check=True)
    print("==> building kube_proxy_sync (release)", file=sys.stderr)
    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "kube_proxy_sync"],
                   cwd=ROOT, check=True)
    print(f"==> writing {n} Services x {e} endpoints as JSON under {OUT}", file=sys.stderr)
    generate(n, e)
    print("==> booting the guest", file=sys.stderr)
    env = dict(os.environ, LVS_UML_MEM=os.environ.get("LVS_UML_MEM", "3G"))
    r = subprocess.run(["scripts/uml", "python3", os.path.abspath(__file__), "--guest", str(n), str(e)],
                       cwd=ROOT, env=env)
    sys.exit(r.returncode)


EXE = os.path.join(ROOT, "target", "release", "examples", "kube_proxy_sync")
FLAGS = ["--node", "node-a", "--ip-family", "ipv4", "--quiet"]


def netns(name):
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "-n", name, "link", "add", "eth0", "type", "dummy"], check=True)
    subprocess.run(["ip", "-n", name, "addr", "add", "192.0.2.10/24", "dev", "eth0"], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "eth0", "up"], check=True)


def timed_sync(ns, path):
    t = time.perf_counter()
    p = subprocess.run(["ip", "netns", "exec", ns, EXE, *FLAGS, path], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"bench: kube_proxy_sync failed: {p.stderr[-500:]}")
    return wall, p.stdout


def count_dests(ns):
    out = subprocess.run(["ip", "netns", "exec", ns, "ipvsadm", "-Sn"], capture_output=True, text=True).stdout
    return sum(1 for l in out.splitlines() if l.startswith("-a ")), sum(1 for l in out.splitlines() if l.startswith("-A "))


PHASES = ("read", "parse", "compute", "apply")


def phases(out):
    m = re.search(r"\(read ([0-9.]+), parse ([0-9.]+), compute ([0-9.]+), apply ([0-9.]+)\)", out)
    return [float(x) / 1000 for x in m.groups()]


def guest(args):
    n, e = int(args[0]), int(args[1])
    # The input on the guest's tmpfs: hostfs reads would be timed otherwise.
    listing = "/run/kp-list.json"
    subprocess.run(["cp", os.path.join(OUT, "list.json"), listing], check=True)
    full, idle, full_ph, idle_ph = [], [], [], []
    for r in range(3):
        ns = f"kpfull{r}"
        netns(ns)
        wall, out = timed_sync(ns, listing)
        full.append(wall)
        full_ph.append(phases(out))
        dests, services = count_dests(ns)
        if (services, dests) != (n, n * e):
            sys.exit(f"bench: expected {n} services and {n * e} real servers, got {services} and {dests}\n{out}")
        wall, out = timed_sync(ns, listing)
        if "no changes" not in out:
            sys.exit(f"bench: the second sync changed something:\n{out}")
        idle.append(wall)
        idle_ph.append(phases(out))
        subprocess.run(["ip", "netns", "del", ns], check=True)

    ns = "kpwatch"
    netns(ns)
    fifo_s, fifo_e = "/run/kp-services", "/run/kp-endpointslices"
    for f in (fifo_s, fifo_e):
        if os.path.exists(f):
            os.unlink(f)
        os.mkfifo(f)
    w = subprocess.Popen(["ip", "netns", "exec", ns, EXE, *FLAGS, "--watch", "--sync-period", "600",
                          "--services", fifo_s, "--endpointslices", fifo_e],
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    ws = open(fifo_s, "w")
    we = open(fifo_e, "w")

    def feed():
        with open(os.path.join(OUT, "services.watch")) as f:
            ws.write(f.read())
        ws.flush()
        with open(os.path.join(OUT, "endpointslices.watch")) as f:
            we.write(f.read())
        we.flush()

    t0 = time.perf_counter()
    feeder = threading.Thread(target=feed)
    feeder.start()
    added_s = added_d = 0
    while added_s < n or added_d < n * e:
        line = w.stdout.readline()
        if not line:
            sys.exit("bench: the watcher ended early")
        m = re.search(r"services: \+(\d+) .*destinations: \+(\d+) ", line)
        if m:
            added_s += int(m.group(1))
            added_d += int(m.group(2))
    initial = time.perf_counter() - t0
    feeder.join()
    event, inner = [], []
    for r in range(7):
        i = n // 2 + r
        ev = json.dumps({"type": "MODIFIED", "object": slice_(i, e, replaced=f"10.250.{r}.1")})
        t = time.perf_counter()
        we.write(ev + "\n")
        we.flush()
        line = w.stdout.readline()
        event.append(time.perf_counter() - t)
        if "destinations: +1 ~0 -1" not in line:
            sys.exit(f"bench: unexpected sync after one event: {line}")
        inner.append(float(re.search(r"; ([0-9.]+) ms", line).group(1)) / 1000)
    ws.close()
    we.close()
    w.wait()
    subprocess.run(["ip", "netns", "del", ns], check=True)

    med = statistics.median
    print()
    print(f"kube-proxy scale: {n:,} ClusterIP Services x {e} endpoints ({n * e:,} real servers), "
          f"UML guest, Linux {os.uname().release}; medians")
    def split(ph):
        return ", ".join(f"{k} {med([p[i] for p in ph]):.2f}" for i, k in enumerate(PHASES))
    print(f"  {'full sync from JSON (parse + compute + apply), empty table':<64} {med(full):8.2f} s   (3 runs;"
          f" {split(full_ph)} s)")
    print(f"  {'the same sync again, nothing to change':<64} {med(idle):8.2f} s   (3 runs;"
          f" {split(idle_ph)} s)")
    print(f"  {'watch: initial streams (2 x ' + format(n, ',') + ' ADDED events) programmed':<64} {initial:8.2f} s   (1 run)")
    print(f"  {'watch: one EndpointSlice event -> kernel change':<64} {med(event) * 1000:8.0f} ms  (7 events;"
          f" the sync itself {med(inner) * 1000:.0f} ms)")
    print(f"  {'kube-proxy IPVS mode, published (kubernetes#73382, #88212)':<64} {'10-70':>8} s   per sync at"
          f" 1,500-19,500 Services: tens of seconds at this scale")
    print("  (UML: every system call costs ~50 us here, far more than on hardware; kube-proxy's figures"
          " are from real nodes)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--guest"]:
        guest(sys.argv[2:])
    else:
        host(sys.argv[1:])
