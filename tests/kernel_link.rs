//! Kernel tests of the dummy links and addresses (`Links`). They run in the
//! UML guest (`scripts/test`), each in a network namespace of its own; on
//! the host they are ignored, never passed.

mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use common::*;
use lvs::*;

const VIP_LINK: &str = "kube-ipvs0";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn links(ns: &TestNetns) -> Links {
    Links::open_in_netns_path(ns.path()).expect("open Links in the test namespace")
}

/// `ip -o link show` of the namespace: one line per link.
fn ip_links(ns: &TestNetns) -> String {
    ns.exec("ip", &["-o", "-d", "link", "show"])
}

/// The line of `ip -o -d link show` about `name`, if the link exists.
fn ip_link(ns: &TestNetns, name: &str) -> Option<String> {
    let needle = format!(": {name}:");
    let needle_at = format!(": {name}@");
    ip_links(ns)
        .lines()
        .find(|l| l.contains(&needle) || l.contains(&needle_at))
        .map(str::to_owned)
}

/// The addresses `ip -o addr show dev name` lists, as "ADDR/PREFIX".
fn ip_addrs(ns: &TestNetns, name: &str) -> HashSet<String> {
    ns.exec("ip", &["-o", "addr", "show", "dev", name])
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "inet" || *w == "inet6")?;
            words.next().map(str::to_owned)
        })
        .collect()
}

