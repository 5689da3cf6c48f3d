//! ipvsadm's listings (`-L`), byte for byte as ipvsadm 1.31 prints them.

use std::io::{self, Write};

use super::args::{ListFormat, ListOptions};
use super::names::Names;
use super::save::{
    compare_destinations, compare_services, endpoint, netmask_word, sched_flag_words,
    service_protocol,
};
use crate::conn::Connection;
use crate::{
    AddressFamily, ConnectionTimeouts, DestinationEntry, Forwarding, Info, Protocol, ServiceEntry,
    ServiceFlags, ServiceId, SyncDaemon, SyncRole, TunnelFlags, TunnelType,
};

/// ipvsadm's large-number column: 9 wide, with K/M/G/T above 100 million
/// unless exact.
fn largenum(out: &mut dyn Write, n: u64, exact: bool) -> io::Result<()> {
    if exact {
        let len = n.to_string().len();
        let width = if len <= 8 { 9 } else { len + 1 };
        return write!(out, "{n:>width$}");
    }
    match n {
        0..100_000_000 => write!(out, "{n:>9}"),
        100_000_000..1_000_000_000 => write!(out, "{:>8}K", n / 1000),
        1_000_000_000..100_000_000_000 => write!(out, "{:>8}M", n / 1_000_000),
        100_000_000_000..100_000_000_000_000 => write!(out, "{:>8}G", n / 1_000_000_000),
        _ => write!(out, "{:>8}T", n / 1_000_000_000_000),
    }
}

