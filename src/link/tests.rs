//! Unit tests of the link module: request bytes (against
//! netlink-packet-route's encoding), reply parsing (hand-built, truncated
//! and garbage payloads), name and prefix checks, error meanings.

use super::reply::*;
use super::request::*;
use super::validate::*;
use super::*;
use crate::netlink::attr::walk;
use netlink_packet_core::{
    Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer,
    NlaBuffer, Parseable,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkInfo, LinkMessage,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// (message type, flags, payload) of a built request.
fn split(request: &[u8]) -> (u16, u16, &[u8]) {
    let buf = NetlinkBuffer::new_checked(request).unwrap();
    assert_eq!(buf.length() as usize, request.len());
    (buf.message_type(), buf.flags(), &request[16..])
}

fn emit(msg: &dyn Emitable) -> Vec<u8> {
    let mut v = vec![0; msg.buffer_len()];
    msg.emit(&mut v);
    v
}

fn link_message(header: LinkHeader, attributes: Vec<LinkAttribute>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header = header;
    msg.attributes = attributes;
    msg
}

/// The requests as netlink-packet-route's message types encode them (how
/// this module built them before it wrote them with the crate's own
/// attribute writer): the reference the wire bytes must stay equal to.
mod reference {
    use super::*;
    use netlink_packet_core::Emitable;

    /// A message of `msg`'s encoding, framed as the crate frames requests.
    fn build_message(kind: u16, flags: u16, header: &[u8], msg: &dyn Emitable) -> Vec<u8> {
        let mut body = vec![0; msg.buffer_len()];
        msg.emit(&mut body);
        let mut buf = Vec::new();
        crate::netlink::message::append_message(&mut buf, kind, flags, header, &body);
        buf
    }

    fn skip_stats() -> LinkAttribute {
        LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats])
    }

    pub(super) fn get_link(name: &str) -> Vec<u8> {
        let msg = link_message(
            LinkHeader::default(),
            vec![LinkAttribute::IfName(name.to_owned()), skip_stats()],
        );
        build_message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
    }

    pub(super) fn dump_links() -> Vec<u8> {
        let msg = link_message(LinkHeader::default(), vec![skip_stats()]);
        build_message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, &[], &msg)
    }

    pub(super) fn new_dummy(name: &str) -> Vec<u8> {
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

    pub(super) fn set_up(name: &str, up: bool) -> Vec<u8> {
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

    pub(super) fn del_link(index: u32) -> Vec<u8> {
        let header = LinkHeader {
            index,
            ..LinkHeader::default()
        };
        let msg = link_message(header, Vec::new());
        build_message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
    }

    pub(super) fn address(
        message_type: u16,
        extra_flags: u16,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Vec<u8> {
        let mut msg = AddressMessage::default();
        msg.header.family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
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

    pub(super) fn dump_addresses(index: Option<u32>) -> Vec<u8> {
        let mut msg = AddressMessage::default();
        msg.header.index = index.unwrap_or(0);
        build_message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &[], &msg)
    }
}

/// Every request, byte for byte as netlink-packet-route's message types
/// encode it: headers, attribute order, NUL terminators, padding, the
/// nested flag (absent on `IFLA_LINKINFO`).
#[test]
fn requests_are_the_bytes_netlink_packet_route_encodes() {
    for name in [
        "a",
        "ab",
        "abc",
        "abcd",
        "kube-ipvs0",
        "123456789012345",
        "dümmy",
    ] {
        assert_eq!(get_link_request(name), reference::get_link(name), "{name}");
        assert_eq!(
            new_dummy_request(name),
            reference::new_dummy(name),
            "{name}"
        );
        for up in [true, false] {
            assert_eq!(set_up_request(name, up), reference::set_up(name, up));
        }
    }
    assert_eq!(dump_links_request(), reference::dump_links());
    for index in [0, 1, 42, 0x0102_0304, u32::MAX] {
        assert_eq!(del_link_request(index), reference::del_link(index));
        assert_eq!(
            dump_addresses_request(Some(index)),
            reference::dump_addresses(Some(index))
        );
    }
    assert_eq!(
        dump_addresses_request(None),
        reference::dump_addresses(None)
    );
    let addrs: [IpAddr; 4] = [
        Ipv4Addr::new(10, 96, 0, 1).into(),
        Ipv4Addr::UNSPECIFIED.into(),
        "2001:db8::1".parse().unwrap(),
        "fe80::1:2:3:4".parse().unwrap(),
    ];
    for addr in addrs {
        for prefix in [0, 24, 32, 64, 128] {
            for (ty, extra) in [(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL), (RTM_DELADDR, 0)] {
                assert_eq!(
                    address_request(ty, extra, 7, addr, prefix),
                    reference::address(ty, extra, 7, addr, prefix),
                    "{addr}/{prefix}"
                );
            }
        }
    }
}

#[test]
fn links_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Links>();
}

#[test]
fn get_link_request_names_the_link() {
    let req = get_link_request("kube-ipvs0");
    let (ty, flags, payload) = split(&req);
    assert_eq!(ty, RTM_GETLINK);
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
    let msg = LinkMessage::parse(payload).unwrap();
    assert_eq!(msg.header.index, 0);
    assert!(
        msg.attributes
            .contains(&LinkAttribute::IfName("kube-ipvs0".into()))
    );
    // The name goes out NUL-terminated: "kube-ipvs0\0" in an 8+11 NLA.
    let nla = NlaBuffer::new_checked(&payload[IFINFOMSG_LEN..]).unwrap();
    assert_eq!(nla.kind(), IFLA_IFNAME);
    assert_eq!(nla.value(), b"kube-ipvs0\0");
}

#[test]
fn dump_links_request_is_a_dump_without_stats() {
    let req = dump_links_request();
    let (ty, flags, payload) = split(&req);
    assert_eq!(ty, RTM_GETLINK);
    assert_eq!(flags & NLM_F_DUMP, NLM_F_DUMP);
    let msg = LinkMessage::parse(payload).unwrap();
    assert_eq!(
        msg.attributes,
        vec![LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats])]
    );
    // IFLA_EXT_MASK = 29, value RTEXT_FILTER_SKIP_STATS = 8.
    assert_eq!(&payload[IFINFOMSG_LEN..], &[8, 0, 29, 0, 8, 0, 0, 0][..]);
}

