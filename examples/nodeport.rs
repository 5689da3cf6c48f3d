//! The IPVS rule set kube-proxy programs for a NodePort Service, rebuilt
//! with `lvs` in the current network namespace.
//!
//! - the ClusterIP service, as `clusterip` makes it (the ClusterIP /32 or
//!   /128 on the dummy link `kube-ipvs0`, virtual service ClusterIP:port,
//!   `rr`, one NAT destination of weight 1 per endpoint, every endpoint);
//! - one virtual service on the NodePort (default 30080) of every node
//!   address: each local address of the ClusterIP's family on any link
//!   except `kube-ipvs0`, loopback and IPv6 link-local ones
//!   (`Links::local_addresses_except`), or the addresses given with
//!   `--node-address` (kube-proxy's `--nodeport-addresses`). Node
//!   addresses are real, so nothing is bound for them. 127.0.0.1 is not
//!   one: kube-proxy's IPVS mode does not serve NodePorts on loopback.
//!
//! externalTrafficPolicy: with `--local` (Local) the NodePort services
//! get only the endpoints of this node (`--endpoint ADDR:PORT@NODE`,
//! `--node NAME`; an endpoint without `@NODE` is on no node of ours); the
//! ClusterIP service keeps every endpoint. If this node has no endpoint,
//! the NodePort services fall back to every endpoint, as kube-proxy's IPVS
//! mode does (kubernetes#97081) — traffic keeps flowing, though no longer
//! node-local; the example says so when it happens. Without `--local`
//! (Cluster) every service gets every endpoint.
//!
//! Desired state, applied with `Ipvs::apply` scoped to exactly these
//! services: a second run changes nothing, other services are never
//! touched. `--cleanup` removes the services on the node addresses found
//! at that time (run it before changing the node's addresses) and the
//! ClusterIP's, the ClusterIP from `kube-ipvs0` (unless another virtual
//! service still uses it), and `kube-ipvs0` once no address is left on it.
mod common;

use common::Args;
use common::kube::{Node, OPTIONS_USAGE, Options};

const USAGE: &str = "\
nodeport — kube-proxy's IPVS rules for a NodePort Service, in this network
namespace

usage: nodeport [--node-port PORT] [--local --node NAME] [--endpoint ADDR:PORT@NODE]... [OPTIONS]
       nodeport --cleanup [the same options]

Makes the ClusterIP service (ClusterIP bound on the dummy link kube-ipvs0,
virtual service ClusterIP:PORT, rr, one masquerading destination of weight
1 per endpoint) and a virtual service NODE_ADDR:NODE_PORT on every node
address: every local address of the ClusterIP's family except kube-ipvs0's,
loopback (so not 127.0.0.1) and IPv6 link-local ones. Idempotent; other
services, links and addresses are never touched. Prints what changed, then
the table as `ipvsadm -Ln` does.

  --cluster-ip ADDR      the Service's ClusterIP (default 10.96.0.13)
  --node-port PORT       the NodePort (default 30080)
  --node-address ADDR    serve the NodePort on ADDR only (repeatable), instead
                         of on every node address
  --local                externalTrafficPolicy Local: the NodePort services
                         get only this node's endpoints; with none, every
                         endpoint (kube-proxy's fallback, kubernetes#97081)
  --node NAME            this node's name, for --local (default node-a)
";

const USAGE_TAIL: &str = "
defaults: nginx pods 10.244.1.5:80@node-a and 10.244.2.7:80@node-b behind
10.96.0.13:8080 and NODE_ADDR:30080

example:
    sudo ip netns exec demo target/debug/examples/nodeport --local --node node-b";

fn main() {
    let usage: &'static str = format!("{USAGE}{OPTIONS_USAGE}\n{USAGE_TAIL}").leak();
    let mut args = Args::new(usage);
    let node_port: u16 = args.value("--node-port", 30080);
    if node_port == 0 {
        args.fail("--node-port 0 would be IPVS's \"any port\"");
    }
    let local = args.flag("--local");
    let node_name: String = args.value("--node", "node-a".to_string());
    let opts = Options::parse(
        &mut args,
        "10.96.0.13",
        &["10.244.1.5:80@node-a", "10.244.2.7:80@node-b"],
    );
    let given = opts.addresses(&mut args, "--node-address");
    args.done();

    let node = Node::open();
    let node_addresses = if given.is_empty() {
        node.node_addresses(opts.cluster_ip)
    } else {
        given
    };
    let shown: Vec<String> = node_addresses.iter().map(|a| a.to_string()).collect();
    if shown.is_empty() {
        println!("node addresses: none (only the ClusterIP service is made)");
    } else {
        println!("node addresses: {}", shown.join(", "));
    }

    if local
        && !opts.cleanup
        && !opts
            .endpoints
            .iter()
            .any(|e| e.node.as_deref() == Some(node_name.as_str()))
    {
        println!(
            "externalTrafficPolicy Local: no endpoint on node {node_name}: falling back to \
             every endpoint, as kube-proxy's IPVS mode does (kubernetes#97081)"
        );
    }
    let mut svc = opts.service("web");
    svc.kind = "NodePort".to_string();
    svc.ports[0].node_port = node_port;
    svc.external_policy_local = local;
    let rules = opts.rule_set(svc, &node_name, &node_addresses);
    node.run(&rules, opts.cleanup);
}
