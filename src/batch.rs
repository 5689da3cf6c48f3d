//! Batched writes: many requests per datagram, each failure reported
//! against its operation. [`Batch`] holds a list of writes to send later;
//! [`BatchWriter`] sends them while they are produced, in bounded memory.
//! Both take [`Op`]s and go to the kernel through the handle.

use std::fmt;

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};

use crate::error::{Error, Result};
use crate::handle::Ipvs;
use crate::ipvs::op::Op;

/// At most this many operations share a datagram. Each failure costs one
/// small error message in the socket's receive buffer, and no more
/// datagrams are sent until this one is answered, so even a window where
/// every operation fails fits the buffer: a batch never overflows it
/// (`ENOBUFS`) and never loses an error.
pub(crate) const WINDOW_OPS: usize = 256;
/// And about this many bytes at most (well under the socket's send buffer).
pub(crate) const WINDOW_BYTES: usize = 64 * 1024;
/// More than any one operation's message takes (the largest, a destination
/// with every attribute, is under 300 bytes).
const MESSAGE_ROOM: usize = 1024;

/// An operation the kernel refused, in a [`BatchReport`] or an
/// [`ApplyReport`](crate::ApplyReport): where it was, what it was, and the
/// kernel's typed error.
#[derive(Debug)]
#[non_exhaustive]
pub struct Failure {
    /// Its position among the operations sent (0-based, in the order they
    /// were queued).
    pub index: usize,
    /// The operation, whole.
    pub op: Op,
    /// The kernel's error, typed as the one-by-one call would give it.
    pub error: Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation {} ({}): {}", self.index, self.op, self.error)
    }
}

/// Up to one datagram of encoded messages: at most [`WINDOW_OPS`] of them,
/// about [`WINDOW_BYTES`] bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Window {
    /// The messages back to back; their type (the family id), flags,
    /// sequence and port are set when sent.
    bytes: Vec<u8>,
    /// Where each message starts in `bytes`.
    offsets: Vec<u32>,
}

impl Window {
    fn with_capacity() -> Self {
        Window {
            bytes: Vec::with_capacity(WINDOW_BYTES),
            offsets: Vec::with_capacity(WINDOW_OPS),
        }
    }

    fn len(&self) -> usize {
        self.offsets.len()
    }

    fn is_full(&self) -> bool {
        self.len() >= WINDOW_OPS || self.bytes.len() + MESSAGE_ROOM > WINDOW_BYTES
    }

    /// Encodes a validated operation.
    fn push(&mut self, op: &Op) {
        // Windows stay far below 4 GiB (see `is_full`).
        self.offsets.push(self.bytes.len() as u32);
        // The family id is not known yet: 0 now, set when sent.
        op.encode_into(&mut self.bytes, 0, NLM_F_REQUEST);
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.offsets.clear();
    }

    /// Makes every message a request to family `family`; the last one
    /// also asks for an acknowledgement if `ack_last`.
    fn stamp(&mut self, family: u16, ack_last: bool) {
        let last = self.len().wrapping_sub(1);
        for (i, &at) in self.offsets.iter().enumerate() {
            let flags = if ack_last && i == last {
                NLM_F_REQUEST | NLM_F_ACK
            } else {
                NLM_F_REQUEST
            };
            Op::restamp(&mut self.bytes[at as usize..], family, flags);
        }
    }

    /// Sends the window in one datagram through the handle and waits for
    /// the acknowledgement of its last message. The failure of its
    /// message `i` is recorded against `ops[i]`, numbered `first + i`.
    fn send(
        &mut self,
        ipvs: &Ipvs,
        ops: &[Op],
        first: usize,
        failures: &mut Vec<Failure>,
    ) -> Result<()> {
        self.stamp(ipvs.family(), true);
        ipvs.exchange_window(&mut self.bytes, &self.offsets, &mut |i, error| {
            if let Some(op) = ops.get(i) {
                failures.push(Failure {
                    index: first + i,
                    error: op.error(error),
                    op: op.clone(),
                });
            }
        })
    }

    /// Message `i`.
    #[cfg(test)]
    fn message(&self, i: usize) -> &[u8] {
        let start = self.offsets[i] as usize;
        let end = self
            .offsets
            .get(i + 1)
            .map_or(self.bytes.len(), |&o| o as usize);
        &self.bytes[start..end]
    }

