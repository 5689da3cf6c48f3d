//! Bad input from a caller, table-driven: each entry is one wrong request,
//! refused with its typed error, and the kernel's table is exactly what it
//! was before (nothing half-applied). The table is published in
//! docs/bad-input.md. Also: a message sent to the handle's port by another
//! process (a second netlink socket, not the kernel) is ignored.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use lvs::*;

/// The variant of an error, with the field for `Invalid`: what the table
/// expects.
fn kind(e: &Error) -> String {
    match e {
        Error::Invalid { field, .. } => format!("Invalid({field})"),
        other => {
            let d = format!("{other:?}");
            d.split(['(', ' ', '{']).next().unwrap_or("").to_string()
        }
    }
}

type Case = (&'static str, &'static str, Box<dyn Fn(&Ipvs) -> Result<()>>);

fn svc(addr: &str) -> Service {
    Service::new(ServiceId::tcp(sa(addr)))
}

fn existing() -> ServiceId {
    ServiceId::tcp(sa("10.0.0.1:80"))
}

fn missing() -> ServiceId {
    ServiceId::tcp(sa("10.0.0.99:80"))
}

fn dest(addr: &str) -> Destination {
    Destination::new(sa(addr))
}

fn one(ipvs: &Ipvs, op: Op) -> Result<()> {
    let mut b = Batch::new();
    b.push(op)?;
    let report = ipvs.apply_batch(&b)?;
    match report.into_failures().into_iter().next() {
        Some(f) => Err(f.error),
        None => Ok(()),
    }
}

