//! The IPVS handle: one generic netlink socket, the family resolved once.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ipvs::config::{ConnectionTimeouts, Info};
use crate::ipvs::consts::IPVS_GENL_NAME;
use crate::ipvs::daemon::{SyncDaemon, SyncRole};
use crate::ipvs::destination::{Destination, DestinationEntry};
use crate::ipvs::op::Op;
use crate::ipvs::reply::{
    parse_config, parse_daemon_reply, parse_dest_reply, parse_info, parse_service_reply,
};
use crate::ipvs::request::Request;
use crate::ipvs::service::{Service, ServiceEntry, ServiceId};
use crate::netlink::{Channel, Namespace, Transport, genl};

const NETLINK_GENERIC: isize = netlink_sys::protocols::NETLINK_GENERIC;

/// A handle on the kernel's IPVS table of one network namespace.
///
/// It owns a generic netlink socket (and a second one for the destination
/// dumps of one-pass reads), bound in the namespace where the handle was
/// opened (the socket's namespace is the one IPVS acts on, for
/// the handle's whole life), and the `"IPVS"` family id, resolved once.
///
/// `Ipvs` is `Send` and `Sync`: share it between threads by reference or in
/// an `Arc`. Requests are serialised by a mutex held from sending a
/// request until its last reply is read, so one caller never reads another
/// caller's replies; threads that want parallelism open one handle each.
///
/// Every wait for the kernel is bounded by the handle's reply timeout
/// (10 s by default; [`IpvsBuilder::reply_timeout`],
/// [`Ipvs::set_reply_timeout`]): a kernel that stays silent longer gives
/// [`Error::Timeout`], never a hang.
#[derive(Debug)]
pub struct Ipvs {
    /// The family id; replaced when IPVS was reloaded under the handle
    /// ([`Error::FamilyGone`]).
    family: AtomicU16,
    channel: Channel,
    /// A second socket in the same namespace, for the destination dumps
    /// of [`Ipvs::for_each_service_with_destinations`], which run while the
    /// service dump on the first is still being read.
    dumper: Channel,
}

/// How many services [`Ipvs::for_each_service_with_destinations`] holds
/// before fetching their destinations and handing them on.
const DELIVERY_WINDOW: usize = 64;

/// Options for opening an [`Ipvs`] handle ([`Ipvs::builder`]).
///
/// ```no_run
/// # fn main() -> lvs::Result<()> {
/// use std::time::Duration;
/// let ipvs = lvs::Ipvs::builder()
///     .netns_path("/run/netns/blue")
///     .reply_timeout(Duration::from_secs(2))
///     .open()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct IpvsBuilder {
    namespace: Option<NamespaceSpec>,
    reply_timeout: Option<Duration>,
    receive_buffer: Option<usize>,
}

#[derive(Debug)]
enum NamespaceSpec {
    Path(PathBuf),
    Fd(OwnedFd),
}

