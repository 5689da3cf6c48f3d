//! Batched writes against the kernel: every operation's verdict comes back
//! against that operation, for 1 operation and for 100,000.

mod common;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};

use common::*;
use lvs::*;

fn svc_id(i: u32) -> ServiceId {
    ServiceId::tcp(SocketAddr::new(Ipv4Addr::from(0x0a40_0000 + i).into(), 80))
}

fn dest(i: u32, j: u32) -> Destination {
    Destination::new(SocketAddr::new(
        Ipv4Addr::from(0x0b00_0000 + i * 4 + j).into(),
        8080,
    ))
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn a_batch_of_one() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let mut batch = Batch::new();
    batch.push(Op::AddService(Service::new(svc_id(1)))).unwrap();
    let report = ipvs.apply_batch(&batch).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.succeeded(), 1);
    assert_eq!(ipvs.services().unwrap().len(), 1);
    // The same batch again fails, reported against its one operation.
    let report = ipvs.apply_batch(&batch).unwrap();
    let failures = report.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].index, 0);
    assert_eq!(failures[0].op, Op::AddService(Service::new(svc_id(1))));
    assert!(matches!(&failures[0].error, Error::AlreadyExists(k) if k.request == "NEW_SERVICE"));
    // An empty batch does nothing.
    assert!(ipvs.apply_batch(&Batch::new()).unwrap().is_ok());
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn failures_are_reported_against_their_operations_and_the_rest_applies() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let a = ServiceId::tcp(sa("10.0.0.1:80"));
    let b = ServiceId::udp(sa("[2001:db8::1]:53"));
    let missing = ServiceId::tcp(sa("10.0.0.9:80"));
    let mut batch = Batch::new();
    batch.push(Op::AddService(Service::new(a))).unwrap(); // 0 ok
    batch.push(Op::AddService(Service::new(a))).unwrap(); // 1 EEXIST
    batch
        .push(Op::AddDestination(
            missing,
            Destination::new(sa("10.0.1.1:80")),
        ))
        .unwrap(); // 2 ESRCH
    batch
        .push(Op::AddService(
            Service::new(b).with_scheduler(Scheduler::from("nosuch")),
        ))
        .unwrap(); // 3 ENOENT
    batch.push(Op::AddService(Service::new(b))).unwrap(); // 4 ok
    batch
        .push(Op::AddDestination(a, Destination::new(sa("10.0.1.1:80"))))
        .unwrap(); // 5 ok
    batch
        .push(Op::DeleteDestination(a, sa("10.0.1.2:80")))
        .unwrap(); // 6 ENOENT
    batch
        .push(Op::AddDestination(a, Destination::new(sa("224.0.0.1:80"))))
        .unwrap(); // 7 EINVAL
    batch
        .push(Op::UpdateDestination(
            a,
            Destination::new(sa("10.0.1.1:80")).with_weight(7),
        ))
        .unwrap(); // 8 ok
    batch.push(Op::DeleteService(missing)).unwrap(); // 9 ESRCH
    batch
        .push(Op::AddDestination(
            b,
            Destination::new(sa("[2001:db8::2]:53")),
        ))
        .unwrap(); // 10 ok, last
    // Refused at queueing time, so not in the batch:
    assert!(
        batch
            .push(Op::AddDestination(
                a,
                Destination::new(sa("10.0.1.3:80")).with_thresholds(1, 2)
            ))
            .is_err()
    );
    assert_eq!(batch.len(), 11);

    let report = ipvs.apply_batch(&batch).unwrap();
    let failed: Vec<(usize, String)> = report
        .failures()
        .iter()
        .map(|f| {
            let kind = format!("{:?}", f.error);
            (f.index, kind.split('(').next().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        failed,
        vec![
            (1, "AlreadyExists".into()),
            (2, "ServiceNotFound".into()),
            (3, "SchedulerUnavailable".into()),
            (6, "DestinationNotFound".into()),
            (7, "InvalidArgument".into()),
            (9, "ServiceNotFound".into()),
        ]
    );
    assert_eq!(report.succeeded(), 5);
    // What succeeded is in the kernel.
    assert_eq!(ipvs.services().unwrap().len(), 2);
    let dests = ipvs.destinations(&a).unwrap();
    assert_eq!(dests.len(), 1);
    assert_eq!(dests[0].destination.weight, 7);
    assert_eq!(ipvs.destinations(&b).unwrap().len(), 1);

    // A failing last operation still ends its window (its error is the ack).
    let mut tail = Batch::new();
    tail.push(Op::AddService(Service::new(ServiceId::fwmark(5))))
        .unwrap();
    tail.push(Op::AddService(Service::new(a))).unwrap();
    let report = ipvs.apply_batch(&tail).unwrap();
    assert_eq!(
        report
            .failures()
            .iter()
            .map(|f| f.index)
            .collect::<Vec<_>>(),
        vec![1]
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn a_hundred_thousand_operations_succeeding_and_failing() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // 20,000 services x 4 destinations = 100,000 operations.
    let mut batch = Batch::new();
    for i in 0..20_000 {
        batch
            .push(Op::AddService(
                Service::new(svc_id(i)).with_scheduler(Scheduler::RoundRobin),
            ))
            .unwrap();
        for j in 0..4 {
            batch
                .push(Op::AddDestination(svc_id(i), dest(i, j)))
                .unwrap();
        }
    }
    assert_eq!(batch.len(), 100_000);
    let report = ipvs.apply_batch(&batch).unwrap();
    assert!(report.is_ok(), "{:?}", report.failures().first());
    let mut seen = HashSet::new();
    ipvs.for_each_service(|e| {
        seen.insert(e.service.id);
        Ok(())
    })
    .unwrap();
    assert_eq!(seen.len(), 20_000);
    assert_eq!(ipvs.destinations(&svc_id(19_999)).unwrap().len(), 4);

    // The same 100,000 again: every one fails, and every failure is
    // reported (no ENOBUFS, none lost), each against its operation.
    let report = ipvs.apply_batch(&batch).unwrap();
    assert_eq!(report.succeeded(), 0);
    let mut n = 0;
    for Failure {
        index: i,
        op,
        error: e,
        ..
    } in report.failures()
    {
        let (k, r) = ((i / 5) as u32, (i % 5) as u32);
        let expected = match r {
            0 => Op::AddService(Service::new(svc_id(k)).with_scheduler(Scheduler::RoundRobin)),
            _ => Op::AddDestination(svc_id(k), dest(k, r - 1)),
        };
        assert_eq!(op, &expected);
        assert!(matches!(e, Error::AlreadyExists(_)), "{i}: {e:?}");
        n += 1;
    }
    assert_eq!(n, 100_000);

    // Delete them all in one batch.
    let mut delete = Batch::new();
    for i in 0..20_000 {
        delete.push(Op::DeleteService(svc_id(i))).unwrap();
    }
    assert!(ipvs.apply_batch(&delete).unwrap().is_ok());
    assert!(ipvs.services().unwrap().is_empty());
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn one_pass_read_of_services_with_destinations() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // 3,000 services with 0 to 4 destinations, and a few with 300, whose
    // dumps take several datagrams (so the dumps pipelined after them are
    // refused with EBUSY and must be sent again).
    let count = |i: u32| if i % 500 == 7 { 300 } else { i % 5 };
    let mut batch = Batch::new();
    for i in 0..3_000 {
        batch.push(Op::AddService(Service::new(svc_id(i)))).unwrap();
        for j in 0..count(i) {
            batch
                .push(Op::AddDestination(svc_id(i), dest(i * 100, j)))
                .unwrap();
        }
    }
    assert!(ipvs.apply_batch(&batch).unwrap().is_ok());
    let mut seen = HashSet::new();
    ipvs.for_each_service_with_destinations(|s, dests| {
        let i = u32::from(match s.service.id {
            ServiceId::Inet { addr, .. } => match addr.ip() {
                std::net::IpAddr::V4(v4) => v4,
                _ => unreachable!(),
            },
            _ => unreachable!(),
        }) - 0x0a40_0000;
        assert_eq!(dests.len() as u32, count(i), "service {i}");
        let want: HashSet<SocketAddr> = (0..count(i)).map(|j| dest(i * 100, j).addr).collect();
        let got: HashSet<SocketAddr> = dests.iter().map(|d| d.destination.addr).collect();
        assert_eq!(got, want, "service {i}");
        assert!(seen.insert(i));
        Ok(())
    })
    .unwrap();
    assert_eq!(seen.len(), 3_000);
    // The same through the collecting form, and equal to one-by-one reads.
    let all = ipvs.services_with_destinations().unwrap();
    assert_eq!(all.len(), 3_000);
    for (s, d) in all.iter().step_by(97) {
        let one = ipvs.destinations(&s.service.id);
        match one {
            Ok(one) => assert_eq!(&one, d),
            Err(e) => panic!("{e}"),
        }
    }
    // An error from the callback stops delivery and comes back; the handle
    // stays usable.
    let mut calls = 0;
    let e = ipvs
        .for_each_service_with_destinations(|_, _| {
            calls += 1;
            Err(Error::Protocol("stop".into()))
        })
        .unwrap_err();
    assert!(matches!(e, Error::Protocol(m) if m == "stop"));
    assert_eq!(calls, 1);
    assert_eq!(ipvs.services().unwrap().len(), 3_000);
    assert_eq!(ipvs.services_with_destinations().unwrap().len(), 3_000);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn a_writer_sends_window_by_window_and_reports_like_a_batch() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // 600 services, each added twice: every second add fails.
    let mut writer = ipvs.batch_writer();
    for i in 0..600 {
        writer
            .push(Op::AddService(Service::new(svc_id(i))))
            .unwrap();
        writer
            .push(Op::AddService(Service::new(svc_id(i))))
            .unwrap();
    }
    // A bad value is refused and not queued.
    let bad = Destination::new(sa("10.0.1.3:80")).with_thresholds(1, 2);
    assert!(matches!(
        writer.push(Op::AddDestination(svc_id(0), bad)),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(writer.len(), 1200);
    // The full windows (4 x 256 operations = 512 services) are already in
    // the kernel; the rest waits for `finish`.
    assert_eq!(ipvs.services().unwrap().len(), 512);
    let report = writer.finish().unwrap();
    assert_eq!(report.len(), 1200);
    assert_eq!(report.succeeded(), 600);
    let mut n = 0;
    for Failure {
        index: i,
        op,
        error: e,
        ..
    } in report.failures()
    {
        assert_eq!(i % 2, 1);
        assert_eq!(op, &Op::AddService(Service::new(svc_id(*i as u32 / 2))));
        assert!(
            matches!(e, Error::AlreadyExists(k) if k.request == "NEW_SERVICE"),
            "{e:?}"
        );
        n += 1;
    }
    assert_eq!(n, 600);
    assert_eq!(ipvs.services().unwrap().len(), 600);

    // Nothing queued: nothing sent, an empty report.
    let report = ipvs.batch_writer().finish().unwrap();
    assert!(report.is_ok() && report.is_empty());

    // A writer dropped without `finish` still sends what it holds.
    {
        let mut writer = ipvs.batch_writer();
        writer.push(Op::DeleteService(svc_id(0))).unwrap();
        writer
            .push(Op::AddDestination(
                svc_id(1),
                Destination::new(sa("10.0.1.1:80")),
            ))
            .unwrap();
    }
    assert_eq!(ipvs.services().unwrap().len(), 599);
    assert_eq!(ipvs.destinations(&svc_id(1)).unwrap().len(), 1);
}
