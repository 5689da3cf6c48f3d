//! Virtual services.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use bitflags::bitflags;

use super::consts::*;
use super::scheduler::Scheduler;
use super::stats::Stats;
use super::{RawAttribute, Unnamed};
use crate::error::{Error, Result};
use crate::netlink::attr::{AttrWriter, walk};

/// An address family of IPVS: IPv4 or IPv6.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    /// `AF_INET`.
    Ipv4,
    /// `AF_INET6`.
    Ipv6,
}

impl AddressFamily {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Ipv4,
            IpAddr::V6(_) => AddressFamily::Ipv6,
        }
    }

    pub(crate) fn to_raw(self) -> u16 {
        match self {
            AddressFamily::Ipv4 => libc::AF_INET as u16,
            AddressFamily::Ipv6 => libc::AF_INET6 as u16,
        }
    }

    pub(crate) fn from_raw(raw: u16) -> Result<Self> {
        match i32::from(raw) {
            libc::AF_INET => Ok(AddressFamily::Ipv4),
            libc::AF_INET6 => Ok(AddressFamily::Ipv6),
            _ => Err(Error::Decode(format!("unknown address family {raw}"))),
        }
    }
}

/// A transport protocol of a virtual service (`IPVS_SVC_ATTR_PROTOCOL`).
///
/// `Protocol::from(number)` normalises: `Protocol::from(6)` is
/// [`Protocol::Tcp`], and [`Protocol::Other`] only ever holds a number
/// without a variant. Display and `FromStr` use ipvsadm's spellings
/// (`TCP`, `UDP`, `SCTP`; any case when parsing) and `proto-N` for others.
///
/// ```
/// use lvs::Protocol;
/// assert_eq!(Protocol::from(6), Protocol::Tcp);
/// assert_eq!("udp".parse::<Protocol>().unwrap(), Protocol::Udp);
/// assert_eq!(u16::from(Protocol::from(50)), 50);
/// assert_eq!(Protocol::from(50).to_string(), "proto-50");
/// ```
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "String", try_from = "String")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (`IPPROTO_TCP`).
    Tcp,
    /// UDP (`IPPROTO_UDP`).
    Udp,
    /// SCTP (`IPPROTO_SCTP`, Linux 2.6.34).
    Sctp,
    /// Any other IP protocol number (made by `Protocol::from`); the kernel
    /// stores any number sent over netlink.
    Other(Unnamed<u16>),
}

impl Protocol {
    pub(crate) fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Other(p) => p.0,
        }
    }

    pub(crate) fn from_raw(raw: u16) -> Self {
        match i32::from(raw) {
            libc::IPPROTO_TCP => Protocol::Tcp,
            libc::IPPROTO_UDP => Protocol::Udp,
            libc::IPPROTO_SCTP => Protocol::Sctp,
            _ => Protocol::Other(Unnamed(raw)),
        }
    }
}

raw_form!(Protocol, u16);

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(p) => write!(f, "proto-{p}"),
        }
    }
}

string_form!(Protocol);

impl FromStr for Protocol {
    type Err = Error;
    /// `TCP`, `UDP`, `SCTP` (any case), or `proto-N` / a bare number.
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("tcp") {
            return Ok(Protocol::Tcp);
        }
        if s.eq_ignore_ascii_case("udp") {
            return Ok(Protocol::Udp);
        }
        if s.eq_ignore_ascii_case("sctp") {
            return Ok(Protocol::Sctp);
        }
        let number = s.strip_prefix("proto-").unwrap_or(s);
        number.parse::<u16>().map(Protocol::from).map_err(|_| {
            Error::invalid(
                "protocol",
                format!("{s:?} is not TCP, UDP, SCTP or proto-NUMBER"),
            )
        })
    }
}

