//! kube-proxy's IPVS proxier as one model, shared by `kube_proxy_sync` and
//! the rule-set examples (`clusterip`, `session_affinity`, `external_ip`,
//! `nodeport`): from Services and EndpointSlices (kubectl JSON) and the
//! node, the IPVS table and the `kube-ipvs0` addresses that kube-proxy's
//! IPVS proxier (kubernetes `pkg/proxy/ipvs/proxier.go`) programs.
//!
//! What decides the table, as kube-proxy does it:
//!
//! - one proxier per IP family: a family sees the Services that have a
//!   ClusterIP of that family, their external and load-balancer IPs of that
//!   family only, and the node addresses of that family;
//! - per Service port: the ClusterIP virtual server (address bound on
//!   `kube-ipvs0`), one per external IP and per load-balancer ingress IP
//!   whose `ipMode` is not `Proxy` (bound unless it is a node address), and
//!   with a nodePort (any number) one per NodePort address: every node
//!   address of the family (all local addresses except `kube-ipvs0`'s,
//!   loopback and IPv6 link-local), or those inside `--nodeport-addresses`;
//! - scheduler flags: ClientIP affinity makes the service persistent for
//!   `sessionAffinityConfig.clientIP.timeoutSeconds` (10800 by default);
//!   with `mh`, the `mh-port` flag;
//! - endpoints (`pkg/proxy/topology.go`, `CategorizeEndpoints`): ready
//!   endpoints, or the serving-and-terminating ones when none is ready;
//!   a traffic policy Local takes this node's endpoints (ready, else
//!   serving-and-terminating), and with none, the cluster endpoints — which
//!   a Service with internalTrafficPolicy Local and no external access
//!   does not have, so it gets no real server;
//! - ownership: every virtual server of a managed family is kube-proxy's,
//!   except those whose address is in `--ipvs-exclude-cidrs`
//!   (`cleanLegacyService`); addresses on `kube-ipvs0` of a managed family
//!   that no Service wants are removed.
//!
//! Everything is computed and checked before the first change: an input
//! that is refused changes nothing and names the Service (or
//! EndpointSlice) and the field.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use lvs::{
    ApplyOptions, ApplyReport, Destination, Ipvs, Links, Protocol, Scheduler, Service,
    ServiceFlags, ServiceId, VirtualServer,
};
use serde_json::Value;

/// kube-proxy's dummy link for service addresses.
pub const VIP_LINK: &str = "kube-ipvs0";
/// The ClientIP affinity timeout when the Service gives none.
pub const DEFAULT_AFFINITY: u32 = 10800;
/// The largest ClientIP affinity timeout the API server accepts.
pub const MAX_AFFINITY: u32 = 86400;

/// An IP family: kube-proxy runs one IPVS proxier per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of `ip`.
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }
}

impl FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ipv4" | "v4" | "4" => Ok(Family::V4),
            "ipv6" | "v6" | "6" => Ok(Family::V6),
            _ => Err(format!("{s:?} is not ipv4 or ipv6")),
        }
    }
}

