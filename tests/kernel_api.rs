//! The API's promises against the kernel: one spelling per value (an
//! apply of what was read is idle), typed errors with their meaning, the
//! reply timeout set at open, a dump abandoned half-way does not break the
//! next request, and refused values change nothing.

mod common;

use std::time::Duration;

use common::*;
use lvs::*;

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn values_spelled_by_number_or_name_apply_idle_and_read_back_as_written() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // Spelled as a number and as a name: the same kernel values as Tcp and
    // RoundRobin, so a second apply changes nothing (before the values were
    // normalised, every apply re-created or updated these services).
    let id = ServiceId::Inet {
        protocol: Protocol::from(6),
        addr: sa("10.96.0.10:80"),
    };
    let desired = [VirtualServer::new(
        Service::new(id)
            .with_scheduler(Scheduler::from("rr"))
            .with_persistence(10800),
    )
    .with_destination(Destination::new(sa("10.244.1.5:80")))
    .with_destination(
        Destination::new(sa("10.244.1.6:80"))
            .with_forwarding(Forwarding::try_from(3).unwrap())
            .with_weight(5),
    )];
    let first = ipvs.apply(&desired, &ApplyOptions::new()).unwrap();
    assert!(first.is_ok() && first.changes() == 3, "{first:?}");
    let again = ipvs.apply(&desired, &ApplyOptions::new()).unwrap();
    assert_eq!(again.changes(), 0, "{again:?}");
    // What is read back is what was written, as VirtualServers, and
    // applying it is idle too (read-modify-apply without glue).
    let mut read = ipvs.virtual_servers().unwrap();
    assert_eq!(read.len(), 1);
    read[0].destinations.sort_by_key(|d| d.addr);
    assert_eq!(read, desired);
    assert_eq!(
        ipvs.apply(&read, &ApplyOptions::new()).unwrap().changes(),
        0
    );
    assert_eq!(read[0].service.id.to_string(), "TCP 10.96.0.10:80");
    assert_eq!(read[0].service.scheduler, Scheduler::RoundRobin);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn values_the_kernel_would_change_are_refused_and_nothing_is_sent() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let before = ns.exec("ipvsadm", &["-Sn"]);
    let hashed = Service::new(ServiceId::fwmark(1)).with_flags(ServiceFlags::from_bits_retain(0x2));
    assert!(matches!(
        ipvs.add_service(&hashed),
        Err(Error::Invalid {
            field: "service.flags",
            ..
        })
    ));
    let daemon = SyncDaemon {
        max_len: Some(0),
        ..SyncDaemon::new(SyncRole::Master, "lo", 1)
    };
    assert!(matches!(
        ipvs.start_daemon(&daemon),
        Err(Error::Invalid {
            field: "daemon.max_len",
            ..
        })
    ));
    assert!(ipvs.daemons().unwrap().is_empty());
    assert_eq!(ns.exec("ipvsadm", &["-Sn"]), before);
    // The largest value the kernel keeps reads back as written.
    let daemon = SyncDaemon {
        max_len: Some(65507),
        ..SyncDaemon::new(SyncRole::Master, "lo", 1)
    };
    ipvs.start_daemon(&daemon).unwrap();
    let running = ipvs.daemons().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].max_len, Some(65507));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn kernel_errors_carry_their_meaning_for_the_request() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // A sync daemon on a missing interface: no such link.
    let e = ipvs
        .start_daemon(&SyncDaemon::new(SyncRole::Backup, "nosuch0", 1))
        .unwrap_err();
    assert!(
        matches!(&e, Error::LinkNotFound(k) if k.request == "NEW_DAEMON"),
        "{e:?}"
    );
    assert!(e.is_not_found());
    assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::NotFound);
    // Every "no such" is not-found, and maps to io::ErrorKind::NotFound.
    let missing = ServiceId::tcp(sa("10.96.0.99:80"));
    for e in [
        ipvs.service(&missing).unwrap_err(),
        ipvs.delete_destination(&missing, sa("10.0.0.1:80"))
            .unwrap_err(),
        ipvs.stop_daemon(SyncRole::Master).unwrap_err(),
        ipvs.add_service(&Service::new(missing).with_scheduler(Scheduler::from("nosuch")))
            .unwrap_err(),
    ] {
        assert!(e.is_not_found(), "{e:?}");
        assert!(std::error::Error::source(&e).is_none() || e.kernel().is_some());
        assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::NotFound);
    }
    // A new destination the namespace cannot route (lo down, no route):
    // EINVAL, with the reason the kernel does not give.
    let bare = TestNetns::bare();
    let bare_ipvs = bare.ipvs();
    let id = ServiceId::tcp(sa("10.96.0.10:80"));
    bare_ipvs.add_service(&Service::new(id)).unwrap();
    let e = bare_ipvs
        .add_destination(&id, &Destination::new(sa("10.244.1.5:80")))
        .unwrap_err();
    match &e {
        Error::InvalidArgument(k) => {
            assert_eq!(k.request, "NEW_DEST");
            assert!(k.hint.unwrap().contains("routable"), "{k}");
            assert!(e.to_string().contains("routable"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // KernelError is an error of its own.
    let k: &dyn std::error::Error = e.kernel().unwrap();
    assert!(k.to_string().contains("NEW_DEST"));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn the_reply_timeout_is_set_at_open_and_a_zero_is_refused() {
    let ns = TestNetns::new();
    let ipvs = Ipvs::builder()
        .netns_path(ns.path())
        .reply_timeout(Duration::from_millis(1500))
        .open()
        .unwrap();
    assert_eq!(ipvs.reply_timeout(), Duration::from_millis(1500));
    assert!(matches!(
        ipvs.set_reply_timeout(Duration::ZERO),
        Err(Error::Invalid {
            field: "reply_timeout",
            ..
        })
    ));
    assert_eq!(ipvs.reply_timeout(), Duration::from_millis(1500));
    let file = std::fs::File::open(ns.path()).unwrap();
    let by_fd = Ipvs::builder().netns_fd(&file).unwrap().open().unwrap();
    by_fd
        .add_service(&Service::new(ServiceId::fwmark(3)))
        .unwrap();
    assert_eq!(ipvs.services().unwrap().len(), 1, "the same namespace");
    // A zero timeout at open is refused before anything is opened.
    assert!(matches!(
        Ipvs::builder()
            .netns_path(ns.path())
            .reply_timeout(Duration::ZERO)
            .open(),
        Err(Error::Invalid { .. })
    ));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn a_panic_in_a_dump_callback_does_not_break_the_next_request() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    // Enough services for the dump to take several rounds, so that it is
    // still open on the socket when the callback panics.
    let mut batch = Batch::new();
    for i in 1..=2000 {
        batch
            .push(Op::AddService(Service::new(ServiceId::fwmark(i))))
            .unwrap();
    }
    assert!(ipvs.apply_batch(&batch).unwrap().is_ok());
    for round in 0..3 {
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ipvs.for_each_service(|_| panic!("callback panics in round {round}"))
        }));
        assert!(panicked.is_err());
        // The next dump on the same socket works and sees every service
        // once (before, it failed with EBUSY).
        let count = 2000 + round as usize;
        assert_eq!(ipvs.services().unwrap().len(), count);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ipvs.for_each_service_with_destinations(|_, _| panic!("and here"))
        }));
        assert!(panicked.is_err());
        assert_eq!(ipvs.services_with_destinations().unwrap().len(), count);
        ipvs.add_service(&Service::new(ServiceId::fwmark(5000 + round)))
            .unwrap();
    }
}

/// Without the right to enter the namespace, opening a handle in it is
/// `PermissionDenied`, as opening one without `CAP_NET_ADMIN` is. The
/// check runs in a child process of this test binary that drops every
/// capability (setpriv), so the test process keeps its own.
#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn opening_in_a_namespace_without_privilege_is_permission_denied() {
    if let Ok(path) = std::env::var("LVS_TEST_UNPRIVILEGED_OPEN") {
        let e = Ipvs::open_in_netns_path(&path).unwrap_err();
        assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
        let e = Links::open_in_netns_path(&path).unwrap_err();
        assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
        let e = Ipvs::open().unwrap_err();
        assert!(matches!(e, Error::PermissionDenied(_)), "{e:?}");
        return;
    }
    let ns = TestNetns::new();
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(&me)
        .args([
            "--exact",
            "opening_in_a_namespace_without_privilege_is_permission_denied",
            "--ignored",
            "--nocapture",
        ])
        .env("LVS_TEST_UNPRIVILEGED_OPEN", ns.path())
        .output()
        .expect("setpriv (util-linux) runs the unprivileged child");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
}