    /// The messages back to back, as one datagram.
    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A list of writes to apply in as few datagrams as possible
/// ([`Ipvs::apply_batch`]).
///
/// Each operation is validated when it is pushed (a bad value is refused
/// then, and nothing is queued); it is encoded when the batch is applied,
/// window by window. The kernel applies the operations in order; a failing
/// one does not stop the rest, and there is no rollback: a batch is not a
/// transaction.
///
/// To send writes while they are produced, without holding them all, use
/// [`Ipvs::batch_writer`].
///
/// ```
/// use lvs::{Batch, Destination, Op, Service, ServiceId};
/// let vip = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
/// let pod = Destination::new("10.244.1.5:80".parse().unwrap());
/// let mut batch = Batch::new();
/// batch.push(Op::AddService(Service::new(vip))).unwrap();
/// batch.push(Op::AddDestination(vip, pod)).unwrap();
/// assert_eq!(batch.len(), 2);
/// assert_eq!(batch.ops().last(), Some(&Op::AddDestination(vip, pod)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// Validates and queues an operation ([`Op::validate`]); a refused one
    /// is not queued.
    pub fn push(&mut self, op: Op) -> Result<()> {
        op.validate()?;
        self.ops.push(op);
        Ok(())
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

    /// Empties the batch.
    pub fn clear(&mut self) {
        self.ops.clear();
    }

    /// The operations cut into windows, encoded for family `family`
    /// (sequence numbers left 0).
    fn windows(&self, family: u16) -> impl Iterator<Item = (usize, Window)> + '_ {
        let mut next = 0;
        std::iter::from_fn(move || {
            if next >= self.ops.len() {
                return None;
            }
            let first = next;
            let mut window = Window::with_capacity();
            while next < self.ops.len() && !window.is_full() {
                window.push(&self.ops[next]);
                next += 1;
            }
            window.stamp(family, true);
            Some((first, window))
        })
    }

    /// The windows, stamped for family `family` (sequence numbers left 0).
    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn datagrams(&self, family: u16) -> Vec<Window> {
        self.windows(family).map(|(_, w)| w).collect()
    }
}

/// The kernel's verdict on every operation of a batch.
#[derive(Debug, Default)]
pub struct BatchReport {
    len: usize,
    /// The failed operations, in the batch's order.
    failures: Vec<Failure>,
}

impl BatchReport {
    /// Whether every operation succeeded.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// How many operations were sent.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no operation was sent.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many operations succeeded.
    pub fn succeeded(&self) -> usize {
        self.len - self.failures.len()
    }

    /// The failed operations, in the batch's order.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// The failed operations, taken out of the report.
    pub fn into_failures(self) -> Vec<Failure> {
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
        for (first, mut window) in batch.windows(self.family()) {
            let ops = &batch.ops[first..first + window.len()];
            window.send(self, ops, first, &mut failures)?;
            // Every operation refused with ENOENT: maybe IPVS itself went.
            if window.len() > 0
                && failures.len() >= window.len()
                && failures[failures.len() - window.len()..]
                    .iter()
                    .all(|f| f.error.errno() == Some(libc::ENOENT))
                && let Some(gone) = self.family_gone(&mut self.lock())
            {
                return Err(gone);
            }
        }
        Ok(BatchReport {
            len: batch.len(),
            failures,
        })
    }

    /// A writer that sends operations while they are produced: the same
    /// datagrams and the same report as [`Ipvs::apply_batch`], without
    /// holding the whole batch. At most one window (256 operations,
    /// 64 KiB) is held at a time, so a write of a million operations takes
    /// no more memory than one of a thousand.
    ///
    /// ```no_run
    /// # fn main() -> lvs::Result<()> {
    /// use lvs::{Destination, Ipvs, Op, Service, ServiceId};
    /// let ipvs = Ipvs::open()?;
    /// let mut writer = ipvs.batch_writer();
    /// for i in 0..10_000u32 {
    ///     let vip = ServiceId::tcp((std::net::Ipv4Addr::from(0x0a60_0000 + i), 80).into());
    ///     writer.push(Op::AddService(Service::new(vip)))?;
    ///     let pod = Destination::new("10.244.1.5:8080".parse().unwrap());
    ///     writer.push(Op::AddDestination(vip, pod))?;
    /// }
    /// let report = writer.finish()?;
    /// assert!(report.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn batch_writer(&self) -> BatchWriter<'_> {
        BatchWriter {
            ipvs: self,
            window: Window::with_capacity(),
            ops: Vec::with_capacity(WINDOW_OPS),
            sent: 0,
            failures: Vec::new(),
        }
    }
}

