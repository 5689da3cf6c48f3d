//! Host-side benchmarks of the codec: no kernel needed.
//!
//!     cargo bench --features internals --bench codec
//!
//! Prints the median time per iteration of: encoding one service add,
//! encoding a 10,000-service batch, and decoding a 10,000-service dump
//! (built from the kernel's own reply format: the golden capture of a
//! Linux 6.1 `GET_SERVICE` reply, re-addressed 10,000 times).

#[path = "support/harness.rs"]
mod harness;

use std::net::{Ipv4Addr, SocketAddr};

use harness::bench;
use lvs::{Batch, Destination, Op, Scheduler, Service, ServiceId, internals};

fn golden_service_reply() -> Vec<u8> {
    let text = include_str!("../tests/golden/service_tcp4_reply.hex");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// 10,000 TCP services with 4 destinations each, queued in a batch.
fn ten_thousand_by_four() -> Batch {
    let mut batch = Batch::new();
    for i in 0..10_000u32 {
        let id = ServiceId::tcp(SocketAddr::new(Ipv4Addr::from(0x0a60_0000 + i).into(), 80));
        batch.push(Op::AddService(Service::new(id))).unwrap();
        for j in 0..4 {
            let pod = SocketAddr::new(Ipv4Addr::from(0x0af4_0000 + i * 4 + j).into(), 8080);
            batch
                .push(Op::AddDestination(id, Destination::new(pod)))
                .unwrap();
        }
    }
    batch
}

fn main() {
    let svc = Service::new(ServiceId::tcp("10.96.0.10:8080".parse().unwrap()))
        .with_scheduler(Scheduler::RoundRobin)
        .with_persistence(10800);
    bench("encode one NEW_SERVICE", || {
        internals::encode_add_service(&svc, 28).unwrap()
    });

    let batch = ten_thousand_by_four();
    bench("encode a 10,000 x 4 batch (50,000 messages)", || {
        internals::encode_batch(&batch, 28)
    });
    bench(
        "queue a 10,000 x 4 batch (validate + build)",
        ten_thousand_by_four,
    );

    // A dump of 10,000 services as the kernel sends it: the captured reply
    // (360 bytes) with the address bytes (at offset 44) changed each time.
    let one = golden_service_reply();
    let mut dump = Vec::with_capacity(one.len() * 10_000);
    for i in 0..10_000u32 {
        let mut m = one.clone();
        m[44..48].copy_from_slice(&Ipv4Addr::from(0x0a60_0000 + i).octets());
        dump.extend_from_slice(&m);
    }
    let decoded = internals::decode_services(&dump).unwrap();
    assert_eq!(decoded.len(), 10_000);
    assert_eq!(
        decoded[9_999].service.id,
        ServiceId::tcp("10.96.39.15:80".parse().unwrap())
    );
    bench("decode a 10,000-service dump", || {
        internals::decode_services(&dump).unwrap()
    });
}
