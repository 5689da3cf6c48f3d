//! An NLMSG_ERROR payload: error code, echoed request and extended ACK attributes.
//! The only property: no panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs::internals::decode;

fuzz_target!(|data: &[u8]| {
    // The first two bytes are the message flags (capped, extended ACK).
    if let Some((flags, payload)) = data.split_first_chunk::<2>() {
        let _ = decode::error(u16::from_ne_bytes(*flags), payload);
    }
});
