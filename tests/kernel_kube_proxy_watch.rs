//! `kube_proxy_sync --watch`: recorded `kubectl get KIND -A --watch
//! --output-watch-events -o json` streams (tests/fixtures/kube-proxy/
//! watch-*.json) converge on the same table as the final state would give;
//! over FIFOs, with the traffic lab, an endpoint that leaves while holding
//! a connection drains, and the periodic resync deletes it once the
//! connection is gone.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::traffic::{Lab, hold, tally};
use common::*;
use lvs::ServiceId;
use serde_json::json;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/kube-proxy/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn table(ns: &TestNetns) -> BTreeSet<String> {
    ns.exec("ipvsadm", &["-Sn"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn recorded_streams_converge() {
    let ns = TestNetns::new();
    ns.exec_stdin(
        "ip",
        &["-batch", "-"],
        "link add eth0 type dummy\naddr add 192.0.2.10/24 dev eth0\nlink set eth0 up\n",
    );
    let out = run_example(
        &ns,
        "kube_proxy_sync",
        &[
            "--node",
            "node-a",
            "--watch",
            "--sync-period",
            "1",
            "--services",
            &fixture("watch-services.json"),
            "--endpointslices",
            &fixture("watch-endpointslices.json"),
        ],
    );
    assert!(out.contains("sync 1:"), "{out}");
    assert!(out.contains("no real server draining"), "{out}");
    let want: BTreeSet<String> = [
        "-A -t 10.20.30.41:80 -s rr",
        "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
        "-a -t 10.20.30.41:80 -r 10.180.0.3:80 -m -w 1",
        "-A -t 50.60.70.81:80 -s rr",
        "-a -t 50.60.70.81:80 -r 10.180.0.1:80 -m -w 1",
        "-a -t 50.60.70.81:80 -r 10.180.0.3:80 -m -w 1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(table(&ns), want, "{out}");
    let bound = ns.exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"]);
    assert!(bound.contains("10.20.30.41/32"), "{bound}");
    assert!(bound.contains("50.60.70.81/32"), "{bound}");
    assert!(!bound.contains("10.20.30.42"), "{bound}");
}

fn service_event(ty: &str) -> String {
    json!({"type": ty, "object": {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                 "ports": [{"name": "p", "port": 80, "protocol": "TCP", "targetPort": 80}]}}})
    .to_string()
}

fn slice_event(ty: &str, eps: &[IpAddr]) -> String {
    let eps: Vec<_> = eps
        .iter()
        .map(|a| json!({"addresses": [a.to_string()], "conditions": {"ready": true}}))
        .collect();
    json!({"type": ty, "object": {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "endpoints": eps,
        "ports": [{"name": "p", "port": 80, "protocol": "TCP"}]}})
    .to_string()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn fifo_streams_drain_a_leaving_endpoint_and_resync_deletes_it() {
    let lab = Lab::new(2);
    let dir = std::env::temp_dir().join(format!("lvs-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (svc_path, eps_path) = (dir.join("services"), dir.join("endpointslices"));
    for p in [&svc_path, &eps_path] {
        run("mkfifo", &[p.to_str().unwrap()]);
    }
    let mut child = Command::new("ip")
        .args(["netns", "exec", &lab.director.name])
        .arg(example("kube_proxy_sync"))
        .args([
            "--node",
            "node-a",
            "--ip-family",
            "ipv4",
            "--watch",
            "--sync-period",
            "1",
            "--services",
            svc_path.to_str().unwrap(),
            "--endpointslices",
            eps_path.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut services = std::fs::OpenOptions::new()
        .write(true)
        .open(&svc_path)
        .unwrap();
    let mut slices = std::fs::OpenOptions::new()
        .write(true)
        .open(&eps_path)
        .unwrap();
    let addrs: Vec<IpAddr> = lab.backends.iter().map(|b| b.addr.into()).collect();
    writeln!(services, "{}", service_event("ADDED")).unwrap();
    writeln!(slices, "{}", slice_event("ADDED", &addrs)).unwrap();
    let vip: SocketAddr = "10.96.0.10:80".parse().unwrap();
    let id = ServiceId::tcp(vip);
    let ipvs = lab.ipvs();
    let dests = || -> Vec<(IpAddr, u32)> {
        let mut v: Vec<(IpAddr, u32)> = ipvs
            .destinations(&id)
            .map(|d| {
                d.into_iter()
                    .map(|d| (d.destination.addr.ip(), d.destination.weight))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    wait_for("both endpoints", || dests().len() == 2);
    wait_for("the VIP on kube-ipvs0", || {
        lab.director
            .exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"])
            .contains("10.96.0.10/32")
    });

    let held = hold(&lab.client, vip);
    let h: IpAddr = lab.backend(&held.backend).addr.into();
    let k: IpAddr = *addrs.iter().find(|a| **a != h).unwrap();
    writeln!(slices, "{}", slice_event("MODIFIED", &[k])).unwrap();
    wait_for("the leaving endpoint at weight 0", || {
        dests() == vec![(h, 0), (k, 1)] || dests() == vec![(k, 1), (h, 0)]
    });
    let k_name = &lab
        .backends
        .iter()
        .find(|b| IpAddr::from(b.addr) == k)
        .unwrap()
        .name;
    let counts = tally(&lab.client, vip, 3);
    assert_eq!(
        counts.keys().collect::<Vec<_>>(),
        vec![k_name],
        "{counts:?}"
    );

    // The streams end; the watcher resyncs until nothing drains, which
    // takes the held connection's end and IPVS forgetting it.
    drop(services);
    drop(slices);
    held.reset();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the watcher did not finish draining");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{out}");
    assert!(out.contains("no real server draining"), "{out}");
    assert_eq!(dests(), vec![(k, 1)], "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
