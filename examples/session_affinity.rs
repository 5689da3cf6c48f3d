//! The IPVS rule set kube-proxy programs for a ClusterIP Service with
//! `sessionAffinity: ClientIP`, rebuilt with `lvs` in the current network
//! namespace.
//!
//! The same as `clusterip` (the ClusterIP /32 or /128 on the dummy link
//! `kube-ipvs0`, a virtual service with one NAT destination of weight 1
//! per endpoint), with the service made persistent: `rr persistent 10800`.
//! IPVS then keeps a template per client address (host netmask, as
//! kube-proxy sets it) and sends every new connection of that client to
//! the same endpoint until the template has been idle for the timeout.
//! The timeout is `sessionAffinityConfig.clientIP.timeoutSeconds`: 10800
//! by default, at most 86400 (kube-proxy's validation).
//!
//! Desired state, applied with `Ipvs::apply` scoped to this one service:
//! a second run changes nothing; a run with another `--timeout` updates the
//! service in place. `--cleanup` removes what the setup made and nothing
//! else.
mod common;

use common::Args;
use common::kube::{Node, OPTIONS_USAGE, Options};

use common::proxier::{DEFAULT_AFFINITY as DEFAULT_TIMEOUT, MAX_AFFINITY as MAX_TIMEOUT};

const USAGE: &str = "\
session_affinity — kube-proxy's IPVS rules for a ClusterIP Service with
sessionAffinity: ClientIP, in this network namespace

usage: session_affinity [--cluster-ip ADDR] [--timeout SECONDS] [--endpoint ADDR:PORT]... [OPTIONS]
       session_affinity --cleanup [the same options]

Binds the ClusterIP on the dummy link kube-ipvs0 (created if missing, left
down) and makes the persistent virtual service ClusterIP:PORT
(`rr persistent 10800`, as `ipvsadm -A -t VIP:PORT -s rr -p 10800`) with one
masquerading destination of weight 1 per endpoint: every connection from
one client address goes to the same endpoint while it keeps coming back
within the timeout. Idempotent; other services, links and addresses are
never touched. Prints what changed, then the table as `ipvsadm -Ln` does.

  --cluster-ip ADDR      the Service's ClusterIP (default 10.96.0.11)
  --timeout SECONDS      affinity timeout, 1 to 86400 (default 10800,
                         sessionAffinityConfig.clientIP.timeoutSeconds)
";

const USAGE_TAIL: &str = "
defaults: nginx pods 10.244.1.5:80 and 10.244.2.7:80 behind 10.96.0.11:8080

example:
    sudo ip netns exec demo target/debug/examples/session_affinity --timeout 600";

fn main() {
    let usage: &'static str = format!("{USAGE}{OPTIONS_USAGE}\n{USAGE_TAIL}").leak();
    let mut args = Args::new(usage);
    let timeout: u32 = args.value("--timeout", DEFAULT_TIMEOUT);
    if !(1..=MAX_TIMEOUT).contains(&timeout) {
        args.fail(&format!(
            "--timeout {timeout}: kube-proxy takes 1 to {MAX_TIMEOUT} seconds"
        ));
    }
    let opts = Options::parse(&mut args, "10.96.0.11", &["10.244.1.5:80", "10.244.2.7:80"]);
    args.done();
    let mut svc = opts.service("sticky");
    svc.affinity = Some(timeout);
    let rules = opts.rule_set(svc, "node-a", &[]);
    Node::open().run(&rules, opts.cleanup);
}
