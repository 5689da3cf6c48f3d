//! Desired-state apply: compare the rule set a controller wants with the
//! kernel's table and make the fewest changes, as one batch.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;

use crate::batch::{Batch, Failure};
use crate::error::{Error, Result};
use crate::handle::Ipvs;
use crate::ipvs::destination::{Destination, DestinationEntry};
use crate::ipvs::op::Op;
use crate::ipvs::service::{Protocol, Service, ServiceEntry, ServiceId};

/// A virtual service with its destinations: one element of a desired rule
/// set for [`Ipvs::apply`], and what [`Ipvs::virtual_servers`] reads back,
/// so that a read-modify-apply needs no glue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VirtualServer {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<Destination>,
}

impl VirtualServer {
    /// A service with no destinations yet.
    pub fn new(service: Service) -> Self {
        VirtualServer {
            service,
            destinations: Vec::new(),
        }
    }

    /// Appends a destination (the one `with_*` of the crate that adds: a
    /// virtual server has many destinations).
    #[must_use]
    pub fn with_destination(mut self, destination: Destination) -> Self {
        self.destinations.push(destination);
        self
    }
}

impl From<(ServiceEntry, Vec<DestinationEntry>)> for VirtualServer {
    /// A service read from the kernel with its destinations, as settings
    /// only (counters dropped).
    fn from((service, destinations): (ServiceEntry, Vec<DestinationEntry>)) -> Self {
        VirtualServer {
            service: service.service,
            destinations: destinations.into_iter().map(|d| d.destination).collect(),
        }
    }
}

/// How [`Ipvs::apply`] treats the kernel's table.
pub struct ApplyOptions<'a> {
    scope: Box<dyn Fn(&ServiceId) -> bool + 'a>,
    graceful: bool,
}

impl fmt::Debug for ApplyOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("graceful", &self.graceful)
            .finish_non_exhaustive()
    }
}

impl Default for ApplyOptions<'_> {
    fn default() -> Self {
        ApplyOptions {
            scope: Box::new(|_| true),
            graceful: false,
        }
    }
}

impl<'a> ApplyOptions<'a> {
    /// Every service of the namespace is in scope, removal is immediate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only services for which `owned` is true are compared, changed or
    /// removed; every other service of the table is left alone (another
    /// controller's, say). Every desired service must be in scope.
    #[must_use]
    pub fn scope(mut self, owned: impl Fn(&ServiceId) -> bool + 'a) -> Self {
        self.scope = Box::new(owned);
        self
    }

    /// Graceful removal, as kube-proxy's graceful termination does it: a
    /// destination leaving the set is deleted at once when it has no active
    /// and no inactive connections, and always at once in a UDP or SCTP
    /// service; otherwise it is set to weight 0 (no new connections),
    /// reported in [`ApplyReport::draining_destinations`], and deleted by a
    /// later apply once its connections are gone. A draining destination
    /// that is desired again is restored to its desired settings.
    #[must_use]
    pub fn graceful(mut self, graceful: bool) -> Self {
        self.graceful = graceful;
        self
    }
}

/// What an [`Ipvs::apply`] changed.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ApplyReport {
    /// Services added.
    pub added_services: Vec<ServiceId>,
    /// Services whose settings were changed.
    pub updated_services: Vec<ServiceId>,
    /// Services deleted (with their destinations).
    pub removed_services: Vec<ServiceId>,
    /// Destinations added.
    pub added_destinations: Vec<(ServiceId, SocketAddr)>,
    /// Destinations whose settings were changed.
    pub updated_destinations: Vec<(ServiceId, SocketAddr)>,
    /// Destinations deleted.
    pub removed_destinations: Vec<(ServiceId, SocketAddr)>,
    /// Destinations being drained (graceful removal): set to weight 0 by
    /// this apply, or still holding connections from an earlier one.
    pub draining_destinations: Vec<(ServiceId, SocketAddr)>,
    /// Operations the kernel refused, with its errors. The rest applied.
    pub failures: Vec<Failure>,
}

