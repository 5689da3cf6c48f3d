//! From Kubernetes Services and EndpointSlices (JSON) to IPVS virtual
//! servers, following what kube-proxy's IPVS proxier programs.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

use lvs::{Destination, Protocol, Scheduler, Service, ServiceFlags, ServiceId, VirtualServer};
use serde_json::Value;

/// kube-proxy's dummy link for service addresses.
pub const VIP_LINK: &str = "kube-ipvs0";
/// kube-proxy's default `--service-node-port-range`.
pub const NODE_PORTS: RangeInclusive<u16> = 30000..=32767;
/// Default ClientIP affinity timeout.
const DEFAULT_AFFINITY: u32 = 10800;

/// This node, as the rule set depends on it.
pub struct Node {
    pub name: String,
    /// Its addresses (for NodePorts).
    pub addresses: Vec<IpAddr>,
    pub scheduler: Scheduler,
}

/// One port of a Service.
struct Port {
    name: String,
    protocol: Protocol,
    port: u16,
    node_port: Option<u16>,
}

/// A Service, reduced to what kube-proxy's IPVS rules need.
pub struct Svc {
    namespace: String,
    name: String,
    kind: String,
    cluster_ips: Vec<IpAddr>,
    external_ips: Vec<IpAddr>,
    lb_ips: Vec<IpAddr>,
    ports: Vec<Port>,
    affinity: Option<u32>,
    external_local: bool,
    internal_local: bool,
}

/// One endpoint address with its port by name.
struct Ep {
    addr: IpAddr,
    node: Option<String>,
    ports: Vec<(String, Protocol, u16)>,
}

/// The cluster: Services and, per Service, the endpoints of its slices.
pub struct Cluster {
    pub services: Vec<Svc>,
    endpoints: HashMap<(String, String), Vec<Ep>>,
}