/// A CIDR (`--nodeport-addresses`, `--ipvs-exclude-cidrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this CIDR (never for another family).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// Its family.
    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }

    fn is_zero(&self) -> bool {
        self.prefix == 0
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not ADDR/PREFIX"))?;
        let addr: IpAddr = a.parse().map_err(|_| format!("{s:?}: bad address"))?;
        let prefix: u8 = p.parse().map_err(|_| format!("{s:?}: bad prefix"))?;
        if prefix > if addr.is_ipv4() { 32 } else { 128 } {
            return Err(format!("{s:?}: prefix too long"));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// kube-proxy's settings that shape the table.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--hostname-override`: this node's name, for traffic policy Local.
    pub node_name: String,
    /// The families with a proxier (both on a dual-stack node).
    pub families: Vec<Family>,
    /// `--nodeport-addresses` (CIDRs; none of a family means all node
    /// addresses of that family).
    pub nodeport_addresses: Vec<Cidr>,
    /// `--ipvs-exclude-cidrs`: virtual servers there are not kube-proxy's.
    pub exclude_cidrs: Vec<Cidr>,
    /// `--ipvs-scheduler`.
    pub scheduler: Scheduler,
}

impl Config {
    /// One node with kube-proxy's defaults: both families, all node
    /// addresses, no exclusion, `rr`.
    pub fn new(node_name: &str) -> Self {
        Config {
            node_name: node_name.to_string(),
            families: vec![Family::V4, Family::V6],
            nodeport_addresses: Vec::new(),
            exclude_cidrs: Vec::new(),
            scheduler: Scheduler::RoundRobin,
        }
    }

    /// Whether the virtual server `id` is kube-proxy's: of a managed
    /// family and outside `--ipvs-exclude-cidrs`. Firewall-mark services
    /// are never its own.
    pub fn owns(&self, id: &ServiceId) -> bool {
        match id {
            ServiceId::Inet { addr, .. } => {
                self.families.contains(&Family::of(addr.ip()))
                    && !self.exclude_cidrs.iter().any(|c| c.contains(addr.ip()))
            }
            ServiceId::Fwmark { .. } => false,
        }
    }

    /// The NodePort addresses of `family` among the node's addresses.
    fn nodeport_ips(&self, family: Family, node: &[IpAddr]) -> Vec<IpAddr> {
        let cidrs: Vec<&Cidr> = self
            .nodeport_addresses
            .iter()
            .filter(|c| c.family() == family)
            .collect();
        let all = cidrs.is_empty() || cidrs.iter().any(|c| c.is_zero());
        let mut out: Vec<IpAddr> = node
            .iter()
            .copied()
            .filter(|ip| Family::of(*ip) == family)
            .filter(|ip| all || cidrs.iter().any(|c| c.contains(*ip)))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Why an input was refused: the object, the field, the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `Service NS/NAME` or `EndpointSlice NS/NAME`, or the input.
    pub object: String,
    /// The field, as a JSON path (`spec.ports[0].port`).
    pub field: String,
    /// What is wrong.
    pub why: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.object, self.why)
        } else {
            write!(f, "{}: {}: {}", self.object, self.field, self.why)
        }
    }
}

/// One port of a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// Its name (matches the EndpointSlice port of that name).
    pub name: String,
    /// TCP, UDP or SCTP.
    pub protocol: Protocol,
    /// The Service port.
    pub port: u16,
    /// The nodePort, 0 for none.
    pub node_port: u16,
}

/// A Service, as kube-proxy's IPVS proxier sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svc {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.type`.
    pub kind: String,
    /// `spec.clusterIPs` (or `spec.clusterIP`); empty for headless.
    pub cluster_ips: Vec<IpAddr>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<IpAddr>,
    /// `status.loadBalancer.ingress[].ip` with `ipMode` other than Proxy.
    pub lb_ips: Vec<IpAddr>,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// ClientIP affinity timeout, if `sessionAffinity` is ClientIP.
    pub affinity: Option<u32>,
    /// `spec.externalTrafficPolicy` is Local.
    pub external_policy_local: bool,
    /// `spec.internalTrafficPolicy` is Local.
    pub internal_policy_local: bool,
}

impl Svc {
    /// A ClusterIP Service with one port (for the rule-set examples;
    /// endpoints come as EndpointSlices).
    pub fn new(namespace: &str, name: &str, cluster_ip: IpAddr, port: ServicePort) -> Self {
        Svc {
            namespace: namespace.to_string(),
            name: name.to_string(),
            kind: "ClusterIP".to_string(),
            cluster_ips: vec![cluster_ip],
            external_ips: Vec::new(),
            lb_ips: Vec::new(),
            ports: vec![port],
            affinity: None,
            external_policy_local: false,
            internal_policy_local: false,
        }
    }

    fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.name.clone())
    }

    /// Reachable from outside: a nodePort, LB ingress or external IPs
    /// (kube-proxy's `ExternallyAccessible`, per family).
    fn externally_accessible(&self, port: &ServicePort, family: Family) -> bool {
        port.node_port != 0
            || self
                .lb_ips
                .iter()
                .chain(&self.external_ips)
                .any(|ip| Family::of(*ip) == family)
    }

    /// `spec.externalTrafficPolicy` Local counts only for Services that
    /// accept external traffic (the API's `ExternalPolicyLocal`).
    fn external_local(&self) -> bool {
        self.external_policy_local
            && (matches!(self.kind.as_str(), "NodePort" | "LoadBalancer")
                || !self.external_ips.is_empty())
    }
}

/// One endpoint of an EndpointSlice (its first address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ep {
    /// `addresses[0]`.
    pub addr: IpAddr,
    /// `nodeName`.
    pub node: Option<String>,
    /// `conditions.ready` (absent: true).
    pub ready: bool,
    /// `conditions.serving` (absent: true).
    pub serving: bool,
    /// `conditions.terminating` (absent: false).
    pub terminating: bool,
}

