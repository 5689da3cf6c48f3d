//! The connection table read through `lvs::conn` with real connections in
//! the UML guest: IPv4 and IPv6, read from another namespace without
//! moving the calling thread.

mod common;

use std::net::SocketAddr;

use common::traffic::{CLIENT, DIRECTOR, Lab, connect, hold};
use common::*;
use lvs::conn::{Connection, Connections};
use lvs::*;

fn table(ns: &TestNetns) -> Vec<Connection> {
    Connections::open_in_netns_path(ns.path())
        .expect("open ip_vs_conn")
        .collect::<Result<_, _>>()
        .expect("read ip_vs_conn")
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn real_connections_read_back_typed_v4_and_v6() {
    let lab = Lab::new(2);
    let ipvs = lab.ipvs();
    // IPv6 beside the lab's IPv4: client and director on the LAN, each
    // backend behind its veth.
    lab.client.exec(
        "ip",
        &["addr", "add", "fd00:50::2/64", "dev", "br0", "nodad"],
    );
    lab.director.exec(
        "ip",
        &["addr", "add", "fd00:50::1/64", "dev", "eth0", "nodad"],
    );
    lab.director
        .exec("sysctl", &["-qw", "net.ipv6.conf.all.forwarding=1"]);
    for (i, b) in lab.backends.iter().enumerate() {
        let n = i + 1;
        lab.director.exec(
            "ip",
            &[
                "addr",
                "add",
                &format!("fd00:244:{n}::1/64"),
                "dev",
                &format!("pod{n}"),
                "nodad",
            ],
        );
        b.ns.exec(
            "ip",
            &[
                "addr",
                "add",
                &format!("fd00:244:{n}::5/64"),
                "dev",
                "eth0",
                "nodad",
            ],
        );
        b.ns.exec(
            "ip",
            &[
                "-6",
                "route",
                "add",
                "default",
                "via",
                &format!("fd00:244:{n}::1"),
            ],
        );
    }
    let vip4: SocketAddr = format!("{DIRECTOR}:80").parse().unwrap();
    let vip6: SocketAddr = "[fd00:50::1]:80".parse().unwrap();
    for (vip, dests) in [
        (vip4, ["10.244.1.5:80", "10.244.2.5:80"]),
        (vip6, ["[fd00:244:1::5]:8080", "[fd00:244:2::5]:8080"]),
    ] {
        let id = ServiceId::tcp(vip);
        ipvs.add_service(&Service::new(id).with_scheduler(Scheduler::RoundRobin))
            .unwrap();
        for d in dests {
            ipvs.add_destination(
                &id,
                &Destination::new(sa(d)).with_forwarding(Forwarding::Masquerade),
            )
            .unwrap();
        }
    }
    let held4: Vec<_> = (0..3).map(|_| hold(&lab.client, vip4)).collect();
    // The lab's servers are IPv4 only: an IPv6 listener on 8080 in each
    // backend, keeping what it accepts open.
    for (i, b) in lab.backends.iter().enumerate() {
        let addr: SocketAddr = format!("[fd00:244:{}::5]:8080", i + 1).parse().unwrap();
        b.ns.spawn_in(move || {
            let l = std::net::TcpListener::bind(addr).expect("bind v6");
            let mut keep = Vec::new();
            for s in l.incoming().flatten() {
                keep.push(s);
            }
        });
    }
    let held6: Vec<_> = (0..2)
        .map(|_| {
            // The listeners start on their own threads: retry while they bind.
            let mut tries = 0;
            loop {
                match connect(&lab.client, vip6) {
                    Ok(s) => break s,
                    Err(e) if tries == 50 => panic!("connect {vip6}: {e}"),
                    Err(_) => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                }
            }
        })
        .collect();

    let conns = table(&lab.director);
    // Attempts refused while the IPv6 listeners started stay in the table
    // for a while (closed); the held connections are the established ones.
    let established = |vip| {
        conns
            .iter()
            .filter(|c| c.virtual_addr == vip && c.state == "ESTABLISHED")
            .collect::<Vec<&Connection>>()
    };
    let (v4, v6) = (established(vip4), established(vip6));
    assert!(
        conns
            .iter()
            .all(|c| c.virtual_addr == vip4 || c.virtual_addr == vip6)
    );
    assert_eq!((v4.len(), v6.len()), (3, 2), "{conns:#?}");
    for c in &v4 {
        assert_eq!(c.protocol, Protocol::Tcp);
        assert_eq!(c.protocol_name(), "TCP");
        assert_eq!(c.client.ip(), std::net::IpAddr::V4(CLIENT));
        assert_ne!(c.client.port(), 0);
        assert!(["10.244.1.5:80", "10.244.2.5:80"].contains(&c.destination.to_string().as_str()));
        assert_eq!(c.state, "ESTABLISHED");
        assert!(c.expires > 0 && c.expires <= 900, "{c:?}");
        assert_eq!(c.persistence, None);
    }
    for c in &v6 {
        assert_eq!(
            c.client.ip(),
            "fd00:50::2".parse::<std::net::IpAddr>().unwrap()
        );
        assert!(c.destination.is_ipv6());
        assert_eq!(c.state, "ESTABLISHED");
    }
    // Round robin spreads them, and the destinations' counters agree.
    let to_pod1 = v4
        .iter()
        .filter(|c| c.destination == sa("10.244.1.5:80"))
        .count();
    let active: u32 = ipvs
        .destinations(&ServiceId::tcp(vip4))
        .unwrap()
        .iter()
        .filter(|d| d.destination.addr == sa("10.244.1.5:80"))
        .map(|d| d.active_connections)
        .sum();
    assert_eq!(to_pod1 as u32, active);
    // The calling thread's own namespace (the guest's) has none of them.
    let own: Vec<Connection> = Connections::open()
        .expect("open own ip_vs_conn")
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        own.iter()
            .all(|c| c.virtual_addr != vip4 && c.virtual_addr != vip6)
    );
    // The same namespace by fd.
    let f = std::fs::File::open(lab.director.path()).unwrap();
    use std::os::fd::AsFd;
    let by_fd = Connections::open_in_netns_fd(f.as_fd()).unwrap().count();
    assert_eq!(by_fd, conns.len());
    drop(held4);
    drop(held6);
}
