//! The kube-proxy rule-set examples (`clusterip`, `session_affinity`,
//! `external_ip`, `nodeport`) as desired state: a second run changes
//! nothing, and `--cleanup` leaves the IPVS table, the links and the
//! addresses exactly as they were before the first run, with other
//! services and addresses in place to prove they are never touched. Run
//! as a user would (`ip netns exec NS target/debug/examples/NAME`) in the
//! UML guest (`scripts/test`); on the host they are ignored, never passed.

mod common;

use std::process::Command;

use common::TestNetns;
use common::{example, run_example};

/// What `--cleanup` must give back: `ipvsadm -Sn`, `ip -o link`,
/// `ip -o addr`.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    table: String,
    links: String,
    addresses: String,
}

fn snapshot(ns: &TestNetns) -> Snapshot {
    Snapshot {
        table: ns.exec("ipvsadm", &["-Sn"]),
        links: ns.exec("ip", &["-o", "link"]),
        addresses: ns.exec("ip", &["-o", "addr"]),
    }
}

/// Someone else's service and address: a service with a destination, and
/// a dummy link `other0` (down, so without IPv6 link-local address) with
/// an address, which also makes it a node address.
fn others(ns: &TestNetns) {
    ns.exec_stdin(
        "ipvsadm",
        &["-R"],
        "-A -t 10.0.0.99:80 -s wlc\n-a -t 10.0.0.99:80 -r 10.0.1.1:80 -m -w 3\n",
    );
    ns.exec_stdin(
        "ip",
        &["-batch", "-"],
        "link add other0 type dummy\naddr add 10.0.0.99/24 dev other0\n",
    );
}

