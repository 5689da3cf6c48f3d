//! What the kube-proxy rule-set examples (`clusterip`, `session_affinity`,
//! `external_ip`, `nodeport`) share: their common options, one Kubernetes
//! Service's IPVS rule set as desired state, and putting that rule set in
//! place — or taking it away — idempotently.
//!
//! What an example owns, and so may change or remove: the virtual services
//! its options describe (every `Ipvs::apply` is scoped to exactly those
//! ids: any other service of the table is left as it is), the addresses it binds on `kube-ipvs0`, and `kube-ipvs0`
//! itself once no address is left on it. `--cleanup` takes the same
//! options as the setup and removes what that setup makes.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::process::exit;
use std::str::FromStr;

use lvs::{
    ApplyOptions, ApplyReport, Forwarding, Ipvs, Links, Protocol, Scheduler, ServiceId,
    VirtualServer,
};

use super::proxier::{Cluster, Config, Ep, Family, ServicePort, Slice, Svc, desired};
use super::{Args, die, print_table, service_text};

/// The dummy link kube-proxy binds service addresses to: never set up,
/// each address /32 or /128, which gives it a `local` route so that IPVS
/// sees the packets to it.
pub const VIP_LINK: &str = "kube-ipvs0";

/// A backend: a pod's address and port, and the node it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The pod's address and target port.
    pub addr: SocketAddr,
    /// The node it runs on, if given (`ADDR:PORT@NODE`).
    pub node: Option<String>,
}

impl FromStr for Endpoint {
    type Err = String;

    /// `ADDR:PORT` or `ADDR:PORT@NODE` (IPv6 as `[ADDR]:PORT`).
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, node) = match s.rsplit_once('@') {
            Some((_, "")) => return Err(format!("{s:?}: no node name after '@'")),
            Some((addr, node)) => (addr, Some(node.to_string())),
            None => (s, None),
        };
        let addr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not ADDR:PORT or ADDR:PORT@NODE"))?;
        Ok(Endpoint { addr, node })
    }
}

/// The options every rule-set example takes.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--cluster-ip`.
    pub cluster_ip: IpAddr,
    /// `--port`: the Service's port.
    pub port: u16,
    /// `--protocol`.
    pub protocol: Protocol,
    /// `--scheduler`.
    pub scheduler: Scheduler,
    /// `--endpoint`, repeated.
    pub endpoints: Vec<Endpoint>,
    /// `--cleanup`.
    pub cleanup: bool,
}