impl Ep {
    /// A ready endpoint.
    pub fn ready(addr: IpAddr, node: Option<String>) -> Self {
        Ep {
            addr,
            node,
            ready: true,
            serving: true,
            terminating: false,
        }
    }
}

/// An EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// The Service it belongs to (label `kubernetes.io/service-name`).
    pub service: String,
    /// `addressType` (FQDN slices are kept as None and never used).
    pub family: Option<Family>,
    /// `ports`: name, protocol, port.
    pub ports: Vec<(String, Protocol, u16)>,
    /// `endpoints`.
    pub endpoints: Vec<Ep>,
}

/// Services and EndpointSlices, by namespace and name.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    services: BTreeMap<(String, String), Svc>,
    slices: BTreeMap<(String, String), (String, Slice)>,
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn text(v: &Value, path: &[&str]) -> String {
    get(v, path)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn protocol_of(v: Option<&Value>) -> Result<Protocol, String> {
    match v {
        None | Some(Value::Null) => Ok(Protocol::Tcp),
        Some(v) => match v.as_str() {
            Some("TCP") => Ok(Protocol::Tcp),
            Some("UDP") => Ok(Protocol::Udp),
            Some("SCTP") => Ok(Protocol::Sctp),
            _ => Err(format!("unknown protocol {v}")),
        },
    }
}

/// A port number 1-65535; `None` if absent.
fn port_of(v: Option<&Value>) -> Result<Option<u16>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(p) if (1..=65535).contains(&p) => Ok(Some(p as u16)),
            _ => Err(format!("{v} is not a port number (1-65535)")),
        },
    }
}

fn ip_list(
    v: Option<&Value>,
    field: &str,
    refuse: &dyn Fn(String, String) -> Refusal,
) -> Result<Vec<IpAddr>, Refusal> {
    let mut out = Vec::new();
    let Some(v) = v else { return Ok(out) };
    if v.is_null() {
        return Ok(out);
    }
    let list = v
        .as_array()
        .ok_or_else(|| refuse(field.to_string(), "not a list".to_string()))?;
    for (i, x) in list.iter().enumerate() {
        let ip = x
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| refuse(format!("{field}[{i}]"), format!("{x} is not an IP address")))?;
        out.push(ip);
    }
    Ok(out)
}

impl Cluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `kubectl get services,endpointslices -A -o json` (a List) or
    /// one object. Other kinds are ignored.
    pub fn from_json(text: &str) -> Result<Cluster, Refusal> {
        let bad = |why: String| Refusal {
            object: "input".into(),
            field: String::new(),
            why: format!("not JSON: {why}"),
        };
        let mut cluster = Cluster::new();
        // A List is read one item at a time: a tree of the whole list would
        // cost many times the input in memory (and, in a UML guest, most
        // of the time in page faults).
        match list_items(text).map_err(bad)? {
            Some(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    let item: Value =
                        serde_json::from_str(item).map_err(|e| bad(format!("items[{i}]: {e}")))?;
                    cluster.upsert(&item)?;
                }
            }
            None => {
                let root: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
                cluster.upsert(&root)?;
            }
        }
        Ok(cluster)
    }

    /// How many Services.
    pub fn service_count(&self) -> usize {
        self.services.len()
    }

    /// Adds or replaces a Service.
    pub fn put_service(&mut self, svc: Svc) {
        self.services.insert(svc.key(), svc);
    }

    /// Adds or replaces an EndpointSlice.
    pub fn put_slice(&mut self, namespace: &str, name: &str, slice: Slice) {
        self.slices.insert(
            (namespace.to_string(), name.to_string()),
            (namespace.to_string(), slice),
        );
    }

    /// Adds or replaces a Service or EndpointSlice given as JSON; other
    /// kinds are ignored. A refused object changes nothing.
    pub fn upsert(&mut self, item: &Value) -> Result<(), Refusal> {
        match item.get("kind").and_then(Value::as_str) {
            Some("Service") => {
                let svc = parse_service(item)?;
                self.put_service(svc);
            }
            Some("EndpointSlice") => {
                let (ns, name, slice) = parse_slice(item)?;
                self.put_slice(&ns, &name, slice);
            }
            _ => {}
        }
        Ok(())
    }

    /// Removes the Service or EndpointSlice `item` names.
    pub fn remove(&mut self, item: &Value) {
        let key = (
            text(item, &["metadata", "namespace"]),
            text(item, &["metadata", "name"]),
        );
        match item.get("kind").and_then(Value::as_str) {
            Some("Service") => {
                self.services.remove(&key);
            }
            Some("EndpointSlice") => {
                self.slices.remove(&key);
            }
            _ => {}
        }
    }

    /// Takes one watch event (`kubectl get KIND -A --watch
    /// --output-watch-events -o json`): `{"type": ADDED|MODIFIED|DELETED,
    /// "object": {...}}`; BOOKMARK is ignored, ERROR refused. `kind` is
    /// the stream's kind, for objects that lack one.
    pub fn event(&mut self, kind: &str, ev: &Value) -> Result<(), Refusal> {
        let ty = ev.get("type").and_then(Value::as_str).unwrap_or("");
        let mut object = ev.get("object").cloned().unwrap_or(Value::Null);
        if object.get("kind").is_none()
            && let Some(map) = object.as_object_mut()
        {
            map.insert("kind".into(), Value::String(kind.into()));
        }
        match ty {
            "ADDED" | "MODIFIED" => self.upsert(&object),
            "DELETED" => {
                self.remove(&object);
                Ok(())
            }
            "BOOKMARK" => Ok(()),
            other => Err(Refusal {
                object: format!("{kind} watch"),
                field: "type".into(),
                why: format!("event {other:?}: {}", object),
            }),
        }
    }
}

