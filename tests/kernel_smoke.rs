mod common;
use common::*;
use lvs::*;

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn smoke() {
    let ns = TestNetns::new();
    let ipvs = ns.ipvs();
    let info = ipvs.info().unwrap();
    println!("{info:?}");
    let svc = Service::new(ServiceId::tcp("10.0.0.1:80".parse().unwrap())).with_scheduler(Scheduler::RoundRobin);
    ipvs.add_service(&svc).unwrap();
    ipvs.add_destination(&svc.id, &Destination::new("10.0.1.1:8080".parse().unwrap())).unwrap();
    let all = ipvs.services().unwrap();
    println!("{all:#?}");
    println!("{:#?}", ipvs.destinations(&svc.id).unwrap());
    println!("{}", ns.exec("ipvsadm", &["-Ln"]));
    assert_eq!(all[0].service, svc);
}
