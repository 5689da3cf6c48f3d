//! Host-side codec tests: every variant encodes and decodes back equal,
//! unknown values are kept, and malformed input is an error, never a panic.

use std::net::SocketAddr;

use netlink_packet_core::Emitable;

use super::RawAttribute;
use super::consts::*;
use super::daemon::{SyncDaemon, SyncRole};
use super::destination::*;
use super::scheduler::Scheduler;
use super::service::*;
use super::stats::Stats;
use crate::error::{Error, KernelError, Target};
use crate::netlink::attr::{Attr, Value};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn bytes(attrs: &[Attr]) -> Vec<u8> {
    let mut buf = vec![0u8; attrs.buffer_len()];
    attrs.emit(&mut buf);
    buf
}

fn services() -> Vec<Service> {
    let mut all = vec![
        Service::new(ServiceId::tcp(sa("10.0.0.1:80"))),
        Service::new(ServiceId::udp(sa("[2001:db8::1]:53"))).with_netmask(Netmask::Ipv6(64)),
        Service::new(ServiceId::sctp(sa("10.0.0.3:3868")))
            .with_persistence(30)
            .with_persistence_engine("sip"),
        Service::new(ServiceId::fwmark(42))
            .with_persistence(360)
            .with_netmask(Netmask::prefix(AddressFamily::Ipv4, 24).unwrap()),
        Service::new(ServiceId::fwmark_v6(u32::MAX)).with_flags(ServiceFlags::ONE_PACKET),
        Service::new(ServiceId::Inet {
            protocol: Protocol::Other(1),
            addr: sa("10.0.0.9:0"),
        }),
        Service::new(ServiceId::udp(sa("10.0.0.2:53")))
            .with_scheduler(Scheduler::SourceHashing)
            .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT | ServiceFlags::SCHED3),
        Service::new(ServiceId::tcp(sa("10.0.0.4:80"))).with_scheduler(Scheduler::from("future")),
    ];
    for s in Scheduler::KNOWN {
        all.push(Service::new(ServiceId::tcp(sa("10.0.0.5:80"))).with_scheduler(s));
    }
    all
}

#[test]
fn every_service_variant_round_trips() {
    for svc in services() {
        svc.validate().unwrap();
        let entry = ServiceEntry::parse(&bytes(&svc.attrs())).unwrap();
        assert_eq!(entry.service, svc);
        assert!(entry.unknown.is_empty());
    }
}

fn destinations() -> Vec<Destination> {
    vec![
        Destination::new(sa("10.0.1.1:8080"))
            .with_weight(3)
            .with_thresholds(100, 50),
        Destination::new(sa("10.0.1.2:80"))
            .with_forwarding(Forwarding::DirectRouting)
            .with_weight(MAX_WEIGHT),
        Destination::new(sa("10.0.1.3:80"))
            .with_forwarding(Forwarding::Local)
            .with_weight(0),
        Destination::new(sa("10.0.1.4:80")).with_forwarding(Forwarding::Tunnel(Tunnel::ipip())),
        Destination::new(sa("10.0.1.5:80")).with_forwarding(Forwarding::Tunnel(
            Tunnel::gue(6080).with_flags(TunnelFlags::CSUM | TunnelFlags::REMCSUM),
        )),
        Destination::new(sa("10.0.1.6:80")).with_forwarding(Forwarding::Tunnel(
            Tunnel::gre().with_flags(TunnelFlags::CSUM),
        )),
        Destination::new(sa("[2001:db8::5]:80"))
            .with_forwarding(Forwarding::Tunnel(Tunnel::ipip())),
        Destination::new(sa("10.0.1.7:80")).with_forwarding(Forwarding::Other(4)),
    ]
}

#[test]
fn every_destination_variant_round_trips() {
    for d in destinations() {
        d.validate(AddressFamily::Ipv4).unwrap();
        let entry = DestinationEntry::parse(&bytes(&d.attrs()), AddressFamily::Ipv4).unwrap();
        assert_eq!(entry.destination, d);
        assert!(entry.unknown.is_empty());
    }
}

