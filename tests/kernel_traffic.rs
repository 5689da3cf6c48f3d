//! Real connections through IPVS, as the kernel's selftest
//! (`tools/testing/selftests/netfilter/ipvs.sh`) makes them: a client, a
//! director and backend pods in namespaces of their own (the lab of
//! `common::traffic`), with the rule-set examples run in the director as a
//! user would, and the three forwarding methods programmed through the
//! library. They run in the UML guest (`scripts/test`); on the host they
//! are ignored, never passed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::sa;
use common::traffic::{CLIENT, Lab, fetch, hold, tally, try_fetch};
use lvs::{
    ApplyOptions, Destination, Forwarding, Links, Scheduler, Service, ServiceId, Tunnel,
    VirtualServer,
};

fn names(lab: &Lab) -> BTreeSet<String> {
    lab.backends.iter().map(|b| b.name.clone()).collect()
}

/// Every backend exactly `n` times.
fn each(lab: &Lab, n: usize) -> BTreeMap<String, usize> {
    lab.backends.iter().map(|b| (b.name.clone(), n)).collect()
}

/// Runs an example in the director with every backend as an endpoint,
/// plus `args`.
fn run_with_endpoints(lab: &Lab, name: &str, args: &[&str]) -> String {
    let endpoints = lab.endpoint_args();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(endpoints.iter().map(String::as_str));
    lab.run_example(name, &all)
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn clusterip_example_round_robins_over_every_backend() {
    let lab = Lab::new(3);
    let out = run_with_endpoints(&lab, "clusterip", &[]);
    assert!(
        out.contains("added service TCP 10.96.0.10:8080 rr"),
        "{out}"
    );

    const N: usize = 4;
    let vip = sa("10.96.0.10:8080");
    assert_eq!(tally(&lab.client, vip, 3 * N), each(&lab, N));
    // NAT: each backend saw the client's own address, on its own address.
    for b in &lab.backends {
        let seen = b.accepted();
        assert_eq!(seen.len(), N, "{}", b.name);
        for a in seen {
            assert_eq!(a.peer.ip(), CLIENT, "{}", b.name);
            assert_eq!(a.local, b.endpoint(), "{}", b.name);
        }
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn session_affinity_example_keeps_each_client_on_one_backend() {
    let lab = Lab::new(3);
    let out = run_with_endpoints(&lab, "session_affinity", &["--timeout", "600"]);
    assert!(
        out.contains("TCP  10.96.0.11:8080 rr persistent 600"),
        "{out}"
    );
    let vip = sa("10.96.0.11:8080");

    let first = tally(&lab.client, vip, 6);
    assert_eq!(first.len(), 1, "one client, one backend: {first:?}");

    // A second client address: it is scheduled on its own (maybe on the
    // same backend, maybe not), and then sticks too.
    let second_ip = Ipv4Addr::new(192, 168, 50, 3);
    lab.add_client_address(second_ip);
    lab.set_client_source(second_ip);
    let second = tally(&lab.client, vip, 6);
    assert_eq!(second.len(), 1, "second client, one backend: {second:?}");
    let from_second: usize = lab
        .backends
        .iter()
        .map(|b| {
            b.accepted()
                .iter()
                .filter(|a| a.peer.ip() == second_ip)
                .count()
        })
        .sum();
    assert_eq!(from_second, 6, "the connections came from {second_ip}");

    // The first client still lands where it did.
    lab.set_client_source(CLIENT);
    assert_eq!(
        tally(&lab.client, vip, 3).keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>()
    );

    // One persistence template per client address.
    let id = ServiceId::tcp(vip);
    let templates: u32 = lab
        .ipvs()
        .destinations(&id)
        .unwrap()
        .iter()
        .map(|d| d.persistent_connections)
        .sum();
    assert_eq!(templates, 2);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_example_answers_on_every_node_address_and_not_on_loopback() {
    let lab = Lab::new(3);
    let out = run_with_endpoints(&lab, "nodeport", &[]);
    let node_addresses = ["192.168.50.1", "10.244.1.1", "10.244.2.1", "10.244.3.1"];
    let mut expected: BTreeSet<ServiceId> = node_addresses
        .iter()
        .map(|a| ServiceId::tcp(sa(&format!("{a}:30080"))))
        .collect();
    expected.insert(ServiceId::tcp(sa("10.96.0.13:8080")));
    let got: BTreeSet<ServiceId> = lab
        .ipvs()
        .services()
        .unwrap()
        .into_iter()
        .map(|e| e.service.id)
        .collect();
    assert_eq!(got, expected, "{out}");

    // Every node address answers on the NodePort, each with its own rr.
    for a in node_addresses {
        let addr = sa(&format!("{a}:30080"));
        assert_eq!(tally(&lab.client, addr, 3), each(&lab, 1), "{addr}");
    }
    assert_eq!(tally(&lab.client, sa("10.96.0.13:8080"), 3), each(&lab, 1));

    // Not on loopback: from inside the node, 127.0.0.1:30080 is refused.
    let refused = try_fetch(&lab.director, sa("127.0.0.1:30080"));
    assert_eq!(
        refused.as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused),
        "{refused:?}"
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_local_policy_uses_only_this_nodes_endpoints() {
    let lab = Lab::new(3);
    let [a, b, c] = [0, 1, 2].map(|i| lab.backends[i].endpoint().to_string());
    let endpoints = [
        format!("{a}@node-a"),
        format!("{b}@node-b"),
        format!("{c}@node-a"),
    ];
    let mut args = vec!["--local", "--node", "node-a"];
    for e in &endpoints {
        args.extend(["--endpoint", e.as_str()]);
    }
    let out = lab.run_example("nodeport", &args);
    assert!(!out.contains("falling back"), "{out}");

    let local: BTreeSet<String> = ["pod-1", "pod-3"].map(String::from).into();
    for addr in ["192.168.50.1:30080", "10.244.2.1:30080"] {
        let answered: BTreeSet<String> = tally(&lab.client, sa(addr), 4).into_keys().collect();
        assert_eq!(answered, local, "{addr}");
    }
    // The ClusterIP keeps every endpoint (internalTrafficPolicy Cluster).
    assert_eq!(tally(&lab.client, sa("10.96.0.13:8080"), 3), each(&lab, 1));

    // No endpoint on this node: kube-proxy's fallback to every endpoint.
    args[2] = "node-c";
    let out = lab.run_example("nodeport", &args);
    assert!(
        out.contains("no endpoint on node node-c: falling back"),
        "{out}"
    );
    assert!(
        out.contains("added destination 10.244.2.5:80 (Masq, weight 1) to TCP 192.168.50.1:30080"),
        "{out}"
    );
    let answered: BTreeSet<String> = tally(&lab.client, sa("192.168.50.1:30080"), 3)
        .into_keys()
        .collect();
    assert_eq!(answered, names(&lab));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn external_ip_example_answers_on_the_external_ip() {
    let lab = Lab::new(3);
    let out = run_with_endpoints(&lab, "external_ip", &["--external-ip", "203.0.113.10"]);
    assert!(
        out.contains("added address 203.0.113.10/32 to kube-ipvs0"),
        "{out}"
    );
    assert_eq!(
        tally(&lab.client, sa("203.0.113.10:8080"), 3),
        each(&lab, 1)
    );
    assert_eq!(tally(&lab.client, sa("10.96.0.12:8080"), 3), each(&lab, 1));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn external_ip_already_local_elsewhere_is_left_there_and_answers() {
    let lab = Lab::new(2);
    // The external IP is a second address of the node's LAN link.
    lab.director
        .exec("ip", &["addr", "add", "192.168.50.7/24", "dev", "eth0"]);
    let out = run_with_endpoints(&lab, "external_ip", &["--external-ip", "192.168.50.7"]);
    assert!(
        out.contains("external IP 192.168.50.7 is local on eth0: not bound on kube-ipvs0"),
        "{out}"
    );
    let on_vip_link = lab
        .director
        .exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"]);
    assert!(!on_vip_link.contains("192.168.50.7"), "{on_vip_link}");
    assert_eq!(
        tally(&lab.client, sa("192.168.50.7:8080"), 4),
        each(&lab, 2)
    );
}

/// The director holds `vip` on a dummy link, as kube-proxy does.
fn bind_vip(lab: &Lab, vip: Ipv4Addr) {
    let links = Links::open_in_netns_path(lab.director.path()).unwrap();
    links.ensure_dummy("kube-ipvs0").unwrap();
    links.add_address("kube-ipvs0", vip.into(), None).unwrap();
}

/// A TCP service `vip:80` (rr) with every backend, forwarded by `method`.
fn service_on(lab: &Lab, vip: Ipv4Addr, method: Forwarding) -> ServiceId {
    bind_vip(lab, vip);
    let id = ServiceId::tcp(SocketAddr::new(vip.into(), 80));
    let ipvs = lab.ipvs();
    ipvs.add_service(&Service::new(id).with_scheduler(Scheduler::RoundRobin))
        .unwrap();
    for b in &lab.backends {
        ipvs.add_destination(&id, &Destination::new(b.endpoint()).with_forwarding(method))
            .unwrap();
    }
    id
}

/// Packets in and out through IPVS, summed over the service's
/// destinations. Linux 6.1 folds its per-CPU counters into what it reports
/// every 2 s (the rate estimator's timer): wait for the first packets in.
fn packets(lab: &Lab, id: &ServiceId) -> (u64, u64) {
    let ipvs = lab.ipvs();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (pin, pout) = ipvs
            .destinations(id)
            .unwrap()
            .iter()
            .fold((0, 0), |(i, o), d| {
                (i + d.stats.packets_in, o + d.stats.packets_out)
            });
        if pin > 0 || Instant::now() > deadline {
            return (pin, pout);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nat_forwarding_carries_connections() {
    let lab = Lab::new(2);
    let vip = Ipv4Addr::new(10, 96, 1, 1);
    let id = service_on(&lab, vip, Forwarding::Masquerade);
    let addr = SocketAddr::new(vip.into(), 80);
    let before = Paths::read(&lab);
    assert_eq!(tally(&lab.client, addr, 4), each(&lab, 2));
    // The replies were routed through the director: it forwarded them
    // (the check that direct return's assert_answered_directly turns round).
    let forwarded = Paths::read(&lab).forwarded - before.forwarded;
    assert!(
        forwarded >= 2 * 4,
        "the director forwarded only {forwarded} packets"
    );
    for b in &lab.backends {
        for a in b.accepted() {
            // The director rewrote the destination to the backend.
            assert_eq!(a.local, b.endpoint());
            assert_eq!(a.peer.ip(), CLIENT);
        }
    }
    // The replies came back through IPVS, which rewrote their source.
    let (pin, pout) = packets(&lab, &id);
    assert!(pin > 0 && pout > 0, "in {pin} out {pout}");
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn direct_routing_backends_answer_the_client_directly() {
    let lab = Lab::with_direct_return(2);
    let vip = Ipv4Addr::new(10, 96, 1, 2);
    for b in &lab.backends {
        b.serve_vip_by_direct_routing(vip);
    }
    let id = service_on(&lab, vip, Forwarding::DirectRouting);
    let addr = SocketAddr::new(vip.into(), 80);
    let before = Paths::read(&lab);
    assert_eq!(tally(&lab.client, addr, 4), each(&lab, 2));
    // The replies went straight to the client (from the VIP, which the
    // director itself holds: it would even drop them as martians).
    assert_answered_directly(&lab, &id, addr, &before);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn ipip_tunnel_backends_decapsulate_and_answer_the_client_directly() {
    let lab = Lab::with_direct_return(2);
    let vip = Ipv4Addr::new(10, 96, 1, 3);
    for b in &lab.backends {
        b.serve_vip_by_ipip_tunnel(vip);
    }
    let id = service_on(&lab, vip, Forwarding::Tunnel(Tunnel::ipip()));
    let addr = SocketAddr::new(vip.into(), 80);
    let before = Paths::read(&lab);
    assert_eq!(tally(&lab.client, addr, 4), each(&lab, 2));
    assert_answered_directly(&lab, &id, addr, &before);
    for b in &lab.backends {
        // The packets arrived encapsulated, on tunl0.
        let tunl0 = b.ns.exec("ip", &["-s", "-o", "link", "show", "tunl0"]);
        let rx: u64 = tunl0
            .split("RX:")
            .nth(1)
            .and_then(|s| s.split_whitespace().nth(8))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("tunl0 counters: {tunl0}"));
        assert!(rx > 0, "{}: nothing received on tunl0: {tunl0}", b.name);
    }
}

/// Which way the lab's packets went: counters of the director's and the
/// backends' own kernels (each namespace has its own).
struct Paths {
    /// IPv4 datagrams the director forwarded (`Ip: ForwDatagrams` of its
    /// /proc/net/snmp). IPVS's own transmit to a destination is not
    /// forwarding; a reply routed back through the director is.
    forwarded: u64,
    /// Packets the backends sent on their link to the client's LAN
    /// (`lan0`, direct return labs only; 0 where there is none).
    lan_tx: u64,
}

impl Paths {
    fn read(lab: &Lab) -> Paths {
        let snmp = lab.director.exec("cat", &["/proc/net/snmp"]);
        let mut ip = snmp.lines().filter(|l| l.starts_with("Ip:"));
        let (names, values) = (ip.next().unwrap(), ip.next().unwrap());
        let forwarded = names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "ForwDatagrams")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("no ForwDatagrams in {snmp}"));
        let lan_tx = lab
            .backends
            .iter()
            .map(|b| {
                let out = b.ns.exec(
                    "sh",
                    &[
                        "-c",
                        "cat /sys/class/net/lan0/statistics/tx_packets 2>/dev/null || echo 0",
                    ],
                );
                out.trim()
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{}: lan0 tx_packets {out:?}", b.name))
            })
            .sum();
        Paths { forwarded, lan_tx }
    }
}

/// Direct return (direct routing, tunnels): every connection reached its
/// backend still addressed to the VIP `addr`, from the client itself, and
/// the replies went straight to the client: the director forwarded no
/// packet since `before`, and the backends sent at least two packets per
/// connection (SYN-ACK, the answer) on their own link to the client's LAN.
/// (IPVS's packets-out counter is no evidence: it never counts replies of
/// direct return, which IPVS does not see.)
fn assert_answered_directly(lab: &Lab, id: &ServiceId, addr: SocketAddr, before: &Paths) {
    let mut connections = 0;
    for b in &lab.backends {
        for a in b.accepted() {
            assert_eq!(a.local, addr, "{}", b.name);
            assert_eq!(a.peer.ip(), CLIENT, "{}", b.name);
            connections += 1;
        }
    }
    assert!(connections > 0);
    let (pin, _) = packets(lab, id);
    assert!(pin > 0, "in {pin}");
    let after = Paths::read(lab);
    assert_eq!(
        after.forwarded - before.forwarded,
        0,
        "the director forwarded packets: replies passed it"
    );
    let sent = after.lan_tx - before.lan_tx;
    assert!(
        sent >= 2 * connections,
        "the backends sent {sent} packets to the client's LAN for {connections} connections"
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn weight_zero_takes_no_new_connections_but_keeps_existing_ones() {
    let lab = Lab::new(3);
    let vip = Ipv4Addr::new(10, 96, 1, 4);
    let id = service_on(&lab, vip, Forwarding::Masquerade);
    let addr = SocketAddr::new(vip.into(), 80);
    let mut held = hold(&lab.client, addr);
    let x = lab.backend(&held.backend).endpoint();

    let ipvs = lab.ipvs();
    ipvs.update_destination(&id, &Destination::new(x).with_weight(0))
        .unwrap();
    let counts = tally(&lab.client, addr, 8);
    assert!(!counts.contains_key(&held.backend), "{counts:?}");
    assert_eq!(counts.len(), 2, "{counts:?}");
    // The held connection still goes to X, both ways.
    assert_eq!(held.echo("still there?").unwrap(), "still there?");
    let entry = ipvs
        .destinations(&id)
        .unwrap()
        .into_iter()
        .find(|d| d.destination.addr == x)
        .unwrap();
    assert_eq!(entry.destination.weight, 0);
    assert_eq!(entry.active_connections, 1);
    assert_eq!(held.echo("and now?").unwrap(), "and now?");
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn graceful_apply_drains_a_removed_destination_then_deletes_it() {
    let lab = Lab::new(3);
    let vip = Ipv4Addr::new(10, 96, 1, 5);
    bind_vip(&lab, vip);
    let addr = SocketAddr::new(vip.into(), 80);
    let id = ServiceId::tcp(addr);
    let service = Service::new(id).with_scheduler(Scheduler::RoundRobin);
    let with = |backends: &[SocketAddr]| {
        let mut vs = VirtualServer::new(service.clone());
        for &b in backends {
            vs = vs.with_destination(Destination::new(b));
        }
        vec![vs]
    };
    let all: Vec<SocketAddr> = lab.backends.iter().map(|b| b.endpoint()).collect();
    let ipvs = lab.ipvs();
    let graceful = ApplyOptions::new().graceful(true);
    assert!(ipvs.apply(&with(&all), &graceful).unwrap().is_ok());

    // A connection to X, the first backend scheduled; then X leaves.
    let mut held = hold(&lab.client, addr);
    let x = lab.backend(&held.backend).endpoint();
    let rest: Vec<SocketAddr> = all.iter().copied().filter(|a| *a != x).collect();
    let report = ipvs.apply(&with(&rest), &graceful).unwrap();
    assert_eq!(report.updated_destinations, vec![(id, x)]);
    assert_eq!(report.draining_destinations, vec![(id, x)]);
    assert!(report.removed_destinations.is_empty());

    // Draining: weight 0, no new connections, the held one lives on.
    let counts = tally(&lab.client, addr, 6);
    assert!(!counts.contains_key(&held.backend), "{counts:?}");
    assert_eq!(held.echo("draining").unwrap(), "draining");
    let report = ipvs.apply(&with(&rest), &graceful).unwrap();
    assert_eq!(report.changes(), 0);
    assert_eq!(report.draining_destinations, vec![(id, x)]);

    // Once its last connection is gone (a reset: IPVS forgets it after its
    // CLOSE timeout, 10 s), a later apply deletes it.
    let held_name = held.backend.clone();
    held.reset();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let report = ipvs.apply(&with(&rest), &graceful).unwrap();
        if !report.removed_destinations.is_empty() {
            assert_eq!(report.removed_destinations, vec![(id, x)]);
            assert!(report.draining_destinations.is_empty());
            break;
        }
        assert_eq!(report.draining_destinations, vec![(id, x)]);
        assert!(Instant::now() < deadline, "{x} never drained");
        std::thread::sleep(Duration::from_millis(500));
    }
    let left: BTreeSet<SocketAddr> = ipvs
        .destinations(&id)
        .unwrap()
        .iter()
        .map(|d| d.destination.addr)
        .collect();
    assert_eq!(left, rest.iter().copied().collect());
    let report = ipvs.apply(&with(&rest), &graceful).unwrap();
    assert_eq!(report.changes(), 0);
    assert!(report.draining_destinations.is_empty());
    // And traffic still flows, to the others.
    assert_ne!(fetch(&lab.client, addr), held_name);
}
