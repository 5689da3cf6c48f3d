//! Batched writes: many requests per datagram, each failure reported
//! against its operation. [`Batch`] holds a list of writes to send later;
//! [`BatchWriter`] sends them while they are produced, in bounded memory.

use std::net::SocketAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};

use crate::error::{Error, Result};
use crate::handle::Ipvs;
use crate::ipvs::consts::*;
use crate::ipvs::destination::Destination;
use crate::ipvs::request::{Request, command};
use crate::ipvs::service::{AddressFamily, Service, ServiceEntry, ServiceId, parse_addr};
use crate::netlink::Transport;
use crate::netlink::attr::walk;
use crate::netlink::message::{Messages, set_type_and_flags};

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

/// Whether a window of `ops` messages taking `bytes` bytes is full.
fn window_full(ops: usize, bytes: usize) -> bool {
    ops >= WINDOW_OPS || bytes + MESSAGE_ROOM > WINDOW_BYTES
}

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

impl Op {
    /// The command that carries the operation.
    fn cmd(&self) -> u8 {
        match self {
            Op::AddService(_) => IPVS_CMD_NEW_SERVICE,
            Op::UpdateService(_) => IPVS_CMD_SET_SERVICE,
            Op::DeleteService(_) => IPVS_CMD_DEL_SERVICE,
            Op::AddDestination(..) => IPVS_CMD_NEW_DEST,
            Op::UpdateDestination(..) => IPVS_CMD_SET_DEST,
            Op::DeleteDestination(..) => IPVS_CMD_DEL_DEST,
        }
    }

    /// Reads the operation back from a message this module encoded: the
    /// command, the service's identity and the destination's address. A
    /// batch keeps only the encoded messages, which is less than half the
    /// memory of keeping each `Op` beside its message.
    fn decode(message: &[u8]) -> Option<Op> {
        let msg = Messages::new(message).next()?.ok()?;
        let (cmd, attrs) = crate::ipvs::decode(msg.payload).ok()?;
        let (mut service, mut dest) = (None, None);
        for nla in attrs {
            let nla = nla.ok()?;
            match nla.kind {
                IPVS_CMD_ATTR_SERVICE => {
                    service = Some(ServiceEntry::parse(nla.value).ok()?.service.id)
                }
                IPVS_CMD_ATTR_DEST => dest = Some(nla.value),
                _ => {}
            }
        }
        let id = service?;
        let addr = || dest_addr(dest?, id.family());
        Some(match cmd {
            IPVS_CMD_NEW_SERVICE => Op::AddService(id),
            IPVS_CMD_SET_SERVICE => Op::UpdateService(id),
            IPVS_CMD_DEL_SERVICE => Op::DeleteService(id),
            IPVS_CMD_NEW_DEST => Op::AddDestination(id, addr()?),
            IPVS_CMD_SET_DEST => Op::UpdateDestination(id, addr()?),
            IPVS_CMD_DEL_DEST => Op::DeleteDestination(id, addr()?),
            _ => return None,
        })
    }
}

/// The address and port of a destination nest.
fn dest_addr(nest: &[u8], service_family: AddressFamily) -> Option<SocketAddr> {
    let (mut family, mut addr, mut port) = (service_family, None, None);
    for nla in walk(nest, "destination") {
        let nla = nla.ok()?;
        match nla.kind {
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                family = AddressFamily::from_raw(nla.u16("destination.addr_family").ok()?).ok()?
            }
            IPVS_DEST_ATTR_ADDR => addr = Some(nla.value),
            IPVS_DEST_ATTR_PORT => port = Some(nla.be16("destination.port").ok()?),
            _ => {}
        }
    }
    Some(SocketAddr::new(
        parse_addr(addr?, family, "destination.addr").ok()?,
        port?,
    ))
}

