//! Every IPVS request as a value: command, attributes, and what its errors
//! mean. The handle sends them; tests compare their bytes with ipvsadm's.

use std::net::SocketAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

use super::config::Timeouts;
use super::consts::*;
use super::daemon::{SyncDaemon, SyncRole};
use super::destination::Destination;
use super::service::{Service, ServiceId};
use super::{encode, encode_into};
use crate::error::{Error, Result, Target};
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
    /// What `ESRCH` and `ENOENT` mean for it.
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

/// The attributes of a request about one destination of a service.
fn dest_nests(id: &ServiceId, dest: impl FnOnce(&mut AttrWriter<'_>)) -> Vec<u8> {
    attrs(|w| {
        w.nested(IPVS_CMD_ATTR_SERVICE, |w| id.emit(w))
            .nested(IPVS_CMD_ATTR_DEST, dest);
    })
}

/// The kernel's name of an IPVS command, for error reports, and what
/// `ESRCH` and `ENOENT` mean in its answer.
pub(crate) fn command(cmd: u8) -> (&'static str, Target) {
    match cmd {
        IPVS_CMD_NEW_SERVICE => ("NEW_SERVICE", Target::ServiceConfig),
        IPVS_CMD_SET_SERVICE => ("SET_SERVICE", Target::ServiceConfig),
        IPVS_CMD_DEL_SERVICE => ("DEL_SERVICE", Target::Service),
        IPVS_CMD_GET_SERVICE => ("GET_SERVICE", Target::Service),
        IPVS_CMD_NEW_DEST => ("NEW_DEST", Target::Destination),
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

    /// The netlink flags: a dump, or a request that wants its ACK.
    pub(crate) fn flags(&self) -> u16 {
        NLM_F_REQUEST | if self.dump { NLM_F_DUMP } else { NLM_F_ACK }
    }

    /// The message bytes for family id `family` (sequence and port 0).
    pub(crate) fn encode(&self, family: u16) -> Vec<u8> {
        encode(family, self.cmd, self.flags(), &self.attrs)
    }

    /// Appends the message, with other netlink flags, to `buf`.
    pub(crate) fn encode_into(&self, buf: &mut Vec<u8>, family: u16, flags: u16) {
        encode_into(buf, family, self.cmd, flags, &self.attrs)
    }

    pub(crate) fn get_info() -> Self {
        Request::new(IPVS_CMD_GET_INFO, Vec::new())
    }

    pub(crate) fn add_service(service: &Service) -> Result<Self> {
        service.validate()?;
        let attrs = svc_nest(|w| service.emit(w));
        Ok(Request::new(IPVS_CMD_NEW_SERVICE, attrs))
    }

    pub(crate) fn update_service(service: &Service) -> Result<Self> {
        service.validate()?;
        let attrs = svc_nest(|w| service.emit(w));
        Ok(Request::new(IPVS_CMD_SET_SERVICE, attrs))
    }

    pub(crate) fn delete_service(id: &ServiceId) -> Result<Self> {
        id.validate()?;
        let attrs = svc_nest(|w| id.emit(w));
        Ok(Request::new(IPVS_CMD_DEL_SERVICE, attrs))
    }

    pub(crate) fn get_service(id: &ServiceId) -> Result<Self> {
        id.validate()?;
        let attrs = svc_nest(|w| id.emit(w));
        Ok(Request::new(IPVS_CMD_GET_SERVICE, attrs))
    }

    pub(crate) fn dump_services() -> Self {
        Request::new(IPVS_CMD_GET_SERVICE, Vec::new()).dump()
    }

    pub(crate) fn add_destination(service: &ServiceId, dest: &Destination) -> Result<Self> {
        Self::full_dest(IPVS_CMD_NEW_DEST, service, dest)
    }

    pub(crate) fn update_destination(service: &ServiceId, dest: &Destination) -> Result<Self> {
        Self::full_dest(IPVS_CMD_SET_DEST, service, dest)
    }

    fn full_dest(cmd: u8, service: &ServiceId, dest: &Destination) -> Result<Self> {
        service.validate()?;
        dest.validate(service.family())?;
        let attrs = dest_nests(service, |w| dest.emit(w));
        Ok(Request::new(cmd, attrs))
    }

    pub(crate) fn delete_destination(service: &ServiceId, addr: SocketAddr) -> Result<Self> {
        service.validate()?;
        let attrs = dest_nests(service, |w| Destination::new(addr).emit_id(w));
        Ok(Request::new(IPVS_CMD_DEL_DEST, attrs))
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

    pub(crate) fn set_config(t: &Timeouts) -> Result<Self> {
        for (field, v) in [
            ("timeouts.tcp", t.tcp),
            ("timeouts.tcp_fin", t.tcp_fin),
            ("timeouts.udp", t.udp),
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
