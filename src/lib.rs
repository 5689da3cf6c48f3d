//! Program the Linux kernel's IP Virtual Server (IPVS) over generic
//! netlink, from safe, synchronous Rust.
//!
//! `lvs` is a typed binding of the kernel's `"IPVS"` generic netlink family:
//! virtual services (TCP, UDP or SCTP on an address and port, or a firewall
//! mark; IPv4 and IPv6), their destinations (real servers) with every
//! forwarding method (NAT, direct routing, IP-in-IP/GUE/GRE tunnels, local),
//! every in-kernel scheduler, persistence, statistics, timeouts, the
//! connection sync daemon, zeroing and flushing. [`Links`] adds the dummy
//! links and addresses that kube-proxy puts its service addresses on.
//!
//! # Quick start
//!
//! ```no_run
//! use lvs::{Destination, Forwarding, Ipvs, Scheduler, Service, ServiceId};
//!
//! # fn main() -> lvs::Result<()> {
//! // Needs CAP_NET_ADMIN; acts on the calling thread's network namespace
//! // (or use Ipvs::open_in_netns_path("/run/netns/NAME")).
//! let ipvs = Ipvs::open()?;
//! let vip = ServiceId::tcp("10.96.0.10:8080".parse().unwrap());
//! ipvs.add_service(&Service::new(vip).with_scheduler(Scheduler::RoundRobin))?;
//! for pod in ["10.244.1.5:80", "10.244.2.7:80"] {
//!     let dest = Destination::new(pod.parse().unwrap()).with_forwarding(Forwarding::Masquerade);
//!     ipvs.add_destination(&vip, &dest)?;
//! }
//! for entry in ipvs.services()? {
//!     println!("{} {}", entry.service.id, entry.service.scheduler);
//!     for d in ipvs.destinations(&entry.service.id)? {
//!         println!("  -> {} weight {}", d.destination.addr, d.destination.weight);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Model
//!
//! The kernel's rules are types: a service is identified by a [`ServiceId`]
//! (protocol and socket address, or firewall mark and family); what you
//! write is a [`Service`] or [`Destination`], what you read back is a
//! [`ServiceEntry`] or [`DestinationEntry`] whose `service` / `destination`
//! compares equal to what was written, with counters ([`Stats`]) and any
//! attribute this version does not know ([`RawAttribute`]) beside it. Ports
//! are host order everywhere in the API. Values the kernel may send that
//! this version does not name (a new scheduler, tunnel type, flag bit) are
//! kept ([`Scheduler::Other`], [`TunnelType::Other`], unknown flag bits,
//! [`RawAttribute`]), never a parse failure.
//!
//! Requests are validated before they are sent where the kernel would
//! reject a value obscurely or silently change it ([`Error::Invalid`] names
//! the field). Kernel errors keep their errno and extended-ACK text and get
//! a variant each for the common cases ([`Error::ServiceNotFound`],
//! [`Error::AlreadyExists`], …).
//!
//! # Many rules at once
//!
//! A write is a value, an [`Op`], and the same value goes three ways: one
//! at a time ([`Ipvs::execute`], which the verbs such as
//! [`Ipvs::add_service`] wrap), queued in a [`Batch`] and sent with
//! [`Ipvs::apply_batch`], or streamed through [`Ipvs::batch_writer`],
//! which sends each full window at once and so holds at most one window.
//! Batched writes go up to 256 per datagram, and each refusal comes back
//! as a [`Failure`]: its index, the [`Op`] itself and its typed error.
//!
//! ```no_run
//! use lvs::{Batch, Destination, Ipvs, Op, Service, ServiceId};
//! # fn main() -> lvs::Result<()> {
//! let ipvs = Ipvs::open()?;
//! let vip = ServiceId::tcp("10.96.0.10:80".parse().unwrap());
//! let mut batch = Batch::new();
//! batch.push(Op::AddService(Service::new(vip)))?;
//! batch.push(Op::AddDestination(vip, Destination::new("10.244.1.5:80".parse().unwrap())))?;
//! for failure in ipvs.apply_batch(&batch)?.failures() {
//!     eprintln!("{failure}");
//! }
//! # Ok(()) }
//! ```
//!
//! Reading and writing speak the same nouns:
//! [`Ipvs::virtual_servers`] reads the table as the [`VirtualServer`]s that
//! [`Ipvs::apply`] takes, and `apply` makes the table match a desired rule
//! set with the fewest changes (optionally draining leaving destinations as
//! kube-proxy does). [`Ipvs::for_each_service_with_destinations`] reads the
//! whole table in one pass, in bounded memory. A dump is no snapshot: see
//! [`Ipvs::for_each_service`] for what it promises.
//!
//! # Handles, threads and namespaces
//!
//! An [`Ipvs`] owns its netlink sockets and resolves the family once, when
//! it opens; opening fails with [`Error::NotSupported`] when the kernel has
//! no IPVS and with [`Error::PermissionDenied`] without `CAP_NET_ADMIN`. It
//! is `Send + Sync`; requests from several threads are serialised, and each
//! caller only ever reads the replies to its own request. Every wait is
//! bounded by the reply timeout ([`IpvsBuilder::reply_timeout`]). A handle
//! can be opened in another network namespace by path or file descriptor
//! ([`Ipvs::builder`]) without moving the calling thread.
//!
//! # Values
//!
//! Each kernel value has one spelling: `Scheduler::from("rr")` is
//! [`Scheduler::RoundRobin`], `Protocol::from(6)` is [`Protocol::Tcp`],
//! and the `Other` variants hold an [`Unnamed`] value that only these
//! conversions make, so what is written reads back equal. `Display` and
//! `FromStr` round-trip for [`ServiceId`], [`Protocol`], [`Scheduler`],
//! [`Forwarding`] and [`TunnelType`]. With the `serde` feature, the model
//! types serialize (a desired state kept in a file).
//!
//! # ipvsadm's formats, the connection table, the sysctls
//!
//! [`text`] reads and writes ipvsadm's words: its command lines, the rule
//! format of `ipvsadm -S` / `-R` (plus a superset that loses nothing) and
//! its `-L` listings, byte for byte. [`conn`] streams the connection table
//! (`/proc/net/ip_vs_conn`, which has no netlink command) as typed entries,
//! and [`sysctl`] reads and writes the `net.ipv4.vs.*` settings of a
//! namespace. The `lvsadm` example is ipvsadm rebuilt on them.
//!
//! # Kernel versions
//!
//! Tested against Linux 6.1. The attributes arrived over time: 64-bit
//! stats in 4.1, destination address family (mixed-family tunnels) in
//! 3.18, sync-daemon multicast settings in 4.3, tunnel types and GUE in
//! 5.2, GRE and tunnel flags in 5.3, the `mh` scheduler in 4.18 and `twos`
//! in 6.2. An older kernel ignores attributes it does not know, so a
//! setting it lacks is silently not applied; read the object back to check.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod apply;
mod batch;
pub mod conn;
mod error;
mod handle;
mod ipvs;
mod link;
mod netlink;
pub mod sysctl;
pub mod text;

pub use apply::{ApplyOptions, ApplyReport, VirtualServer};
pub use batch::{Batch, BatchReport, BatchWriter, Failure};
pub use error::{Error, KernelError, Result};
pub use handle::{Ipvs, IpvsBuilder};
pub use ipvs::config::{ConnectionTimeouts, Info, Version};
pub use ipvs::daemon::{SyncDaemon, SyncRole};
pub use ipvs::destination::{
    Destination, DestinationEntry, Forwarding, MAX_WEIGHT, Tunnel, TunnelFlags, TunnelType,
};
pub use ipvs::op::Op;
pub use ipvs::scheduler::Scheduler;
pub use ipvs::service::{
    AddressFamily, MAX_PERSISTENCE_TIMEOUT, Netmask, Protocol, Service, ServiceEntry, ServiceFlags,
    ServiceId,
};
pub use ipvs::stats::Stats;
pub use ipvs::{RawAttribute, Unnamed};
pub use link::{Address, Link, Links};

#[cfg(any(test, feature = "__internals"))]
#[doc(hidden)]
pub mod internals;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod test_rng;