/// The usage text of the options [`Options::parse`] reads.
pub const OPTIONS_USAGE: &str = "  --port PORT            the Service's port (default 8080)
  --protocol P           tcp (default), udp or sctp
  --endpoint ADDR:PORT[@NODE]
                         a ready endpoint (pod address and target port, on
                         node NODE); repeat for each; IPv6 as [ADDR]:PORT
  --scheduler NAME       IPVS scheduler (default rr, kube-proxy's default);
                         with mh the mh-port flag is set, as kube-proxy does
  --cleanup              remove what this rule set made (run with the same
                         options as the setup) and nothing else
  -h, --help             this text";

impl Options {
    /// Reads the common options, with the example's defaults.
    pub fn parse(args: &mut Args, default_cluster_ip: &str, default_endpoints: &[&str]) -> Self {
        let cleanup = args.flag("--cleanup");
        let cluster_ip: IpAddr = args.value("--cluster-ip", default_cluster_ip.parse().unwrap());
        let port: u16 = args.value("--port", 8080);
        if port == 0 {
            args.fail("--port 0 would be IPVS's \"any port\"; give the Service's port");
        }
        let protocol = match args.value("--protocol", "tcp".to_string()).as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            other => args.fail(&format!("unknown protocol {other:?}")),
        };
        let scheduler = Scheduler::from(args.value("--scheduler", "rr".to_string()).as_str());
        let mut given = args.values("--endpoint");
        if given.is_empty() {
            given = default_endpoints.iter().map(|e| e.to_string()).collect();
        }
        let endpoints: Vec<Endpoint> = given
            .iter()
            .map(|e| e.parse().unwrap_or_else(|why: String| args.fail(&why)))
            .collect();
        for e in &endpoints {
            if e.addr.is_ipv4() != cluster_ip.is_ipv4() {
                args.fail(&format!(
                    "endpoint {} and ClusterIP {cluster_ip} are of different families \
                     (NAT needs one family)",
                    e.addr
                ));
            }
        }
        Options {
            cluster_ip,
            port,
            protocol,
            scheduler,
            endpoints,
            cleanup,
        }
    }

    /// Reads an address option (`--external-ip`, `--node-address`), which
    /// must be of the ClusterIP's family; every occurrence.
    pub fn addresses(&self, args: &mut Args, name: &str) -> Vec<IpAddr> {
        let values = args.values(name);
        values
            .iter()
            .map(|v| {
                let ip: IpAddr = v
                    .parse()
                    .unwrap_or_else(|_| args.fail(&format!("bad address {v:?} for {name}")));
                if ip.is_ipv4() != self.cluster_ip.is_ipv4() {
                    args.fail(&format!(
                        "{name} {ip} is not of the ClusterIP's family ({})",
                        self.cluster_ip
                    ));
                }
                ip
            })
            .collect()
    }

    /// This Service as kube-proxy's model sees it: `default/NAME`, type
    /// ClusterIP, one unnamed port of the options' protocol.
    pub fn service(&self, name: &str) -> Svc {
        Svc::new(
            "default",
            name,
            self.cluster_ip,
            ServicePort {
                name: String::new(),
                protocol: self.protocol,
                port: self.port,
                node_port: 0,
            },
        )
    }

    /// The rule set the shared kube-proxy model
    /// (`examples/common/proxier.rs`) gives for `svc` with the options'
    /// endpoints (each a ready endpoint of an EndpointSlice of its own),
    /// on the node `node_name` whose addresses of the ClusterIP's family
    /// are `node_addresses`. Exits with the model's reason if it refuses.
    pub fn rule_set(&self, svc: Svc, node_name: &str, node_addresses: &[IpAddr]) -> RuleSet {
        let mut cluster = Cluster::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            cluster.put_slice(
                &svc.namespace,
                &format!("{}-{i}", svc.name),
                Slice {
                    service: svc.name.clone(),
                    family: Some(Family::of(e.addr.ip())),
                    ports: vec![(String::new(), self.protocol, e.addr.port())],
                    endpoints: vec![Ep::ready(e.addr.ip(), e.node.clone())],
                },
            );
        }
        cluster.put_service(svc);
        let mut config = Config::new(node_name);
        config.families = vec![Family::of(self.cluster_ip)];
        config.scheduler = self.scheduler.clone();
        let want = desired(&cluster, &config, node_addresses).unwrap_or_else(|r| {
            eprintln!("error: {r}");
            exit(2)
        });
        RuleSet {
            services: want.servers,
            addresses: want.bind.into_iter().collect(),
        }
    }
}

/// One Service's rule set: its virtual services and the addresses to bind
/// on `kube-ipvs0`.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The virtual services, with their destinations.
    pub services: Vec<VirtualServer>,
    /// The addresses bound on `kube-ipvs0` (each /32 or /128).
    pub addresses: Vec<IpAddr>,
}

impl RuleSet {
    fn ids(&self) -> HashSet<ServiceId> {
        self.services.iter().map(|vs| vs.service.id).collect()
    }
}

/// The prefix length kube-proxy binds an address with.
fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

/// A service of the desired set, one line, spaces collapsed.
fn describe_service(id: &ServiceId, desired: &[VirtualServer]) -> String {
    match desired.iter().find(|vs| vs.service.id == *id) {
        Some(vs) => service_text(&vs.service)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        None => id.to_string(),
    }
}

/// A destination of the desired set: `ADDR:PORT (Masq, weight N)`.
fn describe_destination(id: &ServiceId, addr: &SocketAddr, desired: &[VirtualServer]) -> String {
    let dest = desired
        .iter()
        .find(|vs| vs.service.id == *id)
        .and_then(|vs| vs.destinations.iter().find(|d| d.addr == *addr));
    match dest {
        Some(d) => {
            let method = match d.forwarding {
                Forwarding::Masquerade => "Masq",
                Forwarding::DirectRouting => "Route",
                Forwarding::Tunnel(_) => "Tunnel",
                Forwarding::Local => "Local",
                _ => "?",
            };
            format!("{addr} ({method}, weight {})", d.weight)
        }
        None => addr.to_string(),
    }
}

