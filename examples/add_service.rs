//! Adds one virtual service.
mod common;

use common::{Args, die};
use lvs::{Ipvs, Scheduler, Service};

const USAGE: &str = "\
add_service — add a virtual service

usage: add_service [--scheduler NAME] [--persistent SECONDS] tcp|udp|sctp ADDR:PORT
       add_service [--scheduler NAME] [--persistent SECONDS] fwmark MARK [--ipv6]

  --scheduler NAME      rr, wrr, lc, wlc (default), lblc, lblcr, dh, sh, sed,
                        nq, fo, ovf, mh, twos, none, or any name the kernel knows
  --persistent SECONDS  client affinity for that long (ipvsadm -p)

example: add_service --scheduler rr tcp 10.96.0.10:8080";

fn main() {
    let mut args = Args::new(USAGE);
    let scheduler: String = args.value("--scheduler", "wlc".to_string());
    let persistent: Option<u32> = args.values("--persistent").pop().map(|v| {
        v.parse()
            .unwrap_or_else(|_| args.fail("--persistent takes seconds"))
    });
    let id = args.service_id();
    args.done();
    let mut service = Service::new(id).with_scheduler(Scheduler::from(scheduler.as_str()));
    if let Some(t) = persistent {
        service = service.with_persistence(t);
    }
    let ipvs = Ipvs::open().unwrap_or_else(|e| die("opening IPVS", e));
    ipvs.add_service(&service)
        .unwrap_or_else(|e| die(&format!("adding {id}"), e));
    println!("added {id} ({})", service.scheduler);
}