/// The text of each element of the top-level object's `items` array, or
/// None if the text is not an object with an `items` array. Only the
/// structure is checked here (strings, nesting); each element is then
/// parsed on its own.
fn list_items(text: &str) -> Result<Option<Vec<&str>>, String> {
    let b = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    // The end (one past the closing quote) of the string starting at `i`.
    let string_end = |mut i: usize| -> Result<usize, String> {
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Ok(i + 1),
                _ => i += 1,
            }
        }
        Err("unterminated string".into())
    };
    // The end of the value starting at `i`.
    let value_end = |mut i: usize| -> Result<usize, String> {
        let mut depth = 0usize;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    i = string_end(i)?;
                    if depth == 0 {
                        return Ok(i);
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return Ok(i);
                    }
                    depth -= 1;
                    if depth == 0 {
                        return Ok(i + 1);
                    }
                }
                b',' if depth == 0 => return Ok(i),
                _ => {}
            }
            i += 1;
        }
        if depth == 0 {
            Ok(i)
        } else {
            Err("unterminated object or array".into())
        }
    };
    let mut i = skip_ws(0);
    if b.get(i) != Some(&b'{') {
        return Ok(None);
    }
    i = skip_ws(i + 1);
    let mut found = None;
    while i < b.len() && b[i] != b'}' {
        if b[i] != b'"' {
            return Err(format!("expected a key at byte {i}"));
        }
        let key_end = string_end(i)?;
        let key = &text[i + 1..key_end - 1];
        i = skip_ws(key_end);
        if b.get(i) != Some(&b':') {
            return Err(format!("expected ':' at byte {i}"));
        }
        i = skip_ws(i + 1);
        if key == "items" && b.get(i) == Some(&b'[') {
            let mut items = Vec::new();
            i = skip_ws(i + 1);
            while b.get(i) != Some(&b']') {
                let end = value_end(i)?;
                if end == i {
                    return Err(format!("expected a value at byte {i}"));
                }
                items.push(&text[i..end]);
                i = skip_ws(end);
                match b.get(i) {
                    Some(b',') => i = skip_ws(i + 1),
                    Some(b']') => {}
                    _ => return Err(format!("expected ',' or ']' at byte {i}")),
                }
            }
            found = Some(items);
            i = skip_ws(i + 1);
            if b.get(i) == Some(&b',') {
                i = skip_ws(i + 1);
            }
            continue;
        }
        let end = value_end(i)?;
        if end == i {
            return Err(format!("expected a value at byte {i}"));
        }
        i = skip_ws(end);
        if b.get(i) == Some(&b',') {
            i = skip_ws(i + 1);
        }
    }
    if b.get(i) != Some(&b'}') || skip_ws(i + 1) != b.len() {
        return Err("unterminated object, or text after it".into());
    }
    Ok(found)
}

