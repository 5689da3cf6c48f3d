//! The transport: one netlink socket, one request at a time, each reply
//! matched to its request.

use std::time::Duration;

use netlink_packet_core::NLM_F_DUMP;
use netlink_sys::{Socket, SocketAddr};
use nix::sys::socket::setsockopt;
use nix::sys::socket::sockopt::{RcvBufForce, ReceiveTimeout};
use nix::sys::time::TimeVal;

use super::message::{self, Control, Message, Messages, NLM_F_DUMP_INTR};
use crate::error::{Error, Result};

/// Bytes handed to each `recv`. The kernel never builds a dump datagram
/// larger than 32 KiB (`netlink_recvmsg` caps the size it learns from the
/// reader at `SKB_WITH_OVERHEAD(32768)`), and other replies fit in a page,
/// so 64 KiB is never truncated; a datagram that were larger would be
/// reported as an error (`MSG_TRUNC`), never silently cut.
pub(crate) const RECV_SIZE: usize = 64 * 1024;

/// The socket receive buffer asked for, so that a burst of replies (the
/// errors of a batch, pipelined dumps) does not overflow it (`ENOBUFS`).
/// `SO_RCVBUFFORCE` (which needs `CAP_NET_ADMIN`, as IPVS itself does)
/// goes past `net.core.rmem_max`; without it `SO_RCVBUF` gets what the
/// system allows.
pub(crate) const SOCKET_RECV_BUFFER: usize = 4 * 1024 * 1024;

/// Default time the kernel may stay silent while a reply is awaited.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A netlink socket connected to the kernel.
#[derive(Debug)]
pub(crate) struct Transport {
    socket: Socket,
    port: u32,
    seq: u32,
    buf: Vec<u8>,
    timeout: Duration,
}

impl Transport {
    /// Opens, binds and connects a socket of `protocol` (`NETLINK_*`) in the
    /// calling thread's network namespace, with extended ACKs on and echoed
    /// requests capped.
    pub(crate) fn open(protocol: isize) -> Result<Self> {
        let mut socket = Socket::new(protocol)?;
        let local = socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
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
            buf: Vec::with_capacity(RECV_SIZE),
            timeout: DEFAULT_TIMEOUT,
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

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.timeout = timeout;
        self.apply_timeout()
    }

    /// How many dumps may be pipelined in one datagram without their first
    /// replies overflowing the receive buffer: each may hold a datagram of
    /// up to 32 KiB (plus overhead) in the buffer before it is read.
    pub(crate) fn dump_window(&self) -> usize {
        let rcvbuf = self.socket.get_rx_buf_sz().unwrap_or(0);
        (rcvbuf / 2 / (40 * 1024)).clamp(1, 64)
    }

    /// The next sequence number (never 0, which the kernel uses for
    /// notifications).
    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
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

    /// Waits (at most the timeout) for the next datagram and returns it.
    pub(crate) fn recv(&mut self) -> Result<&[u8]> {
        loop {
            self.buf.clear();
            self.buf.reserve(RECV_SIZE);
            match self.socket.recv(&mut self.buf, libc::MSG_TRUNC) {
                Ok(n) if n > self.buf.len() => {
                    return Err(Error::Protocol(format!(
                        "a datagram of {n} bytes did not fit the {} byte receive buffer",
                        self.buf.len()
                    )));
                }
                Ok(_) => return Ok(&self.buf),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return Err(Error::Timeout(self.timeout));
                }
                Err(e) => return Err(Error::Io(e)),
            }
        }
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
        offsets: &[usize],
        on_error: &mut dyn FnMut(usize, Error),
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let first = self.next_seqs(offsets.len() as u32);
        for (i, &offset) in offsets.iter().enumerate() {
            message::set_sequence(&mut datagram[offset..], first + i as u32, self.port);
        }
        let last = first + (offsets.len() as u32 - 1);
        self.send(datagram)?;
        let port = self.port;
        loop {
            let datagram = self.recv()?;
            let mut done = false;
            for msg in Messages::new(datagram) {
                let msg = msg?;
                if msg.port != port || msg.seq < first || msg.seq > last {
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
                if msg.seq == last && msg.message_type == netlink_packet_core::NLMSG_ERROR {
                    done = true;
                }
            }
            if done {
                return Ok(());
            }
        }
    }