#[test]
fn wire_details_match_the_kernel() {
    let svc = Service::new(ServiceId::tcp(sa("10.0.0.1:80")));
    let raw = bytes(&svc.attrs());
    // PORT is big-endian: 80 = 00 50.
    let port_at = raw
        .windows(4)
        .position(|w| w == [6, 0, IPVS_SVC_ATTR_PORT as u8, 0])
        .unwrap();
    assert_eq!(&raw[port_at + 4..port_at + 6], &[0x00, 0x50]);
    // FLAGS is 8 bytes {flags, mask}, mask all ones.
    let flags_at = raw
        .windows(4)
        .position(|w| w == [12, 0, IPVS_SVC_ATTR_FLAGS as u8, 0])
        .unwrap();
    assert_eq!(&raw[flags_at + 8..flags_at + 12], &[0xff; 4]);
    // An IPv6 netmask is a host-order prefix length.
    let v6 = Service::new(ServiceId::fwmark_v6(1)).with_netmask(Netmask::Ipv6(64));
    let raw = bytes(&v6.attrs());
    let nm = raw
        .windows(4)
        .position(|w| w == [8, 0, IPVS_SVC_ATTR_NETMASK as u8, 0])
        .unwrap();
    assert_eq!(&raw[nm + 4..nm + 8], &64u32.to_ne_bytes());
    // The tunnel port is big-endian too.
    let d =
        Destination::new(sa("10.0.1.1:80")).with_forwarding(Forwarding::Tunnel(Tunnel::gue(6080)));
    let raw = bytes(&d.attrs());
    let tp = raw
        .windows(4)
        .position(|w| w == [6, 0, IPVS_DEST_ATTR_TUN_PORT as u8, 0])
        .unwrap();
    assert_eq!(&raw[tp + 4..tp + 6], &[0x17, 0xc0]);
}

#[test]
fn unknown_values_and_attributes_are_kept() {
    let mut attrs = Service::new(ServiceId::tcp(sa("10.0.0.1:80"))).attrs();
    // flags with HASHED (dropped) and an unnamed bit 0x40 (kept)
    for a in attrs.iter_mut() {
        if a.kind == IPVS_SVC_ATTR_FLAGS {
            let mut v = (0x40u32 | IP_VS_SVC_F_HASHED | 1).to_ne_bytes().to_vec();
            v.extend_from_slice(&u32::MAX.to_ne_bytes());
            a.value = Value::Bytes(v);
        }
        if a.kind == IPVS_SVC_ATTR_SCHED_NAME {
            a.value = Value::CStr("newsched".into());
        }
    }
    attrs.push(Attr::new(40, Value::U32(7)));
    let entry = ServiceEntry::parse(&bytes(&attrs)).unwrap();
    assert_eq!(entry.service.flags.bits(), 0x41);
    assert_eq!(entry.service.scheduler, Scheduler::Other("newsched".into()));
    assert_eq!(
        entry.unknown,
        vec![RawAttribute {
            kind: 40,
            value: 7u32.to_ne_bytes().to_vec()
        }]
    );

    let mut attrs = Destination::new(sa("10.0.1.1:80"))
        .with_forwarding(Forwarding::Tunnel(Tunnel::ipip()))
        .attrs();
    for a in attrs.iter_mut() {
        if a.kind == IPVS_DEST_ATTR_TUN_TYPE {
            a.value = Value::U8(7);
        }
    }
    attrs.push(Attr::new(99, Value::Bytes(vec![1, 2, 3])));
    let entry = DestinationEntry::parse(&bytes(&attrs), AddressFamily::Ipv4).unwrap();
    assert_eq!(
        entry.destination.forwarding,
        Forwarding::Tunnel(Tunnel {
            kind: TunnelType::Other(7),
            port: 0,
            flags: TunnelFlags::empty()
        })
    );
    assert_eq!(entry.unknown[0].kind, 99);
    assert_eq!(entry.unknown[0].value, vec![1, 2, 3]);
}

