//! The IPVS connection table (`/proc/net/ip_vs_conn`), read as a stream
//! of typed entries.
//!
//! The kernel has no netlink command for the connection table: it is only
//! in `/proc/net/ip_vs_conn` of each network namespace. [`Connections`]
//! reads it line by line (bounded memory, for tables of millions of
//! connections), in the calling thread's namespace or another one, without
//! moving the calling thread.
//!
//! ```no_run
//! # fn main() -> Result<(), lvs::conn::ConnError> {
//! for conn in lvs::conn::Connections::open()? {
//!     let c = conn?;
//!     println!("{} {} -> {} -> {} {} {}s", c.protocol, c.client, c.virtual_addr,
//!              c.destination, c.state, c.expires);
//! }
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use crate::Protocol;
use crate::netlink::netns::{in_netns, in_netns_path};

/// The connection table's file, relative to a thread's `/proc` entry.
const CONN_FILE: &str = "/proc/thread-self/net/ip_vs_conn";

/// Reading the connection table failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// The file could not be opened or read (no IPVS: `NotFound`).
    #[error("reading the IPVS connection table: {0}")]
    Io(#[from] io::Error),
    /// Entering the namespace failed.
    #[error("{0}")]
    Namespace(#[from] crate::Error),
    /// A line is not what the kernel writes.
    #[error("ip_vs_conn line {line}: {message}")]
    Parse {
        /// The line number, from 1 (the header is line 1).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// One connection of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Connection {
    /// The protocol (from the kernel's name: TCP, UDP, SCTP, …).
    pub protocol: Protocol,
    /// The client's address and port.
    pub client: SocketAddr,
    /// The virtual service's address and port the client connected to.
    pub virtual_addr: SocketAddr,
    /// The destination (real server) chosen.
    pub destination: SocketAddr,
    /// The protocol state as the kernel names it (`ESTABLISHED`,
    /// `TIME_WAIT`, `NONE` for a persistence template, …).
    pub state: String,
    /// Seconds until the entry expires.
    pub expires: u64,
    /// The persistence engine's name and data (e.g. `sip` and the Call-ID)
    /// of a connection made through one.
    pub persistence: Option<(String, String)>,
    protocol_name: String,
}

impl Connection {
    /// The protocol as the kernel named it (`TCP`, `UDP`, `SCTP`, `IP`, …).
    pub fn protocol_name(&self) -> &str {
        &self.protocol_name
    }

    /// Parses one line of `/proc/net/ip_vs_conn` (not the header).
    pub fn parse_line(line: &str) -> Result<Connection, String> {
        let mut w = line.split_ascii_whitespace();
        let mut next = |what: &str| w.next().ok_or_else(|| format!("no {what}"));
        let proto = next("protocol")?.to_owned();
        let client = endpoint(next("client address")?, next("client port")?)?;
        let virt = endpoint(next("virtual address")?, next("virtual port")?)?;
        let dest = endpoint(next("destination address")?, next("destination port")?)?;
        let state = next("state")?.to_owned();
        let expires = next("expiry")?;
        let expires: u64 = expires
            .parse()
            .map_err(|_| format!("expiry {expires:?} is not a number"))?;
        let persistence = match (w.next(), w.next()) {
            (None, _) => None,
            (Some(pe), data) => Some((pe.to_owned(), data.unwrap_or("").to_owned())),
        };
        let protocol = match proto.as_str() {
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            "SCTP" => Protocol::Sctp,
            "ICMP" => Protocol::from(1u16),
            "ICMPv6" => Protocol::from(58u16),
            "AH" => Protocol::from(51u16),
            "ESP" => Protocol::from(50u16),
            other => other
                .strip_prefix("IP_")
                .and_then(|n| n.parse::<u16>().ok())
                .map(Protocol::from)
                .unwrap_or(Protocol::from(0u16)),
        };
        Ok(Connection {
            protocol,
            client,
            virtual_addr: virt,
            destination: dest,
            state,
            expires,
            persistence,
            protocol_name: proto,
        })
    }
}

/// An address as the kernel writes it (8 hex digits for IPv4, `%pI6` for
/// IPv6) and a port in 4 hex digits.
fn endpoint(addr: &str, port: &str) -> Result<SocketAddr, String> {
    let ip = if addr.contains(':') {
        IpAddr::V6(
            addr.parse::<Ipv6Addr>()
                .map_err(|_| format!("address {addr:?} is not IPv6"))?,
        )
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(addr, 16).map_err(|_| format!("address {addr:?} is not hex"))?,
        ))
    } else {
        return Err(format!("address {addr:?} is neither 8 hex digits nor IPv6"));
    };
    if port.len() != 4 {
        return Err(format!("port {port:?} is not 4 hex digits"));
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| format!("port {port:?} is not hex"))?;
    Ok(SocketAddr::new(ip, port))
}

/// A streaming reader of the connection table: an iterator of
/// [`Connection`]s, one line held at a time.
pub struct Connections<R = BufReader<File>> {
    input: R,
    line: usize,
    buf: String,
}

