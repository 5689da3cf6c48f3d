//! Global settings: connection timeouts and version information.

use std::fmt;

/// Connection timeouts in seconds (`IPVS_CMD_ATTR_TIMEOUT_TCP`,
/// `_TCP_FIN`, `_UDP`). When setting, 0 keeps the current value.
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnectionTimeouts {
    /// Established TCP connections (kernel default 900).
    pub tcp: u32,
    /// TCP connections after FIN (kernel default 120).
    pub tcp_fin: u32,
    /// UDP "connections" (kernel default 300).
    pub udp: u32,
}

/// IPVS version, as the kernel reports it (`IPVS_INFO_ATTR_VERSION`;
/// 1.2.1 for many years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Major number.
    pub major: u8,
    /// Minor number.
    pub minor: u8,
    /// Patch number.
    pub patch: u8,
}

impl Version {
    pub(crate) fn from_code(code: u32) -> Self {
        Version {
            major: (code >> 16) as u8,
            minor: (code >> 8) as u8,
            patch: code as u8,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What `GET_INFO` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Info {
    /// The IPVS version.
    pub version: Version,
    /// Size of the connection hash table (`IPVS_INFO_ATTR_CONN_TAB_SIZE`);
    /// kernels from 2026 report the current per-namespace size, which can
    /// be 0 before the table is first used.
    pub connection_table_size: u32,
}