#[test]
fn new_dummy_request_creates_exclusively_and_down() {
    let req = new_dummy_request("kube-ipvs0");
    let (ty, flags, payload) = split(&req);
    assert_eq!(ty, RTM_NEWLINK);
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    let msg = LinkMessage::parse(payload).unwrap();
    assert_eq!(msg.header.flags, LinkFlags::empty());
    assert_eq!(msg.header.change_mask, LinkFlags::empty());
    assert_eq!(msg.header.index, 0);
    assert!(
        msg.attributes
            .contains(&LinkAttribute::IfName("kube-ipvs0".into()))
    );
    assert!(
        msg.attributes
            .contains(&LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Dummy
            )]))
    );
    // The kind is the string "dummy" inside IFLA_LINKINFO.
    let info = walk(&payload[IFINFOMSG_LEN..], "test")
        .map(Result::unwrap)
        .find(|n| n.kind == IFLA_LINKINFO)
        .unwrap();
    assert_eq!(
        parse_info_kind(info.value).unwrap().as_deref(),
        Some("dummy")
    );
}

#[test]
fn set_up_request_changes_iff_up_only() {
    for up in [true, false] {
        let req = set_up_request("d0", up);
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_SETLINK);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
        // ifi_flags at 8..12, ifi_change at 12..16.
        let f = u32::from_ne_bytes(payload[8..12].try_into().unwrap());
        let change = u32::from_ne_bytes(payload[12..16].try_into().unwrap());
        assert_eq!(f, if up { IFF_UP } else { 0 });
        assert_eq!(change, IFF_UP);
        let msg = LinkMessage::parse(payload).unwrap();
        assert_eq!(msg.attributes, vec![LinkAttribute::IfName("d0".into())]);
    }
}

