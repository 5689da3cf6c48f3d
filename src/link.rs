//! Dummy links and addresses over rtnetlink: what kube-proxy does with
//! `kube-ipvs0`, the link down that holds every virtual IP so that the
//! kernel delivers their packets locally, where IPVS picks them up.
//!
//! Requests are built from `netlink-packet-route`'s message types; replies
//! are read attribute by attribute through checked views, only the
//! attributes this module needs, so that an attribute that crate cannot
//! parse (a newer kernel's, say) never breaks a dump.

use std::collections::HashSet;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NlaBuffer, NlasIterator,
    Parseable,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressHeader, AddressMessage};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkInfo, LinkMessage,
};

use crate::error::{Error, Result};
use crate::netlink::{Channel, Namespace, build_message};

const NETLINK_ROUTE: isize = netlink_sys::protocols::NETLINK_ROUTE;

// rtnetlink message types (linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;

// Attributes read from replies.
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
    /// be of type `expect`, to `on_data`. Kernel errors get their variant.
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

/// `link` if it is of kind `wanted`, else [`Error::WrongLinkKind`].
/// What a kernel error means for a link or address request: `ENODEV` is
/// no such link; the rest by errno.
fn link_error(e: Error) -> Error {
    match e {
        Error::Kernel(k) if k.errno == libc::ENODEV => Error::LinkNotFound(k),
        Error::Kernel(k) => Error::by_errno(k),
        other => other,
    }
}

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

/// Refuses a name the kernel would refuse (`dev_valid_name`), or would
/// take as a template (`%d`), or could not hold (`IFNAMSIZ`).
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let bad = |reason: String| Err(Error::invalid("link.name", reason));
    if name.is_empty() {
        return bad("empty".into());
    }
    if name.len() >= IFNAMSIZ {
        return bad(format!(
            "{name:?} is {} bytes long, more than {}",
            name.len(),
            IFNAMSIZ - 1
        ));
    }
    if name == "." || name == ".." {
        return bad(format!("{name:?} is not a valid name"));
    }
    // The kernel's isspace() also takes 0xa0 (NBSP in Latin-1), which is
    // a byte of some UTF-8 characters.
    let is_space = |b: u8| b == b' ' || (0x09..=0x0d).contains(&b) || b == 0xa0;
    if let Some(b) = name
        .bytes()
        .find(|&b| b == 0 || b == b'/' || b == b':' || b == b'%' || is_space(b))
    {
        return bad(format!(
            "{name:?} contains {:?}, which a link name cannot contain",
            char::from(b)
        ));
    }
    Ok(())
}

/// The prefix length to use for `addr`: the host prefix by default, and
/// never longer than the address.
pub(crate) fn checked_prefix(addr: IpAddr, prefix_len: Option<u8>) -> Result<u8> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match prefix_len {
        None => Ok(max),
        Some(p) if p <= max => Ok(p),
        Some(p) => Err(Error::invalid(
            "address.prefix_len",
            format!("/{p} is longer than the {max} bits of {addr}"),
        )),
    }
}

/// Whether `addr` is one of kube-proxy's node addresses: not loopback, not
/// IPv6 link-local.
fn is_node_address(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_loopback(),
        IpAddr::V6(a) => !a.is_loopback() && (a.segments()[0] & 0xffc0) != 0xfe80,
    }
}

fn family_of(addr: IpAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// `RTEXT_FILTER_SKIP_STATS`: replies without the link's counters, which
/// nothing here reads (kernels before 4.19 ignore it).
fn skip_stats() -> LinkAttribute {
    LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats])
}

fn link_message(header: LinkHeader, attributes: Vec<LinkAttribute>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header = header;
    msg.attributes = attributes;
    msg
}

/// `RTM_GETLINK` of one link, by name.
pub(crate) fn get_link_request(name: &str) -> Vec<u8> {
    let msg = link_message(
        LinkHeader::default(),
        vec![LinkAttribute::IfName(name.to_owned()), skip_stats()],
    );
    build_message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
}