fn parse_service(item: &Value) -> Result<Svc, Refusal> {
    let namespace = text(item, &["metadata", "namespace"]);
    let name = text(item, &["metadata", "name"]);
    let object = format!("Service {namespace}/{name}");
    let refuse = |field: String, why: String| Refusal {
        object: object.clone(),
        field,
        why,
    };
    let null = Value::Null;
    let spec = item.get("spec").unwrap_or(&null);
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let mut cluster_ips = Vec::new();
    let single = text(spec, &["clusterIP"]);
    let headless = single == "None";
    if kind != "ExternalName" && !headless {
        match spec.get("clusterIPs") {
            Some(Value::Array(a)) if !a.is_empty() => {
                cluster_ips = ip_list(spec.get("clusterIPs"), "spec.clusterIPs", &refuse)?;
            }
            _ if !single.is_empty() => {
                cluster_ips.push(single.parse().map_err(|_| {
                    refuse(
                        "spec.clusterIP".into(),
                        format!("{single:?} is not an IP address"),
                    )
                })?);
            }
            _ => {}
        }
    }
    let external_ips = ip_list(spec.get("externalIPs"), "spec.externalIPs", &refuse)?;
    let mut lb_ips = Vec::new();
    if let Some(ingress) =
        get(item, &["status", "loadBalancer", "ingress"]).and_then(Value::as_array)
    {
        for (i, ing) in ingress.iter().enumerate() {
            let ip = text(ing, &["ip"]);
            if ip.is_empty() {
                continue; // a hostname ingress: nothing for kube-proxy
            }
            let ip: IpAddr = ip.parse().map_err(|_| {
                refuse(
                    format!("status.loadBalancer.ingress[{i}].ip"),
                    format!("{ip:?} is not an IP address"),
                )
            })?;
            // Only VIP-mode ingress (ipMode unset or VIP) is kube-proxy's;
            // with Proxy (or anything else) the load balancer delivers to
            // the node itself.
            if matches!(ing.get("ipMode"), None | Some(Value::Null))
                || ing.get("ipMode").and_then(Value::as_str) == Some("VIP")
            {
                lb_ips.push(ip);
            }
        }
    }
    let mut ports = Vec::new();
    if let Some(list) = spec.get("ports").and_then(Value::as_array) {
        for (i, p) in list.iter().enumerate() {
            let field = |f: &str| format!("spec.ports[{i}].{f}");
            let protocol =
                protocol_of(p.get("protocol")).map_err(|e| refuse(field("protocol"), e))?;
            let port = port_of(p.get("port"))
                .map_err(|e| refuse(field("port"), e))?
                .ok_or_else(|| {
                    refuse(
                        field("port"),
                        "missing: a Service port needs a number (IPVS would take 0 as any port)"
                            .into(),
                    )
                })?;
            let node_port = port_of(p.get("nodePort"))
                .map_err(|e| refuse(field("nodePort"), e))?
                .unwrap_or(0);
            ports.push(ServicePort {
                name: text(p, &["name"]),
                protocol,
                port,
                node_port,
            });
        }
    }
    let affinity = match text(spec, &["sessionAffinity"]).as_str() {
        "" | "None" => None,
        "ClientIP" => {
            let t = get(
                spec,
                &["sessionAffinityConfig", "clientIP", "timeoutSeconds"],
            );
            match t {
                None | Some(Value::Null) => Some(DEFAULT_AFFINITY),
                Some(v) => match v.as_u64() {
                    Some(t) if (1..=u64::from(MAX_AFFINITY)).contains(&t) => Some(t as u32),
                    _ => {
                        return Err(refuse(
                            "spec.sessionAffinityConfig.clientIP.timeoutSeconds".into(),
                            format!("{v} is not 1 to {MAX_AFFINITY}"),
                        ));
                    }
                },
            }
        }
        other => {
            return Err(refuse(
                "spec.sessionAffinity".into(),
                format!("unknown {other:?} (None or ClientIP)"),
            ));
        }
    };
    Ok(Svc {
        namespace,
        name,
        kind,
        cluster_ips,
        external_ips,
        lb_ips,
        ports,
        affinity,
        external_policy_local: text(spec, &["externalTrafficPolicy"]) == "Local",
        internal_policy_local: text(spec, &["internalTrafficPolicy"]) == "Local",
    })
}

