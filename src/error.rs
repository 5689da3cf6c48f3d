//! The crate's one error type.

use std::fmt;
use std::io;

/// What went wrong, as a [`Result`](std::result::Result) of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error the kernel returned for one request: its errno, the request it
/// answered and, where the kernel attached one, its extended-ACK message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelError {
    /// The positive errno value (`libc::ESRCH`, `libc::EEXIST`, …).
    pub errno: i32,
    /// The name of the request the kernel rejected, e.g. `"NEW_SERVICE"`.
    pub request: &'static str,
    /// The extended-ACK text (`NLMSGERR_ATTR_MSG`), when the kernel sent one.
    pub message: Option<String>,
    /// The extended-ACK offset of the offending attribute in the request
    /// (`NLMSGERR_ATTR_OFFS`), when the kernel sent one.
    pub offset: Option<u32>,
    /// What this errno is known to mean for this request, when the kernel
    /// says no more than the errno (e.g. why `NEW_DEST` gets `EINVAL`).
    pub hint: Option<&'static str>,
}

impl KernelError {
    pub(crate) fn new(
        errno: i32,
        request: &'static str,
        message: Option<String>,
        offset: Option<u32>,
    ) -> Self {
        KernelError {
            errno,
            request,
            message,
            offset,
            hint: None,
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        write!(f, "{} failed: {os}", self.request)?;
        if let Some(message) = &self.message {
            write!(f, " ({message})")?;
        }
        if let Some(hint) = self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KernelError {}

/// Everything that can go wrong while talking to the kernel.
///
/// Kernel errors keep their errno and extended-ACK message
/// ([`KernelError`]); the common ones get a variant of their own so that a
/// caller can `match` on them. [`Error::errno`] gives the errno of any
/// kernel error, and `From<Error> for std::io::Error` keeps this error as
/// the source of the `io::Error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel has no IPVS: the generic netlink family `"IPVS"` is not
    /// registered and could not be loaded (`CONFIG_IP_VS` off, or the
    /// `ip_vs` module missing).
    #[error("IPVS is not available in this kernel (generic netlink family \"IPVS\" not found)")]
    NotSupported,
    /// The caller lacks `CAP_NET_ADMIN` (in the initial user namespace),
    /// which every IPVS request needs (`EPERM`).
    #[error("permission denied: IPVS needs CAP_NET_ADMIN ({0})")]
    PermissionDenied(KernelError),
    /// No such virtual service (`ESRCH`).
    #[error("no such service: {0}")]
    ServiceNotFound(KernelError),
    /// No such destination in the service (`ENOENT` on a destination request).
    #[error("no such destination: {0}")]
    DestinationNotFound(KernelError),
    /// No sync daemon of that role is running (`ESRCH` on a daemon request).
    #[error("no such sync daemon: {0}")]
    DaemonNotRunning(KernelError),
    /// The service, destination or sync daemon exists already (`EEXIST`).
    #[error("already exists: {0}")]
    AlreadyExists(KernelError),
    /// The kernel rejected an argument (`EINVAL`). IPVS reports every
    /// problem inside a service or destination this way.
    #[error("invalid argument: {0}")]
    InvalidArgument(KernelError),
    /// A value is out of the kernel's range (`ERANGE`): a negative weight, a
    /// lower threshold above the upper one, a short attribute.
    #[error("out of range: {0}")]
    OutOfRange(KernelError),
    /// The scheduler or the persistence engine a service names is not
    /// available in this kernel (`ENOENT` on a service request).
    #[error("scheduler or persistence engine not available: {0}")]
    SchedulerUnavailable(KernelError),
    /// No such network interface (`ENODEV` on a link or address request,
    /// or on starting a sync daemon on a missing interface).
    #[error("no such link: {0}")]
    LinkNotFound(KernelError),
    /// A link exists under the name but is not of the kind asked for (for
    /// example a `veth` where a `dummy` was wanted); nothing was changed.
    #[error("link {name:?} is of kind {kind:?}, not {wanted:?}")]
    WrongLinkKind {
        /// The link's name.
        name: String,
        /// Its kind (`IFLA_INFO_KIND`), empty for a link without one.
        kind: String,
        /// The kind that was asked for.
        wanted: &'static str,
    },
    /// The address family is not supported (`EAFNOSUPPORT`), e.g. IPv6
    /// when the kernel's IPVS was built without it.
    #[error("address family not supported: {0}")]
    FamilyNotSupported(KernelError),
    /// Any other error the kernel returned.
    #[error("kernel error: {0}")]
    Kernel(KernelError),
    /// A value was refused before anything was sent, because the kernel
    /// would reject it obscurely or silently change it. `field` names it.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field at fault, e.g. `"scheduler"` or `"destination.weight"`.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The kernel did not answer within the handle's reply timeout.
    #[error("no reply from the kernel within {0:?}")]
    Timeout(std::time::Duration),
    /// The kernel marked a dump as interrupted (`NLM_F_DUMP_INTR`): the
    /// table changed while it was read, so what was read may be
    /// inconsistent. Read again.
    #[error("{request}: dump interrupted by a concurrent change; read again")]
    DumpInterrupted {
        /// The dump's request, e.g. `"GET_SERVICE"`.
        request: &'static str,
    },
    /// IPVS went away under the handle: the kernel's `"IPVS"` generic
    /// netlink family that the handle resolved when it opened is no longer
    /// registered (the `ip_vs` module was removed). The request was not
    /// carried out. With `reloaded`, IPVS is back (the module was loaded
    /// again, which starts from an empty table) under a new family id,
    /// which the handle now uses: the next request works, on the new table.
    /// Without it, IPVS is absent: reopen a handle once it is back.
    #[error(
        "IPVS was unloaded under the handle ({})",
        if *reloaded { "it is back with an empty table; the handle now uses it" } else { "it is not loaded: reopen when it is" }
    )]
    FamilyGone {
        /// IPVS is loaded again and the handle now uses its new family id.
        reloaded: bool,
    },
    /// The socket's receive buffer overflowed (`ENOBUFS`): the kernel
    /// dropped replies, so the outcome of some of the requests in flight
    /// (for a batch: of some of its operations) is unknown. Read the table
    /// to learn where it stands. The handle stays usable. A larger buffer
    /// ([`IpvsBuilder::receive_buffer`](crate::IpvsBuilder::receive_buffer))
    /// makes it rarer.
    #[error(
        "replies were lost (receive buffer overflow, ENOBUFS): read the table to learn the outcome"
    )]
    RepliesLost,
    /// A reply could not be decoded (truncated or malformed bytes).
    #[error("malformed reply: {0}")]
    Decode(String),
    /// The kernel's replies broke the netlink protocol (an unexpected
    /// message, a truncated datagram, an overrun).
    #[error("netlink protocol error: {0}")]
    Protocol(String),
    /// A socket or namespace system call failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// The errno of a kernel error (or of an I/O error), if it has one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io(e) => e.raw_os_error(),
            _ => self.kernel().map(|k| k.errno),
        }
    }

    /// The kernel's error report, if this error came from the kernel.
    pub fn kernel(&self) -> Option<&KernelError> {
        match self {
            Error::PermissionDenied(k)
            | Error::ServiceNotFound(k)
            | Error::DestinationNotFound(k)
            | Error::DaemonNotRunning(k)
            | Error::AlreadyExists(k)
            | Error::InvalidArgument(k)
            | Error::OutOfRange(k)
            | Error::SchedulerUnavailable(k)
            | Error::FamilyNotSupported(k)
            | Error::LinkNotFound(k)
            | Error::Kernel(k) => Some(k),
            _ => None,
        }
    }

    /// True for every "no such …": service, destination, sync daemon,
    /// link, and scheduler or persistence engine.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::ServiceNotFound(_)
                | Error::DestinationNotFound(_)
                | Error::DaemonNotRunning(_)
                | Error::LinkNotFound(_)
                | Error::SchedulerUnavailable(_)
        )
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io(inner) => inner.kind(),
            e if e.is_not_found() => io::ErrorKind::NotFound,
            Error::PermissionDenied(_) => io::ErrorKind::PermissionDenied,
            Error::AlreadyExists(_) => io::ErrorKind::AlreadyExists,
            Error::DumpInterrupted { .. } => io::ErrorKind::Interrupted,
            Error::Invalid { .. } => io::ErrorKind::InvalidInput,
            Error::Timeout(_) => io::ErrorKind::TimedOut,
            Error::Decode(_) | Error::Protocol(_) => io::ErrorKind::InvalidData,
            Error::NotSupported => io::ErrorKind::Unsupported,
            _ => match e.errno() {
                Some(errno) => io::Error::from_raw_os_error(errno).kind(),
                None => io::ErrorKind::Other,
            },
        };
        match e {
            Error::Io(inner) => inner,
            other => io::Error::new(kind, other),
        }
    }
}

impl Error {
    /// Wraps a decoding failure of the netlink crates without exposing
    /// their type in this crate's API.
    pub(crate) fn decode(e: netlink_packet_core::DecodeError) -> Self {
        Error::Decode(e.to_string())
    }

    /// Gives a kernel error its variant by errno alone, for the errnos
    /// that mean the same for every request. What an errno means for one
    /// request (ESRCH, ENOENT, ENODEV) is decided by the layer that made
    /// the request before it calls this.
    pub(crate) fn by_errno(k: KernelError) -> Self {
        match k.errno {
            libc::EPERM => Error::PermissionDenied(k),
            libc::EEXIST => Error::AlreadyExists(k),
            libc::EINVAL => Error::InvalidArgument(k),
            libc::ERANGE => Error::OutOfRange(k),
            libc::EAFNOSUPPORT => Error::FamilyNotSupported(k),
            _ => Error::Kernel(k),
        }
    }
}
