//! Feeds arbitrary bytes to every parser of `lvs` as if the kernel had sent
//! them. The only property: no panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lvs::internals::decode_datagram(data);
});
