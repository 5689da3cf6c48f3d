//! The rtnetlink requests of [`Links`](super::Links), as message bytes:
//! the netlink header, the fixed `ifinfomsg` or `ifaddrmsg` header (host
//! byte order, as the kernel's structs lay them out) and the attributes,
//! written by the crate's one attribute writer.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST};

use super::{
    AF_INET, AF_INET6, DUMMY, IFA_ADDRESS, IFA_LOCAL, IFADDRMSG_LEN, IFF_UP, IFINFOMSG_LEN,
    IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, RTM_DELLINK, RTM_GETADDR, RTM_GETLINK, RTM_NEWLINK,
    RTM_SETLINK,
};
use crate::netlink::attr::{AttrWriter, attrs};
use crate::netlink::message::append_message;

/// `IFLA_EXT_MASK` (u32): what a link dump leaves out.
const IFLA_EXT_MASK: u16 = 29;
/// `RTEXT_FILTER_SKIP_STATS`: replies without the link's counters, which
/// nothing here reads (kernels before 4.19 ignore it).
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

/// A `struct ifinfomsg`: family `AF_UNSPEC`, type 0, the link `index` (0:
/// none, the link is named by an attribute), and the `IFF_*` `flags` to set
/// among those in `change`.
fn ifinfomsg(index: u32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut h = [0u8; IFINFOMSG_LEN];
    // ifi_family (u8), padding (u8), ifi_type (u16): all 0.
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

/// A `struct ifaddrmsg`: `family`, `prefix_len`, flags and scope 0, and
/// the link `index`.
fn ifaddrmsg(family: u8, prefix_len: u8, index: u32) -> [u8; IFADDRMSG_LEN] {
    let mut h = [0u8; IFADDRMSG_LEN];
    h[0] = family;
    h[1] = prefix_len;
    // ifa_flags (u8), ifa_scope (u8): 0.
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h
}

/// One message: `header` (an `ifinfomsg` or `ifaddrmsg`), then the
/// attributes `content` writes. Sequence and port are left 0; the
/// transport sets them when it sends.
fn message(
    message_type: u16,
    flags: u16,
    header: &[u8],
    content: impl FnOnce(&mut AttrWriter<'_>),
) -> Vec<u8> {
    let body = attrs(content);
    let mut buf = Vec::new();
    append_message(&mut buf, message_type, flags, header, &body);
    buf
}

/// `RTM_GETLINK` of one link, by name.
pub(super) fn get_link_request(name: &str) -> Vec<u8> {
    message(
        RTM_GETLINK,
        NLM_F_REQUEST | NLM_F_ACK,
        &ifinfomsg(0, 0, 0),
        |w| {
            w.cstr(IFLA_IFNAME, name)
                .u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        },
    )
}

/// `RTM_GETLINK` dump of every link.
pub(super) fn dump_links_request() -> Vec<u8> {
    message(
        RTM_GETLINK,
        NLM_F_REQUEST | NLM_F_DUMP,
        &ifinfomsg(0, 0, 0),
        |w| {
            w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        },
    )
}

/// `RTM_NEWLINK` creating a dummy link, down, failing if the name is taken.
pub(super) fn new_dummy_request(name: &str) -> Vec<u8> {
    // IFLA_LINKINFO goes out without NLA_F_NESTED, as iproute2 sends it
    // (the kernel takes either), so not through `AttrWriter::nested`.
    let info = attrs(|w| {
        w.cstr(IFLA_INFO_KIND, DUMMY);
    });
    message(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        &ifinfomsg(0, 0, 0),
        |w| {
            w.cstr(IFLA_IFNAME, name).bytes(IFLA_LINKINFO, &info);
        },
    )
}

/// `RTM_SETLINK` changing `IFF_UP` only, on the link named `name`.
pub(super) fn set_up_request(name: &str, up: bool) -> Vec<u8> {
    let flags = if up { IFF_UP } else { 0 };
    message(
        RTM_SETLINK,
        NLM_F_REQUEST | NLM_F_ACK,
        &ifinfomsg(0, flags, IFF_UP),
        |w| {
            w.cstr(IFLA_IFNAME, name);
        },
    )
}

/// `RTM_DELLINK` of the link with index `index`.
pub(super) fn del_link_request(index: u32) -> Vec<u8> {
    message(
        RTM_DELLINK,
        NLM_F_REQUEST | NLM_F_ACK,
        &ifinfomsg(index, 0, 0),
        |_| {},
    )
}

/// `RTM_NEWADDR` or `RTM_DELADDR` of `addr`/`prefix_len` on link `index`,
/// with `IFA_LOCAL` and `IFA_ADDRESS` both set to the address (as `ip
/// addr` does; equal, they mean "no peer" for either family).
pub(super) fn address_request(
    message_type: u16,
    extra_flags: u16,
    index: u32,
    addr: IpAddr,
    prefix_len: u8,
) -> Vec<u8> {
    let (family, octets) = match addr {
        IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
        IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
    };
    message(
        message_type,
        NLM_F_REQUEST | NLM_F_ACK | extra_flags,
        &ifaddrmsg(family, prefix_len, index),
        |w| {
            w.bytes(IFA_LOCAL, &octets).bytes(IFA_ADDRESS, &octets);
        },
    )
}

/// `RTM_GETADDR` dump of every family (`AF_UNSPEC`), asking for the link
/// `index` only (which only a strict-checking socket gets).
pub(super) fn dump_addresses_request(index: Option<u32>) -> Vec<u8> {
    message(
        RTM_GETADDR,
        NLM_F_REQUEST | NLM_F_DUMP,
        &ifaddrmsg(0, 0, index.unwrap_or(0)),
        |_| {},
    )
}