/// Runs `name ARGS` twice and `name ARGS --cleanup` twice in `ns`, checking
/// that the first run prints `first_run` lines, the second changes
/// nothing, and the cleanup gives back the namespace as it was.
fn set_up_twice_and_clean_up(ns: &TestNetns, name: &str, args: &[&str], first_run: &[&str]) {
    let before = snapshot(ns);

    let out = run_example(ns, name, args);
    for line in first_run {
        assert!(
            out.lines().any(|l| l == *line),
            "{name}: no line {line:?} in:\n{out}"
        );
    }
    // The table it prints is the one ipvsadm lists.
    let listed = ns.exec("ipvsadm", &["-Ln"]);
    assert!(out.ends_with(&listed), "{name}:\n{out}\nipvsadm:\n{listed}");
    let set_up = snapshot(ns);
    assert_ne!(set_up.table, before.table);
    // The services of others are still there.
    for line in before.table.lines() {
        assert!(set_up.table.contains(line), "{name} dropped {line:?}");
    }

    let again = run_example(ns, name, args);
    assert!(
        again.contains("\nno changes: the rule set is already in place\n")
            || again.starts_with("no changes: the rule set is already in place\n"),
        "{name}, second run:\n{again}"
    );
    assert_eq!(
        snapshot(ns),
        set_up,
        "{name}: the second run changed something"
    );

    let mut cleanup_args = args.to_vec();
    cleanup_args.push("--cleanup");
    let out = run_example(ns, name, &cleanup_args);
    assert_eq!(snapshot(ns), before, "{name} --cleanup:\n{out}");
    let out = run_example(ns, name, &cleanup_args);
    assert!(
        out.contains("no changes: nothing of this rule set is left"),
        "{name}, second cleanup:\n{out}"
    );
    assert_eq!(snapshot(ns), before, "{name}, second cleanup");
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn clusterip_second_run_changes_nothing_and_cleanup_restores_all() {
    let ns = TestNetns::new();
    others(&ns);
    set_up_twice_and_clean_up(
        &ns,
        "clusterip",
        &[],
        &[
            "created link kube-ipvs0 (dummy, left down)",
            "added address 10.96.0.10/32 to kube-ipvs0",
            "added service TCP 10.96.0.10:8080 rr",
            "added destination 10.244.1.5:80 (Masq, weight 1) to TCP 10.96.0.10:8080",
            "added destination 10.244.2.7:80 (Masq, weight 1) to TCP 10.96.0.10:8080",
            "5 changes",
        ],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn clusterip_cleanup_keeps_kube_ipvs0_while_it_holds_other_addresses() {
    let ns = TestNetns::new();
    others(&ns);
    ns.exec_stdin(
        "ip",
        &["-batch", "-"],
        "link add kube-ipvs0 type dummy\naddr add 10.96.99.99/32 dev kube-ipvs0\n",
    );
    set_up_twice_and_clean_up(
        &ns,
        "clusterip",
        &[
            "--cluster-ip",
            "10.96.5.5",
            "--port",
            "443",
            "--protocol",
            "udp",
            "--scheduler",
            "wlc",
            "--endpoint",
            "10.244.3.3:8443",
        ],
        &[
            "added address 10.96.5.5/32 to kube-ipvs0",
            "added service UDP 10.96.5.5:443 wlc",
            "3 changes",
        ],
    );
    let line = ns.exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"]);
    assert!(line.contains("10.96.99.99/32"), "{line}");
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn clusterip_over_ipv6_binds_a_128_and_cleans_up() {
    let ns = TestNetns::new();
    others(&ns);
    set_up_twice_and_clean_up(
        &ns,
        "clusterip",
        &[
            "--cluster-ip",
            "fd00:96::10",
            "--endpoint",
            "[fd00:244:1::5]:80",
            "--endpoint",
            "[fd00:244:2::7]:80",
            "--scheduler",
            "mh",
        ],
        &[
            "added address fd00:96::10/128 to kube-ipvs0",
            "added service TCP [fd00:96::10]:8080 mh (mh-port)",
            "added destination [fd00:244:1::5]:80 (Masq, weight 1) to TCP [fd00:96::10]:8080",
        ],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn session_affinity_second_run_changes_nothing_and_cleanup_restores_all() {
    let ns = TestNetns::new();
    others(&ns);
    set_up_twice_and_clean_up(
        &ns,
        "session_affinity",
        &[],
        &[
            "added address 10.96.0.11/32 to kube-ipvs0",
            "added service TCP 10.96.0.11:8080 rr persistent 10800",
            "5 changes",
        ],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn session_affinity_new_timeout_updates_the_service_in_place() {
    let ns = TestNetns::new();
    run_example(&ns, "session_affinity", &[]);
    let out = run_example(&ns, "session_affinity", &["--timeout", "86400"]);
    assert!(
        out.starts_with("updated service TCP 10.96.0.11:8080 rr persistent 86400\n1 change\n"),
        "{out}"
    );
    assert!(
        ns.exec("ipvsadm", &["-Sn"])
            .contains("-A -t 10.96.0.11:8080 -s rr -p 86400\n")
    );
    // Out of kube-proxy's range: refused before anything is done.
    let refused = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(example("session_affinity"))
        .args(["--timeout", "86401"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("1 to 86400"));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn external_ip_second_run_changes_nothing_and_cleanup_restores_all() {
    let ns = TestNetns::new();
    others(&ns);
    // 10.0.0.99 is already local (on other0): it stays there, unbound.
    set_up_twice_and_clean_up(
        &ns,
        "external_ip",
        &[
            "--external-ip",
            "203.0.113.10",
            "--external-ip",
            "10.0.0.99",
        ],
        &[
            "external IP 10.0.0.99 is local on other0: not bound on kube-ipvs0",
            "added address 10.96.0.12/32 to kube-ipvs0",
            "added address 203.0.113.10/32 to kube-ipvs0",
            "added service TCP 10.0.0.99:8080 rr",
            "added service TCP 203.0.113.10:8080 rr",
            "added service TCP 10.96.0.12:8080 rr",
            "12 changes",
        ],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn nodeport_second_run_changes_nothing_and_cleanup_restores_all() {
    let ns = TestNetns::new();
    others(&ns);
    ns.exec_stdin(
        "ip",
        &["-batch", "-"],
        "link add eth0 type dummy\naddr add 192.168.0.10/24 dev eth0\n\
         addr add 192.168.0.11/24 dev eth0\naddr add 2001:db8::10/64 dev eth0\n",
    );
    set_up_twice_and_clean_up(
        &ns,
        "nodeport",
        &[],
        &[
            "node addresses: 10.0.0.99, 192.168.0.10, 192.168.0.11",
            "added service TCP 10.96.0.13:8080 rr",
            "added service TCP 10.0.0.99:30080 rr",
            "added service TCP 192.168.0.10:30080 rr",
            "added service TCP 192.168.0.11:30080 rr",
            "14 changes",
        ],
    );
    // externalTrafficPolicy Local: this node's endpoints on the NodePorts.
    set_up_twice_and_clean_up(
        &ns,
        "nodeport",
        &[
            "--local",
            "--node",
            "node-b",
            "--node-port",
            "31000",
            "--endpoint",
            "10.244.1.5:80@node-a",
            "--endpoint",
            "10.244.2.7:80@node-b",
        ],
        &[
            "added destination 10.244.2.7:80 (Masq, weight 1) to TCP 192.168.0.10:31000",
            "added destination 10.244.1.5:80 (Masq, weight 1) to TCP 10.96.0.13:8080",
            "11 changes",
        ],
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn cleanup_keeps_an_address_another_service_still_uses() {
    let ns = TestNetns::new();
    run_example(&ns, "clusterip", &[]);
    // Another service on the same ClusterIP (another port of the Service,
    // say, or another controller's).
    ns.exec("ipvsadm", &["-A", "-t", "10.96.0.10:9090", "-s", "rr"]);
    let out = run_example(&ns, "clusterip", &["--cleanup"]);
    assert!(
        out.starts_with(
            "removed service TCP 10.96.0.10:8080 and its destinations\n\
             kept address 10.96.0.10/32 on kube-ipvs0: another virtual service uses it\n\
             1 change\n"
        ),
        "{out}"
    );
    assert_eq!(
        ns.exec("ipvsadm", &["-Sn"]),
        "-A -t 10.96.0.10:9090 -s rr\n"
    );
    let line = ns.exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"]);
    assert!(line.contains("10.96.0.10/32"), "{line}");
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn rule_set_examples_explain_themselves_and_refuse_bad_options() {
    let ns = TestNetns::new();
    for name in ["clusterip", "session_affinity", "external_ip", "nodeport"] {
        let help = run_example(&ns, name, &["--help"]);
        assert!(
            help.starts_with(&format!("{name} — kube-proxy's IPVS rules")),
            "{help}"
        );
        for option in [
            "usage:",
            "--cluster-ip",
            "--endpoint",
            "--cleanup",
            "--scheduler",
        ] {
            assert!(
                help.contains(option),
                "{name} --help lacks {option}:\n{help}"
            );
        }
        for bad in [
            &["--endpoint", "10.244.1.5"][..],
            &["--cluster-ip", "fd00::1"],
            &["--port", "0"],
            &["--frobnicate"],
        ] {
            let out = Command::new("ip")
                .args(["netns", "exec", &ns.name])
                .arg(example(name))
                .args(bad)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{name} {bad:?}");
            assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
        }
    }
    // Nothing was made by the refused runs.
    assert_eq!(ns.exec("ipvsadm", &["-Sn"]), "");
    assert!(!ns.exec("ip", &["-o", "link"]).contains("kube-ipvs0"));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn printed_tables_are_in_ipvsadms_order_across_the_address_space() {
    // ipvsadm sorts with comparators that subtract 32-bit words into an
    // int, so addresses 2^31 or more apart come out "backwards"
    // (203.0.113.10 before 10.0.0.99); the examples' table follows it.
    let ns = TestNetns::new();
    let rules = "\
-A -t 203.0.113.10:8080 -s rr
-A -t 10.0.0.99:8080 -s rr
-A -t 192.168.0.10:30080 -s rr
-A -t 255.255.255.254:1 -s rr
-A -t 0.0.0.1:65535 -s rr
-A -t 128.0.0.1:80 -s rr
-A -t 127.255.255.255:80 -s rr
-A -t 10.0.0.99:80 -s rr
-a -t 10.0.0.99:80 -r 250.0.0.1:80 -m
-a -t 10.0.0.99:80 -r 10.0.0.1:81 -m
-a -t 10.0.0.99:80 -r 130.0.0.1:80 -m
-a -t 10.0.0.99:80 -r 10.0.0.1:80 -m
-a -t 10.0.0.99:80 -r [2001:db8::5]:80 -i
-a -t 10.0.0.99:80 -r [8000::5]:80 -i
-a -t 10.0.0.99:80 -r 1.2.3.4:80 -g
-A -u 10.0.0.99:80 -s rr
-A -u 200.0.0.1:53 -s rr
-A -t [2001:db8::1]:80 -s rr
-A -t [8000::1]:80 -s rr
-A -t [::2]:80 -s rr
-A -t [2001:db8::1:0:0:1]:80 -s rr
-A -t [2001:db8:0:0:8000::1]:80 -s rr
-A -f 1 -s rr
-A -f 4294967295 -s rr
-A -f 2147483649 -s rr
-A -f 7 -6 -s rr
";
    ns.exec_stdin("ipvsadm", &["-R"], rules);
    assert_eq!(run_example(&ns, "list", &[]), ns.exec("ipvsadm", &["-Ln"]));
}