impl IpvsBuilder {
    /// Open the handle in the network namespace at `path` (e.g.
    /// `/run/netns/NAME` or `/proc/PID/ns/net`) instead of the calling
    /// thread's. The calling thread stays in its own namespace.
    pub fn netns_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.namespace = Some(NamespaceSpec::Path(path.into()));
        self
    }

    /// Open the handle in the network namespace of an open file
    /// descriptor (duplicated; the caller keeps its own).
    pub fn netns_fd(mut self, netns: impl AsFd) -> Result<Self> {
        self.namespace = Some(NamespaceSpec::Fd(netns.as_fd().try_clone_to_owned()?));
        Ok(self)
    }

    /// How long the kernel may stay silent while a reply is awaited (10 s
    /// by default; at least a microsecond).
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = Some(timeout);
        self
    }

    /// The receive buffer of the handle's sockets, in bytes (default
    /// 4 MiB, forced past `net.core.rmem_max` where the caller may). When
    /// the kernel's replies overflow it, the request in flight ends in
    /// [`Error::RepliesLost`], never silently.
    pub fn receive_buffer(mut self, bytes: usize) -> Self {
        self.receive_buffer = Some(bytes);
        self
    }

    /// Opens the handle. Fails with [`Error::NotSupported`] when the kernel
    /// has no IPVS, and with [`Error::PermissionDenied`] without
    /// `CAP_NET_ADMIN` (or without the right to enter the namespace): it
    /// asks the kernel for [`Ipvs::info`] before returning, so a handle that
    /// opened works.
    pub fn open(self) -> Result<Ipvs> {
        let namespace = match &self.namespace {
            None => Namespace::Current,
            Some(NamespaceSpec::Path(p)) => Namespace::Path(p),
            Some(NamespaceSpec::Fd(fd)) => Namespace::Fd(fd.as_fd()),
        };
        let [channel, dumper] = Channel::open::<2>(NETLINK_GENERIC, namespace)?;
        if let Some(timeout) = self.reply_timeout {
            channel.set_reply_timeout(timeout)?;
            dumper.set_reply_timeout(timeout)?;
        }
        if let Some(bytes) = self.receive_buffer {
            channel.set_receive_buffer(bytes)?;
            dumper.set_receive_buffer(bytes)?;
        }
        let family =
            genl::resolve(&mut channel.lock(), IPVS_GENL_NAME)?.ok_or(Error::NotSupported)?;
        let ipvs = Ipvs {
            family: AtomicU16::new(family.id),
            channel,
            dumper,
        };
        // Every IPVS request needs CAP_NET_ADMIN; find out now.
        ipvs.info()?;
        Ok(ipvs)
    }
}

impl Ipvs {
    /// Opens a handle in the calling thread's network namespace (see
    /// [`IpvsBuilder::open`] for the errors).
    pub fn open() -> Result<Self> {
        Self::builder().open()
    }

    /// Options for opening a handle: another namespace, the reply timeout.
    pub fn builder() -> IpvsBuilder {
        IpvsBuilder::default()
    }

    /// Opens a handle whose socket lives in the network namespace at
    /// `path`, e.g. `/run/netns/NAME` (as made by `ip netns add NAME`) or
    /// `/proc/PID/ns/net`. The calling thread stays in its own namespace:
    /// a short-lived helper thread enters the namespace, creates the
    /// socket, and ends. Without the right to enter it,
    /// [`Error::PermissionDenied`].
    pub fn open_in_netns_path(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder().netns_path(path.as_ref()).open()
    }

    /// Like [`Ipvs::open_in_netns_path`], with an open namespace file
    /// descriptor (from `/run/netns/NAME`, `/proc/PID/ns/net`, a pidfd's
    /// namespace, …).
    pub fn open_in_netns_fd(netns: impl AsFd) -> Result<Self> {
        Self::builder().netns_fd(netns)?.open()
    }

    /// The time the kernel may stay silent while a reply is awaited.
    pub fn reply_timeout(&self) -> Duration {
        self.channel.reply_timeout()
    }

    /// Sets the time the kernel may stay silent while a reply is awaited
    /// (at least a microsecond; the sockets' `SO_RCVTIMEO`).
    pub fn set_reply_timeout(&self, timeout: Duration) -> Result<()> {
        self.channel.set_reply_timeout(timeout)?;
        self.dumper.set_reply_timeout(timeout)
    }

    /// The IPVS family id in use.
    pub(crate) fn family(&self) -> u16 {
        self.family.load(Ordering::Relaxed)
    }

