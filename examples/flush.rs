//! Deletes every virtual service of the current network namespace.
mod common;

use common::{Args, die};

const USAGE: &str = "\
flush — delete every virtual service (and destination) of this network namespace

usage: flush";

fn main() {
    Args::new(USAGE).done();
    let ipvs = lvs::Ipvs::open().unwrap_or_else(|e| die("opening IPVS", e));
    let n = ipvs
        .services()
        .map(|s| s.len())
        .unwrap_or_else(|e| die("listing", e));
    ipvs.flush().unwrap_or_else(|e| die("flushing", e));
    println!("flushed {n} services");
}
