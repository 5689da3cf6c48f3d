//! Graceful termination as kube-proxy does it, with real connections: the
//! traffic lab's client talks to a Service that `kube_proxy_sync` programs
//! on the director (through `Ipvs::apply` with its graceful option). A
//! leaving TCP endpoint that holds a connection is kept at weight 0 (the
//! connection goes on, new ones go elsewhere) and deleted by a later sync
//! once its connections are gone; an idle one goes at once; a UDP endpoint
//! goes at once even with traffic; an endpoint that comes back while
//! draining is restored to weight 1.

mod common;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::traffic::{Lab, hold, tally};
use lvs::ServiceId;
use serde_json::{Value, json};

const VIP: &str = "10.96.0.10";

/// A cluster of one Service (ClusterIP `VIP`, port 80 or 53/UDP) with the
/// given endpoints (addresses, port 80 or 53).
fn cluster(protocol: &str, port: u16, endpoints: &[IpAddr]) -> Value {
    let eps: Vec<Value> = endpoints
        .iter()
        .map(|a| json!({"addresses": [a.to_string()], "conditions": {"ready": true}, "nodeName": "node-b"}))
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "web", "namespace": "default"},
         "spec": {"type": "ClusterIP", "clusterIP": VIP, "clusterIPs": [VIP],
                  "ports": [{"name": "p", "port": port, "protocol": protocol, "targetPort": port}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "web-1", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "web"}},
         "addressType": "IPv4", "endpoints": eps,
         "ports": [{"name": "p", "port": port, "protocol": protocol}]}
    ]})
}

