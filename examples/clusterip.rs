//! The IPVS rule set kube-proxy programs for a ClusterIP Service, rebuilt
//! with `lvs` in the current network namespace.
//!
//! - the dummy link `kube-ipvs0`, created if missing and never set up (as
//!   kube-proxy leaves it), with the ClusterIP bound /32 (/128 for IPv6):
//!   the address gives the kernel a `local` route, so packets to it are
//!   delivered locally, where IPVS picks them up;
//! - one virtual service ClusterIP:port, scheduler `rr`, and one NAT
//!   (masquerade) destination of weight 1 per ready endpoint.
//!
//! It is desired state, applied with `Ipvs::apply` scoped to this one
//! service: a second run changes nothing, other services are never
//! touched. `--cleanup` removes the service, the ClusterIP from
//! `kube-ipvs0` (unless another virtual service still uses it), and
//! `kube-ipvs0` itself once no address is left on it.
mod common;

use common::Args;
use common::kube::{Node, OPTIONS_USAGE, Options};

const USAGE: &str = "\
clusterip — kube-proxy's IPVS rules for a ClusterIP Service, in this network namespace

usage: clusterip [--cluster-ip ADDR] [--port PORT] [--endpoint ADDR:PORT]... [OPTIONS]
       clusterip --cleanup [the same options]

Binds the ClusterIP on the dummy link kube-ipvs0 (created if missing, left
down, as kube-proxy does) and makes the virtual service ClusterIP:PORT (rr)
with one masquerading destination of weight 1 per endpoint, as
`ipvsadm -A -t VIP:PORT -s rr; ipvsadm -a -t VIP:PORT -r POD:80 -m -w 1` would.
Idempotent: a second run changes nothing. Other services, links and
addresses are never touched. Prints what changed, then the table as
`ipvsadm -Ln` does.

  --cluster-ip ADDR      the Service's ClusterIP (default 10.96.0.10)
";

const USAGE_TAIL: &str = "
defaults: nginx pods 10.244.1.5:80 and 10.244.2.7:80 behind 10.96.0.10:8080

example:
    sudo ip netns add demo
    sudo ip netns exec demo target/debug/examples/clusterip
    sudo ip netns exec demo target/debug/examples/clusterip --cleanup";

fn main() {
    let usage: &'static str = format!("{USAGE}{OPTIONS_USAGE}\n{USAGE_TAIL}").leak();
    let mut args = Args::new(usage);
    let opts = Options::parse(&mut args, "10.96.0.10", &["10.244.1.5:80", "10.244.2.7:80"]);
    args.done();
    let rules = opts.rule_set(opts.service("nginx"), "node-a", &[]);
    Node::open().run(&rules, opts.cleanup);
}
