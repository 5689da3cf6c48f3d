//! The `serde` feature: a desired state kept in a file reads back equal,
//! and the value words are the ones `Display` writes.
#![cfg(feature = "serde")]

use lvs::*;

fn rule_set() -> Vec<VirtualServer> {
    let vip = ServiceId::tcp("10.96.0.10:8080".parse().unwrap());
    let v6 = ServiceId::udp("[2001:db8::10]:53".parse().unwrap());
    vec![
        VirtualServer::new(
            Service::new(vip)
                .with_scheduler(Scheduler::from("rr"))
                .with_persistence(10800),
        )
        .with_destination(Destination::new("10.244.1.5:80".parse().unwrap()))
        .with_destination(
            Destination::new("10.244.2.7:80".parse().unwrap())
                .with_forwarding(Forwarding::Tunnel(
                    Tunnel::gue(6080).with_flags(TunnelFlags::CSUM),
                ))
                .with_weight(3),
        ),
        VirtualServer::new(
            Service::new(v6)
                .with_scheduler(Scheduler::from("my_sched"))
                .with_netmask(Netmask::prefix(AddressFamily::Ipv6, 64).unwrap()),
        ),
        VirtualServer::new(Service::new(ServiceId::fwmark_v6(7))),
    ]
}

#[test]
fn a_rule_set_survives_json() {
    let set = rule_set();
    let json = serde_json::to_string_pretty(&set).unwrap();
    let back: Vec<VirtualServer> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, set);
    // Values are written in their Display words, and normalised on read.
    assert!(json.contains("\"rr\""), "{json}");
    assert!(json.contains("\"TCP\""), "{json}");
    assert!(json.contains("\"Tunnel(gue port 6080 csum)\""), "{json}");
    let spelled = json.replace("\"TCP\"", "\"tcp\"");
    let back: Vec<VirtualServer> = serde_json::from_str(&spelled).unwrap();
    assert_eq!(back[0].service.id.to_string(), "TCP 10.96.0.10:8080");
}

#[test]
fn bad_words_are_refused_when_read() {
    let json = serde_json::to_string(&rule_set()).unwrap();
    for (good, bad) in [("\"TCP\"", "\"TCPX\""), ("\"Masq\"", "\"method-9\"")] {
        let broken = json.replacen(good, bad, 1);
        assert!(
            serde_json::from_str::<Vec<VirtualServer>>(&broken).is_err(),
            "{bad} accepted"
        );
    }
}
