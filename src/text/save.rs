//! The rule format of `ipvsadm -S`, and ipvsadm's sort order.

use std::cmp::Ordering;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::names::Names;
use crate::{
    AddressFamily, ConnectionTimeouts, DestinationEntry, Forwarding, Netmask, Protocol, Scheduler,
    Service, ServiceEntry, ServiceFlags, ServiceId, TunnelFlags, TunnelType,
};

/// How [`write_save`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaveOptions {
    /// `-n`: numbers for addresses and ports (`-Sn`).
    pub numeric: bool,
    /// Keep what `ipvsadm -S` drops (see [the module](super)): thresholds,
    /// GUE with both checksum flags, and these timeouts as a `--set` line.
    pub superset: bool,
    /// The connection timeouts to write first (only with `superset`).
    pub timeouts: Option<ConnectionTimeouts>,
}

/// ipvsadm's signed difference of two 32-bit numbers (its comparators
/// subtract unsigned values into an `int`, and this crate sorts the same
/// way so that listings are identical).
fn diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn words(ip: &IpAddr) -> [u32; 4] {
    match ip {
        IpAddr::V4(v4) => [u32::from(*v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            std::array::from_fn(|i| {
                u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
            })
        }
    }
}

fn cmp_addr(a: &IpAddr, b: &IpAddr, v6: bool) -> i32 {
    let (wa, wb) = (words(a), words(b));
    let n = if v6 { 4 } else { 1 };
    (0..n)
        .map(|i| diff(wa[i], wb[i]))
        .find(|r| *r != 0)
        .unwrap_or(0)
}

fn af_raw(f: AddressFamily) -> i32 {
    match f {
        AddressFamily::Ipv4 => libc::AF_INET,
        AddressFamily::Ipv6 => libc::AF_INET6,
    }
}

/// ipvsadm's service order: firewall mark, address family, protocol,
/// address, port (each as its signed difference).
pub fn compare_services(a: &ServiceId, b: &ServiceId) -> Ordering {
    let key = |s: &ServiceId| -> (u32, i32, i32, Option<SocketAddr>) {
        match s {
            ServiceId::Fwmark { mark, family } => (*mark, af_raw(*family), 0, None),
            ServiceId::Inet { protocol, addr } => (
                0,
                af_raw(AddressFamily::of(&addr.ip())),
                i32::from(protocol.to_raw()),
                Some(*addr),
            ),
        }
    };
    let (ka, kb) = (key(a), key(b));
    let mut r = diff(ka.0, kb.0);
    if r == 0 {
        r = ka.1 - kb.1;
    }
    if r == 0 {
        r = ka.2 - kb.2;
    }
    if r == 0
        && let (Some(x), Some(y)) = (ka.3, kb.3)
    {
        r = cmp_addr(&x.ip(), &y.ip(), ka.1 == libc::AF_INET6);
        if r == 0 {
            r = i32::from(x.port()) - i32::from(y.port());
        }
    }
    r.cmp(&0)
}

/// ipvsadm's destination order: address (compared in the first one's
/// family), then port.
pub fn compare_destinations(a: &SocketAddr, b: &SocketAddr) -> Ordering {
    let r = match cmp_addr(&a.ip(), &b.ip(), a.is_ipv6()) {
        0 => i32::from(a.port()) - i32::from(b.port()),
        r => r,
    };
    r.cmp(&0)
}

/// `ADDR:PORT` as ipvsadm writes it (`[V6]:PORT`), with names unless
/// `numeric`.
pub(crate) fn endpoint(
    addr: &SocketAddr,
    protocol: Protocol,
    numeric: bool,
    names: &Names,
) -> String {
    let ip = addr.ip();
    let host = match (numeric, names.host_name(&ip)) {
        (false, Some(h)) => h.to_owned(),
        _ => ip.to_string(),
    };
    let port = match (numeric, names.port_name(addr.port(), protocol)) {
        (false, Some(p)) => p.to_owned(),
        _ => addr.port().to_string(),
    };
    if ip.is_ipv6() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The protocol ipvsadm names ports with: none for firewall marks.
pub(crate) fn service_protocol(id: &ServiceId) -> Protocol {
    match id {
        ServiceId::Inet { protocol, .. } => *protocol,
        ServiceId::Fwmark { .. } => Protocol::from(0u16),
    }
}

/// ipvsadm's words for the scheduler flags of a service (`sh-port`, …).
pub(crate) fn sched_flag_words(svc: &Service) -> Option<String> {
    let f = svc.flags;
    let mut out: Vec<&str> = Vec::new();
    match svc.scheduler {
        Scheduler::SourceHashing => {
            if f.contains(ServiceFlags::SH_FALLBACK) {
                out.push("sh-fallback");
            }
            if f.contains(ServiceFlags::SH_PORT) {
                out.push("sh-port");
            }
        }
        Scheduler::MaglevHashing => {
            if f.contains(ServiceFlags::MH_FALLBACK) {
                out.push("mh-fallback");
            }
            if f.contains(ServiceFlags::MH_PORT) {
                out.push("mh-port");
            }
        }
        _ => {
            if f.contains(ServiceFlags::SCHED1) {
                out.push("flag-1");
            }
            if f.contains(ServiceFlags::SCHED2) {
                out.push("flag-2");
            }
        }
    }
    if f.contains(ServiceFlags::SCHED3) {
        out.push("flag-3");
    }
    (!out.is_empty()).then(|| out.join(","))
}

/// The netmask word when it is not the host mask.
pub(crate) fn netmask_word(svc: &Service) -> Option<String> {
    match svc.netmask {
        Netmask::Ipv4(m) if svc.id.family() == AddressFamily::Ipv4 => {
            (m != Ipv4Addr::BROADCAST).then(|| m.to_string())
        }
        Netmask::Ipv6(n) if svc.id.family() == AddressFamily::Ipv6 => {
            (n != 128).then(|| n.to_string())
        }
        Netmask::Ipv4(m) => Some(m.to_string()),
        Netmask::Ipv6(n) => Some(n.to_string()),
    }
}

fn save_service_name(id: &ServiceId, numeric: bool, names: &Names) -> String {
    match id {
        ServiceId::Fwmark { mark, family } => match family {
            AddressFamily::Ipv4 => format!("-f {mark}"),
            AddressFamily::Ipv6 => format!("-f {mark} -6"),
        },
        ServiceId::Inet { protocol, addr } => {
            let flag = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                _ => "--sctp-service",
            };
            format!("{flag} {}", endpoint(addr, *protocol, numeric, names))
        }
    }
}

/// Writes one service and its destinations as `ipvsadm -S` does (the
/// destinations in the order given).
pub(crate) fn write_service_rules(
    out: &mut dyn Write,
    entry: &ServiceEntry,
    dests: &[DestinationEntry],
    opts: &SaveOptions,
    names: &Names,
) -> io::Result<()> {
    let svc = &entry.service;
    let name = save_service_name(&svc.id, opts.numeric, names);
    write!(out, "-A {name} -s {}", svc.scheduler)?;
    if svc.flags.contains(ServiceFlags::PERSISTENT) {
        write!(out, " -p {}", svc.persistence_timeout)?;
        if let Some(m) = netmask_word(svc) {
            write!(out, " -M {m}")?;
        }
    }
    if let Some(pe) = &svc.persistence_engine {
        write!(out, " --pe {pe}")?;
    }
    if svc.flags.contains(ServiceFlags::ONE_PACKET) {
        out.write_all(b" -o")?;
    }
    if let Some(words) = sched_flag_words(svc) {
        write!(out, " -b {words}")?;
    }
    out.write_all(b"\n")?;
    let proto = service_protocol(&svc.id);
    for d in dests {
        let dest = &d.destination;
        let switch = match dest.forwarding {
            Forwarding::Masquerade => "-m",
            Forwarding::Tunnel(_) => "-i",
            Forwarding::DirectRouting | Forwarding::Local => "-g",
            _ => "(null)",
        };
        write!(
            out,
            "-a {name} -r {} {switch} -w {}",
            endpoint(&dest.addr, proto, opts.numeric, names),
            dest.weight as i32
        )?;
        if opts.superset && (dest.upper_threshold != 0 || dest.lower_threshold != 0) {
            write!(
                out,
                " -x {} -y {}",
                dest.upper_threshold, dest.lower_threshold
            )?;
        }
        if let Forwarding::Tunnel(t) = dest.forwarding {
            match t.kind {
                TunnelType::Ipip => out.write_all(b" --tun-type ipip")?,
                TunnelType::Gue => {
                    write!(out, " --tun-type gue --tun-port {}", t.port)?;
                    let both = TunnelFlags::CSUM | TunnelFlags::REMCSUM;
                    if t.flags.contains(both) {
                        // ipvsadm 1.31 crashes here; the superset keeps both.
                        out.write_all(b" --tun-csum --tun-remcsum")?;
                    } else if t.flags.contains(TunnelFlags::REMCSUM) {
                        out.write_all(b" --tun-remcsum")?;
                    } else if t.flags.contains(TunnelFlags::CSUM) {
                        out.write_all(b" --tun-csum")?;
                    } else {
                        out.write_all(b" --tun-nocsum")?;
                    }
                }
                TunnelType::Gre => {
                    out.write_all(b" --tun-type gre")?;
                    if t.flags.contains(TunnelFlags::CSUM) {
                        out.write_all(b" --tun-csum")?;
                    } else {
                        out.write_all(b" --tun-nocsum")?;
                    }
                }
                _ => {}
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes a table as `ipvsadm -S` (`-Sn` when `numeric`) does, sorted as
/// ipvsadm sorts; with [`SaveOptions::superset`], the superset.
pub fn write_save(
    out: &mut dyn Write,
    table: &mut [(ServiceEntry, Vec<DestinationEntry>)],
    opts: &SaveOptions,
    names: &Names,
) -> io::Result<()> {
    if opts.superset
        && let Some(t) = opts.timeouts
    {
        writeln!(out, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp)?;
    }
    table.sort_by(|a, b| compare_services(&a.0.service.id, &b.0.service.id));
    for (entry, dests) in table.iter_mut() {
        dests.sort_by(|a, b| compare_destinations(&a.destination.addr, &b.destination.addr));
        write_service_rules(out, entry, dests, opts, names)?;
    }
    Ok(())
}