#[test]
fn stats_legacy_and_64_bit_with_padding() {
    let pad = Attr::new(IPVS_STATS_ATTR_PAD, Value::Bytes(vec![]));
    let legacy = bytes(&[
        Attr::new(IPVS_STATS_ATTR_CONNS, Value::U32(5)),
        pad.clone(),
        Attr::new(
            IPVS_STATS_ATTR_INBYTES,
            Value::Bytes(u64::MAX.to_ne_bytes().to_vec()),
        ),
        Attr::new(IPVS_STATS_ATTR_OUTBPS, Value::U32(9)),
    ]);
    let s = Stats::parse(&legacy, false).unwrap();
    assert_eq!(
        (s.connections, s.bytes_in, s.bytes_out_per_second),
        (5, u64::MAX, 9)
    );
    let wide = bytes(&[
        pad,
        Attr::new(
            IPVS_STATS_ATTR_CONNS,
            Value::Bytes((1u64 << 40).to_ne_bytes().to_vec()),
        ),
        Attr::new(77, Value::U32(1)),
    ]);
    assert_eq!(Stats::parse(&wide, true).unwrap().connections, 1 << 40);
    // A 32-bit value where 64 bits are due is an error, not a panic.
    let short = bytes(&[Attr::new(IPVS_STATS_ATTR_CONNS, Value::U32(1))]);
    assert!(matches!(Stats::parse(&short, true), Err(Error::Decode(_))));
    // Both nests: the 64-bit one wins.
    assert_eq!(
        Stats::from_nests(Some(&wide), Some(&legacy))
            .unwrap()
            .connections,
        1 << 40
    );
}

#[test]
fn missing_identity_is_a_decode_error() {
    let no_af = bytes(&[Attr::new(IPVS_SVC_ATTR_FWMARK, Value::U32(1))]);
    assert!(matches!(ServiceEntry::parse(&no_af), Err(Error::Decode(_))));
    let no_port = bytes(&[
        Attr::new(IPVS_SVC_ATTR_AF, Value::U16(2)),
        Attr::new(IPVS_SVC_ATTR_PROTOCOL, Value::U16(6)),
        Attr::new(IPVS_SVC_ATTR_ADDR, Value::Bytes(vec![10, 0, 0, 1])),
    ]);
    assert!(matches!(
        ServiceEntry::parse(&no_port),
        Err(Error::Decode(_))
    ));
    let bad_af = bytes(&[Attr::new(IPVS_SVC_ATTR_AF, Value::U16(99))]);
    assert!(matches!(
        ServiceEntry::parse(&bad_af),
        Err(Error::Decode(_))
    ));
    // An IPv6 family with a 4-byte address.
    let short_addr = bytes(&[
        Attr::new(IPVS_SVC_ATTR_AF, Value::U16(10)),
        Attr::new(IPVS_SVC_ATTR_PROTOCOL, Value::U16(6)),
        Attr::new(IPVS_SVC_ATTR_ADDR, Value::Bytes(vec![10, 0, 0, 1])),
        Attr::new(IPVS_SVC_ATTR_PORT, Value::Be16(80)),
    ]);
    assert!(matches!(
        ServiceEntry::parse(&short_addr),
        Err(Error::Decode(_))
    ));
    assert!(matches!(
        DestinationEntry::parse(&[], AddressFamily::Ipv4),
        Err(Error::Decode(_))
    ));
}

