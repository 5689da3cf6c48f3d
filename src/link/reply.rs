//! Parsers of the kernel's link and address messages: the fixed header
//! read as bytes, the attributes through the crate's checked walk. Only
//! what [`Link`] and [`Address`] hold is read; every other attribute is
//! skipped unlooked-at.

use std::net::IpAddr;

use super::{
    AF_INET, AF_INET6, Address, IFA_ADDRESS, IFA_LOCAL, IFADDRMSG_LEN, IFF_UP, IFINFOMSG_LEN,
    IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, Link,
};
use crate::error::{Error, Result};
use crate::netlink::attr::walk;

/// The fixed header (`N` bytes) of a reply payload and the attributes
/// after it.
fn split<'a, const N: usize>(payload: &'a [u8], what: &'static str) -> Result<([u8; N], &'a [u8])> {
    let header = payload
        .get(..N)
        .and_then(|h| <[u8; N]>::try_from(h).ok())
        .ok_or_else(|| {
            Error::Decode(format!(
                "{what}: {} bytes, shorter than its {N} byte header",
                payload.len()
            ))
        })?;
    Ok((header, &payload[N..]))
}

fn u32_at(header: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
}

/// Decodes an `RTM_NEWLINK` payload: the `ifinfomsg` header, the name and
/// the kind. Other attributes are not looked at.
pub(crate) fn parse_link(payload: &[u8]) -> Result<Link> {
    let (header, attrs) = split::<IFINFOMSG_LEN>(payload, "link message")?;
    // ifi_family (u8), padding, ifi_type (u16), ifi_index, ifi_flags,
    // ifi_change.
    let index = u32_at(&header, 4);
    let flags = u32_at(&header, 8);
    let mut name = None;
    let mut kind = None;
    for nla in walk(attrs, "link message") {
        let nla = nla?;
        match nla.kind {
            // Names are bytes to the kernel; a non-UTF-8 one is kept, lossily.
            IFLA_IFNAME => name = Some(nla.string()),
            IFLA_LINKINFO => kind = parse_info_kind(nla.value)?,
            _ => {}
        }
    }
    let name = name
        .ok_or_else(|| Error::Decode(format!("link {index} has no name (IFLA_IFNAME missing)")))?;
    Ok(Link {
        index,
        name,
        kind,
        up: flags & IFF_UP != 0,
        flags,
    })
}

/// `IFLA_INFO_KIND` inside `IFLA_LINKINFO`, if there.
pub(super) fn parse_info_kind(linkinfo: &[u8]) -> Result<Option<String>> {
    for nla in walk(linkinfo, "IFLA_LINKINFO") {
        let nla = nla?;
        if nla.kind == IFLA_INFO_KIND {
            return Ok(Some(nla.string()));
        }
    }
    Ok(None)
}

/// Decodes an `RTM_NEWADDR` payload; `None` for an address of a family
/// other than IPv4 and IPv6 (an `AF_UNSPEC` dump also lists MCTP's, …).
pub(crate) fn parse_address(payload: &[u8]) -> Result<Option<Address>> {
    let (header, attrs) = split::<IFADDRMSG_LEN>(payload, "address message")?;
    // ifa_family, ifa_prefixlen, ifa_flags, ifa_scope (u8 each), ifa_index.
    let [family, prefix_len, _, scope, ..] = header;
    let index = u32_at(&header, 4);
    // The address attributes hold the address itself: 4 or 16 bytes.
    let read: fn(&[u8]) -> Option<IpAddr> = match family {
        AF_INET => |v| <[u8; 4]>::try_from(v).ok().map(IpAddr::from),
        AF_INET6 => |v| <[u8; 16]>::try_from(v).ok().map(IpAddr::from),
        _ => return Ok(None),
    };
    let max = if family == AF_INET { 32 } else { 128 };
    let mut local = None;
    let mut address = None;
    for nla in walk(attrs, "address message") {
        let nla = nla?;
        let slot = match nla.kind {
            IFA_LOCAL => &mut local,
            IFA_ADDRESS => &mut address,
            _ => continue,
        };
        *slot = Some(read(nla.value).ok_or_else(|| {
            Error::Decode(format!(
                "address attribute {} of {} bytes in a message of family {family}",
                nla.kind,
                nla.value.len()
            ))
        })?);
    }
    // IFA_ADDRESS is the peer on a point-to-point link; IFA_LOCAL is ours.
    let addr = local.or(address).ok_or_else(|| {
        Error::Decode(format!(
            "address on link {index} has neither IFA_LOCAL nor IFA_ADDRESS"
        ))
    })?;
    if prefix_len > max {
        return Err(Error::Decode(format!(
            "prefix length {prefix_len} for {addr}"
        )));
    }
    Ok(Some(Address {
        addr,
        prefix_len,
        link_index: index,
        scope,
    }))
}
