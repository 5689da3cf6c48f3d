//! The IPVS handle: one generic netlink socket, the family resolved once.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

use crate::error::{Error, Result, Target};
use crate::ipvs::config::{Info, Timeouts, Version};
use crate::ipvs::consts::*;
use crate::ipvs::daemon::{SyncDaemon, SyncRole};
use crate::ipvs::destination::{Destination, DestinationEntry};
use crate::ipvs::service::{Service, ServiceEntry, ServiceId};
use crate::ipvs::{decode, encode};
use crate::netlink::attr::{Attr, Value};
use crate::netlink::{Transport, genl};
use crate::netns;

const NETLINK_GENERIC: isize = netlink_sys::protocols::NETLINK_GENERIC as isize;

/// A handle on the kernel's IPVS table of one network namespace.
///
/// It owns one generic netlink socket, bound in the namespace where the
/// handle was opened (the socket's namespace is the one IPVS acts on, for
/// the handle's whole life), and the `"IPVS"` family id, resolved once.
///
/// `Ipvs` is `Send` and `Sync`: share it between threads by reference or in
/// an `Arc`. Requests are serialised by a mutex held from sending a
/// request until its last reply is read, so one caller never reads another
/// caller's replies; threads that want parallelism open one handle each.
///
/// Every wait for the kernel is bounded by the handle's timeout (10 s by
/// default, [`Ipvs::set_timeout`]): a kernel that stays silent longer gives
/// [`Error::Timeout`], never a hang.
#[derive(Debug)]
pub struct Ipvs {
    family: u16,
    transport: Mutex<Transport>,
}

impl Ipvs {
    /// Opens a handle in the calling thread's network namespace.
    ///
    /// Fails with [`Error::NotSupported`] when the kernel has no IPVS, and
    /// with [`Error::PermissionDenied`] without `CAP_NET_ADMIN`: it asks the
    /// kernel for [`Ipvs::info`] before returning, so a handle that opened
    /// works.
    pub fn open() -> Result<Self> {
        Self::from_transport(Transport::open(NETLINK_GENERIC)?)
    }

    /// Opens a handle whose socket lives in the network namespace at
    /// `path`, e.g. `/run/netns/NAME` (as made by `ip netns add NAME`) or
    /// `/proc/PID/ns/net`. The calling thread stays in its own namespace:
    /// a short-lived helper thread enters the namespace, creates the
    /// socket, and ends.
    pub fn open_in_netns_path(path: impl AsRef<Path>) -> Result<Self> {
        let transport = netns::in_netns_path(path.as_ref(), || Transport::open(NETLINK_GENERIC))?;
        Self::from_transport(transport)
    }

    /// Like [`Ipvs::open_in_netns_path`], with an open namespace file
    /// descriptor (from `/run/netns/NAME`, `/proc/PID/ns/net`, a pidfd's
    /// namespace, …).
    pub fn open_in_netns_fd(netns: impl AsFd) -> Result<Self> {
        let transport = netns::in_netns(netns.as_fd(), || Transport::open(NETLINK_GENERIC))?;
        Self::from_transport(transport)
    }

    fn from_transport(mut transport: Transport) -> Result<Self> {
        let family = genl::resolve(&mut transport, IPVS_GENL_NAME)?.ok_or(Error::NotSupported)?;
        let ipvs = Ipvs {
            family: family.id,
            transport: Mutex::new(transport),
        };
        // Every IPVS request needs CAP_NET_ADMIN; find out now.
        ipvs.info()?;
        Ok(ipvs)
    }

    /// The time the kernel may stay silent while a reply is awaited.
    pub fn timeout(&self) -> Duration {
        self.lock().timeout()
    }

    /// Sets the time the kernel may stay silent while a reply is awaited.
    pub fn set_timeout(&self, timeout: Duration) {
        self.lock().set_timeout(timeout);
    }

