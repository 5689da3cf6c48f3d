//! Dummy links and addresses over rtnetlink: what kube-proxy does with
//! `kube-ipvs0`, the link down that holds every virtual IP so that the
//! kernel delivers their packets locally, where IPVS picks them up.
//!
//! Requests are written with the crate's own attribute writer, after the
//! fixed `ifinfomsg` or `ifaddrmsg` header (`request.rs`); replies are
//! read attribute by attribute through checked views, only the attributes
//! this module needs, so that an attribute this crate does not know (a
//! newer kernel's, say) never breaks a dump (`reply.rs`).

mod reply;
mod request;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::HashSet;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};

use crate::error::{Error, Result};
use crate::netlink::{Channel, Namespace};
// For the fuzz entry point (`internals::decode_datagram`).
pub(crate) use reply::{parse_address, parse_link};
use request::{
    address_request, del_link_request, dump_addresses_request, dump_links_request,
    get_link_request, new_dummy_request, set_up_request,
};
use validate::{checked_prefix, validate_name};

const NETLINK_ROUTE: isize = netlink_sys::protocols::NETLINK_ROUTE;

// rtnetlink message types (linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;

// Attributes (linux/if_link.h, linux/if_addr.h).
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG_LEN: usize = 16;
/// `sizeof(struct ifaddrmsg)`.
const IFADDRMSG_LEN: usize = 8;
/// `IFNAMSIZ`: a link name is at most 15 bytes and its NUL.
const IFNAMSIZ: usize = 16;

const IFF_UP: u32 = libc::IFF_UP as u32;
const IFF_LOOPBACK: u32 = libc::IFF_LOOPBACK as u32;
const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

/// The kind of the links [`Links::ensure_dummy`] makes.
const DUMMY: &str = "dummy";

/// A handle on the links and addresses of one network namespace.
///
/// It owns one rtnetlink socket, bound in the namespace where the handle
/// was opened: every request acts on that namespace, for the handle's
/// whole life, whichever thread makes it.
///
/// `Links` is `Send` and `Sync`. Requests are serialised by a mutex held
/// from sending a request until its last reply is read. Every wait for the
/// kernel is bounded by the handle's reply timeout (10 s by default,
/// [`Links::set_reply_timeout`]).
///
/// Link names are checked before anything is sent, as the kernel checks
/// them (`dev_valid_name`): 1 to 15 bytes, not `.` or `..`, without `/`,
/// `:`, `%`, whitespace or NUL. A name that breaks these rules gives
/// [`Error::Invalid`] with the field `"link.name"`.
#[derive(Debug)]
pub struct Links {
    channel: Channel,
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// The interface index (`ifindex`), unique in its namespace.
    pub index: u32,
    /// The interface name (`IFLA_IFNAME`).
    pub name: String,
    /// The link's kind (`IFLA_INFO_KIND`: `"dummy"`, `"veth"`, `"bridge"`,
    /// …), `None` for a link without one, like `lo` or a physical NIC.
    pub kind: Option<String>,
    /// Whether the link is administratively up (`IFF_UP`).
    pub up: bool,
    /// The raw `IFF_*` flags of the link (`ifi_flags`).
    pub flags: u32,
}

impl Link {
    /// Whether this is the namespace's loopback link (`IFF_LOOPBACK`).
    pub fn is_loopback(&self) -> bool {
        self.flags & IFF_LOOPBACK != 0
    }
}

/// An address on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    /// The address itself (`IFA_LOCAL`, or `IFA_ADDRESS` without it).
    pub addr: IpAddr,
    /// The length of its network prefix, in bits.
    pub prefix_len: u8,
    /// The index of the link it is on.
    pub link_index: u32,
    /// Its scope (`RT_SCOPE_*`): 0 universe (global), 253 link, 254 host.
    pub scope: u8,
}

impl Links {
    /// Opens a handle in the calling thread's network namespace.
    pub fn open() -> Result<Self> {
        Self::open_in(Namespace::Current)
    }

    /// Opens a handle whose socket lives in the network namespace at
    /// `path`, e.g. `/run/netns/NAME` or `/proc/PID/ns/net`. The calling
    /// thread stays in its own namespace: a short-lived helper thread
    /// enters the namespace, creates the socket, and ends.
    pub fn open_in_netns_path(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_in(Namespace::Path(path.as_ref()))
    }

    /// Like [`Links::open_in_netns_path`], with an open namespace file
    /// descriptor.
    pub fn open_in_netns_fd(netns: impl AsFd) -> Result<Self> {
        Self::open_in(Namespace::Fd(netns.as_fd()))
    }

