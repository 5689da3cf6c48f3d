//! The `lvs` side of `scripts/bench`: one step of the comparison scenario
//! per run, inside the network namespace it is run in (the script runs it
//! in a namespace of a User-Mode Linux guest). Prints `key value` lines.
//!
//!     peers canary                   cost of one cheap system call
//!     peers create MODE N D          N services x D destinations; MODE is
//!                                    single (one request at a time), batch
//!                                    (Ipvs::apply_batch of a Batch built
//!                                    first), stream (Ipvs::batch_writer,
//!                                    encoding while sending), apply (Ipvs::apply
//!                                    from empty) or limit (pre-encoded
//!                                    batches sent back to back, waiting only
//!                                    for the last acknowledgement)
//!     peers dump MODE N D            read everything back and check it; MODE
//!                                    is naive (services, then destinations
//!                                    per service) or onepass
//!     peers edit N                   change one service's scheduler (in-process time)
//!     peers idle-apply N D           apply the same rule set again
//!     peers flush
//!
//! Service i is TCP 10.96.0.0+i:80 (rr), its destination j 10.244.0.0+4i+j:8080
//! (masquerade, weight 1) — the same rules scripts/bench gives ipvsadm and
//! pyroute2.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::exit;
use std::time::Instant;

use lvs::{
    ApplyOptions, Batch, Destination, Ipvs, Op, Scheduler, Service, ServiceId, VirtualServer,
    internals,
};

fn service(i: u32) -> Service {
    let vip = Ipv4Addr::from(0x0a60_0000 + i);
    Service::new(ServiceId::tcp(SocketAddr::new(vip.into(), 80)))
        .with_scheduler(Scheduler::RoundRobin)
}

fn dest(i: u32, j: u32) -> Destination {
    Destination::new(SocketAddr::new(
        Ipv4Addr::from(0x0af4_0000 + i * 4 + j).into(),
        8080,
    ))
}

fn rule_set(n: u32, d: u32) -> Vec<VirtualServer> {
    (0..n)
        .map(|i| VirtualServer {
            service: service(i),
            destinations: (0..d).map(|j| dest(i, j)).collect(),
        })
        .collect()
}

fn batch(n: u32, d: u32) -> Batch {
    let mut b = Batch::new();
    for i in 0..n {
        let svc = service(i);
        let id = svc.id;
        b.push(Op::AddService(svc)).unwrap();
        for j in 0..d {
            b.push(Op::AddDestination(id, dest(i, j))).unwrap();
        }
    }
    b
}

fn arg(args: &[String], i: usize) -> u32 {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage())
}

fn usage() -> ! {
    eprintln!(
        "usage: peers canary | create MODE N D | dump MODE N D | edit N | idle-apply N D | flush"
    );
    exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(cmd) = args.first() else { usage() };
    if cmd == "canary" {
        // getppid(2): the cheapest system call there is.
        let n = 20_000;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(nix::unistd::getppid());
        }
        println!(
            "syscall_us {:.3}",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
        return;
    }
    let ipvs = Ipvs::open().unwrap_or_else(|e| {
        eprintln!("peers: {e}");
        exit(1)
    });
    match cmd.as_str() {
        "create" => {
            let (mode, n, d) = (
                args.get(1).map(String::as_str),
                arg(&args, 2),
                arg(&args, 3),
            );
            // Everything but the kernel round trips is prepared before the clock starts.
            let t;
            match mode {
                Some("single") => {
                    let rules = rule_set(n, d);
                    t = Instant::now();
                    for vs in &rules {
                        ipvs.add_service(&vs.service).unwrap();
                        for dst in &vs.destinations {
                            ipvs.add_destination(&vs.service.id, dst).unwrap();
                        }
                    }
                }
                Some("batch") => {
                    let built = Instant::now();
                    let b = batch(n, d);
                    println!("build_seconds {:.6}", built.elapsed().as_secs_f64());
                    t = Instant::now();
                    let report = ipvs.apply_batch(&b).unwrap();
                    assert!(report.is_ok());
                }
                Some("stream") => {
                    // Building the rules is part of the work here: the
                    // writer encodes each one as it is produced.
                    t = Instant::now();
                    let mut w = ipvs.batch_writer();
                    for i in 0..n {
                        let svc = service(i);
                        let id = svc.id;
                        w.push(Op::AddService(svc)).unwrap();
                        for j in 0..d {
                            w.push(Op::AddDestination(id, dest(i, j))).unwrap();
                        }
                    }
                    let report = w.finish().unwrap();
                    assert!(report.is_ok() && report.len() == (n * (d + 1)) as usize);
                }
                Some("apply") => {
                    let rules = rule_set(n, d);
                    t = Instant::now();
                    let report = ipvs.apply(&rules, &ApplyOptions::new()).unwrap();
                    assert!(report.is_ok() && report.changes() == (n * (d + 1)) as usize);
                }
                Some("limit") => {
                    let b = batch(n, d);
                    let mut encoded = internals::encode_batch(&b, internals::family(&ipvs));
                    t = Instant::now();
                    internals::send_encoded(&ipvs, &mut encoded).unwrap();
                }
                _ => usage(),
            }
            println!("seconds {:.6}", t.elapsed().as_secs_f64());
        }
        "dump" => {
            let (mode, n, d) = (
                args.get(1).map(String::as_str),
                arg(&args, 2),
                arg(&args, 3),
            );
            let t = Instant::now();
            let (services, dests) = match mode {
                Some("naive") => {
                    let services = ipvs.services().unwrap();
                    let mut dests = 0;
                    for s in &services {
                        dests += ipvs.destinations(&s.service.id).unwrap().len();
                    }
                    (services.len(), dests)
                }
                Some("onepass") => {
                    let (mut s, mut dd) = (0, 0);
                    ipvs.for_each_service_with_destinations(|_, d| {
                        s += 1;
                        dd += d.len();
                        Ok(())
                    })
                    .unwrap();
                    (s, dd)
                }
                _ => usage(),
            };
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(
                (services, dests),
                (n as usize, (n * d) as usize),
                "incomplete dump"
            );
            println!("seconds {secs:.6}");
        }
        "edit" => {
            let n = arg(&args, 1);
            let mut svc = service(n / 2);
            let current = ipvs.service(&svc.id).unwrap().service.scheduler;
            svc.scheduler = if current == Scheduler::RoundRobin {
                Scheduler::WeightedRoundRobin
            } else {
                Scheduler::RoundRobin
            };
            let t = Instant::now();
            ipvs.update_service(&svc).unwrap();
            println!("seconds {:.6}", t.elapsed().as_secs_f64());
        }
        "idle-apply" => {
            let rules = rule_set(arg(&args, 1), arg(&args, 2));
            let t = Instant::now();
            let report = ipvs.apply(&rules, &ApplyOptions::new()).unwrap();
            println!("seconds {:.6}", t.elapsed().as_secs_f64());
            println!("changes {}", report.changes());
        }
        "flush" => ipvs.flush().unwrap(),
        _ => usage(),
    }
}
