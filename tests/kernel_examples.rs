//! The small per-verb examples, run as a user would (`ip netns exec NS
//! target/debug/examples/NAME`), checked against ipvsadm in the guest.

mod common;

use common::*;

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn list_prints_what_ipvsadm_lists() {
    let ns = TestNetns::new();
    // A varied table, loaded with ipvsadm itself.
    let rules = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 3
-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 70000
-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 1 --tun-type gue --tun-port 6080
-a -t 10.0.0.1:80 -r [2001:db8::5]:80 -i -w 1
-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port
-A --sctp-service 10.0.0.3:3868 -s rr -p 30 --pe sip
-A -t [2001:db8::10]:443 -s wlc -p 600 -M 64
-a -t [2001:db8::10]:443 -r [2001:db8::11]:443 -m -w 0
-A -t 10.0.0.4:8080 -s mh -b mh-fallback,mh-port -p 10800 -M 255.255.255.0
-A -f 42 -s wlc -p 360 -M 255.255.255.0
-a -f 42 -r 10.0.3.1:0 -g -w 2
-A -f 43 -6 -s lc -b flag-3
";
    ns.exec_stdin("ipvsadm", &["-R"], rules);
    let ours = run_example(&ns, "list", &[]);
    let theirs = ns.exec("ipvsadm", &["-Ln"]);
    assert_eq!(ours, theirs);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn verb_examples_add_list_and_flush() {
    let ns = TestNetns::new();
    run_example(
        &ns,
        "add_service",
        &["--scheduler", "rr", "tcp", "10.96.0.10:8080"],
    );
    run_example(
        &ns,
        "add_service",
        &["--persistent", "10800", "udp", "[fd00::10]:53"],
    );
    run_example(&ns, "add_service", &["fwmark", "7", "--ipv6"]);
    for pod in ["10.244.1.5:80", "10.244.2.7:80"] {
        run_example(&ns, "add_destination", &["tcp", "10.96.0.10:8080", pod]);
    }
    run_example(
        &ns,
        "add_destination",
        &[
            "--method",
            "route",
            "--weight",
            "5",
            "udp",
            "[fd00::10]:53",
            "[fd00::20]:53",
        ],
    );
    assert_eq!(
        ns.exec("ipvsadm", &["-Sn"]),
        "\
-A -t 10.96.0.10:8080 -s rr
-a -t 10.96.0.10:8080 -r 10.244.1.5:80 -m -w 1
-a -t 10.96.0.10:8080 -r 10.244.2.7:80 -m -w 1
-A -u [fd00::10]:53 -s wlc -p 10800
-a -u [fd00::10]:53 -r [fd00::20]:53 -g -w 5
-A -f 7 -6 -s wlc
"
    );
    assert_eq!(run_example(&ns, "list", &[]), ns.exec("ipvsadm", &["-Ln"]));
    // A second add is refused with the kernel's reason, exit status 1.
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(example("add_service"))
        .args(["tcp", "10.96.0.10:8080"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(run_example(&ns, "flush", &[]), "flushed 3 services\n");
    assert!(ns.ipvs().services().unwrap().is_empty());
}
