//! Destinations (real servers) of a virtual service.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use bitflags::bitflags;

use super::consts::*;
use super::service::{AddressFamily, addr_bytes, parse_addr};
use super::stats::Stats;
use super::{RawAttribute, Unnamed};
use crate::error::{Error, Result};
use crate::netlink::attr::{AttrWriter, walk};

/// The tunnel encapsulation of a tunnelling destination
/// (`IPVS_DEST_ATTR_TUN_TYPE`, Linux 5.2). `TunnelType::from(number)`
/// normalises; [`TunnelType::Other`] only holds numbers without a variant.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "String", try_from = "String")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TunnelType {
    /// IP-in-IP (`IP_VS_CONN_F_TUNNEL_TYPE_IPIP`), the default.
    #[default]
    Ipip,
    /// Generic UDP encapsulation (`_GUE`, Linux 5.2); needs a port.
    Gue,
    /// GRE (`_GRE`, Linux 5.3).
    Gre,
    /// A type this version does not know, as the kernel reported it.
    Other(Unnamed<u8>),
}

impl TunnelType {
    fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Other(v) => v.0,
        }
    }

    fn from_raw(raw: u8) -> Self {
        match raw {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            other => TunnelType::Other(Unnamed(other)),
        }
    }

    /// ipvsadm's name (`ipip`, `gue`, `gre`), or `type-N`.
    fn name(self) -> String {
        match self {
            TunnelType::Ipip => "ipip".into(),
            TunnelType::Gue => "gue".into(),
            TunnelType::Gre => "gre".into(),
            TunnelType::Other(v) => format!("type-{v}"),
        }
    }
}

raw_form!(TunnelType, u8);

impl fmt::Display for TunnelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

string_form!(TunnelType);

impl FromStr for TunnelType {
    type Err = Error;
    /// `ipip`, `gue`, `gre` (ipvsadm's `--tun-type` words, any case) or
    /// `type-N`.
    fn from_str(s: &str) -> Result<Self> {
        for t in [TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre] {
            if s.eq_ignore_ascii_case(&t.name()) {
                return Ok(t);
            }
        }
        s.strip_prefix("type-")
            .and_then(|n| n.parse::<u8>().ok())
            .map(TunnelType::from)
            .ok_or_else(|| {
                Error::invalid(
                    "destination.tunnel.kind",
                    format!("{s:?} is not ipip, gue, gre or type-N"),
                )
            })
    }
}

bitflags! {
    /// Tunnel encapsulation flags (`IPVS_DEST_ATTR_TUN_FLAGS`, Linux 5.3).
    /// No flag is `IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
    pub struct TunnelFlags: u16 {
        /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`: checksum the outer header (GUE, GRE).
        const CSUM = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
        /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`: remote checksum offload (GUE).
        const REMCSUM = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
        const _ = !0;
    }
}

/// Tunnel settings of a tunnelling destination.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunnel {
    /// The encapsulation.
    pub kind: TunnelType,
    /// The UDP port of a GUE tunnel (`IPVS_DEST_ATTR_TUN_PORT`); 0 otherwise.
    pub port: u16,
    /// Encapsulation flags.
    pub flags: TunnelFlags,
}

impl Tunnel {
    /// Plain IP-in-IP.
    pub fn ipip() -> Self {
        Tunnel::default()
    }
    /// GUE to UDP `port`.
    pub fn gue(port: u16) -> Self {
        Tunnel {
            kind: TunnelType::Gue,
            port,
            flags: TunnelFlags::empty(),
        }
    }
    /// GRE.
    pub fn gre() -> Self {
        Tunnel {
            kind: TunnelType::Gre,
            port: 0,
            flags: TunnelFlags::empty(),
        }
    }
    /// Sets the flags.
    #[must_use]
    pub fn with_flags(mut self, flags: TunnelFlags) -> Self {
        self.flags = flags;
        self
    }
}

