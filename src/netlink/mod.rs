//! Netlink plumbing: framing, attributes, the request loop and the generic
//! netlink controller. Nothing here knows about IPVS.

pub(crate) mod attr;
pub(crate) mod genl;
pub(crate) mod message;
pub(crate) mod socket;

pub(crate) use message::build_message;
pub(crate) use socket::{Transport, lock};
