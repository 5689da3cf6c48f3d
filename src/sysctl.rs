//! The `net.ipv4.vs.*` settings of a network namespace, typed.
//!
//! These are not part of the netlink interface: they live in
//! `/proc/sys/net/ipv4/vs/`, whose values are those of the namespace of
//! the thread that opens them. [`Sysctls`] reads and writes them in the
//! calling thread's namespace or another one (a helper thread enters it;
//! the calling thread never moves).
//!
//! ```no_run
//! use lvs::sysctl::{Sysctl, Sysctls};
//! # fn main() -> Result<(), lvs::sysctl::SysctlError> {
//! let s = Sysctls::current();
//! // What kube-proxy sets.
//! s.set_int(Sysctl::Conntrack, 1)?;
//! s.set_int(Sysctl::ExpireNodestConn, 1)?;
//! s.set_int(Sysctl::ExpireQuiescentTemplate, 1)?;
//! s.set_int(Sysctl::ConnReuseMode, 0)?;
//! assert_eq!(s.get_int(Sysctl::Conntrack)?, 1);
//! # Ok(()) }
//! ```
//!
//! # Kernel versions
//!
//! [`Sysctl::since`] gives the first mainline release with each setting,
//! and [`Sysctl::since_verified`] says whether that was checked against
//! the kernel's history (`net/netfilter/ipvs/ip_vs_ctl.c`) or is from
//! memory of the changelogs. The tests check, on each guest kernel (5.10,
//! 6.1, 6.12), that every setting said to predate it exists and every later
//! one does not. Some
//! exist only with a module or option loaded: `lblc_expiration` and
//! `lblcr_expiration` with the `lblc`/`lblcr` schedulers, `debug_level`
//! with `CONFIG_IP_VS_DEBUG`.

use std::fmt;
use std::fs;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::netlink::netns::{in_netns, in_netns_path};

const DIR: &str = "/proc/sys/net/ipv4/vs";

/// One `net.ipv4.vs.*` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Sysctl {
    /// `am_droprate`: drop rate of the `drop_packet` defence.
    AmDroprate,
    /// `amemthresh`: available memory (pages) below which defences start.
    Amemthresh,
    /// `backup_only`: only the backup sync daemon, no load balancing.
    BackupOnly,
    /// `cache_bypass`: send packets straight on when no destination is available.
    CacheBypass,
    /// `conn_reuse_mode`: how a reused connection (port reuse) is rescheduled.
    ConnReuseMode,
    /// `conntrack`: keep netfilter connection tracking for IPVS connections.
    Conntrack,
    /// `debug_level` (only with `CONFIG_IP_VS_DEBUG`).
    DebugLevel,
    /// `drop_entry`: randomly drop connection entries under memory pressure.
    DropEntry,
    /// `drop_packet`: drop packets under memory pressure.
    DropPacket,
    /// `est_cpulist`: CPUs the rate estimators run on (a CPU list).
    EstCpulist,
    /// `est_nice`: the estimator threads' nice value.
    EstNice,
    /// `expire_nodest_conn`: expire a connection at once when its destination is gone.
    ExpireNodestConn,
    /// `expire_quiescent_template`: expire persistence templates of weight-0 destinations.
    ExpireQuiescentTemplate,
    /// `ignore_tunneled`: do not process tunnelled packets.
    IgnoreTunneled,
    /// `lblc_expiration` (with the `lblc` scheduler loaded).
    LblcExpiration,
    /// `lblcr_expiration` (with the `lblcr` scheduler loaded).
    LblcrExpiration,
    /// `nat_icmp_send`: send ICMP errors for NAT connections without a destination.
    NatIcmpSend,
    /// `pmtu_disc`: path MTU discovery for tunnelled packets.
    PmtuDisc,
    /// `run_estimation`: run the rate estimators.
    RunEstimation,
    /// `schedule_icmp`: schedule ICMP packets (for DR/tunnel replies).
    ScheduleIcmp,
    /// `secure_tcp`: the TCP state-table defence.
    SecureTcp,
    /// `sloppy_sctp`: create connections from any SCTP packet.
    SloppySctp,
    /// `sloppy_tcp`: create connections from any TCP packet.
    SloppyTcp,
    /// `snat_reroute`: reroute SNATed replies.
    SnatReroute,
    /// `sync_persist_mode`: sync only persistence templates.
    SyncPersistMode,
    /// `sync_ports`: number of sync daemon ports.
    SyncPorts,
    /// `sync_qlen_max`: largest sync message queue.
    SyncQlenMax,
    /// `sync_refresh_period`: seconds between syncs of a connection.
    SyncRefreshPeriod,
    /// `sync_retries`: retries of a sync message.
    SyncRetries,
    /// `sync_sock_size`: sync socket buffer size.
    SyncSockSize,
    /// `sync_threshold`: two numbers, threshold and period.
    SyncThreshold,
    /// `sync_version`: sync protocol version (0 or 1).
    SyncVersion,
}

