//! The rtnetlink requests of [`Links`](super::Links), as message bytes.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkInfo, LinkMessage,
};

use super::*;
use crate::netlink::build_message;

fn family_of(addr: IpAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// `RTEXT_FILTER_SKIP_STATS`: replies without the link's counters, which
/// nothing here reads (kernels before 4.19 ignore it).
fn skip_stats() -> LinkAttribute {
    LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats])
}

pub(super) fn link_message(header: LinkHeader, attributes: Vec<LinkAttribute>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header = header;
    msg.attributes = attributes;
    msg
}

/// `RTM_GETLINK` of one link, by name.
pub(crate) fn get_link_request(name: &str) -> Vec<u8> {
    let msg = link_message(
        LinkHeader::default(),
        vec![LinkAttribute::IfName(name.to_owned()), skip_stats()],
    );
    build_message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
}

/// `RTM_GETLINK` dump of every link.
pub(crate) fn dump_links_request() -> Vec<u8> {
    let msg = link_message(LinkHeader::default(), vec![skip_stats()]);
    build_message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, &[], &msg)
}

/// `RTM_NEWLINK` creating a dummy link, down, failing if the name is taken.
pub(crate) fn new_dummy_request(name: &str) -> Vec<u8> {
    let msg = link_message(
        LinkHeader::default(),
        vec![
            LinkAttribute::IfName(name.to_owned()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Dummy)]),
        ],
    );
    build_message(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        &[],
        &msg,
    )
}

/// `RTM_SETLINK` changing `IFF_UP` only, on the link named `name`.
pub(crate) fn set_up_request(name: &str, up: bool) -> Vec<u8> {
    let header = LinkHeader {
        flags: if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        },
        change_mask: LinkFlags::Up,
        ..LinkHeader::default()
    };
    let msg = link_message(header, vec![LinkAttribute::IfName(name.to_owned())]);
    build_message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
}

/// `RTM_DELLINK` of the link with index `index`.
pub(crate) fn del_link_request(index: u32) -> Vec<u8> {
    let header = LinkHeader {
        index,
        ..LinkHeader::default()
    };
    let msg = link_message(header, Vec::new());
    build_message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
}

/// `RTM_NEWADDR` or `RTM_DELADDR` of `addr`/`prefix_len` on link `index`,
/// with `IFA_LOCAL` and `IFA_ADDRESS` both set to the address (as `ip
/// addr` does; equal, they mean "no peer" for either family).
pub(crate) fn address_request(
    message_type: u16,
    extra_flags: u16,
    index: u32,
    addr: IpAddr,
    prefix_len: u8,
) -> Vec<u8> {
    let mut msg = AddressMessage::default();
    msg.header.family = family_of(addr);
    msg.header.prefix_len = prefix_len;
    msg.header.index = index;
    msg.attributes = vec![
        AddressAttribute::Local(addr),
        AddressAttribute::Address(addr),
    ];
    build_message(
        message_type,
        NLM_F_REQUEST | NLM_F_ACK | extra_flags,
        &[],
        &msg,
    )
}

/// `RTM_GETADDR` dump of every family (`AF_UNSPEC`), asking for the link
/// `index` only (which only a strict-checking socket gets).
pub(crate) fn dump_addresses_request(index: Option<u32>) -> Vec<u8> {
    let mut msg = AddressMessage::default();
    msg.header.index = index.unwrap_or(0);
    build_message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &[], &msg)
}
