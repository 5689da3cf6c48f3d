//! Golden bytes: requests `lvs` encodes compared with what ipvsadm 1.31
//! sent to Linux 6.1, and replies the kernel sent decoded into the domain
//! types. The captures live in `tests/golden/` (each file says how it was
//! made; regenerate with `scripts/capture-golden`).

use std::net::SocketAddr;

use crate::ipvs::consts::IPVS_CMD_ATTR_DEST;
use crate::ipvs::reply::*;
use crate::ipvs::request::Request;
use crate::netlink::attr::{RawNla, walk};
use crate::*;

macro_rules! golden {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../tests/golden/", $name, ".hex")))),*]
    };
}

const FILES: &[(&str, &str)] = golden!(
    "add_service_tcp4_rr",
    "add_service_udp6_sh_persistent",
    "add_service_fwmark_pe",
    "add_service_sctp_mh_ops",
    "edit_service",
    "add_dest_masq",
    "add_dest_route",
    "add_dest_gue",
    "add_dest_gre_mixed",
    "edit_dest",
    "del_dest",
    "zero_service",
    "set_timeouts",
    "get_config",
    "get_config_reply",
    "get_services_dump",
    "service_tcp4_reply",
    "service_fwmark_reply",
    "service_udp6_reply",
    "get_dests_dump",
    "dest_masq_reply",
    "dest_gue_reply",
    "dest_gre_mixed_reply",
    "del_service",
    "flush",
    "get_info",
    "get_info_reply",
);

fn hex(text: &str) -> Vec<u8> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

/// The bytes of one capture.
pub(crate) fn load(name: &str) -> Vec<u8> {
    let (_, text) = FILES.iter().find(|(n, _)| *n == name).expect("golden file");
    let bytes = hex(text);
    assert_eq!(
        u32::from_ne_bytes(bytes[..4].try_into().unwrap()) as usize,
        bytes.len(),
        "{name}: nlmsg_len"
    );
    bytes
}

/// Every captured kernel reply, by name.
pub(crate) fn replies() -> Vec<(&'static str, Vec<u8>)> {
    FILES
        .iter()
        .filter(|(n, _)| n.ends_with("_reply"))
        .map(|(n, _)| (*n, load(n)))
        .collect()
}

fn family_of(capture: &[u8]) -> u16 {
    u16::from_ne_bytes([capture[4], capture[5]])
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Asserts that `request` encodes to exactly the captured message, but for
/// the sequence and port numbers (bytes 8..16), which differ every run.
#[track_caller]
fn assert_same(name: &str, request: Request) {
    let golden = load(name);
    let ours = request.encode(family_of(&golden));
    assert_eq!(ours[..8], golden[..8], "{name}: length, type, flags");
    assert_eq!(ours[16..], golden[16..], "{name}: body");
}

/// The top-level attributes of a request, after the 20 header bytes.
fn top(message: &[u8]) -> Vec<RawNla<'_>> {
    walk(&message[20..], "golden")
        .collect::<crate::Result<_>>()
        .unwrap()
}

/// Add and edit of a destination: the DEST nest is byte for byte
/// ipvsadm's (both send every destination field), the SERVICE nest is the
/// start of ipvsadm's (which fills every service field where the kernel
/// reads only the identity).
#[track_caller]
fn assert_prefix_dest_equal(name: &str, request: Request) {
    let golden = load(name);
    let ours = request.encode(family_of(&golden));
    assert_prefix(name, request);
    let dest = |m: &[u8]| {
        top(m)
            .into_iter()
            .find(|a| a.kind == IPVS_CMD_ATTR_DEST)
            .map(|a| a.value.to_vec())
            .unwrap_or_else(|| panic!("{name}: no DEST nest"))
    };
    assert_eq!(dest(&ours), dest(&golden), "{name}: DEST nest");
}