    fn open_in(namespace: Namespace<'_>) -> Result<Self> {
        let [channel] = Channel::open::<1>(NETLINK_ROUTE, namespace)?;
        Ok(Links { channel })
    }

    /// The time the kernel may stay silent while a reply is awaited.
    pub fn reply_timeout(&self) -> Duration {
        self.channel.reply_timeout()
    }

    /// Sets the time the kernel may stay silent while a reply is awaited
    /// (at least a microsecond; the socket's `SO_RCVTIMEO`).
    pub fn set_reply_timeout(&self, timeout: Duration) -> Result<()> {
        self.channel.set_reply_timeout(timeout)
    }

    /// Sends one request and hands the payload of each reply, which must
    /// be of type `expect`, to `on_data`. Kernel errors get their variant
    /// ([`link_error`]).
    fn run(
        &self,
        mut request: Vec<u8>,
        name: &'static str,
        expect: u16,
        on_data: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.channel
            .lock()
            .request(&mut request, name, expect, on_data)
            .map_err(link_error)
    }

    /// Sends a request answered by an acknowledgement only.
    fn command(&self, request: Vec<u8>, name: &'static str) -> Result<()> {
        self.run(request, name, 0, &mut |_| {
            Err(Error::Protocol(format!("{name}: unexpected data reply")))
        })
    }

    /// The link named `name`; [`Error::LinkNotFound`] if there is none.
    fn get_link(&self, name: &str) -> Result<Link> {
        validate_name(name)?;
        let mut found = None;
        self.run(
            get_link_request(name),
            "RTM_GETLINK",
            RTM_NEWLINK,
            &mut |p| {
                found = Some(parse_link(p)?);
                Ok(())
            },
        )?;
        found.ok_or_else(|| Error::Protocol("RTM_GETLINK: no reply".into()))
    }

