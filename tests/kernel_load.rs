//! Load: 50,000 services x 4 destinations created, read and flushed with
//! nothing lost; the peak memory of the streaming paths measured and
//! bounded; 8 threads x 10,000 mixed operations on one handle with no
//! reply crossing callers. Times are printed, never asserted.

mod common;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use common::*;
use lvs::*;

const SERVICES: u32 = 50_000;
const DESTS: u32 = 4;
/// The most the streaming create and the one-pass read may add to the
/// process's peak resident memory, for the whole table (250,000 entries);
/// collecting it takes about 19 MiB (measured in the UML guest).
const STREAMING_PEAK_LIMIT: u64 = 8 << 20;

/// The tests of this file run one at a time: peak memory is the
/// process's, and the other test's threads would count in it.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn vip(i: u32) -> ServiceId {
    ServiceId::tcp((Ipv4Addr::from(0x0a60_0000 + i), 80).into())
}

fn dest(j: u32) -> SocketAddr {
    (Ipv4Addr::from(0x0af4_0000 + j), 8080).into()
}

/// `VmHWM` (peak resident set) and `VmRSS` of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
            * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Runs `f` and returns its result with how far it raised the peak
/// resident memory above the resident memory before it (the peak is reset
/// first: `5` into `/proc/self/clear_refs`).
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, u64) {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let (_, before) = memory();
    let out = f();
    let (peak, _) = memory();
    (out, peak.saturating_sub(before))
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn fifty_thousand_services_by_four_created_read_and_flushed_in_bounded_memory() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // Warm up (the receive slots, the allocator) outside the measures.
    ipvs.services().unwrap();

    let t = Instant::now();
    let (report, create_peak) = peak_of(|| {
        let mut w = ipvs.batch_writer();
        for i in 0..SERVICES {
            w.push(Op::AddService(Service::new(vip(i)))).unwrap();
            for j in 0..DESTS {
                w.push(Op::AddDestination(vip(i), Destination::new(dest(j))))
                    .unwrap();
            }
        }
        w.finish().unwrap()
    });
    let create_time = t.elapsed();
    assert!(report.is_ok(), "{} failures", report.failures().len());
    assert_eq!(report.len(), (SERVICES * (1 + DESTS)) as usize);

    let t = Instant::now();
    // What was read is tallied in a bitmap of 50,000 bits, so that the
    // peak is the read's own.
    let ((seen, dests), read_peak) = peak_of(|| {
        let (mut seen, mut dests) = (vec![false; SERVICES as usize], 0usize);
        ipvs.for_each_service_with_destinations(|s, d| {
            assert_eq!(d.len(), DESTS as usize, "{}", s.service.id);
            let ServiceId::Inet { addr, .. } = s.service.id else {
                panic!("{}", s.service.id)
            };
            let SocketAddr::V4(a) = addr else {
                panic!("{addr}")
            };
            let i = (u32::from(*a.ip()) - 0x0a60_0000) as usize;
            assert!(!std::mem::replace(&mut seen[i], true), "duplicate {addr}");
            dests += d.len();
            Ok(())
        })
        .unwrap();
        (seen, dests)
    });
    let read_time = t.elapsed();
    assert_eq!(dests, (SERVICES * DESTS) as usize);
    if let Some(i) = seen.iter().position(|s| !s) {
        panic!("{} lost", vip(i as u32));
    }
    // The collecting read, for comparison.
    let t = Instant::now();
    let (collected, collect_peak) = peak_of(|| ipvs.virtual_servers().unwrap());
    let collect_time = t.elapsed();
    assert_eq!(collected.len(), SERVICES as usize);
    drop(collected);

    let t = Instant::now();
    ipvs.flush().unwrap();
    let flush_time = t.elapsed();
    assert!(ipvs.services().unwrap().is_empty());

    println!(
        "load (UML guest): {SERVICES} services x {DESTS} destinations\n  \
         create (batch_writer, {} ops): {create_time:?}, peak +{}\n  \
         one-pass streaming read: {read_time:?}, peak +{}\n  \
         collecting read (virtual_servers): {collect_time:?}, peak +{}\n  \
         flush: {flush_time:?}",
        report.len(),
        mib(create_peak),
        mib(read_peak),
        mib(collect_peak),
    );
    assert!(
        create_peak < STREAMING_PEAK_LIMIT,
        "create: +{}",
        mib(create_peak)
    );
    assert!(
        read_peak < STREAMING_PEAK_LIMIT,
        "read: +{}",
        mib(read_peak)
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn eight_threads_of_ten_thousand_mixed_operations_on_one_handle() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let ns = TestNetns::new();
    let ipvs = Arc::new(ns.ipvs());
    let t = Instant::now();
    let threads: Vec<_> = (0..8u32)
        .map(|k| {
            let ipvs = ipvs.clone();
            std::thread::spawn(move || {
                let mut ops = 0;
                let mut round = 0u32;
                while ops < 10_000 {
                    // Thread k's own service and destinations.
                    let id = vip(k * 10_000 + round);
                    let d = |j: u32| dest(k * 1_000 + j);
                    ipvs.add_service(&Service::new(id)).unwrap();
                    for j in 0..3 {
                        ipvs.add_destination(&id, &Destination::new(d(j)).with_weight(k + 1))
                            .unwrap();
                    }
                    // Every answer is about this thread's request.
                    assert_eq!(ipvs.service(&id).unwrap().service.id, id);
                    let got: HashSet<SocketAddr> = ipvs
                        .destinations(&id)
                        .unwrap()
                        .iter()
                        .map(|e| {
                            assert_eq!(e.destination.weight, k + 1);
                            e.destination.addr
                        })
                        .collect();
                    assert_eq!(got, (0..3).map(d).collect());
                    ipvs.update_destination(&id, &Destination::new(d(0)).with_weight(100 + k))
                        .unwrap();
                    let err = ipvs.add_service(&Service::new(id)).unwrap_err();
                    assert!(matches!(err, Error::AlreadyExists(_)), "{err:?}");
                    ipvs.delete_destination(&id, d(1)).unwrap();
                    let err = ipvs.delete_destination(&id, d(1)).unwrap_err();
                    assert!(matches!(err, Error::DestinationNotFound(_)), "{err:?}");
                    let all = ipvs.services().unwrap();
                    let mine = all.iter().filter(|s| s.service.id == id).count();
                    assert_eq!(mine, 1);
                    ipvs.delete_service(&id).unwrap();
                    let err = ipvs.service(&id).unwrap_err();
                    assert!(matches!(err, Error::ServiceNotFound(_)), "{err:?}");
                    ops += 14;
                    round += 1;
                }
                ops
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(total >= 80_000);
    assert!(ipvs.services().unwrap().is_empty());
    println!(
        "8 threads on one handle: {total} mixed operations in {:?} (UML guest), no reply crossed",
        t.elapsed()
    );
}