/// For requests where `lvs` sends less than ipvsadm: the same command and
/// flags, the same attributes in the same order, and each nest of ours is
/// byte for byte the start of ipvsadm's (ipvsadm fills every service
/// field even where the kernel reads only the identity, and every
/// destination field on delete).
#[track_caller]
fn assert_prefix(name: &str, request: Request) {
    let golden = load(name);
    let ours = request.encode(family_of(&golden));
    assert_eq!(ours[4..8], golden[4..8], "{name}: type, flags");
    assert_eq!(ours[16..20], golden[16..20], "{name}: genl header");
    let (o, g) = (top(&ours), top(&golden));
    assert_eq!(o.len(), g.len(), "{name}: attribute count");
    for (o, g) in o.iter().zip(&g) {
        assert_eq!(o.kind, g.kind, "{name}");
        assert!(
            g.value.starts_with(o.value),
            "{name}: nest {} is not a prefix",
            o.kind
        );
        // and what we send is whole attributes of theirs
        let ours_attrs: Vec<_> = walk(o.value, "o").collect::<crate::Result<_>>().unwrap();
        assert!(!ours_attrs.is_empty());
    }
}

#[test]
fn service_requests_are_byte_for_byte_ipvsadms() {
    let t = ServiceId::tcp(sa("10.0.0.1:80"));
    assert_same(
        "add_service_tcp4_rr",
        Request::add_service(&Service::new(t).with_scheduler(Scheduler::RoundRobin)).unwrap(),
    );
    let u6 = Service::new(ServiceId::udp(sa("[2001:db8::1]:53")))
        .with_scheduler(Scheduler::SourceHashing)
        .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT)
        .with_persistence(600)
        .with_netmask(Netmask::Ipv6(64));
    assert_same(
        "add_service_udp6_sh_persistent",
        Request::add_service(&u6).unwrap(),
    );
    let fw = Service::new(ServiceId::fwmark(42))
        .with_persistence(360)
        .with_netmask(Netmask::prefix(AddressFamily::Ipv4, 24).unwrap())
        .with_persistence_engine("sip");
    assert_same("add_service_fwmark_pe", Request::add_service(&fw).unwrap());
    let sctp = Service::new(ServiceId::sctp(sa("10.0.0.3:3868")))
        .with_scheduler(Scheduler::MaglevHashing)
        .with_flags(ServiceFlags::MH_PORT);
    assert_same(
        "add_service_sctp_mh_ops",
        Request::add_service(&sctp).unwrap(),
    );
    let edited = Service::new(t)
        .with_scheduler(Scheduler::WeightedRoundRobin)
        .with_persistence(30);
    assert_same("edit_service", Request::update_service(&edited).unwrap());
}

#[test]
fn global_requests_are_byte_for_byte_ipvsadms() {
    assert_same("flush", Request::flush());
    assert_same("get_info", Request::get_info());
    assert_same("get_config", Request::get_config());
    let t = ConnectionTimeouts {
        tcp: 100,
        tcp_fin: 20,
        udp: 30,
    };
    assert_same("set_timeouts", Request::set_config(&t).unwrap());
}

#[test]
fn destination_requests_match_ipvsadms() {
    let t = ServiceId::tcp(sa("10.0.0.1:80"));
    let masq = Destination::new(sa("10.0.1.1:8080"))
        .with_weight(3)
        .with_thresholds(100, 50);
    assert_prefix_dest_equal(
        "add_dest_masq",
        Request::add_destination(&t, &masq).unwrap(),
    );
    let route = Destination::new(sa("10.0.1.2:80"))
        .with_forwarding(Forwarding::DirectRouting)
        .with_weight(70000);
    assert_prefix_dest_equal(
        "add_dest_route",
        Request::add_destination(&t, &route).unwrap(),
    );
    let gue = Destination::new(sa("10.0.1.4:80")).with_forwarding(Forwarding::Tunnel(
        Tunnel::gue(6080).with_flags(TunnelFlags::CSUM),
    ));
    assert_prefix_dest_equal("add_dest_gue", Request::add_destination(&t, &gue).unwrap());
    let gre =
        Destination::new(sa("[2001:db8::5]:80")).with_forwarding(Forwarding::Tunnel(Tunnel::gre()));
    assert_prefix_dest_equal(
        "add_dest_gre_mixed",
        Request::add_destination(&t, &gre).unwrap(),
    );
    let edit = Destination::new(sa("10.0.1.1:8080")).with_weight(0);
    assert_prefix_dest_equal("edit_dest", Request::update_destination(&t, &edit).unwrap());
    assert_prefix(
        "del_dest",
        Request::delete_destination(&t, sa("10.0.1.2:80")).unwrap(),
    );
    assert_prefix("del_service", Request::delete_service(&t).unwrap());
    assert_prefix("zero_service", Request::zero(Some(&t)).unwrap());
}