/// Every setting this version knows.
pub const ALL: &[Sysctl] = &[
    Sysctl::AmDroprate,
    Sysctl::Amemthresh,
    Sysctl::BackupOnly,
    Sysctl::CacheBypass,
    Sysctl::ConnReuseMode,
    Sysctl::Conntrack,
    Sysctl::DebugLevel,
    Sysctl::DropEntry,
    Sysctl::DropPacket,
    Sysctl::EstCpulist,
    Sysctl::EstNice,
    Sysctl::ExpireNodestConn,
    Sysctl::ExpireQuiescentTemplate,
    Sysctl::IgnoreTunneled,
    Sysctl::LblcExpiration,
    Sysctl::LblcrExpiration,
    Sysctl::NatIcmpSend,
    Sysctl::PmtuDisc,
    Sysctl::RunEstimation,
    Sysctl::ScheduleIcmp,
    Sysctl::SecureTcp,
    Sysctl::SloppySctp,
    Sysctl::SloppyTcp,
    Sysctl::SnatReroute,
    Sysctl::SyncPersistMode,
    Sysctl::SyncPorts,
    Sysctl::SyncQlenMax,
    Sysctl::SyncRefreshPeriod,
    Sysctl::SyncRetries,
    Sysctl::SyncSockSize,
    Sysctl::SyncThreshold,
    Sysctl::SyncVersion,
];

/// What kind of value a setting holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SysctlKind {
    /// One integer.
    Int,
    /// Two integers (`sync_threshold`).
    Pair,
    /// Text (`est_cpulist`, a CPU list such as `0-3`).
    Text,
}

impl Sysctl {
    /// The file name under `/proc/sys/net/ipv4/vs/`.
    pub fn name(self) -> &'static str {
        use Sysctl::*;
        match self {
            AmDroprate => "am_droprate",
            Amemthresh => "amemthresh",
            BackupOnly => "backup_only",
            CacheBypass => "cache_bypass",
            ConnReuseMode => "conn_reuse_mode",
            Conntrack => "conntrack",
            DebugLevel => "debug_level",
            DropEntry => "drop_entry",
            DropPacket => "drop_packet",
            EstCpulist => "est_cpulist",
            EstNice => "est_nice",
            ExpireNodestConn => "expire_nodest_conn",
            ExpireQuiescentTemplate => "expire_quiescent_template",
            IgnoreTunneled => "ignore_tunneled",
            LblcExpiration => "lblc_expiration",
            LblcrExpiration => "lblcr_expiration",
            NatIcmpSend => "nat_icmp_send",
            PmtuDisc => "pmtu_disc",
            RunEstimation => "run_estimation",
            ScheduleIcmp => "schedule_icmp",
            SecureTcp => "secure_tcp",
            SloppySctp => "sloppy_sctp",
            SloppyTcp => "sloppy_tcp",
            SnatReroute => "snat_reroute",
            SyncPersistMode => "sync_persist_mode",
            SyncPorts => "sync_ports",
            SyncQlenMax => "sync_qlen_max",
            SyncRefreshPeriod => "sync_refresh_period",
            SyncRetries => "sync_retries",
            SyncSockSize => "sync_sock_size",
            SyncThreshold => "sync_threshold",
            SyncVersion => "sync_version",
        }
    }

    /// The kind of value.
    pub fn kind(self) -> SysctlKind {
        match self {
            Sysctl::SyncThreshold => SysctlKind::Pair,
            Sysctl::EstCpulist => SysctlKind::Text,
            _ => SysctlKind::Int,
        }
    }

    /// The first mainline kernel (major, minor) with the setting; see
    /// [`Sysctl::since_verified`].
    pub fn since(self) -> (u8, u8) {
        self.history().0
    }

    /// Whether [`Sysctl::since`] was checked against the kernel's history
    /// (`false`: from the changelogs, not verified here).
    pub fn since_verified(self) -> bool {
        self.history().1
    }

    fn history(self) -> ((u8, u8), bool) {
        use Sysctl::*;
        match self {
            // In ip_vs_ctl.c from the start of the git history (2.6.12).
            AmDroprate
            | Amemthresh
            | CacheBypass
            | DropEntry
            | DropPacket
            | SecureTcp
            | ExpireNodestConn
            | ExpireQuiescentTemplate
            | NatIcmpSend
            | SyncThreshold
            | DebugLevel
            | LblcExpiration
            | LblcrExpiration => ((2, 6), false),
            SyncVersion => ((2, 6), false),
            Conntrack | SnatReroute => ((2, 6), false),
            SyncPorts | SyncQlenMax | SyncSockSize | SyncRetries | SyncRefreshPeriod => {
                ((3, 9), false)
            }
            BackupOnly | PmtuDisc => ((3, 10), false),
            SloppyTcp | SloppySctp => ((3, 11), false),
            ConnReuseMode => ((4, 2), false),
            ScheduleIcmp | IgnoreTunneled => ((4, 5), false),
            SyncPersistMode => ((4, 9), false),
            RunEstimation => ((5, 18), false),
            EstCpulist | EstNice => ((6, 2), false),
        }
    }
}

