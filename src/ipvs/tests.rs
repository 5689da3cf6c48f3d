//! Host-side codec tests: every variant encodes and decodes back equal,
//! unknown values are kept, and malformed input is an error, never a panic.

use std::net::SocketAddr;

use super::RawAttribute;
use super::consts::*;
use super::daemon::{SyncDaemon, SyncRole};
use super::destination::*;
use super::scheduler::Scheduler;
use super::service::*;
use super::stats::Stats;
use crate::error::{Error, KernelError};
use crate::ipvs::request::{Target, kernel_error};
use crate::netlink::attr::attrs;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn svc_bytes(s: &Service) -> Vec<u8> {
    attrs(|w| s.emit(w))
}

fn dest_bytes(d: &Destination) -> Vec<u8> {
    attrs(|w| d.emit(w))
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
            protocol: Protocol::from(1),
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
        let entry = ServiceEntry::parse(&svc_bytes(&svc)).unwrap();
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
        Destination::new(sa("10.0.1.7:80")).with_forwarding(Forwarding::try_from(4).unwrap()),
    ]
}

#[test]
fn every_destination_variant_round_trips() {
    for d in destinations() {
        d.validate(AddressFamily::Ipv4).unwrap();
        let entry = DestinationEntry::parse(&dest_bytes(&d), AddressFamily::Ipv4).unwrap();
        assert_eq!(entry.destination, d);
        assert!(entry.unknown.is_empty());
    }
}

#[test]
fn wire_details_match_the_kernel() {
    let svc = Service::new(ServiceId::tcp(sa("10.0.0.1:80")));
    let raw = svc_bytes(&svc);
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
    let raw = svc_bytes(&v6);
    let nm = raw
        .windows(4)
        .position(|w| w == [8, 0, IPVS_SVC_ATTR_NETMASK as u8, 0])
        .unwrap();
    assert_eq!(&raw[nm + 4..nm + 8], &64u32.to_ne_bytes());
    // The tunnel port is big-endian too.
    let d =
        Destination::new(sa("10.0.1.1:80")).with_forwarding(Forwarding::Tunnel(Tunnel::gue(6080)));
    let raw = dest_bytes(&d);
    let tp = raw
        .windows(4)
        .position(|w| w == [6, 0, IPVS_DEST_ATTR_TUN_PORT as u8, 0])
        .unwrap();
    assert_eq!(&raw[tp + 4..tp + 6], &[0x17, 0xc0]);
}

#[test]
fn unknown_values_and_attributes_are_kept() {
    // flags with HASHED (dropped) and an unnamed bit 0x40 (kept), a
    // scheduler this crate does not name, an attribute it does not know
    let raw = attrs(|w| {
        ServiceId::tcp(sa("10.0.0.1:80")).emit(w);
        let flags = (0x40u32 | IP_VS_SVC_F_HASHED | 1).to_ne_bytes();
        w.cstr(IPVS_SVC_ATTR_SCHED_NAME, "newsched")
            .put_parts(IPVS_SVC_ATTR_FLAGS, &[&flags, &u32::MAX.to_ne_bytes()])
            .u32(IPVS_SVC_ATTR_TIMEOUT, 0)
            .bytes(IPVS_SVC_ATTR_NETMASK, &[255; 4])
            .u32(40, 7);
    });
    let entry = ServiceEntry::parse(&raw).unwrap();
    assert_eq!(entry.service.flags.bits(), 0x41);
    assert_eq!(entry.service.scheduler, Scheduler::from("newsched"));
    assert_eq!(
        entry.unknown,
        vec![RawAttribute {
            raw_kind: 40,
            value: 7u32.to_ne_bytes().to_vec()
        }]
    );

    let raw = attrs(|w| {
        Destination::new(sa("10.0.1.1:80")).emit_id(w);
        w.u32(IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_TUNNEL)
            .u8(IPVS_DEST_ATTR_TUN_TYPE, 7)
            .bytes(99, &[1, 2, 3]);
    });
    let entry = DestinationEntry::parse(&raw, AddressFamily::Ipv4).unwrap();
    assert_eq!(
        entry.destination.forwarding,
        Forwarding::Tunnel(Tunnel {
            kind: TunnelType::from(7),
            port: 0,
            flags: TunnelFlags::empty()
        })
    );
    assert_eq!(entry.unknown[0].kind(), 99);
    assert_eq!(entry.unknown[0].value, vec![1, 2, 3]);
}