/// How packets reach a destination (`IPVS_DEST_ATTR_FWD_METHOD`).
///
/// The kernel keeps 3 bits of the method. `Forwarding::try_from(number)`
/// normalises (2 is a tunnel, IP-in-IP by default) and refuses numbers
/// above 7; [`Forwarding::Other`] only holds 4 to 7.
///
/// Display and `FromStr` use ipvsadm's listing words — `Masq`, `Local`,
/// `Route`, `Tunnel` — and for a tunnel with settings
/// `Tunnel(gue port 6080 csum remcsum)`; `method-N` for others.
///
/// ```
/// use lvs::{Forwarding, Tunnel, TunnelFlags};
/// assert_eq!(Forwarding::try_from(3).unwrap(), Forwarding::DirectRouting);
/// let gue = Forwarding::Tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM));
/// assert_eq!(gue.to_string(), "Tunnel(gue port 6080 csum)");
/// assert_eq!(gue.to_string().parse::<Forwarding>().unwrap(), gue);
/// assert_eq!("Masq".parse::<Forwarding>().unwrap(), Forwarding::Masquerade);
/// ```
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "String", try_from = "String")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Forwarding {
    /// NAT (`IP_VS_CONN_F_MASQ`; ipvsadm `-m`).
    Masquerade,
    /// Deliver locally (`IP_VS_CONN_F_LOCALNODE`; ipvsadm shows "Local").
    Local,
    /// Encapsulate to the destination (`IP_VS_CONN_F_TUNNEL`; ipvsadm `-i`).
    Tunnel(Tunnel),
    /// Direct routing (`IP_VS_CONN_F_DROUTE`; ipvsadm `-g`).
    DirectRouting,
    /// Another method number, 4 to 7 (made by `Forwarding::try_from`).
    Other(Unnamed<u32>),
}

impl Forwarding {
    fn to_raw(self) -> u32 {
        match self {
            Forwarding::Masquerade => IP_VS_CONN_F_MASQ,
            Forwarding::Local => IP_VS_CONN_F_LOCALNODE,
            Forwarding::Tunnel(_) => IP_VS_CONN_F_TUNNEL,
            Forwarding::DirectRouting => IP_VS_CONN_F_DROUTE,
            Forwarding::Other(v) => v.0,
        }
    }

    /// The method of a kernel value (its 3 low bits) and tunnel settings.
    fn from_raw(raw: u32, tunnel: Tunnel) -> Self {
        match raw & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => Forwarding::Masquerade,
            IP_VS_CONN_F_LOCALNODE => Forwarding::Local,
            IP_VS_CONN_F_DROUTE => Forwarding::DirectRouting,
            IP_VS_CONN_F_TUNNEL => Forwarding::Tunnel(tunnel),
            other => Forwarding::Other(Unnamed(other)),
        }
    }

    fn tunnel(&self) -> Tunnel {
        match self {
            Forwarding::Tunnel(t) => *t,
            _ => Tunnel::default(),
        }
    }
}

impl TryFrom<u32> for Forwarding {
    type Error = Error;
    /// A method number, 0 to 7 (a tunnel gets IP-in-IP settings).
    fn try_from(raw: u32) -> Result<Self> {
        if raw > IP_VS_CONN_F_FWD_MASK {
            return Err(Error::invalid(
                "destination.forwarding",
                format!("method {raw} does not fit the kernel's 3 bits"),
            ));
        }
        Ok(Forwarding::from_raw(raw, Tunnel::default()))
    }
}

impl From<Forwarding> for u32 {
    fn from(f: Forwarding) -> u32 {
        f.to_raw()
    }
}

impl fmt::Display for Forwarding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forwarding::Masquerade => f.write_str("Masq"),
            Forwarding::Local => f.write_str("Local"),
            Forwarding::DirectRouting => f.write_str("Route"),
            Forwarding::Tunnel(t) if *t == Tunnel::default() => f.write_str("Tunnel"),
            Forwarding::Tunnel(t) => {
                write!(f, "Tunnel({}", t.kind)?;
                if t.port != 0 {
                    write!(f, " port {}", t.port)?;
                }
                if t.flags.contains(TunnelFlags::CSUM) {
                    f.write_str(" csum")?;
                }
                if t.flags.contains(TunnelFlags::REMCSUM) {
                    f.write_str(" remcsum")?;
                }
                let other = t.flags - TunnelFlags::CSUM - TunnelFlags::REMCSUM;
                if !other.is_empty() {
                    write!(f, " flags {:#x}", other.bits())?;
                }
                f.write_str(")")
            }
            Forwarding::Other(v) => write!(f, "method-{v}"),
        }
    }
}

