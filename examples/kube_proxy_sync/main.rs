//! Applies kube-proxy's IPVS rule sets for the Services and EndpointSlices
//! of a cluster, read as JSON, through desired-state apply.
#[path = "../common/mod.rs"]
mod common;
mod model;

use std::collections::HashSet;
use std::io::Read;
use std::net::IpAddr;

use common::{Args, die, print_table};
use lvs::{ApplyOptions, Ipvs, Links, Scheduler, ServiceId};

const USAGE: &str = "\
kube_proxy_sync — program the IPVS rules kube-proxy (IPVS mode) would for a
cluster's Services and EndpointSlices, read as JSON, with desired-state apply

usage: kube_proxy_sync [--node NAME] [--scheduler NAME] [--no-graceful] [--quiet] FILE
  FILE           the output of `kubectl get services,endpointslices -A -o json`
                 (a List of Service and EndpointSlice objects), or - for stdin
  --node NAME    this node's name, for externalTrafficPolicy / internalTrafficPolicy
                 Local (endpoints whose nodeName is NAME); default: the hostname
  --scheduler S  the IPVS scheduler of every virtual service (default rr; with mh,
                 the mh-port flag is set, as kube-proxy does)
  --no-graceful  delete leaving endpoints at once, instead of setting them to
                 weight 0 until their connections are gone (kube-proxy's graceful
                 termination, which it applies to TCP)
  --quiet        print only the summary, not the table

What it programs, per Service (see examples/kube_proxy_sync/model.rs):
  ClusterIP      clusterIP:port, every ready endpoint (Masq, weight 1)
  ClientIP       the same, persistent for sessionAffinityConfig timeout (10800 s)
  externalIPs    externalIP:port (bound on kube-ipvs0 unless local on another link)
  NodePort       every node address (all local addresses but kube-ipvs0's, loopback
                 and IPv6 link-local) on the nodePort
  LoadBalancer   each status.loadBalancer.ingress IP, plus the NodePorts
  Local policy   only this node's endpoints (all of them if it has none)
  headless, ExternalName: nothing
ClusterIPs, external and load-balancer IPs are bound /32 or /128 on the dummy link
kube-ipvs0 (created if missing, never set up); stale ones are removed.

It owns: the virtual services on an address of kube-ipvs0 (now or after this run),
and those on a node address with a port in the NodePort range 30000-32767. Every
other service of the table is left alone. Running it twice changes nothing the
second time. Needs CAP_NET_ADMIN; acts on the network namespace it runs in.";

fn main() {
    let mut args = Args::new(USAGE);
    let node = args.values("--node").pop().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    });
    let scheduler = Scheduler::from(args.value("--scheduler", "rr".to_string()));
    let graceful = !args.flag("--no-graceful");
    let quiet = args.flag("--quiet");
    let file: String = args.positional("FILE");
    args.done();

    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .unwrap_or_else(|e| args.fail(&format!("stdin: {e}")));
        s
    } else {
        std::fs::read_to_string(&file).unwrap_or_else(|e| args.fail(&format!("{file}: {e}")))
    };
    let cluster =
        model::Cluster::from_json(&text).unwrap_or_else(|e| args.fail(&format!("{file}: {e}")));

    let links = Links::open().unwrap_or_else(|e| die("opening rtnetlink", e));
    let ipvs = Ipvs::open().unwrap_or_else(|e| die("opening IPVS", e));
    let node_addresses = links
        .local_addresses_except(model::VIP_LINK)
        .unwrap_or_else(|e| die("listing node addresses", e));
    let desired = cluster.rule_set(&model::Node {
        name: node.clone(),
        addresses: node_addresses.clone(),
        scheduler,
    });

    // Addresses on kube-ipvs0: add the wanted ones, remove the stale ones.
    let link = links
        .ensure_dummy(model::VIP_LINK)
        .unwrap_or_else(|e| die("kube-ipvs0", e));
    let bound_before: HashSet<IpAddr> = links
        .addresses(model::VIP_LINK)
        .unwrap_or_else(|e| die("kube-ipvs0 addresses", e))
        .into_iter()
        .map(|a| a.addr)
        .collect();
    let mut added = 0;
    for ip in &desired.bind {
        if !bound_before.contains(ip) {
            links
                .add_address(model::VIP_LINK, *ip, None)
                .unwrap_or_else(|e| die(&format!("binding {ip}"), e));
            added += 1;
        }
    }

    // Scope: services on kube-ipvs0 (now or wanted) and NodePorts on node addresses.
    let ours: HashSet<IpAddr> = bound_before.iter().chain(&desired.bind).copied().collect();
    let nodes: HashSet<IpAddr> = node_addresses.iter().copied().collect();
    let options = ApplyOptions::new()
        .graceful(graceful)
        .scope(|id: &ServiceId| match id {
            ServiceId::Inet { addr, .. } => {
                ours.contains(&addr.ip())
                    || (nodes.contains(&addr.ip()) && model::NODE_PORTS.contains(&addr.port()))
            }
            ServiceId::Fwmark { .. } => false,
        });
    let report = ipvs
        .apply(&desired.servers, &options)
        .unwrap_or_else(|e| die("applying the rule set", e));

    // Addresses no Service wants any more go once their services are gone.
    let mut removed = 0;
    for ip in bound_before.iter().filter(|ip| !desired.bind.contains(ip)) {
        links
            .delete_address(model::VIP_LINK, *ip, None)
            .unwrap_or_else(|e| die(&format!("unbinding {ip}"), e));
        removed += 1;
    }

    println!(
        "{} Services -> {} virtual services; node {node:?} ({} node addresses); kube-ipvs0 (index {}): {} addresses, +{added} -{removed}",
        cluster.services.len(),
        desired.servers.len(),
        node_addresses.len(),
        link.index,
        desired.bind.len(),
    );
    println!(
        "services: +{} ~{} -{}; destinations: +{} ~{} -{}; draining {}; failures {}",
        report.added_services.len(),
        report.updated_services.len(),
        report.removed_services.len(),
        report.added_destinations.len(),
        report.updated_destinations.len(),
        report.removed_destinations.len(),
        report.draining_destinations.len(),
        report.failures.len(),
    );
    for f in &report.failures {
        eprintln!("failed: {}: {}", f.op, f.error);
    }
    if report.changes() == 0 && added == 0 && removed == 0 {
        println!("no changes");
    }
    if !quiet {
        print_table(&ipvs);
    }
    if !report.is_ok() {
        std::process::exit(1);
    }
}