    fn lock(&self) -> MutexGuard<'_, Transport> {
        // A panic in another thread cannot leave the transport inconsistent:
        // stale replies are dropped by sequence number.
        self.transport.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one command and hands each reply payload to `on_data`.
    fn run(
        &self,
        cmd: u8,
        name: &'static str,
        dump: bool,
        attrs: &[Attr],
        target: Target,
        on_data: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
        let mut request = encode(self.family, cmd, flags, attrs);
        let family = self.family;
        self.lock()
            .exchange(&mut request, name, &mut |msg| {
                if msg.message_type != family {
                    return Err(Error::Protocol(format!(
                        "{name}: reply of message type {} (expected {family})",
                        msg.message_type
                    )));
                }
                on_data(msg.payload)
            })
            .map_err(|e| match e {
                Error::Kernel(k) => Error::from_kernel(k, target),
                other => other,
            })
    }

    /// Sends a command that is answered by an acknowledgement only.
    fn command(&self, cmd: u8, name: &'static str, attrs: &[Attr], target: Target) -> Result<()> {
        self.run(cmd, name, false, attrs, target, &mut |_| {
            Err(Error::Protocol(format!("{name}: unexpected data reply")))
        })
    }

    /// Version and connection-table size (`IPVS_CMD_GET_INFO`).
    pub fn info(&self) -> Result<Info> {
        let mut info = None;
        self.run(
            IPVS_CMD_GET_INFO,
            "GET_INFO",
            false,
            &[],
            Target::Other,
            &mut |p| {
                let (_, attrs) = decode(p)?;
                let mut version = None;
                let mut size = 0;
                for nla in attrs {
                    let nla = nla?;
                    match nla.kind {
                        IPVS_INFO_ATTR_VERSION => version = Some(nla.u32("info.version")?),
                        IPVS_INFO_ATTR_CONN_TAB_SIZE => size = nla.u32("info.conn_tab_size")?,
                        _ => {}
                    }
                }
                let version = version
                    .ok_or_else(|| Error::Decode("GET_INFO reply without version".into()))?;
                info = Some(Info {
                    version: Version::from_code(version),
                    connection_table_size: size,
                });
                Ok(())
            },
        )?;
        info.ok_or_else(|| Error::Protocol("GET_INFO: no reply".into()))
    }

    /// Adds a virtual service (`IPVS_CMD_NEW_SERVICE`).
    ///
    /// [`Error::AlreadyExists`] if it exists, [`Error::SchedulerUnavailable`]
    /// if its scheduler or persistence engine is not in the kernel.
    pub fn add_service(&self, service: &Service) -> Result<()> {
        service.validate()?;
        self.command(
            IPVS_CMD_NEW_SERVICE,
            "NEW_SERVICE",
            &[svc_nest(service.attrs())],
            Target::ServiceConfig,
        )
    }

    /// Changes a service's scheduler, flags, timeout, netmask and
    /// persistence engine (`IPVS_CMD_SET_SERVICE`); its identity cannot
    /// change. Everything is replaced: a persistence engine left out is
    /// removed.
    pub fn update_service(&self, service: &Service) -> Result<()> {
        service.validate()?;
        self.command(
            IPVS_CMD_SET_SERVICE,
            "SET_SERVICE",
            &[svc_nest(service.attrs())],
            Target::ServiceConfig,
        )
    }

    /// Deletes a service and its destinations (`IPVS_CMD_DEL_SERVICE`).
    pub fn delete_service(&self, id: &ServiceId) -> Result<()> {
        id.validate()?;
        self.command(
            IPVS_CMD_DEL_SERVICE,
            "DEL_SERVICE",
            &[svc_nest(id.attrs())],
            Target::Service,
        )
    }

    /// Reads one service (`IPVS_CMD_GET_SERVICE`);
    /// [`Error::ServiceNotFound`] if there is none.
    pub fn service(&self, id: &ServiceId) -> Result<ServiceEntry> {
        id.validate()?;
        let mut found = None;
        self.run(
            IPVS_CMD_GET_SERVICE,
            "GET_SERVICE",
            false,
            &[svc_nest(id.attrs())],
            Target::Service,
            &mut |p| {
                found = Some(parse_service_reply(p)?);
                Ok(())
            },
        )?;
        found.ok_or_else(|| Error::Protocol("GET_SERVICE: no reply".into()))
    }

    /// Lists every service of the namespace (an `IPVS_CMD_GET_SERVICE`
    /// dump), in the kernel's order.
    pub fn services(&self) -> Result<Vec<ServiceEntry>> {
        let mut all = Vec::new();
        self.for_each_service(|s| {
            all.push(s);
            Ok(())
        })?;
        Ok(all)
    }