#[test]
fn destination_nests_are_byte_for_byte_ipvsadms() {
    // The DEST nest of add and edit carries every field, as ipvsadm's does.
    let t = ServiceId::tcp(sa("10.0.0.1:80"));
    let gue = Destination::new(sa("10.0.1.4:80")).with_forwarding(Forwarding::Tunnel(
        Tunnel::gue(6080).with_flags(TunnelFlags::CSUM),
    ));
    let golden = load("add_dest_gue");
    let ours = Request::add_destination(&t, &gue)
        .unwrap()
        .encode(family_of(&golden));
    assert_eq!(top(&ours)[1].value, top(&golden)[1].value);
}

#[test]
fn dump_requests_match_ipvsadms_but_for_the_ack_flag() {
    // ipvsadm (libnl) asks for an ACK on dumps too; the kernel sends none
    // after NLMSG_DONE, so lvs does not ask.
    for (name, request) in [
        ("get_services_dump", Request::dump_services()),
        (
            "get_dests_dump",
            Request::dump_destinations(&ServiceId::tcp(sa("10.0.0.1:80"))).unwrap(),
        ),
    ] {
        let golden = load(name);
        let ours = request.encode(family_of(&golden));
        let flags = |m: &[u8]| u16::from_ne_bytes([m[6], m[7]]);
        assert_eq!(
            flags(&golden),
            flags(&ours) | netlink_packet_core::NLM_F_ACK,
            "{name}"
        );
        assert_eq!(ours[..6], golden[..6], "{name}");
        assert_eq!(ours[16..], golden[16..], "{name}");
    }
}

fn payload(name: &str) -> Vec<u8> {
    load(name)[16..].to_vec()
}

#[test]
fn kernel_service_replies_decode() {
    let s = parse_service_reply(&payload("service_tcp4_reply")).unwrap();
    assert_eq!(
        s.service,
        Service::new(ServiceId::tcp(sa("10.0.0.1:80")))
            .with_scheduler(Scheduler::WeightedRoundRobin)
            .with_persistence(30)
    );
    // The kernel sent flags 0x3: PERSISTENT and its internal HASHED.
    assert_eq!(s.service.flags, ServiceFlags::PERSISTENT);
    assert_eq!(s.stats, Stats::default());
    assert!(s.unknown.is_empty());

    let f = parse_service_reply(&payload("service_fwmark_reply")).unwrap();
    assert_eq!(
        f.service,
        Service::new(ServiceId::fwmark(42))
            .with_persistence(360)
            .with_netmask(Netmask::Ipv4("255.255.255.0".parse().unwrap()))
            .with_persistence_engine("sip")
    );
    let u = parse_service_reply(&payload("service_udp6_reply")).unwrap();
    assert_eq!(
        u.service,
        Service::new(ServiceId::udp(sa("[2001:db8::1]:53")))
            .with_scheduler(Scheduler::SourceHashing)
            .with_flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT)
            .with_persistence(600)
            .with_netmask(Netmask::Ipv6(64))
    );
}

