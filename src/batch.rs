//! Batched writes: many requests per datagram, each failure reported
//! against its operation.

use std::net::SocketAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};

use crate::error::{Error, Result};
use crate::handle::Ipvs;
use crate::ipvs::destination::Destination;
use crate::ipvs::request::Request;
use crate::ipvs::service::{Service, ServiceId};

/// At most this many operations share a datagram. Each failure costs one
/// small error message in the socket's receive buffer, and no more
/// datagrams are sent until this one is answered, so even a window where
/// every operation fails fits the buffer: a batch never overflows it
/// (`ENOBUFS`) and never loses an error.
pub(crate) const WINDOW_OPS: usize = 256;
/// And at most about this many bytes (well under the socket's send buffer).
pub(crate) const WINDOW_BYTES: usize = 64 * 1024;

/// One queued operation, as reported back by [`BatchReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `add_service`.
    AddService(ServiceId),
    /// `update_service`.
    UpdateService(ServiceId),
    /// `delete_service`.
    DeleteService(ServiceId),
    /// `add_destination` to the service.
    AddDestination(ServiceId, SocketAddr),
    /// `update_destination` of the service.
    UpdateDestination(ServiceId, SocketAddr),
    /// `delete_destination` from the service.
    DeleteDestination(ServiceId, SocketAddr),
}

/// A list of writes to apply in as few datagrams as possible
/// ([`Ipvs::apply_batch`]).
///
/// Each operation is validated when it is queued (a bad value is refused
/// then, and nothing is queued). The kernel applies the operations in
/// order; a failing one does not stop the rest, and there is no rollback:
/// a batch is not a transaction.
///
/// ```
/// use lvs::{Batch, Destination, Service, ServiceId};
/// let vip = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
/// let mut batch = Batch::new();
/// batch.add_service(&Service::new(vip)).unwrap();
/// batch.add_destination(&vip, &Destination::new("10.244.1.5:80".parse().unwrap())).unwrap();
/// assert_eq!(batch.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Batch {
    requests: Vec<Request>,
    ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    fn push(&mut self, request: Request, op: Op) -> &mut Self {
        self.requests.push(request);
        self.ops.push(op);
        self
    }

    /// Queues adding a service.
    pub fn add_service(&mut self, service: &Service) -> Result<&mut Self> {
        Ok(self.push(Request::add_service(service)?, Op::AddService(service.id)))
    }

    /// Queues changing a service (see [`Ipvs::update_service`]).
    pub fn update_service(&mut self, service: &Service) -> Result<&mut Self> {
        Ok(self.push(
            Request::update_service(service)?,
            Op::UpdateService(service.id),
        ))
    }

    /// Queues deleting a service and its destinations.
    pub fn delete_service(&mut self, id: &ServiceId) -> Result<&mut Self> {
        Ok(self.push(Request::delete_service(id)?, Op::DeleteService(*id)))
    }

    /// Queues adding a destination.
    pub fn add_destination(
        &mut self,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<&mut Self> {
        let request = Request::add_destination(service, dest)?;
        Ok(self.push(request, Op::AddDestination(*service, dest.addr)))
    }

    /// Queues replacing a destination's settings.
    pub fn update_destination(
        &mut self,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<&mut Self> {
        let request = Request::update_destination(service, dest)?;
        Ok(self.push(request, Op::UpdateDestination(*service, dest.addr)))
    }

    /// Queues deleting a destination.
    pub fn delete_destination(
        &mut self,
        service: &ServiceId,
        addr: SocketAddr,
    ) -> Result<&mut Self> {
        let request = Request::delete_destination(service, addr)?;
        Ok(self.push(request, Op::DeleteDestination(*service, addr)))
    }

    /// How many operations are queued.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The queued operations, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.requests.clear();
        self.ops.clear();
    }

    /// Encodes the batch for family `family` into windows: each a datagram
    /// (messages back to back, only the last asking for an ACK) with the
    /// offsets of its messages and the index of its first operation.
    pub(crate) fn windows(&self, family: u16) -> Vec<Window> {
        let mut windows = Vec::new();
        let mut start = 0;
        while start < self.requests.len() {
            let mut bytes = Vec::with_capacity(WINDOW_BYTES);
            let mut offsets = Vec::new();
            let mut end = start;
            while end < self.requests.len() && offsets.len() < WINDOW_OPS {
                let msg = self.requests[end].encode_with_flags(family, NLM_F_REQUEST);
                if !offsets.is_empty() && bytes.len() + msg.len() > WINDOW_BYTES {
                    break;
                }
                offsets.push(bytes.len());
                bytes.extend_from_slice(&msg);
                end += 1;
            }
            // The last message of the window asks for the acknowledgement
            // that tells the window is done.
            let last = *offsets.last().expect("a window holds at least one message");
            let flags_at = last + 6;
            bytes[flags_at..flags_at + 2]
                .copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
            windows.push(Window {
                first_op: start,
                bytes,
                offsets,
            });
            start = end;
        }
        windows
    }
}

/// One datagram of a batch.
pub(crate) struct Window {
    pub(crate) first_op: usize,
    pub(crate) bytes: Vec<u8>,
    pub(crate) offsets: Vec<usize>,
}

/// The result of every operation of a batch, in the batch's order.
#[derive(Debug)]
pub struct BatchReport {
    ops: Vec<Op>,
    results: Vec<Result<()>>,
}

impl BatchReport {
    /// Whether every operation succeeded.
    pub fn is_ok(&self) -> bool {
        self.results.iter().all(|r| r.is_ok())
    }

    /// How many operations succeeded.
    pub fn succeeded(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }

    /// The failed operations: index in the batch, operation, error.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &Op, &Error)> {
        self.ops
            .iter()
            .zip(&self.results)
            .enumerate()
            .filter_map(|(i, (op, r))| r.as_ref().err().map(|e| (i, op, e)))
    }

    /// Each operation with its result.
    pub fn results(&self) -> impl Iterator<Item = (&Op, &Result<()>)> {
        self.ops.iter().zip(&self.results)
    }

    /// The results, in the batch's order.
    pub fn into_results(self) -> Vec<Result<()>> {
        self.results
    }
}

impl Ipvs {
    /// Applies a batch: its operations go to the kernel in as few
    /// datagrams as the socket allows (up to 256 operations each), and the
    /// kernel's verdict on each comes back in the report, against its
    /// operation, with the same typed errors as the one-by-one calls.
    ///
    /// The operations are applied in order and independently: one failing
    /// does not stop the others, and nothing is rolled back. `Err` is
    /// returned only when talking to the kernel failed (a timeout, a
    /// socket error); operations sent before that may have been applied.
    pub fn apply_batch(&self, batch: &Batch) -> Result<BatchReport> {
        let mut results: Vec<Result<()>> = (0..batch.len()).map(|_| Ok(())).collect();
        let mut transport = self.lock();
        for mut window in batch.windows(self.family) {
            let first = window.first_op;
            transport.exchange_window(&mut window.bytes, &window.offsets, &mut |i, e| {
                let request = &batch.requests[first + i];
                results[first + i] = Err(match e {
                    Error::Kernel(mut k) => {
                        k.request = request.name;
                        Error::from_kernel(k, request.target)
                    }
                    other => other,
                });
            })?;
        }
        Ok(BatchReport {
            ops: batch.ops.clone(),
            results,
        })
    }
}