impl Connections {
    /// The table of the calling thread's network namespace.
    pub fn open() -> Result<Self, ConnError> {
        Ok(Connections::new(BufReader::with_capacity(
            64 * 1024,
            File::open(CONN_FILE)?,
        )))
    }

    /// The table of the network namespace at `path` (e.g.
    /// `/run/netns/NAME`); the calling thread stays where it is (a helper
    /// thread opens the file, which stays bound to that namespace).
    pub fn open_in_netns_path(path: impl AsRef<Path>) -> Result<Self, ConnError> {
        let file = in_netns_path(path.as_ref(), || {
            File::open(CONN_FILE).map_err(crate::Error::Io)
        })?;
        Ok(Connections::new(BufReader::with_capacity(64 * 1024, file)))
    }

    /// Like [`Connections::open_in_netns_path`], with an open namespace file.
    pub fn open_in_netns_fd(netns: BorrowedFd<'_>) -> Result<Self, ConnError> {
        let file = in_netns(netns.as_fd(), || {
            File::open(CONN_FILE).map_err(crate::Error::Io)
        })?;
        Ok(Connections::new(BufReader::with_capacity(64 * 1024, file)))
    }
}

impl<R: BufRead> Connections<R> {
    /// Reads the table's text from `input` (header line first).
    pub fn new(input: R) -> Self {
        Connections {
            input,
            line: 0,
            buf: String::new(),
        }
    }
}

impl<R: BufRead> Iterator for Connections<R> {
    type Item = Result<Connection, ConnError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(ConnError::Io(e))),
            }
            self.line += 1;
            let text = self.buf.trim_end_matches('\n');
            if text.trim().is_empty() || (self.line == 1 && text.starts_with("Pro ")) {
                continue;
            }
            return Some(
                Connection::parse_line(text).map_err(|message| ConnError::Parse {
                    line: self.line,
                    message,
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000002 D431 0A000001 0050 0A000101 1F90 ESTABLISHED     899
UDP 2001:0db8:0000:0000:0000:0000:0000:0002 A0B1 2001:0db8:0000:0000:0000:0000:0000:0001 0035 0A000101 0035 UDP             299
UDP 0A000002 13C4 0A000001 13C4 0A000101 13C4 NONE            179 sip 1234@host
";

    #[test]
    fn reads_v4_v6_and_pe_data() {
        let got: Vec<Connection> = Connections::new(SAMPLE.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].protocol, Protocol::Tcp);
        assert_eq!(got[0].client, "10.0.0.2:54321".parse().unwrap());
        assert_eq!(got[0].virtual_addr, "10.0.0.1:80".parse().unwrap());
        assert_eq!(got[0].destination, "10.0.1.1:8080".parse().unwrap());
        assert_eq!(
            (got[0].state.as_str(), got[0].expires),
            ("ESTABLISHED", 899)
        );
        assert_eq!(got[1].client, "[2001:db8::2]:41137".parse().unwrap());
        assert_eq!(got[1].destination, "10.0.1.1:53".parse().unwrap());
        assert_eq!(
            got[2].persistence,
            Some(("sip".to_owned(), "1234@host".to_owned()))
        );
    }

    /// A table of a million connections, generated as it is read: the
    /// reader holds one line at a time.
    struct Million {
        next: usize,
        line: Vec<u8>,
        pos: usize,
    }

    impl io::Read for Million {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos == self.line.len() {
                if self.next == 1_000_001 {
                    return Ok(0);
                }
                self.line = if self.next == 0 {
                    b"Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
                        .to_vec()
                } else {
                    format!(
                        "TCP {:08X} {:04X} 0A000001 0050 0A000101 1F90 ESTABLISHED     899\n",
                        0x0B00_0000 + self.next,
                        self.next % 65536
                    )
                    .into_bytes()
                };
                self.next += 1;
                self.pos = 0;
            }
            let n = buf.len().min(self.line.len() - self.pos);
            buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn a_million_connections_stream() {
        let input = BufReader::new(Million {
            next: 0,
            line: Vec::new(),
            pos: 0,
        });
        let mut n = 0;
        let mut last = None;
        for c in Connections::new(input) {
            let c = c.unwrap();
            n += 1;
            last = Some(c.client);
        }
        assert_eq!(n, 1_000_000);
        assert_eq!(last, Some("11.15.66.64:16960".parse().unwrap()));
    }

    #[test]
    fn bad_lines_are_errors_with_their_number_never_panics() {
        let text = "Pro header\nTCP 0A000002 D431\nTCP zz 0050 0A000001 0050 0A000101 1F90 X 1\n";
        let got: Vec<_> = Connections::new(text.as_bytes()).collect();
        assert!(matches!(got[0], Err(ConnError::Parse { line: 2, .. })));
        assert!(matches!(got[1], Err(ConnError::Parse { line: 3, .. })));
        let mut rng = crate::test_rng::Rng(7);
        let line = SAMPLE.lines().nth(2).unwrap().as_bytes();
        for _ in 0..5000 {
            let mut b = line.to_vec();
            let i = rng.below(b.len());
            b[i] = rng.below(128) as u8;
            b.truncate(rng.below(b.len() + 1));
            let _ = Connection::parse_line(&String::from_utf8_lossy(&b));
        }
    }
}
