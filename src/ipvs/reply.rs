//! Parsing the payloads of IPVS replies (generic netlink header plus
//! top-level attributes).

use super::config::{ConnectionTimeouts, Info, Version};
use super::consts::*;
use super::daemon::SyncDaemon;
use super::decode;
use super::destination::DestinationEntry;
use super::service::{AddressFamily, ServiceEntry};
use crate::error::{Error, Result};
use crate::netlink::attr::RawNla;

/// The value of the first top-level attribute of type `kind`.
fn nest<'a>(payload: &'a [u8], kind: u16, what: &'static str) -> Result<RawNla<'a>> {
    let (_, attrs) = decode(payload)?;
    for nla in attrs {
        let nla = nla?;
        if nla.kind == kind {
            return Ok(nla);
        }
    }
    Err(Error::Decode(format!("{what} reply without its attribute")))
}

/// Every counter of a stats nest: `ip_vs_genl_fill_stats` and
/// `_fill_stats64` always put all ten.
const STATS_ALWAYS: [(u16, &str); 10] = [
    (IPVS_STATS_ATTR_CONNS, "conns"),
    (IPVS_STATS_ATTR_INPKTS, "inpkts"),
    (IPVS_STATS_ATTR_OUTPKTS, "outpkts"),
    (IPVS_STATS_ATTR_INBYTES, "inbytes"),
    (IPVS_STATS_ATTR_OUTBYTES, "outbytes"),
    (IPVS_STATS_ATTR_CPS, "cps"),
    (IPVS_STATS_ATTR_INPPS, "inpps"),
    (IPVS_STATS_ATTR_OUTPPS, "outpps"),
    (IPVS_STATS_ATTR_INBPS, "inbps"),
    (IPVS_STATS_ATTR_OUTBPS, "outbps"),
];

/// Fails unless the nest `buf` has every attribute of `always` (the ones
/// the kernel puts in every such nest), and, where it has a stats nest
/// (`stats`, the legacy and 64-bit kinds; one of them is required), every
/// counter in each. Checked on replies only: a parser of the nest's own
/// fields reads a missing one as its default, which for these would be a
/// silent 0.
fn require(
    buf: &[u8],
    what: &'static str,
    always: &[(u16, &str)],
    stats: Option<[u16; 2]>,
) -> Result<()> {
    let mut kinds = Vec::new();
    let mut stats_seen = false;
    for nla in crate::netlink::attr::walk(buf, what) {
        let nla = nla?;
        kinds.push(nla.kind);
        if stats.is_some_and(|s| s.contains(&nla.kind)) {
            stats_seen = true;
            let mut counters = Vec::new();
            for c in crate::netlink::attr::walk(nla.value, "stats") {
                counters.push(c?.kind);
            }
            if let Some((_, name)) = STATS_ALWAYS.iter().find(|(k, _)| !counters.contains(k)) {
                return Err(Error::Decode(format!("{what} stats without {name}")));
            }
        }
    }
    if let Some((_, name)) = always.iter().find(|(k, _)| !kinds.contains(k)) {
        return Err(Error::Decode(format!("{what} reply without {name}")));
    }
    if stats.is_some() && !stats_seen {
        return Err(Error::Decode(format!("{what} reply without stats")));
    }
    Ok(())
}

/// A service reply: the `IPVS_CMD_ATTR_SERVICE` nest. Besides its
/// identity and scheduler (which the nest's parser requires), the kernel
/// always sends the flags, timeout, netmask and stats
/// (`ip_vs_genl_fill_service`, every version since 2.6.28).
pub(crate) fn parse_service_reply(payload: &[u8]) -> Result<ServiceEntry> {
    let raw = nest(payload, IPVS_CMD_ATTR_SERVICE, "service")?.value;
    let entry = ServiceEntry::parse(raw)?;
    require(
        raw,
        "service",
        &[
            (IPVS_SVC_ATTR_FLAGS, "flags"),
            (IPVS_SVC_ATTR_TIMEOUT, "timeout"),
            (IPVS_SVC_ATTR_NETMASK, "netmask"),
        ],
        Some([IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64]),
    )?;
    Ok(entry)
}