impl fmt::Display for Sysctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "net.ipv4.vs.{}", self.name())
    }
}

impl FromStr for Sysctl {
    type Err = SysctlError;
    /// `conntrack` or `net.ipv4.vs.conntrack`.
    fn from_str(s: &str) -> Result<Self, SysctlError> {
        let short = s.strip_prefix("net.ipv4.vs.").unwrap_or(s);
        ALL.iter()
            .copied()
            .find(|x| x.name() == short)
            .ok_or_else(|| SysctlError::Unknown(s.to_owned()))
    }
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SysctlValue {
    /// One integer.
    Int(i64),
    /// Two integers.
    Pair(i64, i64),
    /// Text.
    Text(String),
}

impl fmt::Display for SysctlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SysctlValue::Int(n) => write!(f, "{n}"),
            SysctlValue::Pair(a, b) => write!(f, "{a} {b}"),
            SysctlValue::Text(t) => f.write_str(t),
        }
    }
}

/// Reading or writing a setting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SysctlError {
    /// The kernel has no such setting (too old, IPVS not loaded, or the
    /// module/option that adds it missing).
    #[error("{0} does not exist in this kernel")]
    NotAvailable(Sysctl),
    /// Not a name this version knows.
    #[error("{0:?} is no net.ipv4.vs setting this version knows")]
    Unknown(String),
    /// The value is not of the setting's kind.
    #[error("{setting}: {message}")]
    Invalid {
        /// The setting.
        setting: Sysctl,
        /// What is wrong.
        message: String,
    },
    /// The kernel refused the value (`EINVAL`: out of its range) or another
    /// I/O error; `PermissionDenied` without `CAP_NET_ADMIN`.
    #[error("{setting}: {source}")]
    Io {
        /// The setting.
        setting: Sysctl,
        /// The error.
        source: io::Error,
    },
    /// Entering the namespace failed.
    #[error("{0}")]
    Namespace(#[from] crate::Error),
}

#[derive(Debug)]
enum Where {
    Current,
    Path(PathBuf),
    Fd(std::os::fd::OwnedFd),
}

/// The `net.ipv4.vs.*` settings of one network namespace.
#[derive(Debug)]
pub struct Sysctls {
    netns: Where,
}

impl Sysctls {
    /// The calling thread's namespace.
    pub fn current() -> Self {
        Sysctls {
            netns: Where::Current,
        }
    }

    /// The namespace at `path` (e.g. `/run/netns/NAME`).
    pub fn in_netns_path(path: impl Into<PathBuf>) -> Self {
        Sysctls {
            netns: Where::Path(path.into()),
        }
    }

    /// The namespace of an open namespace file.
    pub fn in_netns_fd(netns: BorrowedFd<'_>) -> io::Result<Self> {
        Ok(Sysctls {
            netns: Where::Fd(netns.try_clone_to_owned()?),
        })
    }

    fn run<T: Send>(
        &self,
        f: impl FnOnce() -> Result<T, SysctlError> + Send,
    ) -> Result<T, SysctlError> {
        use std::os::fd::AsFd;
        match &self.netns {
            Where::Current => f(),
            Where::Path(p) => in_netns_path(p, || Ok(f()))?,
            Where::Fd(fd) => in_netns(fd.as_fd(), || Ok(f()))?,
        }
    }

