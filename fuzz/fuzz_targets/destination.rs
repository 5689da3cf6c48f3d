//! An IPVS destination reply payload, read for an IPv4 or an IPv6 service.
//! The only property: no panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs::internals::decode;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the service family the reply is read for.
    if let Some((&pick, payload)) = data.split_first() {
        let _ = decode::destination(payload, pick & 1 == 1);
    }
});
