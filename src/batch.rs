//! Batched writes: many requests per datagram, each failure reported
//! against its operation.

use std::net::SocketAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};

use crate::error::{Error, Result, Target};
use crate::handle::Ipvs;
use crate::ipvs::destination::Destination;
use crate::ipvs::request::Request;
use crate::ipvs::service::{Service, ServiceId};
use crate::netlink::message::set_type_and_flags;

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
    /// The messages, encoded as they are queued, back to back; their type
    /// (the family id), flags, sequence and port are set when sent.
    bytes: Vec<u8>,
    /// Where each message starts in `bytes`.
    offsets: Vec<usize>,
    /// What each message is, for the report and for its errors.
    ops: Vec<Op>,
    meta: Vec<(&'static str, Target)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    fn push(&mut self, request: Request, op: Op) -> &mut Self {
        self.offsets.push(self.bytes.len());
        // The family id is not known yet: 0 now, set when sent.
        request.encode_into(&mut self.bytes, 0, NLM_F_REQUEST);
        self.ops.push(op);
        self.meta.push((request.name, request.target));
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
        self.bytes.clear();
        self.offsets.clear();
        self.ops.clear();
        self.meta.clear();
    }

    /// The byte range of message `i`.
    fn message(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets.get(i + 1).copied().unwrap_or(self.bytes.len())
    }

    /// Splits the batch into windows: ranges of operations of at most
    /// [`WINDOW_OPS`] messages and about [`WINDOW_BYTES`] bytes.
    fn windows(&self) -> Vec<std::ops::Range<usize>> {
        let mut windows = Vec::new();
        let mut start = 0;
        while start < self.ops.len() {
            let mut end = start + 1;
            while end < self.ops.len()
                && end - start < WINDOW_OPS
                && self.message(end).end - self.offsets[start] <= WINDOW_BYTES
            {
                end += 1;
            }
            windows.push(start..end);
            start = end;
        }
        windows
    }

    /// Copies the messages of `window` into `out` as one datagram for
    /// family `family`: every message a plain request, the last one asking
    /// for the acknowledgement that ends the window. Returns the offsets of
    /// the messages in `out`.
    fn stamp(&self, window: std::ops::Range<usize>, family: u16, out: &mut Vec<u8>) -> Vec<usize> {
        let base = self.offsets[window.start];
        let end = self.message(window.end - 1).end;
        out.clear();
        out.extend_from_slice(&self.bytes[base..end]);
        let offsets: Vec<usize> = window.map(|i| self.offsets[i] - base).collect();
        for (k, &at) in offsets.iter().enumerate() {
            let flags = if k + 1 == offsets.len() {
                NLM_F_REQUEST | NLM_F_ACK
            } else {
                NLM_F_REQUEST
            };
            set_type_and_flags(&mut out[at..], family, flags);
        }
        offsets
    }

    /// The datagrams the batch is sent as, for family `family` (sequence
    /// numbers left 0).
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn datagrams(&self, family: u16) -> Vec<Vec<u8>> {
        self.windows()
            .into_iter()
            .map(|w| {
                let mut out = Vec::new();
                self.stamp(w, family, &mut out);
                out
            })
            .collect()
    }
}

/// The kernel's verdict on every operation of a batch.
#[derive(Debug)]
pub struct BatchReport {
    len: usize,
    /// The failed operations, in the batch's order.
    failures: Vec<(usize, Op, Error)>,
}

impl BatchReport {
    /// Whether every operation succeeded.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// How many operations succeeded.
    pub fn succeeded(&self) -> usize {
        self.len - self.failures.len()
    }

    /// The failed operations, in the batch's order: index in the batch,
    /// operation, error.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &Op, &Error)> {
        self.failures.iter().map(|(i, op, e)| (*i, op, e))
    }

    /// The failed operations, taken out of the report.
    pub fn into_failures(self) -> Vec<(usize, Op, Error)> {
        self.failures
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
        let mut failures = Vec::new();
        let mut datagram = Vec::with_capacity(WINDOW_BYTES + 1024);
        let mut transport = self.lock();
        for window in batch.windows() {
            let first = window.start;
            let offsets = batch.stamp(window, self.family, &mut datagram);
            transport.exchange_window(&mut datagram, &offsets, &mut |i, e| {
                let (name, target) = batch.meta[first + i];
                let error = match e {
                    Error::Kernel(mut k) => {
                        k.request = name;
                        Error::from_kernel(k, target)
                    }
                    other => other,
                };
                failures.push((first + i, batch.ops[first + i], error));
            })?;
        }
        Ok(BatchReport {
            len: batch.len(),
            failures,
        })
    }
}

impl Ipvs {
    /// Sends datagrams of messages back to back and waits only for the
    /// acknowledgement of the very last message (the benchmarks' limit of
    /// batched writes; see `internals::send_encoded`). Failures before the
    /// last message are not collected.
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn send_encoded(&self, datagrams: &mut [Vec<u8>]) -> Result<()> {
        use crate::netlink::message::Messages;
        // Only the last message of all asks for an acknowledgement.
        let mut last = None;
        for (d, datagram) in datagrams.iter_mut().enumerate() {
            let mut offset = 0;
            let offsets: Vec<(usize, usize)> = Messages::new(datagram)
                .map(|m| {
                    let m = m?;
                    let at = offset;
                    offset += (m.payload.len() + 16 + 3) & !3;
                    Ok((at, m.payload.len() + 16))
                })
                .collect::<Result<_>>()?;
            for &(at, _) in &offsets {
                datagram[at + 6..at + 8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
            }
            if let Some(&(at, _)) = offsets.last() {
                last = Some((d, at));
            }
        }
        let Some((d, at)) = last else { return Ok(()) };
        datagrams[d][at + 6..at + 8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        let mut transport = self.lock();
        let (front, tail) = datagrams.split_at_mut(d);
        for datagram in front {
            transport.send(datagram)?;
        }
        transport.exchange_window(&mut tail[0], &[at], &mut |_, _| {})
    }
}
