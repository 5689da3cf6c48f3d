//! The channel both handles talk through: a netlink socket of one
//! protocol, opened in the caller's or another network namespace, with its
//! sequence numbers and reply timeout, shared by a handle's callers.

use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::netns;
use super::socket::Transport;
use crate::error::Result;

/// One netlink socket behind a mutex: a caller holds it from sending a
/// request until its last reply is read, so that no caller reads
/// another's replies.
#[derive(Debug)]
pub(crate) struct Channel {
    transport: Mutex<Transport>,
}

/// Where to open channels.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Namespace<'a> {
    /// The calling thread's network namespace.
    Current,
    /// The namespace at a path (`/run/netns/NAME`, `/proc/PID/ns/net`).
    Path(&'a Path),
    /// The namespace of an open file descriptor.
    Fd(BorrowedFd<'a>),
}

impl Channel {
    /// Opens `N` channels of `protocol` (`NETLINK_*`) in `namespace`. The
    /// calling thread never changes namespace: for another namespace a
    /// short-lived thread enters it and opens the sockets, which stay in
    /// it for their whole life.
    pub(crate) fn open<const N: usize>(
        protocol: isize,
        namespace: Namespace<'_>,
    ) -> Result<[Channel; N]> {
        let open_all = || -> Result<[Transport; N]> {
            let mut all = Vec::with_capacity(N);
            for _ in 0..N {
                all.push(Transport::open(protocol)?);
            }
            Ok(all.try_into().unwrap_or_else(|_| unreachable!()))
        };
        let transports = match namespace {
            Namespace::Current => open_all()?,
            Namespace::Path(path) => netns::in_netns_path(path, open_all)?,
            Namespace::Fd(fd) => netns::in_netns(fd, open_all)?,
        };
        Ok(transports.map(|t| Channel {
            transport: Mutex::new(t),
        }))
    }

    /// Takes the socket for one exchange (or a sequence of them). A panic
    /// in another caller cannot leave the socket inconsistent (stale
    /// replies are dropped by sequence number, a dump left open is drained
    /// by the next request), so a poisoned lock is taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Transport> {
        self.transport.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The time the kernel may stay silent while a reply is awaited.
    pub(crate) fn reply_timeout(&self) -> Duration {
        self.lock().reply_timeout()
    }

    /// Sets the socket's receive buffer size.
    pub(crate) fn set_receive_buffer(&self, bytes: usize) -> Result<()> {
        self.lock().set_receive_buffer(bytes)
    }

    /// Sets the reply timeout (at least a microsecond).
    pub(crate) fn set_reply_timeout(&self, timeout: Duration) -> Result<()> {
        self.lock().set_reply_timeout(timeout)
    }
}