fn cases() -> Vec<Case> {
    let v6: SocketAddr = sa("[2001:db8::1]:80");
    vec![
        // ---- refused before anything is sent (Error::Invalid) ----
        (
            "empty scheduler name",
            "Invalid(scheduler)",
            Box::new(|i| i.add_service(&svc("10.0.0.2:80").with_scheduler(Scheduler::from("")))),
        ),
        (
            "scheduler name of 16 bytes",
            "Invalid(scheduler)",
            Box::new(|i| {
                i.add_service(
                    &svc("10.0.0.2:80").with_scheduler(Scheduler::from("abcdefghijklmnop")),
                )
            }),
        ),
        (
            "scheduler name with NUL",
            "Invalid(scheduler)",
            Box::new(|i| {
                i.add_service(&svc("10.0.0.2:80").with_scheduler(Scheduler::from("r\0r")))
            }),
        ),
        (
            "update with a scheduler name of 40 bytes",
            "Invalid(scheduler)",
            Box::new(|i| {
                i.update_service(
                    &Service::new(existing()).with_scheduler(Scheduler::from("x".repeat(40))),
                )
            }),
        ),
        (
            "empty persistence engine",
            "Invalid(service.persistence_engine)",
            Box::new(|i| i.add_service(&svc("10.0.0.2:80").with_persistence_engine(""))),
        ),
        (
            "persistence engine of 40 bytes",
            "Invalid(service.persistence_engine)",
            Box::new(|i| {
                i.add_service(&svc("10.0.0.2:80").with_persistence_engine("p".repeat(40)))
            }),
        ),
        (
            "persistence engine with NUL",
            "Invalid(service.persistence_engine)",
            Box::new(|i| i.add_service(&svc("10.0.0.2:80").with_persistence_engine("s\0ip"))),
        ),
        (
            "IPv6 netmask on an IPv4 service",
            "Invalid(service.netmask)",
            Box::new(|i| i.add_service(&svc("10.0.0.2:80").with_netmask(Netmask::Ipv6(64)))),
        ),
        (
            "IPv4 netmask on an IPv6 service",
            "Invalid(service.netmask)",
            Box::new(move |i| {
                i.add_service(
                    &Service::new(ServiceId::tcp(v6))
                        .with_netmask(Netmask::Ipv4("255.255.255.0".parse().unwrap())),
                )
            }),
        ),
        (
            "IPv6 prefix /0",
            "Invalid(service.netmask)",
            Box::new(move |i| {
                i.add_service(&Service::new(ServiceId::tcp(v6)).with_netmask(Netmask::Ipv6(0)))
            }),
        ),
        (
            "IPv6 prefix /129",
            "Invalid(service.netmask)",
            Box::new(move |i| {
                i.add_service(&Service::new(ServiceId::tcp(v6)).with_netmask(Netmask::Ipv6(129)))
            }),
        ),
        (
            "persistence timeout u32::MAX",
            "Invalid(service.persistence_timeout)",
            Box::new(|i| i.add_service(&svc("10.0.0.2:80").with_persistence(u32::MAX))),
        ),
        (
            "the kernel-internal HASHED flag",
            "Invalid(service.flags)",
            Box::new(|i| {
                i.add_service(&svc("10.0.0.2:80").with_flags(ServiceFlags::from_bits_retain(0x2)))
            }),
        ),
        (
            "firewall mark 0",
            "Invalid(service.id)",
            Box::new(|i| i.add_service(&Service::new(ServiceId::fwmark(0)))),
        ),
        (
            "delete firewall mark 0",
            "Invalid(service.id)",
            Box::new(|i| i.delete_service(&ServiceId::fwmark(0))),
        ),
        (
            "weight above i32::MAX",
            "Invalid(destination.weight)",
            Box::new(|i| {
                i.add_destination(&existing(), &dest("10.0.1.9:80").with_weight(u32::MAX))
            }),
        ),
        (
            "upper threshold above i32::MAX",
            "Invalid(destination.upper_threshold)",
            Box::new(|i| {
                i.add_destination(
                    &existing(),
                    &dest("10.0.1.9:80").with_thresholds(u32::MAX, 0),
                )
            }),
        ),
        (
            "lower threshold above upper",
            "Invalid(destination.lower_threshold)",
            Box::new(|i| {
                i.add_destination(&existing(), &dest("10.0.1.9:80").with_thresholds(10, 20))
            }),
        ),
        (
            "IPv6 destination in an IPv4 service, masquerade",
            "Invalid(destination.addr)",
            Box::new(|i| i.add_destination(&existing(), &dest("[2001:db8::9]:80"))),
        ),
        (
            "GUE tunnel without a port",
            "Invalid(destination.tunnel.port)",
            Box::new(|i| {
                i.add_destination(
                    &existing(),
                    &dest("10.0.1.9:80").with_forwarding(Forwarding::Tunnel(Tunnel::gue(0))),
                )
            }),
        ),
        (
            "IPIP tunnel with a port",
            "Invalid(destination.tunnel.port)",
            Box::new(|i| {
                i.add_destination(
                    &existing(),
                    &dest("10.0.1.9:80").with_forwarding(Forwarding::Tunnel(Tunnel {
                        port: 5555,
                        ..Tunnel::ipip()
                    })),
                )
            }),
        ),
        (
            "IPIP tunnel with flags",
            "Invalid(destination.tunnel.flags)",
            Box::new(|i| {
                i.add_destination(
                    &existing(),
                    &dest("10.0.1.9:80").with_forwarding(Forwarding::Tunnel(
                        Tunnel::ipip().with_flags(TunnelFlags::CSUM),
                    )),
                )
            }),
        ),
        (
            "GRE tunnel with remote checksum offload",
            "Invalid(destination.tunnel.flags)",
            Box::new(|i| {
                i.add_destination(
                    &existing(),
                    &dest("10.0.1.9:80").with_forwarding(Forwarding::Tunnel(
                        Tunnel::gre().with_flags(TunnelFlags::REMCSUM),
                    )),
                )
            }),
        ),
        (
            "update destination with weight above max",
            "Invalid(destination.weight)",
            Box::new(|i| {
                i.update_destination(&existing(), &dest("10.0.1.1:8080").with_weight(1 << 31))
            }),
        ),
        (
            "forwarding method 8",
            "Invalid(destination.forwarding)",
            Box::new(|_| Forwarding::try_from(8).map(|_| ())),
        ),
        (
            "timeout tcp above i32::MAX",
            "Invalid(connection_timeouts.tcp)",
            Box::new(|i| {
                i.set_connection_timeouts(&ConnectionTimeouts {
                    tcp: u32::MAX,
                    tcp_fin: 0,
                    udp: 0,
                })
            }),
        ),
        (
            "timeout udp above i32::MAX",
            "Invalid(connection_timeouts.udp)",
            Box::new(|i| {
                i.set_connection_timeouts(&ConnectionTimeouts {
                    tcp: 0,
                    tcp_fin: 0,
                    udp: 1 << 31,
                })
            }),
        ),
        (
            "daemon on an empty interface name",
            "Invalid(daemon.interface)",
            Box::new(|i| i.start_daemon(&SyncDaemon::new(SyncRole::Master, "", 1))),
        ),
        (
            "daemon interface of 16 bytes",
            "Invalid(daemon.interface)",
            Box::new(|i| i.start_daemon(&SyncDaemon::new(SyncRole::Master, "abcdefghijklmnop", 1))),
        ),
        (
            "daemon sync id 256",
            "Invalid(daemon.sync_id)",
            Box::new(|i| i.start_daemon(&SyncDaemon::new(SyncRole::Master, "lo", 256))),
        ),
        (
            "daemon group not multicast",
            "Invalid(daemon.group)",
            Box::new(|i| {
                i.start_daemon(&SyncDaemon {
                    group: Some("10.0.0.1".parse().unwrap()),
                    ..SyncDaemon::new(SyncRole::Master, "lo", 1)
                })
            }),
        ),
        (
            "backup daemon max_len 100",
            "Invalid(daemon.max_len)",
            Box::new(|i| {
                i.start_daemon(&SyncDaemon {
                    max_len: Some(100),
                    ..SyncDaemon::new(SyncRole::Backup, "lo", 1)
                })
            }),
        ),
        (
            "daemon ttl 0",
            "Invalid(daemon.ttl)",
            Box::new(|i| {
                i.start_daemon(&SyncDaemon {
                    ttl: Some(0),
                    ..SyncDaemon::new(SyncRole::Master, "lo", 1)
                })
            }),
        ),
        (
            "daemon port 0",
            "Invalid(daemon.port)",
            Box::new(|i| {
                i.start_daemon(&SyncDaemon {
                    port: Some(0),
                    ..SyncDaemon::new(SyncRole::Master, "lo", 1)
                })
            }),
        ),
        (
            "reply timeout of zero",
            "Invalid(reply_timeout)",
            Box::new(|i| i.set_reply_timeout(Duration::ZERO)),
        ),
        (
            "batch with an invalid op",
            "Invalid(scheduler)",
            Box::new(|i| {
                one(
                    i,
                    Op::AddService(svc("10.0.0.2:80").with_scheduler(Scheduler::from(""))),
                )
            }),
        ),
        // ---- refused by the kernel, typed ----
        (
            "add an existing service",
            "AlreadyExists",
            Box::new(|i| i.add_service(&Service::new(existing()))),
        ),
        (
            "add an existing destination",
            "AlreadyExists",
            Box::new(|i| i.add_destination(&existing(), &dest("10.0.1.1:8080"))),
        ),
        (
            "update a missing service",
            "ServiceNotFound",
            Box::new(|i| i.update_service(&Service::new(missing()))),
        ),
        (
            "delete a missing service",
            "ServiceNotFound",
            Box::new(|i| i.delete_service(&missing())),
        ),
        (
            "zero a missing service",
            "ServiceNotFound",
            Box::new(|i| i.zero_service(&missing())),
        ),
        (
            "destination into a missing service",
            "ServiceNotFound",
            Box::new(|i| i.add_destination(&missing(), &dest("10.0.1.9:80"))),
        ),
        (
            "destinations of a missing service",
            "ServiceNotFound",
            Box::new(|i| i.destinations(&missing()).map(|_| ())),
        ),
        (
            "get a missing service",
            "ServiceNotFound",
            Box::new(|i| i.service(&missing()).map(|_| ())),
        ),
        (
            "update a missing destination",
            "DestinationNotFound",
            Box::new(|i| i.update_destination(&existing(), &dest("10.0.1.9:80"))),
        ),
        (
            "delete a missing destination",
            "DestinationNotFound",
            Box::new(|i| i.delete_destination(&existing(), sa("10.0.1.9:80"))),
        ),
        (
            "unknown scheduler",
            "SchedulerUnavailable",
            Box::new(|i| {
                i.add_service(&svc("10.0.0.2:80").with_scheduler(Scheduler::from("nosuch")))
            }),
        ),
        (
            "unknown persistence engine",
            "SchedulerUnavailable",
            Box::new(|i| {
                i.add_service(
                    &svc("10.0.0.2:80")
                        .with_persistence(10)
                        .with_persistence_engine("nosuch"),
                )
            }),
        ),
        (
            "stop a daemon that is not running",
            "DaemonNotRunning",
            Box::new(|i| i.stop_daemon(SyncRole::Backup)),
        ),
        (
            "daemon on a missing interface",
            "LinkNotFound",
            Box::new(|i| i.start_daemon(&SyncDaemon::new(SyncRole::Master, "nosuch0", 1))),
        ),
        (
            "batch: add an existing service",
            "AlreadyExists",
            Box::new(|i| one(i, Op::AddService(Service::new(existing())))),
        ),
        (
            "batch: delete a missing destination",
            "DestinationNotFound",
            Box::new(|i| one(i, Op::DeleteDestination(existing(), sa("10.0.1.9:80")))),
        ),
    ]
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn every_bad_input_gets_its_typed_error_and_leaves_the_table_unchanged() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    ipvs.add_service(&Service::new(existing()).with_scheduler(Scheduler::from("wrr")))
        .unwrap();
    ipvs.add_destination(&existing(), &dest("10.0.1.1:8080").with_weight(3))
        .unwrap();
    ipvs.add_service(&Service::new(ServiceId::fwmark(7)))
        .unwrap();
    let table = |ipvs: &Ipvs| {
        (
            ns.exec("ipvsadm", &["-Sn"]),
            ipvs.connection_timeouts().unwrap(),
            ipvs.daemons().unwrap(),
        )
    };
    let before = table(&ipvs);
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for (what, want, f) in &cases {
        match f(&ipvs) {
            Ok(()) => wrong.push(format!("{what}: accepted")),
            Err(e) if kind(&e) != *want => {
                wrong.push(format!("{what}: {} ({e}), not {want}", kind(&e)))
            }
            Err(_) => {}
        }
        let after = table(&ipvs);
        if after != before {
            wrong.push(format!("{what}: the table changed: {after:?}"));
        }
    }
    // The handle still works after all of them.
    assert_eq!(ipvs.services().unwrap().len(), 2);
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    println!(
        "bad inputs from a caller: {} cases, each typed, table unchanged",
        cases.len()
    );
}

