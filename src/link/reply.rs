//! Parsers of the kernel's link and address messages.

use netlink_packet_core::{NlaBuffer, NlasIterator, Parseable};
use netlink_packet_route::address::{AddressAttribute, AddressHeader};
use netlink_packet_route::link::{InfoKind, LinkHeader};

use super::*;

/// The attributes of a reply after its fixed header of `header_len`
/// bytes, through checked views.
pub(super) fn attributes(
    payload: &[u8],
    header_len: usize,
) -> impl Iterator<Item = Result<NlaBuffer<&[u8]>>> {
    NlasIterator::new(payload.get(header_len..).unwrap_or(&[])).map(|a| a.map_err(Error::decode))
}

/// Decodes an `RTM_NEWLINK` payload: the `ifinfomsg` header, the name and
/// the kind. Other attributes are not looked at.
pub(crate) fn parse_link(payload: &[u8]) -> Result<Link> {
    let header = LinkHeader::parse(payload).map_err(Error::decode)?;
    let mut name = None;
    let mut kind = None;
    for nla in attributes(payload, IFINFOMSG_LEN) {
        let nla = nla?;
        match nla.kind() {
            // Names are bytes to the kernel; a non-UTF-8 one is kept, lossily.
            IFLA_IFNAME => name = Some(c_string(nla.value())),
            IFLA_LINKINFO => kind = parse_info_kind(nla.value())?,
            _ => {}
        }
    }
    let name = name.ok_or_else(|| {
        Error::Decode(format!(
            "link {} has no name (IFLA_IFNAME missing)",
            header.index
        ))
    })?;
    let flags = header.flags.bits();
    Ok(Link {
        index: header.index,
        name,
        kind,
        up: flags & IFF_UP != 0,
        flags,
    })
}

/// `IFLA_INFO_KIND` inside `IFLA_LINKINFO`, if there.
pub(super) fn parse_info_kind(linkinfo: &[u8]) -> Result<Option<String>> {
    for nla in NlasIterator::new(linkinfo) {
        let nla = nla.map_err(Error::decode)?;
        if nla.kind() == IFLA_INFO_KIND {
            let kind = InfoKind::parse(&nla).map_err(Error::decode)?;
            return Ok(Some(kind.to_string()));
        }
    }
    Ok(None)
}

/// A string attribute: up to its NUL, invalid UTF-8 replaced.
fn c_string(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Decodes an `RTM_NEWADDR` payload; `None` for an address of a family
/// other than IPv4 and IPv6 (an `AF_UNSPEC` dump also lists MCTP's, …).
pub(crate) fn parse_address(payload: &[u8]) -> Result<Option<Address>> {
    let header = AddressHeader::parse(payload).map_err(Error::decode)?;
    let family = u8::from(header.family);
    let len = match family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return Ok(None),
    };
    let mut local = None;
    let mut address = None;
    for nla in attributes(payload, IFADDRMSG_LEN) {
        let nla = nla?;
        let kind = nla.kind();
        if kind != IFA_LOCAL && kind != IFA_ADDRESS {
            continue;
        }
        if nla.value().len() != len {
            return Err(Error::Decode(format!(
                "address attribute {kind} of {} bytes in a message of family {family}",
                nla.value().len()
            )));
        }
        match AddressAttribute::parse(&nla).map_err(Error::decode)? {
            AddressAttribute::Local(a) => local = Some(a),
            AddressAttribute::Address(a) => address = Some(a),
            _ => {}
        }
    }
    // IFA_ADDRESS is the peer on a point-to-point link; IFA_LOCAL is ours.
    let addr = local.or(address).ok_or_else(|| {
        Error::Decode(format!(
            "address on link {} has neither IFA_LOCAL nor IFA_ADDRESS",
            header.index
        ))
    })?;
    let max = if family == AF_INET { 32 } else { 128 };
    if header.prefix_len > max {
        return Err(Error::Decode(format!(
            "prefix length {} for {addr}",
            header.prefix_len
        )));
    }
    Ok(Some(Address {
        addr,
        prefix_len: header.prefix_len,
        link_index: header.index,
        scope: u8::from(header.scope),
    }))
}