string_form!(Forwarding);

impl FromStr for Forwarding {
    type Err = Error;
    /// What Display writes (any case), plus ipvsadm's option words
    /// `masquerading`, `gatewaying`, `ipip`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "destination.forwarding",
                format!("{s:?} is not Masq, Local, Route, Tunnel[(...)] or method-N"),
            )
        };
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "masq" | "masquerading" => return Ok(Forwarding::Masquerade),
            "local" => return Ok(Forwarding::Local),
            "route" | "gatewaying" | "droute" => return Ok(Forwarding::DirectRouting),
            "tunnel" | "ipip" => return Ok(Forwarding::Tunnel(Tunnel::default())),
            _ => {}
        }
        if let Some(n) = lower.strip_prefix("method-") {
            return Forwarding::try_from(n.parse::<u32>().map_err(|_| bad())?);
        }
        let inner = lower
            .strip_prefix("tunnel(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(bad)?;
        let mut words = inner.split_whitespace();
        let mut tunnel = Tunnel {
            kind: words.next().ok_or_else(bad)?.parse()?,
            ..Tunnel::default()
        };
        while let Some(word) = words.next() {
            match word {
                "port" => {
                    tunnel.port = words.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?
                }
                "csum" => tunnel.flags |= TunnelFlags::CSUM,
                "remcsum" => tunnel.flags |= TunnelFlags::REMCSUM,
                "flags" => {
                    let raw = words
                        .next()
                        .and_then(|v| u16::from_str_radix(v.trim_start_matches("0x"), 16).ok())
                        .ok_or_else(bad)?;
                    tunnel.flags |= TunnelFlags::from_bits_retain(raw);
                }
                _ => return Err(bad()),
            }
        }
        Ok(Forwarding::Tunnel(tunnel))
    }
}

/// A destination (real server) of a virtual service.
///
/// ```
/// use lvs::{Destination, Forwarding};
/// let d = Destination::new("10.244.1.5:80".parse().unwrap())
///     .with_forwarding(Forwarding::Masquerade)
///     .with_weight(1);
/// assert_eq!(d.weight, 1);
/// ```
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Address and port (`IPVS_DEST_ATTR_ADDR`, `_PORT`); its family is
    /// `IPVS_DEST_ATTR_ADDR_FAMILY`. The kernel does not force the port of
    /// direct-routing or tunnel destinations to the service's (ipvsadm does).
    pub addr: SocketAddr,
    /// The forwarding method, with tunnel settings for tunnels.
    pub forwarding: Forwarding,
    /// Weight, 0 to `i32::MAX` (`IPVS_DEST_ATTR_WEIGHT`); 0 takes no new
    /// connections.
    pub weight: u32,
    /// Connection limit, 0 for none (`IPVS_DEST_ATTR_U_THRESH`).
    pub upper_threshold: u32,
    /// Below this many connections an overloaded destination is used again
    /// (`IPVS_DEST_ATTR_L_THRESH`).
    pub lower_threshold: u32,
}

/// The largest weight the kernel takes (it reads the weight as an `int`).
pub const MAX_WEIGHT: u32 = i32::MAX as u32;