impl ApplyReport {
    /// How many changes were sent to the kernel.
    pub fn changes(&self) -> usize {
        self.added_services.len()
            + self.updated_services.len()
            + self.removed_services.len()
            + self.added_destinations.len()
            + self.updated_destinations.len()
            + self.removed_destinations.len()
    }

    /// Whether every change succeeded.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The kernel's view of one in-scope service.
struct Current {
    service: Service,
    destinations: Vec<DestinationEntry>,
}

/// Checks the desired set: in scope, no service or destination twice, and
/// every value valid (so that nothing is applied when anything is wrong).
fn check(desired: &[VirtualServer], options: &ApplyOptions<'_>) -> Result<()> {
    let mut ids = HashSet::new();
    for vs in desired {
        let id = vs.service.id;
        vs.service.validate()?;
        if !(options.scope)(&id) {
            return Err(Error::invalid(
                "desired.service",
                format!("{id} is outside the scope"),
            ));
        }
        if !ids.insert(id) {
            return Err(Error::invalid(
                "desired.service",
                format!("{id} is listed twice"),
            ));
        }
        let mut addrs = HashSet::new();
        for d in &vs.destinations {
            d.validate(id.family())?;
            if !addrs.insert(d.addr) {
                return Err(Error::invalid(
                    "desired.destination",
                    format!("{} is listed twice in {id}", d.addr),
                ));
            }
        }
    }
    Ok(())
}

impl Ipvs {
    /// Makes the kernel's table match `desired` within the options' scope,
    /// with the fewest changes: reads the table in one pass
    /// ([`Ipvs::for_each_service_with_destinations`]), computes what to
    /// add, update and remove, and sends it as one [`Batch`]. Applying the
    /// same set twice changes nothing the second time and costs only the
    /// read.
    ///
    /// The desired set is checked first (every service in scope, none
    /// listed twice, every value valid): if anything is wrong, nothing is
    /// sent. Operations the kernel refuses are listed in the report's
    /// `failures`; the others are applied (a batch is not a transaction).
    pub fn apply(
        &self,
        desired: &[VirtualServer],
        options: &ApplyOptions<'_>,
    ) -> Result<ApplyReport> {
        check(desired, options)?;
        let mut current: HashMap<ServiceId, Current> = HashMap::new();
        self.for_each_service_with_destinations(|entry, destinations| {
            if (options.scope)(&entry.service.id) {
                current.insert(
                    entry.service.id,
                    Current {
                        service: entry.service,
                        destinations,
                    },
                );
            }
            Ok(())
        })?;

        let mut report = ApplyReport::default();
        let mut batch = Batch::new();
        let wanted: HashSet<ServiceId> = desired.iter().map(|vs| vs.service.id).collect();
        // Services that are no longer wanted go first, freeing nothing the
        // rest needs but keeping the order easy to follow.
        let mut gone: Vec<ServiceId> = current
            .keys()
            .filter(|id| !wanted.contains(id))
            .copied()
            .collect();
        gone.sort();
        for id in gone {
            batch.push(Op::DeleteService(id))?;
            report.removed_services.push(id);
        }
        for vs in desired {
            let id = vs.service.id;
            match current.get(&id) {
                None => {
                    batch.push(Op::AddService(vs.service.clone()))?;
                    report.added_services.push(id);
                    for d in &vs.destinations {
                        batch.push(Op::AddDestination(id, *d))?;
                        report.added_destinations.push((id, d.addr));
                    }
                }
                Some(cur) => {
                    diff_service(&mut batch, &mut report, vs, cur, options.graceful)?;
                }
            }
        }
        if batch.is_empty() {
            return Ok(report);
        }
        let failures = self.apply_batch(&batch)?.into_failures();
        self.reconcile(desired, options, failures, &mut report)?;
        Ok(report)
    }

    /// Every service of the namespace with its destinations, as the
    /// [`VirtualServer`]s that [`Ipvs::apply`] takes (read in one pass,
    /// see [`Ipvs::for_each_service_with_destinations`]).
    pub fn virtual_servers(&self) -> Result<Vec<VirtualServer>> {
        let mut all = Vec::new();
        self.for_each_service_with_destinations(|s, d| {
            all.push(VirtualServer::from((s, d)));
            Ok(())
        })?;
        Ok(all)
    }

