//! The `kube_proxy_sync` example against the kernel: a cluster's Services
//! and EndpointSlices (tests/fixtures/cluster.json) become kube-proxy's
//! IPVS rules; a second run changes nothing; a changed cluster changes
//! exactly what differs, draining a leaving endpoint first.

mod common;

use common::*;

fn sync(ns: &TestNetns, file: &str) -> String {
    ns.exec(
        example("kube_proxy_sync").to_str().unwrap(),
        &[
            "--node",
            "node-a",
            "--ipvs-exclude-cidrs",
            "10.200.0.0/16",
            "--quiet",
            file,
        ],
    )
}

fn sorted(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

const EXPECTED: &str = "\
-A -t 10.96.0.10:8080 -s rr
-a -t 10.96.0.10:8080 -r 10.244.1.5:80 -m -w 1
-a -t 10.96.0.10:8080 -r 10.244.2.7:80 -m -w 1
-A -t 10.96.0.11:8080 -s rr -p 10800
-a -t 10.96.0.11:8080 -r 10.244.1.6:80 -m -w 1
-A -t 10.96.0.12:8080 -s rr
-a -t 10.96.0.12:8080 -r 10.244.1.20:80 -m -w 1
-a -t 10.96.0.12:8080 -r 10.244.2.20:80 -m -w 1
-A -t 203.0.113.7:8080 -s rr
-a -t 203.0.113.7:8080 -r 10.244.1.20:80 -m -w 1
-A -t 192.0.2.10:30080 -s rr
-a -t 192.0.2.10:30080 -r 10.244.1.20:80 -m -w 1
-A -u 10.96.0.53:53 -s rr
-a -u 10.96.0.53:53 -r 10.244.1.2:53 -m -w 1
-a -u 10.96.0.53:53 -r 10.244.2.2:53 -m -w 1
-A -t 10.96.0.53:53 -s rr
-a -t 10.96.0.53:53 -r 10.244.1.2:53 -m -w 1
-a -t 10.96.0.53:53 -r 10.244.2.2:53 -m -w 1
-A -t 10.96.0.13:443 -s rr
-a -t 10.96.0.13:443 -r 10.244.2.30:8443 -m -w 1
-A -t 198.51.100.9:443 -s rr
-a -t 198.51.100.9:443 -r 10.244.2.30:8443 -m -w 1
-A -t 192.0.2.10:30443 -s rr
-a -t 192.0.2.10:30443 -r 10.244.2.30:8443 -m -w 1
-A -t 10.200.0.1:80 -s wlc
";

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn kube_proxy_sync_programs_the_cluster_and_converges() {
    let ns = TestNetns::new();
    // The node: one address on a link of its own; and a service that is
    // not kube-proxy's (in --ipvs-exclude-cidrs), which must survive every
    // run.
    ns.exec("ip", &["link", "add", "eth0", "type", "dummy"]);
    ns.exec("ip", &["addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    ns.exec("ip", &["link", "set", "eth0", "up"]);
    ns.exec("ipvsadm", &["-A", "-t", "10.200.0.1:80"]);
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cluster.json");

    let first = sync(&ns, fixture);
    assert!(
        first.contains("services: +10 ~0 -0; destinations: +14 ~0 -0"),
        "{first}"
    );
    assert_eq!(sorted(&ns.exec("ipvsadm", &["-Sn"])), sorted(EXPECTED));
    let bound = ns.exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"]);
    for ip in [
        "10.96.0.10/32",
        "10.96.0.11/32",
        "10.96.0.12/32",
        "10.96.0.13/32",
        "10.96.0.53/32",
        "203.0.113.7/32",
        "198.51.100.9/32",
    ] {
        assert!(bound.contains(ip), "{ip} not on kube-ipvs0:\n{bound}");
    }
    assert!(
        ns.exec("ip", &["link", "show", "kube-ipvs0"])
            .contains("state DOWN")
    );

    // The same cluster again: nothing to do.
    let second = sync(&ns, fixture);
    assert!(second.contains("no changes"), "{second}");
    assert_eq!(sorted(&ns.exec("ipvsadm", &["-Sn"])), sorted(EXPECTED));

    // The cluster changes: an nginx endpoint leaves, the dns Service goes.
    let text = std::fs::read_to_string(fixture).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = json["items"].as_array_mut().unwrap();
    items.retain(|i| i["metadata"]["name"] != "dns" && i["metadata"]["name"] != "dns-1");
    for i in items.iter_mut() {
        if i["metadata"]["name"] == "nginx-abc" {
            i["endpoints"].as_array_mut().unwrap().remove(1);
        }
    }
    let changed = std::env::temp_dir().join(format!("lvs-cluster-{}.json", std::process::id()));
    std::fs::write(&changed, serde_json::to_string(&json).unwrap()).unwrap();
    let changed = changed.to_str().unwrap();

    // kube-proxy deletes a leaving real server that holds no connection at
    // once (graceful termination drains only those with connections).
    let third = sync(&ns, changed);
    assert!(
        third.contains("services: +0 ~0 -2; destinations: +0 ~0 -1; draining 0"),
        "{third}"
    );
    let table = ns.exec("ipvsadm", &["-Sn"]);
    assert!(!table.contains("10.244.2.7"), "{table}");
    assert!(!table.contains("10.96.0.53"), "{table}");
    assert!(
        !ns.exec("ip", &["-o", "addr", "show", "dev", "kube-ipvs0"])
            .contains("10.96.0.53")
    );
    assert!(sync(&ns, changed).contains("no changes"));
    assert!(
        ns.exec("ipvsadm", &["-Sn"])
            .contains("-A -t 10.200.0.1:80 -s wlc")
    );
    std::fs::remove_file(changed).unwrap();
}