fn set<T: std::hash::Hash + Eq>(items: impl IntoIterator<Item = T>) -> HashSet<T> {
    items.into_iter().collect()
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn ensure_dummy_creates_a_down_dummy_once() {
    let ns = TestNetns::new();
    let links = links(&ns);
    assert_eq!(links.link(VIP_LINK).unwrap(), None);

    let link = links.ensure_dummy(VIP_LINK).unwrap();
    assert_eq!(link.name, VIP_LINK);
    assert_eq!(link.kind.as_deref(), Some("dummy"));
    assert!(!link.up);
    assert_eq!(link.flags & libc::IFF_UP as u32, 0);
    assert!(!link.is_loopback());
    let line = ip_link(&ns, VIP_LINK).expect("ip link shows the dummy");
    assert!(line.contains(" dummy "), "{line}");
    assert!(line.contains("state DOWN"), "{line}");
    assert!(line.starts_with(&format!("{}: ", link.index)), "{line}");

    // Again: nothing changes, the same link comes back.
    let again = links.ensure_dummy(VIP_LINK).unwrap();
    assert_eq!(again, link);
    assert_eq!(ip_link(&ns, VIP_LINK).unwrap(), line);
    assert_eq!(links.link(VIP_LINK).unwrap(), Some(link.clone()));
    let all = links.links().unwrap();
    assert_eq!(all.iter().filter(|l| l.name == VIP_LINK).count(), 1);
    assert!(all.contains(&link));
    // The dump has lo, a loopback link without a kind.
    let lo = all.iter().find(|l| l.name == "lo").expect("lo in the dump");
    assert!(lo.is_loopback());
    assert_eq!(lo.kind, None);
    assert!(lo.up);
    // The dump lists what `ip link` lists (the guest's tunnel modules add
    // fallback devices such as tunl0 to every namespace).
    let names: HashSet<String> = all.iter().map(|l| l.name.clone()).collect();
    let ip_names: HashSet<String> = ip_links(&ns)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap().to_owned())
        .collect();
    assert_eq!(names, ip_names);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn ensure_dummy_refuses_a_link_of_another_kind() {
    let ns = TestNetns::new();
    ns.exec(
        "ip",
        &[
            "link", "add", VIP_LINK, "type", "veth", "peer", "name", "peer0",
        ],
    );
    ns.exec("ip", &["addr", "add", "10.9.9.9/24", "dev", VIP_LINK]);
    let before = ip_link(&ns, VIP_LINK).unwrap();
    let links = links(&ns);

    match links.ensure_dummy(VIP_LINK) {
        Err(Error::WrongLinkKind { name, kind, wanted }) => {
            assert_eq!(name, VIP_LINK);
            assert_eq!(kind, "veth");
            assert_eq!(wanted, "dummy");
        }
        other => panic!("{other:?}"),
    }
    // Refused to delete it too.
    assert!(matches!(
        links.delete_dummy(VIP_LINK),
        Err(Error::WrongLinkKind { ref kind, .. }) if kind == "veth"
    ));
    assert_eq!(ip_link(&ns, VIP_LINK).unwrap(), before);
    assert_eq!(ip_addrs(&ns, VIP_LINK), set(["10.9.9.9/24".to_owned()]));
    assert_eq!(
        links.link(VIP_LINK).unwrap().unwrap().kind.as_deref(),
        Some("veth")
    );

    // A link without a kind (lo) is not a dummy either.
    assert!(matches!(
        links.ensure_dummy("lo"),
        Err(Error::WrongLinkKind { ref kind, .. }) if kind.is_empty()
    ));
    assert!(matches!(
        links.delete_dummy("lo"),
        Err(Error::WrongLinkKind { .. })
    ));
    assert!(ip_link(&ns, "lo").is_some());
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn set_up_and_down_show_in_ip_link() {
    let ns = TestNetns::new();
    let links = links(&ns);
    links.ensure_dummy(VIP_LINK).unwrap();

    links.set_up(VIP_LINK, true).unwrap();
    let line = ip_link(&ns, VIP_LINK).unwrap();
    assert!(line.contains(",UP"), "{line}");
    let link = links.link(VIP_LINK).unwrap().unwrap();
    assert!(link.up);
    assert_ne!(link.flags & libc::IFF_UP as u32, 0);
    // ensure_dummy leaves an up link up.
    assert!(links.ensure_dummy(VIP_LINK).unwrap().up);

    links.set_up(VIP_LINK, false).unwrap();
    let line = ip_link(&ns, VIP_LINK).unwrap();
    assert!(!line.contains(",UP"), "{line}");
    assert!(line.contains("state DOWN"), "{line}");
    assert!(!links.link(VIP_LINK).unwrap().unwrap().up);
    // Setting the same state again is fine.
    links.set_up(VIP_LINK, false).unwrap();
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn missing_links() {
    let ns = TestNetns::new();
    let links = links(&ns);
    match links.set_up("nosuch0", true) {
        Err(Error::LinkNotFound(k)) => {
            assert_eq!(k.errno, libc::ENODEV);
            assert_eq!(k.request, "RTM_SETLINK");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(links.link("nosuch0").unwrap(), None);
    links.delete_dummy("nosuch0").unwrap();
    assert!(matches!(
        links.add_address("nosuch0", ip("10.0.0.1"), None),
        Err(Error::LinkNotFound(_))
    ));
    assert!(matches!(
        links.delete_address("nosuch0", ip("10.0.0.1"), None),
        Err(Error::LinkNotFound(_))
    ));
    assert!(matches!(
        links.addresses("nosuch0"),
        Err(Error::LinkNotFound(_))
    ));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn invalid_names_and_prefixes_are_refused_before_sending() {
    let ns = TestNetns::new();
    let links = links(&ns);
    let before = links.links().unwrap();
    for bad in ["", "sixteen-chars-xx", "a/b", "a b", "a:0", "dum%d", ".."] {
        for result in [
            links.ensure_dummy(bad).map(drop),
            links.link(bad).map(drop),
            links.set_up(bad, true),
            links.delete_dummy(bad),
            links.add_address(bad, ip("10.0.0.1"), None),
            links.local_addresses_except(bad).map(drop),
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::Invalid {
                        field: "link.name",
                        ..
                    })
                ),
                "{bad:?}: {result:?}"
            );
        }
    }
    // Nothing was made (no "dum0" from a template).
    assert_eq!(links.links().unwrap(), before);
    links.ensure_dummy(VIP_LINK).unwrap();
    for (addr, p) in [("10.0.0.1", 33), ("2001:db8::1", 129)] {
        assert!(matches!(
            links.add_address(VIP_LINK, ip(addr), Some(p)),
            Err(Error::Invalid {
                field: "address.prefix_len",
                ..
            })
        ));
        assert!(matches!(
            links.delete_address(VIP_LINK, ip(addr), Some(p)),
            Err(Error::Invalid { .. })
        ));
    }
    assert!(links.addresses(VIP_LINK).unwrap().is_empty());
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn delete_dummy_removes_it_and_is_idempotent() {
    let ns = TestNetns::new();
    let links = links(&ns);
    links.ensure_dummy(VIP_LINK).unwrap();
    links.add_address(VIP_LINK, ip("10.96.0.1"), None).unwrap();
    links.delete_dummy(VIP_LINK).unwrap();
    assert_eq!(ip_link(&ns, VIP_LINK), None);
    assert_eq!(links.link(VIP_LINK).unwrap(), None);
    links.delete_dummy(VIP_LINK).unwrap();
    // The address went with it.
    assert!(
        !links
            .local_addresses_except("none")
            .unwrap()
            .contains(&ip("10.96.0.1"))
    );
    // And it can be made again.
    links.ensure_dummy(VIP_LINK).unwrap();
    assert!(links.addresses(VIP_LINK).unwrap().is_empty());
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn addresses_are_added_listed_and_deleted() {
    let ns = TestNetns::new();
    let links = links(&ns);
    let link = links.ensure_dummy(VIP_LINK).unwrap();
    let (v4, v6) = (ip("10.96.0.1"), ip("2001:db8::1"));

    links.add_address(VIP_LINK, v4, None).unwrap();
    links.add_address(VIP_LINK, v6, None).unwrap();
    assert_eq!(
        ip_addrs(&ns, VIP_LINK),
        set(["10.96.0.1/32".to_owned(), "2001:db8::1/128".to_owned()])
    );
    // Again: no error, no change.
    links.add_address(VIP_LINK, v4, None).unwrap();
    links.add_address(VIP_LINK, v6, Some(128)).unwrap();
    assert_eq!(ip_addrs(&ns, VIP_LINK).len(), 2);
    // IPv6 compares the address only: another prefix is "there already"
    // and the /128 stays.
    links.add_address(VIP_LINK, v6, Some(64)).unwrap();
    assert_eq!(
        ip_addrs(&ns, VIP_LINK),
        set(["10.96.0.1/32".to_owned(), "2001:db8::1/128".to_owned()])
    );

    let listed = links.addresses(VIP_LINK).unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for a in &listed {
        assert_eq!(a.link_index, link.index);
        assert_eq!(a.scope, 0, "{a:?}");
    }
    let got: HashSet<(IpAddr, u8)> = listed.iter().map(|a| (a.addr, a.prefix_len)).collect();
    assert_eq!(got, set([(v4, 32), (v6, 128)]));
    // Addresses of lo are not listed for the dummy, nor the dummy's for lo.
    let on_lo: HashSet<IpAddr> = links
        .addresses("lo")
        .unwrap()
        .iter()
        .map(|a| a.addr)
        .collect();
    assert_eq!(on_lo, set([ip("127.0.0.1"), ip("::1")]));

    // A prefix of one's own.
    links
        .add_address(VIP_LINK, ip("10.97.0.1"), Some(24))
        .unwrap();
    assert!(ip_addrs(&ns, VIP_LINK).contains("10.97.0.1/24"));
    // Deleting with the wrong prefix finds nothing: not an error.
    links
        .delete_address(VIP_LINK, ip("10.97.0.1"), None)
        .unwrap();
    assert!(ip_addrs(&ns, VIP_LINK).contains("10.97.0.1/24"));
    links
        .delete_address(VIP_LINK, ip("10.97.0.1"), Some(24))
        .unwrap();

    links.delete_address(VIP_LINK, v4, None).unwrap();
    assert_eq!(ip_addrs(&ns, VIP_LINK), set(["2001:db8::1/128".to_owned()]));
    links.delete_address(VIP_LINK, v6, None).unwrap();
    assert!(ip_addrs(&ns, VIP_LINK).is_empty());
    // Gone already: fine.
    links.delete_address(VIP_LINK, v4, None).unwrap();
    links.delete_address(VIP_LINK, v6, None).unwrap();
    assert!(links.addresses(VIP_LINK).unwrap().is_empty());
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn local_addresses_except_the_vip_link_loopback_and_link_local() {
    let ns = TestNetns::new();
    let links = links(&ns);
    links.ensure_dummy(VIP_LINK).unwrap();
    links.add_address(VIP_LINK, ip("10.96.0.1"), None).unwrap();
    links
        .add_address(VIP_LINK, ip("2001:db8::1"), None)
        .unwrap();
    // Another dummy, up, with a global and a link-local address of each.
    links.ensure_dummy("other0").unwrap();
    links.set_up("other0", true).unwrap();
    links
        .add_address("other0", ip("192.0.2.10"), Some(24))
        .unwrap();
    links
        .add_address("other0", ip("2001:db8:1::10"), Some(64))
        .unwrap();
    links
        .add_address("other0", ip("fe80::1234"), Some(64))
        .unwrap();
    // A veth pair, up (the kernel gives it link-local addresses too).
    ns.exec(
        "ip",
        &["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
    );
    ns.exec("ip", &["addr", "add", "198.51.100.1/24", "dev", "v0"]);
    ns.exec("ip", &["link", "set", "v0", "up"]);
    ns.exec("ip", &["link", "set", "v1", "up"]);
    // More on lo: loopback link, so never a node address.
    ns.exec("ip", &["addr", "add", "10.255.0.1/32", "dev", "lo"]);
    ns.exec("ip", &["addr", "add", "2001:db8:ff::1/128", "dev", "lo"]);
    // The same address on two links is listed once.
    links.add_address("v1", ip("192.0.2.10"), Some(32)).unwrap();

    let expected = set([ip("192.0.2.10"), ip("2001:db8:1::10"), ip("198.51.100.1")]);
    let got = links.local_addresses_except(VIP_LINK).unwrap();
    assert_eq!(got.len(), expected.len(), "{got:?}");
    assert_eq!(set(got), expected);

    // Excluding a link that does not exist excludes nothing.
    let mut with_vips = expected.clone();
    with_vips.insert(ip("10.96.0.1"));
    with_vips.insert(ip("2001:db8::1"));
    assert_eq!(
        set(links.local_addresses_except("nosuch0").unwrap()),
        with_vips
    );
    // Excluding another link.
    let without_other: HashSet<IpAddr> = set(links.local_addresses_except("other0").unwrap());
    assert_eq!(
        without_other,
        set([
            ip("10.96.0.1"),
            ip("2001:db8::1"),
            ip("198.51.100.1"),
            ip("192.0.2.10"), // still on v1
        ])
    );
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn handles_act_in_their_own_namespace_only() {
    let a = TestNetns::new();
    let b = TestNetns::new();
    let name = format!("lvs-d{}", std::process::id() % 100_000);
    let by_path = Links::open_in_netns_path(a.path()).unwrap();
    let file = std::fs::File::open(b.path()).unwrap();
    let by_fd = Links::open_in_netns_fd(&file).unwrap();
    drop(file);

    let in_a = by_path.ensure_dummy(&name).unwrap();
    by_path.add_address(&name, ip("10.1.1.1"), None).unwrap();
    assert!(ip_link(&a, &name).is_some());
    assert_eq!(ip_link(&b, &name), None);
    assert_eq!(by_fd.link(&name).unwrap(), None);
    assert!(
        !by_fd
            .local_addresses_except("x")
            .unwrap()
            .contains(&ip("10.1.1.1"))
    );
    // Nor in the test's own namespace.
    let here = Links::open().unwrap();
    assert_eq!(here.link(&name).unwrap(), None);

    let in_b = by_fd.ensure_dummy(&name).unwrap();
    assert!(ip_link(&b, &name).is_some());
    by_fd.delete_dummy(&name).unwrap();
    assert_eq!(ip_link(&b, &name), None);
    // a's link is untouched.
    assert_eq!(by_path.link(&name).unwrap(), Some(in_a));
    assert_eq!(ip_addrs(&a, &name), set(["10.1.1.1/32".to_owned()]));
    drop(in_b);

    // A handle opened inside the namespace with open() sees it as well.
    let name2 = name.clone();
    let seen = a.run_in(move || Links::open().unwrap().link(&name2).unwrap());
    assert!(seen.is_some());
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn concurrent_ensure_dummy_makes_one_link() {
    let ns = TestNetns::new();
    let shared = Arc::new(links(&ns));
    let path = ns.path();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let shared = Arc::clone(&shared);
            let path = path.clone();
            std::thread::spawn(move || {
                // Half on the shared handle, half on their own.
                if i % 2 == 0 {
                    shared.ensure_dummy(VIP_LINK).unwrap()
                } else {
                    Links::open_in_netns_path(path)
                        .unwrap()
                        .ensure_dummy(VIP_LINK)
                        .unwrap()
                }
            })
        })
        .collect();
    let made: Vec<Link> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(made.iter().all(|l| l == &made[0]), "{made:?}");
    let all = shared.links().unwrap();
    assert_eq!(all.iter().filter(|l| l.name == VIP_LINK).count(), 1);
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn vip_on_the_dummy_with_an_ipvs_service() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let links = links(&ns);
    let vip = ip("10.96.0.10");
    links.ensure_dummy(VIP_LINK).unwrap();
    links.add_address(VIP_LINK, vip, None).unwrap();
    let id = ServiceId::tcp(std::net::SocketAddr::new(vip, 80));
    ipvs.add_service(&Service::new(id).with_scheduler(Scheduler::RoundRobin))
        .unwrap();
    ipvs.add_destination(&id, &Destination::new("10.244.0.5:8080".parse().unwrap()))
        .unwrap();

    assert_eq!(ipvs.service(&id).unwrap().service.id, id);
    assert_eq!(
        links
            .addresses(VIP_LINK)
            .unwrap()
            .iter()
            .map(|a| a.addr)
            .collect::<Vec<_>>(),
        vec![vip]
    );
    // The VIP is local now (the kernel put a local route for it) ...
    let route = ns.exec("ip", &["route", "show", "table", "local", "10.96.0.10"]);
    assert!(route.contains("local 10.96.0.10"), "{route}");
    // ... but not a node address.
    assert!(
        !links
            .local_addresses_except(VIP_LINK)
            .unwrap()
            .contains(&vip)
    );

    // kube-proxy's cleanup: the service, then the VIP.
    ipvs.delete_service(&id).unwrap();
    links.delete_address(VIP_LINK, vip, None).unwrap();
    assert!(links.addresses(VIP_LINK).unwrap().is_empty());
    assert!(ipvs.services().unwrap().is_empty());
    links.delete_dummy(VIP_LINK).unwrap();
}
