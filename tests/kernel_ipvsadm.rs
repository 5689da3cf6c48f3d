//! Interoperability with ipvsadm, both ways, in the UML guest: what `lvs`
//! writes is what `ipvsadm -Sn` prints, and what `ipvsadm -R` loads reads
//! back through `lvs` field for field.

mod common;

use std::collections::BTreeMap;

use common::*;
use lvs::*;

fn tun(t: Tunnel) -> Forwarding {
    Forwarding::Tunnel(t)
}

/// One rule set, as `lvs` values and as ipvsadm's save format.
fn rule_set() -> (Vec<(Service, Vec<Destination>)>, &'static str) {
    let t1 = ServiceId::tcp(sa("10.0.0.1:80"));
    let rules = vec![
        (
            Service::new(t1).with_scheduler(Scheduler::RoundRobin),
            vec![
                Destination::new(sa("10.0.1.1:8080")).with_weight(3),
                Destination::new(sa("10.0.1.2:80"))
                    .with_forwarding(Forwarding::DirectRouting)
                    .with_weight(70000),
                Destination::new(sa("10.0.1.3:80"))
                    .with_forwarding(tun(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM))),
                Destination::new(sa("10.0.1.4:80")).with_forwarding(tun(Tunnel::gre())),
                Destination::new(sa("10.0.1.5:80"))
                    .with_forwarding(tun(Tunnel::gue(6081).with_flags(TunnelFlags::REMCSUM))),
                Destination::new(sa("[2001:db8::5]:80")).with_forwarding(tun(Tunnel::ipip())),
            ],
        ),
        (
            Service::new(ServiceId::udp(sa("10.0.0.2:53")))
                .with_scheduler(Scheduler::SourceHashing)
                .with_flags(
                    ServiceFlags::ONE_PACKET | ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT,
                ),
            vec![],
        ),
        (
            Service::new(ServiceId::sctp(sa("10.0.0.3:3868")))
                .with_scheduler(Scheduler::RoundRobin)
                .with_persistence(30)
                .with_persistence_engine("sip"),
            vec![],
        ),
        (
            Service::new(ServiceId::tcp(sa("[2001:db8::10]:443")))
                .with_persistence(600)
                .with_netmask(Netmask::Ipv6(64)),
            vec![Destination::new(sa("[2001:db8::11]:443")).with_weight(0)],
        ),
        (
            Service::new(ServiceId::fwmark(42))
                .with_persistence(360)
                .with_netmask(Netmask::prefix(AddressFamily::Ipv4, 24).unwrap()),
            vec![
                Destination::new(sa("10.0.3.1:0"))
                    .with_forwarding(Forwarding::DirectRouting)
                    .with_weight(2),
            ],
        ),
        (
            Service::new(ServiceId::fwmark_v6(43))
                .with_scheduler(Scheduler::MaglevHashing)
                .with_flags(ServiceFlags::MH_PORT),
            vec![],
        ),
    ];
    let saved = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 3
-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 70000
-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -t 10.0.0.1:80 -r 10.0.1.4:80 -i -w 1 --tun-type gre --tun-nocsum
-a -t 10.0.0.1:80 -r 10.0.1.5:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum
-a -t 10.0.0.1:80 -r [2001:db8::5]:80 -i -w 1 --tun-type ipip
-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port
-A --sctp-service 10.0.0.3:3868 -s rr -p 30 --pe sip
-A -t [2001:db8::10]:443 -s wlc -p 600 -M 64
-a -t [2001:db8::10]:443 -r [2001:db8::11]:443 -m -w 0
-A -f 42 -s wlc -p 360 -M 255.255.255.0
-a -f 42 -r 10.0.3.1:0 -g -w 2
-A -f 43 -6 -s mh -b mh-port
";
    (rules, saved)
}

fn sort_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn written_with_lvs_is_what_ipvsadm_saves() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let (rules, saved) = rule_set();
    for (svc, dests) in &rules {
        ipvs.add_service(svc).unwrap();
        for d in dests {
            ipvs.add_destination(&svc.id, d).unwrap();
        }
    }
    let out = ns.exec("ipvsadm", &["-Sn"]);
    // ipvsadm sorts its save; compare line sets so that only content counts,
    // then the exact text for services, which ipvsadm orders itself.
    assert_eq!(
        sort_lines(&out),
        sort_lines(saved),
        "ipvsadm -Sn printed:\n{out}"
    );
    let services: Vec<&str> = out.lines().filter(|l| l.starts_with("-A")).collect();
    let want: Vec<&str> = saved.lines().filter(|l| l.starts_with("-A")).collect();
    assert_eq!(services, want);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn loaded_with_ipvsadm_restore_reads_back_field_for_field() {
    let ns = TestNetns::new();
    let (rules, saved) = rule_set();
    ns.exec_stdin("ipvsadm", &["-R"], saved);
    // Thresholds are not in ipvsadm's save format, so set them by command.
    ns.exec(
        "ipvsadm",
        &[
            "-e",
            "-t",
            "10.0.0.1:80",
            "-r",
            "10.0.1.1:8080",
            "-m",
            "-w",
            "3",
            "-x",
            "100",
            "-y",
            "50",
        ],
    );
    let ipvs = ns.ipvs();
    let read: BTreeMap<ServiceId, ServiceEntry> = ipvs
        .services()
        .unwrap()
        .into_iter()
        .map(|e| (e.service.id, e))
        .collect();
    assert_eq!(read.len(), rules.len());
    for (svc, dests) in &rules {
        assert_eq!(&read[&svc.id].service, svc);
        let mut want: BTreeMap<String, Destination> =
            dests.iter().map(|d| (d.addr.to_string(), *d)).collect();
        if svc.id == ServiceId::tcp(sa("10.0.0.1:80")) {
            let d = want.get_mut("10.0.1.1:8080").unwrap();
            *d = d.with_thresholds(100, 50);
        }
        let got: BTreeMap<String, Destination> = ipvs
            .destinations(&svc.id)
            .unwrap()
            .into_iter()
            .map(|e| (e.destination.addr.to_string(), e.destination))
            .collect();
        assert_eq!(got, want, "{}", svc.id);
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn ipvsadm_agrees_on_timeouts_and_info() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    ipvs.set_connection_timeouts(&ConnectionTimeouts {
        tcp: 100,
        tcp_fin: 20,
        udp: 30,
    })
    .unwrap();
    assert_eq!(
        ns.exec("ipvsadm", &["-L", "--timeout"]).trim(),
        "Timeout (tcp tcpfin udp): 100 20 30"
    );
    ns.exec("ipvsadm", &["--set", "0", "40", "0"]);
    assert_eq!(
        ipvs.connection_timeouts().unwrap(),
        ConnectionTimeouts {
            tcp: 100,
            tcp_fin: 40,
            udp: 30
        }
    );
    let banner = ns.exec("ipvsadm", &["-Ln"]);
    let info = ipvs.info().unwrap();
    assert!(
        banner.starts_with(&format!(
            "IP Virtual Server version {} (size={})",
            info.version, info.connection_table_size
        )),
        "{banner}"
    );
}
