//! Desired-state apply against the kernel.

mod common;

use std::net::SocketAddr;

use common::*;
use lvs::*;

fn vs(vip: &str, pods: &[&str]) -> VirtualServer {
    let mut v = VirtualServer::new(
        Service::new(ServiceId::tcp(sa(vip))).with_scheduler(Scheduler::RoundRobin),
    );
    for p in pods {
        v = v.with_destination(Destination::new(sa(p)));
    }
    v
}

/// Services whose address is in 10.96.0.0/16: "ours".
fn ours(id: &ServiceId) -> bool {
    matches!(id, ServiceId::Inet { addr, .. } if addr.to_string().starts_with("10.96."))
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn apply_adds_then_is_idle_then_changes_only_the_difference() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // Another controller's service, out of scope: never touched.
    let foreign = Service::new(ServiceId::udp(sa("10.200.0.1:53")));
    ipvs.add_service(&foreign).unwrap();
    ipvs.add_destination(&foreign.id, &Destination::new(sa("10.201.0.1:53")))
        .unwrap();
    let options = ApplyOptions::new().scope(ours);

    let mut desired = vec![
        vs("10.96.0.10:8080", &["10.244.1.5:80", "10.244.2.7:80"]),
        vs("10.96.0.11:443", &["10.244.1.6:443"]),
    ];
    let r = ipvs.apply(&desired, &options).unwrap();
    assert!(r.is_ok());
    assert_eq!(r.added_services.len(), 2);
    assert_eq!(r.added_destinations.len(), 3);
    assert_eq!(r.changes(), 5);

    // The same set again: nothing to do.
    let r = ipvs.apply(&desired, &options).unwrap();
    assert_eq!(r.changes(), 0, "{r:?}");

    // Change one scheduler, add one pod, drop one pod, change a weight,
    // drop a whole service, add a new one.
    desired[0].service.scheduler = Scheduler::WeightedRoundRobin;
    desired[0].destinations[0].weight = 5;
    desired[0].destinations.pop(); // 10.244.2.7 leaves
    desired[0]
        .destinations
        .push(Destination::new(sa("10.244.3.9:80")));
    desired.remove(1); // 10.96.0.11 leaves
    desired.push(vs("10.96.0.12:53", &[]));
    let r = ipvs.apply(&desired, &options).unwrap();
    assert!(r.is_ok());
    let id10 = ServiceId::tcp(sa("10.96.0.10:8080"));
    assert_eq!(r.updated_services, vec![id10]);
    assert_eq!(
        r.removed_services,
        vec![ServiceId::tcp(sa("10.96.0.11:443"))]
    );
    assert_eq!(r.added_services, vec![ServiceId::tcp(sa("10.96.0.12:53"))]);
    assert_eq!(r.added_destinations, vec![(id10, sa("10.244.3.9:80"))]);
    assert_eq!(r.updated_destinations, vec![(id10, sa("10.244.1.5:80"))]);
    assert_eq!(r.removed_destinations, vec![(id10, sa("10.244.2.7:80"))]);
    assert_eq!(r.changes(), 6);

    // The kernel now holds exactly the desired set, plus the foreign one.
    let table = ipvs.services_with_destinations().unwrap();
    assert_eq!(table.len(), 3);
    for want in &desired {
        let (got, dests) = table
            .iter()
            .find(|(s, _)| s.service.id == want.service.id)
            .unwrap();
        assert_eq!(got.service, want.service);
        let mut got: Vec<Destination> = dests.iter().map(|d| d.destination).collect();
        let mut want = want.destinations.clone();
        got.sort_by_key(|d| d.addr);
        want.sort_by_key(|d| d.addr);
        assert_eq!(got, want);
    }
    assert_eq!(ipvs.service(&foreign.id).unwrap().service, foreign);
    assert_eq!(ipvs.destinations(&foreign.id).unwrap().len(), 1);
    assert_eq!(ipvs.apply(&desired, &options).unwrap().changes(), 0);

    // Emptying the desired set removes every service in scope, only those.
    let r = ipvs.apply(&[], &options).unwrap();
    assert_eq!(r.removed_services.len(), 2);
    assert_eq!(ipvs.services().unwrap().len(), 1);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn graceful_removal_deletes_idle_and_connectionless_destinations_at_once() {
    // kube-proxy's rule without connections (the draining of a destination
    // that holds connections is tested with real traffic in
    // kernel_traffic.rs): a leaving destination with no active and no
    // inactive connection is deleted at once, and so is every leaving
    // destination of a UDP service.
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let options = ApplyOptions::new().graceful(true);
    let tcp = vs("10.96.0.10:8080", &["10.244.1.5:80", "10.244.2.7:80"]);
    let mut udp = VirtualServer::new(Service::new(ServiceId::udp(sa("10.96.0.11:53"))));
    udp.destinations = tcp.destinations.clone();
    ipvs.apply(&[tcp.clone(), udp.clone()], &options).unwrap();
    let (tcp_id, udp_id) = (tcp.service.id, udp.service.id);
    let leaving = sa("10.244.2.7:80");
    let mut tcp_less = tcp.clone();
    tcp_less.destinations.retain(|d| d.addr != leaving);
    let mut udp_less = udp.clone();
    udp_less.destinations.retain(|d| d.addr != leaving);
    let r = ipvs
        .apply(&[tcp_less.clone(), udp_less.clone()], &options)
        .unwrap();
    assert_eq!(
        r.removed_destinations,
        vec![(tcp_id, leaving), (udp_id, leaving)]
    );
    assert!(r.draining_destinations.is_empty() && r.updated_destinations.is_empty());
    for id in [tcp_id, udp_id] {
        assert_eq!(ipvs.destinations(&id).unwrap().len(), 1);
    }
    // A destination someone already set to weight 0 and that is desired
    // again is restored to its desired settings.
    ipvs.update_destination(
        &tcp_id,
        &Destination::new(sa("10.244.1.5:80")).with_weight(0),
    )
    .unwrap();
    let r = ipvs.apply(&[tcp_less, udp_less], &options).unwrap();
    assert_eq!(r.updated_destinations, vec![(tcp_id, sa("10.244.1.5:80"))]);
    assert_eq!(ipvs.destinations(&tcp_id).unwrap()[0].destination.weight, 1);
    // Without graceful removal, the same is true with no weight-0 step.
    let r = ipvs.apply(&[tcp, udp], &ApplyOptions::new()).unwrap();
    assert_eq!(r.added_destinations.len(), 2);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn bad_desired_sets_change_nothing_and_kernel_refusals_are_reported() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let options = ApplyOptions::new().scope(ours);
    let before = ns.exec("ipvsadm", &["-Sn"]);
    for (desired, field) in [
        (vec![vs("10.200.0.1:80", &[])], "desired.service"),
        (
            vec![vs("10.96.0.1:80", &[]), vs("10.96.0.1:80", &[])],
            "desired.service",
        ),
        (
            vec![vs("10.96.0.1:80", &["10.244.1.5:80", "10.244.1.5:80"])],
            "desired.destination",
        ),
        (
            vec![
                vs("10.96.0.1:80", &[]),
                vs("10.96.0.2:80", &["[2001:db8::1]:80"]),
            ],
            "destination.addr",
        ),
    ] {
        match ipvs.apply(&desired, &options) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected Invalid {field}, got {other:?}"),
        }
    }
    assert_eq!(
        ns.exec("ipvsadm", &["-Sn"]),
        before,
        "a refused set changed the table"
    );

    // The kernel refuses one destination (multicast); the rest applies.
    let desired = [vs("10.96.0.1:80", &["10.244.1.5:80", "224.0.0.1:80"])];
    let r = ipvs.apply(&desired, &options).unwrap();
    assert_eq!(r.failures.len(), 1);
    assert_eq!(
        r.failures[0].op,
        Op::AddDestination(
            ServiceId::tcp(sa("10.96.0.1:80")),
            Destination::new(sa("224.0.0.1:80"))
        )
    );
    assert!(matches!(r.failures[0].error, Error::InvalidArgument(_)));
    assert_eq!(
        ipvs.destinations(&ServiceId::tcp(sa("10.96.0.1:80")))
            .unwrap()
            .len(),
        1
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn idle_apply_of_ten_thousand_services_changes_nothing() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let desired: Vec<VirtualServer> = (0..10_000u32)
        .map(|i| {
            let vip = std::net::Ipv4Addr::from(0x0a60_0000 + i);
            let mut v = VirtualServer::new(Service::new(ServiceId::tcp(SocketAddr::new(
                vip.into(),
                80,
            ))));
            for j in 0..4u32 {
                let pod = std::net::Ipv4Addr::from(0x0af4_0000 + i * 4 + j);
                v = v.with_destination(Destination::new(SocketAddr::new(pod.into(), 8080)));
            }
            v
        })
        .collect();
    let r = ipvs.apply(&desired, &ApplyOptions::new()).unwrap();
    assert!(r.is_ok());
    assert_eq!(r.changes(), 50_000);
    let r = ipvs.apply(&desired, &ApplyOptions::new()).unwrap();
    assert_eq!(r.changes(), 0);
    assert!(r.failures.is_empty());
}
