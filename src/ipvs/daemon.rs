//! The connection synchronisation daemon (`ipvsadm --start-daemon`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::consts::*;
use crate::error::{Error, Result};
use crate::netlink::attr::{AttrWriter, walk};

/// Which side of connection synchronisation a daemon runs
/// (`IPVS_DAEMON_ATTR_STATE`). One of each can run per namespace.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyncRole {
    /// Sends the connection table (`IP_VS_STATE_MASTER`).
    Master,
    /// Receives it (`IP_VS_STATE_BACKUP`).
    Backup,
}

impl SyncRole {
    fn to_raw(self) -> u32 {
        match self {
            SyncRole::Master => IP_VS_STATE_MASTER,
            SyncRole::Backup => IP_VS_STATE_BACKUP,
        }
    }

    pub(crate) fn emit_state(self, w: &mut AttrWriter<'_>) {
        w.u32(IPVS_DAEMON_ATTR_STATE, self.to_raw());
    }
}

/// A sync daemon's settings. `None` leaves a setting to the kernel's
/// default; reading a daemon back gives every setting the kernel reports.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncDaemon {
    /// Master or backup.
    pub role: SyncRole,
    /// The multicast interface (`IPVS_DAEMON_ATTR_MCAST_IFN`), at most 15 bytes.
    pub interface: String,
    /// The sync id (`IPVS_DAEMON_ATTR_SYNC_ID`), 0 to 255.
    pub sync_id: u32,
    /// Largest sync message (`IPVS_DAEMON_ATTR_SYNC_MAXLEN`, Linux 4.3):
    /// 1 (1024 for a backup) to 65,507 with an IPv4 group or 65,487 with an
    /// IPv6 one (65,535 less the IP and UDP headers). Other values would be
    /// silently clamped by the kernel, so they are refused; `None` takes the
    /// kernel's default (the interface MTU's payload).
    pub max_len: Option<u16>,
    /// Multicast group (`IPVS_DAEMON_ATTR_MCAST_GROUP` / `_GROUP6`; default 224.0.0.81).
    pub group: Option<IpAddr>,
    /// Multicast port (`IPVS_DAEMON_ATTR_MCAST_PORT`; default 8848).
    pub port: Option<u16>,
    /// Multicast TTL (`IPVS_DAEMON_ATTR_MCAST_TTL`; default 1).
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon of `role` on `interface` with sync id `sync_id` and the
    /// kernel's defaults for everything else.
    pub fn new(role: SyncRole, interface: impl Into<String>, sync_id: u32) -> Self {
        SyncDaemon {
            role,
            interface: interface.into(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    /// Checks what the kernel would reject obscurely.
    pub fn validate(&self) -> Result<()> {
        if self.interface.is_empty()
            || self.interface.len() >= IP_VS_IFNAME_MAXLEN
            || self.interface.contains('\0')
        {
            return Err(Error::invalid(
                "daemon.interface",
                format!("{:?} must be 1 to 15 bytes without NUL", self.interface),
            ));
        }
        if self.sync_id > 255 {
            return Err(Error::invalid(
                "daemon.sync_id",
                format!("{} is above 255", self.sync_id),
            ));
        }
        if let Some(group) = self.group
            && !group.is_multicast()
        {
            return Err(Error::invalid(
                "daemon.group",
                format!("{group} is not multicast"),
            ));
        }
        if let Some(max_len) = self.max_len {
            let headers = match self.group {
                Some(IpAddr::V6(_)) => 40 + 8,
                _ => 20 + 8,
            };
            let highest = u16::MAX - headers;
            let lowest = match self.role {
                SyncRole::Master => 1,
                SyncRole::Backup => 1024,
            };
            if !(lowest..=highest).contains(&max_len) {
                return Err(Error::invalid(
                    "daemon.max_len",
                    format!(
                        "{max_len} is outside {lowest}..={highest}, which the kernel keeps \
                         for a {:?} (it would silently change it)",
                        self.role
                    ),
                ));
            }
        }
        if self.ttl == Some(0) {
            return Err(Error::invalid("daemon.ttl", "must be 1 to 255"));
        }
        if self.port == Some(0) {
            return Err(Error::invalid("daemon.port", "must be 1 to 65535"));
        }
        Ok(())
    }

    pub(crate) fn emit(&self, w: &mut AttrWriter<'_>) {
        self.role.emit_state(w);
        w.cstr(IPVS_DAEMON_ATTR_MCAST_IFN, &self.interface)
            .u32(IPVS_DAEMON_ATTR_SYNC_ID, self.sync_id);
        if let Some(v) = self.max_len {
            w.u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, v);
        }
        match self.group {
            Some(IpAddr::V4(g)) => {
                w.bytes(IPVS_DAEMON_ATTR_MCAST_GROUP, &g.octets());
            }
            Some(IpAddr::V6(g)) => {
                w.bytes(IPVS_DAEMON_ATTR_MCAST_GROUP6, &g.octets());
            }
            None => {}
        }
        if let Some(v) = self.port {
            // Host order, unlike the service and destination ports.
            w.u16(IPVS_DAEMON_ATTR_MCAST_PORT, v);
        }
        if let Some(v) = self.ttl {
            w.u8(IPVS_DAEMON_ATTR_MCAST_TTL, v);
        }
    }

    /// Parses the content of an `IPVS_CMD_ATTR_DAEMON` nest.
    pub(crate) fn parse(buf: &[u8]) -> Result<Self> {
        let mut role = None;
        let mut d = SyncDaemon::new(SyncRole::Master, String::new(), 0);
        for nla in walk(buf, "daemon") {
            let nla = nla?;
            match nla.kind {
                IPVS_DAEMON_ATTR_STATE => {
                    role = match nla.u32("daemon.state")? {
                        IP_VS_STATE_MASTER => Some(SyncRole::Master),
                        IP_VS_STATE_BACKUP => Some(SyncRole::Backup),
                        other => return Err(Error::Decode(format!("daemon state {other}"))),
                    }
                }
                IPVS_DAEMON_ATTR_MCAST_IFN => d.interface = nla.string(),
                IPVS_DAEMON_ATTR_SYNC_ID => d.sync_id = nla.u32("daemon.sync_id")?,
                IPVS_DAEMON_ATTR_SYNC_MAXLEN => d.max_len = Some(nla.u16("daemon.sync_maxlen")?),
                IPVS_DAEMON_ATTR_MCAST_GROUP => {
                    let raw: [u8; 4] = nla.u32("daemon.mcast_group")?.to_ne_bytes();
                    d.group = Some(IpAddr::V4(Ipv4Addr::from(raw)));
                }
                IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                    let raw = <[u8; 16]>::try_from(nla.value.get(..16).unwrap_or(&[]))
                        .map_err(|_| Error::Decode("daemon.mcast_group6: short".into()))?;
                    d.group = Some(IpAddr::V6(Ipv6Addr::from(raw)));
                }
                IPVS_DAEMON_ATTR_MCAST_PORT => d.port = Some(nla.u16("daemon.mcast_port")?),
                IPVS_DAEMON_ATTR_MCAST_TTL => d.ttl = Some(nla.u8("daemon.mcast_ttl")?),
                _ => {}
            }
        }
        d.role = role.ok_or_else(|| Error::Decode("daemon without state".into()))?;
        Ok(d)
    }
}