/// Up to one datagram of messages: at most [`WINDOW_OPS`] of them, about
/// [`WINDOW_BYTES`] bytes. A [`Batch`] is a list of windows, filled one
/// after the other as operations are queued; a [`BatchWriter`] holds one.
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
        window_full(self.len(), self.bytes.len())
    }

    fn push(&mut self, request: Request) {
        // Windows stay far below 4 GiB (see `window_full`).
        self.offsets.push(self.bytes.len() as u32);
        // The family id is not known yet: 0 now, set when sent.
        request.encode_into(&mut self.bytes, 0, NLM_F_REQUEST);
    }

    /// Message `i`.
    fn message(&self, i: usize) -> &[u8] {
        let start = self
            .offsets
            .get(i)
            .map_or(self.bytes.len(), |&o| o as usize);
        let end = self
            .offsets
            .get(i + 1)
            .map_or(self.bytes.len(), |&o| o as usize);
        &self.bytes[start..end]
    }

    fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        (0..self.len()).filter_map(|i| Op::decode(self.message(i)))
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.offsets.clear();
    }

    /// Makes this window a copy of `other`, in the memory it has.
    fn copy_from(&mut self, other: &Window) {
        self.clear();
        self.bytes.extend_from_slice(&other.bytes);
        self.offsets.extend_from_slice(&other.offsets);
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
            set_type_and_flags(&mut self.bytes[at as usize..], family, flags);
        }
    }

    /// The messages back to back, as one datagram.
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// A list of writes to apply in as few datagrams as possible
/// ([`Ipvs::apply_batch`]).
///
/// Each operation is validated when it is queued (a bad value is refused
/// then, and nothing is queued) and encoded at once: the batch holds the
/// messages only, about 100 to 200 bytes per operation, already cut into
/// the datagrams they are sent as. The kernel applies the operations in
/// order; a failing one does not stop the rest, and there is no rollback:
/// a batch is not a transaction.
///
/// To send writes while they are produced, without holding them all, use
/// [`Ipvs::batch_writer`].
///
/// ```
/// use lvs::{Batch, Destination, Op, Service, ServiceId};
/// let vip = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
/// let pod = "10.244.1.5:80".parse().unwrap();
/// let mut batch = Batch::new();
/// batch.add_service(&Service::new(vip)).unwrap();
/// batch.add_destination(&vip, &Destination::new(pod)).unwrap();
/// assert_eq!(batch.len(), 2);
/// assert_eq!(batch.ops().last(), Some(Op::AddDestination(vip, pod)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Every window but the last is full.
    windows: Vec<Window>,
    len: usize,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    fn push(&mut self, request: Request) -> &mut Self {
        match self.windows.last_mut() {
            Some(window) if !window.is_full() => window.push(request),
            _ => {
                let mut window = Window::with_capacity();
                window.push(request);
                self.windows.push(window);
            }
        }
        self.len += 1;
        self
    }

    /// Queues adding a service.
    pub fn add_service(&mut self, service: &Service) -> Result<&mut Self> {
        Ok(self.push(Request::add_service(service)?))
    }

    /// Queues changing a service (see [`Ipvs::update_service`]).
    pub fn update_service(&mut self, service: &Service) -> Result<&mut Self> {
        Ok(self.push(Request::update_service(service)?))
    }

    /// Queues deleting a service and its destinations.
    pub fn delete_service(&mut self, id: &ServiceId) -> Result<&mut Self> {
        Ok(self.push(Request::delete_service(id)?))
    }

    /// Queues adding a destination.
    pub fn add_destination(
        &mut self,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<&mut Self> {
        Ok(self.push(Request::add_destination(service, dest)?))
    }

    /// Queues replacing a destination's settings.
    pub fn update_destination(
        &mut self,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<&mut Self> {
        Ok(self.push(Request::update_destination(service, dest)?))
    }

    /// Queues deleting a destination.
    pub fn delete_destination(
        &mut self,
        service: &ServiceId,
        addr: SocketAddr,
    ) -> Result<&mut Self> {
        Ok(self.push(Request::delete_destination(service, addr)?))
    }

    /// How many operations are queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The queued operations, in order (read back from their messages).
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.windows.iter().flat_map(Window::ops)
    }

    /// Empties the batch.
    pub fn clear(&mut self) {
        self.windows.clear();
        self.len = 0;
    }

    /// The windows, stamped for family `family` (sequence numbers left 0).
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn datagrams(&self, family: u16) -> Vec<Window> {
        let mut windows = self.windows.clone();
        for w in &mut windows {
            w.stamp(family, true);
        }
        windows
    }
}