/// Sends writes to the kernel while they are produced, a window of up to
/// 256 operations at a time ([`Ipvs::batch_writer`]).
///
/// Each [`push`](BatchWriter::push) validates and queues one operation;
/// the push that fills a window also sends it and waits for the kernel's
/// acknowledgement. Its `Err` is then either a bad value (nothing queued,
/// as with [`Batch`]) or a failure to talk to the kernel while sending the
/// window (whose operations may have been applied). Failures of operations
/// themselves are not errors of the calls: they are in the report of
/// [`BatchWriter::finish`], against their operations, numbered in the
/// order they were queued.
///
/// The handle is not locked between windows: other calls on it may run
/// between two windows of a writer. Dropping a writer without
/// [`finish`](BatchWriter::finish) still sends the operations queued, but
/// their failures are then lost: call `finish`.
#[derive(Debug)]
pub struct BatchWriter<'a> {
    ipvs: &'a Ipvs,
    /// The operations queued and not sent yet, encoded.
    window: Window,
    /// The same operations, for the report.
    ops: Vec<Op>,
    /// How many operations were sent before them.
    sent: usize,
    failures: Vec<Failure>,
}

impl BatchWriter<'_> {
    /// Validates and queues an operation, and sends the window if that
    /// filled it.
    pub fn push(&mut self, op: Op) -> Result<()> {
        op.validate()?;
        self.window.push(&op);
        self.ops.push(op);
        if self.window.is_full() {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the operations queued, if any.
    fn send(&mut self) -> Result<()> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let first = self.sent;
        self.sent += self.ops.len();
        let result = self
            .window
            .send(self.ipvs, &self.ops, first, &mut self.failures);
        self.window.clear();
        self.ops.clear();
        result
    }

    /// How many operations were queued so far (sent or not).
    pub fn len(&self) -> usize {
        self.sent + self.ops.len()
    }

    /// Whether nothing was queued yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends what is still queued and returns the kernel's verdict on
    /// every operation of the writer.
    pub fn finish(mut self) -> Result<BatchReport> {
        self.send()?;
        Ok(BatchReport {
            len: self.sent,
            failures: std::mem::take(&mut self.failures),
        })
    }
}

impl Drop for BatchWriter<'_> {
    /// Sends what is still queued; failures are lost (see
    /// [`BatchWriter::finish`]).
    fn drop(&mut self) {
        let _ = self.send();
    }
}