    /// Streams every service of the namespace to `f` as the dump arrives,
    /// without collecting them. An error from `f` stops the delivery (the
    /// rest of the dump is read and dropped) and is returned.
    pub fn for_each_service(&self, mut f: impl FnMut(ServiceEntry) -> Result<()>) -> Result<()> {
        self.run(
            IPVS_CMD_GET_SERVICE,
            "GET_SERVICE",
            true,
            &[],
            Target::Other,
            &mut |p| f(parse_service_reply(p)?),
        )
    }

    /// Adds a destination to a service (`IPVS_CMD_NEW_DEST`).
    pub fn add_destination(&self, service: &ServiceId, destination: &Destination) -> Result<()> {
        self.dest_command(IPVS_CMD_NEW_DEST, "NEW_DEST", service, destination, true)
    }

    /// Replaces a destination's settings (`IPVS_CMD_SET_DEST`): forwarding,
    /// weight, thresholds and tunnel settings.
    pub fn update_destination(&self, service: &ServiceId, destination: &Destination) -> Result<()> {
        self.dest_command(IPVS_CMD_SET_DEST, "SET_DEST", service, destination, true)
    }

    /// Deletes the destination at `addr` from a service (`IPVS_CMD_DEL_DEST`).
    pub fn delete_destination(&self, service: &ServiceId, addr: SocketAddr) -> Result<()> {
        self.dest_command(
            IPVS_CMD_DEL_DEST,
            "DEL_DEST",
            service,
            &Destination::new(addr),
            false,
        )
    }

    fn dest_command(
        &self,
        cmd: u8,
        name: &'static str,
        service: &ServiceId,
        destination: &Destination,
        full: bool,
    ) -> Result<()> {
        service.validate()?;
        let dest_attrs = if full {
            destination.validate(service.family())?;
            destination.attrs()
        } else {
            destination.id_attrs()
        };
        self.command(
            cmd,
            name,
            &[
                svc_nest(service.attrs()),
                Attr::new(IPVS_CMD_ATTR_DEST, Value::Nested(dest_attrs)),
            ],
            Target::Destination,
        )
    }

    /// Lists the destinations of a service (an `IPVS_CMD_GET_DEST` dump),
    /// newest first as the kernel keeps them. [`Error::ServiceNotFound`] if
    /// the service does not exist (the kernel's dump alone cannot tell).
    pub fn destinations(&self, service: &ServiceId) -> Result<Vec<DestinationEntry>> {
        service.validate()?;
        let family = service.family();
        let mut all = Vec::new();
        self.run(
            IPVS_CMD_GET_DEST,
            "GET_DEST",
            true,
            &[svc_nest(service.attrs())],
            Target::Destination,
            &mut |p| {
                let (_, attrs) = decode(p)?;
                for nla in attrs {
                    let nla = nla?;
                    if nla.kind == IPVS_CMD_ATTR_DEST {
                        all.push(DestinationEntry::parse(nla.value, family)?);
                    }
                }
                Ok(())
            },
        )?;
        if all.is_empty() {
            // An empty dump: no destinations, or no service?
            self.service(service)?;
        }
        Ok(all)
    }

    /// Deletes every service and destination of the namespace
    /// (`IPVS_CMD_FLUSH`).
    pub fn flush(&self) -> Result<()> {
        self.command(IPVS_CMD_FLUSH, "FLUSH", &[], Target::Other)
    }

    /// Zeroes the counters of every service and destination, and the global
    /// totals (`IPVS_CMD_ZERO`).
    pub fn zero_all(&self) -> Result<()> {
        self.command(IPVS_CMD_ZERO, "ZERO", &[], Target::Other)
    }

    /// Zeroes the counters of one service and its destinations.
    pub fn zero_service(&self, id: &ServiceId) -> Result<()> {
        id.validate()?;
        self.command(
            IPVS_CMD_ZERO,
            "ZERO",
            &[svc_nest(id.attrs())],
            Target::Service,
        )
    }

