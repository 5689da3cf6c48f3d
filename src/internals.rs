//! Entry points for the fuzz targets and the benchmarks (feature
//! `internals`). Not part of the supported API: no stability promise.

use crate::ipvs::reply::{
    parse_config, parse_daemon_reply, parse_dest_reply, parse_info, parse_service_reply,
};
use crate::ipvs::service::AddressFamily;
use crate::netlink::genl::parse_family_reply;
use crate::netlink::message::Messages;

/// Runs every parser of the crate over `datagram` as if the kernel had
/// sent it: the message walk, control messages with their extended ACK,
/// and each message's payload as every kind of reply (service,
/// destination of either family, daemon, info, config, the generic
/// netlink controller's family reply, and rtnetlink link and address
/// messages). Returns how many parses succeeded.
/// It must never panic, whatever the bytes.
pub fn decode_datagram(datagram: &[u8]) -> usize {
    let mut decoded = 0;
    for msg in Messages::new(datagram) {
        let Ok(msg) = msg else { break };
        let _ = msg.control();
        let p = msg.payload;
        decoded += [
            parse_service_reply(p).is_ok(),
            parse_dest_reply(p, AddressFamily::Ipv4).is_ok(),
            parse_dest_reply(p, AddressFamily::Ipv6).is_ok(),
            parse_daemon_reply(p).is_ok(),
            parse_info(p).is_ok(),
            parse_config(p).is_ok(),
            parse_family_reply(p).is_ok(),
            crate::link::parse_link(p).is_ok(),
            crate::link::parse_address(p).is_ok(),
        ]
        .iter()
        .filter(|ok| **ok)
        .count();
    }
    decoded
}

/// One entry point per decoder of outside bytes, for the per-decoder fuzz
/// targets (fuzz/fuzz_targets/). Each takes arbitrary bytes, runs one
/// parser over them and says whether it accepted them. None may panic.
pub mod decode {
    use crate::ipvs::reply::{
        parse_config, parse_daemon_reply, parse_dest_reply, parse_info, parse_service_reply,
    };
    use crate::ipvs::service::AddressFamily;
    use crate::ipvs::stats::Stats;
    use crate::netlink::message::{Control, Messages};

    /// The message walk over a datagram and each message's classification
    /// (ack, error with its extended ACK, done, overrun, data). Returns how
    /// many messages were walked.
    pub fn messages(datagram: &[u8]) -> usize {
        let mut n = 0;
        for msg in Messages::new(datagram) {
            let Ok(msg) = msg else { break };
            let _ = msg.control();
            n += 1;
        }
        n
    }

    /// An error message (`NLMSG_ERROR`) with the flags `flags` and the
    /// payload `payload`: its code, echoed request and extended ACK.
    /// Returns the errno if it was an error.
    pub fn error(flags: u16, payload: &[u8]) -> Option<i32> {
        let msg = crate::netlink::message::Message {
            message_type: netlink_packet_core::NLMSG_ERROR,
            flags,
            seq: 0,
            port: 0,
            payload,
        };
        match msg.control() {
            Ok(Control::Failed { errno, .. }) => Some(errno),
            _ => None,
        }
    }

    /// A generic netlink payload as an IPVS service reply.
    pub fn service(payload: &[u8]) -> bool {
        parse_service_reply(payload).is_ok()
    }

    /// A generic netlink payload as an IPVS destination reply, for an IPv4
    /// (`v6` false) or IPv6 service.
    pub fn destination(payload: &[u8], v6: bool) -> bool {
        let family = if v6 {
            AddressFamily::Ipv6
        } else {
            AddressFamily::Ipv4
        };
        parse_dest_reply(payload, family).is_ok()
    }

    /// A stats nest, 64-bit (`wide`) or legacy.
    pub fn stats(nest: &[u8], wide: bool) -> bool {
        Stats::parse(nest, wide).is_ok()
    }

    /// A generic netlink payload as the `GET_CONFIG` (timeouts) reply.
    pub fn config(payload: &[u8]) -> bool {
        parse_config(payload).is_ok()
    }

    /// A generic netlink payload as the `GET_INFO` reply.
    pub fn info(payload: &[u8]) -> bool {
        parse_info(payload).is_ok()
    }

