//! Every IPVS request as a value: command, attributes, and what its errors
//! mean. The handle sends them; tests compare their bytes with ipvsadm's.

#[cfg(test)]
use std::net::SocketAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

use super::config::ConnectionTimeouts;
use super::consts::*;
use super::daemon::{SyncDaemon, SyncRole};
use super::destination::Destination;
use super::encode;
use super::op::Op;
#[cfg(any(test, feature = "__internals"))]
use super::service::Service;
use super::service::ServiceId;
use crate::error::{Error, KernelError, Result};
use crate::netlink::attr::{AttrWriter, attrs};

/// One request to the IPVS family, validated and ready to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) cmd: u8,
    /// The kernel's name for the command, for error reports.
    pub(crate) name: &'static str,
    /// A dump (answered by many messages and `NLMSG_DONE`) or a single
    /// request (answered by an acknowledgement, after a reply if any).
    pub(crate) dump: bool,
    /// What `ESRCH`, `ENOENT` and other errnos mean for it.
    pub(crate) target: Target,
    /// The attributes, encoded.
    pub(crate) attrs: Vec<u8>,
}

/// The attributes of a request about one service: its nest, holding what
/// `service` writes.
fn svc_nest(service: impl FnOnce(&mut AttrWriter<'_>)) -> Vec<u8> {
    attrs(|w| {
        w.nested(IPVS_CMD_ATTR_SERVICE, service);
    })
}

/// The command that carries a write.
pub(crate) fn op_command(op: &Op) -> u8 {
    match op {
        Op::AddService(_) => IPVS_CMD_NEW_SERVICE,
        Op::UpdateService(_) => IPVS_CMD_SET_SERVICE,
        Op::DeleteService(_) => IPVS_CMD_DEL_SERVICE,
        Op::AddDestination(..) => IPVS_CMD_NEW_DEST,
        Op::UpdateDestination(..) => IPVS_CMD_SET_DEST,
        Op::DeleteDestination(..) => IPVS_CMD_DEL_DEST,
    }
}

/// Writes the attributes of a write, in ipvsadm's order: the service nest
/// (whole service, or its identity), then the destination nest (whole
/// destination, or its identity). The one encoder of every write.
pub(crate) fn write_op(op: &Op, w: &mut AttrWriter<'_>) {
    match op {
        Op::AddService(s) | Op::UpdateService(s) => {
            w.nested(IPVS_CMD_ATTR_SERVICE, |w| s.emit(w));
        }
        Op::DeleteService(id) => {
            w.nested(IPVS_CMD_ATTR_SERVICE, |w| id.emit(w));
        }
        Op::AddDestination(id, d) | Op::UpdateDestination(id, d) => {
            w.nested(IPVS_CMD_ATTR_SERVICE, |w| id.emit(w))
                .nested(IPVS_CMD_ATTR_DEST, |w| d.emit(w));
        }
        Op::DeleteDestination(id, addr) => {
            w.nested(IPVS_CMD_ATTR_SERVICE, |w| id.emit(w))
                .nested(IPVS_CMD_ATTR_DEST, |w| Destination::new(*addr).emit_id(w));
        }
    }
}

/// What an IPVS request is about, which decides what `ESRCH`, `ENOENT`,
/// `ENODEV` and `EINVAL` mean in its answer.
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
    /// A new destination: as [`Target::Destination`], and `EINVAL` most
    /// often means an address the namespace cannot route.
    NewDestination,
    /// A sync daemon request: `ESRCH` no such daemon, `ENODEV` no such
    /// interface.
    Daemon,
    /// Anything else: by errno alone.
    Other,
}

/// Why the kernel answers `EINVAL` to a new destination when its values
/// are otherwise valid (`ip_vs_new_dest` checks the address type in the
/// namespace: a fresh namespace with `lo` down routes nothing).
pub(crate) const NEW_DEST_EINVAL_HINT: &str = "a destination's address must be unicast and \
     routable in the namespace (is `lo` up, is there a route to it?)";

