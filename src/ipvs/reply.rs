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

/// The `GET_INFO` reply.
pub(crate) fn parse_info(payload: &[u8]) -> Result<Info> {
    let (_, attrs) = decode(payload)?;
    let mut version = None;
    let mut size = 0;
    for nla in attrs {
        let nla = nla?;
        match nla.kind {
            IPVS_INFO_ATTR_VERSION => version = Some(nla.u32("info.version")?),
            IPVS_INFO_ATTR_CONN_TAB_SIZE => size = nla.u32("info.conn_tab_size")?,
            _ => {}
        }
    }
    let version = version.ok_or_else(|| Error::Decode("GET_INFO reply without version".into()))?;
    Ok(Info {
        version: Version::from_code(version),
        connection_table_size: size,
    })
}

/// The `GET_CONFIG` reply.
pub(crate) fn parse_config(payload: &[u8]) -> Result<ConnectionTimeouts> {
    let (_, attrs) = decode(payload)?;
    let mut t = ConnectionTimeouts::default();
    for nla in attrs {
        let nla = nla?;
        match nla.kind {
            IPVS_CMD_ATTR_TIMEOUT_TCP => t.tcp = nla.u32("timeout_tcp")?,
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => t.tcp_fin = nla.u32("timeout_tcp_fin")?,
            IPVS_CMD_ATTR_TIMEOUT_UDP => t.udp = nla.u32("timeout_udp")?,
            _ => {}
        }
    }
    Ok(t)
}
