//! A write to the IPVS table as a value: what one request does, carrying
//! its payload. [`Ipvs`](crate::Ipvs)'s write verbs, [`Batch`](crate::Batch)
//! and [`BatchWriter`](crate::BatchWriter) all take this one type.

use std::fmt;
use std::net::SocketAddr;

use super::consts::IPVS_GENL_VERSION;
use super::destination::Destination;
use super::request::{Request, command, op_command, typed, write_op};
use super::service::{Service, ServiceId};
use crate::error::{Error, Result};
use crate::netlink::genl::genl_header;
use crate::netlink::message::{append_message_with, set_type_and_flags};

/// One write to the kernel's IPVS table.
///
/// The same value goes one at a time ([`Ipvs::execute`](crate::Ipvs::execute)
/// and the verbs that wrap it), in a batch ([`Batch::push`](crate::Batch::push))
/// or in a stream ([`BatchWriter::push`](crate::BatchWriter::push)), and
/// comes back, whole, in a [`Failure`](crate::Failure) when the kernel
/// refuses it.
///
/// ```
/// use lvs::{Destination, Op, Service, ServiceId};
/// let vip = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
/// let op = Op::AddDestination(vip, Destination::new("10.244.1.5:80".parse().unwrap()));
/// assert_eq!(op.service(), vip);
/// assert_eq!(op.destination(), Some("10.244.1.5:80".parse().unwrap()));
/// assert_eq!(op.to_string(), "add destination 10.244.1.5:80 to TCP 10.96.0.10:80");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Add a service (`IPVS_CMD_NEW_SERVICE`).
    AddService(Service),
    /// Replace a service's settings (`IPVS_CMD_SET_SERVICE`): scheduler,
    /// flags, persistence timeout, netmask, persistence engine.
    UpdateService(Service),
    /// Delete a service and its destinations (`IPVS_CMD_DEL_SERVICE`).
    DeleteService(ServiceId),
    /// Add a destination to a service (`IPVS_CMD_NEW_DEST`).
    AddDestination(ServiceId, Destination),
    /// Replace a destination's settings (`IPVS_CMD_SET_DEST`).
    UpdateDestination(ServiceId, Destination),
    /// Delete the destination at an address from a service
    /// (`IPVS_CMD_DEL_DEST`).
    DeleteDestination(ServiceId, SocketAddr),
}

impl Op {
    /// The service the operation is about.
    pub fn service(&self) -> ServiceId {
        match self {
            Op::AddService(s) | Op::UpdateService(s) => s.id,
            Op::DeleteService(id)
            | Op::AddDestination(id, _)
            | Op::UpdateDestination(id, _)
            | Op::DeleteDestination(id, _) => *id,
        }
    }

    /// The destination's address, for a destination operation.
    pub fn destination(&self) -> Option<SocketAddr> {
        match self {
            Op::AddDestination(_, d) | Op::UpdateDestination(_, d) => Some(d.addr),
            Op::DeleteDestination(_, addr) => Some(*addr),
            _ => None,
        }
    }

    /// Checks every value before anything is sent, refusing what the
    /// kernel would reject obscurely or silently change (see
    /// [`Service::validate`] and [`Destination::validate`]); the error
    /// names the field.
    pub fn validate(&self) -> Result<()> {
        match self {
            Op::AddService(s) | Op::UpdateService(s) => s.validate(),
            Op::DeleteService(id) | Op::DeleteDestination(id, _) => id.validate(),
            Op::AddDestination(id, d) | Op::UpdateDestination(id, d) => {
                id.validate()?;
                d.validate(id.family())
            }
        }
    }

    /// The validated request that carries the operation.
    pub(crate) fn request(&self) -> Result<Request> {
        Request::op(self)
    }

    /// Appends the operation's message (already validated) to `buf`, for
    /// family id `family` with netlink flags `flags`; sequence and port 0.
    pub(crate) fn encode_into(&self, buf: &mut Vec<u8>, family: u16, flags: u16) {
        let header = genl_header(op_command(self), IPVS_GENL_VERSION);
        append_message_with(buf, family, flags, &header, |w| write_op(self, w));
    }

    /// Makes an encoded operation message a request to family `family`
    /// with netlink flags `flags` (a batch learns the family id only when
    /// it is sent, and asks for an acknowledgement of its last message
    /// only).
    pub(crate) fn restamp(message: &mut [u8], family: u16, flags: u16) {
        set_type_and_flags(message, family, flags);
    }

    /// Gives a kernel error of this operation its typed meaning.
    pub(crate) fn error(&self, e: Error) -> Error {
        let (name, target) = command(op_command(self));
        typed(e, name, target)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::AddService(s) => write!(f, "add service {}", s.id),
            Op::UpdateService(s) => write!(f, "update service {}", s.id),
            Op::DeleteService(id) => write!(f, "delete service {id}"),
            Op::AddDestination(id, d) => write!(f, "add destination {} to {id}", d.addr),
            Op::UpdateDestination(id, d) => write!(f, "update destination {} of {id}", d.addr),
            Op::DeleteDestination(id, a) => write!(f, "delete destination {a} from {id}"),
        }
    }
}
