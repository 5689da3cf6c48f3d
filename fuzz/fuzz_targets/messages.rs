//! The netlink message walk over a datagram and the classification of each message (ack, error, done, overrun, data).
//! The only property: no panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs::internals::decode;

fuzz_target!(|data: &[u8]| {
    let _ = decode::messages(data);
});
