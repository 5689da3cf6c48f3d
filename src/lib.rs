mod error;
mod handle;
mod ipvs;
mod netlink;
mod netns;

pub use error::{Error, KernelError, Result};
pub use handle::Ipvs;
pub use ipvs::config::{Info, Timeouts, Version};
pub use ipvs::daemon::{SyncDaemon, SyncRole};
pub use ipvs::destination::{
    Destination, DestinationEntry, Forwarding, Tunnel, TunnelFlags, TunnelType, MAX_WEIGHT,
};
pub use ipvs::scheduler::Scheduler;
pub use ipvs::service::{
    AddressFamily, Netmask, Protocol, Service, ServiceEntry, ServiceFlags, ServiceId,
    MAX_PERSISTENCE_TIMEOUT,
};
pub use ipvs::stats::Stats;
pub use ipvs::RawAttribute;