/// `RTM_GETLINK` dump of every link.
pub(crate) fn dump_links_request() -> Vec<u8> {
    let msg = link_message(LinkHeader::default(), vec![skip_stats()]);
    build_message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, &[], &msg)
}

/// `RTM_NEWLINK` creating a dummy link, down, failing if the name is taken.
pub(crate) fn new_dummy_request(name: &str) -> Vec<u8> {
    let msg = link_message(
        LinkHeader::default(),
        vec![
            LinkAttribute::IfName(name.to_owned()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Dummy)]),
        ],
    );
    build_message(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        &[],
        &msg,
    )
}

/// `RTM_SETLINK` changing `IFF_UP` only, on the link named `name`.
pub(crate) fn set_up_request(name: &str, up: bool) -> Vec<u8> {
    let header = LinkHeader {
        flags: if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        },
        change_mask: LinkFlags::Up,
        ..LinkHeader::default()
    };
    let msg = link_message(header, vec![LinkAttribute::IfName(name.to_owned())]);
    build_message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
}

/// `RTM_DELLINK` of the link with index `index`.
pub(crate) fn del_link_request(index: u32) -> Vec<u8> {
    let header = LinkHeader {
        index,
        ..LinkHeader::default()
    };
    let msg = link_message(header, Vec::new());
    build_message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &[], &msg)
}

/// `RTM_NEWADDR` or `RTM_DELADDR` of `addr`/`prefix_len` on link `index`,
/// with `IFA_LOCAL` and `IFA_ADDRESS` both set to the address (as `ip
/// addr` does; equal, they mean "no peer" for either family).
pub(crate) fn address_request(
    message_type: u16,
    extra_flags: u16,
    index: u32,
    addr: IpAddr,
    prefix_len: u8,
) -> Vec<u8> {
    let mut msg = AddressMessage::default();
    msg.header.family = family_of(addr);
    msg.header.prefix_len = prefix_len;
    msg.header.index = index;
    msg.attributes = vec![
        AddressAttribute::Local(addr),
        AddressAttribute::Address(addr),
    ];
    build_message(
        message_type,
        NLM_F_REQUEST | NLM_F_ACK | extra_flags,
        &[],
        &msg,
    )
}

/// `RTM_GETADDR` dump of every family (`AF_UNSPEC`), asking for the link
/// `index` only (which only a strict-checking socket gets).
pub(crate) fn dump_addresses_request(index: Option<u32>) -> Vec<u8> {
    let mut msg = AddressMessage::default();
    msg.header.index = index.unwrap_or(0);
    build_message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, &[], &msg)
}

/// The attributes of a reply after its fixed header of `header_len`
/// bytes, through checked views.
fn attributes(payload: &[u8], header_len: usize) -> impl Iterator<Item = Result<NlaBuffer<&[u8]>>> {
    NlasIterator::new(payload.get(header_len..).unwrap_or(&[])).map(|a| a.map_err(Error::decode))
}

/// Decodes an `RTM_NEWLINK` payload: the `ifinfomsg` header, the name and
/// the kind. Other attributes are not looked at.
pub(crate) fn parse_link(payload: &[u8]) -> Result<Link> {
    let header = LinkHeader::parse(payload).map_err(Error::decode)?;
    let mut name = None;
    let mut kind = None;
    for nla in attributes(payload, IFINFOMSG_LEN) {
        let nla = nla?;
        match nla.kind() {
            // Names are bytes to the kernel; a non-UTF-8 one is kept, lossily.
            IFLA_IFNAME => name = Some(c_string(nla.value())),
            IFLA_LINKINFO => kind = parse_info_kind(nla.value())?,
            _ => {}
        }
    }
    let name = name.ok_or_else(|| {
        Error::Decode(format!(
            "link {} has no name (IFLA_IFNAME missing)",
            header.index
        ))
    })?;
    let flags = header.flags.bits();
    Ok(Link {
        index: header.index,
        name,
        kind,
        up: flags & IFF_UP != 0,
        flags,
    })
}

