//! The transport: one netlink socket, one request at a time, each reply
//! matched to its request.

use std::os::fd::AsFd;
use std::time::Duration;

use netlink_packet_core::NLM_F_DUMP;
use netlink_sys::{Socket, SocketAddr};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::message::{self, Control, Message, Messages, NLM_F_DUMP_INTR};
use crate::error::{Error, Result};

/// Bytes handed to each `recv`. The kernel never builds a dump datagram
/// larger than 32 KiB (`netlink_recvmsg` caps the size it learns from the
/// reader at `SKB_WITH_OVERHEAD(32768)`), and other replies fit in a page,
/// so 64 KiB is never truncated; a datagram that were larger would be
/// reported as an error (`MSG_TRUNC`), never silently cut.
pub(crate) const RECV_SIZE: usize = 64 * 1024;

/// `SO_RCVBUF` asked for, so that a burst of replies does not overflow the
/// socket (`ENOBUFS`).
const SOCKET_RECV_BUFFER: usize = 1024 * 1024;

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
        socket.set_rx_buf_sz(SOCKET_RECV_BUFFER)?;
        Ok(Transport {
            socket,
            port: local.port_number(),
            seq: 0,
            buf: Vec::with_capacity(RECV_SIZE),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
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
            let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
            let wait = PollTimeout::try_from(self.timeout).unwrap_or(PollTimeout::MAX);
            match poll(&mut fds, wait) {
                Ok(0) => return Err(Error::Timeout(self.timeout)),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::Io(e.into())),
            }
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
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(Error::Io(e)),
            }
        }
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
        t.set_timeout(Duration::from_millis(200));
        let none: &[netlink_packet_core::DefaultNla] = &[];
        let mut req = message::build_message(NLMSG_NOOP, NLM_F_REQUEST, &[], &none);
        let err = t.exchange(&mut req, "NOOP", &mut |_| Ok(())).unwrap_err();
        assert!(
            matches!(err, Error::Timeout(d) if d == Duration::from_millis(200)),
            "{err:?}"
        );
    }
}