/// Writes the banner (when `info` is given: a whole-table listing) and the
/// column titles.
pub fn write_listing_header(
    out: &mut dyn Write,
    info: Option<&Info>,
    opts: &ListOptions,
) -> io::Result<()> {
    if let Some(info) = info {
        writeln!(
            out,
            "IP Virtual Server version {} (size={})",
            info.version, info.connection_table_size
        )?;
    }
    let first = "Prot LocalAddress:Port";
    match opts.format {
        ListFormat::Stats => writeln!(
            out,
            "{first:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        ),
        ListFormat::Rate => writeln!(
            out,
            "{first:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        ),
        ListFormat::Thresholds => writeln!(
            out,
            "{first:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        ),
        ListFormat::PersistentConn => writeln!(
            out,
            "{first:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        ),
        ListFormat::TunInfo => writeln!(
            out,
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn"
        ),
        ListFormat::Plain => writeln!(
            out,
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
        ),
    }
}

fn truncate(mut s: String, len: usize) -> String {
    if s.len() > len {
        let mut cut = len;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn forward_name(f: &Forwarding) -> &'static str {
    match f {
        Forwarding::Masquerade => "Masq",
        Forwarding::Local => "Local",
        Forwarding::Tunnel(_) => "Tunnel",
        Forwarding::DirectRouting => "Route",
        _ => "(null)",
    }
}

fn flags_word(flags: TunnelFlags) -> &'static str {
    let csum = flags.contains(TunnelFlags::CSUM);
    let rem = flags.contains(TunnelFlags::REMCSUM);
    match (csum, rem) {
        (false, false) => "-c",
        (true, false) => "+c",
        (false, true) => "r+c",
        // ipvsadm 1.31 reads past its table here.
        (true, true) => "+c,r+c",
    }
}

fn tunnel_info(f: &Forwarding) -> String {
    match f {
        Forwarding::Tunnel(t) => match t.kind {
            TunnelType::Ipip => "ipip".to_owned(),
            TunnelType::Gue => format!("gue:{}:{}", t.port, flags_word(t.flags)),
            TunnelType::Gre => format!("gre:{}", flags_word(t.flags)),
            _ => "n/a".to_owned(),
        },
        _ => "n/a".to_owned(),
    }
}

/// Writes one service of a table listing and its destinations (sorted as
/// ipvsadm sorts them unless `opts.sort` is off).
pub fn write_service_listing(
    out: &mut dyn Write,
    entry: &ServiceEntry,
    dests: &mut [DestinationEntry],
    opts: &ListOptions,
    names: &Names,
) -> io::Result<()> {
    let svc = &entry.service;
    let numeric = opts.numeric;
    let name = match &svc.id {
        ServiceId::Fwmark { mark, family } => match family {
            AddressFamily::Ipv4 => format!("FWM  {mark}"),
            AddressFamily::Ipv6 => format!("FWM  {mark} IPv6"),
        },
        ServiceId::Inet { protocol, addr } => {
            let p = match protocol {
                Protocol::Tcp => "TCP".to_owned(),
                Protocol::Udp => "UDP".to_owned(),
                Protocol::Sctp => "SCTP".to_owned(),
                other => other.to_string(),
            };
            let s = format!("{p:<4} {}", endpoint(addr, *protocol, numeric, names));
            if addr.is_ipv4() { truncate(s, 33) } else { s }
        }
    };
    let s = &entry.stats;
    match opts.format {
        ListFormat::Stats => {
            write!(out, "{name:<33}")?;
            for n in [
                s.connections,
                s.packets_in,
                s.packets_out,
                s.bytes_in,
                s.bytes_out,
            ] {
                largenum(out, n, opts.exact)?;
            }
        }
        ListFormat::Rate => {
            write!(out, "{name:<33}")?;
            for n in [
                s.connections_per_second,
                s.packets_in_per_second,
                s.packets_out_per_second,
                s.bytes_in_per_second,
                s.bytes_out_per_second,
            ] {
                largenum(out, n, opts.exact)?;
            }
        }
        _ => {
            write!(out, "{name} {}", svc.scheduler)?;
            if let Some(words) = sched_flag_words(svc) {
                write!(out, " ({words})")?;
            }
            if svc.flags.contains(ServiceFlags::PERSISTENT) {
                write!(out, " persistent {}", svc.persistence_timeout)?;
                if let Some(m) = netmask_word(svc) {
                    write!(out, " mask {m}")?;
                }
                if let Some(pe) = &svc.persistence_engine {
                    write!(out, " pe {pe}")?;
                }
            }
            if svc.flags.contains(ServiceFlags::ONE_PACKET) {
                out.write_all(b" ops")?;
            }
        }
    }
    out.write_all(b"\n")?;
    if opts.sort {
        dests.sort_by(|a, b| compare_destinations(&a.destination.addr, &b.destination.addr));
    }
    let proto = service_protocol(&svc.id);
    for d in dests.iter() {
        let dest = &d.destination;
        let mut dname = endpoint(&dest.addr, proto, numeric, names);
        if svc.id.family() != AddressFamily::Ipv6 {
            dname = truncate(dname, 28);
        }
        let st = &d.stats;
        match opts.format {
            ListFormat::Stats => {
                write!(out, "  -> {dname:<28}")?;
                for n in [
                    st.connections,
                    st.packets_in,
                    st.packets_out,
                    st.bytes_in,
                    st.bytes_out,
                ] {
                    largenum(out, n, opts.exact)?;
                }
                out.write_all(b"\n")?;
            }
            ListFormat::Rate => {
                write!(
                    out,
                    "  -> {dname:<28} {:>8} {:>8} {:>8}",
                    st.connections_per_second, st.packets_in_per_second, st.packets_out_per_second
                )?;
                largenum(out, st.bytes_in_per_second, opts.exact)?;
                largenum(out, st.bytes_out_per_second, opts.exact)?;
                out.write_all(b"\n")?;
            }
            ListFormat::Thresholds => writeln!(
                out,
                "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
                dest.upper_threshold,
                dest.lower_threshold,
                d.active_connections,
                d.inactive_connections
            )?,
            ListFormat::PersistentConn => writeln!(
                out,
                "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
                dest.weight, d.persistent_connections, d.active_connections, d.inactive_connections
            )?,
            ListFormat::TunInfo => writeln!(
                out,
                "  -> {dname:<28} {:<7} {:<13} {:<6} {:<10} {:<10}",
                forward_name(&dest.forwarding),
                tunnel_info(&dest.forwarding),
                dest.weight as i32,
                d.active_connections,
                d.inactive_connections
            )?,
            ListFormat::Plain => writeln!(
                out,
                "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
                forward_name(&dest.forwarding),
                dest.weight as i32,
                d.active_connections,
                d.inactive_connections
            )?,
        }
    }
    Ok(())
}

/// Writes the whole table as `ipvsadm -L` does: the banner, the titles,
/// then every service (sorted unless `opts.sort` is off).
pub fn write_listing(
    out: &mut dyn Write,
    info: &Info,
    table: &mut [(ServiceEntry, Vec<DestinationEntry>)],
    opts: &ListOptions,
    names: &Names,
) -> io::Result<()> {
    write_listing_header(out, Some(info), opts)?;
    if opts.sort {
        table.sort_by(|a, b| compare_services(&a.0.service.id, &b.0.service.id));
    }
    for (entry, dests) in table.iter_mut() {
        write_service_listing(out, entry, dests, opts, names)?;
    }
    Ok(())
}

/// `ipvsadm -L --timeout`.
pub fn write_timeouts(out: &mut dyn Write, t: &ConnectionTimeouts) -> io::Result<()> {
    writeln!(
        out,
        "Timeout (tcp tcpfin udp): {} {} {}",
        t.tcp, t.tcp_fin, t.udp
    )
}

/// `ipvsadm -L --daemon`: one line per running daemon, master first.
pub fn write_daemons(out: &mut dyn Write, daemons: &[SyncDaemon]) -> io::Result<()> {
    for role in [SyncRole::Master, SyncRole::Backup] {
        for d in daemons.iter().filter(|d| d.role == role) {
            let name = match role {
                SyncRole::Master => "master",
                SyncRole::Backup => "backup",
            };
            write!(
                out,
                "{name} sync daemon (mcast={}, syncid={}",
                d.interface, d.sync_id
            )?;
            if let Some(m) = d.max_len {
                write!(out, ", maxlen={m}")?;
            }
            if let Some(g) = d.group {
                write!(out, ", group={g}")?;
            }
            if let Some(p) = d.port {
                write!(out, ", port={p}")?;
            }
            if let Some(t) = d.ttl {
                write!(out, ", ttl={t}")?;
            }
            out.write_all(b")\n")?;
        }
    }
    Ok(())
}

/// `ipvsadm -L -c`: the header, then each connection as ipvsadm prints it
/// (with the persistence-engine columns when `opts.persistent_conn`).
/// Streams: one connection at a time.
pub fn write_connections<I, E>(
    out: &mut dyn Write,
    connections: I,
    opts: &ListOptions,
    names: &Names,
) -> Result<(), E>
where
    I: IntoIterator<Item = Result<Connection, E>>,
    E: From<io::Error>,
{
    out.write_all(b"IPVS connection entries\n")?;
    if opts.persistent_conn {
        writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} pe_data",
            "state", "source", "virtual", "destination", "pe name"
        )?;
    } else {
        writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} destination",
            "state", "source", "virtual"
        )?;
    }
    for c in connections {
        let c = c?;
        let proto = c.protocol;
        let ep = |a| endpoint(a, proto, opts.numeric, names);
        let expire = format!("{:02}:{:02}", c.expires / 60, c.expires % 60);
        let pname = c.protocol_name();
        match (&c.persistence, opts.persistent_conn) {
            (Some((pe, data)), true) => writeln!(
                out,
                "{pname:<3} {expire:<6} {:<11} {:<18} {:<18} {:<16} {:<18} {data}",
                c.state,
                ep(&c.client),
                ep(&c.virtual_addr),
                ep(&c.destination),
                pe
            )?,
            _ => writeln!(
                out,
                "{pname:<3} {expire:<6} {:<11} {:<18} {:<18} {}",
                c.state,
                ep(&c.client),
                ep(&c.virtual_addr),
                ep(&c.destination)
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: u64, exact: bool) -> String {
        let mut v = Vec::new();
        largenum(&mut v, n, exact).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn destination_counters_keep_64_bits() {
        use crate::{Destination, Service, Stats};
        let id = ServiceId::tcp("10.0.0.1:80".parse().unwrap());
        let entry = ServiceEntry {
            service: Service::new(id),
            stats: Stats::default(),
            unknown: Vec::new(),
        };
        let mut dests = vec![DestinationEntry {
            destination: Destination::new("10.0.1.1:80".parse().unwrap()),
            active_connections: 0,
            inactive_connections: 0,
            persistent_connections: 0,
            stats: Stats {
                bytes_in: 5_000_000_000,
                packets_in_per_second: 4_294_967_296 + 7,
                ..Stats::default()
            },
            unknown: Vec::new(),
        }];
        let mut out = Vec::new();
        let opts = ListOptions {
            format: ListFormat::Stats,
            numeric: true,
            exact: true,
            ..ListOptions::default()
        };
        write_service_listing(&mut out, &entry, &mut dests, &opts, &Names::none()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(" 5000000000"), "{text}");
        let mut out = Vec::new();
        let opts = ListOptions {
            format: ListFormat::Rate,
            ..opts
        };
        write_service_listing(&mut out, &entry, &mut dests, &opts, &Names::none()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(" 4294967303 "), "{text}");
    }

    #[test]
    fn large_numbers_as_ipvsadm() {
        assert_eq!(num(0, false), "        0");
        assert_eq!(num(99_999_999, false), " 99999999");
        assert_eq!(num(100_000_000, false), "  100000K");
        assert_eq!(num(1_234_567_890, false), "    1234M");
        assert_eq!(num(123_456_789_012, false), "     123G");
        assert_eq!(num(u64::MAX, false), "18446744T");
        assert_eq!(num(1_234_567_890, true), " 1234567890");
        assert_eq!(num(5, true), "        5");
    }
}
