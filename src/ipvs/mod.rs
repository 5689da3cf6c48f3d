//! The IPVS model: domain types and their wire codec. Nothing here knows
//! about sockets.

pub(crate) mod config;
pub(crate) mod consts;
pub(crate) mod daemon;
pub(crate) mod destination;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod scheduler;
pub(crate) mod service;
pub(crate) mod stats;

use crate::error::{Error, Result};
use crate::netlink::attr::{RawNla, walk};
use crate::netlink::genl::{GENL_HDRLEN, genl_header};
use crate::netlink::message::append_message;
use consts::IPVS_GENL_VERSION;

/// An attribute the kernel sent that this version of the crate does not
/// know, kept as it came (type with flags masked off, and value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// The attribute type.
    pub kind: u16,
    /// The value bytes, without padding.
    pub value: Vec<u8>,
}

/// Builds one IPVS request message (sequence and port left 0) of encoded
/// attributes `attrs`.
pub(crate) fn encode(family: u16, cmd: u8, flags: u16, attrs: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    encode_into(&mut buf, family, cmd, flags, attrs);
    buf
}

/// Appends one IPVS request message to `buf`.
pub(crate) fn encode_into(buf: &mut Vec<u8>, family: u16, cmd: u8, flags: u16, attrs: &[u8]) {
    let header = genl_header(cmd, IPVS_GENL_VERSION);
    append_message(buf, family, flags, &header, attrs);
}

/// The command of a reply payload (generic netlink header plus
/// attributes) and its top-level attributes.
pub(crate) fn decode(payload: &[u8]) -> Result<(u8, impl Iterator<Item = Result<RawNla<'_>>>)> {
    let cmd = *payload
        .first()
        .ok_or_else(|| Error::Decode("empty generic netlink message".into()))?;
    let attrs = payload.get(GENL_HDRLEN..).ok_or_else(|| {
        Error::Decode(format!(
            "generic netlink message of {} bytes",
            payload.len()
        ))
    })?;
    Ok((cmd, walk(attrs, "message")))
}

#[cfg(test)]
mod tests;