#[test]
fn del_link_request_is_by_index() {
    let req = del_link_request(42);
    let (ty, flags, payload) = split(&req);
    assert_eq!(ty, RTM_DELLINK);
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
    assert_eq!(payload.len(), IFINFOMSG_LEN);
    assert_eq!(LinkMessage::parse(payload).unwrap().header.index, 42);
}

#[test]
fn address_requests_for_both_families() {
    let v4: IpAddr = Ipv4Addr::new(10, 96, 0, 1).into();
    let req = address_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 7, v4, 32);
    let (ty, flags, payload) = split(&req);
    assert_eq!(ty, RTM_NEWADDR);
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    assert_eq!(flags & netlink_packet_core::NLM_F_REPLACE, 0);
    // ifaddrmsg: family, prefix, flags, scope, index.
    assert_eq!(&payload[..4], &[AF_INET, 32, 0, 0]);
    assert_eq!(u32::from_ne_bytes(payload[4..8].try_into().unwrap()), 7);
    let msg = AddressMessage::parse(payload).unwrap();
    assert_eq!(
        msg.attributes,
        vec![AddressAttribute::Local(v4), AddressAttribute::Address(v4)]
    );
    // IFA_LOCAL 10.96.0.1, then IFA_ADDRESS 10.96.0.1.
    assert_eq!(
        &payload[8..],
        &[8, 0, 2, 0, 10, 96, 0, 1, 8, 0, 1, 0, 10, 96, 0, 1][..]
    );

    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    let req = address_request(RTM_DELADDR, 0, 3, v6, 64);
    let (ty, flags, payload) = split(&req);
    assert_eq!(ty, RTM_DELADDR);
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
    let msg = AddressMessage::parse(payload).unwrap();
    assert_eq!(msg.header.family, AddressFamily::Inet6);
    assert_eq!(msg.header.prefix_len, 64);
    assert_eq!(msg.header.index, 3);
    assert!(msg.attributes.contains(&AddressAttribute::Local(v6)));
    assert!(msg.attributes.contains(&AddressAttribute::Address(v6)));
}

#[test]
fn dump_addresses_request_is_unspec() {
    let req = dump_addresses_request(Some(5));
    let (ty, flags, payload) = split(&req);
    assert_eq!(ty, RTM_GETADDR);
    assert_eq!(flags & NLM_F_DUMP, NLM_F_DUMP);
    assert_eq!(payload.len(), IFADDRMSG_LEN);
    assert_eq!(payload[0], libc::AF_UNSPEC as u8);
    assert_eq!(u32::from_ne_bytes(payload[4..8].try_into().unwrap()), 5);
    let all = dump_addresses_request(None);
    assert_eq!(split(&all).2, &[0u8; 8][..]);
}

