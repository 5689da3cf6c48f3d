//! Helpers shared by the examples: a tiny argument parser and the table
//! printer (in `ipvsadm -Ln` form); `kube` holds what the kube-proxy
//! rule-set examples share.
#![allow(dead_code)]

pub mod kube;
pub mod proxier;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::exit;

use lvs::{
    AddressFamily, Forwarding, Ipvs, Netmask, Protocol, Service, ServiceEntry, ServiceFlags,
    ServiceId,
};

/// Command-line arguments, consumed front to back.
pub struct Args {
    rest: VecDeque<String>,
    usage: &'static str,
}

impl Args {
    /// The process arguments; prints `usage` and exits on `-h`/`--help`.
    pub fn new(usage: &'static str) -> Self {
        let rest: VecDeque<String> = std::env::args().skip(1).collect();
        if rest.iter().any(|a| a == "-h" || a == "--help") {
            println!("{usage}");
            exit(0);
        }
        Args { rest, usage }
    }

    /// Fails with the usage text.
    pub fn fail(&self, why: &str) -> ! {
        eprintln!("error: {why}\n\n{}", self.usage);
        exit(2);
    }

    /// Removes `--flag` if present.
    pub fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes `--name VALUE` if present and returns every occurrence's value.
    pub fn values(&mut self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(i) = self.rest.iter().position(|a| a == name) {
            self.rest.remove(i);
            match self.rest.remove(i) {
                Some(v) => out.push(v),
                None => self.fail(&format!("{name} needs a value")),
            }
        }
        out
    }

    /// Removes `--name VALUE` and parses it, or returns `default`.
    pub fn value<T: std::str::FromStr>(&mut self, name: &str, default: T) -> T {
        match self.values(name).pop() {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| self.fail(&format!("bad value {v:?} for {name}"))),
            None => default,
        }
    }

    /// The next positional argument, parsed.
    pub fn positional<T: std::str::FromStr>(&mut self, what: &str) -> T {
        match self.rest.pop_front() {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| self.fail(&format!("bad {what}: {v:?}"))),
            None => self.fail(&format!("missing {what}")),
        }
    }

    /// Fails if anything is left over.
    pub fn done(&self) {
        if let Some(extra) = self.rest.front() {
            self.fail(&format!("unexpected argument {extra:?}"));
        }
    }

    /// `tcp|udp|sctp ADDR:PORT` or `fwmark MARK [--ipv6]`.
    pub fn service_id(&mut self) -> ServiceId {
        let kind: String = self.positional("protocol (tcp, udp, sctp or fwmark)");
        match kind.as_str() {
            "fwmark" => {
                let mark = self.positional("firewall mark");
                if self.flag("--ipv6") {
                    ServiceId::fwmark_v6(mark)
                } else {
                    ServiceId::fwmark(mark)
                }
            }
            "tcp" => ServiceId::tcp(self.positional("ADDR:PORT")),
            "udp" => ServiceId::udp(self.positional("ADDR:PORT")),
            "sctp" => ServiceId::sctp(self.positional("ADDR:PORT")),
            other => self.fail(&format!("unknown protocol {other:?}")),
        }
    }
}

/// Prints an error and exits 1; for `main`'s error path.
pub fn die(context: &str, e: lvs::Error) -> ! {
    eprintln!("error: {context}: {e}");
    exit(1);
}

fn addr(a: &SocketAddr) -> String {
    match a.ip() {
        IpAddr::V4(_) => a.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]:{}", a.port()),
    }
}

fn service_line(e: &ServiceEntry) -> String {
    service_text(&e.service)
}

/// A service as `ipvsadm -Ln` shows it on its line of the table, e.g.
/// `TCP  10.96.0.10:8080 rr persistent 10800`.
pub fn service_text(s: &Service) -> String {
    let mut line = match s.id {
        ServiceId::Inet { protocol, addr: a } => {
            let proto = match protocol {
                Protocol::Tcp => "TCP".to_string(),
                Protocol::Udp => "UDP".to_string(),
                Protocol::Sctp => "SCTP".to_string(),
                other => u16::from(other).to_string(),
            };
            format!("{proto:<4} {} {}", addr(&a), s.scheduler)
        }
        ServiceId::Fwmark { mark, family } => {
            let v6 = if family == AddressFamily::Ipv6 {
                " IPv6"
            } else {
                ""
            };
            // (ipvsadm prints the mark with %d: marks from 2^31 up as
            // negative numbers)
            format!("FWM  {}{v6} {}", mark as i32, s.scheduler)
        }
    };
    let sched_flags: Vec<&str> = match s.scheduler.name() {
        "sh" => [
            (ServiceFlags::SH_FALLBACK, "sh-fallback"),
            (ServiceFlags::SH_PORT, "sh-port"),
        ]
        .iter()
        .filter(|(f, _)| s.flags.contains(*f))
        .map(|(_, n)| *n)
        .collect(),
        "mh" => [
            (ServiceFlags::MH_FALLBACK, "mh-fallback"),
            (ServiceFlags::MH_PORT, "mh-port"),
        ]
        .iter()
        .filter(|(f, _)| s.flags.contains(*f))
        .map(|(_, n)| *n)
        .collect(),
        _ => [
            (ServiceFlags::SCHED1, "flag-1"),
            (ServiceFlags::SCHED2, "flag-2"),
            (ServiceFlags::SCHED3, "flag-3"),
        ]
        .iter()
        .filter(|(f, _)| s.flags.contains(*f))
        .map(|(_, n)| *n)
        .collect(),
    };
    if !sched_flags.is_empty() {
        let _ = write!(line, " ({})", sched_flags.join(","));
    }
    if s.flags.contains(ServiceFlags::PERSISTENT) {
        let _ = write!(line, " persistent {}", s.persistence_timeout);
        match s.netmask {
            Netmask::Ipv4(m) if m != std::net::Ipv4Addr::BROADCAST => {
                let _ = write!(line, " mask {m}");
            }
            Netmask::Ipv6(p) if p != 128 => {
                let _ = write!(line, " mask {p}");
            }
            _ => {}
        }
    }
    if let Some(pe) = &s.persistence_engine {
        let _ = write!(line, " pe {pe}");
    }
    if s.flags.contains(ServiceFlags::ONE_PACKET) {
        line.push_str(" ops");
    }
    line
}

