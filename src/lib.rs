mod error;
mod handle;
mod ipvs;
mod link;
mod netlink;
mod netns;

pub use error::{Error, KernelError, Result};
pub use handle::Ipvs;
pub use link::{Address, Link, Links};
pub use ipvs::RawAttribute;
pub use ipvs::config::{Info, Timeouts, Version};
pub use ipvs::daemon::{SyncDaemon, SyncRole};
pub use ipvs::destination::{
    Destination, DestinationEntry, Forwarding, MAX_WEIGHT, Tunnel, TunnelFlags, TunnelType,
};
pub use ipvs::scheduler::Scheduler;
pub use ipvs::service::{
    AddressFamily, MAX_PERSISTENCE_TIMEOUT, Netmask, Protocol, Service, ServiceEntry, ServiceFlags,
    ServiceId,
};
pub use ipvs::stats::Stats;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod golden;
