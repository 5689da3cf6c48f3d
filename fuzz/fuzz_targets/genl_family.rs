//! The generic netlink controller family reply payload.
//! The only property: no panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs::internals::decode;

fuzz_target!(|data: &[u8]| {
    let _ = decode::genl_family(data);
});
