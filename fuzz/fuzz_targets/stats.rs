//! An IPVS stats nest, 64-bit or legacy.
//! The only property: no panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs::internals::decode;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the 64-bit or the legacy nest.
    if let Some((&pick, nest)) = data.split_first() {
        let _ = decode::stats(nest, pick & 1 == 1);
    }
});
