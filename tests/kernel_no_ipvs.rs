//! Run in a guest booted without IPVS (`LVS_UML_NO_IPVS=1 scripts/uml`,
//! as `scripts/test` does): opening a handle must fail at once with a
//! typed error, not "succeed" and fail later.

mod common;

use common::TestNetns;
use lvs::{Error, Ipvs};

#[test]
#[ignore = "needs a guest kernel without IPVS: run scripts/test"]
fn open_without_ipvs_is_not_supported() {
    assert!(
        !std::path::Path::new("/proc/net/ip_vs").exists(),
        "IPVS is loaded: this test needs a guest without it (LVS_UML_NO_IPVS=1)"
    );
    let ns = TestNetns::new();
    for _ in 0..2 {
        match Ipvs::open_in_netns_path(ns.path()) {
            Err(Error::NotSupported) => {}
            other => panic!("expected NotSupported, got {other:?}"),
        }
    }
    let msg = Ipvs::open().unwrap_err().to_string();
    assert!(msg.contains("IPVS is not available"), "{msg}");
}