#[test]
fn stats_legacy_and_64_bit_with_padding() {
    let legacy = attrs(|w| {
        w.u32(IPVS_STATS_ATTR_CONNS, 5)
            .bytes(IPVS_STATS_ATTR_PAD, &[])
            .bytes(IPVS_STATS_ATTR_INBYTES, &u64::MAX.to_ne_bytes())
            .u32(IPVS_STATS_ATTR_OUTBPS, 9);
    });
    let s = Stats::parse(&legacy, false).unwrap();
    assert_eq!(
        (s.connections, s.bytes_in, s.bytes_out_per_second),
        (5, u64::MAX, 9)
    );
    let wide = attrs(|w| {
        w.bytes(IPVS_STATS_ATTR_PAD, &[])
            .bytes(IPVS_STATS_ATTR_CONNS, &(1u64 << 40).to_ne_bytes())
            .u32(77, 1);
    });
    assert_eq!(Stats::parse(&wide, true).unwrap().connections, 1 << 40);
    // A 32-bit value where 64 bits are due is an error, not a panic.
    let short = attrs(|w| {
        w.u32(IPVS_STATS_ATTR_CONNS, 1);
    });
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
    let no_af = attrs(|w| {
        w.u32(IPVS_SVC_ATTR_FWMARK, 1);
    });
    assert!(matches!(ServiceEntry::parse(&no_af), Err(Error::Decode(_))));
    let no_port = attrs(|w| {
        w.u16(IPVS_SVC_ATTR_AF, 2)
            .u16(IPVS_SVC_ATTR_PROTOCOL, 6)
            .bytes(IPVS_SVC_ATTR_ADDR, &[10, 0, 0, 1]);
    });
    assert!(matches!(
        ServiceEntry::parse(&no_port),
        Err(Error::Decode(_))
    ));
    let bad_af = attrs(|w| {
        w.u16(IPVS_SVC_ATTR_AF, 99);
    });
    assert!(matches!(
        ServiceEntry::parse(&bad_af),
        Err(Error::Decode(_))
    ));
    // An IPv6 family with a 4-byte address.
    let short_addr = attrs(|w| {
        w.u16(IPVS_SVC_ATTR_AF, 10)
            .u16(IPVS_SVC_ATTR_PROTOCOL, 6)
            .bytes(IPVS_SVC_ATTR_ADDR, &[10, 0, 0, 1])
            .be16(IPVS_SVC_ATTR_PORT, 80);
    });
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
fn addresses_are_read_at_their_exact_length() {
    let service = |af: u16, addr: &[u8]| {
        ServiceEntry::parse(&attrs(|w| {
            w.u16(IPVS_SVC_ATTR_AF, af)
                .u16(IPVS_SVC_ATTR_PROTOCOL, 6)
                .bytes(IPVS_SVC_ATTR_ADDR, addr)
                .be16(IPVS_SVC_ATTR_PORT, 80)
                .cstr(IPVS_SVC_ATTR_SCHED_NAME, "rr");
        }))
        .map(|e| e.service.id)
    };
    let mut v4_16 = [0u8; 16];
    v4_16[..4].copy_from_slice(&[10, 0, 0, 1]);
    // IPv4: 4 bytes, or the kernel's 16-byte union with IPv4 first.
    for ok in [&[10, 0, 0, 1][..], &v4_16[..]] {
        assert_eq!(
            service(2, ok)
                .map(|id| id.to_string())
                .map_err(|e| e.to_string()),
            Ok("TCP 10.0.0.1:80".to_owned()),
            "{ok:?}"
        );
    }
    for len in (0..=20).filter(|l| *l != 4 && *l != 16) {
        let addr = vec![10u8; len];
        assert!(
            matches!(service(2, &addr), Err(Error::Decode(_))),
            "IPv4 address of {len} bytes"
        );
        assert!(
            matches!(service(10, &addr), Err(Error::Decode(_))),
            "IPv6 address of {len} bytes"
        );
    }
    assert!(matches!(service(10, &[1; 4]), Err(Error::Decode(_))));
}

#[test]
fn truncations_of_valid_nests_never_panic() {
    let mut nests: Vec<Vec<u8>> = services().iter().map(svc_bytes).collect();
    nests.extend(destinations().iter().map(dest_bytes));
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
    assert_eq!(SyncDaemon::parse(&attrs(|w| d.emit(w))).unwrap(), d);
    let d6 = SyncDaemon {
        group: Some("ff02::1".parse().unwrap()),
        ..SyncDaemon::new(SyncRole::Master, "eth1", 0)
    };
    assert_eq!(SyncDaemon::parse(&attrs(|w| d6.emit(w))).unwrap(), d6);
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
    let k = |errno| KernelError::new(errno, "X", None, None);
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
        (libc::ENODEV, Daemon, |e| {
            matches!(e, Error::LinkNotFound(_))
        }),
        (
            libc::EINVAL,
            NewDestination,
            |e| matches!(e, Error::InvalidArgument(k) if k.hint.is_some()),
        ),
    ];
    for (errno, target, check) in cases {
        let e = kernel_error(k(*errno), *target);
        assert!(check(&e), "{errno} {target:?} -> {e:?}");
        assert_eq!(e.errno(), Some(*errno));
        let not_found = e.is_not_found();
        let io: std::io::Error = e.into();
        if not_found {
            assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        } else {
            assert_eq!(io.kind(), std::io::Error::from_raw_os_error(*errno).kind());
        }
    }
}