    /// A generic netlink payload as a sync daemon reply.
    pub fn daemon(payload: &[u8]) -> bool {
        parse_daemon_reply(payload).is_ok()
    }

    /// An rtnetlink payload as a link (`RTM_NEWLINK`) reply.
    pub fn link(payload: &[u8]) -> bool {
        crate::link::parse_link(payload).is_ok()
    }

    /// An rtnetlink payload as an address (`RTM_NEWADDR`) reply.
    pub fn address(payload: &[u8]) -> bool {
        crate::link::parse_address(payload).is_ok()
    }

    /// A generic netlink payload as the controller's family reply.
    pub fn genl_family(payload: &[u8]) -> bool {
        crate::netlink::genl::parse_family_reply(payload).is_ok()
    }
}

/// A batch as the datagrams [`Ipvs::apply_batch`](crate::Ipvs::apply_batch)
/// sends (sequence numbers left 0).
#[derive(Debug, Clone)]
pub struct EncodedBatch(Vec<crate::batch::Window>);

impl EncodedBatch {
    /// The datagrams, in order.
    pub fn datagrams(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|w| w.bytes())
    }
}

/// Encodes `batch` for family `family`.
pub fn encode_batch(batch: &crate::Batch, family: u16) -> EncodedBatch {
    EncodedBatch(batch.datagrams(family))
}

/// The message [`Ipvs::add_service`](crate::Ipvs::add_service) sends.
pub fn encode_add_service(service: &crate::Service, family: u16) -> crate::Result<Vec<u8>> {
    Ok(crate::ipvs::request::Request::add_service(service)?.encode(family))
}

/// Decodes every service of a `GET_SERVICE` dump datagram.
pub fn decode_services(datagram: &[u8]) -> crate::Result<Vec<crate::ServiceEntry>> {
    let mut out = Vec::new();
    for msg in Messages::new(datagram) {
        out.push(parse_service_reply(msg?.payload)?);
    }
    Ok(out)
}

/// The limit of batched writes: sends pre-encoded datagrams (from
/// [`encode_batch`]) back to back, without waiting between them, and
/// waits only for the acknowledgement of the very last message. Only for
/// batches that cannot fail (errors are not collected).
pub fn send_encoded(ipvs: &crate::Ipvs, batch: &mut EncodedBatch) -> crate::Result<()> {
    ipvs.send_encoded(&mut batch.0)
}

/// The family id the handle resolved.
pub fn family(ipvs: &crate::Ipvs) -> u16 {
    ipvs.family()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    // The stable-Rust stand-in for the fuzz targets in fuzz/: random
    // mutations of real kernel replies (the golden captures), and random
    // bytes, through every parser. The only assertion is "no panic".
    #[test]
    fn mutated_kernel_replies_never_panic() {
        let seeds: Vec<Vec<u8>> = crate::golden::replies()
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        assert!(seeds.len() >= 5);
        for seed in &seeds {
            assert!(decode_datagram(seed) > 0, "a real reply must decode");
        }
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        for _ in 0..100_000 {
            let mut data = seeds[rng.below(seeds.len())].clone();
            for _ in 0..=rng.below(4) {
                match rng.below(5) {
                    0 => {
                        let i = rng.below(data.len());
                        data[i] = rng.next() as u8;
                    }
                    1 => data.truncate(rng.below(data.len() + 1)),
                    2 if data.len() >= 2 => {
                        // a length field (message or attribute) set to garbage
                        let i = rng.below(data.len() - 1) & !3;
                        let v = (rng.next() as u16).to_ne_bytes();
                        data[i] = v[0];
                        data[i + 1] = v[1];
                    }
                    3 => {
                        let extra = data.clone();
                        data.extend_from_slice(&extra[..rng.below(extra.len())]);
                    }
                    _ => {
                        let i = rng.below(data.len());
                        data.insert(i, rng.next() as u8);
                    }
                }
                if data.is_empty() {
                    break;
                }
            }
            decode_datagram(&data);
        }
        for len in 0..2000 {
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            decode_datagram(&data);
        }
    }
}
