//! Host and port names for listings without `-n` and for rules that use
//! names: `/etc/services` and `/etc/hosts`, read once (no DNS).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::Protocol;

/// Names of ports and hosts, as ipvsadm's resolver gives them when no DNS
/// answers: ports from `/etc/services` (per protocol), hosts from
/// `/etc/hosts` (an address's first name). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Names {
    inner: Arc<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    port_names: HashMap<(u16, &'static str), String>,
    ports: HashMap<(String, &'static str), u16>,
    host_names: HashMap<IpAddr, String>,
    hosts: HashMap<String, IpAddr>,
}

fn proto_key(p: Protocol) -> Option<&'static str> {
    match p {
        Protocol::Tcp => Some("tcp"),
        Protocol::Udp => Some("udp"),
        Protocol::Sctp => Some("sctp"),
        _ => None,
    }
}

impl Names {
    /// No names at all: everything prints as numbers.
    pub fn none() -> Self {
        Names::default()
    }

    /// The system's `/etc/services` and `/etc/hosts` (missing files give
    /// no names).
    pub fn system() -> Self {
        let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        Names::from_files(&services, &hosts)
    }

    /// Names from the text of a services file and a hosts file.
    pub fn from_files(services: &str, hosts: &str) -> Self {
        let mut t = Tables::default();
        for line in services.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (Some(name), Some(pp)) = (words.next(), words.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            let proto: &'static str = match proto {
                "tcp" => "tcp",
                "udp" => "udp",
                "sctp" => "sctp",
                _ => continue,
            };
            t.port_names
                .entry((port, proto))
                .or_insert_with(|| name.to_owned());
            for alias in std::iter::once(name).chain(words) {
                t.ports.entry((alias.to_owned(), proto)).or_insert(port);
            }
        }
        for line in hosts.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
                continue;
            };
            let mut first = true;
            for name in words {
                if first {
                    t.host_names.entry(ip).or_insert_with(|| name.to_owned());
                    first = false;
                }
                t.hosts.entry(name.to_owned()).or_insert(ip);
            }
        }
        Names { inner: Arc::new(t) }
    }

    /// A port's name for `protocol` (as ipvsadm, only TCP and UDP ports
    /// have names), else `None`.
    pub fn port_name(&self, port: u16, protocol: Protocol) -> Option<&str> {
        let key = match protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            _ => return None,
        };
        self.inner.port_names.get(&(port, key)).map(String::as_str)
    }

    /// A port number from a name of `protocol`.
    pub fn port(&self, name: &str, protocol: Protocol) -> Option<u16> {
        let key = proto_key(protocol)?;
        self.inner.ports.get(&(name.to_owned(), key)).copied()
    }

    /// A host's name for an address (IPv4 only: ipvsadm 1.31 asks the
    /// resolver with an IPv4-sized address, so IPv6 addresses never get one).
    pub fn host_name(&self, ip: &IpAddr) -> Option<&str> {
        if ip.is_ipv6() {
            return None;
        }
        self.inner.host_names.get(ip).map(String::as_str)
    }

    /// An address from a host name.
    pub fn host_address(&self, name: &str) -> Option<IpAddr> {
        self.inner.hosts.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_hosts_files() {
        let n = Names::from_files(
            "http 80/tcp www # web\nhttp 80/udp\ndomain 53/udp\nbad line\n",
            "127.0.0.1 localhost lh\n::1 localhost ip6-localhost\n# x\n",
        );
        assert_eq!(n.port_name(80, Protocol::Tcp), Some("http"));
        assert_eq!(n.port_name(53, Protocol::Udp), Some("domain"));
        assert_eq!(n.port_name(53, Protocol::Tcp), None);
        assert_eq!(n.port("www", Protocol::Tcp), Some(80));
        assert_eq!(
            n.host_name(&"127.0.0.1".parse().unwrap()),
            Some("localhost")
        );
        assert_eq!(n.host_address("lh"), Some("127.0.0.1".parse().unwrap()));
    }
}
