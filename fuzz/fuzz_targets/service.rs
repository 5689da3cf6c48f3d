//! An IPVS service reply payload (generic netlink header and attributes).
//! The only property: no panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs::internals::decode;

fuzz_target!(|data: &[u8]| {
    let _ = decode::service(data);
});