/// Syncs `cluster` on the director; the summary line of the changes.
fn sync(lab: &Lab, cluster: &Value) -> String {
    let path = std::env::temp_dir().join(format!(
        "lvs-graceful-{}-{}.json",
        std::process::id(),
        lab.director.name
    ));
    std::fs::write(&path, cluster.to_string()).unwrap();
    let out = lab.run_example(
        "kube_proxy_sync",
        &[
            "--node",
            "node-a",
            "--ip-family",
            "ipv4",
            "--quiet",
            path.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(&path).unwrap();
    out.lines()
        .find(|l| l.starts_with("services:"))
        .unwrap_or_else(|| panic!("no summary:\n{out}"))
        .to_string()
}

/// (weight, active + inactive connections) of each real server.
fn dests(lab: &Lab, id: &ServiceId) -> Vec<(IpAddr, u32, u32)> {
    let mut v: Vec<(IpAddr, u32, u32)> = lab
        .ipvs()
        .destinations(id)
        .unwrap()
        .into_iter()
        .map(|d| {
            (
                d.destination.addr.ip(),
                d.destination.weight,
                d.active_connections + d.inactive_connections,
            )
        })
        .collect();
    v.sort();
    v
}

fn vip(port: u16) -> SocketAddr {
    SocketAddr::new(VIP.parse().unwrap(), port)
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn tcp_endpoint_with_a_connection_drains_idle_one_goes_at_once_and_a_return_is_restored() {
    let lab = Lab::new(3);
    let addrs: Vec<IpAddr> = lab.backends.iter().map(|b| b.addr.into()).collect();
    let id = ServiceId::tcp(vip(80));
    let first = sync(&lab, &cluster("TCP", 80, &addrs));
    assert!(first.contains("destinations: +3 ~0 -0"), "{first}");

    // A connection held open to one backend H; I is idle; K stays.
    let mut held = hold(&lab.client, vip(80));
    let h = lab.backend(&held.backend).addr;
    let h_ip: IpAddr = h.into();
    let (i_ip, k_ip) = {
        let others: Vec<IpAddr> = addrs.iter().copied().filter(|a| *a != h_ip).collect();
        (others[0], others[1])
    };

    // H and I leave: I (no connection) is deleted, H is drained.
    let out = sync(&lab, &cluster("TCP", 80, &[k_ip]));
    assert!(out.contains("destinations: +0 ~1 -1; draining 1"), "{out}");
    let table = dests(&lab, &id);
    assert_eq!(table.len(), 2, "{table:?}");
    assert!(table.contains(&(k_ip, 1, 0)), "{table:?}");
    assert!(
        table
            .iter()
            .any(|(a, w, c)| *a == h_ip && *w == 0 && *c > 0),
        "{table:?}"
    );
    assert!(!table.iter().any(|(a, _, _)| *a == i_ip), "{table:?}");
    // The held connection goes on; new ones all go to K.
    assert_eq!(held.echo("still here").unwrap(), "still here");
    let k_name = lab
        .backends
        .iter()
        .find(|b| IpAddr::from(b.addr) == k_ip)
        .unwrap()
        .name
        .clone();
    let counts = tally(&lab.client, vip(80), 4);
    assert_eq!(
        counts.keys().collect::<Vec<_>>(),
        vec![&k_name],
        "{counts:?}"
    );

    // A sync while H still holds its connection: still draining, no change.
    let out = sync(&lab, &cluster("TCP", 80, &[k_ip]));
    assert!(out.contains("destinations: +0 ~0 -0; draining 1"), "{out}");

    // H comes back while draining: restored to weight 1.
    let out = sync(&lab, &cluster("TCP", 80, &[h_ip, k_ip]));
    assert!(out.contains("destinations: +0 ~1 -0; draining 0"), "{out}");
    assert!(
        dests(&lab, &id)
            .iter()
            .any(|(a, w, _)| *a == h_ip && *w == 1)
    );
    assert_eq!(held.echo("and again").unwrap(), "and again");

    // H leaves again and its connection ends: once IPVS has forgotten the
    // connection, the next sync deletes H.
    let out = sync(&lab, &cluster("TCP", 80, &[k_ip]));
    assert!(out.contains("draining 1"), "{out}");
    held.reset();
    let deadline = Instant::now() + Duration::from_secs(30);
    while dests(&lab, &id)
        .iter()
        .any(|(a, _, c)| *a == h_ip && *c > 0)
    {
        assert!(
            Instant::now() < deadline,
            "the reset connection never expired"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = sync(&lab, &cluster("TCP", 80, &[k_ip]));
    assert!(out.contains("destinations: +0 ~0 -1; draining 0"), "{out}");
    let left: Vec<(IpAddr, u32)> = dests(&lab, &id).iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(left, vec![(k_ip, 1)]);
}

/// A UDP echo server in each backend's namespace answering its name.
fn udp_servers(lab: &Lab) {
    for b in &lab.backends {
        let name = b.name.clone();
        let addr = SocketAddr::new(b.addr.into(), 53);
        let sock = b.ns.run_in(move || UdpSocket::bind(addr).unwrap());
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((_, from)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(name.as_bytes(), from);
            }
        });
    }
}

/// One UDP request from the client to `to` from a fresh socket; the name
/// of the backend that answered.
fn udp_ask(lab: &Lab, to: SocketAddr) -> String {
    lab.client.run_in(move || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        for _ in 0..5 {
            s.send_to(b"who", to).unwrap();
            let mut buf = [0u8; 64];
            if let Ok((n, _)) = s.recv_from(&mut buf) {
                return String::from_utf8_lossy(&buf[..n]).to_string();
            }
        }
        panic!("no UDP answer from {to}");
    })
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn udp_endpoint_goes_at_once_even_with_traffic() {
    let lab = Lab::new(2);
    udp_servers(&lab);
    let addrs: Vec<IpAddr> = lab.backends.iter().map(|b| b.addr.into()).collect();
    let id = ServiceId::udp(vip(53));
    let first = sync(&lab, &cluster("UDP", 53, &addrs));
    assert!(first.contains("destinations: +2 ~0 -0"), "{first}");
    let answered = udp_ask(&lab, vip(53));
    let gone: IpAddr = lab.backend(&answered).addr.into();
    let stay: IpAddr = *addrs.iter().find(|a| **a != gone).unwrap();
    assert!(
        dests(&lab, &id)
            .iter()
            .any(|(a, _, c)| *a == gone && *c > 0),
        "the UDP exchange left no IPVS connection: {:?}",
        dests(&lab, &id)
    );

    let out = sync(&lab, &cluster("UDP", 53, &[stay]));
    assert!(out.contains("destinations: +0 ~0 -1; draining 0"), "{out}");
    assert_eq!(dests(&lab, &id).len(), 1);
    assert_eq!(dests(&lab, &id)[0].0, stay);
    // New requests reach the one left.
    let stay_name = lab
        .backends
        .iter()
        .find(|b| IpAddr::from(b.addr) == stay)
        .unwrap()
        .name
        .clone();
    assert_eq!(udp_ask(&lab, vip(53)), stay_name);
}
