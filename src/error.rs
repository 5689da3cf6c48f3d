//! The crate's one error type.

use std::fmt;
use std::io;

/// What went wrong, as a [`Result`](std::result::Result) of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error the kernel returned for one request: its errno, the request it
/// answered and, where the kernel attached one, its extended-ACK message.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        write!(f, "{} failed: {os}", self.request)?;
        if let Some(message) = &self.message {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

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
    /// No such network interface (`ENODEV` on a link or address request).
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
    /// The kernel did not answer within the handle's timeout.
    #[error("no reply from the kernel within {0:?}")]
    Timeout(std::time::Duration),
    /// A reply could not be decoded (truncated or malformed bytes).
    #[error("malformed reply: {0}")]
    Decode(String),
    /// The kernel's replies broke the netlink protocol (an unexpected
    /// message, a dump that was interrupted, a truncated datagram).
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

    /// True for "no such service" and "no such destination".
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::ServiceNotFound(_) | Error::DestinationNotFound(_)
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

    /// Gives a kernel error its own variant, by errno and by what the
    /// request was about: IPVS answers `ESRCH` for a missing service (or
    /// daemon), and `ENOENT` for a missing destination on destination
    /// requests but for a missing scheduler or persistence engine on
    /// service requests.
    pub(crate) fn from_kernel(k: KernelError, target: Target) -> Self {
        match (k.errno, target) {
            (libc::EPERM, _) => Error::PermissionDenied(k),
            (libc::ESRCH, Target::Service | Target::ServiceConfig | Target::Destination) => {
                Error::ServiceNotFound(k)
            }
            (libc::ESRCH, Target::Daemon) => Error::DaemonNotRunning(k),
            (libc::ENOENT, Target::Destination) => Error::DestinationNotFound(k),
            (libc::ENOENT, Target::ServiceConfig) => Error::SchedulerUnavailable(k),
            (libc::ENODEV, Target::Link) => Error::LinkNotFound(k),
            (errno, _) => Self::by_errno(errno, k),
        }
    }

    fn by_errno(errno: i32, k: KernelError) -> Self {
        match errno {
            libc::EEXIST => Error::AlreadyExists(k),
            libc::EINVAL => Error::InvalidArgument(k),
            libc::ERANGE => Error::OutOfRange(k),
            libc::EAFNOSUPPORT => Error::FamilyNotSupported(k),
            _ => Error::Kernel(k),
        }
    }
}

/// What a request was about, which decides what `ESRCH` and `ENOENT` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A service add or edit: `ESRCH` no such service, `ENOENT` no such
    /// scheduler or persistence engine.
    ServiceConfig,
    /// Any other request naming a service: `ESRCH` no such service.
    Service,
    /// A destination request: `ESRCH` no such service, `ENOENT` no such
    /// destination.
    Destination,
    /// A sync daemon request: `ESRCH` no such daemon.
    Daemon,
    /// An rtnetlink link or address request: `ENODEV` no such link.
    Link,
    /// Anything else: by errno alone.
    Other,
}