    /// Mends what a dump hid: a desired service that the dump skipped (the
    /// kernel's service dump can skip one while another namespace changes
    /// its table) was sent as an add, and the kernel answered that it
    /// exists. Such a service is read by id and brought to its desired
    /// state; every other failure is reported.
    fn reconcile(
        &self,
        desired: &[VirtualServer],
        options: &ApplyOptions<'_>,
        failures: Vec<Failure>,
        report: &mut ApplyReport,
    ) -> Result<()> {
        let mut skipped: HashSet<ServiceId> = HashSet::new();
        for f in &failures {
            if let (Op::AddService(s), Error::AlreadyExists(_)) = (&f.op, &f.error) {
                skipped.insert(s.id);
            }
        }
        let mut mended = Batch::new();
        for vs in desired.iter().filter(|vs| skipped.contains(&vs.service.id)) {
            let id = vs.service.id;
            let cur = Current {
                service: self.service(&id)?.service,
                destinations: self.destinations(&id)?,
            };
            report.added_services.retain(|s| *s != id);
            report.added_destinations.retain(|(s, _)| *s != id);
            diff_service(&mut mended, report, vs, &cur, options.graceful)?;
        }
        report.failures = failures
            .into_iter()
            .filter(|f| !skipped.contains(&f.op.service()))
            .collect();
        if !mended.is_empty() {
            report
                .failures
                .extend(self.apply_batch(&mended)?.into_failures());
        }
        Ok(())
    }
}

/// Queues what brings the kernel's `cur` to the desired `vs`.
fn diff_service(
    batch: &mut Batch,
    report: &mut ApplyReport,
    vs: &VirtualServer,
    cur: &Current,
    graceful: bool,
) -> Result<()> {
    let id = vs.service.id;
    if cur.service != vs.service {
        batch.push(Op::UpdateService(vs.service.clone()))?;
        report.updated_services.push(id);
    }
    diff_destinations(batch, report, id, vs, cur, graceful)
}

fn diff_destinations(
    batch: &mut Batch,
    report: &mut ApplyReport,
    id: ServiceId,
    vs: &VirtualServer,
    cur: &Current,
    graceful: bool,
) -> Result<()> {
    let have: HashMap<SocketAddr, &DestinationEntry> = cur
        .destinations
        .iter()
        .map(|d| (d.destination.addr, d))
        .collect();
    for d in &vs.destinations {
        match have.get(&d.addr) {
            None => {
                batch.push(Op::AddDestination(id, *d))?;
                report.added_destinations.push((id, d.addr));
            }
            Some(entry) if entry.destination != *d => {
                batch.push(Op::UpdateDestination(id, *d))?;
                report.updated_destinations.push((id, d.addr));
            }
            Some(_) => {}
        }
    }
    // kube-proxy's graceful termination deletes at once what holds no
    // connection, and every real server of a UDP or SCTP service (their
    // "connections" never end by themselves).
    let connectionless = matches!(
        id,
        ServiceId::Inet {
            protocol: Protocol::Udp | Protocol::Sctp,
            ..
        }
    );
    let wanted: HashSet<SocketAddr> = vs.destinations.iter().map(|d| d.addr).collect();
    let mut leaving: Vec<&DestinationEntry> = cur
        .destinations
        .iter()
        .filter(|d| !wanted.contains(&d.destination.addr))
        .collect();
    leaving.sort_by_key(|d| d.destination.addr);
    for entry in leaving {
        let addr = entry.destination.addr;
        let idle = entry.active_connections == 0 && entry.inactive_connections == 0;
        if !graceful || connectionless || idle {
            batch.push(Op::DeleteDestination(id, addr))?;
            report.removed_destinations.push((id, addr));
        } else if entry.destination.weight != 0 {
            batch.push(Op::UpdateDestination(id, entry.destination.with_weight(0)))?;
            report.updated_destinations.push((id, addr));
            report.draining_destinations.push((id, addr));
        } else {
            report.draining_destinations.push((id, addr));
        }
    }
    Ok(())
}
