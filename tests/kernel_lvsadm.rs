//! `lvsadm` side by side with ipvsadm 1.31 in the UML guest: for the same
//! kernel state, every listing and save is byte-identical, restores go
//! both ways, exit statuses match over a table of mistakes, and where
//! ipvsadm is wrong `lvsadm` is right. Needs `cargo build --examples`.

mod common;

use common::traffic::{DIRECTOR, Lab, hold};
use common::*;
use lvs::*;

/// What a command printed and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Out {
    stdout: String,
    status: i32,
}

fn lvsadm_path() -> String {
    example("lvsadm").to_str().unwrap().to_owned()
}

/// Runs `prog args` in `ns` with `stdin`.
fn run_in(ns: &TestNetns, prog: &str, args: &[&str], stdin: &str) -> (Out, String) {
    let full: Vec<&str> = ["netns", "exec", &ns.name, prog]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    let out = common::output_stdin("ip", &full, stdin);
    (
        Out {
            stdout: String::from_utf8(out.stdout).unwrap(),
            status: out.status.code().unwrap_or(-1),
        },
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ipvsadm(ns: &TestNetns, args: &[&str]) -> Out {
    run_in(ns, "ipvsadm", args, "").0
}

fn lvsadm(ns: &TestNetns, args: &[&str]) -> Out {
    run_in(ns, &lvsadm_path(), args, "").0
}

/// The rule set: every service kind, scheduler flags, persistence with
/// masks and an engine, one-packet scheduling, every forwarding method and
/// tunnel kind, thresholds, mixed families, a weight above 65535.
const RULES: &[&str] = &[
    "-A -t 10.0.0.1:80 -s rr",
    "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 3 -x 100 -y 50",
    "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 70000",
    "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i --tun-type gue --tun-port 6080 --tun-csum",
    "-a -t 10.0.0.1:80 -r 10.0.1.4:80 -i --tun-type gre --tun-nocsum",
    "-a -t 10.0.0.1:80 -r 10.0.1.5:80 -i --tun-type gue --tun-port 6081 --tun-remcsum",
    "-a -t 10.0.0.1:80 -r 10.0.1.6:80 -i --tun-type gue --tun-port 6082",
    "-a -t 10.0.0.1:80 -r 10.0.1.7:80 -i --tun-type gre --tun-csum",
    "-a -t 10.0.0.1:80 -r [2001:db8::5]:80 -i --tun-type ipip",
    "-a -t 10.0.0.1:80 -r 200.0.0.1:80 -g",
    "-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port",
    "-a -u 10.0.0.2:53 -r 10.0.2.1:53 -m -w 0",
    "-A --sctp-service 10.0.0.3:3868 -s rr -p 30 --pe sip",
    "-A -t [2001:db8::10]:443 -s wlc -p 600 -M 64",
    "-a -t [2001:db8::10]:443 -r [2001:db8::11]:443 -m -w 0 -x 7 -y 2",
    "-A -f 42 -s wlc -p 360 -M 255.255.255.0",
    "-a -f 42 -r 10.0.3.1:0 -g -w 2",
    "-A -f 43 -6 -s mh -b mh-port,mh-fallback",
    "-A -t 10.0.0.9:22",
    "-A -t 10.0.0.9:21 -s lc -p",
    "-A -u 10.0.0.9:53 -s dh -b flag-1,flag-3",
    "-A -t 10.0.0.10:0 -s sed -p 100",
    "--set 100 20 30",
];

/// Loads `RULES` with `ipvsadm -R`.
fn load_with_ipvsadm(ns: &TestNetns) {
    let (out, err) = run_in(ns, "ipvsadm", &["-R"], &(RULES.join("\n") + "\n"));
    assert_eq!(out.status, 0, "ipvsadm -R: {err}");
}

/// Every listing modifier, and the saves.
const VIEWS: &[&str] = &[
    "",
    "-L",
    "-l",
    "-Ln",
    "-L -n",
    "-Ln --stats",
    "-Ln --rate",
    "-Ln --exact",
    "-Ln --stats --exact",
    "-Ln --rate --exact",
    "-Ln --thresholds",
    "-Ln --persistent-conn",
    "-Ln --tun-info",
    "-L --stats",
    "-L --tun-info",
    "-Ln --nosort",
    "-Ln --sort",
    "-L --timeout",
    "-L --daemon",
    "-Lnc",
    "-Lc",
    "-Lnc --persistent-conn",
    "-Ln -t 10.0.0.1:80",
    "-L -t 10.0.0.1:80",
    "-Ln -t 10.0.0.1:80 --stats",
    "-Ln -t 10.0.0.1:80 --thresholds",
    "-Ln -t [2001:db8::10]:443",
    "-Ln -u 10.0.0.2:53 --persistent-conn",
    "-Ln -f 43 -6",
    "-Ln --sctp-service 10.0.0.3:3868",
    "-S",
    "-Sn",
    "-S -n",
    "--save --numeric",
    "--list --numeric --tun-info",
];

/// Compares every view; a view whose numbers move between the two runs
/// (rates, expiry) is retried with ipvsadm both before and after lvsadm.
fn assert_views_identical(ns: &TestNetns, views: &[&str]) {
    for view in views {
        let args: Vec<&str> = view.split_whitespace().collect();
        let before = ipvsadm(ns, &args);
        let ours = lvsadm(ns, &args);
        if ours != before {
            let after = ipvsadm(ns, &args);
            assert_eq!(
                ours, after,
                "`{view}` differs\n--- ipvsadm:\n{}--- lvsadm:\n{}",
                after.stdout, ours.stdout
            );
        }
    }
}

fn with_daemons(ns: &TestNetns) {
    ns.exec("ip", &["link", "add", "sync0", "type", "dummy"]);
    ns.exec("ip", &["link", "set", "sync0", "up", "multicast", "on"]);
    for (role, id) in [("master", "5"), ("backup", "6")] {
        let (out, err) = run_in(
            ns,
            "ipvsadm",
            &[
                "--start-daemon",
                role,
                "--mcast-interface",
                "sync0",
                "--syncid",
                id,
            ],
            "",
        );
        assert_eq!(out.status, 0, "ipvsadm --start-daemon {role}: {err}");
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn every_listing_and_save_is_byte_identical() {
    let ns = TestNetns::new();
    // An empty table first, then the whole rule set.
    assert_views_identical(&ns, VIEWS);
    load_with_ipvsadm(&ns);
    assert_views_identical(&ns, VIEWS);
    // The kernel refuses sync daemons while mixed-family destinations
    // exist, so the daemons get a namespace of their own.
    let daemons = TestNetns::new();
    with_daemons(&daemons);
    assert_views_identical(&daemons, &["-L --daemon", "-Ln"]);
    assert!(
        lvsadm(&daemons, &["-L", "--daemon"])
            .stdout
            .contains("syncid=5")
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn listings_are_identical_with_real_traffic() {
    let lab = Lab::new(2);
    let vip = format!("{DIRECTOR}:80");
    let ns = &lab.director;
    for rule in [
        format!("-A -t {vip} -s rr"),
        format!("-a -t {vip} -r 10.244.1.5:80 -m"),
        format!("-a -t {vip} -r 10.244.2.5:80 -m -w 2"),
    ] {
        let args: Vec<&str> = rule.split_whitespace().collect();
        assert_eq!(ipvsadm(ns, &args).status, 0);
    }
    let held: Vec<_> = (0..4)
        .map(|_| hold(&lab.client, vip.parse().unwrap()))
        .collect();
    let conns = lvsadm(ns, &["-Lnc"]);
    assert_eq!(conns.stdout.lines().count(), 2 + 4, "{}", conns.stdout);
    assert_views_identical(
        ns,
        &[
            "-Ln",
            "-Ln --stats",
            "-Ln --stats --exact",
            "-Ln --rate",
            "-Ln --persistent-conn",
            "-Lnc",
            "-Lc",
            "-Sn",
        ],
    );
    drop(held);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn restores_go_both_ways() {
    let src = TestNetns::new();
    load_with_ipvsadm(&src);
    for numeric in [true, false] {
        let save_args: &[&str] = if numeric { &["-Sn"] } else { &["-S"] };
        let saved = ipvsadm(&src, save_args).stdout;
        // ipvsadm's save through lvsadm -R.
        let a = TestNetns::new();
        let (out, err) = run_in(&a, &lvsadm_path(), &["-R"], &saved);
        assert_eq!(out.status, 0, "lvsadm -R: {err}\n{saved}");
        assert_eq!(ipvsadm(&a, &["-Sn"]).stdout, ipvsadm(&src, &["-Sn"]).stdout);
        // lvsadm's save through ipvsadm -R.
        let ours = lvsadm(&src, save_args).stdout;
        assert_eq!(ours, saved);
        let b = TestNetns::new();
        let (out, err) = run_in(&b, "ipvsadm", &["-R"], &ours);
        assert_eq!(out.status, 0, "ipvsadm -R: {err}");
        assert_eq!(ipvsadm(&b, &["-Sn"]).stdout, ipvsadm(&src, &["-Sn"]).stdout);
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn the_superset_keeps_thresholds_timeouts_and_both_gue_flags() {
    let src = TestNetns::new();
    load_with_ipvsadm(&src);
    // GUE with csum and remcsum: ipvsadm refuses to write it, so lvs does.
    let vip = ServiceId::tcp(sa("10.0.0.1:80"));
    let both = Destination::new(sa("10.0.1.8:80")).with_forwarding(Forwarding::Tunnel(
        Tunnel::gue(6083).with_flags(TunnelFlags::CSUM | TunnelFlags::REMCSUM),
    ));
    src.ipvs().add_destination(&vip, &both).unwrap();
    let full = lvsadm(&src, &["-Sn", "--superset"]);
    assert_eq!(full.status, 0);
    assert!(
        full.stdout.starts_with("--set 100 20 30\n"),
        "{}",
        full.stdout
    );
    assert!(
        full.stdout
            .contains("-r 10.0.1.1:8080 -m -w 3 -x 100 -y 50\n")
    );
    assert!(full.stdout.contains(
        "-r 10.0.1.8:80 -i -w 1 --tun-type gue --tun-port 6083 --tun-csum --tun-remcsum\n"
    ));
    // Plain -Sn stays ipvsadm's (no thresholds) for everything ipvsadm can print.
    assert!(!lvsadm(&src, &["-Sn"]).stdout.contains("-x 100"));
    // Read back by lvsadm: the same state, thresholds and timeouts included.
    let dst = TestNetns::new();
    let (out, err) = run_in(&dst, &lvsadm_path(), &["-R"], &full.stdout);
    assert_eq!(out.status, 0, "{err}");
    assert_eq!(lvsadm(&dst, &["-Sn", "--superset"]).stdout, full.stdout);
    assert_eq!(
        ipvsadm(&dst, &["-Ln", "--thresholds"]),
        ipvsadm(&src, &["-Ln", "--thresholds"])
    );
    assert_eq!(
        dst.ipvs().destinations(&vip).unwrap().len(),
        src.ipvs().destinations(&vip).unwrap().len()
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn restore_reports_each_failed_line_and_applies_the_rest() {
    let ns = TestNetns::new();
    let file = "\
-A -t 5.5.5.5:80
-a -t 5.5.5.5:80 -r 10.1.1.1 -m

-A -t 5.5.5.5:80
-a -t 5.5.5.9:80 -r 10.1.1.2 -m
-A -t 5.5.5.6:80 -s rr
-a -t 5.5.5.6:80 -r 10.1.1.3 -m -w 4
";
    let (out, err) = run_in(&ns, &lvsadm_path(), &["-R"], file);
    assert_eq!(out.status, 255, "{err}");
    assert!(err.contains("line 4: Service already exists"), "{err}");
    assert!(err.contains("line 5: Service not defined"), "{err}");
    assert_eq!(
        ipvsadm(&ns, &["-Sn"]).stdout,
        "\
-A -t 5.5.5.5:80 -s wlc
-a -t 5.5.5.5:80 -r 10.1.1.1:80 -m -w 1
-A -t 5.5.5.6:80 -s rr
-a -t 5.5.5.6:80 -r 10.1.1.3:80 -m -w 4
"
    );
    // A line that does not parse stops there, naming the line and word.
    let ns = TestNetns::new();
    let (out, err) = run_in(
        &ns,
        &lvsadm_path(),
        &["-R"],
        "-A -t 6.6.6.6:80\n-A -t 6.6.6.7:80 -w lots\n-A -t 6.6.6.8:80\n",
    );
    assert_eq!(out.status, 2, "{err}");
    assert!(err.contains("line 2: `-w'"), "{err}");
    assert_eq!(ipvsadm(&ns, &["-Sn"]).stdout, "-A -t 6.6.6.6:80 -s wlc\n");
}

/// Mistakes, each run by both on the same state: same status, same output.
const MISTAKES: &[&str] = &[
    "-A -t 10.0.0.1:80",
    "-D -t 10.9.9.9:80",
    "-E -t 10.9.9.9:80",
    "-a -t 10.9.9.9:80 -r 1.1.1.1:80",
    "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m",
    "-e -t 10.0.0.1:80 -r 9.9.9.9:80",
    "-d -t 10.0.0.1:80 -r 9.9.9.9:80",
    "-Z -t 9.9.9.9:9",
    "-A -t 1.2.3.4",
    "-A -t 1.2.3.4:0",
    "-A",
    "-a -t 10.0.0.1:80",
    "-Q",
    "--bogus",
    "-A -t 1.2.3.4:80 -s nosuch",
    "-A -u 1.2.3.4:5 -p 0",
    "-L -t 10.9.9.9:80",
    "--set 1 2",
    "-A -t 1.2.3.5:80 -o",
    "-A -t 1.2.3.6:80 -b sh-port",
    "-A -t 1.2.3.6:80 -s sh -b nosuch",
    "--stop-daemon nosuch",
    "--stop-daemon master",
    "--tun-type gue",
    "-A -t 1.2.3.7:80 -r 1.1.1.1",
    "-A -t 1.2.3.8:80 -w 3",
    "-A -A -t 1.2.3.9:80",
    "-A -t 1.2.3.9:80 -s rr -s wlc",
    "-a -t 10.0.0.1:80 -r 10.0.9.1:80 -m --tun-type gue",
    "-a -t 10.0.0.1:80 -r 10.0.9.2:80 -i --tun-type gue",
    "-a -t 10.0.0.1:80 -r 10.0.9.3:80 -i --tun-type ipip --tun-port 5",
    "-a -t 10.0.0.1:80 -r 10.0.9.4:80 -i --tun-type nosuch",
    "-a -t 10.0.0.1:80 -r [2001:db8::99]:80 -m",
    "-a -t 10.0.0.1:80 -r 10.0.9.5:80 -w -1",
    "-f 0 -A",
    "-A -6 -f 5",
    "-L --stats --timeout",
    "-L -c --rate",
    "-A -t 1.2.3.10:80 -p 5 -M 64",
    "-A -t [2001:db8::20]:80 -p 5 -M 129",
    "-A -t 999.1.1.1:80",
    "-L extra",
];

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn exit_statuses_match_over_mistakes() {
    let mut wrong = Vec::new();
    for mistake in MISTAKES {
        let args: Vec<&str> = mistake.split_whitespace().collect();
        let a = TestNetns::new();
        load_with_ipvsadm(&a);
        let theirs = ipvsadm(&a, &args);
        let b = TestNetns::new();
        load_with_ipvsadm(&b);
        let ours = lvsadm(&b, &args);
        if ours != theirs {
            wrong.push(format!("`{mistake}`: ipvsadm {theirs:?}, lvsadm {ours:?}"));
        }
        // And the tables agree afterwards.
        if ipvsadm(&b, &["-Sn"]).stdout != ipvsadm(&a, &["-Sn"]).stdout {
            wrong.push(format!("`{mistake}`: the tables differ afterwards"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn where_ipvsadm_is_wrong_lvsadm_is_right() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let vip = ServiceId::tcp(sa("10.0.0.1:80"));
    ipvs.add_service(&Service::new(vip)).unwrap();
    let both = Destination::new(sa("10.0.1.8:80")).with_forwarding(Forwarding::Tunnel(
        Tunnel::gue(6083).with_flags(TunnelFlags::CSUM | TunnelFlags::REMCSUM),
    ));
    ipvs.add_destination(&vip, &both).unwrap();
    ipvs.add_destination(
        &vip,
        &Destination::new(sa("10.0.1.9:80")).with_thresholds(9, 3),
    )
    .unwrap();
    // ipvsadm -Sn cannot write the GUE destination with both flags (it
    // reads past its table: a crash or garbage); lvsadm writes both flags.
    let theirs = run_in(&ns, "ipvsadm", &["-Sn"], "").0;
    let ours = lvsadm(&ns, &["-Sn"]);
    assert_eq!(ours.status, 0);
    let line = "-a -t 10.0.1.1:80 -r 10.0.1.8:80 -i -w 1 --tun-type gue --tun-port 6083 --tun-csum --tun-remcsum\n"
        .replace("10.0.1.1:80 -r", "10.0.0.1:80 -r");
    assert!(ours.stdout.contains(&line), "{}", ours.stdout);
    assert_ne!(
        theirs, ours,
        "ipvsadm -Sn got the GUE csum+remcsum line right"
    );
    // lvsadm's -Sn of that table loads back through lvsadm exactly.
    let dst = TestNetns::new();
    let (out, err) = run_in(&dst, &lvsadm_path(), &["-R"], &ours.stdout);
    assert_eq!(out.status, 0, "{err}");
    let got = dst.ipvs().destinations(&vip).unwrap();
    assert!(got.iter().any(|d| d.destination == both));
    // ipvsadm's save drops thresholds; the superset keeps them.
    assert!(!theirs.stdout.contains("-x 9"));
    assert!(
        lvsadm(&ns, &["-Sn", "--superset"])
            .stdout
            .contains("-r 10.0.1.9:80 -m -w 1 -x 9 -y 3\n")
    );
}