impl Destination {
    /// A masquerading destination of weight 1 without thresholds.
    pub fn new(addr: SocketAddr) -> Self {
        Destination {
            addr,
            forwarding: Forwarding::Masquerade,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// Sets the forwarding method.
    #[must_use]
    pub fn with_forwarding(mut self, forwarding: Forwarding) -> Self {
        self.forwarding = forwarding;
        self
    }

    /// Sets the weight.
    #[must_use]
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the upper and lower connection thresholds.
    #[must_use]
    pub fn with_thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }

    /// The destination's address family.
    pub fn family(&self) -> AddressFamily {
        AddressFamily::of(&self.addr.ip())
    }

    /// Checks, before anything is sent, what the kernel would reject
    /// obscurely or silently change, for a service of `service_family`.
    /// The error names the field.
    pub fn validate(&self, service_family: AddressFamily) -> Result<()> {
        if self.weight > MAX_WEIGHT {
            return Err(Error::invalid(
                "destination.weight",
                format!("{} is above the kernel's maximum {MAX_WEIGHT}", self.weight),
            ));
        }
        for (field, v) in [
            ("destination.upper_threshold", self.upper_threshold),
            ("destination.lower_threshold", self.lower_threshold),
        ] {
            if v > MAX_WEIGHT {
                return Err(Error::invalid(field, format!("{v} is above {MAX_WEIGHT}")));
            }
        }
        if self.lower_threshold > self.upper_threshold {
            return Err(Error::invalid(
                "destination.lower_threshold",
                format!(
                    "{} is above the upper threshold {}",
                    self.lower_threshold, self.upper_threshold
                ),
            ));
        }
        let tunnel = matches!(self.forwarding, Forwarding::Tunnel(_));
        if self.family() != service_family && !tunnel {
            return Err(Error::invalid(
                "destination.addr",
                format!(
                    "an {:?} destination in an {service_family:?} service needs tunnel forwarding",
                    self.family()
                ),
            ));
        }
        if let Forwarding::Tunnel(t) = self.forwarding {
            match t.kind {
                TunnelType::Gue if t.port == 0 => {
                    return Err(Error::invalid(
                        "destination.tunnel.port",
                        "GUE needs a port",
                    ));
                }
                TunnelType::Ipip | TunnelType::Gre if t.port != 0 => {
                    return Err(Error::invalid(
                        "destination.tunnel.port",
                        format!("only GUE tunnels take a port, not {:?}", t.kind),
                    ));
                }
                TunnelType::Ipip if !t.flags.is_empty() => {
                    return Err(Error::invalid(
                        "destination.tunnel.flags",
                        "IPIP takes no flags",
                    ));
                }
                TunnelType::Gre if t.flags.contains(TunnelFlags::REMCSUM) => {
                    return Err(Error::invalid(
                        "destination.tunnel.flags",
                        "remote checksum offload is for GUE only",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Encodes the identity: ADDR_FAMILY, ADDR, PORT.
    pub(crate) fn emit_id(&self, w: &mut AttrWriter<'_>) {
        w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, self.family().to_raw())
            .bytes(IPVS_DEST_ATTR_ADDR, &addr_bytes(&self.addr.ip()))
            .be16(IPVS_DEST_ATTR_PORT, self.addr.port());
    }

    /// Encodes the whole destination, in ipvsadm's order.
    pub(crate) fn emit(&self, w: &mut AttrWriter<'_>) {
        self.emit_id(w);
        let tunnel = self.forwarding.tunnel();
        w.u32(IPVS_DEST_ATTR_FWD_METHOD, self.forwarding.to_raw())
            .u32(IPVS_DEST_ATTR_WEIGHT, self.weight)
            .u8(IPVS_DEST_ATTR_TUN_TYPE, tunnel.kind.to_raw())
            .be16(IPVS_DEST_ATTR_TUN_PORT, tunnel.port)
            .u16(IPVS_DEST_ATTR_TUN_FLAGS, tunnel.flags.bits())
            .u32(IPVS_DEST_ATTR_U_THRESH, self.upper_threshold)
            .u32(IPVS_DEST_ATTR_L_THRESH, self.lower_threshold);
    }
}

/// A destination as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DestinationEntry {
    /// The settings; equal to what was written.
    pub destination: Destination,
    /// Active connections (`IPVS_DEST_ATTR_ACTIVE_CONNS`).
    pub active_connections: u32,
    /// Inactive connections (`IPVS_DEST_ATTR_INACT_CONNS`).
    pub inactive_connections: u32,
    /// Persistence templates pointing here (`IPVS_DEST_ATTR_PERSIST_CONNS`).
    pub persistent_connections: u32,
    /// Counters and rates.
    pub stats: Stats,
    /// Attributes of the destination nest this crate does not know.
    pub unknown: Vec<RawAttribute>,
}

impl DestinationEntry {
    /// Parses the content of an `IPVS_CMD_ATTR_DEST` nest. Kernels before
    /// 3.18 send no address family: `service_family` stands in.
    pub(crate) fn parse(buf: &[u8], service_family: AddressFamily) -> Result<Self> {
        let mut family = None;
        let mut addr = None;
        let mut port = None;
        let mut fwd = None;
        let mut weight = 0;
        let (mut upper, mut lower) = (0, 0);
        let (mut active, mut inactive, mut persistent) = (0, 0, 0);
        let (mut tun_type, mut tun_port, mut tun_flags) = (0u8, 0u16, 0u16);
        let (mut stats32, mut stats64) = (None, None);
        let mut unknown = Vec::new();
        for nla in walk(buf, "destination") {
            let nla = nla?;
            match nla.kind {
                IPVS_DEST_ATTR_ADDR => addr = Some(nla.value),
                IPVS_DEST_ATTR_PORT => port = Some(nla.be16("destination.port")?),
                IPVS_DEST_ATTR_FWD_METHOD => fwd = Some(nla.u32("destination.fwd_method")?),
                IPVS_DEST_ATTR_WEIGHT => weight = nla.u32("destination.weight")?,
                IPVS_DEST_ATTR_U_THRESH => upper = nla.u32("destination.u_thresh")?,
                IPVS_DEST_ATTR_L_THRESH => lower = nla.u32("destination.l_thresh")?,
                IPVS_DEST_ATTR_ACTIVE_CONNS => active = nla.u32("destination.active_conns")?,
                IPVS_DEST_ATTR_INACT_CONNS => inactive = nla.u32("destination.inact_conns")?,
                IPVS_DEST_ATTR_PERSIST_CONNS => {
                    persistent = nla.u32("destination.persist_conns")?
                }
                IPVS_DEST_ATTR_STATS => stats32 = Some(nla.value),
                IPVS_DEST_ATTR_ADDR_FAMILY => {
                    family = Some(AddressFamily::from_raw(
                        nla.u16("destination.addr_family")?,
                    )?)
                }
                IPVS_DEST_ATTR_STATS64 => stats64 = Some(nla.value),
                IPVS_DEST_ATTR_TUN_TYPE => tun_type = nla.u8("destination.tun_type")?,
                IPVS_DEST_ATTR_TUN_PORT => tun_port = nla.be16("destination.tun_port")?,
                IPVS_DEST_ATTR_TUN_FLAGS => tun_flags = nla.u16("destination.tun_flags")?,
                _ => unknown.push(RawAttribute {
                    raw_kind: nla.raw_kind,
                    value: nla.value.to_vec(),
                }),
            }
        }
        let family = family.unwrap_or(service_family);
        let (Some(addr), Some(port), Some(fwd)) = (addr, port, fwd) else {
            return Err(Error::Decode(
                "destination without address, port or forwarding method".into(),
            ));
        };
        let forwarding = Forwarding::from_raw(
            fwd,
            Tunnel {
                kind: TunnelType::from_raw(tun_type),
                port: tun_port,
                flags: TunnelFlags::from_bits_retain(tun_flags),
            },
        );
        let stats = Stats::from_nests(stats64, stats32)?;
        Ok(DestinationEntry {
            destination: Destination {
                addr: SocketAddr::new(parse_addr(addr, family, "destination.addr")?, port),
                forwarding,
                weight,
                upper_threshold: upper,
                lower_threshold: lower,
            },
            active_connections: active,
            inactive_connections: inactive,
            persistent_connections: persistent,
            stats,
            unknown,
        })
    }
}