/// The lines of an [`ApplyReport`], in the order of the kernel's table.
fn report_lines(report: &ApplyReport, desired: &[VirtualServer], out: &mut Vec<String>) {
    for id in &report.removed_services {
        out.push(format!("removed service {id} and its destinations"));
    }
    for id in &report.added_services {
        out.push(format!("added service {}", describe_service(id, desired)));
    }
    for id in &report.updated_services {
        out.push(format!("updated service {}", describe_service(id, desired)));
    }
    for (id, addr) in &report.added_destinations {
        out.push(format!(
            "added destination {} to {id}",
            describe_destination(id, addr, desired)
        ));
    }
    for (id, addr) in &report.updated_destinations {
        out.push(format!(
            "updated destination {} of {id}",
            describe_destination(id, addr, desired)
        ));
    }
    for (id, addr) in &report.removed_destinations {
        out.push(format!("removed destination {addr} from {id}"));
    }
    for (id, addr) in &report.draining_destinations {
        out.push(format!(
            "draining destination {addr} of {id}: weight 0 until its connections end"
        ));
    }
}

/// What a run did: its changes, remarks, and what the kernel refused.
#[derive(Default)]
struct Outcome {
    changes: Vec<String>,
    notes: Vec<String>,
    failures: Vec<String>,
}

impl Outcome {
    fn refused(&mut self, report: &ApplyReport) {
        for f in &report.failures {
            self.failures.push(format!("{}: {}", f.op, f.error));
        }
    }
}

/// The IPVS table and the links of the namespace the example runs in.
pub struct Node {
    /// The IPVS handle.
    pub ipvs: Ipvs,
    /// The rtnetlink handle.
    pub links: Links,
}

impl Node {
    /// Opens both handles in the current network namespace.
    pub fn open() -> Self {
        Node {
            ipvs: Ipvs::open().unwrap_or_else(|e| die("opening IPVS", e)),
            links: Links::open().unwrap_or_else(|e| die("opening rtnetlink", e)),
        }
    }

    /// The link other than `kube-ipvs0` that holds `ip`, if any (loopback
    /// included): kube-proxy leaves such an external IP where it is.
    pub fn local_elsewhere(&self, ip: IpAddr) -> Option<String> {
        let links = self
            .links
            .links()
            .unwrap_or_else(|e| die("listing the links", e));
        links
            .into_iter()
            .filter(|l| l.name != VIP_LINK)
            .find(|l| {
                match self.links.addresses(&l.name) {
                    Ok(addrs) => addrs.iter().any(|a| a.addr == ip),
                    // (a link that went away meanwhile holds nothing)
                    Err(lvs::Error::LinkNotFound(_)) => false,
                    Err(e) => die(&format!("listing the addresses of {}", l.name), e),
                }
            })
            .map(|l| l.name)
    }

    /// The node addresses of `family_of`'s family, as kube-proxy counts
    /// them for NodePorts: every local address except `kube-ipvs0`'s,
    /// loopback and IPv6 link-local ones.
    pub fn node_addresses(&self, family_of: IpAddr) -> Vec<IpAddr> {
        self.links
            .local_addresses_except(VIP_LINK)
            .unwrap_or_else(|e| die("listing the node addresses", e))
            .into_iter()
            .filter(|a| a.is_ipv4() == family_of.is_ipv4())
            .collect()
    }

    /// Puts `rules` in place (or, with `cleanup`, takes them away), prints
    /// what changed and the resulting table; exits 1 if the kernel refused
    /// anything.
    pub fn run(&self, rules: &RuleSet, cleanup: bool) {
        let mut out = Outcome::default();
        if cleanup {
            self.cleanup(rules, &mut out);
        } else {
            self.setup(rules, &mut out);
        }
        for line in out.changes.iter().chain(&out.notes) {
            println!("{line}");
        }
        match out.changes.len() {
            0 if cleanup => println!("no changes: nothing of this rule set is left"),
            0 => println!("no changes: the rule set is already in place"),
            1 => println!("1 change"),
            n => println!("{n} changes"),
        }
        println!();
        print_table(&self.ipvs);
        if !out.failures.is_empty() {
            for f in &out.failures {
                eprintln!("error: the kernel refused {f}");
            }
            exit(1);
        }
    }