#[test]
fn names_are_checked_like_the_kernel_does() {
    for good in ["kube-ipvs0", "a", "eth0.100", "123456789012345", "dümmy"] {
        validate_name(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    for bad in [
        "",
        "1234567890123456",
        ".",
        "..",
        "a/b",
        "a:1",
        "a b",
        "a\tb",
        "a\nb",
        "a\u{0b}b",
        "a\0b",
        "dummy%d",
        "à", // 0xc3 0xa0: the kernel's isspace(0xa0)
    ] {
        match validate_name(bad) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "link.name", "{bad:?}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn prefixes_default_to_the_host_and_are_bounded() {
    let v4: IpAddr = Ipv4Addr::LOCALHOST.into();
    let v6: IpAddr = Ipv6Addr::LOCALHOST.into();
    assert_eq!(checked_prefix(v4, None).unwrap(), 32);
    assert_eq!(checked_prefix(v6, None).unwrap(), 128);
    assert_eq!(checked_prefix(v4, Some(0)).unwrap(), 0);
    assert_eq!(checked_prefix(v4, Some(32)).unwrap(), 32);
    assert_eq!(checked_prefix(v6, Some(128)).unwrap(), 128);
    assert_eq!(checked_prefix(v6, Some(33)).unwrap(), 33);
    for (a, p) in [(v4, 33), (v4, 255), (v6, 129)] {
        assert!(matches!(
            checked_prefix(a, Some(p)),
            Err(Error::Invalid {
                field: "address.prefix_len",
                ..
            })
        ));
    }
}

fn link_payload(index: u32, flags: LinkFlags, attrs: Vec<LinkAttribute>) -> Vec<u8> {
    let header = LinkHeader {
        index,
        flags,
        ..LinkHeader::default()
    };
    emit(&link_message(header, attrs))
}

#[test]
fn decodes_a_link() {
    let p = link_payload(
        4,
        LinkFlags::Up | LinkFlags::Broadcast,
        vec![
            LinkAttribute::Mtu(1500),
            LinkAttribute::IfName("kube-ipvs0".into()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Dummy)]),
        ],
    );
    let link = parse_link(&p).unwrap();
    assert_eq!(
        link,
        Link {
            index: 4,
            name: "kube-ipvs0".into(),
            kind: Some("dummy".into()),
            up: true,
            flags: IFF_UP | libc::IFF_BROADCAST as u32,
        }
    );
    assert!(!link.is_loopback());

    // No kind, down, loopback.
    let p = link_payload(
        1,
        LinkFlags::Loopback,
        vec![LinkAttribute::IfName("lo".into())],
    );
    let lo = parse_link(&p).unwrap();
    assert_eq!(lo.kind, None);
    assert!(!lo.up);
    assert!(lo.is_loopback());

    // A kind is the kernel's string, whichever it is.
    let p = link_payload(
        9,
        LinkFlags::empty(),
        vec![
            LinkAttribute::IfName("x".into()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Other("newkind".into()))]),
        ],
    );
    assert_eq!(parse_link(&p).unwrap().kind.as_deref(), Some("newkind"));
    let p = link_payload(
        9,
        LinkFlags::empty(),
        vec![
            LinkAttribute::IfName("v".into()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth)]),
        ],
    );
    assert_eq!(parse_link(&p).unwrap().kind.as_deref(), Some("veth"));
}

/// Appends a raw attribute, padded.
fn push_nla(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + (4 - len % 4) % 4, 0);
}

#[test]
fn decodes_a_hand_built_link_with_unknown_and_nested_attributes() {
    let mut p = vec![0u8; IFINFOMSG_LEN];
    p[4..8].copy_from_slice(&12u32.to_ne_bytes());
    p[8..12].copy_from_slice(&0x1043u32.to_ne_bytes());
    push_nla(&mut p, 0x7fff, &[1, 2, 3]); // unknown to everyone
    push_nla(&mut p, IFLA_IFNAME, b"dummy0\0");
    // An IFLA_LINKINFO with NLA_F_NESTED, an unknown inner attribute,
    // then the kind.
    let mut info = Vec::new();
    push_nla(&mut info, 0x55, &[0; 5]);
    push_nla(&mut info, IFLA_INFO_KIND, b"dummy\0");
    push_nla(
        &mut p,
        IFLA_LINKINFO | netlink_packet_core::NLA_F_NESTED,
        &info,
    );
    // IFLA_AF_SPEC garbage that netlink-packet-route would refuse.
    push_nla(&mut p, 26, &[0xff; 7]);
    let link = parse_link(&p).unwrap();
    assert_eq!(link.index, 12);
    assert_eq!(link.name, "dummy0");
    assert_eq!(link.kind.as_deref(), Some("dummy"));
    assert!(link.up);
    assert_eq!(link.flags, 0x1043);

    // A name that is not UTF-8 is kept lossily, not an error.
    let mut p = vec![0u8; IFINFOMSG_LEN];
    push_nla(&mut p, IFLA_IFNAME, b"d\xe9\0");
    assert_eq!(parse_link(&p).unwrap().name, "d\u{fffd}");
    // So is a kind; a kind without its NUL is read whole; a link info
    // without a kind is no kind.
    for (raw, kind) in [
        (&b"k\xff\0"[..], Some("k\u{fffd}")),
        (b"dummy", Some("dummy")),
        (b"", Some("")),
    ] {
        let mut info = Vec::new();
        push_nla(&mut info, IFLA_INFO_KIND, raw);
        let mut p = vec![0u8; IFINFOMSG_LEN];
        push_nla(&mut p, IFLA_IFNAME, b"x\0");
        push_nla(&mut p, IFLA_LINKINFO, &info);
        assert_eq!(parse_link(&p).unwrap().kind.as_deref(), kind, "{raw:?}");
    }
    let mut p = vec![0u8; IFINFOMSG_LEN];
    push_nla(&mut p, IFLA_IFNAME, b"x\0");
    push_nla(&mut p, IFLA_LINKINFO, &[]);
    assert_eq!(parse_link(&p).unwrap().kind, None);
}

