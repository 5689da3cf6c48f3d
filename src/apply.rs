//! Desired-state apply: compare the rule set a controller wants with the
//! kernel's table and make the fewest changes, as one batch.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;

use crate::batch::{Batch, Op};
use crate::error::{Error, Result};
use crate::handle::Ipvs;
use crate::ipvs::destination::{Destination, DestinationEntry};
use crate::ipvs::service::{Service, ServiceId};

/// A virtual service with the destinations it should have: one element of
/// a desired rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// Adds a destination.
    pub fn with_destination(mut self, destination: Destination) -> Self {
        self.destinations.push(destination);
        self
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
    pub fn scope(mut self, owned: impl Fn(&ServiceId) -> bool + 'a) -> Self {
        self.scope = Box::new(owned);
        self
    }

    /// Graceful removal, as kube-proxy does for terminating endpoints: a
    /// destination leaving the set is first set to weight 0 (no new
    /// connections) and deleted by a later apply once it has no active or
    /// inactive connections left.
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
    pub failures: Vec<(Op, Error)>,
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
            batch.delete_service(&id)?;
            report.removed_services.push(id);
        }
        for vs in desired {
            let id = vs.service.id;
            match current.get(&id) {
                None => {
                    batch.add_service(&vs.service)?;
                    report.added_services.push(id);
                    for d in &vs.destinations {
                        batch.add_destination(&id, d)?;
                        report.added_destinations.push((id, d.addr));
                    }
                }
                Some(cur) => {
                    if cur.service != vs.service {
                        batch.update_service(&vs.service)?;
                        report.updated_services.push(id);
                    }
                    diff_destinations(&mut batch, &mut report, id, vs, cur, options.graceful)?;
                }
            }
        }
        if batch.is_empty() {
            return Ok(report);
        }
        for (_, op, e) in self.apply_batch(&batch)?.into_failures() {
            report.failures.push((op, e));
        }
        Ok(report)
    }
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
                batch.add_destination(&id, d)?;
                report.added_destinations.push((id, d.addr));
            }
            Some(entry) if entry.destination != *d => {
                batch.update_destination(&id, d)?;
                report.updated_destinations.push((id, d.addr));
            }
            Some(_) => {}
        }
    }
    let wanted: HashSet<SocketAddr> = vs.destinations.iter().map(|d| d.addr).collect();
    let mut leaving: Vec<&DestinationEntry> = cur
        .destinations
        .iter()
        .filter(|d| !wanted.contains(&d.destination.addr))
        .collect();
    leaving.sort_by_key(|d| d.destination.addr);
    for entry in leaving {
        let addr = entry.destination.addr;
        if !graceful {
            batch.delete_destination(&id, addr)?;
            report.removed_destinations.push((id, addr));
        } else if entry.destination.weight != 0 {
            batch.update_destination(&id, &entry.destination.with_weight(0))?;
            report.updated_destinations.push((id, addr));
            report.draining_destinations.push((id, addr));
        } else if entry.active_connections == 0 && entry.inactive_connections == 0 {
            batch.delete_destination(&id, addr)?;
            report.removed_destinations.push((id, addr));
        } else {
            report.draining_destinations.push((id, addr));
        }
    }
    Ok(())
}