/// The ports of the generic netlink sockets of the calling thread's
/// namespace (`/proc/thread-self/net/netlink`, column `Pid`), but `own`.
fn genl_ports(own: u32) -> Vec<u32> {
    let table = std::fs::read_to_string("/proc/thread-self/net/netlink").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (eth, pid) = (
                f.get(1)?.parse::<u32>().ok()?,
                f.get(2)?.parse::<u32>().ok()?,
            );
            (eth == 16 && pid != 0 && pid != own).then_some(pid)
        })
        .collect()
}

/// A netlink message: header then `payload`.
fn message(ty: u16, flags: u16, seq: u32, port: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&port.to_ne_bytes());
    m.extend_from_slice(payload);
    m
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn messages_from_another_socket_to_the_handles_port_are_ignored() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    ipvs.add_service(&Service::new(existing())).unwrap();
    // Another socket in the namespace (as another process would have)
    // sends to the handle's port what would look like the kernel's
    // answers to its next requests: errors (EPERM) and an empty dump end,
    // for every sequence number the handle may use next, with the
    // handle's port in the header.
    let (ports, sent, refused) = ns.run_in(|| {
        let mut s = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_GENERIC).unwrap();
        let own = s.bind_auto().unwrap().port_number();
        let ports = genl_ports(own);
        let (mut sent, mut refused) = (0, 0);
        for &port in &ports {
            let to = netlink_sys::SocketAddr::new(port, 0);
            for seq in 0..64u32 {
                let mut err = (-1i32).to_ne_bytes().to_vec(); // -EPERM
                err.extend_from_slice(&message(0, 0, seq, port, &[]));
                let mut d = message(2, 0, seq, port, &err); // NLMSG_ERROR
                d.extend(message(3, 2, seq, port, &0i32.to_ne_bytes())); // NLMSG_DONE
                match s.send_to(&d, &to, 0) {
                    Ok(_) => sent += 1,
                    Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => refused += 1,
                    Err(e) => panic!("send to port {port}: {e}"),
                }
            }
        }
        (ports, sent, refused)
    });
    assert!(!ports.is_empty(), "the handle's socket was not found");
    println!(
        "foreign messages to ports {ports:?}: {sent} delivered, {refused} refused by the kernel"
    );
    // The handle acts only on the kernel's answers.
    assert_eq!(ipvs.services().unwrap().len(), 1);
    ipvs.add_service(&svc("10.0.0.2:80")).unwrap();
    ipvs.add_destination(&existing(), &dest("10.0.1.1:8080"))
        .unwrap();
    assert_eq!(ipvs.destinations(&existing()).unwrap().len(), 1);
    ipvs.delete_service(&ServiceId::tcp(sa("10.0.0.2:80")))
        .unwrap();
    assert_eq!(ipvs.services().unwrap().len(), 1);
    assert_eq!(sent + refused, ports.len() * 64);
}