#[test]
fn decodes_addresses() {
    let v4: IpAddr = "10.96.0.10".parse().unwrap();
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = 32;
    msg.header.index = 3;
    msg.header.scope = AddressScope::Universe;
    msg.attributes = vec![
        AddressAttribute::Address(v4),
        AddressAttribute::Local(v4),
        AddressAttribute::Label("kube-ipvs0".into()),
    ];
    let a = parse_address(&emit(&msg)).unwrap().unwrap();
    assert_eq!(
        a,
        Address {
            addr: v4,
            prefix_len: 32,
            link_index: 3,
            scope: 0,
        }
    );

    // Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer.
    let peer: IpAddr = "192.0.2.1".parse().unwrap();
    msg.attributes = vec![AddressAttribute::Address(peer), AddressAttribute::Local(v4)];
    assert_eq!(parse_address(&emit(&msg)).unwrap().unwrap().addr, v4);

    // IPv6, IFA_ADDRESS only, link scope.
    let v6: IpAddr = "fe80::1".parse().unwrap();
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    msg.header.prefix_len = 64;
    msg.header.index = 2;
    msg.header.scope = AddressScope::Link;
    msg.attributes = vec![AddressAttribute::Address(v6)];
    let a = parse_address(&emit(&msg)).unwrap().unwrap();
    assert_eq!(
        (a.addr, a.prefix_len, a.link_index, a.scope),
        (v6, 64, 2, 253)
    );

    // Other families are skipped, whatever their attributes look like.
    let mut p = vec![45u8, 0, 0, 0, 1, 0, 0, 0]; // AF_MCTP
    push_nla(&mut p, IFA_LOCAL, &[8]);
    assert_eq!(parse_address(&p).unwrap(), None);
}

#[test]
fn address_decoding_errors() {
    // An IPv4 message with an IPv6-sized address.
    let mut p = vec![AF_INET, 32, 0, 0, 1, 0, 0, 0];
    push_nla(&mut p, IFA_LOCAL, &[0; 16]);
    assert!(matches!(parse_address(&p), Err(Error::Decode(_))));
    // No address at all.
    let p = vec![AF_INET6, 128, 0, 0, 1, 0, 0, 0];
    assert!(matches!(parse_address(&p), Err(Error::Decode(_))));
    // A prefix longer than the address.
    let mut p = vec![AF_INET, 33, 0, 0, 1, 0, 0, 0];
    push_nla(&mut p, IFA_LOCAL, &[10, 0, 0, 1]);
    assert!(matches!(parse_address(&p), Err(Error::Decode(_))));
    // A link without a name.
    let p = vec![0u8; IFINFOMSG_LEN];
    assert!(matches!(parse_link(&p), Err(Error::Decode(_))));
}