#[test]
fn kernel_destination_replies_decode() {
    let m = parse_dest_reply(&payload("dest_masq_reply"), AddressFamily::Ipv4).unwrap();
    assert_eq!(
        m.destination,
        Destination::new(sa("10.0.1.1:8080")).with_weight(0)
    );
    assert_eq!(
        (
            m.active_connections,
            m.inactive_connections,
            m.persistent_connections
        ),
        (0, 0, 0)
    );
    let g = parse_dest_reply(&payload("dest_gue_reply"), AddressFamily::Ipv4).unwrap();
    assert_eq!(
        g.destination,
        Destination::new(sa("10.0.1.4:80")).with_forwarding(Forwarding::Tunnel(
            Tunnel::gue(6080).with_flags(TunnelFlags::CSUM)
        ))
    );
    let x = parse_dest_reply(&payload("dest_gre_mixed_reply"), AddressFamily::Ipv4).unwrap();
    assert_eq!(
        x.destination,
        Destination::new(sa("[2001:db8::5]:80")).with_forwarding(Forwarding::Tunnel(Tunnel::gre()))
    );
}

#[test]
fn kernel_info_and_config_replies_decode() {
    let info = parse_info(&payload("get_info_reply")).unwrap();
    assert_eq!(info.version.to_string(), "1.2.1");
    assert_eq!(info.connection_table_size, 4096);
    assert_eq!(
        parse_config(&payload("get_config_reply")).unwrap(),
        ConnectionTimeouts {
            tcp: 100,
            tcp_fin: 20,
            udp: 30
        }
    );
}

/// The parser a captured reply is meant for, by the reply's name.
fn parse_as(name: &str, payload: &[u8]) -> crate::Result<()> {
    if name.starts_with("service_") {
        parse_service_reply(payload).map(drop)
    } else if name.starts_with("dest_") {
        parse_dest_reply(payload, AddressFamily::Ipv4).map(drop)
    } else if name == "get_info_reply" {
        parse_info(payload).map(drop)
    } else if name == "get_config_reply" {
        parse_config(payload).map(drop)
    } else {
        panic!("{name}: no parser named for this reply; add it to parse_as")
    }
}

#[test]
fn every_truncation_of_every_reply_is_an_error_not_a_panic() {
    let replies = replies();
    assert!(replies.len() >= 8, "the captured replies are all here");
    for (name, bytes) in replies {
        let p = &bytes[16..];
        // The whole reply parses...
        parse_as(name, p).unwrap_or_else(|e| panic!("{name}: whole reply: {e}"));
        for cut in 0..p.len() {
            let short = &p[..cut];
            // ...and a reply cut anywhere (so missing at least part of an
            // attribute the kernel always sends) is an error for its own
            // parser, never a value with a silent 0 in it.
            let result = parse_as(name, short);
            assert!(
                result.is_err(),
                "{name} cut at {cut} of {} bytes parsed as Ok",
                p.len()
            );
            // The other parsers never panic on it either.
            let _ = parse_service_reply(short);
            let _ = parse_dest_reply(short, AddressFamily::Ipv6);
            let _ = parse_info(short);
            let _ = parse_config(short);
        }
    }
}

