//! Helpers shared by the examples: a tiny argument parser and the table
//! printer (in `ipvsadm -Ln` form).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::exit;

use lvs::{
    AddressFamily, Forwarding, Ipvs, Netmask, Protocol, ServiceEntry, ServiceFlags, ServiceId,
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
    let s = &e.service;
    let mut line = match s.id {
        ServiceId::Inet { protocol, addr: a } => {
            let proto = match protocol {
                Protocol::Tcp => "TCP".to_string(),
                Protocol::Udp => "UDP".to_string(),
                Protocol::Sctp => "SCTP".to_string(),
                Protocol::Other(p) => format!("{p}"),
            };
            format!("{proto:<4} {} {}", addr(&a), s.scheduler)
        }
        ServiceId::Fwmark { mark, family } => {
            let v6 = if family == AddressFamily::Ipv6 {
                " IPv6"
            } else {
                ""
            };
            format!("FWM  {mark}{v6} {}", s.scheduler)
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
        let _ = write!(line, " persistent {}", s.timeout);
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
    services.sort_by_key(|e| match e.service.id {
        ServiceId::Inet { protocol, addr } => {
            (0, 0, addr.is_ipv6(), protocol_key(protocol), Some(addr))
        }
        ServiceId::Fwmark { mark, family } => (1, mark, family == AddressFamily::Ipv6, 0, None),
    });
    for e in &services {
        out.push_str(&service_line(e));
        out.push('\n');
        let mut dests = ipvs.destinations(&e.service.id)?;
        dests.sort_by_key(|d| d.destination.addr);
        for d in dests {
            let method = match d.destination.forwarding {
                Forwarding::Masquerade => "Masq",
                Forwarding::Local => "Local",
                Forwarding::Tunnel(_) => "Tunnel",
                Forwarding::DirectRouting => "Route",
                Forwarding::Other(_) => "?",
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

fn protocol_key(p: Protocol) -> u16 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
        Protocol::Other(n) => n,
    }
}

/// Prints the table.
pub fn print_table(ipvs: &Ipvs) {
    match table(ipvs) {
        Ok(t) => print!("{t}"),
        Err(e) => die("listing the IPVS table", e),
    }
}
