//! The IPVS model: domain types and their wire codec. Nothing here knows
//! about sockets.

/// `From<T> for String` (its `Display` words) and `TryFrom<String>` (its
/// `FromStr`), the string form a value takes with the `serde` feature.
macro_rules! string_form {
    ($t:ty) => {
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }

        impl TryFrom<String> for $t {
            type Error = crate::error::Error;
            fn try_from(s: String) -> crate::error::Result<Self> {
                s.parse()
            }
        }
    };
}

/// `From` both ways between a value and its kernel number, through the
/// type's normalising `from_raw` and its `to_raw`.
macro_rules! raw_form {
    ($t:ty, $raw:ty) => {
        impl From<$raw> for $t {
            fn from(raw: $raw) -> Self {
                <$t>::from_raw(raw)
            }
        }

        impl From<$t> for $raw {
            fn from(v: $t) -> $raw {
                v.to_raw()
            }
        }
    };
}

pub(crate) mod config;
pub(crate) mod consts;
pub(crate) mod daemon;
pub(crate) mod destination;
pub(crate) mod op;
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
/// know, kept as it came: its type field (flag bits included) and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RawAttribute {
    /// The attribute's type field as sent, with its `NLA_F_NESTED` and
    /// `NLA_F_NET_BYTEORDER` bits; [`RawAttribute::kind`] masks them off.
    pub raw_kind: u16,
    /// The value bytes, without padding.
    pub value: Vec<u8>,
}

impl RawAttribute {
    /// The attribute type without its flag bits.
    pub fn kind(&self) -> u16 {
        self.raw_kind & netlink_packet_core::NLA_TYPE_MASK
    }

    /// Whether the sender marked the attribute as nested (`NLA_F_NESTED`).
    pub fn is_nested(&self) -> bool {
        self.raw_kind & netlink_packet_core::NLA_F_NESTED != 0
    }
}

/// A value the kernel may hold that this version of the crate has no name
/// for: a scheduler loaded from another module, a protocol number, a tunnel
/// type or forwarding method of a newer kernel.
///
/// It can only be made by the crate's normalising conversions
/// (`Scheduler::from("name")`, `Protocol::from(number)`, …), which give the
/// named variant whenever there is one. So `Other` never holds a value the
/// crate names, and two spellings of one kernel value always compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unnamed<T>(pub(crate) T);

impl<T> Unnamed<T> {
    /// The raw value.
    pub fn get(&self) -> &T {
        &self.0
    }

    /// The raw value, taken out.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Unnamed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Builds one IPVS request message (sequence and port left 0) of encoded
/// attributes `attrs`.
pub(crate) fn encode(family: u16, cmd: u8, flags: u16, attrs: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    let header = genl_header(cmd, IPVS_GENL_VERSION);
    append_message(&mut buf, family, flags, &header, attrs);
    buf
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
mod roundtrip;
#[cfg(test)]
mod tests;
