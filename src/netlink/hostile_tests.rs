//! Crafted "kernel" replies, table-driven: a fake kernel (a second netlink
//! socket, the only peer the transport is connected to) answers a service
//! dump with truncated datagrams, lying lengths, wrong types, missing
//! attributes, wrong sequence numbers or ports. Each ends in its typed
//! error: never a panic, a hang, or a reply taken for another request's.
//! The table is published in docs/bad-input.md.

use std::time::Duration;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_USERSOCK};

use super::message::build_message;
use super::socket::Transport;
use crate::error::Error;
use crate::ipvs::reply::parse_service_reply;

/// The message type the fake kernel's IPVS family has.
const FAMILY: u16 = 0x30;
const NLM_F_MULTI: u16 = 2;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLM_F_ACK_TLVS: u16 = 0x200;

/// A real `GET_SERVICE` reply (Linux 6.1, tests/golden), its payload.
fn service_payload() -> Vec<u8> {
    let (_, bytes) = crate::golden::replies()
        .into_iter()
        .find(|(name, _)| name.starts_with("service_tcp4"))
        .expect("golden service reply");
    bytes[16..].to_vec()
}

fn msg(ty: u16, flags: u16, seq: u32, port: u32, payload: &[u8]) -> Vec<u8> {
    let len = 16 + payload.len();
    let mut m = Vec::with_capacity(len + 3);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&port.to_ne_bytes());
    m.extend_from_slice(payload);
    m.resize(m.len().next_multiple_of(4), 0);
    m
}

fn done(seq: u32, port: u32) -> Vec<u8> {
    msg(NLMSG_DONE, NLM_F_MULTI, seq, port, &0i32.to_ne_bytes())
}

fn error(code: i32, flags: u16, seq: u32, port: u32, tail: &[u8]) -> Vec<u8> {
    let mut p = code.to_ne_bytes().to_vec();
    p.extend_from_slice(&msg(FAMILY, 0, seq, port, &[]));
    p.extend_from_slice(tail);
    msg(NLMSG_ERROR, flags | 0x100, seq, port, &p)
}

