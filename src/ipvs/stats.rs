//! Traffic counters and rates of a service or destination.

use super::consts::*;
use crate::error::Result;
use crate::netlink::attr::walk;

/// Counters since the last zeroing, and the kernel estimator's rates.
///
/// Read from `IPVS_*_ATTR_STATS64` (Linux 4.1 and later), or widened from
/// the 32-bit `IPVS_*_ATTR_STATS` on older kernels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Stats {
    /// Connections scheduled (`IPVS_STATS_ATTR_CONNS`).
    pub connections: u64,
    /// Packets in (`IPVS_STATS_ATTR_INPKTS`).
    pub packets_in: u64,
    /// Packets out (`IPVS_STATS_ATTR_OUTPKTS`).
    pub packets_out: u64,
    /// Bytes in (`IPVS_STATS_ATTR_INBYTES`).
    pub bytes_in: u64,
    /// Bytes out (`IPVS_STATS_ATTR_OUTBYTES`).
    pub bytes_out: u64,
    /// Connections per second (`IPVS_STATS_ATTR_CPS`).
    pub connections_per_second: u64,
    /// Packets per second in (`IPVS_STATS_ATTR_INPPS`).
    pub packets_in_per_second: u64,
    /// Packets per second out (`IPVS_STATS_ATTR_OUTPPS`).
    pub packets_out_per_second: u64,
    /// Bytes per second in (`IPVS_STATS_ATTR_INBPS`).
    pub bytes_in_per_second: u64,
    /// Bytes per second out (`IPVS_STATS_ATTR_OUTBPS`).
    pub bytes_out_per_second: u64,
}

impl Stats {
    /// Reads the 64-bit nest where there is one, else the legacy nest.
    pub(crate) fn from_nests(wide: Option<&[u8]>, legacy: Option<&[u8]>) -> Result<Stats> {
        match (wide, legacy) {
            (Some(raw), _) => Stats::parse(raw, true),
            (None, Some(raw)) => Stats::parse(raw, false),
            (None, None) => Ok(Stats::default()),
        }
    }

    /// Parses a stats nest. In the legacy nest every field but the byte
    /// counters is 32 bits; in the 64-bit nest all are 64 bits. Padding
    /// (`IPVS_STATS_ATTR_PAD`) and unknown fields are skipped.
    pub(crate) fn parse(buf: &[u8], wide: bool) -> Result<Stats> {
        let mut s = Stats::default();
        for nla in walk(buf, "stats") {
            let nla = nla?;
            let read = |what| -> Result<u64> {
                if wide || matches!(nla.kind, IPVS_STATS_ATTR_INBYTES | IPVS_STATS_ATTR_OUTBYTES) {
                    nla.u64(what)
                } else {
                    nla.u32(what).map(u64::from)
                }
            };
            match nla.kind {
                IPVS_STATS_ATTR_CONNS => s.connections = read("stats.conns")?,
                IPVS_STATS_ATTR_INPKTS => s.packets_in = read("stats.inpkts")?,
                IPVS_STATS_ATTR_OUTPKTS => s.packets_out = read("stats.outpkts")?,
                IPVS_STATS_ATTR_INBYTES => s.bytes_in = read("stats.inbytes")?,
                IPVS_STATS_ATTR_OUTBYTES => s.bytes_out = read("stats.outbytes")?,
                IPVS_STATS_ATTR_CPS => s.connections_per_second = read("stats.cps")?,
                IPVS_STATS_ATTR_INPPS => s.packets_in_per_second = read("stats.inpps")?,
                IPVS_STATS_ATTR_OUTPPS => s.packets_out_per_second = read("stats.outpps")?,
                IPVS_STATS_ATTR_INBPS => s.bytes_in_per_second = read("stats.inbps")?,
                IPVS_STATS_ATTR_OUTBPS => s.bytes_out_per_second = read("stats.outbps")?,
                _ => {} // IPVS_STATS_ATTR_PAD and fields of newer kernels
            }
        }
        Ok(s)
    }
}
