//! Link names and address prefixes, checked before anything is sent.

use std::net::IpAddr;

use super::IFNAMSIZ;
use crate::error::{Error, Result};

/// Refuses a name the kernel would refuse (`dev_valid_name`), or would
/// take as a template (`%d`), or could not hold (`IFNAMSIZ`).
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let bad = |reason: String| Err(Error::invalid("link.name", reason));
    if name.is_empty() {
        return bad("empty".into());
    }
    if name.len() >= IFNAMSIZ {
        return bad(format!(
            "{name:?} is {} bytes long, more than {}",
            name.len(),
            IFNAMSIZ - 1
        ));
    }
    if name == "." || name == ".." {
        return bad(format!("{name:?} is not a valid name"));
    }
    // The kernel's isspace() also takes 0xa0 (NBSP in Latin-1), which is
    // a byte of some UTF-8 characters.
    let is_space = |b: u8| b == b' ' || (0x09..=0x0d).contains(&b) || b == 0xa0;
    if let Some(b) = name
        .bytes()
        .find(|&b| b == 0 || b == b'/' || b == b':' || b == b'%' || is_space(b))
    {
        return bad(format!(
            "{name:?} contains {:?}, which a link name cannot contain",
            char::from(b)
        ));
    }
    Ok(())
}

/// The prefix length to use for `addr`: the host prefix by default, and
/// never longer than the address.
pub(crate) fn checked_prefix(addr: IpAddr, prefix_len: Option<u8>) -> Result<u8> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match prefix_len {
        None => Ok(max),
        Some(p) if p <= max => Ok(p),
        Some(p) => Err(Error::invalid(
            "address.prefix_len",
            format!("/{p} is longer than the {max} bits of {addr}"),
        )),
    }
}
