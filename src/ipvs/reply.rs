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

/// A service reply: the `IPVS_CMD_ATTR_SERVICE` nest.
pub(crate) fn parse_service_reply(payload: &[u8]) -> Result<ServiceEntry> {
    ServiceEntry::parse(nest(payload, IPVS_CMD_ATTR_SERVICE, "service")?.value)
}

/// A destination reply: the `IPVS_CMD_ATTR_DEST` nest.
pub(crate) fn parse_dest_reply(payload: &[u8], family: AddressFamily) -> Result<DestinationEntry> {
    DestinationEntry::parse(
        nest(payload, IPVS_CMD_ATTR_DEST, "destination")?.value,
        family,
    )
}

/// A daemon reply: the `IPVS_CMD_ATTR_DAEMON` nest.
pub(crate) fn parse_daemon_reply(payload: &[u8]) -> Result<SyncDaemon> {
    SyncDaemon::parse(nest(payload, IPVS_CMD_ATTR_DAEMON, "daemon")?.value)
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