/// `IFLA_INFO_KIND` inside `IFLA_LINKINFO`, if there.
fn parse_info_kind(linkinfo: &[u8]) -> Result<Option<String>> {
    for nla in NlasIterator::new(linkinfo) {
        let nla = nla.map_err(Error::decode)?;
        if nla.kind() == IFLA_INFO_KIND {
            let kind = InfoKind::parse(&nla).map_err(Error::decode)?;
            return Ok(Some(kind.to_string()));
        }
    }
    Ok(None)
}

/// A string attribute: up to its NUL, invalid UTF-8 replaced.
fn c_string(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Decodes an `RTM_NEWADDR` payload; `None` for an address of a family
/// other than IPv4 and IPv6 (an `AF_UNSPEC` dump also lists MCTP's, …).
pub(crate) fn parse_address(payload: &[u8]) -> Result<Option<Address>> {
    let header = AddressHeader::parse(payload).map_err(Error::decode)?;
    let family = u8::from(header.family);
    let len = match family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return Ok(None),
    };
    let mut local = None;
    let mut address = None;
    for nla in attributes(payload, IFADDRMSG_LEN) {
        let nla = nla?;
        let kind = nla.kind();
        if kind != IFA_LOCAL && kind != IFA_ADDRESS {
            continue;
        }
        if nla.value().len() != len {
            return Err(Error::Decode(format!(
                "address attribute {kind} of {} bytes in a message of family {family}",
                nla.value().len()
            )));
        }
        match AddressAttribute::parse(&nla).map_err(Error::decode)? {
            AddressAttribute::Local(a) => local = Some(a),
            AddressAttribute::Address(a) => address = Some(a),
            _ => {}
        }
    }
    // IFA_ADDRESS is the peer on a point-to-point link; IFA_LOCAL is ours.
    let addr = local.or(address).ok_or_else(|| {
        Error::Decode(format!(
            "address on link {} has neither IFA_LOCAL nor IFA_ADDRESS",
            header.index
        ))
    })?;
    let max = if family == AF_INET { 32 } else { 128 };
    if header.prefix_len > max {
        return Err(Error::Decode(format!(
            "prefix length {} for {addr}",
            header.prefix_len
        )));
    }
    Ok(Some(Address {
        addr,
        prefix_len: header.prefix_len,
        link_index: header.index,
        scope: u8::from(header.scope),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, NetlinkBuffer};
    use netlink_packet_route::address::AddressScope;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// (message type, flags, payload) of a built request.
    fn split(request: &[u8]) -> (u16, u16, &[u8]) {
        let buf = NetlinkBuffer::new_checked(request).unwrap();
        assert_eq!(buf.length() as usize, request.len());
        (buf.message_type(), buf.flags(), &request[16..])
    }

    fn emit(msg: &dyn Emitable) -> Vec<u8> {
        let mut v = vec![0; msg.buffer_len()];
        msg.emit(&mut v);
        v
    }

    #[test]
    fn links_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Links>();
    }

    #[test]
    fn get_link_request_names_the_link() {
        let req = get_link_request("kube-ipvs0");
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_GETLINK);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
        let msg = LinkMessage::parse(payload).unwrap();
        assert_eq!(msg.header.index, 0);
        assert!(
            msg.attributes
                .contains(&LinkAttribute::IfName("kube-ipvs0".into()))
        );
        // The name goes out NUL-terminated: "kube-ipvs0\0" in an 8+11 NLA.
        let nla = NlaBuffer::new_checked(&payload[IFINFOMSG_LEN..]).unwrap();
        assert_eq!(nla.kind(), IFLA_IFNAME);
        assert_eq!(nla.value(), b"kube-ipvs0\0");
    }

    #[test]
    fn dump_links_request_is_a_dump_without_stats() {
        let req = dump_links_request();
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_GETLINK);
        assert_eq!(flags & NLM_F_DUMP, NLM_F_DUMP);
        let msg = LinkMessage::parse(payload).unwrap();
        assert_eq!(
            msg.attributes,
            vec![LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats])]
        );
        // IFLA_EXT_MASK = 29, value RTEXT_FILTER_SKIP_STATS = 8.
        assert_eq!(&payload[IFINFOMSG_LEN..], &[8, 0, 29, 0, 8, 0, 0, 0][..]);
    }

    #[test]
    fn new_dummy_request_creates_exclusively_and_down() {
        let req = new_dummy_request("kube-ipvs0");
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_NEWLINK);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        let msg = LinkMessage::parse(payload).unwrap();
        assert_eq!(msg.header.flags, LinkFlags::empty());
        assert_eq!(msg.header.change_mask, LinkFlags::empty());
        assert_eq!(msg.header.index, 0);
        assert!(
            msg.attributes
                .contains(&LinkAttribute::IfName("kube-ipvs0".into()))
        );
        assert!(
            msg.attributes
                .contains(&LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                    InfoKind::Dummy
                )]))
        );
        // The kind is the string "dummy" inside IFLA_LINKINFO.
        let info = attributes(payload, IFINFOMSG_LEN)
            .map(Result::unwrap)
            .find(|n| n.kind() == IFLA_LINKINFO)
            .unwrap();
        assert_eq!(
            parse_info_kind(info.value()).unwrap().as_deref(),
            Some("dummy")
        );
    }

    #[test]
    fn set_up_request_changes_iff_up_only() {
        for up in [true, false] {
            let req = set_up_request("d0", up);
            let (ty, flags, payload) = split(&req);
            assert_eq!(ty, RTM_SETLINK);
            assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
            // ifi_flags at 8..12, ifi_change at 12..16.
            let f = u32::from_ne_bytes(payload[8..12].try_into().unwrap());
            let change = u32::from_ne_bytes(payload[12..16].try_into().unwrap());
            assert_eq!(f, if up { IFF_UP } else { 0 });
            assert_eq!(change, IFF_UP);
            let msg = LinkMessage::parse(payload).unwrap();
            assert_eq!(msg.attributes, vec![LinkAttribute::IfName("d0".into())]);
        }
    }

    #[test]
    fn del_link_request_is_by_index() {
        let req = del_link_request(42);
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_DELLINK);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(payload.len(), IFINFOMSG_LEN);
        assert_eq!(LinkMessage::parse(payload).unwrap().header.index, 42);
    }

    #[test]
    fn address_requests_for_both_families() {
        let v4: IpAddr = Ipv4Addr::new(10, 96, 0, 1).into();
        let req = address_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 7, v4, 32);
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_NEWADDR);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        assert_eq!(flags & netlink_packet_core::NLM_F_REPLACE, 0);
        // ifaddrmsg: family, prefix, flags, scope, index.
        assert_eq!(&payload[..4], &[AF_INET, 32, 0, 0]);
        assert_eq!(u32::from_ne_bytes(payload[4..8].try_into().unwrap()), 7);
        let msg = AddressMessage::parse(payload).unwrap();
        assert_eq!(
            msg.attributes,
            vec![AddressAttribute::Local(v4), AddressAttribute::Address(v4)]
        );
        // IFA_LOCAL 10.96.0.1, then IFA_ADDRESS 10.96.0.1.
        assert_eq!(
            &payload[8..],
            &[8, 0, 2, 0, 10, 96, 0, 1, 8, 0, 1, 0, 10, 96, 0, 1][..]
        );

        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let req = address_request(RTM_DELADDR, 0, 3, v6, 64);
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_DELADDR);
        assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK);
        let msg = AddressMessage::parse(payload).unwrap();
        assert_eq!(msg.header.family, AddressFamily::Inet6);
        assert_eq!(msg.header.prefix_len, 64);
        assert_eq!(msg.header.index, 3);
        assert!(msg.attributes.contains(&AddressAttribute::Local(v6)));
        assert!(msg.attributes.contains(&AddressAttribute::Address(v6)));
    }

    #[test]
    fn dump_addresses_request_is_unspec() {
        let req = dump_addresses_request(Some(5));
        let (ty, flags, payload) = split(&req);
        assert_eq!(ty, RTM_GETADDR);
        assert_eq!(flags & NLM_F_DUMP, NLM_F_DUMP);
        assert_eq!(payload.len(), IFADDRMSG_LEN);
        assert_eq!(payload[0], libc::AF_UNSPEC as u8);
        assert_eq!(u32::from_ne_bytes(payload[4..8].try_into().unwrap()), 5);
        let all = dump_addresses_request(None);
        assert_eq!(split(&all).2, &[0u8; 8][..]);
    }

    #[test]
    fn names_are_checked_like_the_kernel_does() {
        for good in ["kube-ipvs0", "a", "eth0.100", "123456789012345", "dümmy"] {
            validate_name(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
        }
        for bad in [
            "",
            "1234567890123456",
            ".",
            "..",
            "a/b",
            "a:1",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{0b}b",
            "a\0b",
            "dummy%d",
            "à", // 0xc3 0xa0: the kernel's isspace(0xa0)
        ] {
            match validate_name(bad) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "link.name", "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn prefixes_default_to_the_host_and_are_bounded() {
        let v4: IpAddr = Ipv4Addr::LOCALHOST.into();
        let v6: IpAddr = Ipv6Addr::LOCALHOST.into();
        assert_eq!(checked_prefix(v4, None).unwrap(), 32);
        assert_eq!(checked_prefix(v6, None).unwrap(), 128);
        assert_eq!(checked_prefix(v4, Some(0)).unwrap(), 0);
        assert_eq!(checked_prefix(v4, Some(32)).unwrap(), 32);
        assert_eq!(checked_prefix(v6, Some(128)).unwrap(), 128);
        assert_eq!(checked_prefix(v6, Some(33)).unwrap(), 33);
        for (a, p) in [(v4, 33), (v4, 255), (v6, 129)] {
            assert!(matches!(
                checked_prefix(a, Some(p)),
                Err(Error::Invalid {
                    field: "address.prefix_len",
                    ..
                })
            ));
        }
    }

    fn link_payload(index: u32, flags: LinkFlags, attrs: Vec<LinkAttribute>) -> Vec<u8> {
        let header = LinkHeader {
            index,
            flags,
            ..LinkHeader::default()
        };
        emit(&link_message(header, attrs))
    }

    #[test]
    fn decodes_a_link() {
        let p = link_payload(
            4,
            LinkFlags::Up | LinkFlags::Broadcast,
            vec![
                LinkAttribute::Mtu(1500),
                LinkAttribute::IfName("kube-ipvs0".into()),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Dummy)]),
            ],
        );
        let link = parse_link(&p).unwrap();
        assert_eq!(
            link,
            Link {
                index: 4,
                name: "kube-ipvs0".into(),
                kind: Some("dummy".into()),
                up: true,
                flags: IFF_UP | libc::IFF_BROADCAST as u32,
            }
        );
        assert!(!link.is_loopback());

        // No kind, down, loopback.
        let p = link_payload(
            1,
            LinkFlags::Loopback,
            vec![LinkAttribute::IfName("lo".into())],
        );
        let lo = parse_link(&p).unwrap();
        assert_eq!(lo.kind, None);
        assert!(!lo.up);
        assert!(lo.is_loopback());

        // Kinds this crate's dependency does not know are kept as strings.
        let p = link_payload(
            9,
            LinkFlags::empty(),
            vec![
                LinkAttribute::IfName("x".into()),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Other("newkind".into()))]),
            ],
        );
        assert_eq!(parse_link(&p).unwrap().kind.as_deref(), Some("newkind"));
        let p = link_payload(
            9,
            LinkFlags::empty(),
            vec![
                LinkAttribute::IfName("v".into()),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth)]),
            ],
        );
        assert_eq!(parse_link(&p).unwrap().kind.as_deref(), Some("veth"));
    }

    /// Appends a raw attribute, padded.
    fn push_nla(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
        let len = 4 + value.len();
        buf.extend_from_slice(&(len as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(value);
        buf.resize(buf.len() + (4 - len % 4) % 4, 0);
    }

    #[test]
    fn decodes_a_hand_built_link_with_unknown_and_nested_attributes() {
        let mut p = vec![0u8; IFINFOMSG_LEN];
        p[4..8].copy_from_slice(&12u32.to_ne_bytes());
        p[8..12].copy_from_slice(&0x1043u32.to_ne_bytes());
        push_nla(&mut p, 0x7fff, &[1, 2, 3]); // unknown to everyone
        push_nla(&mut p, IFLA_IFNAME, b"dummy0\0");
        // An IFLA_LINKINFO with NLA_F_NESTED, an unknown inner attribute,
        // then the kind.
        let mut info = Vec::new();
        push_nla(&mut info, 0x55, &[0; 5]);
        push_nla(&mut info, IFLA_INFO_KIND, b"dummy\0");
        push_nla(
            &mut p,
            IFLA_LINKINFO | netlink_packet_core::NLA_F_NESTED,
            &info,
        );
        // IFLA_AF_SPEC garbage that netlink-packet-route would refuse.
        push_nla(&mut p, 26, &[0xff; 7]);
        let link = parse_link(&p).unwrap();
        assert_eq!(link.index, 12);
        assert_eq!(link.name, "dummy0");
        assert_eq!(link.kind.as_deref(), Some("dummy"));
        assert!(link.up);
        assert_eq!(link.flags, 0x1043);

        // A name that is not UTF-8 is kept lossily, not an error.
        let mut p = vec![0u8; IFINFOMSG_LEN];
        push_nla(&mut p, IFLA_IFNAME, b"d\xe9\0");
        assert_eq!(parse_link(&p).unwrap().name, "d\u{fffd}");
    }

    #[test]
    fn decodes_addresses() {
        let v4: IpAddr = "10.96.0.10".parse().unwrap();
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = 32;
        msg.header.index = 3;
        msg.header.scope = AddressScope::Universe;
        msg.attributes = vec![
            AddressAttribute::Address(v4),
            AddressAttribute::Local(v4),
            AddressAttribute::Label("kube-ipvs0".into()),
        ];
        let a = parse_address(&emit(&msg)).unwrap().unwrap();
        assert_eq!(
            a,
            Address {
                addr: v4,
                prefix_len: 32,
                link_index: 3,
                scope: 0,
            }
        );

        // Point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer.
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        msg.attributes = vec![AddressAttribute::Address(peer), AddressAttribute::Local(v4)];
        assert_eq!(parse_address(&emit(&msg)).unwrap().unwrap().addr, v4);

        // IPv6, IFA_ADDRESS only, link scope.
        let v6: IpAddr = "fe80::1".parse().unwrap();
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet6;
        msg.header.prefix_len = 64;
        msg.header.index = 2;
        msg.header.scope = AddressScope::Link;
        msg.attributes = vec![AddressAttribute::Address(v6)];
        let a = parse_address(&emit(&msg)).unwrap().unwrap();
        assert_eq!(
            (a.addr, a.prefix_len, a.link_index, a.scope),
            (v6, 64, 2, 253)
        );

        // Other families are skipped, whatever their attributes look like.
        let mut p = vec![45u8, 0, 0, 0, 1, 0, 0, 0]; // AF_MCTP
        push_nla(&mut p, IFA_LOCAL, &[8]);
        assert_eq!(parse_address(&p).unwrap(), None);
    }

    #[test]
    fn address_decoding_errors() {
        // An IPv4 message with an IPv6-sized address.
        let mut p = vec![AF_INET, 32, 0, 0, 1, 0, 0, 0];
        push_nla(&mut p, IFA_LOCAL, &[0; 16]);
        assert!(matches!(parse_address(&p), Err(Error::Decode(_))));
        // No address at all.
        let p = vec![AF_INET6, 128, 0, 0, 1, 0, 0, 0];
        assert!(matches!(parse_address(&p), Err(Error::Decode(_))));
        // A prefix longer than the address.
        let mut p = vec![AF_INET, 33, 0, 0, 1, 0, 0, 0];
        push_nla(&mut p, IFA_LOCAL, &[10, 0, 0, 1]);
        assert!(matches!(parse_address(&p), Err(Error::Decode(_))));
        // A link without a name.
        let p = vec![0u8; IFINFOMSG_LEN];
        assert!(matches!(parse_link(&p), Err(Error::Decode(_))));
    }

    #[test]
    fn truncated_and_garbage_payloads_are_errors_not_panics() {
        let mut link = link_payload(
            4,
            LinkFlags::Up,
            vec![
                LinkAttribute::IfName("kube-ipvs0".into()),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Dummy)]),
            ],
        );
        let mut addr = AddressMessage::default();
        addr.header.family = AddressFamily::Inet6;
        addr.header.prefix_len = 128;
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        addr.attributes = vec![AddressAttribute::Local(v6), AddressAttribute::Address(v6)];
        let mut addr = emit(&addr);

        // Every truncation: an error or (cut at an attribute boundary) a
        // shorter but valid message, never a panic.
        for n in 0..link.len() {
            let _ = parse_link(&link[..n]);
        }
        for n in 0..addr.len() {
            let _ = parse_address(&addr[..n]);
        }
        assert!(matches!(parse_link(&link[..10]), Err(Error::Decode(_))));
        assert!(matches!(parse_address(&addr[..5]), Err(Error::Decode(_))));
        // A cut inside the name attribute.
        assert!(matches!(
            parse_link(&link[..IFINFOMSG_LEN + 6]),
            Err(Error::Decode(_))
        ));
        // A cut inside the first address attribute.
        assert!(matches!(
            parse_address(&addr[..IFADDRMSG_LEN + 10]),
            Err(Error::Decode(_))
        ));

        // Every single-byte corruption, and pseudo-random bytes.
        for i in 0..link.len() {
            for v in [0x00, 0x01, 0x7f, 0xff] {
                let old = link[i];
                link[i] = v;
                let _ = parse_link(&link);
                link[i] = old;
            }
        }
        for i in 0..addr.len() {
            for v in [0x00, 0x01, 0x7f, 0xff] {
                let old = addr[i];
                addr[i] = v;
                let _ = parse_address(&addr);
                addr[i] = old;
            }
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = parse_link(&bytes);
            let _ = parse_address(&bytes);
        }
    }

    #[test]
    fn wrong_kind_is_reported_with_the_links_kind() {
        let veth = Link {
            index: 2,
            name: "kube-ipvs0".into(),
            kind: Some("veth".into()),
            up: false,
            flags: 0,
        };
        match of_kind(veth, DUMMY) {
            Err(Error::WrongLinkKind { name, kind, wanted }) => {
                assert_eq!(
                    (name.as_str(), kind.as_str(), wanted),
                    ("kube-ipvs0", "veth", "dummy")
                );
            }
            other => panic!("{other:?}"),
        }
        let lo = Link {
            index: 1,
            name: "lo".into(),
            kind: None,
            up: true,
            flags: IFF_LOOPBACK,
        };
        assert!(matches!(
            of_kind(lo, DUMMY),
            Err(Error::WrongLinkKind { kind, .. }) if kind.is_empty()
        ));
    }

    #[test]
    fn node_addresses_exclude_loopback_and_link_local() {
        for (a, ok) in [
            ("10.0.0.1", true),
            ("127.0.0.1", false),
            ("127.1.2.3", false),
            ("169.254.1.1", true),
            ("::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", true),
            ("2001:db8::1", true),
        ] {
            assert_eq!(is_node_address(a.parse().unwrap()), ok, "{a}");
        }
    }
}