/// What to program.
pub struct Desired {
    pub servers: Vec<VirtualServer>,
    /// Addresses to bind on kube-ipvs0.
    pub bind: BTreeSet<IpAddr>,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn string(v: &Value, path: &[&str]) -> String {
    s(v, path).and_then(Value::as_str).unwrap_or("").to_string()
}

fn ips(v: Option<&Value>) -> Vec<IpAddr> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

fn protocol(v: Option<&Value>) -> Result<Protocol, String> {
    match v.and_then(Value::as_str).unwrap_or("TCP") {
        "TCP" => Ok(Protocol::Tcp),
        "UDP" => Ok(Protocol::Udp),
        "SCTP" => Ok(Protocol::Sctp),
        other => Err(format!("unknown protocol {other:?}")),
    }
}

fn port(v: Option<&Value>) -> Option<u16> {
    v.and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
}

impl Cluster {
    /// Reads a `kubectl get services,endpointslices -A -o json` List (or a
    /// single object).
    pub fn from_json(text: &str) -> Result<Cluster, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let items: Vec<&Value> = match root.get("items").and_then(Value::as_array) {
            Some(items) => items.iter().collect(),
            None => vec![&root],
        };
        let mut services = Vec::new();
        let mut endpoints: HashMap<(String, String), Vec<Ep>> = HashMap::new();
        for item in items {
            let namespace = string(item, &["metadata", "namespace"]);
            match item.get("kind").and_then(Value::as_str) {
                Some("Service") => {
                    let spec = item.get("spec").unwrap_or(&Value::Null);
                    let mut cluster_ips = ips(spec.get("clusterIPs"));
                    if cluster_ips.is_empty() {
                        cluster_ips = ips(Some(&Value::Array(
                            spec.get("clusterIP").into_iter().cloned().collect(),
                        )));
                    }
                    let ports = spec
                        .get("ports")
                        .and_then(Value::as_array)
                        .map(|ports| {
                            ports
                                .iter()
                                .map(|p| {
                                    Ok(Port {
                                        name: string(p, &["name"]),
                                        protocol: protocol(p.get("protocol"))?,
                                        port: port(p.get("port"))
                                            .ok_or("a port without a number")?,
                                        node_port: port(p.get("nodePort")),
                                    })
                                })
                                .collect::<Result<Vec<_>, String>>()
                        })
                        .transpose()?
                        .unwrap_or_default();
                    let affinity = (string(spec, &["sessionAffinity"]) == "ClientIP").then(|| {
                        s(
                            spec,
                            &["sessionAffinityConfig", "clientIP", "timeoutSeconds"],
                        )
                        .and_then(Value::as_u64)
                        .map_or(DEFAULT_AFFINITY, |t| t as u32)
                    });
                    let lb_ips = item
                        .get("status")
                        .and_then(|st| s(st, &["loadBalancer", "ingress"]))
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|i| i.get("ip")?.as_str()?.parse().ok())
                                .collect()
                        })
                        .unwrap_or_default();
                    services.push(Svc {
                        namespace,
                        name: string(item, &["metadata", "name"]),
                        kind: spec
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("ClusterIP")
                            .to_string(),
                        cluster_ips,
                        external_ips: ips(spec.get("externalIPs")),
                        lb_ips,
                        ports,
                        affinity,
                        external_local: string(spec, &["externalTrafficPolicy"]) == "Local",
                        internal_local: string(spec, &["internalTrafficPolicy"]) == "Local",
                    });
                }
                Some("EndpointSlice") => {
                    let service =
                        string(item, &["metadata", "labels", "kubernetes.io/service-name"]);
                    if service.is_empty() {
                        continue;
                    }
                    let slice_ports: Vec<(String, Protocol, u16)> = item
                        .get("ports")
                        .and_then(Value::as_array)
                        .map(|ports| {
                            ports
                                .iter()
                                .filter_map(|p| {
                                    Some((
                                        string(p, &["name"]),
                                        protocol(p.get("protocol")).ok()?,
                                        port(p.get("port"))?,
                                    ))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let list = endpoints.entry((namespace, service)).or_default();
                    for ep in item
                        .get("endpoints")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        // kube-proxy programs ready endpoints (a missing
                        // condition counts as ready).
                        if s(ep, &["conditions", "ready"]).and_then(Value::as_bool) == Some(false) {
                            continue;
                        }
                        let node = ep
                            .get("nodeName")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        for addr in ips(ep.get("addresses")) {
                            list.push(Ep {
                                addr,
                                node: node.clone(),
                                ports: slice_ports.clone(),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(Cluster {
            services,
            endpoints,
        })
    }

    /// The virtual servers and bound addresses for this node.
    pub fn rule_set(&self, node: &Node) -> Desired {
        let mut servers: Vec<VirtualServer> = Vec::new();
        let mut bind = BTreeSet::new();
        let mut seen = std::collections::HashSet::new();
        for svc in &self.services {
            if svc.kind == "ExternalName" || svc.cluster_ips.is_empty() {
                continue; // headless (clusterIP None parses to no address) or ExternalName
            }
            let eps = self
                .endpoints
                .get(&(svc.namespace.clone(), svc.name.clone()));
            for p in &svc.ports {
                let all: Vec<(SocketAddr, Option<&String>)> = eps
                    .into_iter()
                    .flatten()
                    .filter_map(|ep| {
                        let (_, _, target) = ep
                            .ports
                            .iter()
                            .find(|(n, proto, _)| *n == p.name && *proto == p.protocol)?;
                        Some((SocketAddr::new(ep.addr, *target), ep.node.as_ref()))
                    })
                    .collect();
                let local = |v: &Vec<(SocketAddr, Option<&String>)>| -> Vec<SocketAddr> {
                    let mine: Vec<SocketAddr> = v
                        .iter()
                        .filter(|(_, n)| n.map(String::as_str) == Some(node.name.as_str()))
                        .map(|(a, _)| *a)
                        .collect();
                    // With no local endpoint kube-proxy falls back to all (kubernetes#97081).
                    if mine.is_empty() {
                        v.iter().map(|(a, _)| *a).collect()
                    } else {
                        mine
                    }
                };
                let every: Vec<SocketAddr> = all.iter().map(|(a, _)| *a).collect();
                let internal = if svc.internal_local {
                    local(&all)
                } else {
                    every.clone()
                };
                let external = if svc.external_local {
                    local(&all)
                } else {
                    every.clone()
                };
                let mut add = |ip: IpAddr, port: u16, dests: &[SocketAddr]| {
                    let addr = SocketAddr::new(ip, port);
                    let id = match p.protocol {
                        Protocol::Udp => ServiceId::udp(addr),
                        Protocol::Sctp => ServiceId::sctp(addr),
                        _ => ServiceId::tcp(addr),
                    };
                    if !seen.insert(id) {
                        return; // two Services on one address and port: first wins
                    }
                    let mut service = Service::new(id).with_scheduler(node.scheduler.clone());
                    if node.scheduler == Scheduler::MaglevHashing {
                        service = service.with_flags(ServiceFlags::MH_PORT);
                    }
                    if let Some(t) = svc.affinity {
                        service = service.with_persistence(t);
                    }
                    let destinations = dests
                        .iter()
                        .filter(|d| d.is_ipv4() == ip.is_ipv4())
                        .map(|d| Destination::new(*d))
                        .collect();
                    servers.push(VirtualServer {
                        service,
                        destinations,
                    });
                };
                for &ip in &svc.cluster_ips {
                    bind.insert(ip);
                    add(ip, p.port, &internal);
                }
                for &ip in svc.external_ips.iter().chain(&svc.lb_ips) {
                    if !node.addresses.contains(&ip) {
                        bind.insert(ip);
                    }
                    add(ip, p.port, &external);
                }
                if matches!(svc.kind.as_str(), "NodePort" | "LoadBalancer")
                    && let Some(np) = p.node_port
                {
                    for &ip in &node.addresses {
                        add(ip, np, &external);
                    }
                }
            }
        }
        Desired { servers, bind }
    }
}