impl Ipvs {
    /// Sends windows back to back and waits only for the acknowledgement
    /// of the very last message (the benchmarks' limit of batched writes;
    /// see `internals::send_encoded`). Failures before the last message
    /// are not collected.
    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn send_encoded(&self, windows: &mut [Window]) -> Result<()> {
        let Some((last, front)) = windows.split_last_mut() else {
            return Ok(());
        };
        for window in front.iter_mut() {
            window.stamp(self.family(), false);
        }
        last.stamp(self.family(), true);
        let mut transport = self.lock();
        for window in front {
            transport.send(&window.bytes)?;
        }
        let at = last.offsets.last().copied().unwrap_or(0);
        transport.exchange_window(&mut last.bytes, &[at], &mut |_, _| {})
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::ipvs::destination::{Destination, Forwarding, MAX_WEIGHT, Tunnel, TunnelFlags};
    use crate::ipvs::scheduler::Scheduler;
    use crate::ipvs::service::{AddressFamily, Netmask, Protocol, Service, ServiceId};
    use crate::netlink::message::Messages;

    fn ids() -> Vec<ServiceId> {
        vec![
            ServiceId::tcp("10.96.0.10:80".parse().unwrap()),
            ServiceId::Inet {
                protocol: Protocol::Sctp,
                addr: "[2001:db8::1]:443".parse().unwrap(),
            },
            ServiceId::fwmark(7),
            ServiceId::fwmark_v6(8),
        ]
    }

    /// Every kind of operation, for services of every kind, with an IPv4
    /// and an IPv6 destination where the family allows.
    fn every_op() -> Vec<Op> {
        let mut ops = Vec::new();
        for id in ids() {
            let service = Service::new(id);
            let addr: SocketAddr = match id.family() {
                AddressFamily::Ipv4 => "10.244.1.5:8080".parse().unwrap(),
                AddressFamily::Ipv6 => "[2001:db8::5]:8080".parse().unwrap(),
            };
            let dest = Destination::new(addr);
            ops.extend([
                Op::AddService(service.clone()),
                Op::UpdateService(service),
                Op::AddDestination(id, dest),
                Op::UpdateDestination(id, dest.with_weight(0)),
                Op::DeleteDestination(id, addr),
                Op::DeleteService(id),
            ]);
        }
        ops
    }

    fn batch_of(ops: &[Op]) -> Batch {
        let mut batch = Batch::new();
        for op in ops {
            batch.push(op.clone()).unwrap();
        }
        batch
    }

    /// Each message of a window is the operation's own request, byte for
    /// byte: the batch and the one-by-one path encode alike.
    #[test]
    fn windows_hold_each_operation_as_its_own_request() {
        let ops = every_op();
        let batch = batch_of(&ops);
        assert_eq!(batch.ops(), &ops[..]);
        let windows = batch.datagrams(28);
        assert_eq!(windows.len(), 1);
        for (i, op) in ops.iter().enumerate() {
            let mut alone = op.request().unwrap().encode(28);
            let ack = if i + 1 == ops.len() { NLM_F_ACK } else { 0 };
            Op::restamp(&mut alone, 28, NLM_F_REQUEST | ack);
            assert_eq!(windows[0].message(i), &alone[..], "{op}");
        }
    }

    #[test]
    fn a_refused_operation_is_not_queued() {
        let mut batch = Batch::new();
        let v4 = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
        let v6_dest = Destination::new("[2001:db8::5]:80".parse().unwrap());
        assert!(batch.push(Op::DeleteService(ServiceId::fwmark(0))).is_err());
        assert!(
            batch.push(Op::AddDestination(v4, v6_dest)).is_err(),
            "mixed family needs a tunnel"
        );
        let dest = Destination::new("10.244.1.5:80".parse().unwrap());
        assert!(
            batch
                .push(Op::AddDestination(v4, dest.with_thresholds(1, 2)))
                .is_err()
        );
        assert!(batch.is_empty() && batch.datagrams(28).is_empty());
        batch.push(Op::AddDestination(v4, dest)).unwrap();
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn windows_cover_the_batch_in_order_within_their_bounds() {
        for n in [0usize, 1, 255, 256, 257, 1000, 1283] {
            let mut batch = Batch::new();
            for i in 0..n as u32 {
                let id = ServiceId::fwmark(i + 1);
                batch.push(Op::AddService(Service::new(id))).unwrap();
            }
            let windows: Vec<(usize, Window)> = batch.windows(28).collect();
            assert_eq!(windows.len(), n.div_ceil(WINDOW_OPS), "n = {n}");
            let mut next = 0;
            for (first, w) in &windows {
                assert_eq!(*first, next);
                assert!(w.len() > 0 && w.len() <= WINDOW_OPS);
                next += w.len();
            }
            assert_eq!(next, n);
        }
    }

    /// The largest messages there are: IPv6 services with the longest
    /// names, IPv6 GUE destinations with every setting.
    #[test]
    fn the_largest_messages_fit_their_room_and_windows_their_bound() {
        let mut batch = Batch::new();
        for i in 0..600u32 {
            let addr = SocketAddr::new(
                std::net::Ipv6Addr::from(0x2001_0db8 << 96 | i as u128).into(),
                80,
            );
            let id = ServiceId::sctp(addr);
            let svc = Service::new(id)
                .with_scheduler(Scheduler::from("x".repeat(15)))
                .with_persistence_engine("y".repeat(16))
                .with_persistence(10800)
                .with_netmask(Netmask::prefix(AddressFamily::Ipv6, 64).unwrap());
            batch.push(Op::AddService(svc)).unwrap();
            let tunnel = Tunnel::gue(6080).with_flags(TunnelFlags::CSUM | TunnelFlags::REMCSUM);
            let dest = Destination::new(addr)
                .with_forwarding(Forwarding::Tunnel(tunnel))
                .with_weight(MAX_WEIGHT)
                .with_thresholds(MAX_WEIGHT, MAX_WEIGHT);
            batch.push(Op::UpdateDestination(id, dest)).unwrap();
        }
        let windows = batch.datagrams(28);
        let largest = windows
            .iter()
            .flat_map(|w| (0..w.len()).map(|i| w.message(i).len()))
            .max()
            .unwrap();
        assert!(largest <= MESSAGE_ROOM, "{largest}");
        assert!(windows.len() >= 600 * 2 / WINDOW_OPS);
        for w in &windows {
            assert!(w.bytes().len() <= WINDOW_BYTES, "{}", w.bytes().len());
        }
        assert_eq!(windows.iter().map(Window::len).sum::<usize>(), batch.len());
    }

    #[test]
    fn datagrams_are_stamped_requests_acknowledging_only_the_last() {
        let batch = batch_of(&every_op());
        let windows = batch.datagrams(28);
        assert_eq!(windows.len(), 1);
        let msgs: Vec<_> = Messages::new(windows[0].bytes())
            .map(|m| m.unwrap())
            .collect();
        assert_eq!(msgs.len(), batch.len());
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(m.message_type, 28);
            let ack = if i + 1 == msgs.len() { NLM_F_ACK } else { 0 };
            assert_eq!(m.flags, NLM_F_REQUEST | ack, "message {i}");
        }
    }
}