    /// The link named `name` (an `RTM_GETLINK` by `IFLA_IFNAME`), `None`
    /// if there is none.
    pub fn link(&self, name: &str) -> Result<Option<Link>> {
        match self.get_link(name) {
            Ok(link) => Ok(Some(link)),
            Err(Error::LinkNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every link of the namespace (an `RTM_GETLINK` dump), in the
    /// kernel's order.
    pub fn links(&self) -> Result<Vec<Link>> {
        let mut all = Vec::new();
        self.run(dump_links_request(), "RTM_GETLINK", RTM_NEWLINK, &mut |p| {
            all.push(parse_link(p)?);
            Ok(())
        })?;
        Ok(all)
    }

    /// Makes sure a link of kind `dummy` named `name` exists, creating it
    /// (down) if it does not, and returns it. Calling it again is a no-op
    /// returning the same link. It never sets the link up.
    ///
    /// If a link of that name exists with another kind (or none, like
    /// `lo`), nothing is changed and the answer is
    /// [`Error::WrongLinkKind`].
    pub fn ensure_dummy(&self, name: &str) -> Result<Link> {
        if let Some(link) = self.link(name)? {
            return of_kind(link, DUMMY);
        }
        match self.command(new_dummy_request(name), "RTM_NEWLINK") {
            // Made by someone else since the lookup: its kind is checked below.
            Ok(()) | Err(Error::AlreadyExists(_)) => {}
            Err(e) => return Err(e),
        }
        of_kind(self.get_link(name)?, DUMMY)
    }

    /// Sets the link `name` administratively up or down (`IFF_UP`);
    /// [`Error::LinkNotFound`] if there is no such link.
    pub fn set_up(&self, name: &str, up: bool) -> Result<()> {
        validate_name(name)?;
        self.command(set_up_request(name, up), "RTM_SETLINK")
    }

    /// Deletes the dummy link `name`, and with it its addresses. A missing
    /// link is not an error; a link of another kind is not deleted and
    /// gives [`Error::WrongLinkKind`].
    pub fn delete_dummy(&self, name: &str) -> Result<()> {
        let Some(link) = self.link(name)? else {
            return Ok(());
        };
        let link = of_kind(link, DUMMY)?;
        // By index: the link checked is the link deleted.
        match self.command(del_link_request(link.index), "RTM_DELLINK") {
            Ok(()) | Err(Error::LinkNotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds `addr` to the link `link` with a prefix of `prefix_len` bits
    /// (by default /32 for IPv4, /128 for IPv6). An address that is there
    /// already is not an error (for IPv6 the kernel compares the address
    /// only, not the prefix). [`Error::LinkNotFound`] if there is no such
    /// link; [`Error::Invalid`] (`"address.prefix_len"`) for a prefix
    /// longer than the address.
    pub fn add_address(&self, link: &str, addr: IpAddr, prefix_len: Option<u8>) -> Result<()> {
        let prefix_len = checked_prefix(addr, prefix_len)?;
        let index = self.get_link(link)?.index;
        let request = address_request(
            RTM_NEWADDR,
            NLM_F_CREATE | NLM_F_EXCL,
            index,
            addr,
            prefix_len,
        );
        match self.command(request, "RTM_NEWADDR") {
            Ok(()) | Err(Error::AlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes `addr`/`prefix_len` (by default /32 or /128) from the link
    /// `link`. An address that is not there (with that prefix) is not an
    /// error; [`Error::LinkNotFound`] if there is no such link.
    pub fn delete_address(&self, link: &str, addr: IpAddr, prefix_len: Option<u8>) -> Result<()> {
        let prefix_len = checked_prefix(addr, prefix_len)?;
        let index = self.get_link(link)?.index;
        let request = address_request(RTM_DELADDR, 0, index, addr, prefix_len);
        match self.command(request, "RTM_DELADDR") {
            Ok(()) => Ok(()),
            Err(e) if e.kernel().is_some_and(|k| k.errno == libc::EADDRNOTAVAIL) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The IPv4 and IPv6 addresses of the link `link`, in the kernel's
    /// order; [`Error::LinkNotFound`] if there is no such link.
    pub fn addresses(&self, link: &str) -> Result<Vec<Address>> {
        let index = self.get_link(link)?.index;
        let mut found = Vec::new();
        // The kernel filters the dump by index only for sockets with
        // strict checking on; filter here too.
        self.dump_addresses(Some(index), &mut |a| {
            if a.link_index == index {
                found.push(a);
            }
        })?;
        Ok(found)
    }

    /// The namespace's own addresses, IPv4 and IPv6, as kube-proxy counts
    /// them for NodePorts: every address except those of the link `link`
    /// (a missing `link` excludes nothing), loopback addresses (`127/8`,
    /// `::1`, and any address on a loopback link) and IPv6 link-local ones
    /// (`fe80::/10`). Each address is listed once, in the kernel's order.
    ///
    /// One link dump (to know `link`'s index and the loopback links) and
    /// one address dump of every family.
    pub fn local_addresses_except(&self, link: &str) -> Result<Vec<IpAddr>> {
        validate_name(link)?;
        let mut excluded = HashSet::new();
        for l in self.links()? {
            if l.name == link || l.is_loopback() {
                excluded.insert(l.index);
            }
        }
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        self.dump_addresses(None, &mut |a| {
            if !excluded.contains(&a.link_index) && is_node_address(a.addr) && seen.insert(a.addr) {
                found.push(a.addr);
            }
        })?;
        Ok(found)
    }

    /// One `RTM_GETADDR` dump of every family; addresses of families other
    /// than IPv4 and IPv6 are skipped.
    fn dump_addresses(&self, index: Option<u32>, f: &mut dyn FnMut(Address)) -> Result<()> {
        self.run(
            dump_addresses_request(index),
            "RTM_GETADDR",
            RTM_NEWADDR,
            &mut |p| {
                if let Some(a) = parse_address(p)? {
                    f(a);
                }
                Ok(())
            },
        )
    }
}

/// What a kernel error means for a link or address request: `ENODEV` is
/// [`Error::LinkNotFound`] (the link named or indexed is not there); other
/// errnos get the crate's errno-only variants ([`Error::AlreadyExists`],
/// [`Error::PermissionDenied`], …). Errors not from the kernel pass as
/// they are.
fn link_error(e: Error) -> Error {
    match e {
        Error::Kernel(k) if k.errno == libc::ENODEV => Error::LinkNotFound(k),
        Error::Kernel(k) => Error::by_errno(k),
        other => other,
    }
}

/// `link` if it is of kind `wanted`, else [`Error::WrongLinkKind`].
fn of_kind(link: Link, wanted: &'static str) -> Result<Link> {
    if link.kind.as_deref() == Some(wanted) {
        return Ok(link);
    }
    Err(Error::WrongLinkKind {
        name: link.name,
        kind: link.kind.unwrap_or_default(),
        wanted,
    })
}

/// Whether `addr` is one of kube-proxy's node addresses: not loopback, not
/// IPv6 link-local.
fn is_node_address(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_loopback(),
        IpAddr::V6(a) => !a.is_loopback() && (a.segments()[0] & 0xffc0) != 0xfe80,
    }
}