    /// `kube-ipvs0` and its addresses, then the services.
    fn setup(&self, rules: &RuleSet, out: &mut Outcome) {
        let changes = &mut out.changes;
        if !rules.addresses.is_empty() {
            let existed = self
                .links
                .link(VIP_LINK)
                .unwrap_or_else(|e| die(&format!("looking up {VIP_LINK}"), e))
                .is_some();
            self.links
                .ensure_dummy(VIP_LINK)
                .unwrap_or_else(|e| die(&format!("creating {VIP_LINK}"), e));
            if !existed {
                changes.push(format!("created link {VIP_LINK} (dummy, left down)"));
            }
            let have = self.vip_addresses();
            for &ip in &rules.addresses {
                let prefix = host_prefix(ip);
                if have.contains(&(ip, prefix)) {
                    continue;
                }
                self.links
                    .add_address(VIP_LINK, ip, Some(prefix))
                    .unwrap_or_else(|e| die(&format!("adding {ip}/{prefix} to {VIP_LINK}"), e));
                changes.push(format!("added address {ip}/{prefix} to {VIP_LINK}"));
            }
        }
        let ids = rules.ids();
        let report = self
            .ipvs
            .apply(
                &rules.services,
                // kube-proxy's graceful termination: a leaving endpoint
                // with connections drains at weight 0 first.
                &ApplyOptions::new()
                    .graceful(true)
                    .scope(|id| ids.contains(id)),
            )
            .unwrap_or_else(|e| die("applying the rule set", e));
        report_lines(&report, &rules.services, changes);
        out.refused(&report);
    }

    /// The services, then the addresses (unless another virtual service
    /// still uses one), then `kube-ipvs0` if it holds no address any more.
    fn cleanup(&self, rules: &RuleSet, out: &mut Outcome) {
        let ids = rules.ids();
        let report = self
            .ipvs
            .apply(&[], &ApplyOptions::new().scope(|id| ids.contains(id)))
            .unwrap_or_else(|e| die("removing the rule set", e));
        report_lines(&report, &rules.services, &mut out.changes);
        out.refused(&report);
        let exists = self
            .links
            .link(VIP_LINK)
            .unwrap_or_else(|e| die(&format!("looking up {VIP_LINK}"), e))
            .is_some();
        if !exists {
            return;
        }
        let in_use: HashSet<IpAddr> = self
            .ipvs
            .services()
            .unwrap_or_else(|e| die("listing the IPVS services", e))
            .into_iter()
            .filter_map(|e| match e.service.id {
                ServiceId::Inet { addr, .. } => Some(addr.ip()),
                ServiceId::Fwmark { .. } => None,
            })
            .collect();
        let have = self.vip_addresses();
        for &ip in &rules.addresses {
            let prefix = host_prefix(ip);
            if !have.contains(&(ip, prefix)) {
                continue;
            }
            if in_use.contains(&ip) {
                out.notes.push(format!(
                    "kept address {ip}/{prefix} on {VIP_LINK}: another virtual service uses it"
                ));
                continue;
            }
            self.links
                .delete_address(VIP_LINK, ip, Some(prefix))
                .unwrap_or_else(|e| die(&format!("removing {ip}/{prefix} from {VIP_LINK}"), e));
            out.changes
                .push(format!("removed address {ip}/{prefix} from {VIP_LINK}"));
        }
        if self.vip_addresses().is_empty() {
            self.links
                .delete_dummy(VIP_LINK)
                .unwrap_or_else(|e| die(&format!("deleting {VIP_LINK}"), e));
            out.changes
                .push(format!("deleted link {VIP_LINK} (no address left on it)"));
        }
    }

    /// The addresses on `kube-ipvs0`, with their prefix lengths.
    fn vip_addresses(&self) -> HashSet<(IpAddr, u8)> {
        self.links
            .addresses(VIP_LINK)
            .unwrap_or_else(|e| die(&format!("listing the addresses of {VIP_LINK}"), e))
            .into_iter()
            .map(|a| (a.addr, a.prefix_len))
            .collect()
    }
}
