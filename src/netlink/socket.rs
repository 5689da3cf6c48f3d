//! The transport: one netlink socket, one request (or one window of
//! requests) at a time, each reply matched to its request.

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{NLM_F_DUMP, NLMSG_DONE, NLMSG_ERROR};
use netlink_sys::{Socket, SocketAddr};
use nix::sys::socket::sockopt::{RcvBufForce, ReceiveTimeout};
use nix::sys::socket::{MsgFlags, MultiHeaders, recvmmsg, setsockopt};
use nix::sys::time::TimeVal;

use super::message::{self, Control, Message, Messages, NLM_F_DUMP_INTR};
use crate::error::{Error, Result};

/// Bytes of each receive slot. The kernel never builds a dump datagram
/// larger than 32 KiB (`netlink_recvmsg` caps the size it learns from the
/// reader at `SKB_WITH_OVERHEAD(32768)`), and other replies fit in a page,
/// so 64 KiB is never truncated; a datagram that were larger would be
/// reported as an error (`MSG_TRUNC`), never silently cut.
pub(crate) const RECV_SIZE: usize = 64 * 1024;

/// Datagrams taken per receive call (`recvmmsg` with `MSG_WAITFORONE`:
/// wait for one, then take what is already there). Reading a dump
/// datagram makes the kernel queue the next one at once, so a dump costs
/// one system call per this many datagrams rather than one each.
const RECV_SLOTS: usize = 8;

/// The socket receive buffer asked for, so that a burst of replies (the
/// errors of a batch window) does not overflow it (`ENOBUFS`).
/// `SO_RCVBUFFORCE` (which needs `CAP_NET_ADMIN`, as IPVS itself does)
/// goes past `net.core.rmem_max`; without it `SO_RCVBUF` gets what the
/// system allows.
pub(crate) const SOCKET_RECV_BUFFER: usize = 4 * 1024 * 1024;

/// Default time the kernel may stay silent while a reply is awaited.
pub(crate) const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A netlink socket connected to the kernel.
pub(crate) struct Transport {
    socket: Socket,
    port: u32,
    seq: u32,
    /// Receive slots, [`RECV_SLOTS`] of [`RECV_SIZE`] bytes in one
    /// allocation (made on first use; large enough to be mapped lazily, so
    /// only the pages the kernel writes to are ever touched), and what the
    /// last receive call put in each.
    slots: Vec<u8>,
    lens: Vec<usize>,
    timeout: Duration,
    /// The sequence number of a dump whose end was not read: its reader
    /// stopped half-way (a panic in a callback, a receive error). The
    /// kernel refuses a new dump on the socket (`EBUSY`) until the old one
    /// is read to its end, so the next request drains it first.
    open_dump: Option<u32>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("fd", &self.socket.as_raw_fd())
            .field("port", &self.port)
            .field("seq", &self.seq)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Opens, binds and connects a socket of `protocol` (`NETLINK_*`) in the
    /// calling thread's network namespace, with extended ACKs on and echoed
    /// requests capped.
    pub(crate) fn open(protocol: isize) -> Result<Self> {
        Self::open_to(protocol, 0)
    }