    /// Sends several dump requests in one datagram and collects their
    /// replies: `on_data(i, message)` for each data message answering
    /// request `i`. Returns, per request, whether it must be sent again:
    /// the kernel runs one dump per socket at a time and refuses a dump
    /// that arrives while another is still running with `EBUSY`. Any other
    /// error of a request fails the whole exchange.
    pub(crate) fn exchange_dumps(
        &mut self,
        datagram: &mut [u8],
        offsets: &[usize],
        name: &'static str,
        on_data: &mut dyn FnMut(usize, &Message<'_>) -> Result<()>,
    ) -> Result<Vec<bool>> {
        let n = offsets.len();
        let mut retry = vec![false; n];
        if n == 0 {
            return Ok(retry);
        }
        let first = self.next_seqs(n as u32);
        for (i, &offset) in offsets.iter().enumerate() {
            message::set_sequence(&mut datagram[offset..], first + i as u32, self.port);
        }
        self.send(datagram)?;
        let port = self.port;
        let mut open = n;
        let mut deferred: Option<Error> = None;
        while open > 0 {
            let datagram = self.recv()?;
            for msg in Messages::new(datagram) {
                let msg = msg?;
                if msg.port != port || msg.seq < first || msg.seq >= first + n as u32 {
                    continue;
                }
                let i = (msg.seq - first) as usize;
                if msg.flags & NLM_F_DUMP_INTR != 0 && deferred.is_none() {
                    deferred = Some(Error::Protocol(format!(
                        "{name}: dump interrupted by a concurrent change; retry"
                    )));
                }
                match msg.control()? {
                    Control::Data => {
                        if deferred.is_none()
                            && let Err(e) = on_data(i, &msg)
                        {
                            deferred = Some(e);
                        }
                    }
                    Control::Done => open -= 1,
                    Control::Failed { errno, .. } if errno == libc::EBUSY => {
                        retry[i] = true;
                        open -= 1;
                    }
                    Control::Failed {
                        errno,
                        message: text,
                        offset,
                    } => {
                        // Leave nothing of this exchange behind for the next
                        // request to trip over: it is dropped by sequence.
                        return Err(message::kernel_error(name, errno, text, offset));
                    }
                    Control::Overrun => {
                        return Err(Error::Protocol(format!("{name}: netlink overrun")));
                    }
                    Control::Ack | Control::Noop => {}
                }
            }
        }
        deferred.map_or(Ok(retry), Err)
    }

    /// Sends one request (a message from [`message::build_message`]) and
    /// hands the payload of every data message answering it to `on_data`,
    /// until its acknowledgement, its error or, for a dump, `NLMSG_DONE`.
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
        let seq = self.next_seq();
        message::set_sequence(request, seq, self.port);
        let dump = request
            .get(6..8)
            .is_some_and(|f| u16::from_ne_bytes([f[0], f[1]]) & NLM_F_DUMP == NLM_F_DUMP);
        self.send(request)?;
        let port = self.port;
        // A data callback error must not leave the rest of the replies in the
        // socket as if they were answers: remember it, drain to the end.
        let mut deferred: Option<Error> = None;
        loop {
            let datagram = self.recv()?;
            for msg in Messages::new(datagram) {
                let msg = msg?;
                if msg.seq != seq || msg.port != port {
                    continue;
                }
                if msg.flags & NLM_F_DUMP_INTR != 0 && deferred.is_none() {
                    deferred = Some(Error::Protocol(format!(
                        "{name}: dump interrupted by a concurrent change; retry"
                    )));
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
                        if !dump || msg.message_type == netlink_packet_core::NLMSG_DONE {
                            return deferred.map_or(Ok(()), Err);
                        }
                    }
                    Control::Failed {
                        errno,
                        message: text,
                        offset,
                    } => return Err(message::kernel_error(name, errno, text, offset)),
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
        t.set_timeout(Duration::from_millis(200)).unwrap();
        let none: &[netlink_packet_core::DefaultNla] = &[];
        let mut req = message::build_message(NLMSG_NOOP, NLM_F_REQUEST, &[], &none);
        let err = t.exchange(&mut req, "NOOP", &mut |_| Ok(())).unwrap_err();
        assert!(
            matches!(err, Error::Timeout(d) if d == Duration::from_millis(200)),
            "{err:?}"
        );
    }
}