/// The service payload with its nest's attribute `kind` replaced by
/// `value` (or removed if `None`).
fn service_with(kind: u16, value: Option<&[u8]>) -> Vec<u8> {
    let p = service_payload();
    let mut nest = Vec::new();
    let inner = &p[8..];
    let mut i = 0;
    while i + 4 <= inner.len() {
        let n = u16::from_ne_bytes([inner[i], inner[i + 1]]) as usize;
        let k = u16::from_ne_bytes([inner[i + 2], inner[i + 3]]) & 0x3fff;
        let v = &inner[i + 4..i + n];
        let v = if k == kind { value } else { Some(v) };
        if let Some(v) = v {
            nest.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
            nest.extend_from_slice(&k.to_ne_bytes());
            nest.extend_from_slice(v);
            nest.resize(nest.len().next_multiple_of(4), 0);
        }
        i += n.next_multiple_of(4);
    }
    let mut out = p[..4].to_vec();
    out.extend_from_slice(&((4 + nest.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&1u16.to_ne_bytes());
    out.extend_from_slice(&nest);
    out
}

type Reply = Box<dyn Fn(u32, u32) -> Vec<Vec<u8>>>;

/// Runs a service dump against a fake kernel that answers with the
/// datagrams `reply(seq, port)` gives; returns the dump's outcome.
fn dump_against(reply: &Reply) -> crate::Result<usize> {
    let mut kernel = Socket::new(NETLINK_USERSOCK).unwrap();
    let kernel_port = kernel.bind_auto().unwrap().port_number();
    let mut t = Transport::open_to(NETLINK_USERSOCK, kernel_port).unwrap();
    t.set_reply_timeout(Duration::from_millis(100)).unwrap();
    let to = SocketAddr::new(t.port(), 0);
    // The sequence number of the transport's next request is 1: the
    // answers are queued before it is sent.
    for d in reply(1, t.port()) {
        kernel.send_to(&d, &to, 0).unwrap();
    }
    let mut req = build_message(FAMILY, NLM_F_REQUEST | NLM_F_DUMP, &[1, 1, 0, 0], |_| {});
    let mut n = 0;
    t.request(&mut req, "GET_SERVICE", FAMILY, &mut |p| {
        parse_service_reply(p)?;
        n += 1;
        Ok(())
    })
    .map(|()| n)
}

fn kind(e: &Error) -> String {
    let d = format!("{e:?}");
    d.split(['(', ' ', '{']).next().unwrap_or("").to_string()
}

/// A dump of one data message of `payload`, then its end: a payload the
/// parser refuses is reported when the dump has been read to its end (the
/// socket is left clean for the next request).
fn dm(seq: u32, port: u32, payload: &[u8]) -> Vec<Vec<u8>> {
    vec![
        msg(FAMILY, NLM_F_MULTI, seq, port, payload),
        done(seq, port),
    ]
}

fn one(m: Vec<u8>) -> Vec<Vec<u8>> {
    vec![m]
}

fn cases() -> Vec<(&'static str, &'static str, Reply)> {
    let svc = |flags: u16, seq: u32, port: u32| {
        msg(FAMILY, flags | NLM_F_MULTI, seq, port, &service_payload())
    };
    vec![
        (
            "a datagram of 10 bytes (shorter than a header)",
            "Decode",
            Box::new(move |s, p| one(svc(0, s, p)[..10].to_vec())),
        ),
        (
            "nlmsg_len 8 (below the header)",
            "Decode",
            Box::new(move |s, p| {
                let mut m = svc(0, s, p);
                m[..4].copy_from_slice(&8u32.to_ne_bytes());
                one(m)
            }),
        ),
        (
            "nlmsg_len past the datagram",
            "Decode",
            Box::new(move |s, p| {
                let mut m = svc(0, s, p);
                m[..4].copy_from_slice(&4000u32.to_ne_bytes());
                one(m)
            }),
        ),
        (
            "a service message cut in its attributes",
            "Decode",
            Box::new(move |s, p| {
                let m = svc(0, s, p);
                let mut c = m[..100].to_vec();
                c[..4].copy_from_slice(&100u32.to_ne_bytes());
                vec![c, done(s, p)]
            }),
        ),
        (
            "generic netlink header cut (2 bytes)",
            "Decode",
            Box::new(|s, p| dm(s, p, &[1, 1])),
        ),
        (
            "empty generic netlink payload",
            "Decode",
            Box::new(|s, p| dm(s, p, &[])),
        ),
        (
            "no service nest",
            "Decode",
            Box::new(|s, p| dm(s, p, &[1, 1, 0, 0])),
        ),
        (
            "nest length lying (past the message)",
            "Decode",
            Box::new(|s, p| {
                let mut pl = service_payload();
                pl[4..6].copy_from_slice(&2000u16.to_ne_bytes());
                dm(s, p, &pl)
            }),
        ),
        (
            "attribute length 2 (below its header)",
            "Decode",
            Box::new(|s, p| {
                let mut pl = service_payload();
                pl[8..10].copy_from_slice(&2u16.to_ne_bytes());
                dm(s, p, &pl)
            }),
        ),
        (
            "address family missing",
            "Decode",
            Box::new(|s, p| dm(s, p, &service_with(1, None))),
        ),
        (
            "address family 1 byte",
            "Decode",
            Box::new(|s, p| dm(s, p, &service_with(1, Some(&[2])))),
        ),
        (
            "address family unknown (99)",
            "Decode",
            Box::new(|s, p| dm(s, p, &service_with(1, Some(&99u16.to_ne_bytes())))),
        ),
        (
            "protocol and address missing, no mark",
            "Decode",
            Box::new(|s, p| {
                let mut pl = service_with(2, None);
                pl = {
                    let t = pl;
                    let mut m = msg(0, 0, 0, 0, &t);
                    m.drain(..16);
                    m
                };
                dm(s, p, &pl)
            }),
        ),
        (
            "port of 3 bytes",
            "Decode",
            Box::new(|s, p| dm(s, p, &service_with(4, Some(&[0, 80, 0])))),
        ),
        (
            "address of 3 bytes",
            "Decode",
            Box::new(|s, p| dm(s, p, &service_with(3, Some(&[10, 0, 0])))),
        ),
        (
            "flags of 4 bytes (flags and mask are 8)",
            "Decode",
            Box::new(|s, p| dm(s, p, &service_with(7, Some(&[0; 4])))),
        ),
        (
            "stats64 field of 2 bytes",
            "Decode",
            Box::new(|s, p| dm(s, p, &service_with(12, Some(&[6, 0, 1, 0, 1, 2, 0, 0])))),
        ),
        (
            "a reply of another message type",
            "Protocol",
            Box::new(move |s, p| {
                let mut m = svc(0, s, p);
                m[4..6].copy_from_slice(&(FAMILY + 1).to_ne_bytes());
                vec![m, done(s, p)]
            }),
        ),
        (
            "an error message without its code",
            "Decode",
            Box::new(|s, p| one(msg(NLMSG_ERROR, 0, s, p, &[0xff, 0xff]))),
        ),
        (
            "an error (EPERM) with a lying echoed length and extended ACK",
            "Kernel",
            Box::new(|s, p| {
                let mut e = (-1i32).to_ne_bytes().to_vec();
                e.extend_from_slice(&u32::MAX.to_ne_bytes());
                one(msg(NLMSG_ERROR, NLM_F_ACK_TLVS, s, p, &e))
            }),
        ),
        (
            "an error with errno i32::MIN",
            "Kernel",
            Box::new(|s, p| one(error(i32::MIN, 0, s, p, &[]))),
        ),
        (
            "an error whose extended ACK text is unterminated",
            "Kernel",
            Box::new(|s, p| {
                one(error(
                    -22,
                    NLM_F_ACK_TLVS,
                    s,
                    p,
                    &[8, 0, 1, 0, b'b', b'a', b'd', b'!'],
                ))
            }),
        ),
        (
            "a dump end carrying an error (-ENOMEM)",
            "Kernel",
            Box::new(move |s, p| {
                vec![
                    svc(0, s, p),
                    msg(NLMSG_DONE, NLM_F_MULTI, s, p, &(-12i32).to_ne_bytes()),
                ]
            }),
        ),
        (
            "an overrun",
            "Protocol",
            Box::new(|s, p| one(msg(NLMSG_OVERRUN, 0, s, p, &[]))),
        ),
        (
            "a dump marked interrupted",
            "DumpInterrupted",
            Box::new(move |s, p| vec![svc(NLM_F_DUMP_INTR, s, p), done(s, p)]),
        ),
        (
            "every answer with the wrong sequence number",
            "Timeout",
            Box::new(move |s, p| {
                vec![
                    svc(0, s + 1, p),
                    done(s + 1, p),
                    error(-1, 0, s.wrapping_sub(1), p, &[]),
                ]
            }),
        ),
        (
            "every answer with another port",
            "Timeout",
            Box::new(move |s, p| vec![svc(0, s, p + 1), done(s, p + 1), error(-1, 0, s, 0, &[])]),
        ),
        (
            "a plain ack instead of a dump end",
            "Timeout",
            Box::new(|s, p| one(error(0, 0, s, p, &[]))),
        ),
        ("no answer at all", "Timeout", Box::new(|_, _| vec![])),
        (
            "a datagram larger than the receive slot",
            "Protocol",
            Box::new(move |s, p| {
                let m = svc(0, s, p);
                let mut d = Vec::new();
                while d.len() <= super::socket::RECV_SIZE {
                    d.extend_from_slice(&m);
                }
                vec![d]
            }),
        ),
    ]
}

#[test]
fn every_crafted_kernel_reply_gets_its_typed_error() {
    // The fake kernel's real answer first: the harness works.
    let good: Reply = Box::new(|s, p| {
        let m = msg(FAMILY, NLM_F_MULTI, s, p, &service_payload());
        vec![[m.clone(), m].concat(), done(s, p)]
    });
    assert_eq!(dump_against(&good).unwrap(), 2);
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut wrong = Vec::new();
    for (what, want, reply) in &cases {
        match dump_against(reply) {
            Ok(n) => wrong.push(format!("{what}: accepted ({n} services)")),
            Err(e) if kind(&e) != *want => {
                wrong.push(format!("{what}: {} ({e}), not {want}", kind(&e)))
            }
            Err(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn another_socket_cannot_send_to_a_connected_transport() {
    let mut kernel = Socket::new(NETLINK_USERSOCK).unwrap();
    let kernel_port = kernel.bind_auto().unwrap().port_number();
    let t = Transport::open_to(NETLINK_USERSOCK, kernel_port).unwrap();
    let mut other = Socket::new(NETLINK_USERSOCK).unwrap();
    other.bind_auto().unwrap();
    let err = other
        .send_to(&done(1, t.port()), &SocketAddr::new(t.port(), 0), 0)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
}
