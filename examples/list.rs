//! Lists the IPVS table of the current network namespace, in the form of
//! `ipvsadm -Ln`.
mod common;

use common::{Args, die, print_table};

const USAGE: &str = "\
list — print the IPVS table of this network namespace, as `ipvsadm -Ln` does

usage: list

Needs CAP_NET_ADMIN. Try it in a namespace of its own:
    sudo ip netns add demo && sudo ip netns exec demo target/debug/examples/list";

fn main() {
    Args::new(USAGE).done();
    let ipvs = lvs::Ipvs::open().unwrap_or_else(|e| die("opening IPVS", e));
    print_table(&ipvs);
}
