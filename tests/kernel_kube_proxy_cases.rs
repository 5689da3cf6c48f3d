//! kube-proxy's own IPVS-table tests (kubernetes `pkg/proxy/ipvs/proxier_test.go`),
//! ported to the kernel: each case's Services and EndpointSlices are kubectl
//! JSON under tests/fixtures/kube-proxy/, `kube_proxy_sync` programs them in
//! a namespace of the guest whose node addresses are the case's, and the
//! kernel's table (`ipvsadm -Sn`) is compared with the case's expected
//! virtual servers and real servers as sets, as kube-proxy's test compares
//! its fake IPVS maps; the `kube-ipvs0` addresses likewise.

mod common;

use std::collections::BTreeSet;

use common::*;

const NODE: &str = "node-a";

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/kube-proxy/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A node: a namespace with `addrs` on a dummy link `eth0` (IPv4 /24,
/// IPv6 /64).
fn node(addrs: &[&str]) -> TestNetns {
    let ns = TestNetns::new();
    let mut script = String::from("link add eth0 type dummy\nlink set eth0 up\n");
    for a in addrs {
        if a.contains(':') {
            script.push_str(&format!("addr add {a}/64 dev eth0 nodad\n"));
        } else {
            script.push_str(&format!("addr add {a}/24 dev eth0\n"));
        }
    }
    ns.exec_stdin("ip", &["-batch", "-"], &script);
    ns
}

/// Runs `kube_proxy_sync` on fixture `name` with `flags`; its stdout.
fn sync(ns: &TestNetns, name: &str, flags: &[&str]) -> String {
    let file = fixture(name);
    let mut args = vec!["--node", NODE, "--quiet"];
    args.extend_from_slice(flags);
    args.push(&file);
    run_example(ns, "kube_proxy_sync", &args)
}

/// The kernel's table as `ipvsadm -Sn` lines, as a set.
fn table(ns: &TestNetns) -> BTreeSet<String> {
    ns.exec("ipvsadm", &["-Sn"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn set(lines: &[&str]) -> BTreeSet<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

/// The addresses on kube-ipvs0 (`ADDR/PREFIX`).
fn vips(ns: &TestNetns) -> BTreeSet<String> {
    ns.exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"])
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|x| *x == "inet" || *x == "inet6")?;
            w.next().map(str::to_string)
        })
        .collect()
}

fn expect(ns: &TestNetns, lines: &[&str], bound: &[&str]) {
    assert_eq!(table(ns), set(lines), "IPVS table");
    assert_eq!(vips(ns), set(bound), "kube-ipvs0 addresses");
}

/// One case: node addresses, fixture, flags, expected table and addresses;
/// then a second sync must change nothing.
fn case(addrs: &[&str], name: &str, flags: &[&str], lines: &[&str], bound: &[&str]) -> TestNetns {
    let ns = node(addrs);
    sync(&ns, name, flags);
    expect(&ns, lines, bound);
    let again = sync(&ns, name, flags);
    assert!(
        again.contains("no changes"),
        "{name}, second sync:\n{again}"
    );
    ns
}

// ---- TestNodePortIPv4 ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_ipv4_two_families_of_endpoints_any_port_number() {
    // NodePort 3001 (outside 30000-32767) is programmed as given; the IPv6
    // slice and the IPv6 node address are no business of a single-stack
    // IPv4 Service (both proxiers run: the default, a dual-stack node).
    let lines = [
        "-A -t 10.20.30.41:80 -s rr",
        "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
        "-A -t 100.101.102.103:3001 -s rr",
        "-a -t 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
    ];
    case(
        &["100.101.102.103", "2001:db8::1:1"],
        "nodeport-ipv4",
        &[],
        &lines,
        &["10.20.30.41/32"],
    );
    case(
        &["100.101.102.103", "2001:db8::1:1"],
        "nodeport-ipv4",
        &["--ip-family", "ipv4"],
        &lines,
        &["10.20.30.41/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_ipv4_udp_with_match_all_nodeport_addresses() {
    case(
        &["100.101.102.103"],
        "nodeport-udp",
        &["--nodeport-addresses", "0.0.0.0/0"],
        &[
            "-A -u 10.20.30.41:80 -s rr",
            "-a -u 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-A -u 100.101.102.103:3001 -s rr",
            "-a -u 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
        ],
        &["10.20.30.41/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_without_endpoints_has_no_real_servers() {
    case(
        &["100.101.102.103"],
        "nodeport-no-endpoints",
        &[],
        &[
            "-A -t 10.20.30.41:80 -s rr",
            "-A -t 100.101.102.103:3001 -s rr",
        ],
        &["10.20.30.41/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_sctp_on_every_node_address_of_the_family() {
    case(
        &[
            "100.101.102.103",
            "100.101.102.104",
            "100.101.102.105",
            "2001:db8::1:1",
            "2001:db8::1:2",
            "2001:db8::1:3",
        ],
        "nodeport-sctp",
        &[],
        &[
            "-A --sctp-service 10.20.30.41:80 -s rr",
            "-a --sctp-service 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-A --sctp-service 100.101.102.103:3001 -s rr",
            "-a --sctp-service 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
            "-A --sctp-service 100.101.102.104:3001 -s rr",
            "-a --sctp-service 100.101.102.104:3001 -r 10.180.0.1:80 -m -w 1",
            "-A --sctp-service 100.101.102.105:3001 -s rr",
            "-a --sctp-service 100.101.102.105:3001 -r 10.180.0.1:80 -m -w 1",
        ],
        &["10.20.30.41/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_sctp_external_traffic_policy_local() {
    case(
        &["100.101.102.103"],
        "nodeport-sctp-local",
        &[],
        &[
            "-A --sctp-service 10.20.30.41:80 -s rr",
            "-a --sctp-service 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-a --sctp-service 10.20.30.41:80 -r 10.180.1.1:80 -m -w 1",
            "-A --sctp-service 100.101.102.103:3001 -s rr",
            "-a --sctp-service 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
        ],
        &["10.20.30.41/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_addresses_cidr_selects_node_addresses() {
    case(
        &["100.101.102.103", "192.168.7.10"],
        "nodeport-ipv4",
        &["--nodeport-addresses", "100.101.102.0/24,2001:db8::/64"],
        &[
            "-A -t 10.20.30.41:80 -s rr",
            "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 100.101.102.103:3001 -s rr",
            "-a -t 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
        ],
        &["10.20.30.41/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn scheduler_flags_mh_sets_mh_port() {
    case(
        &["100.101.102.103"],
        "nodeport-ipv4",
        &["--scheduler", "mh"],
        &[
            "-A -t 10.20.30.41:80 -s mh -b mh-port",
            "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 100.101.102.103:3001 -s mh -b mh-port",
            "-a -t 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
        ],
        &["10.20.30.41/32"],
    );
}

// ---- TestNodePortIPv6 ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_ipv6() {
    case(
        &["100.101.102.103", "2001:db8::1:1"],
        "nodeport-ipv6",
        &["--ip-family", "ipv6"],
        &[
            "-A -t [2020::1]:80 -s rr",
            "-a -t [2020::1]:80 -r [1002:ab8::2:1]:80 -m -w 1",
            "-A -t [2001:db8::1:1]:3001 -s rr",
            "-a -t [2001:db8::1:1]:3001 -r [1002:ab8::2:1]:80 -m -w 1",
        ],
        &["2020::1/128"],
    );
}

// ---- TestExternalIPs, TestOnlyLocalExternalIPs ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn external_ips_of_the_family_only() {
    // 2012::51 is of the other family: nothing, whether the IPv6 proxier
    // runs (the default) or not. 127.0.0.1 is not a node address
    // (loopback), so kube-proxy binds it on kube-ipvs0 too.
    let lines = [
        "-A -t 10.20.30.41:80 -s rr",
        "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
        "-A -t 50.60.70.81:80 -s rr",
        "-a -t 50.60.70.81:80 -r 10.180.0.1:80 -m -w 1",
        "-A -t 127.0.0.1:80 -s rr",
        "-a -t 127.0.0.1:80 -r 10.180.0.1:80 -m -w 1",
    ];
    let bound = ["10.20.30.41/32", "50.60.70.81/32", "127.0.0.1/32"];
    for flags in [&["--ip-family", "ipv4"][..], &[]] {
        case(
            &["100.101.102.103", "2001:db8::1:1"],
            "external-ips",
            flags,
            &lines,
            &bound,
        );
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn external_ips_local_take_this_nodes_endpoints() {
    // An external IP that is a node address is served but not bound.
    let ns = node(&["100.101.102.103", "50.60.70.81"]);
    sync(&ns, "external-ips-local", &["--ip-family", "ipv4"]);
    let mut lines = vec![
        "-A -t 10.20.30.41:80 -s rr",
        "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
        "-a -t 10.20.30.41:80 -r 10.180.2.1:80 -m -w 1",
    ];
    for vip in ["50.60.70.81:80", "127.0.0.1:80"] {
        lines.push(Box::leak(format!("-A -t {vip} -s rr").into_boxed_str()));
        lines.push(Box::leak(
            format!("-a -t {vip} -r 10.180.2.1:80 -m -w 1").into_boxed_str(),
        ));
    }
    // (no nodePort in the fixture's port: NodePort type without one)
    expect(&ns, &lines, &["10.20.30.41/32", "127.0.0.1/32"]);
}

// ---- TestLoadBalancer, TestOnlyLocalLoadBalancing, ipMode ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn load_balancer() {
    case(
        &["100.101.102.103"],
        "loadbalancer",
        &[],
        &[
            "-A -t 10.20.30.41:80 -s rr",
            "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 1.2.3.4:80 -s rr",
            "-a -t 1.2.3.4:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 100.101.102.103:3001 -s rr",
            "-a -t 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
        ],
        &["10.20.30.41/32", "1.2.3.4/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn load_balancer_local_takes_this_nodes_endpoints() {
    case(
        &["100.101.102.103"],
        "loadbalancer-local",
        &[],
        &[
            "-A -t 10.20.30.41:80 -s rr",
            "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-a -t 10.20.30.41:80 -r 10.180.2.1:80 -m -w 1",
            "-A -t 1.2.3.4:80 -s rr",
            "-a -t 1.2.3.4:80 -r 10.180.2.1:80 -m -w 1",
            "-A -t 100.101.102.103:3001 -s rr",
            "-a -t 100.101.102.103:3001 -r 10.180.2.1:80 -m -w 1",
        ],
        &["10.20.30.41/32", "1.2.3.4/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn load_balancer_ip_mode_proxy_gets_nothing() {
    case(
        &["100.101.102.103"],
        "loadbalancer-ipmode",
        &[],
        &[
            "-A -t 10.20.30.41:80 -s rr",
            "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 5.6.7.8:80 -s rr",
            "-a -t 5.6.7.8:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 9.9.9.9:80 -s rr",
            "-a -t 9.9.9.9:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 100.101.102.103:3001 -s rr",
            "-a -t 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
        ],
        &["10.20.30.41/32", "5.6.7.8/32", "9.9.9.9/32"],
    );
}

// ---- TestSessionAffinity ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn session_affinity_on_every_virtual_server_of_the_service() {
    case(
        &["100.101.102.103"],
        "session-affinity",
        &[],
        &[
            "-A -t 10.20.30.41:80 -s rr -p 10800",
            "-A -t 50.60.70.81:80 -s rr -p 10800",
            "-A -t 100.101.102.103:3001 -s rr -p 10800",
            "-A -t 10.20.30.42:80 -s rr -p 600",
        ],
        &["10.20.30.41/32", "10.20.30.42/32", "50.60.70.81/32"],
    );
}

// ---- TestMultiPortServiceBindAddr ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn multi_port_service_keeps_its_address_while_a_port_remains() {
    let ns = node(&["100.101.102.103"]);
    sync(&ns, "multiport-3", &[]);
    expect(
        &ns,
        &[
            "-A -t 172.16.55.4:1234 -s rr",
            "-A -u 172.16.55.4:1235 -s rr",
            "-A --sctp-service 172.16.55.4:1236 -s rr",
        ],
        &["172.16.55.4/32"],
    );
    sync(&ns, "multiport-2", &[]);
    expect(
        &ns,
        &[
            "-A -t 172.16.55.4:1234 -s rr",
            "-A -u 172.16.55.4:1235 -s rr",
        ],
        &["172.16.55.4/32"],
    );
    sync(&ns, "multiport-1", &[]);
    expect(&ns, &["-A -t 172.16.55.4:1234 -s rr"], &["172.16.55.4/32"]);
    sync(&ns, "empty", &[]);
    expect(&ns, &[], &[]);
}

// ---- TestEndpointSliceE2E ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn endpoint_slice_end_to_end() {
    let ns = node(&["100.101.102.103"]);
    sync(&ns, "endpointslice-e2e", &[]);
    expect(
        &ns,
        &[
            "-A -t 172.20.1.1:80 -s rr",
            "-a -t 172.20.1.1:80 -r 10.0.1.1:80 -m -w 1",
            "-a -t 172.20.1.1:80 -r 10.0.1.2:80 -m -w 1",
            "-a -t 172.20.1.1:80 -r 10.0.1.3:80 -m -w 1",
        ],
        &["172.20.1.1/32"],
    );
    // The slice goes: its real servers hold no connection, so they go at
    // once (graceful termination drains only what has connections).
    sync(&ns, "endpointslice-e2e-no-slice", &[]);
    expect(&ns, &["-A -t 172.20.1.1:80 -s rr"], &["172.20.1.1/32"]);
    sync(&ns, "empty", &[]);
    expect(&ns, &[], &[]);
}

// ---- TestInternalTrafficPolicy ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn internal_traffic_policy() {
    let all = [
        "-A -t 10.0.0.10:80 -s rr",
        "-a -t 10.0.0.10:80 -r 10.0.1.1:80 -m -w 1",
        "-a -t 10.0.0.10:80 -r 10.0.1.2:80 -m -w 1",
        "-a -t 10.0.0.10:80 -r 10.0.1.3:80 -m -w 1",
    ];
    case(&[], "itp-cluster", &[], &all, &["10.0.0.10/32"]);
    case(&[], "itp-local-one", &[], &all[..2], &["10.0.0.10/32"]);
    case(&[], "itp-local-two", &[], &all[..3], &["10.0.0.10/32"]);
    // No local endpoint: no real server (no fallback to the cluster's).
    case(&[], "itp-local-none", &[], &all[..1], &["10.0.0.10/32"]);
    // The same with a NodePort (both policies Local): the Service is
    // externally accessible, so it has cluster endpoints, and IPVS mode
    // falls back to them on the ClusterIP and the NodePort alike
    // (kubernetes#97081).
    let mut lines: Vec<String> = all.iter().map(|l| l.to_string()).collect();
    lines.push("-A -t 100.101.102.103:3001 -s rr".into());
    for e in ["10.0.1.1", "10.0.1.2", "10.0.1.3"] {
        lines.push(format!("-a -t 100.101.102.103:3001 -r {e}:80 -m -w 1"));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    case(
        &["100.101.102.103"],
        "itp-local-nodeport",
        &[],
        &lines,
        &["10.0.0.10/32"],
    );
}

// ---- TestTerminatingEndpointsTrafficPolicyLocal / Cluster ----

fn lb(cluster: &[&str], external: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (vip, eps) in [
        ("172.30.1.1:80", cluster),
        ("1.2.3.4:80", external),
        ("100.101.102.103:30000", external),
    ] {
        out.push(format!("-A -t {vip} -s rr"));
        for e in eps {
            out.push(format!("-a -t {vip} -r {e}:80 -m -w 1"));
        }
    }
    out
}

fn terminating_case(name: &str, cluster: &[&str], external: &[&str]) {
    let lines = lb(cluster, external);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    case(
        &["100.101.102.103"],
        name,
        &[],
        &lines,
        &["1.2.3.4/32", "172.30.1.1/32"],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn ready_and_terminating_endpoints_with_policy_local() {
    terminating_case(
        "terminating-local-ready",
        &["10.0.1.1", "10.0.1.2", "10.0.1.5"],
        &["10.0.1.1", "10.0.1.2"],
    );
    terminating_case(
        "terminating-local-only-terminating",
        &["10.0.1.5"],
        &["10.0.1.2", "10.0.1.3"],
    );
    // No local endpoint: the external virtual servers fall back to the
    // cluster endpoints (IPVS mode, kubernetes#97081), here a remote
    // serving-and-terminating one.
    terminating_case("terminating-local-remote", &["10.0.1.5"], &["10.0.1.5"]);
    terminating_case("terminating-local-none-usable", &[], &[]);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn ready_and_terminating_endpoints_with_policy_cluster() {
    let ready = ["10.0.1.1", "10.0.1.2", "10.0.1.5"];
    terminating_case("terminating-cluster-ready", &ready, &ready);
    let serving = ["10.0.1.2", "10.0.1.3", "10.0.1.5"];
    terminating_case("terminating-cluster-only-terminating", &serving, &serving);
}

// ---- TestCleanLegacyService ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn clean_legacy_service_deletes_all_of_the_family_but_excluded_cidrs() {
    let ns = node(&["100.101.102.103"]);
    let mut script = String::new();
    for ip in [
        "1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5", "6.6.6.6",
    ] {
        script.push_str(&format!("-A -u {ip}:53 -s rr\n"));
    }
    script.push_str("-A -t [2001:db8::5]:80 -s rr\n-A -f 7 -s rr\n");
    ns.exec_stdin("ipvsadm", &["-R"], &script);
    ns.exec_stdin(
        "ip",
        &["-batch", "-"],
        "link add kube-ipvs0 type dummy\naddr add 3.3.3.3/32 dev kube-ipvs0\n\
         addr add 4.4.4.4/32 dev kube-ipvs0\naddr add 5.5.5.5/32 dev kube-ipvs0\n\
         addr add 6.6.6.6/32 dev kube-ipvs0\n",
    );
    let out = sync(
        &ns,
        "clean-legacy",
        &[
            "--ip-family",
            "ipv4",
            "--ipvs-exclude-cidrs",
            "3.3.3.0/24,4.4.4.0/24",
        ],
    );
    assert!(out.contains("services: +0 ~0 -2"), "{out}");
    // The IPv6 service (another family's proxier) and the fwmark service
    // (not an address kube-proxy programs) stay too; every address of the
    // family on kube-ipvs0 that no Service wants is unbound, excluded or not.
    expect(
        &ns,
        &[
            "-A -u 1.1.1.1:53 -s rr",
            "-A -u 2.2.2.2:53 -s rr",
            "-A -u 3.3.3.3:53 -s rr",
            "-A -u 4.4.4.4:53 -s rr",
            "-A -t [2001:db8::5]:80 -s rr",
            "-A -f 7 -s rr",
        ],
        &["1.1.1.1/32", "2.2.2.2/32"],
    );
}

// ---- updateWeightsOnRestart ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn weights_are_reset_to_one_on_restart() {
    let ns = node(&["100.101.102.103"]);
    ns.exec_stdin(
        "ipvsadm",
        &["-R"],
        "-A -t 10.20.30.41:80 -s rr\n\
         -a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 0\n\
         -a -t 10.20.30.41:80 -r 10.180.0.2:80 -m -w 5\n",
    );
    let out = sync(&ns, "restart", &[]);
    assert!(out.contains("destinations: +0 ~2 -0"), "{out}");
    expect(
        &ns,
        &[
            "-A -t 10.20.30.41:80 -s rr",
            "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-a -t 10.20.30.41:80 -r 10.180.0.2:80 -m -w 1",
        ],
        &["10.20.30.41/32"],
    );
}

// ---- dual stack, headless, ExternalName ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn dual_stack_service_gets_one_table_per_family() {
    case(
        &["100.101.102.103", "2001:db8::1:1"],
        "dual-stack",
        &[],
        &[
            "-A -t 10.20.30.41:80 -s rr",
            "-a -t 10.20.30.41:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 50.60.70.81:80 -s rr",
            "-a -t 50.60.70.81:80 -r 10.180.0.1:80 -m -w 1",
            "-A -t 100.101.102.103:3001 -s rr",
            "-a -t 100.101.102.103:3001 -r 10.180.0.1:80 -m -w 1",
            "-A -t [2020::1]:80 -s rr",
            "-a -t [2020::1]:80 -r [1002:ab8::2:1]:80 -m -w 1",
            "-A -t [2012::51]:80 -s rr",
            "-a -t [2012::51]:80 -r [1002:ab8::2:1]:80 -m -w 1",
            "-A -t [2001:db8::1:1]:3001 -s rr",
            "-a -t [2001:db8::1:1]:3001 -r [1002:ab8::2:1]:80 -m -w 1",
        ],
        &[
            "10.20.30.41/32",
            "50.60.70.81/32",
            "2020::1/128",
            "2012::51/128",
        ],
    );
}

// ---- a refused rule set changes nothing ----

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn refused_input_changes_nothing_and_names_service_and_field() {
    let ns = node(&["100.101.102.103"]);
    sync(&ns, "loadbalancer", &[]);
    ns.exec("ipvsadm", &["-A", "-t", "192.0.2.1:80"]);
    let before = (table(&ns), vips(&ns), ns.exec("ip", &["-o", "link"]));
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(example("kube_proxy_sync"))
        .args(["--node", NODE, "--quiet", &fixture("refused")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Service ns1/bad: spec.ports[0].port: missing"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(
        (table(&ns), vips(&ns), ns.exec("ip", &["-o", "link"])),
        before
    );

    // Input that is not JSON (cut anywhere, or garbage) is refused the same
    // way, never with a panic.
    let text = std::fs::read_to_string(fixture("loadbalancer")).unwrap();
    let dir = std::env::temp_dir().join(format!("lvs-refused-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cuts: Vec<String> = (1..12)
        .map(|k| text[..text.len() * k / 12].to_string())
        .collect();
    cuts.push(r#"{"items": [{"kind": "Service"} {}]}"#.into());
    cuts.push(r#"{"kind": "List", "items": ["\"]}"#.into());
    cuts.push("\u{feff}garbage".into());
    for (k, cut) in cuts.iter().enumerate() {
        let path = dir.join(format!("cut{k}.json"));
        std::fs::write(&path, cut).unwrap();
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(example("kube_proxy_sync"))
            .args(["--node", NODE, "--quiet", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "cut {k}: {stderr}");
        assert!(stderr.contains("nothing was changed"), "cut {k}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        (table(&ns), vips(&ns), ns.exec("ip", &["-o", "link"])),
        before
    );
}
