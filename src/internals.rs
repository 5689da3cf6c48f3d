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
    ipvs.family
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