#[test]
fn truncations_of_valid_nests_never_panic() {
    let mut nests: Vec<Vec<u8>> = services().iter().map(|s| bytes(&s.attrs())).collect();
    nests.extend(destinations().iter().map(|d| bytes(&d.attrs())));
    for nest in &nests {
        for cut in 0..nest.len() {
            let _ = ServiceEntry::parse(&nest[..cut]);
            let _ = DestinationEntry::parse(&nest[..cut], AddressFamily::Ipv6);
            let _ = SyncDaemon::parse(&nest[..cut]);
            let _ = Stats::parse(&nest[..cut], true);
        }
        // and every single-byte corruption
        for i in 0..nest.len() {
            let mut bad = nest.clone();
            bad[i] ^= 0xff;
            let _ = ServiceEntry::parse(&bad);
            let _ = DestinationEntry::parse(&bad, AddressFamily::Ipv4);
        }
    }
}

#[test]
fn daemon_round_trips() {
    let d = SyncDaemon {
        max_len: Some(1400),
        group: Some("239.1.2.3".parse().unwrap()),
        port: Some(9000),
        ttl: Some(3),
        ..SyncDaemon::new(SyncRole::Backup, "eth0", 7)
    };
    d.validate().unwrap();
    assert_eq!(SyncDaemon::parse(&bytes(&d.attrs())).unwrap(), d);
    let d6 = SyncDaemon {
        group: Some("ff02::1".parse().unwrap()),
        ..SyncDaemon::new(SyncRole::Master, "eth1", 0)
    };
    assert_eq!(SyncDaemon::parse(&bytes(&d6.attrs())).unwrap(), d6);
    for (bad, field) in [
        (SyncDaemon::new(SyncRole::Master, "", 1), "daemon.interface"),
        (
            SyncDaemon::new(SyncRole::Master, "x".repeat(16), 1),
            "daemon.interface",
        ),
        (
            SyncDaemon::new(SyncRole::Master, "eth0", 256),
            "daemon.sync_id",
        ),
        (
            SyncDaemon {
                group: Some("10.0.0.1".parse().unwrap()),
                ..SyncDaemon::new(SyncRole::Master, "eth0", 1)
            },
            "daemon.group",
        ),
    ] {
        assert!(matches!(bad.validate(), Err(Error::Invalid { field: f, .. }) if f == field));
    }
}

#[test]
fn kernel_errnos_map_by_request_target() {
    let k = |errno| KernelError {
        errno,
        request: "X",
        message: None,
        offset: None,
    };
    use Target::*;
    type Check = fn(&Error) -> bool;
    let cases: &[(i32, Target, Check)] = &[
        (libc::EPERM, Other, |e| {
            matches!(e, Error::PermissionDenied(_))
        }),
        (libc::ESRCH, Service, |e| {
            matches!(e, Error::ServiceNotFound(_))
        }),
        (libc::ESRCH, Destination, |e| {
            matches!(e, Error::ServiceNotFound(_))
        }),
        (libc::ESRCH, Daemon, |e| {
            matches!(e, Error::DaemonNotRunning(_))
        }),
        (libc::ENOENT, Destination, |e| {
            matches!(e, Error::DestinationNotFound(_))
        }),
        (libc::ENOENT, ServiceConfig, |e| {
            matches!(e, Error::SchedulerUnavailable(_))
        }),
        (libc::ENOENT, Service, |e| matches!(e, Error::Kernel(_))),
        (libc::EEXIST, ServiceConfig, |e| {
            matches!(e, Error::AlreadyExists(_))
        }),
        (libc::EINVAL, Destination, |e| {
            matches!(e, Error::InvalidArgument(_))
        }),
        (libc::ERANGE, Destination, |e| {
            matches!(e, Error::OutOfRange(_))
        }),
        (libc::EAFNOSUPPORT, ServiceConfig, |e| {
            matches!(e, Error::FamilyNotSupported(_))
        }),
        (libc::ENODEV, Daemon, |e| matches!(e, Error::Kernel(_))),
    ];
    for (errno, target, check) in cases {
        let e = Error::from_kernel(k(*errno), *target);
        assert!(check(&e), "{errno} {target:?} -> {e:?}");
        assert_eq!(e.errno(), Some(*errno));
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::Error::from_raw_os_error(*errno).kind());
    }
}