    /// Reads a setting.
    pub fn get(&self, setting: Sysctl) -> Result<SysctlValue, SysctlError> {
        self.run(move || read(setting))
    }

    /// Writes a setting (refused before writing when the value is not of
    /// the setting's kind).
    pub fn set(&self, setting: Sysctl, value: &SysctlValue) -> Result<(), SysctlError> {
        let ok = matches!(
            (setting.kind(), value),
            (SysctlKind::Int, SysctlValue::Int(_))
                | (SysctlKind::Pair, SysctlValue::Pair(..))
                | (SysctlKind::Text, SysctlValue::Text(_))
        );
        if !ok {
            return Err(SysctlError::Invalid {
                setting,
                message: format!("{value:?} is not a {:?} value", setting.kind()),
            });
        }
        let text = format!("{value}\n");
        self.run(move || fs::write(path(setting), text).map_err(|e| io_error(setting, e)))
    }

    /// Reads an integer setting.
    pub fn get_int(&self, setting: Sysctl) -> Result<i64, SysctlError> {
        match self.get(setting)? {
            SysctlValue::Int(n) => Ok(n),
            other => Err(SysctlError::Invalid {
                setting,
                message: format!("{other:?} is not one integer"),
            }),
        }
    }

    /// Writes an integer setting.
    pub fn set_int(&self, setting: Sysctl, value: i64) -> Result<(), SysctlError> {
        self.set(setting, &SysctlValue::Int(value))
    }

    /// Every setting this kernel has (of those this version knows), with
    /// its value.
    pub fn all(&self) -> Result<Vec<(Sysctl, SysctlValue)>, SysctlError> {
        self.run(|| {
            let mut out = Vec::new();
            for &s in ALL {
                match read(s) {
                    Ok(v) => out.push((s, v)),
                    Err(SysctlError::NotAvailable(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }
}

fn path(s: Sysctl) -> PathBuf {
    Path::new(DIR).join(s.name())
}

fn io_error(setting: Sysctl, e: io::Error) -> SysctlError {
    if e.kind() == io::ErrorKind::NotFound {
        SysctlError::NotAvailable(setting)
    } else {
        SysctlError::Io { setting, source: e }
    }
}

fn read(setting: Sysctl) -> Result<SysctlValue, SysctlError> {
    let text = fs::read_to_string(path(setting)).map_err(|e| io_error(setting, e))?;
    parse_value(setting, &text)
}

/// Parses a setting's file text.
fn parse_value(setting: Sysctl, text: &str) -> Result<SysctlValue, SysctlError> {
    let bad = |m: String| SysctlError::Invalid {
        setting,
        message: m,
    };
    let nums: Vec<&str> = text.split_whitespace().collect();
    let int = |w: &str| {
        w.parse::<i64>()
            .map_err(|_| bad(format!("{w:?} is not an integer")))
    };
    match setting.kind() {
        SysctlKind::Text => Ok(SysctlValue::Text(text.trim_end_matches('\n').to_owned())),
        SysctlKind::Int => match nums.as_slice() {
            [n] => Ok(SysctlValue::Int(int(n)?)),
            _ => Err(bad(format!("{text:?} is not one integer"))),
        },
        SysctlKind::Pair => match nums.as_slice() {
            [a, b] => Ok(SysctlValue::Pair(int(a)?, int(b)?)),
            _ => Err(bad(format!("{text:?} is not two integers"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        for &s in ALL {
            assert_eq!(s.name().parse::<Sysctl>().unwrap(), s);
            assert_eq!(s.to_string().parse::<Sysctl>().unwrap(), s);
        }
        assert!("nosuch".parse::<Sysctl>().is_err());
        assert_eq!(
            parse_value(Sysctl::SyncThreshold, "3\t50\n").unwrap(),
            SysctlValue::Pair(3, 50)
        );
        assert_eq!(
            parse_value(Sysctl::Conntrack, "1\n").unwrap(),
            SysctlValue::Int(1)
        );
        assert!(parse_value(Sysctl::Conntrack, "x\n").is_err());
        assert!(parse_value(Sysctl::Conntrack, "").is_err());
        assert!(
            Sysctls::current()
                .set(Sysctl::Conntrack, &SysctlValue::Pair(1, 2))
                .is_err()
        );
    }
}
