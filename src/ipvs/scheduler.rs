//! Schedulers: how a service picks a destination for a new connection.

use std::fmt;
use std::str::FromStr;

use super::Unnamed;
use super::consts::IP_VS_SCHEDNAME_MAXLEN;
use crate::error::{Error, Result};

/// A scheduler, by the name the kernel knows it under
/// (`IPVS_SVC_ATTR_SCHED_NAME`; module `ip_vs_<name>`).
///
/// Every in-tree scheduler has a variant; any other name (an out-of-tree
/// module, one added to a newer kernel) is kept as [`Scheduler::Other`].
/// `Scheduler::from("rr")` and `"rr".parse()` map names to variants, and
/// they are the only way to make an `Other`: it never holds a name that has
/// a variant, so `Scheduler::from("rr") == Scheduler::RoundRobin` and a
/// scheduler read back from the kernel compares equal to the one written.
///
/// ```
/// use lvs::Scheduler;
/// assert_eq!(Scheduler::from("rr"), Scheduler::RoundRobin);
/// assert_eq!("wlc".parse::<Scheduler>().unwrap(), Scheduler::default());
/// let custom = Scheduler::from("my_sched");
/// assert_eq!(custom.name(), "my_sched");
/// assert_eq!(custom.to_string().parse::<Scheduler>().unwrap(), custom);
/// ```
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "String", from = "String")
)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Scheduler {
    /// `rr`: round robin.
    RoundRobin,
    /// `wrr`: weighted round robin.
    WeightedRoundRobin,
    /// `lc`: least connection.
    LeastConnection,
    /// `wlc`: weighted least connection (the kernel's and ipvsadm's default).
    #[default]
    WeightedLeastConnection,
    /// `lblc`: locality-based least connection.
    LocalityBasedLeastConnection,
    /// `lblcr`: locality-based least connection with replication.
    LocalityBasedLeastConnectionReplication,
    /// `dh`: destination hashing.
    DestinationHashing,
    /// `sh`: source hashing (see [`ServiceFlags::SH_FALLBACK`](crate::ServiceFlags::SH_FALLBACK)
    /// and [`ServiceFlags::SH_PORT`](crate::ServiceFlags::SH_PORT)).
    SourceHashing,
    /// `sed`: shortest expected delay.
    ShortestExpectedDelay,
    /// `nq`: never queue.
    NeverQueue,
    /// `fo`: weighted failover.
    WeightedFailover,
    /// `ovf`: weighted overflow.
    WeightedOverflow,
    /// `mh`: Maglev hashing (Linux 4.18; see
    /// [`ServiceFlags::MH_FALLBACK`](crate::ServiceFlags::MH_FALLBACK)).
    MaglevHashing,
    /// `twos`: weighted random twos choice (Linux 6.2 and later).
    TwoRandomChoices,
    /// `none`: no scheduler; only persistent templates route connections.
    None,
    /// Any other scheduler name (made by `Scheduler::from`).
    Other(Unnamed<String>),
}

const NAMES: &[(Scheduler, &str)] = &[
    (Scheduler::RoundRobin, "rr"),
    (Scheduler::WeightedRoundRobin, "wrr"),
    (Scheduler::LeastConnection, "lc"),
    (Scheduler::WeightedLeastConnection, "wlc"),
    (Scheduler::LocalityBasedLeastConnection, "lblc"),
    (Scheduler::LocalityBasedLeastConnectionReplication, "lblcr"),
    (Scheduler::DestinationHashing, "dh"),
    (Scheduler::SourceHashing, "sh"),
    (Scheduler::ShortestExpectedDelay, "sed"),
    (Scheduler::NeverQueue, "nq"),
    (Scheduler::WeightedFailover, "fo"),
    (Scheduler::WeightedOverflow, "ovf"),
    (Scheduler::MaglevHashing, "mh"),
    (Scheduler::TwoRandomChoices, "twos"),
    (Scheduler::None, "none"),
];

impl Scheduler {
    /// Every scheduler with a variant of its own, in-tree ones first.
    pub const KNOWN: [Scheduler; 15] = [
        Scheduler::RoundRobin,
        Scheduler::WeightedRoundRobin,
        Scheduler::LeastConnection,
        Scheduler::WeightedLeastConnection,
        Scheduler::LocalityBasedLeastConnection,
        Scheduler::LocalityBasedLeastConnectionReplication,
        Scheduler::DestinationHashing,
        Scheduler::SourceHashing,
        Scheduler::ShortestExpectedDelay,
        Scheduler::NeverQueue,
        Scheduler::WeightedFailover,
        Scheduler::WeightedOverflow,
        Scheduler::MaglevHashing,
        Scheduler::TwoRandomChoices,
        Scheduler::None,
    ];

    /// The kernel's name for it (`"rr"`, `"wlc"`, …).
    pub fn name(&self) -> &str {
        match self {
            Scheduler::Other(name) => &name.0,
            known => NAMES
                .iter()
                .find(|(s, _)| s == known)
                .map_or("", |(_, n)| n),
        }
    }

    /// Checks what the kernel would reject obscurely: an empty name, one of
    /// 16 bytes or more, or one with a NUL byte.
    pub(crate) fn validate(&self) -> Result<()> {
        let name = self.name();
        if name.is_empty() {
            return Err(Error::invalid("scheduler", "empty name"));
        }
        if name.len() >= IP_VS_SCHEDNAME_MAXLEN {
            return Err(Error::invalid(
                "scheduler",
                format!(
                    "name {name:?} is {} bytes; the kernel takes at most {}",
                    name.len(),
                    IP_VS_SCHEDNAME_MAXLEN - 1
                ),
            ));
        }
        if name.contains('\0') {
            return Err(Error::invalid("scheduler", "name contains a NUL byte"));
        }
        Ok(())
    }
}

impl From<&str> for Scheduler {
    fn from(name: &str) -> Self {
        NAMES.iter().find(|(_, n)| *n == name).map_or_else(
            || Scheduler::Other(Unnamed(name.to_owned())),
            |(s, _)| s.clone(),
        )
    }
}

impl From<String> for Scheduler {
    fn from(name: String) -> Self {
        match NAMES.iter().find(|(_, n)| *n == name) {
            Some((s, _)) => s.clone(),
            None => Scheduler::Other(Unnamed(name)),
        }
    }
}

impl From<Scheduler> for String {
    fn from(s: Scheduler) -> String {
        match s {
            Scheduler::Other(name) => name.0,
            known => known.name().to_owned(),
        }
    }
}

impl FromStr for Scheduler {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Scheduler::from(s))
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Scheduler::KNOWN {
            assert_eq!(Scheduler::from(s.name()), s);
            assert!(s.validate().is_ok());
        }
        let fancy = Scheduler::from("fancy");
        assert_eq!(fancy, Scheduler::Other(Unnamed("fancy".into())));
        assert_eq!(fancy.name(), "fancy");
        assert_eq!(Scheduler::from(String::from("rr")), Scheduler::RoundRobin);
        assert_eq!(String::from(Scheduler::RoundRobin), "rr");
        assert_eq!(String::from(fancy), "fancy");
    }

    #[test]
    fn bad_names_are_refused_naming_the_field() {
        for bad in ["", "sixteen-chars-xx", "a\0b"] {
            match Scheduler::from(bad).validate() {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "scheduler"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(Scheduler::from("fifteen-chars-x").validate().is_ok());
    }
}