/// What identifies a virtual service to the kernel: a protocol with an
/// address and port, or a firewall mark of an address family.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceId {
    /// A service on `addr` (address and port; port 0 is "any port") for
    /// `protocol` (`IPVS_SVC_ATTR_PROTOCOL`, `_ADDR`, `_PORT`).
    Inet {
        /// The transport protocol.
        protocol: Protocol,
        /// The virtual address and port.
        addr: SocketAddr,
    },
    /// A service for packets carrying firewall mark `mark`
    /// (`IPVS_SVC_ATTR_FWMARK`); the same mark can exist once per family.
    Fwmark {
        /// The firewall mark (non-zero).
        mark: u32,
        /// The address family of the packets it takes.
        family: AddressFamily,
    },
}

impl ServiceId {
    /// A TCP service.
    pub fn tcp(addr: SocketAddr) -> Self {
        ServiceId::Inet {
            protocol: Protocol::Tcp,
            addr,
        }
    }
    /// A UDP service.
    pub fn udp(addr: SocketAddr) -> Self {
        ServiceId::Inet {
            protocol: Protocol::Udp,
            addr,
        }
    }
    /// An SCTP service.
    pub fn sctp(addr: SocketAddr) -> Self {
        ServiceId::Inet {
            protocol: Protocol::Sctp,
            addr,
        }
    }
    /// An IPv4 firewall-mark service.
    pub fn fwmark(mark: u32) -> Self {
        ServiceId::Fwmark {
            mark,
            family: AddressFamily::Ipv4,
        }
    }
    /// An IPv6 firewall-mark service.
    pub fn fwmark_v6(mark: u32) -> Self {
        ServiceId::Fwmark {
            mark,
            family: AddressFamily::Ipv6,
        }
    }

    /// The service's address family.
    pub fn family(&self) -> AddressFamily {
        match self {
            ServiceId::Inet { addr, .. } => AddressFamily::of(&addr.ip()),
            ServiceId::Fwmark { family, .. } => *family,
        }
    }