/// Gives an IPVS kernel error its variant, by errno and by what the
/// request was about: IPVS answers `ESRCH` for a missing service (or
/// daemon), and `ENOENT` for a missing destination on destination
/// requests but for a missing scheduler or persistence engine on service
/// requests.
pub(crate) fn kernel_error(mut k: KernelError, target: Target) -> Error {
    use Target::*;
    match (k.errno, target) {
        (libc::ESRCH, Service | ServiceConfig | Destination | NewDestination) => {
            Error::ServiceNotFound(k)
        }
        (libc::ESRCH, Daemon) => Error::DaemonNotRunning(k),
        (libc::ENOENT, Destination | NewDestination) => Error::DestinationNotFound(k),
        (libc::ENOENT, ServiceConfig) => Error::SchedulerUnavailable(k),
        (libc::ENODEV, Daemon) => Error::LinkNotFound(k),
        (libc::EINVAL, NewDestination) => {
            k.hint = Some(NEW_DEST_EINVAL_HINT);
            Error::InvalidArgument(k)
        }
        _ => Error::by_errno(k),
    }
}

/// Names a kernel error after its request and gives it the request's
/// meaning; other errors pass as they are.
pub(crate) fn typed(e: Error, name: &'static str, target: Target) -> Error {
    match e {
        Error::Kernel(mut k) => {
            k.request = name;
            kernel_error(k, target)
        }
        other => other,
    }
}

/// The kernel's name of an IPVS command, for error reports, and what
/// its errnos mean.
pub(crate) fn command(cmd: u8) -> (&'static str, Target) {
    match cmd {
        IPVS_CMD_NEW_SERVICE => ("NEW_SERVICE", Target::ServiceConfig),
        IPVS_CMD_SET_SERVICE => ("SET_SERVICE", Target::ServiceConfig),
        IPVS_CMD_DEL_SERVICE => ("DEL_SERVICE", Target::Service),
        IPVS_CMD_GET_SERVICE => ("GET_SERVICE", Target::Service),
        IPVS_CMD_NEW_DEST => ("NEW_DEST", Target::NewDestination),
        IPVS_CMD_SET_DEST => ("SET_DEST", Target::Destination),
        IPVS_CMD_DEL_DEST => ("DEL_DEST", Target::Destination),
        IPVS_CMD_GET_DEST => ("GET_DEST", Target::Destination),
        IPVS_CMD_NEW_DAEMON => ("NEW_DAEMON", Target::Daemon),
        IPVS_CMD_DEL_DAEMON => ("DEL_DAEMON", Target::Daemon),
        IPVS_CMD_GET_DAEMON => ("GET_DAEMON", Target::Daemon),
        IPVS_CMD_SET_CONFIG => ("SET_CONFIG", Target::Other),
        IPVS_CMD_GET_CONFIG => ("GET_CONFIG", Target::Other),
        IPVS_CMD_GET_INFO => ("GET_INFO", Target::Other),
        IPVS_CMD_ZERO => ("ZERO", Target::Service),
        IPVS_CMD_FLUSH => ("FLUSH", Target::Other),
        _ => ("UNKNOWN", Target::Other),
    }
}

impl Request {
    fn new(cmd: u8, attrs: Vec<u8>) -> Self {
        let (name, target) = command(cmd);
        Request {
            cmd,
            name,
            dump: false,
            target,
            attrs,
        }
    }

    fn dump(mut self) -> Self {
        self.dump = true;
        self
    }

    /// This request's meaning of a kernel error; other errors pass.
    pub(crate) fn error(&self, e: Error) -> Error {
        typed(e, self.name, self.target)
    }

    /// The netlink flags: a dump, or a request that wants its ACK.
    pub(crate) fn flags(&self) -> u16 {
        NLM_F_REQUEST | if self.dump { NLM_F_DUMP } else { NLM_F_ACK }
    }

    /// The message bytes for family id `family` (sequence and port 0).
    pub(crate) fn encode(&self, family: u16) -> Vec<u8> {
        encode(family, self.cmd, self.flags(), &self.attrs)
    }

    pub(crate) fn get_info() -> Self {
        Request::new(IPVS_CMD_GET_INFO, Vec::new())
    }