fn parse_slice(item: &Value) -> Result<(String, String, Slice), Refusal> {
    let namespace = text(item, &["metadata", "namespace"]);
    let name = text(item, &["metadata", "name"]);
    let object = format!("EndpointSlice {namespace}/{name}");
    let refuse = |field: String, why: String| Refusal {
        object: object.clone(),
        field,
        why,
    };
    let service = text(item, &["metadata", "labels", "kubernetes.io/service-name"]);
    let family = match text(item, &["addressType"]).as_str() {
        "IPv4" => Some(Family::V4),
        "IPv6" => Some(Family::V6),
        _ => None,
    };
    let mut ports = Vec::new();
    if let Some(list) = item.get("ports").and_then(Value::as_array) {
        for (i, p) in list.iter().enumerate() {
            // kube-proxy skips a port without a name (null, not "") and
            // one without a number or with 0.
            if p.get("name").is_none_or(Value::is_null)
                || p.get("port").and_then(Value::as_u64) == Some(0)
            {
                continue;
            }
            let protocol = protocol_of(p.get("protocol"))
                .map_err(|e| refuse(format!("ports[{i}].protocol"), e))?;
            if let Some(port) =
                port_of(p.get("port")).map_err(|e| refuse(format!("ports[{i}].port"), e))?
            {
                ports.push((text(p, &["name"]), protocol, port));
            }
        }
    }
    let mut endpoints = Vec::new();
    if let Some(list) = item.get("endpoints").and_then(Value::as_array) {
        for (i, e) in list.iter().enumerate() {
            let Some(first) = e
                .get("addresses")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
            else {
                continue;
            };
            let Some(family) = family else { continue };
            let addr: IpAddr = first.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                refuse(
                    format!("endpoints[{i}].addresses[0]"),
                    format!("{first} is not an IP address"),
                )
            })?;
            if Family::of(addr) != family {
                return Err(refuse(
                    format!("endpoints[{i}].addresses[0]"),
                    format!("{addr} is not of the slice's addressType"),
                ));
            }
            let cond = |c: &str| get(e, &["conditions", c]).and_then(Value::as_bool);
            let ready = cond("ready").unwrap_or(true);
            endpoints.push(Ep {
                addr,
                node: e
                    .get("nodeName")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ready,
                serving: cond("serving").unwrap_or(true),
                terminating: cond("terminating").unwrap_or(false),
            });
        }
    }
    Ok((
        namespace,
        name,
        Slice {
            service,
            family,
            ports,
            endpoints,
        },
    ))
}

/// What kube-proxy programs: the virtual servers and the addresses bound
/// on `kube-ipvs0`, for the managed families.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// The virtual servers with their real servers.
    pub servers: Vec<VirtualServer>,
    /// The addresses bound on `kube-ipvs0` (each /32 or /128).
    pub bind: BTreeSet<IpAddr>,
}

/// An endpoint of one Service port.
struct PortEp<'a> {
    addr: SocketAddr,
    ep: &'a Ep,
    local: bool,
}

/// `CategorizeEndpoints` without topology hints: the cluster endpoints
/// (None if the port never uses them) and the local ones.
fn categorize<'a>(
    eps: &[PortEp<'a>],
    svc: &Svc,
    port: &ServicePort,
    family: Family,
) -> (Option<Vec<SocketAddr>>, Vec<SocketAddr>) {
    let accessible = svc.externally_accessible(port, family);
    let uses_cluster = !svc.internal_policy_local || accessible;
    let uses_local = svc.internal_policy_local || (svc.external_local() && accessible);
    let pick = |f: &dyn Fn(&PortEp<'a>) -> bool| -> Vec<SocketAddr> {
        eps.iter().filter(|e| f(e)).map(|e| e.addr).collect()
    };
    let cluster = uses_cluster.then(|| {
        let ready = pick(&|e| e.ep.ready);
        if ready.is_empty() {
            pick(&|e| e.ep.serving && e.ep.terminating)
        } else {
            ready
        }
    });
    let mut local = Vec::new();
    if uses_local {
        local = pick(&|e| e.local && e.ep.ready);
        if local.is_empty() {
            local = pick(&|e| e.local && !e.ep.ready && e.ep.serving && e.ep.terminating);
        }
    }
    (cluster, local)
}

/// kube-proxy's `syncEndpoint` choice: this node's endpoints for a Local
/// policy, or the cluster endpoints (the fallback, kubernetes#97081).
fn choose(
    only_local: bool,
    cluster: &Option<Vec<SocketAddr>>,
    local: &[SocketAddr],
) -> Vec<SocketAddr> {
    if only_local && !local.is_empty() {
        local.to_vec()
    } else {
        cluster.clone().unwrap_or_default()
    }
}