/// Sends one window in one datagram and waits for the acknowledgement of
/// its last message; the failure of its operation `i` is recorded in
/// `failures` as that of operation `first + i`.
fn send_window(
    transport: &mut Transport,
    family: u16,
    window: &mut Window,
    first: usize,
    failures: &mut Vec<(usize, Op, Error)>,
) -> Result<()> {
    window.stamp(family, true);
    let mut failed = Vec::new();
    transport.exchange_window(&mut window.bytes, &window.offsets, &mut |i, e| {
        failed.push((i, e))
    })?;
    for (i, error) in failed {
        let op = Op::decode(window.message(i)).ok_or_else(|| {
            Error::Protocol(format!(
                "batch: operation {} cannot be read back",
                first + i
            ))
        })?;
        let error = match error {
            Error::Kernel(mut k) => {
                let (name, target) = command(op.cmd());
                k.request = name;
                Error::from_kernel(k, target)
            }
            other => other,
        };
        failures.push((first + i, op, error));
    }
    Ok(())
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
        let mut scratch = Window::with_capacity();
        let mut first = 0;
        let mut transport = self.lock();
        for window in &batch.windows {
            // The batch stays as it is (it can be applied again): its
            // window is stamped in a copy.
            scratch.copy_from(window);
            send_window(
                &mut transport,
                self.family,
                &mut scratch,
                first,
                &mut failures,
            )?;
            first += window.len();
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
    /// use lvs::{Destination, Ipvs, Service, ServiceId};
    /// let ipvs = Ipvs::open()?;
    /// let mut writer = ipvs.batch_writer();
    /// for i in 0..10_000u32 {
    ///     let vip = ServiceId::tcp((std::net::Ipv4Addr::from(0x0a60_0000 + i), 80).into());
    ///     writer.add_service(&Service::new(vip))?;
    ///     writer.add_destination(&vip, &Destination::new("10.244.1.5:8080".parse().unwrap()))?;
    /// }
    /// let report = writer.finish()?;
    /// assert!(report.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn batch_writer(&self) -> BatchWriter<'_> {
        BatchWriter {
            ipvs: self,
            window: Window::with_capacity(),
            sent: 0,
            failures: Vec::new(),
        }
    }
}

/// Sends writes to the kernel while they are produced, a window of up to
/// 256 operations at a time ([`Ipvs::batch_writer`]).
///
/// Each `add_*`/`update_*`/`delete_*` call validates and queues one
/// operation; the call that fills a window also sends it and waits for the
/// kernel's acknowledgement. Its `Err` is then either a bad value (nothing
/// queued, as with [`Batch`]) or a failure to talk to the kernel while
/// sending the window (whose operations may have been applied). Failures
/// of operations themselves are not errors of the calls: they are in the
/// report of [`BatchWriter::finish`], against their operations, numbered
/// in the order they were queued.
///
/// The handle is not locked between windows: other calls on it may run
/// between two windows of a writer. Dropping a writer without
/// [`finish`](BatchWriter::finish) still sends the operations queued, but
/// their failures are then lost: call `finish`.
#[derive(Debug)]
pub struct BatchWriter<'a> {
    ipvs: &'a Ipvs,
    /// The operations queued and not sent yet.
    window: Window,
    /// How many operations were sent before them.
    sent: usize,
    failures: Vec<(usize, Op, Error)>,
}