    /// The validated request of a write.
    pub(crate) fn op(op: &Op) -> Result<Self> {
        op.validate()?;
        Ok(Request::new(op_command(op), attrs(|w| write_op(op, w))))
    }

    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn add_service(service: &Service) -> Result<Self> {
        Self::op(&Op::AddService(service.clone()))
    }

    #[cfg(test)]
    pub(crate) fn update_service(service: &Service) -> Result<Self> {
        Self::op(&Op::UpdateService(service.clone()))
    }

    #[cfg(test)]
    pub(crate) fn delete_service(id: &ServiceId) -> Result<Self> {
        Self::op(&Op::DeleteService(*id))
    }

    pub(crate) fn get_service(id: &ServiceId) -> Result<Self> {
        id.validate()?;
        let attrs = svc_nest(|w| id.emit(w));
        Ok(Request::new(IPVS_CMD_GET_SERVICE, attrs))
    }

    pub(crate) fn dump_services() -> Self {
        Request::new(IPVS_CMD_GET_SERVICE, Vec::new()).dump()
    }

    #[cfg(test)]
    pub(crate) fn add_destination(service: &ServiceId, dest: &Destination) -> Result<Self> {
        Self::op(&Op::AddDestination(*service, *dest))
    }

    #[cfg(test)]
    pub(crate) fn update_destination(service: &ServiceId, dest: &Destination) -> Result<Self> {
        Self::op(&Op::UpdateDestination(*service, *dest))
    }

    #[cfg(test)]
    pub(crate) fn delete_destination(service: &ServiceId, addr: SocketAddr) -> Result<Self> {
        Self::op(&Op::DeleteDestination(*service, addr))
    }

    pub(crate) fn dump_destinations(service: &ServiceId) -> Result<Self> {
        service.validate()?;
        let attrs = svc_nest(|w| service.emit(w));
        Ok(Request::new(IPVS_CMD_GET_DEST, attrs).dump())
    }

    pub(crate) fn flush() -> Self {
        Request::new(IPVS_CMD_FLUSH, Vec::new())
    }

    pub(crate) fn zero(service: Option<&ServiceId>) -> Result<Self> {
        let attrs = match service {
            Some(id) => {
                id.validate()?;
                svc_nest(|w| id.emit(w))
            }
            None => Vec::new(),
        };
        Ok(Request::new(IPVS_CMD_ZERO, attrs))
    }

    pub(crate) fn get_config() -> Self {
        Request::new(IPVS_CMD_GET_CONFIG, Vec::new())
    }

    pub(crate) fn set_config(t: &ConnectionTimeouts) -> Result<Self> {
        for (field, v) in [
            ("connection_timeouts.tcp", t.tcp),
            ("connection_timeouts.tcp_fin", t.tcp_fin),
            ("connection_timeouts.udp", t.udp),
        ] {
            if v > i32::MAX as u32 {
                return Err(Error::invalid(
                    field,
                    format!("{v} s is negative to the kernel"),
                ));
            }
        }
        let attrs = attrs(|w| {
            w.u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp)
                .u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin)
                .u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
        });
        Ok(Request::new(IPVS_CMD_SET_CONFIG, attrs))
    }

    pub(crate) fn start_daemon(daemon: &SyncDaemon) -> Result<Self> {
        daemon.validate()?;
        let attrs = attrs(|w| {
            w.nested(IPVS_CMD_ATTR_DAEMON, |w| daemon.emit(w));
        });
        Ok(Request::new(IPVS_CMD_NEW_DAEMON, attrs))
    }

    pub(crate) fn stop_daemon(role: SyncRole) -> Self {
        let attrs = attrs(|w| {
            w.nested(IPVS_CMD_ATTR_DAEMON, |w| role.emit_state(w));
        });
        Request::new(IPVS_CMD_DEL_DAEMON, attrs)
    }

    pub(crate) fn dump_daemons() -> Self {
        Request::new(IPVS_CMD_GET_DAEMON, Vec::new()).dump()
    }
}