    /// After a kernel `ENOENT`: is the family the handle uses still
    /// registered? If not, [`Error::FamilyGone`] (the handle takes the new
    /// id if IPVS is back). `None` when the family is still there (the
    /// `ENOENT` was IPVS's own) or it could not be told.
    pub(crate) fn family_gone(&self, transport: &mut Transport) -> Option<Error> {
        family_gone(transport, &self.family)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Transport> {
        self.channel.lock()
    }

    /// Sends one request and hands each reply payload to `on_data`.
    fn run(&self, request: &Request, on_data: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        run_on(&mut self.lock(), &self.family, request, on_data)
    }

    /// Sends a request that is answered by an acknowledgement only.
    fn command(&self, request: Request) -> Result<()> {
        let name = request.name;
        self.run(&request, &mut |_| {
            Err(Error::Protocol(format!("{name}: unexpected data reply")))
        })
    }

    /// Sends a request answered by one data message, parsed by `parse`.
    fn query<T>(&self, request: Request, parse: impl Fn(&[u8]) -> Result<T>) -> Result<T> {
        let mut found = None;
        self.run(&request, &mut |p| {
            found = Some(parse(p)?);
            Ok(())
        })?;
        found.ok_or_else(|| Error::Protocol(format!("{}: no reply", request.name)))
    }

    /// Sends one window of a batch (see [`Transport::exchange_window`]).
    pub(crate) fn exchange_window(
        &self,
        datagram: &mut [u8],
        offsets: &[u32],
        on_error: &mut dyn FnMut(usize, Error),
    ) -> Result<()> {
        self.lock().exchange_window(datagram, offsets, on_error)
    }

    /// Applies one operation (the one-at-a-time path of [`Op`]; the write
    /// verbs below wrap it). Its values are checked first
    /// ([`Op::validate`]); a kernel refusal gets its typed error.
    pub fn execute(&self, op: &Op) -> Result<()> {
        self.command(op.request()?)
    }

    /// Version and connection-table size (`IPVS_CMD_GET_INFO`).
    pub fn info(&self) -> Result<Info> {
        self.query(Request::get_info(), parse_info)
    }

    /// Adds a virtual service (`IPVS_CMD_NEW_SERVICE`).
    ///
    /// [`Error::AlreadyExists`] if it exists, [`Error::SchedulerUnavailable`]
    /// if its scheduler or persistence engine is not in the kernel.
    pub fn add_service(&self, service: &Service) -> Result<()> {
        self.execute(&Op::AddService(service.clone()))
    }

    /// Changes a service's scheduler, flags, timeout, netmask and
    /// persistence engine (`IPVS_CMD_SET_SERVICE`); its identity cannot
    /// change. Everything is replaced: a persistence engine left out is
    /// removed.
    pub fn update_service(&self, service: &Service) -> Result<()> {
        self.execute(&Op::UpdateService(service.clone()))
    }

    /// Deletes a service and its destinations (`IPVS_CMD_DEL_SERVICE`).
    pub fn delete_service(&self, id: &ServiceId) -> Result<()> {
        self.execute(&Op::DeleteService(*id))
    }

    /// Reads one service (`IPVS_CMD_GET_SERVICE`);
    /// [`Error::ServiceNotFound`] if there is none.
    pub fn service(&self, id: &ServiceId) -> Result<ServiceEntry> {
        self.query(Request::get_service(id)?, parse_service_reply)
    }

    /// Lists every service of the namespace (an `IPVS_CMD_GET_SERVICE`
    /// dump), in the kernel's order, each once (see
    /// [`Ipvs::for_each_service`] for what a dump promises).
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
    ///
    /// The handle stays locked while `f` runs: `f` must not use this
    /// handle (the call would deadlock); open another handle if it must.
    ///
    /// # What a dump promises
    ///
    /// A dump is no snapshot. The kernel reads its service table in rounds
    /// and resumes each at a position counted over the services of *every*
    /// network namespace (the table is shared), without ever flagging an
    /// interrupted dump. So while anyone, in any namespace, adds or deletes
    /// services, a dump can repeat a service or skip one that nobody
    /// touched. The crate drops repeats: each service is delivered at most
    /// once. A skip cannot be detected: a service missing from one dump is
    /// not proof that it is gone ([`Ipvs::service`] asks for it by id).
    /// A service that changed during the dump shows one of its states.
    pub fn for_each_service(&self, mut f: impl FnMut(ServiceEntry) -> Result<()>) -> Result<()> {
        let mut seen = HashSet::new();
        self.run(&Request::dump_services(), &mut |p| {
            let entry = parse_service_reply(p)?;
            if seen.insert(entry.service.id) {
                f(entry)?;
            }
            Ok(())
        })
    }

    /// Streams every service of the namespace with its destinations to `f`,
    /// reading the table in one pass: the service dump is read as it comes,
    /// and the destinations of each group of services are fetched on a
    /// second socket while the service dump waits, so memory stays bounded
    /// by a few dozen services whatever the size of the table. An error
    /// from `f` stops the delivery and is returned. As with
    /// [`Ipvs::for_each_service`], `f` must not use this handle.
    ///
    /// Like the kernel's dumps themselves, this is no atomic snapshot: a
    /// change made meanwhile by someone else may or may not show, and the
    /// promises of [`Ipvs::for_each_service`] hold (each service at most
    /// once; a skipped service is possible under concurrent change).
    pub fn for_each_service_with_destinations(
        &self,
        mut f: impl FnMut(ServiceEntry, Vec<DestinationEntry>) -> Result<()>,
    ) -> Result<()> {
        // Lock order: the main socket, then the dump socket.
        let mut main = self.lock();
        let mut dumper = self.dumper.lock();
        let window = DELIVERY_WINDOW;
        let mut pending: Vec<ServiceEntry> = Vec::with_capacity(window);
        let mut seen = HashSet::new();
        let family = &self.family;
        let mut deliver = |pending: &mut Vec<ServiceEntry>| -> Result<()> {
            let dests = fetch_destinations(&mut dumper, family, pending)?;
            for (service, dests) in pending.drain(..).zip(dests) {
                f(service, dests)?;
            }
            Ok(())
        };
        run_on(&mut main, family, &Request::dump_services(), &mut |p| {
            let entry = parse_service_reply(p)?;
            if !seen.insert(entry.service.id) {
                return Ok(());
            }
            pending.push(entry);
            if pending.len() >= window {
                deliver(&mut pending)?;
            }
            Ok(())
        })?;
        deliver(&mut pending)
    }

    /// Every service with its destinations, read in one pass (see
    /// [`Ipvs::for_each_service_with_destinations`]).
    pub fn services_with_destinations(&self) -> Result<Vec<(ServiceEntry, Vec<DestinationEntry>)>> {
        let mut all = Vec::new();
        self.for_each_service_with_destinations(|s, d| {
            all.push((s, d));
            Ok(())
        })?;
        Ok(all)
    }

    /// Adds a destination to a service (`IPVS_CMD_NEW_DEST`).
    pub fn add_destination(&self, service: &ServiceId, destination: &Destination) -> Result<()> {
        self.execute(&Op::AddDestination(*service, *destination))
    }

    /// Replaces a destination's settings (`IPVS_CMD_SET_DEST`): forwarding,
    /// weight, thresholds and tunnel settings.
    pub fn update_destination(&self, service: &ServiceId, destination: &Destination) -> Result<()> {
        self.execute(&Op::UpdateDestination(*service, *destination))
    }

    /// Deletes the destination at `addr` from a service (`IPVS_CMD_DEL_DEST`).
    pub fn delete_destination(&self, service: &ServiceId, addr: SocketAddr) -> Result<()> {
        self.execute(&Op::DeleteDestination(*service, addr))
    }

    /// Lists the destinations of a service (an `IPVS_CMD_GET_DEST` dump),
    /// newest first as the kernel keeps them. [`Error::ServiceNotFound`] if
    /// the service does not exist (the kernel's dump alone cannot tell).
    pub fn destinations(&self, service: &ServiceId) -> Result<Vec<DestinationEntry>> {
        let all = dump_destinations(&mut self.lock(), &self.family, service)?;
        if all.is_empty() {
            // An empty dump: no destinations, or no service?
            self.service(service)?;
        }
        Ok(all)
    }

    /// Deletes every service and destination of the namespace
    /// (`IPVS_CMD_FLUSH`).
    pub fn flush(&self) -> Result<()> {
        self.command(Request::flush())
    }

    /// Zeroes the counters of every service and destination, and the global
    /// totals (`IPVS_CMD_ZERO`).
    pub fn zero_all(&self) -> Result<()> {
        self.command(Request::zero(None)?)
    }

    /// Zeroes the counters of one service and its destinations.
    pub fn zero_service(&self, id: &ServiceId) -> Result<()> {
        self.command(Request::zero(Some(id))?)
    }

    /// Reads the kernel's connection timeouts (`IPVS_CMD_GET_CONFIG`).
    pub fn connection_timeouts(&self) -> Result<ConnectionTimeouts> {
        self.query(Request::get_config(), parse_config)
    }

    /// Sets the kernel's connection timeouts (`IPVS_CMD_SET_CONFIG`); a 0
    /// keeps that timeout as it is.
    pub fn set_connection_timeouts(&self, timeouts: &ConnectionTimeouts) -> Result<()> {
        self.command(Request::set_config(timeouts)?)
    }

    /// Starts a connection sync daemon (`IPVS_CMD_NEW_DAEMON`);
    /// [`Error::LinkNotFound`] if its interface does not exist.
    pub fn start_daemon(&self, daemon: &SyncDaemon) -> Result<()> {
        self.command(Request::start_daemon(daemon)?)
    }

    /// Stops the sync daemon of `role` (`IPVS_CMD_DEL_DAEMON`);
    /// [`Error::DaemonNotRunning`] if none runs.
    ///
    /// A daemon stopped right after it was started (before its thread
    /// ran) is stopped, but the kernel sends no answer at all (the
    /// thread's `EINTR` suppresses the acknowledgement). That silence ends
    /// after the reply timeout; the daemons are then read back, and if
    /// none of `role` runs any more the stop succeeded (`Ok`). Only if it
    /// still runs is the result [`Error::Timeout`].
    pub fn stop_daemon(&self, role: SyncRole) -> Result<()> {
        match self.command(Request::stop_daemon(role)) {
            Err(Error::Timeout(waited)) => {
                if self.daemons()?.iter().any(|d| d.role == role) {
                    Err(Error::Timeout(waited))
                } else {
                    Ok(())
                }
            }
            result => result,
        }
    }

    /// Lists the running sync daemons (an `IPVS_CMD_GET_DAEMON` dump).
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>> {
        let mut all = Vec::new();
        self.run(&Request::dump_daemons(), &mut |p| {
            all.push(parse_daemon_reply(p)?);
            Ok(())
        })?;
        Ok(all)
    }
}

/// Sends one IPVS request on `transport` and hands each reply payload to
/// `on_data`; a kernel error gets the request's meaning.
fn run_on(
    transport: &mut Transport,
    family: &AtomicU16,
    request: &Request,
    on_data: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let id = family.load(Ordering::Relaxed);
    let mut bytes = request.encode(id);
    match transport.request(&mut bytes, request.name, id, on_data) {
        // The kernel answers ENOENT to a message of a family id it does
        // not know, as IPVS does for what it has not got.
        Err(e) if e.errno() == Some(libc::ENOENT) => {
            Err(family_gone(transport, family).unwrap_or_else(|| request.error(e)))
        }
        result => result.map_err(|e| request.error(e)),
    }
}

/// See [`Ipvs::family_gone`].
fn family_gone(transport: &mut Transport, family: &AtomicU16) -> Option<Error> {
    let id = family.load(Ordering::Relaxed);
    match genl::resolve(transport, IPVS_GENL_NAME) {
        Ok(Some(f)) if f.id == id => None,
        Ok(Some(f)) => {
            family.store(f.id, Ordering::Relaxed);
            Some(Error::FamilyGone { reloaded: true })
        }
        Ok(None) => Some(Error::FamilyGone { reloaded: false }),
        Err(_) => None,
    }
}

/// The destinations of one service, by a `GET_DEST` dump on `transport`.
fn dump_destinations(
    transport: &mut Transport,
    family: &AtomicU16,
    service: &ServiceId,
) -> Result<Vec<DestinationEntry>> {
    let request = Request::dump_destinations(service)?;
    let af = service.family();
    let mut dests = Vec::new();
    run_on(transport, family, &request, &mut |p| {
        dests.push(parse_dest_reply(p, af)?);
        Ok(())
    })?;
    Ok(dests)
}

/// The destinations of each of `services`, one `GET_DEST` dump each (the
/// kernel runs one dump per socket at a time, and a destination dump that
/// found anything ends only in a second round, so dumps cannot be
/// pipelined on one socket; each costs a send and one receive call).
fn fetch_destinations(
    dumper: &mut Transport,
    family: &AtomicU16,
    services: &[ServiceEntry],
) -> Result<Vec<Vec<DestinationEntry>>> {
    services
        .iter()
        .map(|s| dump_destinations(dumper, family, &s.service.id))
        .collect()
}