    /// [`Transport::open`] connected to the port `peer` (0 is the kernel;
    /// the tests' fake kernel is another socket). A connected netlink
    /// socket only takes messages from its peer: the kernel refuses those
    /// that other sockets send to it (`ECONNREFUSED` for them).
    pub(crate) fn open_to(protocol: isize, peer: u32) -> Result<Self> {
        let mut socket = Socket::new(protocol)?;
        let local = socket.bind_auto()?;
        socket.connect(&SocketAddr::new(peer, 0))?;
        // Both options exist since Linux 4.3/4.12; an older kernel just goes
        // without the extra detail, so a refusal is not an error.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        if setsockopt(&socket, RcvBufForce, &SOCKET_RECV_BUFFER).is_err() {
            socket.set_rx_buf_sz(SOCKET_RECV_BUFFER)?;
        }
        let mut transport = Transport {
            socket,
            port: local.port_number(),
            seq: 0,
            slots: Vec::new(),
            lens: Vec::with_capacity(RECV_SLOTS),
            timeout: DEFAULT_REPLY_TIMEOUT,
            open_dump: None,
        };
        transport.apply_timeout()?;
        Ok(transport)
    }

    /// Puts the timeout on the socket (`SO_RCVTIMEO`), so that each receive
    /// is one system call that ends by itself when the kernel stays silent.
    fn apply_timeout(&mut self) -> Result<()> {
        // SO_RCVTIMEO of zero means "wait for ever": never send that.
        let micros = self.timeout.as_micros().clamp(1, i64::MAX as u128) as i64;
        let tv = TimeVal::new(micros / 1_000_000, micros % 1_000_000);
        setsockopt(&self.socket, ReceiveTimeout, &tv).map_err(|e| Error::Io(e.into()))
    }

    pub(crate) fn reply_timeout(&self) -> Duration {
        self.timeout
    }

    /// Sets the socket's receive buffer to `bytes` (`SO_RCVBUFFORCE`, else
    /// `SO_RCVBUF`; the kernel doubles it and has a floor of its own).
    pub(crate) fn set_receive_buffer(&mut self, bytes: usize) -> Result<()> {
        if setsockopt(&self.socket, RcvBufForce, &bytes).is_err() {
            self.socket.set_rx_buf_sz(bytes)?;
        }
        Ok(())
    }

    pub(crate) fn set_reply_timeout(&mut self, timeout: Duration) -> Result<()> {
        if timeout.is_zero() {
            return Err(Error::invalid(
                "reply_timeout",
                "must be at least a microsecond (zero would wait for ever)",
            ));
        }
        self.timeout = timeout;
        self.apply_timeout()
    }

    /// Reads and drops what is left of a dump whose reader stopped
    /// half-way, up to its end (or until the kernel stays silent for the
    /// reply timeout), so that the socket can run a new dump.
    fn drain_open_dump(&mut self) -> Result<()> {
        let Some(seq) = self.open_dump else {
            return Ok(());
        };
        loop {
            let n = match self.recv_many() {
                Ok(n) => n,
                // Nothing more is coming: the dump is over for the kernel.
                Err(Error::Timeout(_)) => break,
                Err(e) => return Err(e),
            };
            let mut ended = false;
            for d in 0..n {
                for msg in Messages::new(self.datagram(d)) {
                    let Ok(msg) = msg else { break };
                    if msg.seq == seq
                        && msg.port == self.port
                        && matches!(msg.message_type, NLMSG_DONE | NLMSG_ERROR)
                    {
                        ended = true;
                    }
                }
            }
            if ended {
                break;
            }
        }
        self.open_dump = None;
        Ok(())
    }

    /// This socket's port.
    #[cfg(test)]
    pub(crate) fn port(&self) -> u32 {
        self.port
    }

    /// The next sequence number (never 0, which the kernel uses for
    /// notifications).
    pub(crate) fn next_seq(&mut self) -> u32 {
        self.next_seqs(1)
    }

    /// A block of `n` consecutive sequence numbers, none of them 0.
    pub(crate) fn next_seqs(&mut self, n: u32) -> u32 {
        if self.seq.checked_add(n).is_none() {
            self.seq = 0;
        }
        let first = self.seq + 1;
        self.seq += n;
        first
    }

    /// Sends bytes holding one or more complete messages in one datagram.
    pub(crate) fn send(&self, bytes: &[u8]) -> Result<()> {
        let sent = self.socket.send(bytes, 0)?;
        if sent != bytes.len() {
            return Err(Error::Protocol(format!(
                "sent {sent} of {} bytes",
                bytes.len()
            )));
        }
        Ok(())
    }

    /// Waits (at most the timeout) for the next datagram and takes it with
    /// any others already queued, up to [`RECV_SLOTS`]; returns how many.
    /// Datagram `i` is then [`Transport::datagram`]`(i)`.
    fn recv_many(&mut self) -> Result<usize> {
        if self.slots.is_empty() {
            self.slots = vec![0u8; RECV_SLOTS * RECV_SIZE];
        }
        self.lens.clear();
        // Built per call: it holds raw pointers, so it is neither Send nor
        // Sync, and the transport must be both.
        let mut headers = MultiHeaders::<()>::preallocate(RECV_SLOTS, None);
        loop {
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> = self
                .slots
                .chunks_mut(RECV_SIZE)
                .map(|s| [IoSliceMut::new(s)])
                .collect();
            let result = recvmmsg(
                self.socket.as_raw_fd(),
                &mut headers,
                iovs.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            );
            match result {
                Ok(received) => {
                    for msg in received {
                        if msg.flags.contains(MsgFlags::MSG_TRUNC) {
                            return Err(Error::Protocol(format!(
                                "a datagram did not fit the {RECV_SIZE} byte receive buffer"
                            )));
                        }
                        self.lens.push(msg.bytes);
                    }
                    return Ok(self.lens.len());
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => return Err(Error::Timeout(self.timeout)),
                // The receive buffer overflowed: the kernel dropped replies.
                // What is still queued answers requests whose outcome is now
                // unknown anyway: drop it, so that the socket is no longer
                // congested and the next request's answer has room.
                Err(nix::errno::Errno::ENOBUFS) => {
                    self.discard_queued();
                    return Err(Error::RepliesLost);
                }
                Err(e) => return Err(Error::Io(e.into())),
            }
        }
    }

    /// Reads and drops every datagram queued on the socket, without waiting.
    fn discard_queued(&mut self) {
        let mut buf = vec![0u8; RECV_SIZE];
        loop {
            match nix::sys::socket::recv(
                self.socket.as_raw_fd(),
                &mut buf,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            ) {
                Ok(_) | Err(nix::errno::Errno::ENOBUFS) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }

    /// Datagram `i` of the last [`Transport::recv_many`].
    fn datagram(&self, i: usize) -> &[u8] {
        &self.slots[i * RECV_SIZE..i * RECV_SIZE + self.lens[i]]
    }

    /// Sends several requests in one datagram and waits until the kernel
    /// has processed all of them.
    ///
    /// `datagram` holds the messages back to back, message `i` starting at
    /// `offsets[i]`; their sequence and port numbers are set here. Only the
    /// last may ask for an acknowledgement (the caller builds them so): the
    /// kernel processes a datagram's messages in order and answers one
    /// without `NLM_F_ACK` only when it fails, so when the last one is
    /// answered, every failure before it has been reported. `on_error(i,
    /// error)` is called for each failed message; the error is
    /// [`Error::Kernel`].
    pub(crate) fn exchange_window(
        &mut self,
        datagram: &mut [u8],
        offsets: &[u32],
        on_error: &mut dyn FnMut(usize, Error),
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        self.drain_open_dump()?;
        let first = self.next_seqs(offsets.len() as u32);
        for (i, &offset) in offsets.iter().enumerate() {
            message::set_sequence(
                &mut datagram[offset as usize..],
                first + i as u32,
                self.port,
            );
        }
        let last = first + (offsets.len() as u32 - 1);
        self.send(datagram)?;
        loop {
            let mut done = false;
            for d in 0..self.recv_many()? {
                for msg in Messages::new(self.datagram(d)) {
                    let msg = msg?;
                    if msg.port != self.port || msg.seq < first || msg.seq > last {
                        continue;
                    }
                    let index = (msg.seq - first) as usize;
                    match msg.control()? {
                        Control::Failed {
                            errno,
                            message: text,
                            offset,
                        } => on_error(index, message::kernel_error("", errno, text, offset)),
                        Control::Overrun => {
                            return Err(Error::Protocol("batch: netlink overrun".into()));
                        }
                        Control::Ack | Control::Done | Control::Noop | Control::Data => {}
                    }
                    if msg.seq == last && msg.message_type == NLMSG_ERROR {
                        done = true;
                    }
                }
            }
            if done {
                return Ok(());
            }
        }
    }

    /// [`Transport::exchange`] for a request whose replies must all be of
    /// message type `expect` (the family id of a generic netlink family, an
    /// rtnetlink message kind): hands each reply's payload to `on_data`. A
    /// kernel error comes back as [`Error::Kernel`]: what its errno means
    /// for the request is for the caller's layer to say.
    pub(crate) fn request(
        &mut self,
        bytes: &mut [u8],
        name: &'static str,
        expect: u16,
        on_data: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.exchange(bytes, name, &mut |msg| {
            if msg.message_type != expect {
                return Err(Error::Protocol(format!(
                    "{name}: reply of message type {} (expected {expect})",
                    msg.message_type
                )));
            }
            on_data(msg.payload)
        })
    }

    /// Sends one request (a message from [`message::build_message`]) and
    /// hands every data message answering it to `on_data`, until its
    /// acknowledgement, its error or, for a dump, `NLMSG_DONE`.
    ///
    /// Only messages from the kernel carrying this request's sequence
    /// number and this socket's port are looked at; stale replies of an
    /// earlier request (one that timed out, say) are dropped. A kernel
    /// error comes back as [`Error::Kernel`], named `name`.
    pub(crate) fn exchange(
        &mut self,
        request: &mut [u8],
        name: &'static str,
        on_data: &mut dyn FnMut(&Message<'_>) -> Result<()>,
    ) -> Result<()> {
        self.drain_open_dump()?;
        let seq = self.next_seq();
        message::set_sequence(request, seq, self.port);
        let dump = request
            .get(6..8)
            .is_some_and(|f| u16::from_ne_bytes([f[0], f[1]]) & NLM_F_DUMP == NLM_F_DUMP);
        self.send(request)?;
        if dump {
            // Cleared when the dump's end is read; left set if the reading
            // stops before (an error, or a panic in `on_data`).
            self.open_dump = Some(seq);
        }
        // A data callback error must not leave the rest of the replies in the
        // socket as if they were answers: remember it, drain to the end.
        let mut deferred: Option<Error> = None;
        loop {
            for d in 0..self.recv_many()? {
                for msg in Messages::new(self.datagram(d)) {
                    let msg = msg?;
                    if msg.seq != seq || msg.port != self.port {
                        continue;
                    }
                    if msg.flags & NLM_F_DUMP_INTR != 0 && deferred.is_none() {
                        deferred = Some(Error::DumpInterrupted { request: name });
                    }
                    match msg.control()? {
                        Control::Data => {
                            if deferred.is_none()
                                && let Err(e) = on_data(&msg)
                            {
                                deferred = Some(e);
                            }
                        }
                        Control::Noop => {}
                        Control::Overrun => {
                            return Err(Error::Protocol(format!("{name}: netlink overrun")));
                        }
                        Control::Ack | Control::Done => {
                            if !dump || msg.message_type == NLMSG_DONE {
                                self.open_dump = None;
                                return deferred.map_or(Ok(()), Err);
                            }
                        }
                        Control::Failed {
                            errno,
                            message: text,
                            offset,
                        } => {
                            self.open_dump = None;
                            return Err(message::kernel_error(name, errno, text, offset));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{NLM_F_REQUEST, NLMSG_NOOP};

    // The host kernel has generic netlink (though no IPVS): a NOOP message
    // sent without NLM_F_ACK succeeds silently, so the kernel never answers
    // it and the wait must end in a timeout, not hang.
    #[test]
    fn silent_kernel_is_a_timeout() {
        let mut t = Transport::open(netlink_sys::protocols::NETLINK_GENERIC).unwrap();
        t.set_reply_timeout(Duration::from_millis(200)).unwrap();
        let mut req = message::build_message(NLMSG_NOOP, NLM_F_REQUEST, &[], |_| {});
        let err = t.exchange(&mut req, "NOOP", &mut |_| Ok(())).unwrap_err();
        assert!(
            matches!(err, Error::Timeout(d) if d == Duration::from_millis(200)),
            "{err:?}"
        );
    }

    // Several replies queued at once come back from one receive call, in
    // order: three controller requests sent together, read as a batch.
    #[test]
    fn one_receive_call_takes_every_queued_datagram() {
        let mut t = Transport::open(netlink_sys::protocols::NETLINK_GENERIC).unwrap();
        let ack = netlink_packet_core::NLM_F_ACK;
        for seq in 1..=3 {
            let mut req = message::build_message(NLMSG_NOOP, NLM_F_REQUEST | ack, &[], |_| {});
            message::set_sequence(&mut req, seq, t.port);
            t.send(&req).unwrap();
        }
        let n = t.recv_many().unwrap();
        assert_eq!(n, 3);
        for d in 0..n {
            let msg = Messages::new(t.datagram(d)).next().unwrap().unwrap();
            assert_eq!(msg.seq, d as u32 + 1);
            assert_eq!(msg.control().unwrap(), Control::Ack);
        }
    }
}