impl BatchWriter<'_> {
    fn queue(&mut self, request: Result<Request>) -> Result<&mut Self> {
        self.window.push(request?);
        if self.window.is_full() {
            self.send()?;
        }
        Ok(self)
    }

    /// Sends the operations queued, if any.
    fn send(&mut self) -> Result<()> {
        if self.window.len() == 0 {
            return Ok(());
        }
        let first = self.sent;
        self.sent += self.window.len();
        let result = send_window(
            &mut self.ipvs.lock(),
            self.ipvs.family,
            &mut self.window,
            first,
            &mut self.failures,
        );
        self.window.clear();
        result
    }

    /// Queues adding a service.
    pub fn add_service(&mut self, service: &Service) -> Result<&mut Self> {
        self.queue(Request::add_service(service))
    }

    /// Queues changing a service (see [`Ipvs::update_service`]).
    pub fn update_service(&mut self, service: &Service) -> Result<&mut Self> {
        self.queue(Request::update_service(service))
    }

    /// Queues deleting a service and its destinations.
    pub fn delete_service(&mut self, id: &ServiceId) -> Result<&mut Self> {
        self.queue(Request::delete_service(id))
    }

    /// Queues adding a destination.
    pub fn add_destination(
        &mut self,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<&mut Self> {
        self.queue(Request::add_destination(service, dest))
    }

    /// Queues replacing a destination's settings.
    pub fn update_destination(
        &mut self,
        service: &ServiceId,
        dest: &Destination,
    ) -> Result<&mut Self> {
        self.queue(Request::update_destination(service, dest))
    }

    /// Queues deleting a destination.
    pub fn delete_destination(
        &mut self,
        service: &ServiceId,
        addr: SocketAddr,
    ) -> Result<&mut Self> {
        self.queue(Request::delete_destination(service, addr))
    }

    /// How many operations were queued so far (sent or not).
    pub fn len(&self) -> usize {
        self.sent + self.window.len()
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
    #[cfg(any(test, feature = "internals"))]
    pub(crate) fn send_encoded(&self, windows: &mut [Window]) -> Result<()> {
        let Some((last, front)) = windows.split_last_mut() else {
            return Ok(());
        };
        for window in front.iter_mut() {
            window.stamp(self.family, false);
        }
        last.stamp(self.family, true);
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
    use super::*;
    use crate::ipvs::destination::{Forwarding, MAX_WEIGHT, Tunnel, TunnelFlags};
    use crate::ipvs::scheduler::Scheduler;
    use crate::ipvs::service::{Netmask, Protocol};
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
    fn every_op() -> (Batch, Vec<Op>) {
        let mut batch = Batch::new();
        let mut ops = Vec::new();
        for id in ids() {
            let service = Service::new(id);
            let addr: SocketAddr = match id.family() {
                AddressFamily::Ipv4 => "10.244.1.5:8080".parse().unwrap(),
                AddressFamily::Ipv6 => "[2001:db8::5]:8080".parse().unwrap(),
            };
            let dest = Destination::new(addr);
            batch.add_service(&service).unwrap();
            batch.update_service(&service).unwrap();
            batch.add_destination(&id, &dest).unwrap();
            batch.update_destination(&id, &dest.with_weight(0)).unwrap();
            batch.delete_destination(&id, addr).unwrap();
            batch.delete_service(&id).unwrap();
            ops.extend([
                Op::AddService(id),
                Op::UpdateService(id),
                Op::AddDestination(id, addr),
                Op::UpdateDestination(id, addr),
                Op::DeleteDestination(id, addr),
                Op::DeleteService(id),
            ]);
        }
        (batch, ops)
    }

    #[test]
    fn ops_are_read_back_from_their_messages() {
        let (batch, ops) = every_op();
        assert_eq!(batch.len(), ops.len());
        assert_eq!(batch.ops().collect::<Vec<_>>(), ops);
    }

    #[test]
    fn mixed_family_destinations_are_read_back() {
        let v4 = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
        let addr: SocketAddr = "[2001:db8::5]:80".parse().unwrap();
        let dest = Destination::new(addr).with_forwarding(Forwarding::Tunnel(Tunnel::ipip()));
        let mut batch = Batch::new();
        batch.add_destination(&v4, &dest).unwrap();
        batch.delete_destination(&v4, addr).unwrap();
        assert_eq!(
            batch.ops().collect::<Vec<_>>(),
            [
                Op::AddDestination(v4, addr),
                Op::DeleteDestination(v4, addr)
            ]
        );
    }

    #[test]
    fn a_refused_operation_is_not_queued() {
        let mut batch = Batch::new();
        let v4 = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
        let v6_dest = Destination::new("[2001:db8::5]:80".parse().unwrap());
        assert!(batch.delete_service(&ServiceId::fwmark(0)).is_err());
        assert!(
            batch.add_destination(&v4, &v6_dest).is_err(),
            "mixed family needs a tunnel"
        );
        let dest = Destination::new("10.244.1.5:80".parse().unwrap());
        assert!(
            batch
                .add_destination(&v4, &dest.with_thresholds(1, 2))
                .is_err()
        );
        assert!(batch.is_empty() && batch.datagrams(28).is_empty());
        batch.add_destination(&v4, &dest).unwrap();
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn windows_cover_the_batch_in_order_within_their_bounds() {
        for n in [0usize, 1, 255, 256, 257, 1000, 1283] {
            let mut batch = Batch::new();
            for i in 0..n as u32 {
                let id = ServiceId::fwmark(i + 1);
                batch.add_service(&Service::new(id)).unwrap();
            }
            let windows = batch.datagrams(28);
            assert_eq!(windows.len(), n.div_ceil(WINDOW_OPS), "n = {n}");
            for w in &windows {
                assert!(w.len() > 0 && w.len() <= WINDOW_OPS);
            }
            assert_eq!(windows.iter().map(Window::len).sum::<usize>(), n);
            let marks: Vec<u32> = batch
                .ops()
                .map(|op| match op {
                    Op::AddService(ServiceId::Fwmark { mark, .. }) => mark,
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(marks, (1..=n as u32).collect::<Vec<_>>());
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
                .with_scheduler(Scheduler::Other("x".repeat(15)))
                .with_persistence_engine("y".repeat(16))
                .with_persistence(10800)
                .with_netmask(Netmask::prefix(AddressFamily::Ipv6, 64).unwrap());
            batch.add_service(&svc).unwrap();
            let tunnel = Tunnel::gue(6080).with_flags(TunnelFlags::CSUM | TunnelFlags::REMCSUM);
            let dest = Destination::new(addr)
                .with_forwarding(Forwarding::Tunnel(tunnel))
                .with_weight(MAX_WEIGHT)
                .with_thresholds(MAX_WEIGHT, MAX_WEIGHT);
            batch.update_destination(&id, &dest).unwrap();
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
        let (batch, _) = every_op();
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
