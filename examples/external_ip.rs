//! The IPVS rule set kube-proxy programs for a Service with
//! `externalIPs`, rebuilt with `lvs` in the current network namespace.
//!
//! - the ClusterIP service, as `clusterip` makes it (the ClusterIP /32 or
//!   /128 on the dummy link `kube-ipvs0`, virtual service ClusterIP:port,
//!   `rr`, one NAT destination of weight 1 per endpoint);
//! - the same virtual service on each external IP (external IP:port),
//!   with the same destinations (externalTrafficPolicy Cluster);
//! - each external IP bound on `kube-ipvs0` too, so that the node takes
//!   its packets, unless it is already a local address on another link
//!   (then it is left where it is, and `--cleanup` does not touch it).
//!
//! Desired state, applied with `Ipvs::apply` scoped to exactly these
//! services: a second run changes nothing, other services are never
//! touched. `--cleanup` removes the services, the addresses it bound on
//! `kube-ipvs0` (unless another virtual service still uses one), and
//! `kube-ipvs0` itself once no address is left on it.
mod common;

use common::Args;
use common::kube::{Node, OPTIONS_USAGE, Options, VIP_LINK};

const USAGE: &str = "\
external_ip — kube-proxy's IPVS rules for a Service with externalIPs, in
this network namespace

usage: external_ip [--cluster-ip ADDR] [--external-ip ADDR]... [--endpoint ADDR:PORT]... [OPTIONS]
       external_ip --cleanup [the same options]

Makes the ClusterIP service (ClusterIP bound on the dummy link kube-ipvs0,
virtual service ClusterIP:PORT, rr, one masquerading destination of weight
1 per endpoint) and the same virtual service on each external IP, binding
the external IP on kube-ipvs0 too unless it is already a local address on
another link. Idempotent; other services, links and addresses are never
touched. Prints what changed, then the table as `ipvsadm -Ln` does.

  --cluster-ip ADDR      the Service's ClusterIP (default 10.96.0.12)
  --external-ip ADDR     an external IP of the Service; repeat for more
                         (default 203.0.113.10)
";

const USAGE_TAIL: &str = "
defaults: nginx pods 10.244.1.5:80 and 10.244.2.7:80 behind 10.96.0.12:8080
and 203.0.113.10:8080

example:
    sudo ip netns exec demo target/debug/examples/external_ip --external-ip 198.51.100.7";

fn main() {
    let usage: &'static str = format!("{USAGE}{OPTIONS_USAGE}\n{USAGE_TAIL}").leak();
    let mut args = Args::new(usage);
    let opts = Options::parse(&mut args, "10.96.0.12", &["10.244.1.5:80", "10.244.2.7:80"]);
    let mut external = opts.addresses(&mut args, "--external-ip");
    if external.is_empty() {
        external.push("203.0.113.10".parse().unwrap());
    }
    args.done();
    if external
        .iter()
        .any(|ip| *ip == opts.cluster_ip || external.iter().filter(|x| *x == ip).count() > 1)
    {
        args.fail("each --external-ip must be given once and differ from the ClusterIP");
    }

    let node = Node::open();
    let mut svc = opts.service("web");
    svc.external_ips = external.clone();
    let rules = opts.rule_set(svc, "node-a", &node.node_addresses(opts.cluster_ip));
    for &ip in &external {
        if !rules.addresses.contains(&ip) {
            let link = node.local_elsewhere(ip).unwrap_or_default();
            println!("external IP {ip} is local on {link}: not bound on {VIP_LINK}");
        }
    }
    node.run(&rules, opts.cleanup);
}