    /// Reads the connection timeouts (`IPVS_CMD_GET_CONFIG`).
    pub fn timeouts(&self) -> Result<Timeouts> {
        let mut t = None;
        self.run(
            IPVS_CMD_GET_CONFIG,
            "GET_CONFIG",
            false,
            &[],
            Target::Other,
            &mut |p| {
                let (_, attrs) = decode(p)?;
                let mut v = Timeouts::default();
                for nla in attrs {
                    let nla = nla?;
                    match nla.kind {
                        IPVS_CMD_ATTR_TIMEOUT_TCP => v.tcp = nla.u32("timeout_tcp")?,
                        IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => v.tcp_fin = nla.u32("timeout_tcp_fin")?,
                        IPVS_CMD_ATTR_TIMEOUT_UDP => v.udp = nla.u32("timeout_udp")?,
                        _ => {}
                    }
                }
                t = Some(v);
                Ok(())
            },
        )?;
        t.ok_or_else(|| Error::Protocol("GET_CONFIG: no reply".into()))
    }

    /// Sets the connection timeouts (`IPVS_CMD_SET_CONFIG`); a 0 keeps that
    /// timeout as it is.
    pub fn set_timeouts(&self, timeouts: &Timeouts) -> Result<()> {
        for (field, v) in [
            ("timeouts.tcp", timeouts.tcp),
            ("timeouts.tcp_fin", timeouts.tcp_fin),
            ("timeouts.udp", timeouts.udp),
        ] {
            if v > i32::MAX as u32 {
                return Err(Error::invalid(
                    field,
                    format!("{v} s is negative to the kernel"),
                ));
            }
        }
        self.command(
            IPVS_CMD_SET_CONFIG,
            "SET_CONFIG",
            &[
                Attr::new(IPVS_CMD_ATTR_TIMEOUT_TCP, Value::U32(timeouts.tcp)),
                Attr::new(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, Value::U32(timeouts.tcp_fin)),
                Attr::new(IPVS_CMD_ATTR_TIMEOUT_UDP, Value::U32(timeouts.udp)),
            ],
            Target::Daemon,
        )
    }

    /// Starts a connection sync daemon (`IPVS_CMD_NEW_DAEMON`).
    pub fn start_daemon(&self, daemon: &SyncDaemon) -> Result<()> {
        daemon.validate()?;
        self.command(
            IPVS_CMD_NEW_DAEMON,
            "NEW_DAEMON",
            &[Attr::new(
                IPVS_CMD_ATTR_DAEMON,
                Value::Nested(daemon.attrs()),
            )],
            Target::Daemon,
        )
    }

    /// Stops the sync daemon of `role` (`IPVS_CMD_DEL_DAEMON`).
    pub fn stop_daemon(&self, role: SyncRole) -> Result<()> {
        self.command(
            IPVS_CMD_DEL_DAEMON,
            "DEL_DAEMON",
            &[Attr::new(
                IPVS_CMD_ATTR_DAEMON,
                Value::Nested(vec![role.state_attr()]),
            )],
            Target::Daemon,
        )
    }

    /// Lists the running sync daemons (an `IPVS_CMD_GET_DAEMON` dump).
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>> {
        let mut all = Vec::new();
        self.run(
            IPVS_CMD_GET_DAEMON,
            "GET_DAEMON",
            true,
            &[],
            Target::Daemon,
            &mut |p| {
                let (_, attrs) = decode(p)?;
                for nla in attrs {
                    let nla = nla?;
                    if nla.kind == IPVS_CMD_ATTR_DAEMON {
                        all.push(SyncDaemon::parse(nla.value)?);
                    }
                }
                Ok(())
            },
        )?;
        Ok(all)
    }
}

fn svc_nest(attrs: Vec<Attr>) -> Attr {
    Attr::new(IPVS_CMD_ATTR_SERVICE, Value::Nested(attrs))
}

/// Parses a service reply: the `IPVS_CMD_ATTR_SERVICE` nest of the payload.
pub(crate) fn parse_service_reply(payload: &[u8]) -> Result<ServiceEntry> {
    let (_, attrs) = decode(payload)?;
    for nla in attrs {
        let nla = nla?;
        if nla.kind == IPVS_CMD_ATTR_SERVICE {
            return ServiceEntry::parse(nla.value);
        }
    }
    Err(Error::Decode("service reply without a service".into()))
}