/// A destination reply: the `IPVS_CMD_ATTR_DEST` nest. Besides its
/// address, port and forwarding method (which the nest's parser
/// requires), the kernel always sends the weight, thresholds, connection
/// counts and stats (`ip_vs_genl_fill_dest`, every version). The tunnel
/// attributes (5.2, 5.3) and address family (3.18) are not required: an
/// older kernel's reply without them means "none" and "the service's".
pub(crate) fn parse_dest_reply(payload: &[u8], family: AddressFamily) -> Result<DestinationEntry> {
    let raw = nest(payload, IPVS_CMD_ATTR_DEST, "destination")?.value;
    let entry = DestinationEntry::parse(raw, family)?;
    require(
        raw,
        "destination",
        &[
            (IPVS_DEST_ATTR_WEIGHT, "weight"),
            (IPVS_DEST_ATTR_U_THRESH, "u_thresh"),
            (IPVS_DEST_ATTR_L_THRESH, "l_thresh"),
            (IPVS_DEST_ATTR_ACTIVE_CONNS, "active_conns"),
            (IPVS_DEST_ATTR_INACT_CONNS, "inact_conns"),
            (IPVS_DEST_ATTR_PERSIST_CONNS, "persist_conns"),
        ],
        Some([IPVS_DEST_ATTR_STATS, IPVS_DEST_ATTR_STATS64]),
    )?;
    Ok(entry)
}

/// A daemon reply: the `IPVS_CMD_ATTR_DAEMON` nest. The kernel always
/// sends the state, interface and sync id (`ip_vs_genl_fill_daemon`); the
/// multicast settings of 4.3 are `None` when absent.
pub(crate) fn parse_daemon_reply(payload: &[u8]) -> Result<SyncDaemon> {
    let raw = nest(payload, IPVS_CMD_ATTR_DAEMON, "daemon")?.value;
    let daemon = SyncDaemon::parse(raw)?;
    require(
        raw,
        "daemon",
        &[
            (IPVS_DAEMON_ATTR_MCAST_IFN, "mcast_ifn"),
            (IPVS_DAEMON_ATTR_SYNC_ID, "sync_id"),
        ],
        None,
    )?;
    Ok(daemon)
}

/// The `GET_INFO` reply. The kernel always sends both attributes
/// (`ip_vs_genl_get_cmd`): a reply without one is an error, never a 0.
pub(crate) fn parse_info(payload: &[u8]) -> Result<Info> {
    let (_, attrs) = decode(payload)?;
    let mut version = None;
    let mut size = None;
    for nla in attrs {
        let nla = nla?;
        match nla.kind {
            IPVS_INFO_ATTR_VERSION => version = Some(nla.u32("info.version")?),
            IPVS_INFO_ATTR_CONN_TAB_SIZE => size = Some(nla.u32("info.conn_tab_size")?),
            _ => {}
        }
    }
    let version = version.ok_or_else(|| Error::Decode("GET_INFO reply without version".into()))?;
    let size = size
        .ok_or_else(|| Error::Decode("GET_INFO reply without the connection table size".into()))?;
    Ok(Info {
        version: Version::from_code(version),
        connection_table_size: size,
    })
}

/// The `GET_CONFIG` reply. Every kernel `lvs` supports (5.10 and later,
/// built with `CONFIG_IP_VS_PROTO_TCP` and `_UDP`, as every distribution
/// kernel is) sends all three timeouts: a reply without one is an error,
/// never a silent 0 (which would read as "unchanged" if written back).
pub(crate) fn parse_config(payload: &[u8]) -> Result<ConnectionTimeouts> {
    let (_, attrs) = decode(payload)?;
    let (mut tcp, mut tcp_fin, mut udp) = (None, None, None);
    for nla in attrs {
        let nla = nla?;
        match nla.kind {
            IPVS_CMD_ATTR_TIMEOUT_TCP => tcp = Some(nla.u32("timeout_tcp")?),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => tcp_fin = Some(nla.u32("timeout_tcp_fin")?),
            IPVS_CMD_ATTR_TIMEOUT_UDP => udp = Some(nla.u32("timeout_udp")?),
            _ => {}
        }
    }
    let need = |v: Option<u32>, what: &str| {
        v.ok_or_else(|| Error::Decode(format!("GET_CONFIG reply without the {what} timeout")))
    };
    Ok(ConnectionTimeouts {
        tcp: need(tcp, "tcp")?,
        tcp_fin: need(tcp_fin, "tcp_fin")?,
        udp: need(udp, "udp")?,
    })
}
