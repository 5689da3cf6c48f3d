//! Netlink plumbing: the channel (socket, sequence numbers, reply timeout,
//! namespace opening, dump draining), framing, attributes, the request loop
//! and the generic netlink controller. Nothing here knows about IPVS or
//! rtnetlink: what an errno means for a request is the caller's to say.

pub(crate) mod attr;
pub(crate) mod channel;
pub(crate) mod genl;
pub(crate) mod message;
pub(crate) mod netns;
pub(crate) mod socket;

pub(crate) use channel::{Channel, Namespace};
pub(crate) use socket::Transport;

#[cfg(test)]
mod hostile_tests;