/// The table and addresses kube-proxy programs for `cluster` on a node
/// with `node_addresses` (every local address except `kube-ipvs0`'s,
/// loopback and IPv6 link-local, as `Links::local_addresses_except`).
/// Refused when two Services claim one virtual server.
pub fn desired(
    cluster: &Cluster,
    config: &Config,
    node_addresses: &[IpAddr],
) -> Result<Desired, Refusal> {
    let mut out = Desired::default();
    let mut claimed: HashMap<ServiceId, String> = HashMap::new();
    let node_set: HashSet<IpAddr> = node_addresses.iter().copied().collect();
    // The endpoints of each Service, by slice (in name order), per family.
    let mut slices: HashMap<(&str, &str), Vec<&Slice>> = HashMap::new();
    for ((_, _), (ns, slice)) in &cluster.slices {
        if !slice.service.is_empty() {
            slices
                .entry((ns.as_str(), slice.service.as_str()))
                .or_default()
                .push(slice);
        }
    }
    for family in [Family::V4, Family::V6] {
        if !config.families.contains(&family) {
            continue;
        }
        let node_ips = config.nodeport_ips(family, node_addresses);
        for svc in cluster.services.values() {
            if svc.kind == "ExternalName" {
                continue;
            }
            let Some(&cluster_ip) = svc.cluster_ips.iter().find(|ip| Family::of(**ip) == family)
            else {
                continue; // headless, or no ClusterIP of this family
            };
            let owner = format!("Service {}/{}", svc.namespace, svc.name);
            let of_family = |ips: &[IpAddr]| -> Vec<IpAddr> {
                ips.iter()
                    .copied()
                    .filter(|ip| Family::of(*ip) == family)
                    .collect()
            };
            let external_ips = of_family(&svc.external_ips);
            let lb_ips = of_family(&svc.lb_ips);
            let svc_slices = slices
                .get(&(svc.namespace.as_str(), svc.name.as_str()))
                .cloned()
                .unwrap_or_default();
            for (pi, port) in svc.ports.iter().enumerate() {
                // One endpoint per address:port; of two, a terminating one
                // gives way (kube-proxy's EndpointSliceCache).
                let mut index: HashMap<SocketAddr, usize> = HashMap::new();
                let mut eps: Vec<PortEp> = Vec::new();
                for slice in svc_slices.iter().filter(|s| s.family == Some(family)) {
                    let Some(&(_, _, target)) = slice
                        .ports
                        .iter()
                        .find(|(n, p, _)| *n == port.name && *p == port.protocol)
                    else {
                        continue;
                    };
                    for ep in &slice.endpoints {
                        let addr = SocketAddr::new(ep.addr, target);
                        let this = PortEp {
                            addr,
                            ep,
                            local: !config.node_name.is_empty()
                                && ep.node.as_deref() == Some(config.node_name.as_str()),
                        };
                        match index.get(&addr) {
                            None => {
                                index.insert(addr, eps.len());
                                eps.push(this);
                            }
                            Some(&i) if !ep.terminating => eps[i] = this,
                            Some(_) => {}
                        }
                    }
                }
                let (cluster_eps, local_eps) = categorize(&eps, svc, port, family);
                let internal = choose(svc.internal_policy_local, &cluster_eps, &local_eps);
                let external = choose(svc.external_local(), &cluster_eps, &local_eps);
                let mut add = |ip: IpAddr, vport: u16, dests: &[SocketAddr], field: String| {
                    let addr = SocketAddr::new(ip, vport);
                    let id = match port.protocol {
                        Protocol::Udp => ServiceId::udp(addr),
                        Protocol::Sctp => ServiceId::sctp(addr),
                        _ => ServiceId::tcp(addr),
                    };
                    if let Some(first) = claimed.get(&id) {
                        return Err(Refusal {
                            object: owner.clone(),
                            field,
                            why: format!("{id} is already {first}'s"),
                        });
                    }
                    claimed.insert(id, owner.clone());
                    let mut service = Service::new(id).with_scheduler(config.scheduler.clone());
                    if config.scheduler.name() == "mh" {
                        service = service.with_flags(ServiceFlags::MH_PORT);
                    }
                    if let Some(t) = svc.affinity {
                        service = service.with_persistence(t);
                    }
                    let mut destinations: Vec<Destination> =
                        dests.iter().map(|d| Destination::new(*d)).collect();
                    destinations.sort_by_key(|d| d.addr);
                    out.servers.push(VirtualServer {
                        service,
                        destinations,
                    });
                    Ok(())
                };
                add(cluster_ip, port.port, &internal, "spec.clusterIP".into())?;
                out.bind.insert(cluster_ip);
                for (i, &ip) in external_ips.iter().enumerate() {
                    add(ip, port.port, &external, format!("spec.externalIPs[{i}]"))?;
                    if !node_set.contains(&ip) {
                        out.bind.insert(ip);
                    }
                }
                for &ip in &lb_ips {
                    add(
                        ip,
                        port.port,
                        &external,
                        "status.loadBalancer.ingress".into(),
                    )?;
                    if !node_set.contains(&ip) {
                        out.bind.insert(ip);
                    }
                }
                if port.node_port != 0 {
                    for &ip in &node_ips {
                        add(
                            ip,
                            port.node_port,
                            &external,
                            format!("spec.ports[{pi}].nodePort"),
                        )?;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct Synced {
    /// The IPVS changes.
    pub report: ApplyReport,
    /// Addresses bound on `kube-ipvs0`.
    pub bound: Vec<IpAddr>,
    /// Addresses removed from `kube-ipvs0`.
    pub unbound: Vec<IpAddr>,
    /// Virtual servers programmed.
    pub servers: usize,
    /// Node addresses of the managed families.
    pub node_addresses: usize,
}

/// Why a sync stopped.
#[derive(Debug)]
pub enum SyncError {
    /// The input was refused; nothing was changed.
    Refused(Refusal),
    /// A netlink call failed (`context`, error).
    Kernel(String, lvs::Error),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Refused(r) => write!(f, "refused: {r} (nothing was changed)"),
            SyncError::Kernel(c, e) => write!(f, "{c}: {e}"),
        }
    }
}

/// The proxier of one network namespace: its IPVS and rtnetlink handles.
pub struct Proxier {
    /// The IPVS handle.
    pub ipvs: Ipvs,
    /// The rtnetlink handle.
    pub links: Links,
    /// kube-proxy's settings.
    pub config: Config,
    /// Graceful termination of leaving real servers (kube-proxy's).
    pub graceful: bool,
}

fn kernel(context: &str) -> impl Fn(lvs::Error) -> SyncError + '_ {
    move |e| SyncError::Kernel(context.to_string(), e)
}

impl Proxier {
    /// Opens both handles in the current network namespace.
    pub fn open(config: Config) -> Result<Self, SyncError> {
        Ok(Proxier {
            ipvs: Ipvs::open().map_err(kernel("opening IPVS"))?,
            links: Links::open().map_err(kernel("opening rtnetlink"))?,
            config,
            graceful: true,
        })
    }

    /// The node addresses (all but `kube-ipvs0`'s, loopback and IPv6
    /// link-local) of the managed families.
    pub fn node_addresses(&self) -> Result<Vec<IpAddr>, SyncError> {
        Ok(self
            .links
            .local_addresses_except(VIP_LINK)
            .map_err(kernel("listing the node addresses"))?
            .into_iter()
            .filter(|ip| self.config.families.contains(&Family::of(*ip)))
            .collect())
    }

    /// One sync: computes and checks the whole desired state, then (only
    /// then) programs IPVS and `kube-ipvs0`.
    pub fn sync(&self, cluster: &Cluster) -> Result<Synced, SyncError> {
        let node = self.node_addresses()?;
        let want = desired(cluster, &self.config, &node).map_err(SyncError::Refused)?;
        self.program(&want, node.len())
    }

    /// Programs `want`: IPVS first (checked as a whole by `Ipvs::apply`
    /// before anything is sent), then the addresses.
    pub fn program(&self, want: &Desired, node_addresses: usize) -> Result<Synced, SyncError> {
        let config = &self.config;
        let options = ApplyOptions::new()
            .graceful(self.graceful)
            .scope(|id: &ServiceId| config.owns(id));
        let report = self
            .ipvs
            .apply(&want.servers, &options)
            .map_err(kernel("applying the IPVS table"))?;
        self.links
            .ensure_dummy(VIP_LINK)
            .map_err(kernel("creating kube-ipvs0"))?;
        let have: BTreeSet<IpAddr> = self
            .links
            .addresses(VIP_LINK)
            .map_err(kernel("listing kube-ipvs0's addresses"))?
            .into_iter()
            .map(|a| a.addr)
            .filter(|ip| config.families.contains(&Family::of(*ip)))
            .collect();
        let mut synced = Synced {
            servers: want.servers.len(),
            node_addresses,
            ..Synced::default()
        };
        for &ip in want.bind.difference(&have) {
            self.links
                .add_address(VIP_LINK, ip, None)
                .map_err(kernel(&format!("binding {ip} on kube-ipvs0")))?;
            synced.bound.push(ip);
        }
        for &ip in have.difference(&want.bind) {
            self.links
                .delete_address(VIP_LINK, ip, None)
                .map_err(kernel(&format!("unbinding {ip} from kube-ipvs0")))?;
            synced.unbound.push(ip);
        }
        synced.report = report;
        Ok(synced)
    }
}