    /// Encodes the identity: AF, then FWMARK or PROTOCOL, ADDR, PORT.
    pub(crate) fn emit(&self, w: &mut AttrWriter<'_>) {
        w.u16(IPVS_SVC_ATTR_AF, self.family().to_raw());
        match self {
            ServiceId::Fwmark { mark, .. } => {
                w.u32(IPVS_SVC_ATTR_FWMARK, *mark);
            }
            ServiceId::Inet { protocol, addr } => {
                w.u16(IPVS_SVC_ATTR_PROTOCOL, protocol.to_raw())
                    .bytes(IPVS_SVC_ATTR_ADDR, &addr_bytes(&addr.ip()))
                    .be16(IPVS_SVC_ATTR_PORT, addr.port());
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let ServiceId::Fwmark { mark: 0, .. } = self {
            return Err(Error::invalid(
                "service.id",
                "firewall mark 0 means no mark",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceId::Inet { protocol, addr } => write!(f, "{protocol} {addr}"),
            ServiceId::Fwmark {
                mark,
                family: AddressFamily::Ipv4,
            } => write!(f, "FWM {mark}"),
            ServiceId::Fwmark {
                mark,
                family: AddressFamily::Ipv6,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

impl FromStr for ServiceId {
    type Err = Error;
    /// What [`Display`](fmt::Display) writes: `TCP 10.0.0.1:80`,
    /// `UDP [2001:db8::1]:53`, `SCTP …`, `proto-N …`, `FWM 7`,
    /// `FWM 7 IPv6`. Words are separated by any whitespace; protocol
    /// names and `FWM`/`IPv6` are matched in any case.
    ///
    /// ```
    /// use lvs::ServiceId;
    /// let id: ServiceId = "TCP 10.96.0.10:8080".parse().unwrap();
    /// assert_eq!(id, ServiceId::tcp("10.96.0.10:8080".parse().unwrap()));
    /// assert_eq!("FWM 7 IPv6".parse::<ServiceId>().unwrap(), ServiceId::fwmark_v6(7));
    /// assert_eq!(id.to_string().parse::<ServiceId>().unwrap(), id);
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("service.id", format!("{s:?}: {why}"));
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            [fwm, mark, rest @ ..] if fwm.eq_ignore_ascii_case("fwm") => {
                let mark: u32 = mark
                    .parse()
                    .map_err(|_| bad("the firewall mark is not a number"))?;
                let family = match rest {
                    [] => AddressFamily::Ipv4,
                    [v6] if v6.eq_ignore_ascii_case("ipv6") => AddressFamily::Ipv6,
                    _ => return Err(bad("expected `FWM MARK` or `FWM MARK IPv6`")),
                };
                Ok(ServiceId::Fwmark { mark, family })
            }
            [protocol, addr] => Ok(ServiceId::Inet {
                protocol: protocol.parse()?,
                addr: addr
                    .parse()
                    .map_err(|_| bad("not an ADDRESS:PORT ([ADDRESS]:PORT for IPv6)"))?,
            }),
            _ => Err(bad(
                "expected `PROTOCOL ADDRESS:PORT`, `FWM MARK` or `FWM MARK IPv6`",
            )),
        }
    }
}

/// An address as the kernel's 16-byte `union nf_inet_addr` (IPv4 in the
/// first 4 bytes), as ipvsadm sends it.
pub(crate) fn addr_bytes(ip: &IpAddr) -> [u8; 16] {
    let mut raw = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => raw[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => raw.copy_from_slice(&v6.octets()),
    }
    raw
}

/// Reads an address of `family` at its exact length: an IPv4 address is 4
/// bytes, or 16 (the kernel's `union nf_inet_addr`, IPv4 in the first 4);
/// an IPv6 address is 16. Any other length is an error.
pub(crate) fn parse_addr(
    value: &[u8],
    family: AddressFamily,
    what: &'static str,
) -> Result<IpAddr> {
    match (family, value.len()) {
        (AddressFamily::Ipv4, 4 | 16) => <[u8; 4]>::try_from(&value[..4])
            .ok()
            .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        (AddressFamily::Ipv6, 16) => <[u8; 16]>::try_from(value)
            .ok()
            .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        _ => None,
    }
    .ok_or_else(|| {
        Error::Decode(format!(
            "{what}: {} bytes is no {family:?} address",
            value.len()
        ))
    })
}

bitflags! {
    /// Service flags (`IPVS_SVC_ATTR_FLAGS`, `IP_VS_SVC_F_*`).
    ///
    /// The kernel's internal `IP_VS_SVC_F_HASHED` (0x2) is never part of a
    /// service read back: the kernel sets it on every service in its table,
    /// and it is dropped when a service is read. Writing it is refused
    /// ([`Service::validate`]), since the kernel would silently drop it.
    /// Bits this version does not name are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    pub struct ServiceFlags: u32 {
        /// `IP_VS_SVC_F_PERSISTENT`: persistent service (session affinity).
        const PERSISTENT = IP_VS_SVC_F_PERSISTENT;
        /// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling (UDP, fwmark).
        const ONE_PACKET = IP_VS_SVC_F_ONEPACKET;
        /// `IP_VS_SVC_F_SCHED1`: scheduler flag 1 (ipvsadm `flag-1`).
        const SCHED1 = IP_VS_SVC_F_SCHED1;
        /// `IP_VS_SVC_F_SCHED2`: scheduler flag 2 (ipvsadm `flag-2`).
        const SCHED2 = IP_VS_SVC_F_SCHED2;
        /// `IP_VS_SVC_F_SCHED3`: scheduler flag 3 (ipvsadm `flag-3`).
        const SCHED3 = IP_VS_SVC_F_SCHED3;
        /// `sh` scheduler: fall back to another destination when the hashed
        /// one is unavailable (`IP_VS_SVC_F_SCHED_SH_FALLBACK` = SCHED1).
        const SH_FALLBACK = IP_VS_SVC_F_SCHED1;
        /// `sh` scheduler: hash the source port too
        /// (`IP_VS_SVC_F_SCHED_SH_PORT` = SCHED2).
        const SH_PORT = IP_VS_SVC_F_SCHED2;
        /// `mh` scheduler: fall back (`IP_VS_SVC_F_SCHED_MH_FALLBACK` = SCHED1).
        const MH_FALLBACK = IP_VS_SVC_F_SCHED1;
        /// `mh` scheduler: hash the source port too
        /// (`IP_VS_SVC_F_SCHED_MH_PORT` = SCHED2).
        const MH_PORT = IP_VS_SVC_F_SCHED2;
        const _ = !0;
    }
}

/// The persistence granularity of a service (`IPVS_SVC_ATTR_NETMASK`):
/// clients whose addresses agree under it share a persistent destination.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// An IPv4 mask, e.g. `255.255.255.0` (sent as the mask's bytes).
    Ipv4(Ipv4Addr),
    /// An IPv6 prefix length, 1 to 128 (sent as a host-order number).
    Ipv6(u8),
}

impl Netmask {
    /// The default of a family: a single host (`/32` or `/128`).
    pub fn host(family: AddressFamily) -> Self {
        match family {
            AddressFamily::Ipv4 => Netmask::Ipv4(Ipv4Addr::BROADCAST),
            AddressFamily::Ipv6 => Netmask::Ipv6(128),
        }
    }

    /// A prefix of `len` bits in `family` (`len` up to 32 for IPv4, 1 to 128
    /// for IPv6).
    pub fn prefix(family: AddressFamily, len: u8) -> Result<Self> {
        match family {
            AddressFamily::Ipv4 if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                Ok(Netmask::Ipv4(Ipv4Addr::from(mask)))
            }
            AddressFamily::Ipv6 if (1..=128).contains(&len) => Ok(Netmask::Ipv6(len)),
            _ => Err(Error::invalid(
                "service.netmask",
                format!("prefix /{len} is out of range for {family:?}"),
            )),
        }
    }

    fn family(&self) -> AddressFamily {
        match self {
            Netmask::Ipv4(_) => AddressFamily::Ipv4,
            Netmask::Ipv6(_) => AddressFamily::Ipv6,
        }
    }

    fn to_bytes(self) -> [u8; 4] {
        match self {
            Netmask::Ipv4(mask) => mask.octets(),
            Netmask::Ipv6(len) => u32::from(len).to_ne_bytes(),
        }
    }

    fn from_bytes(value: &[u8], family: AddressFamily) -> Result<Self> {
        let raw = <[u8; 4]>::try_from(value)
            .map_err(|_| Error::Decode(format!("service netmask of {} bytes", value.len())))?;
        Ok(match family {
            AddressFamily::Ipv4 => Netmask::Ipv4(Ipv4Addr::from(raw)),
            // The kernel checks 1..=128 on input, so the value fits a u8.
            AddressFamily::Ipv6 => Netmask::Ipv6(u32::from_ne_bytes(raw).min(255) as u8),
        })
    }
}

/// A virtual service: what it listens on and how it schedules.
///
/// Build one with [`Service::new`] and the `with_*` methods:
///
/// ```
/// use lvs::{Scheduler, Service, ServiceId};
/// let svc = Service::new(ServiceId::tcp("10.96.0.10:8080".parse().unwrap()))
///     .with_scheduler(Scheduler::RoundRobin)
///     .with_persistence(10800);
/// assert_eq!(svc.persistence_timeout, 10800);
/// ```
///
/// Every `with_*` method sets its field (replacing what was there) and
/// returns the service; [`Service::with_persistence`] sets the
/// persistence timeout and adds the `PERSISTENT` flag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Service {
    /// What identifies the service.
    pub id: ServiceId,
    /// Its scheduler (`IPVS_SVC_ATTR_SCHED_NAME`).
    pub scheduler: Scheduler,
    /// Its flags (`IPVS_SVC_ATTR_FLAGS`), persistence among them.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (`IPVS_SVC_ATTR_TIMEOUT`): how long a
    /// client stays with its destination after its last connection, while
    /// the service is persistent. The kernel keeps it even while the
    /// service is not persistent. (Not the connection timeouts, which are
    /// [`ConnectionTimeouts`](crate::ConnectionTimeouts).)
    pub persistence_timeout: u32,
    /// Persistence granularity (`IPVS_SVC_ATTR_NETMASK`).
    pub netmask: Netmask,
    /// Persistence engine, e.g. `"sip"` (`IPVS_SVC_ATTR_PE_NAME`).
    pub persistence_engine: Option<String>,
}

/// The largest persistence timeout accepted: the kernel multiplies it by
/// `HZ` (up to 1000) into 32 bits.
pub const MAX_PERSISTENCE_TIMEOUT: u32 = u32::MAX / 1000;

impl Service {
    /// A service with the kernel's defaults: `wlc`, no flags, no timeout,
    /// a single-host netmask, no persistence engine.
    pub fn new(id: ServiceId) -> Self {
        Service {
            id,
            scheduler: Scheduler::default(),
            flags: ServiceFlags::empty(),
            persistence_timeout: 0,
            netmask: Netmask::host(id.family()),
            persistence_engine: None,
        }
    }

    /// Sets the scheduler.
    #[must_use]
    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// Makes the service persistent for `timeout` seconds (ClientIP session
    /// affinity; ipvsadm `-p`): sets the persistence timeout and adds
    /// [`ServiceFlags::PERSISTENT`] to the flags.
    #[must_use]
    pub fn with_persistence(mut self, timeout: u32) -> Self {
        self.flags |= ServiceFlags::PERSISTENT;
        self.persistence_timeout = timeout;
        self
    }

    /// Sets the flags, replacing every flag set before (persistence
    /// included: call [`Service::with_persistence`] after this one).
    #[must_use]
    pub fn with_flags(mut self, flags: ServiceFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Sets the persistence netmask.
    #[must_use]
    pub fn with_netmask(mut self, netmask: Netmask) -> Self {
        self.netmask = netmask;
        self
    }

    /// Sets the persistence engine (`"sip"` is the only one in the kernel).
    #[must_use]
    pub fn with_persistence_engine(mut self, name: impl Into<String>) -> Self {
        self.persistence_engine = Some(name.into());
        self
    }

    /// Checks, before anything is sent, what the kernel would reject
    /// obscurely or silently change. The error names the field.
    pub fn validate(&self) -> Result<()> {
        self.id.validate()?;
        self.scheduler.validate()?;
        if let Some(pe) = &self.persistence_engine
            && (pe.is_empty() || pe.len() > IP_VS_PENAME_MAXLEN || pe.contains('\0'))
        {
            return Err(Error::invalid(
                "service.persistence_engine",
                format!("{pe:?} must be 1 to {IP_VS_PENAME_MAXLEN} bytes without NUL"),
            ));
        }
        if self.netmask.family() != self.id.family() {
            return Err(Error::invalid(
                "service.netmask",
                format!(
                    "{:?} netmask on an {:?} service",
                    self.netmask.family(),
                    self.id.family()
                ),
            ));
        }
        if let Netmask::Ipv6(len) = self.netmask
            && !(1..=128).contains(&len)
        {
            return Err(Error::invalid(
                "service.netmask",
                format!("IPv6 prefix /{len} is outside 1..=128"),
            ));
        }
        if self.persistence_timeout > MAX_PERSISTENCE_TIMEOUT {
            return Err(Error::invalid(
                "service.persistence_timeout",
                format!(
                    "{} s overflows the kernel's timer (max {MAX_PERSISTENCE_TIMEOUT})",
                    self.persistence_timeout
                ),
            ));
        }
        if self.flags.bits() & IP_VS_SVC_F_HASHED != 0 {
            return Err(Error::invalid(
                "service.flags",
                "0x2 is the kernel's internal IP_VS_SVC_F_HASHED, which it drops when written",
            ));
        }
        Ok(())
    }

    /// Encodes the whole service, in ipvsadm's order: identity,
    /// SCHED_NAME, [PE_NAME], FLAGS, TIMEOUT, NETMASK.
    pub(crate) fn emit(&self, w: &mut AttrWriter<'_>) {
        self.id.emit(w);
        w.cstr(IPVS_SVC_ATTR_SCHED_NAME, self.scheduler.name());
        if let Some(pe) = &self.persistence_engine {
            w.cstr(IPVS_SVC_ATTR_PE_NAME, pe);
        }
        // struct ip_vs_flags { flags; mask }: a full mask sets every bit.
        let (flags, mask) = (self.flags.bits().to_ne_bytes(), u32::MAX.to_ne_bytes());
        w.put_parts(IPVS_SVC_ATTR_FLAGS, &[&flags, &mask])
            .u32(IPVS_SVC_ATTR_TIMEOUT, self.persistence_timeout)
            .bytes(IPVS_SVC_ATTR_NETMASK, &self.netmask.to_bytes());
    }
}

/// A service as the kernel reports it: its settings, its counters, and
/// any attribute this version of the crate does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ServiceEntry {
    /// The settings; equal to what was written.
    pub service: Service,
    /// Counters and rates.
    pub stats: Stats,
    /// Attributes of the service nest that this crate does not know, kept
    /// as sent.
    pub unknown: Vec<RawAttribute>,
}

impl ServiceEntry {
    /// Parses the content of an `IPVS_CMD_ATTR_SERVICE` nest.
    pub(crate) fn parse(buf: &[u8]) -> Result<Self> {
        let mut af = None;
        let mut protocol = None;
        let mut addr = None;
        let mut port = None;
        let mut fwmark = None;
        let mut scheduler = None;
        let mut flags = 0u32;
        let mut timeout = 0u32;
        let mut netmask = None;
        let mut pe = None;
        let mut stats32 = None;
        let mut stats64 = None;
        let mut unknown = Vec::new();
        for nla in walk(buf, "service") {
            let nla = nla?;
            match nla.kind {
                IPVS_SVC_ATTR_AF => af = Some(AddressFamily::from_raw(nla.u16("service.af")?)?),
                IPVS_SVC_ATTR_PROTOCOL => protocol = Some(nla.u16("service.protocol")?),
                IPVS_SVC_ATTR_ADDR => addr = Some(nla.value),
                IPVS_SVC_ATTR_PORT => port = Some(nla.be16("service.port")?),
                IPVS_SVC_ATTR_FWMARK => fwmark = Some(nla.u32("service.fwmark")?),
                IPVS_SVC_ATTR_SCHED_NAME => scheduler = Some(Scheduler::from(nla.string())),
                IPVS_SVC_ATTR_FLAGS => flags = nla.flags_and_mask("service.flags")?.0,
                IPVS_SVC_ATTR_TIMEOUT => timeout = nla.u32("service.timeout")?,
                IPVS_SVC_ATTR_NETMASK => netmask = Some(nla.value),
                IPVS_SVC_ATTR_PE_NAME => pe = Some(nla.string()),
                IPVS_SVC_ATTR_STATS => stats32 = Some(nla.value),
                IPVS_SVC_ATTR_STATS64 => stats64 = Some(nla.value),
                _ => unknown.push(RawAttribute {
                    raw_kind: nla.raw_kind,
                    value: nla.value.to_vec(),
                }),
            }
        }
        let family = af.ok_or_else(|| Error::Decode("service without address family".into()))?;
        let id = match (fwmark, protocol, addr, port) {
            (Some(mark), ..) if mark != 0 => ServiceId::Fwmark { mark, family },
            (_, Some(protocol), Some(addr), Some(port)) => ServiceId::Inet {
                protocol: Protocol::from_raw(protocol),
                addr: SocketAddr::new(parse_addr(addr, family, "service.addr")?, port),
            },
            _ => {
                return Err(Error::Decode(
                    "service without fwmark or protocol/address/port".into(),
                ));
            }
        };
        let netmask = match netmask {
            Some(raw) => Netmask::from_bytes(raw, family)?,
            None => Netmask::host(family),
        };
        let stats = Stats::from_nests(stats64, stats32)?;
        // The kernel always names the scheduler (ip_vs_genl_fill_service).
        let scheduler =
            scheduler.ok_or_else(|| Error::Decode("service without a scheduler name".into()))?;
        Ok(ServiceEntry {
            service: Service {
                id,
                scheduler,
                flags: ServiceFlags::from_bits_retain(flags & !IP_VS_SVC_F_HASHED),
                persistence_timeout: timeout,
                netmask,
                persistence_engine: pe,
            },
            stats,
            unknown,
        })
    }
}