#[test]
fn truncated_and_garbage_payloads_are_errors_not_panics() {
    let mut link = link_payload(
        4,
        LinkFlags::Up,
        vec![
            LinkAttribute::IfName("kube-ipvs0".into()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Dummy)]),
        ],
    );
    let mut addr = AddressMessage::default();
    addr.header.family = AddressFamily::Inet6;
    addr.header.prefix_len = 128;
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    addr.attributes = vec![AddressAttribute::Local(v6), AddressAttribute::Address(v6)];
    let mut addr = emit(&addr);

    // Every truncation: an error or (cut at an attribute boundary) a
    // shorter but valid message, never a panic.
    for n in 0..link.len() {
        let _ = parse_link(&link[..n]);
    }
    for n in 0..addr.len() {
        let _ = parse_address(&addr[..n]);
    }
    assert!(matches!(parse_link(&link[..10]), Err(Error::Decode(_))));
    assert!(matches!(parse_address(&addr[..5]), Err(Error::Decode(_))));
    // A cut inside the name attribute.
    assert!(matches!(
        parse_link(&link[..IFINFOMSG_LEN + 6]),
        Err(Error::Decode(_))
    ));
    // A cut inside the first address attribute.
    assert!(matches!(
        parse_address(&addr[..IFADDRMSG_LEN + 10]),
        Err(Error::Decode(_))
    ));

    // Every single-byte corruption, and pseudo-random bytes.
    for i in 0..link.len() {
        for v in [0x00, 0x01, 0x7f, 0xff] {
            let old = link[i];
            link[i] = v;
            let _ = parse_link(&link);
            link[i] = old;
        }
    }
    for i in 0..addr.len() {
        for v in [0x00, 0x01, 0x7f, 0xff] {
            let old = addr[i];
            addr[i] = v;
            let _ = parse_address(&addr);
            addr[i] = old;
        }
    }
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for len in 0..300 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = parse_link(&bytes);
        let _ = parse_address(&bytes);
    }
}

#[test]
fn wrong_kind_is_reported_with_the_links_kind() {
    let veth = Link {
        index: 2,
        name: "kube-ipvs0".into(),
        kind: Some("veth".into()),
        up: false,
        flags: 0,
    };
    match of_kind(veth, DUMMY) {
        Err(Error::WrongLinkKind { name, kind, wanted }) => {
            assert_eq!(
                (name.as_str(), kind.as_str(), wanted),
                ("kube-ipvs0", "veth", "dummy")
            );
        }
        other => panic!("{other:?}"),
    }
    let lo = Link {
        index: 1,
        name: "lo".into(),
        kind: None,
        up: true,
        flags: IFF_LOOPBACK,
    };
    assert!(matches!(
        of_kind(lo, DUMMY),
        Err(Error::WrongLinkKind { kind, .. }) if kind.is_empty()
    ));
}

#[test]
fn node_addresses_exclude_loopback_and_link_local() {
    for (a, ok) in [
        ("10.0.0.1", true),
        ("127.0.0.1", false),
        ("127.1.2.3", false),
        ("169.254.1.1", true),
        ("::1", false),
        ("fe80::1", false),
        ("febf::1", false),
        ("fec0::1", true),
        ("2001:db8::1", true),
    ] {
        assert_eq!(is_node_address(a.parse().unwrap()), ok, "{a}");
    }
}

#[test]
fn kernel_errors_get_the_link_variants() {
    let kernel = |errno| {
        Error::Kernel(crate::error::KernelError::new(
            errno,
            "RTM_SETLINK",
            None,
            None,
        ))
    };
    match link_error(kernel(libc::ENODEV)) {
        Error::LinkNotFound(k) => assert_eq!((k.errno, k.request), (libc::ENODEV, "RTM_SETLINK")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        link_error(kernel(libc::EEXIST)),
        Error::AlreadyExists(_)
    ));
    assert!(matches!(
        link_error(kernel(libc::EPERM)),
        Error::PermissionDenied(_)
    ));
    // ENOENT and ESRCH mean nothing special for links.
    for errno in [libc::ENOENT, libc::ESRCH, libc::EADDRNOTAVAIL] {
        assert!(matches!(link_error(kernel(errno)), Error::Kernel(k) if k.errno == errno));
    }
    assert!(matches!(
        link_error(Error::Protocol("x".into())),
        Error::Protocol(_)
    ));
}
