//! The property a desired-state diff stands on: every value the model's
//! types can hold, once validated, reads back from its own encoding equal
//! to itself — `parse(emit(x)) == x` — and every named kernel value has
//! one spelling only (`Other` never holds a named value). Exhaustive where
//! the domain is small (protocol numbers, tunnel types, forwarding
//! methods, prefixes), sampled with a fixed-seed generator elsewhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::destination::*;
use super::op::Op;
use super::scheduler::Scheduler;
use super::service::*;
use super::stats::Stats;

use crate::test_rng::Rng;

/// Values of the model's domains, drawn from the generator.
trait Draw {
    fn int(&mut self, below: u64) -> u64;
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T;
    fn ip(&mut self, family: AddressFamily) -> IpAddr;
    fn name(&mut self, max: u64) -> String;
}

impl Draw for Rng {
    fn int(&mut self, below: u64) -> u64 {
        self.next() % below
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn ip(&mut self, family: AddressFamily) -> IpAddr {
        match family {
            AddressFamily::Ipv4 => Ipv4Addr::from(self.next() as u32).into(),
            AddressFamily::Ipv6 => Ipv6Addr::from(u128::from(self.next()) << 64 | 1).into(),
        }
    }
    fn name(&mut self, max: u64) -> String {
        let len = 1 + self.int(max) as usize;
        (0..len)
            .map(|_| (b'a' + self.int(26) as u8) as char)
            .collect()
    }
}

/// The first nest of a request (after its netlink and genl headers), as
/// the nest parsers see it. (Not the reply parsers: those also insist on
/// what only the kernel sends, such as stats.)
fn first_nest(message: &[u8]) -> &[u8] {
    crate::netlink::attr::walk(&message[20..], "request")
        .next()
        .expect("a nest")
        .expect("a whole nest")
        .value
}

/// The service read back from the message that carries `op`.
fn service_through_the_wire(s: &Service) -> Service {
    let mut buf = Vec::new();
    Op::AddService(s.clone()).encode_into(&mut buf, 28, 0);
    let entry = ServiceEntry::parse(first_nest(&buf)).expect("own encoding parses");
    assert_eq!(entry.stats, Stats::default());
    assert!(entry.unknown.is_empty());
    entry.service
}

fn destination_through_the_wire(id: ServiceId, d: &Destination) -> Destination {
    let mut buf = Vec::new();
    Op::AddDestination(id, *d).encode_into(&mut buf, 28, 0);
    // (the DEST nest follows the SERVICE nest)
    let dest = crate::netlink::attr::walk(&buf[20..], "request")
        .nth(1)
        .expect("a DEST nest")
        .expect("a whole nest")
        .value;
    DestinationEntry::parse(dest, id.family())
        .expect("own encoding parses")
        .destination
}

fn families() -> [AddressFamily; 2] {
    [AddressFamily::Ipv4, AddressFamily::Ipv6]
}

#[test]
fn every_protocol_number_has_one_spelling_and_round_trips() {
    for n in 0..=u16::MAX {
        let p = Protocol::from(n);
        assert_eq!(u16::from(p), n);
        let named = matches!(n, 6 | 17 | 132);
        assert_eq!(!matches!(p, Protocol::Other(_)), named, "{n}");
        assert_eq!(p.to_string().parse::<Protocol>().unwrap(), p);
        for family in families() {
            let addr = SocketAddr::new(Rng(u64::from(n) + 1).ip(family), n);
            let id = ServiceId::Inet { protocol: p, addr };
            assert_eq!(id.to_string().parse::<ServiceId>().unwrap(), id);
            let s = Service::new(id);
            assert_eq!(service_through_the_wire(&s), s, "{id}");
        }
    }
}

#[test]
fn every_scheduler_has_one_spelling_and_round_trips() {
    let mut rng = Rng(7);
    let mut names: Vec<String> = Scheduler::KNOWN.iter().map(|s| s.name().into()).collect();
    names.extend((0..2000).map(|_| rng.name(15)));
    for name in names {
        let s = Scheduler::from(name.as_str());
        let named = Scheduler::KNOWN.iter().any(|k| k.name() == name);
        assert_eq!(!matches!(s, Scheduler::Other(_)), named, "{name}");
        assert_eq!(Scheduler::from(name.clone()), s);
        assert_eq!(s.to_string().parse::<Scheduler>().unwrap(), s);
        assert_eq!(String::from(s.clone()), name);
        let svc = Service::new(ServiceId::fwmark(1)).with_scheduler(s);
        svc.validate().unwrap();
        assert_eq!(service_through_the_wire(&svc), svc);
    }
}

#[test]
fn sampled_services_round_trip() {
    let mut rng = Rng(42);
    for i in 0..20_000u32 {
        let family = *rng.pick(&families());
        let id = match rng.int(4) {
            0 => ServiceId::Fwmark {
                mark: 1 + rng.int(u64::from(u32::MAX)) as u32,
                family,
            },
            _ => ServiceId::Inet {
                protocol: Protocol::from(*rng.pick(&[6u16, 17, 132, 50, 0, u16::MAX])),
                addr: SocketAddr::new(rng.ip(family), rng.int(65536) as u16),
            },
        };
        let flags = ServiceFlags::from_bits_retain(rng.next() as u32 & !0x2);
        let netmask = match family {
            AddressFamily::Ipv4 => Netmask::prefix(family, rng.int(33) as u8).unwrap(),
            AddressFamily::Ipv6 => Netmask::prefix(family, 1 + rng.int(128) as u8).unwrap(),
        };
        let mut s = Service::new(id)
            .with_scheduler(Scheduler::KNOWN[i as usize % Scheduler::KNOWN.len()].clone())
            .with_flags(flags)
            .with_netmask(netmask);
        s.persistence_timeout = rng.int(u64::from(MAX_PERSISTENCE_TIMEOUT) + 1) as u32;
        if rng.int(2) == 0 {
            s = s.with_persistence_engine(rng.name(16));
        }
        s.validate().unwrap();
        assert_eq!(service_through_the_wire(&s), s);
        assert_eq!(id.to_string().parse::<ServiceId>().unwrap(), id);
    }
}

#[test]
fn every_forwarding_and_tunnel_has_one_spelling_and_round_trips() {
    let v4 = ServiceId::tcp("10.0.0.1:80".parse().unwrap());
    let v6 = ServiceId::tcp("[2001:db8::1]:80".parse().unwrap());
    for method in 0..=7u32 {
        let f = Forwarding::try_from(method).unwrap();
        assert_eq!(u32::from(f), method);
        assert_eq!(matches!(f, Forwarding::Other(_)), method >= 4);
        assert_eq!(f.to_string().parse::<Forwarding>().unwrap(), f);
        let d = Destination::new("10.0.1.1:80".parse().unwrap()).with_forwarding(f);
        assert_eq!(destination_through_the_wire(v4, &d), d);
    }
    assert!(Forwarding::try_from(8).is_err());
    let mut rng = Rng(9);
    for kind in 0..=u8::MAX {
        let t = TunnelType::from(kind);
        assert_eq!(u8::from(t), kind);
        assert_eq!(matches!(t, TunnelType::Other(_)), kind > 2);
        assert_eq!(t.to_string().parse::<TunnelType>().unwrap(), t);
        for _ in 0..64 {
            let port = match t {
                TunnelType::Gue => 1 + rng.int(65535) as u16,
                TunnelType::Ipip | TunnelType::Gre => 0,
                _ => rng.int(65536) as u16,
            };
            let flags = match t {
                TunnelType::Ipip => TunnelFlags::empty(),
                TunnelType::Gre => TunnelFlags::from_bits_retain(rng.next() as u16 & !0x2),
                _ => TunnelFlags::from_bits_retain(rng.next() as u16),
            };
            let f = Forwarding::Tunnel(Tunnel {
                kind: t,
                port,
                flags,
            });
            assert_eq!(f.to_string().parse::<Forwarding>().unwrap(), f, "{f}");
            let (id, addr) = match rng.int(2) {
                0 => (v4, "[2001:db8::9]:8080"),
                _ => (v6, "10.0.1.9:8080"),
            };
            let upper = rng.int(u64::from(MAX_WEIGHT) + 1) as u32;
            let d = Destination::new(addr.parse().unwrap())
                .with_forwarding(f)
                .with_weight(rng.int(u64::from(MAX_WEIGHT) + 1) as u32)
                .with_thresholds(upper, rng.int(u64::from(upper) + 1) as u32);
            d.validate(id.family()).unwrap();
            assert_eq!(destination_through_the_wire(id, &d), d);
        }
    }
}

#[test]
fn values_the_kernel_would_change_are_refused() {
    let hashed = Service::new(ServiceId::fwmark(1)).with_flags(ServiceFlags::from_bits_retain(0x2));
    assert!(matches!(
        hashed.validate(),
        Err(crate::Error::Invalid {
            field: "service.flags",
            ..
        })
    ));
    use super::daemon::{SyncDaemon, SyncRole};
    for (role, max_len, group, ok) in [
        (SyncRole::Master, 0, None, false),
        (SyncRole::Master, 1, None, true),
        (SyncRole::Master, 65507, None, true),
        (SyncRole::Master, 65508, None, false),
        (SyncRole::Master, 65535, None, false),
        (SyncRole::Master, 65487, Some("ff02::1"), true),
        (SyncRole::Master, 65488, Some("ff02::1"), false),
        (SyncRole::Backup, 1023, None, false),
        (SyncRole::Backup, 1024, None, true),
    ] {
        let d = SyncDaemon {
            max_len: Some(max_len),
            group: group.map(|g| g.parse().unwrap()),
            ..SyncDaemon::new(role, "eth0", 1)
        };
        match d.validate() {
            Ok(()) => assert!(ok, "{max_len} accepted"),
            Err(crate::Error::Invalid { field, .. }) => {
                assert!(!ok, "{max_len} refused");
                assert_eq!(field, "daemon.max_len");
            }
            Err(e) => panic!("{e}"),
        }
    }
}