/// `payload` (genl header, then one nest) without the nest's attribute
/// number `skip` (counted from 0), the nest's length fixed.
fn without_inner(payload: &[u8], skip: usize) -> Option<Vec<u8>> {
    let nest = top_level(payload).into_iter().next()?;
    let inner: Vec<_> = walk(nest.value, "golden")
        .collect::<crate::Result<_>>()
        .unwrap();
    if skip >= inner.len() {
        return None;
    }
    let mut body = Vec::new();
    for (i, a) in inner.iter().enumerate() {
        if i != skip {
            let len = 4 + a.value.len();
            body.extend_from_slice(&(len as u16).to_ne_bytes());
            body.extend_from_slice(&a.raw_kind.to_ne_bytes());
            body.extend_from_slice(a.value);
            body.resize(body.len().next_multiple_of(4), 0);
        }
    }
    let mut out = payload[..4].to_vec();
    out.extend_from_slice(&((4 + body.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&nest.raw_kind.to_ne_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

fn top_level(payload: &[u8]) -> Vec<RawNla<'_>> {
    walk(&payload[4..], "golden")
        .collect::<crate::Result<_>>()
        .unwrap()
}

#[test]
fn a_reply_without_an_attribute_the_kernel_always_sends_is_an_error() {
    // Kinds the kernel sends in every service/destination nest; the rest
    // (pe_name; tunnel fields and the address family, which older kernels
    // lack) may be absent. One stats nest of the two is enough.
    let service_always = [1, 6, 7, 8, 9];
    let dest_always = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    let mut checked = 0;
    for (name, bytes) in replies() {
        let p = &bytes[16..];
        let always: &[u16] = if name.starts_with("service_") {
            &service_always
        } else if name.starts_with("dest_") {
            &dest_always
        } else {
            continue;
        };
        let nest = top_level(p).into_iter().next().unwrap();
        let inner: Vec<_> = walk(nest.value, "golden")
            .collect::<crate::Result<_>>()
            .unwrap();
        for (i, a) in inner.iter().enumerate() {
            let short = without_inner(p, i).unwrap();
            let result = parse_as(name, &short);
            let has_both_stats =
                inner.iter().any(|x| x.kind == 10) && inner.iter().any(|x| x.kind == 12);
            let required = always.contains(&a.kind)
                // the identity: protocol/addr/port, or fwmark
                || (name.starts_with("service_") && (2..=5).contains(&a.kind))
                || ((a.kind == 10 || a.kind == 12) && !has_both_stats);
            if required {
                assert!(
                    result.is_err(),
                    "{name} without attribute {} parsed",
                    a.kind
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "{checked} removals checked");
}

/// The fuzz corpus (`fuzz/corpus/decode_reply`, real datagrams from the
/// guest, `scripts/capture-corpus`) holds every kind of input the decoders
/// meet, and the crate reads each as what it is.
#[test]
fn fuzz_corpus_has_every_kind_of_datagram() {
    use crate::netlink::message::{Control, Messages};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode_reply");
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let datagram = std::fs::read(&path).unwrap();
        let messages: Vec<_> = Messages::new(&datagram)
            .collect::<crate::Result<_>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if messages.len() > 1 {
            seen.insert("multi-message datagram");
        }
        for m in &messages {
            match m.control().unwrap_or_else(|e| panic!("{name}: {e}")) {
                Control::Ack => {
                    seen.insert("ack");
                }
                Control::Done => {
                    seen.insert("done");
                }
                Control::Failed {
                    message: Some(text),
                    ..
                } => {
                    assert!(!text.is_empty(), "{name}");
                    seen.insert("error with extended ACK message");
                }
                Control::Failed {
                    offset: Some(_), ..
                } => {
                    seen.insert("error with extended ACK offset");
                }
                Control::Failed { .. } => {
                    seen.insert("error");
                }
                Control::Data if name.starts_with("rtnl-getlink") => {
                    crate::link::parse_link(m.payload).unwrap_or_else(|e| panic!("{name}: {e}"));
                    seen.insert("rtnetlink link");
                }
                Control::Data if name.starts_with("rtnl-getaddr") => {
                    crate::link::parse_address(m.payload).unwrap_or_else(|e| panic!("{name}: {e}"));
                    seen.insert("rtnetlink address");
                }
                Control::Data if name.starts_with("genl-ctrl-ipvs") => {
                    crate::netlink::genl::parse_family_reply(m.payload)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    seen.insert("genl controller");
                }
                Control::Data if name.starts_with("ipvs-get-services") => {
                    parse_service_reply(m.payload).unwrap_or_else(|e| panic!("{name}: {e}"));
                    seen.insert("ipvs service");
                }
                Control::Data if name.starts_with("ipvs-get-dests") => {
                    parse_dest_reply(m.payload, AddressFamily::Ipv4)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    seen.insert("ipvs destination");
                }
                Control::Data if name.starts_with("ipvs-get-daemons") => {
                    parse_daemon_reply(m.payload).unwrap_or_else(|e| panic!("{name}: {e}"));
                    seen.insert("ipvs daemon");
                }
                _ => {}
            }
        }
    }
    for kind in [
        "multi-message datagram",
        "ack",
        "done",
        "error",
        "error with extended ACK message",
        "rtnetlink link",
        "rtnetlink address",
        "genl controller",
        "ipvs service",
        "ipvs destination",
        "ipvs daemon",
    ] {
        assert!(seen.contains(kind), "no {kind} in {}", dir.display());
    }
}