/// The table of `ipvs` in `ipvsadm -Ln` form (services and destinations
/// in ipvsadm's order).
pub fn table(ipvs: &Ipvs) -> lvs::Result<String> {
    let info = ipvs.info()?;
    let mut out = format!(
        "IP Virtual Server version {} (size={})\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        info.version, info.connection_table_size
    );
    let mut services = ipvs.services()?;
    ipvsadm_sort(&mut services, &|a, b| {
        compare_services(&a.service.id, &b.service.id)
    });
    for e in &services {
        out.push_str(&service_line(e));
        out.push('\n');
        let mut dests = ipvs.destinations(&e.service.id)?;
        ipvsadm_sort(&mut dests, &|a, b| {
            compare_dests(&a.destination.addr, &b.destination.addr)
        });
        for d in dests {
            let method = match d.destination.forwarding {
                Forwarding::Masquerade => "Masq",
                Forwarding::Local => "Local",
                Forwarding::Tunnel(_) => "Tunnel",
                Forwarding::DirectRouting => "Route",
                _ => "?",
            };
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                addr(&d.destination.addr),
                method,
                d.destination.weight,
                d.active_connections,
                d.inactive_connections
            );
        }
    }
    Ok(out)
}

/// Sorts as ipvsadm's `qsort` does: glibc's top-down merge sort, which
/// gives a definite order even for ipvsadm's comparators, which are not
/// total orders (they subtract 32-bit addresses into an `int`, so
/// 203.0.113.10 sorts before 10.0.0.99).
fn ipvsadm_sort<T: Clone>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> i32) {
    if v.len() <= 1 {
        return;
    }
    let (a, b) = v.split_at_mut(v.len() / 2);
    ipvsadm_sort(a, cmp);
    ipvsadm_sort(b, cmp);
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if cmp(&a[i], &b[j]) <= 0 {
            merged.push(a[i].clone());
            i += 1;
        } else {
            merged.push(b[j].clone());
            j += 1;
        }
    }
    merged.extend_from_slice(&a[i..]);
    merged.extend_from_slice(&b[j..]);
    v.clone_from_slice(&merged);
}

/// An address as libipvs holds it: four host-order words (IPv4 in the
/// first).
fn words(ip: IpAddr) -> [u32; 4] {
    match ip {
        IpAddr::V4(v4) => [u32::from(v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [0, 4, 8, 12].map(|i| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]))
        }
    }
}

/// `ntohl(a) - ntohl(b)` into an `int`, as libipvs computes it.
fn diff32(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// libipvs' address comparison: all four words if the first is IPv6,
/// else the first word only.
fn compare_addrs(a: IpAddr, b: IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    let n = if a.is_ipv6() { 4 } else { 1 };
    (0..n)
        .map(|i| diff32(wa[i], wb[i]))
        .find(|r| *r != 0)
        .unwrap_or(0)
}

/// libipvs' `ipvs_cmp_services`: fwmark, family, protocol, address, port.
fn compare_services(a: &ServiceId, b: &ServiceId) -> i32 {
    // The fields as libipvs fills them in: zero where the kernel sends
    // nothing (a fwmark service has no protocol, address or port).
    let fields = |id: &ServiceId| match *id {
        ServiceId::Inet { protocol, addr } => (0, addr.is_ipv6(), protocol_key(protocol), addr),
        ServiceId::Fwmark { mark, family } => {
            let v6 = family == AddressFamily::Ipv6;
            let any: IpAddr = if v6 {
                Ipv6Addr::UNSPECIFIED.into()
            } else {
                Ipv4Addr::UNSPECIFIED.into()
            };
            (mark, v6, 0, SocketAddr::new(any, 0))
        }
    };
    let (ma, va, pa, sa) = fields(a);
    let (mb, vb, pb, sb) = fields(b);
    [
        diff32(ma, mb),
        af(va) - af(vb),
        i32::from(pa) - i32::from(pb),
        compare_addrs(sa.ip(), sb.ip()),
        i32::from(sa.port()) - i32::from(sb.port()),
    ]
    .into_iter()
    .find(|r| *r != 0)
    .unwrap_or(0)
}

/// libipvs' `ipvs_cmp_dests`: address, then port.
fn compare_dests(a: &SocketAddr, b: &SocketAddr) -> i32 {
    match compare_addrs(a.ip(), b.ip()) {
        0 => i32::from(a.port()) - i32::from(b.port()),
        r => r,
    }
}

/// `AF_INET6` or `AF_INET`.
fn af(v6: bool) -> i32 {
    if v6 { 10 } else { 2 }
}

fn protocol_key(p: Protocol) -> u16 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
        other => u16::from(other),
    }
}

/// Prints the table.
pub fn print_table(ipvs: &Ipvs) {
    match table(ipvs) {
        Ok(t) => print!("{t}"),
        Err(e) => die("listing the IPVS table", e),
    }
}
