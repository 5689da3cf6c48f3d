//! ipvsadm's command words: one command line, and rule files of them.

use std::fmt;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::names::Names;
use crate::{
    AddressFamily, ConnectionTimeouts, Destination, Forwarding, Netmask, Op, Protocol, Scheduler,
    Service, ServiceFlags, ServiceId, SyncDaemon, SyncRole, Tunnel, TunnelFlags, TunnelType,
};

/// ipvsadm's default scheduler.
const DEFAULT_SCHEDULER: &str = "wlc";
/// ipvsadm's persistence timeout when `-p` has no value.
const DEFAULT_PERSISTENCE: u32 = 360;
/// ipvsadm's default multicast interface of a sync daemon.
const DEFAULT_MCAST_IFN: &str = "eth0";

/// What kind of mistake an [`ArgError`] is; it decides ipvsadm's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgErrorKind {
    /// An unknown option, a missing option value or no command: ipvsadm
    /// prints its "Try `ipvsadm -h'" line and exits with 255.
    Usage,
    /// A value or a combination ipvsadm refuses: it exits with 2.
    Invalid,
}

/// A command line ipvsadm would refuse, naming the word at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ArgError {
    /// Which kind of mistake (and so which exit code).
    pub kind: ArgErrorKind,
    /// The word at fault, when one is.
    pub word: Option<String>,
    /// What is wrong, in ipvsadm's words where it has them.
    pub message: String,
}

impl ArgError {
    fn usage(word: impl Into<String>, message: impl Into<String>) -> Self {
        ArgError {
            kind: ArgErrorKind::Usage,
            word: Some(word.into()),
            message: message.into(),
        }
    }

    fn invalid(word: Option<&str>, message: impl Into<String>) -> Self {
        ArgError {
            kind: ArgErrorKind::Invalid,
            word: word.map(str::to_owned),
            message: message.into(),
        }
    }

    /// ipvsadm's exit status for this error: 255 for [`ArgErrorKind::Usage`],
    /// 2 for [`ArgErrorKind::Invalid`].
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ArgErrorKind::Usage => 255,
            ArgErrorKind::Invalid => 2,
        }
    }
}

/// A line of a rule file that does not parse: its 1-based line number and
/// what is wrong with it (the word at fault in [`ArgError::word`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The line's words are no valid command.
    #[error("line {line}: {}{error}", match &.error.word { Some(w) => format!("`{w}': "), None => String::new() })]
    Parse {
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        error: ArgError,
    },
    /// The line is a command a rule file cannot hold (a listing, `-R`, …).
    #[error("line {line}: `{word}' cannot be used in a rule file")]
    NotARule {
        /// The line number, from 1.
        line: usize,
        /// The command's word.
        word: String,
    },
    /// Reading the input failed.
    #[error("line {line}: {message}")]
    Read {
        /// The line number, from 1.
        line: usize,
        /// The I/O error's text.
        message: String,
    },
}

impl RuleError {
    /// The line number (from 1).
    pub fn line(&self) -> usize {
        match self {
            RuleError::Parse { line, .. }
            | RuleError::NotARule { line, .. }
            | RuleError::Read { line, .. } => *line,
        }
    }

    /// The word at fault, when there is one.
    pub fn word(&self) -> Option<&str> {
        match self {
            RuleError::Parse { error, .. } => error.word.as_deref(),
            RuleError::NotARule { word, .. } => Some(word),
            RuleError::Read { .. } => None,
        }
    }
}

/// Which columns a table listing shows (ipvsadm's listing modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ListFormat {
    /// Forwarding, weight, active and inactive connections.
    #[default]
    Plain,
    /// `--stats`: connection, packet and byte counters.
    Stats,
    /// `--rate`: rates.
    Rate,
    /// `--thresholds`: upper and lower thresholds.
    Thresholds,
    /// `--persistent-conn`: weight and persistent connections.
    PersistentConn,
    /// `--tun-info`: tunnel type, port and checksum flags.
    TunInfo,
}

/// How a listing is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOptions {
    /// The columns.
    pub format: ListFormat,
    /// `-n`: numbers for addresses and ports, no names.
    pub numeric: bool,
    /// `--exact`: counters in full, without K/M/G/T.
    pub exact: bool,
    /// Sort services and destinations as ipvsadm does (off with `--nosort`).
    pub sort: bool,
    /// `--persistent-conn` (with `-c` it adds the persistence-engine columns).
    pub persistent_conn: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            format: ListFormat::Plain,
            numeric: false,
            exact: false,
            sort: true,
            persistent_conn: false,
        }
    }
}

/// What `-L` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Listing {
    /// The whole table (with the version banner), or one service (without).
    Table(Option<ServiceId>),
    /// `-c`: the connection table.
    Connections,
    /// `--timeout`: the connection timeouts.
    Timeouts,
    /// `--daemon`: the sync daemons.
    Daemons,
}

/// One ipvsadm command, as its words say it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `-A`: add a service.
    AddService(Service),
    /// `-E`: replace a service's settings.
    EditService(Service),
    /// `-D`: delete a service.
    DeleteService(ServiceId),
    /// `-a`: add a destination.
    AddDestination(ServiceId, Destination),
    /// `-e`: replace a destination's settings.
    EditDestination(ServiceId, Destination),
    /// `-d`: delete a destination.
    DeleteDestination(ServiceId, SocketAddr),
    /// `-C`: clear the table.
    Flush,
    /// `-Z`: zero the counters of one service or all.
    Zero(Option<ServiceId>),
    /// `--set TCP TCPFIN UDP`: connection timeouts (0 keeps a value).
    SetTimeouts(ConnectionTimeouts),
    /// `--start-daemon`.
    StartDaemon(SyncDaemon),
    /// `--stop-daemon`.
    StopDaemon(SyncRole),
    /// `-L` / `-l`, or no command at all.
    List(Listing, ListOptions),
    /// `-S`: save the table as rules; `true` with `-n`.
    Save {
        /// `-n`: numeric addresses and ports.
        numeric: bool,
    },
    /// `-R`: restore rules from standard input.
    Restore,
    /// `-h`.
    Help,
    /// `-v`.
    Version,
}

impl Command {
    /// The table write this command is, for those that are one.
    pub fn op(&self) -> Option<Op> {
        Some(match self {
            Command::AddService(s) => Op::AddService(s.clone()),
            Command::EditService(s) => Op::UpdateService(s.clone()),
            Command::DeleteService(id) => Op::DeleteService(*id),
            Command::AddDestination(id, d) => Op::AddDestination(*id, *d),
            Command::EditDestination(id, d) => Op::UpdateDestination(*id, *d),
            Command::DeleteDestination(id, a) => Op::DeleteDestination(*id, *a),
            _ => return None,
        })
    }
}

/// Splits a line into words as `ipvsadm -R` does: on spaces, tabs and
/// carriage returns, dropping every word that is exactly `ipvsadm`.
pub fn split_words(line: &str) -> Vec<&str> {
    line.split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty() && *w != "ipvsadm")
        .collect()
}

/// Reads a rule file (what `ipvsadm -S` writes, or the superset): one
/// command per line, each yielded with its 1-based line number. Empty lines
/// and lines starting with `#` are skipped. Streaming: one line is held at
/// a time.
pub struct Rules<R> {
    input: R,
    line: usize,
    buf: String,
    names: Names,
}

impl<R: BufRead> Rules<R> {
    /// Reads rules from `input`, resolving names with `names`.
    pub fn new(input: R, names: Names) -> Self {
        Rules {
            input,
            line: 0,
            buf: String::new(),
            names,
        }
    }
}

impl<R: BufRead> Iterator for Rules<R> {
    type Item = Result<(usize, Command), RuleError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(RuleError::Read {
                        line,
                        message: e.to_string(),
                    }));
                }
            }
            let words = split_words(&self.buf);
            match words.first() {
                None => continue,
                Some(w) if w.starts_with('#') => continue,
                Some(_) => {}
            }
            let first = words[0].to_owned();
            return Some(match parse_args_with(&words, &self.names) {
                Ok(cmd) => match cmd {
                    Command::List(..)
                    | Command::Save { .. }
                    | Command::Restore
                    | Command::Help
                    | Command::Version => Err(RuleError::NotARule { line, word: first }),
                    cmd => Ok((line, cmd)),
                },
                Err(error) => Err(RuleError::Parse { line, error }),
            });
        }
    }
}

/// Parses one ipvsadm command line (the words after the program name),
/// resolving names from `/etc/services` and `/etc/hosts` ([`Names::system`]).
///
/// ```
/// use lvs::text::{parse_args, Command};
/// let cmd = parse_args(["-A", "-t", "10.0.0.1:80", "-s", "rr"]).unwrap();
/// assert!(matches!(cmd, Command::AddService(_)));
/// ```
pub fn parse_args<I, S>(args: I) -> Result<Command, ArgError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let owned: Vec<S> = args.into_iter().collect();
    let words: Vec<&str> = owned.iter().map(|s| s.as_ref()).collect();
    parse_args_with(&words, &Names::system())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
    Help,
    Version,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddDest => "add-server",
            Cmd::DelDest => "delete-server",
            Cmd::EditDest => "edit-server",
            Cmd::Timeout => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
            Cmd::Help => "help",
            Cmd::Version => "version",
        }
    }
}

/// Option groups, as ipvsadm checks them against commands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Opt {
    Numeric,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    McastIfn,
    SyncId,
    Connection,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Exact,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxLen,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
}

impl Opt {
    fn name(self) -> &'static str {
        match self {
            Opt::Numeric => "numeric",
            Opt::Service => "service-address",
            Opt::Scheduler => "scheduler",
            Opt::Persistent => "persistent",
            Opt::Netmask => "netmask",
            Opt::RealServer => "real-server",
            Opt::Forward => "forwarding-method",
            Opt::Weight => "weight",
            Opt::UThreshold => "u-threshold",
            Opt::LThreshold => "l-threshold",
            Opt::McastIfn => "mcast-interface",
            Opt::SyncId => "syncid",
            Opt::Connection => "connection",
            Opt::Timeout => "timeout",
            Opt::Daemon => "daemon",
            Opt::Stats => "stats",
            Opt::Rate => "rate",
            Opt::Thresholds => "thresholds",
            Opt::PersistentConn => "persistent-conn",
            Opt::NoSort => "nosort",
            Opt::Exact => "exact",
            Opt::Ops => "ops",
            Opt::Pe => "pe",
            Opt::SchedFlags => "sched-flags",
            Opt::McastGroup => "mcast-group",
            Opt::McastPort => "mcast-port",
            Opt::McastTtl => "mcast-ttl",
            Opt::SyncMaxLen => "sync-maxlen",
            Opt::TunInfo => "tun-info",
            Opt::TunType => "tun-type",
            Opt::TunPort => "tun-port",
            Opt::TunNoCsum => "tun-nocsum",
            Opt::TunCsum => "tun-csum",
            Opt::TunRemCsum => "tun-remcsum",
        }
    }
}

/// Whether an option word takes a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Nothing,
    Value,
    Optional,
}

/// Every option word: long name, short letter, what it takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Cmd(Cmd),
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Scheduler,
    Persistent,
    Netmask,
    Real,
    Masq,
    Ipip,
    Gate,
    Weight,
    UThr,
    LThr,
    Numeric,
    Conn,
    McastIfn,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxLen,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
}

const WORDS: &[(&str, Option<char>, Word, Takes)] = &[
    (
        "add-service",
        Some('A'),
        Word::Cmd(Cmd::Add),
        Takes::Nothing,
    ),
    (
        "edit-service",
        Some('E'),
        Word::Cmd(Cmd::Edit),
        Takes::Nothing,
    ),
    (
        "delete-service",
        Some('D'),
        Word::Cmd(Cmd::Del),
        Takes::Nothing,
    ),
    ("clear", Some('C'), Word::Cmd(Cmd::Flush), Takes::Nothing),
    ("list", Some('L'), Word::Cmd(Cmd::List), Takes::Nothing),
    ("list", Some('l'), Word::Cmd(Cmd::List), Takes::Nothing),
    ("zero", Some('Z'), Word::Cmd(Cmd::Zero), Takes::Nothing),
    (
        "add-server",
        Some('a'),
        Word::Cmd(Cmd::AddDest),
        Takes::Nothing,
    ),
    (
        "edit-server",
        Some('e'),
        Word::Cmd(Cmd::EditDest),
        Takes::Nothing,
    ),
    (
        "delete-server",
        Some('d'),
        Word::Cmd(Cmd::DelDest),
        Takes::Nothing,
    ),
    ("set", None, Word::Cmd(Cmd::Timeout), Takes::Nothing),
    (
        "start-daemon",
        None,
        Word::Cmd(Cmd::StartDaemon),
        Takes::Value,
    ),
    (
        "stop-daemon",
        None,
        Word::Cmd(Cmd::StopDaemon),
        Takes::Value,
    ),
    (
        "restore",
        Some('R'),
        Word::Cmd(Cmd::Restore),
        Takes::Nothing,
    ),
    ("save", Some('S'), Word::Cmd(Cmd::Save), Takes::Nothing),
    ("help", Some('h'), Word::Cmd(Cmd::Help), Takes::Nothing),
    (
        "version",
        Some('v'),
        Word::Cmd(Cmd::Version),
        Takes::Nothing,
    ),
    ("tcp-service", Some('t'), Word::Tcp, Takes::Value),
    ("udp-service", Some('u'), Word::Udp, Takes::Value),
    ("sctp-service", None, Word::Sctp, Takes::Value),
    ("fwmark-service", Some('f'), Word::Fwmark, Takes::Value),
    ("scheduler", Some('s'), Word::Scheduler, Takes::Value),
    ("persistent", Some('p'), Word::Persistent, Takes::Optional),
    ("netmask", Some('M'), Word::Netmask, Takes::Value),
    ("real-server", Some('r'), Word::Real, Takes::Value),
    ("masquerading", Some('m'), Word::Masq, Takes::Nothing),
    ("ipip", Some('i'), Word::Ipip, Takes::Nothing),
    ("gatewaying", Some('g'), Word::Gate, Takes::Nothing),
    ("weight", Some('w'), Word::Weight, Takes::Value),
    ("u-threshold", Some('x'), Word::UThr, Takes::Value),
    ("l-threshold", Some('y'), Word::LThr, Takes::Value),
    ("numeric", Some('n'), Word::Numeric, Takes::Nothing),
    ("connection", Some('c'), Word::Conn, Takes::Nothing),
    ("mcast-interface", None, Word::McastIfn, Takes::Value),
    ("syncid", None, Word::SyncId, Takes::Value),
    ("timeout", None, Word::Timeout, Takes::Nothing),
    ("daemon", None, Word::Daemon, Takes::Nothing),
    ("stats", None, Word::Stats, Takes::Nothing),
    ("rate", None, Word::Rate, Takes::Nothing),
    ("thresholds", None, Word::Thresholds, Takes::Nothing),
    (
        "persistent-conn",
        None,
        Word::PersistentConn,
        Takes::Nothing,
    ),
    ("nosort", None, Word::NoSort, Takes::Nothing),
    ("sort", None, Word::Sort, Takes::Nothing),
    ("exact", None, Word::Exact, Takes::Nothing),
    ("ipv6", Some('6'), Word::Ipv6, Takes::Nothing),
    ("ops", Some('o'), Word::Ops, Takes::Nothing),
    ("pe", None, Word::Pe, Takes::Value),
    ("sched-flags", Some('b'), Word::SchedFlags, Takes::Value),
    ("mcast-group", None, Word::McastGroup, Takes::Value),
    ("mcast-port", None, Word::McastPort, Takes::Value),
    ("mcast-ttl", None, Word::McastTtl, Takes::Value),
    ("sync-maxlen", None, Word::SyncMaxLen, Takes::Value),
    ("tun-info", None, Word::TunInfo, Takes::Nothing),
    ("tun-type", None, Word::TunType, Takes::Value),
    ("tun-port", None, Word::TunPort, Takes::Value),
    ("tun-nocsum", None, Word::TunNoCsum, Takes::Nothing),
    ("tun-csum", None, Word::TunCsum, Takes::Nothing),
    ("tun-remcsum", None, Word::TunRemCsum, Takes::Nothing),
];

/// Splits the words into (option, value) pairs and positional words.
/// An option word, the word it came from, and its value.
type Token<'a> = (Word, &'a str, Option<&'a str>);

fn tokenize<'a>(words: &[&'a str]) -> Result<Vec<Token<'a>>, ArgError> {
    let mut out = Vec::new();
    let mut i = 0;
    let tryhelp = |w: &str| ArgError::usage(w, format!("invalid option `{w}'"));
    while i < words.len() {
        let w = words[i];
        i += 1;
        if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let &(_, _, word, takes) = WORDS
                .iter()
                .find(|(n, ..)| *n == name)
                .ok_or_else(|| tryhelp(w))?;
            let value = match (takes, inline) {
                (Takes::Nothing, Some(_)) => return Err(tryhelp(w)),
                (Takes::Nothing, None) => None,
                (_, Some(v)) => Some(v),
                (Takes::Value, None) => {
                    let v = words
                        .get(i)
                        .ok_or_else(|| ArgError::usage(w, format!("`{w}' needs a value")))?;
                    i += 1;
                    Some(*v)
                }
                (Takes::Optional, None) => match words.get(i) {
                    Some(v) if !v.starts_with('-') => {
                        i += 1;
                        Some(*v)
                    }
                    _ => None,
                },
            };
            out.push((word, w, value));
        } else if w.len() > 1 && w.starts_with('-') {
            let letters = &w[1..];
            for (pos, c) in letters.char_indices() {
                let &(_, _, word, takes) = WORDS
                    .iter()
                    .find(|(_, s, ..)| *s == Some(c))
                    .ok_or_else(|| ArgError::usage(w, format!("invalid option `-{c}'")))?;
                let rest = &letters[pos + c.len_utf8()..];
                match takes {
                    Takes::Nothing => out.push((word, w, None)),
                    Takes::Value | Takes::Optional if !rest.is_empty() => {
                        out.push((word, w, Some(rest)));
                        break;
                    }
                    Takes::Value => {
                        let v = words
                            .get(i)
                            .ok_or_else(|| ArgError::usage(w, format!("`-{c}' needs a value")))?;
                        i += 1;
                        out.push((word, w, Some(*v)));
                    }
                    Takes::Optional => {
                        let v = match words.get(i) {
                            Some(v) if !v.starts_with('-') => {
                                i += 1;
                                Some(*v)
                            }
                            _ => None,
                        };
                        out.push((word, w, v));
                    }
                }
            }
        } else {
            // A positional word: only `--set`'s values take them; the
            // caller sees it as a (Numeric-less) value with no option.
            out.push((Word::Sort, "", Some(w)));
        }
    }
    Ok(out)
}

/// The command being built.
struct Parts {
    cmd: Option<Cmd>,
    opts: Vec<Opt>,
    service: Option<ServiceId>,
    fwmark_v6: bool,
    scheduler: Option<String>,
    persistence: Option<u32>,
    netmask: Option<(String, &'static str)>,
    real: Option<(SocketAddr, bool)>,
    forwarding: Option<u32>,
    weight: Option<u32>,
    uthr: u32,
    lthr: u32,
    flags: ServiceFlags,
    pe: Option<String>,
    sched_flags: Option<String>,
    tun_type: Option<TunnelType>,
    tun_port: u16,
    tun_flags: TunnelFlags,
    list: ListOptions,
    listing: Option<Listing>,
    daemon_role: Option<SyncRole>,
    mcast_ifn: Option<String>,
    syncid: u32,
    mcast_group: Option<IpAddr>,
    mcast_port: Option<u16>,
    mcast_ttl: Option<u8>,
    maxlen: Option<u16>,
    positional: Vec<String>,
}

fn number(word: &str, value: &str, min: u64, max: u64, what: &str) -> Result<u64, ArgError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n) && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ArgError::invalid(Some(word), format!("illegal {what} specified")))
}

/// Reads `ADDR[:PORT]` or `[V6ADDR][:PORT]` with names; the port is
/// `None` when absent.
fn parse_endpoint(value: &str, protocol: Protocol, names: &Names) -> Option<(IpAddr, Option<u16>)> {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match value.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => (value, None),
            None => (value, None),
        }
    };
    let ip: IpAddr = match host.parse() {
        Ok(ip) => ip,
        Err(_) => match inet_aton(host) {
            Some(v4) if !value.starts_with('[') => IpAddr::V4(v4),
            _ => names.host_address(host)?,
        },
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(p) => Some(names.port(p, protocol)?),
    };
    Some((ip, port))
}

pub(crate) fn parse_args_with(words: &[&str], names: &Names) -> Result<Command, ArgError> {
    let tokens = tokenize(words)?;
    // ipvsadm takes the command from the first option: anything else
    // first is a usage error.
    if let Some((word, w, _)) = tokens.first()
        && !matches!(word, Word::Cmd(_))
    {
        let w = if w.is_empty() { words[0] } else { w };
        return Err(ArgError::usage(w, format!("`{w}' is no command")));
    }
    let mut p = Parts {
        cmd: None,
        opts: Vec::new(),
        service: None,
        fwmark_v6: false,
        scheduler: None,
        persistence: None,
        netmask: None,
        real: None,
        forwarding: None,
        weight: None,
        uthr: 0,
        lthr: 0,
        flags: ServiceFlags::empty(),
        pe: None,
        sched_flags: None,
        tun_type: None,
        tun_port: 0,
        tun_flags: TunnelFlags::empty(),
        list: ListOptions::default(),
        listing: None,
        daemon_role: None,
        mcast_ifn: None,
        syncid: 0,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
        maxlen: None,
        positional: Vec::new(),
    };
    let set_opt = |p: &mut Parts, o: Opt, w: &str| -> Result<(), ArgError> {
        if p.opts.contains(&o) {
            return Err(ArgError::invalid(
                Some(w),
                format!("multiple '{}' options specified", o.name()),
            ));
        }
        p.opts.push(o);
        Ok(())
    };
    for (word, w, value) in tokens {
        let v = value.unwrap_or("");
        match word {
            Word::Sort if w.is_empty() => p.positional.push(v.to_owned()),
            Word::Cmd(c) => {
                if p.cmd.is_some() {
                    return Err(ArgError::invalid(Some(w), "multiple commands specified"));
                }
                p.cmd = Some(c);
                match c {
                    Cmd::StartDaemon | Cmd::StopDaemon => {
                        p.daemon_role = Some(match v {
                            "master" => SyncRole::Master,
                            "backup" => SyncRole::Backup,
                            _ => {
                                return Err(ArgError::invalid(
                                    Some(v),
                                    "illegal start_daemon specified",
                                ));
                            }
                        });
                    }
                    _ => {}
                }
            }
            Word::Tcp | Word::Udp | Word::Sctp => {
                set_opt(&mut p, Opt::Service, w)?;
                let protocol = match word {
                    Word::Tcp => Protocol::Tcp,
                    Word::Udp => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                let (ip, port) = parse_endpoint(v, protocol, names).ok_or_else(|| {
                    ArgError::invalid(Some(v), "illegal virtual server address[:port] specified")
                })?;
                p.service = Some(ServiceId::Inet {
                    protocol,
                    addr: SocketAddr::new(ip, port.unwrap_or(0)),
                });
            }
            Word::Fwmark => {
                set_opt(&mut p, Opt::Service, w)?;
                let mark = number(w, v, 1, u32::MAX as u64, "fwmark").map_err(|_| {
                    ArgError::invalid(Some(v), format!("invalid fwmark value `{v}' specified"))
                })?;
                p.service = Some(ServiceId::fwmark(mark as u32));
            }
            Word::Ipv6 => match &mut p.service {
                Some(ServiceId::Fwmark { family, .. }) => {
                    *family = AddressFamily::Ipv6;
                    p.fwmark_v6 = true;
                }
                _ => return Err(ArgError::invalid(Some(w), "-6 used before -f")),
            },
            Word::Scheduler => {
                set_opt(&mut p, Opt::Scheduler, w)?;
                p.scheduler = Some(v.to_owned());
            }
            Word::Persistent => {
                set_opt(&mut p, Opt::Persistent, w)?;
                p.flags |= ServiceFlags::PERSISTENT;
                p.persistence = Some(match value {
                    None => DEFAULT_PERSISTENCE,
                    Some(v) => number(w, v, 1, u32::MAX as u64, "timeout").map_err(|_| {
                        ArgError::invalid(Some(v), format!("invalid timeout value `{v}' specified"))
                    })? as u32,
                });
            }
            Word::Netmask => {
                set_opt(&mut p, Opt::Netmask, w)?;
                p.netmask = Some((v.to_owned(), "netmask"));
            }
            Word::Real => {
                set_opt(&mut p, Opt::RealServer, w)?;
                let proto = match p.service {
                    Some(ServiceId::Inet { protocol, .. }) => protocol,
                    _ => Protocol::Tcp,
                };
                let (ip, port) = parse_endpoint(v, proto, names).ok_or_else(|| {
                    ArgError::invalid(Some(v), "illegal real server address[:port] specified")
                })?;
                p.real = Some((SocketAddr::new(ip, port.unwrap_or(0)), port.is_some()));
            }
            Word::Masq | Word::Ipip | Word::Gate => {
                set_opt(&mut p, Opt::Forward, w)?;
                p.forwarding = Some(match word {
                    Word::Masq => 0,
                    Word::Ipip => 2,
                    _ => 3,
                });
            }
            Word::Weight => {
                set_opt(&mut p, Opt::Weight, w)?;
                p.weight = Some(number(w, v, 0, i32::MAX as u64, "weight")? as u32);
            }
            Word::UThr => {
                set_opt(&mut p, Opt::UThreshold, w)?;
                p.uthr = number(w, v, 0, i32::MAX as u64, "u_threshold")? as u32;
            }
            Word::LThr => {
                set_opt(&mut p, Opt::LThreshold, w)?;
                p.lthr = number(w, v, 0, i32::MAX as u64, "l_threshold")? as u32;
            }
            Word::Numeric => {
                set_opt(&mut p, Opt::Numeric, w)?;
                p.list.numeric = true;
            }
            Word::Conn => {
                set_opt(&mut p, Opt::Connection, w)?;
                p.listing = Some(Listing::Connections);
            }
            Word::McastIfn => {
                set_opt(&mut p, Opt::McastIfn, w)?;
                p.mcast_ifn = Some(v.to_owned());
            }
            Word::SyncId => {
                set_opt(&mut p, Opt::SyncId, w)?;
                p.syncid = number(w, v, 0, 255, "syncid")? as u32;
            }
            Word::Timeout => {
                set_opt(&mut p, Opt::Timeout, w)?;
            }
            Word::Daemon => set_opt(&mut p, Opt::Daemon, w)?,
            Word::Stats => {
                set_opt(&mut p, Opt::Stats, w)?;
                p.list.format = ListFormat::Stats;
            }
            Word::Rate => {
                set_opt(&mut p, Opt::Rate, w)?;
                if p.list.format != ListFormat::Stats {
                    p.list.format = ListFormat::Rate;
                }
            }
            Word::Thresholds => set_opt(&mut p, Opt::Thresholds, w)?,
            Word::PersistentConn => {
                set_opt(&mut p, Opt::PersistentConn, w)?;
                p.list.persistent_conn = true;
            }
            Word::NoSort => {
                set_opt(&mut p, Opt::NoSort, w)?;
                p.list.sort = false;
            }
            Word::Sort => {}
            Word::Exact => {
                set_opt(&mut p, Opt::Exact, w)?;
                p.list.exact = true;
            }
            Word::Ops => {
                set_opt(&mut p, Opt::Ops, w)?;
                p.flags |= ServiceFlags::ONE_PACKET;
            }
            Word::Pe => {
                set_opt(&mut p, Opt::Pe, w)?;
                p.pe = Some(v.to_owned());
            }
            Word::SchedFlags => {
                set_opt(&mut p, Opt::SchedFlags, w)?;
                p.sched_flags = Some(v.to_owned());
            }
            Word::McastGroup => {
                set_opt(&mut p, Opt::McastGroup, w)?;
                p.mcast_group = Some(v.parse().map_err(|_| {
                    ArgError::invalid(Some(v), "illegal multicast group specified")
                })?);
            }
            Word::McastPort => {
                set_opt(&mut p, Opt::McastPort, w)?;
                p.mcast_port = Some(number(w, v, 1, 65535, "multicast port")? as u16);
            }
            Word::McastTtl => {
                set_opt(&mut p, Opt::McastTtl, w)?;
                p.mcast_ttl = Some(number(w, v, 1, 255, "multicast TTL")? as u8);
            }
            Word::SyncMaxLen => {
                set_opt(&mut p, Opt::SyncMaxLen, w)?;
                p.maxlen = Some(number(w, v, 1, 65535 - 20 - 8, "sync-maxlen")? as u16);
            }
            Word::TunInfo => {
                set_opt(&mut p, Opt::TunInfo, w)?;
            }
            Word::TunType => {
                set_opt(&mut p, Opt::TunType, w)?;
                p.tun_type = Some(match v {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    _ => return Err(ArgError::invalid(Some(v), "illegal tunnel type specified")),
                });
            }
            Word::TunPort => {
                set_opt(&mut p, Opt::TunPort, w)?;
                p.tun_port = number(w, v, 1, 65535, "tunnel port")? as u16;
            }
            Word::TunNoCsum => set_opt(&mut p, Opt::TunNoCsum, w)?,
            Word::TunCsum => {
                set_opt(&mut p, Opt::TunCsum, w)?;
                p.tun_flags |= TunnelFlags::CSUM;
            }
            Word::TunRemCsum => {
                set_opt(&mut p, Opt::TunRemCsum, w)?;
                p.tun_flags |= TunnelFlags::REMCSUM;
            }
        }
    }
    build(p, words)
}

/// Which options each command takes ('+' required, '1'/'x' as ipvsadm's
/// table, reduced to allowed/required here).
fn allowed(cmd: Cmd, o: Opt) -> bool {
    use Opt::*;
    match cmd {
        Cmd::Add | Cmd::Edit => matches!(
            o,
            Service | Scheduler | Persistent | Netmask | Ops | Pe | SchedFlags
        ),
        Cmd::Del | Cmd::Zero => o == Service,
        Cmd::AddDest | Cmd::EditDest => matches!(
            o,
            Service
                | RealServer
                | Forward
                | Weight
                | UThreshold
                | LThreshold
                | TunType
                | TunPort
                | TunNoCsum
                | TunCsum
                | TunRemCsum
        ),
        Cmd::DelDest => matches!(o, Service | RealServer),
        Cmd::List => matches!(
            o,
            Numeric
                | Service
                | Connection
                | Timeout
                | Daemon
                | Stats
                | Rate
                | Thresholds
                | PersistentConn
                | NoSort
                | Exact
                | TunInfo
        ),
        Cmd::Save => matches!(o, Numeric),
        Cmd::StartDaemon => matches!(
            o,
            McastIfn | SyncId | McastGroup | McastPort | McastTtl | SyncMaxLen
        ),
        Cmd::StopDaemon => false,
        Cmd::Flush | Cmd::Timeout | Cmd::Restore | Cmd::Help | Cmd::Version => false,
    }
}

fn required(cmd: Cmd) -> &'static [Opt] {
    match cmd {
        Cmd::Add | Cmd::Edit | Cmd::Del => &[Opt::Service],
        Cmd::AddDest | Cmd::EditDest | Cmd::DelDest => &[Opt::Service, Opt::RealServer],
        _ => &[],
    }
}

fn build(p: Parts, words: &[&str]) -> Result<Command, ArgError> {
    let Some(cmd) = p.cmd else {
        if words.is_empty() {
            return Ok(Command::List(Listing::Table(None), ListOptions::default()));
        }
        return Err(ArgError::usage(words[0], "no command specified"));
    };
    if cmd != Cmd::Timeout
        && let Some(extra) = p.positional.first()
    {
        return Err(ArgError::invalid(
            Some(extra),
            format!("unexpected argument {extra}"),
        ));
    }
    for &o in required(cmd) {
        if !p.opts.contains(&o) {
            return Err(ArgError::invalid(
                None,
                format!(
                    "You need to supply the '{}' option for the '{}' command",
                    o.name(),
                    cmd.name()
                ),
            ));
        }
    }
    for &o in &p.opts {
        if !allowed(cmd, o) {
            return Err(ArgError::invalid(
                None,
                format!(
                    "Illegal '{}' option with the '{}' command",
                    o.name(),
                    cmd.name()
                ),
            ));
        }
    }
    let has = |o: Opt| p.opts.contains(&o);
    Ok(match cmd {
        Cmd::Help => Command::Help,
        Cmd::Version => Command::Version,
        Cmd::Restore => Command::Restore,
        Cmd::Flush => Command::Flush,
        Cmd::Save => Command::Save {
            numeric: p.list.numeric,
        },
        Cmd::Zero => Command::Zero(p.service),
        Cmd::Timeout => {
            if p.positional.len() != 3 {
                return Err(ArgError::invalid(
                    None,
                    "--set option requires 3 timeout values",
                ));
            }
            let t: Vec<u32> = p
                .positional
                .iter()
                .map(|v| {
                    number("--set", v, 0, 86400 * 31, "timeout")
                        .map(|n| n as u32)
                        .map_err(|_| {
                            ArgError::invalid(
                                Some(v),
                                format!("invalid timeout value `{v}' specified"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
            Command::SetTimeouts(ConnectionTimeouts {
                tcp: t[0],
                tcp_fin: t[1],
                udp: t[2],
            })
        }
        Cmd::StartDaemon => {
            let mut d = SyncDaemon::new(
                p.daemon_role.unwrap_or(SyncRole::Master),
                p.mcast_ifn.unwrap_or_else(|| DEFAULT_MCAST_IFN.to_owned()),
                p.syncid,
            );
            d.group = p.mcast_group;
            d.port = p.mcast_port;
            d.ttl = p.mcast_ttl;
            d.max_len = p.maxlen;
            Command::StartDaemon(d)
        }
        Cmd::StopDaemon => Command::StopDaemon(p.daemon_role.unwrap_or(SyncRole::Master)),
        Cmd::List => {
            let mut list = p.list;
            let conflict = (has(Opt::Connection) || has(Opt::Timeout) || has(Opt::Daemon))
                && (has(Opt::Stats) || has(Opt::Rate) || has(Opt::Thresholds))
                || (has(Opt::Timeout) || has(Opt::Daemon)) && has(Opt::PersistentConn);
            if conflict {
                return Err(ArgError::invalid(
                    None,
                    "options conflicts in the list command",
                ));
            }
            if list.format == ListFormat::Plain {
                list.format = if has(Opt::Thresholds) {
                    ListFormat::Thresholds
                } else if has(Opt::PersistentConn) {
                    ListFormat::PersistentConn
                } else if has(Opt::TunInfo) {
                    ListFormat::TunInfo
                } else {
                    ListFormat::Plain
                };
            }
            let listing = if has(Opt::Connection) {
                Listing::Connections
            } else if has(Opt::Service) {
                Listing::Table(p.service)
            } else if has(Opt::Timeout) {
                Listing::Timeouts
            } else if has(Opt::Daemon) {
                Listing::Daemons
            } else {
                Listing::Table(None)
            };
            Command::List(listing, list)
        }
        Cmd::Add | Cmd::Edit => {
            let id = p.service.expect("required above");
            let port_zero = matches!(id, ServiceId::Inet { addr, .. } if addr.port() == 0);
            if port_zero && !p.flags.contains(ServiceFlags::PERSISTENT) {
                return Err(ArgError::invalid(
                    None,
                    "Zero port specified for non-persistent service",
                ));
            }
            if p.flags.contains(ServiceFlags::ONE_PACKET)
                && matches!(id, ServiceId::Inet { protocol, .. } if protocol != Protocol::Udp)
            {
                return Err(ArgError::invalid(
                    None,
                    "One-Packet Scheduling is only for UDP virtual services",
                ));
            }
            let sched = p
                .scheduler
                .clone()
                .unwrap_or_else(|| DEFAULT_SCHEDULER.to_owned());
            let mut flags = p.flags;
            if let Some(sf) = &p.sched_flags {
                flags |= sched_flags(&sched, sf)?;
            }
            let family = id.family();
            let netmask = match &p.netmask {
                None => Netmask::host(family),
                Some((m, _)) => parse_netmask(m, family)?,
            };
            let mut svc = Service::new(id)
                .with_scheduler(Scheduler::from(sched.as_str()))
                .with_flags(flags)
                .with_netmask(netmask);
            svc.persistence_timeout = p.persistence.unwrap_or(0);
            svc.persistence_engine = p.pe.clone();
            if cmd == Cmd::Add {
                Command::AddService(svc)
            } else {
                Command::EditService(svc)
            }
        }
        Cmd::Del => Command::DeleteService(p.service.expect("required above")),
        Cmd::AddDest | Cmd::EditDest | Cmd::DelDest => {
            let id = p.service.expect("required above");
            let (mut addr, has_port) = p.real.expect("required above");
            let fwd = p.forwarding.unwrap_or(3);
            let svc_port = match id {
                ServiceId::Inet { addr, .. } => Some(addr.port()),
                ServiceId::Fwmark { .. } => None,
            };
            if let Some(port) = svc_port
                && (!has_port || fwd == 2 || fwd == 3)
            {
                addr.set_port(port);
            }
            if cmd == Cmd::DelDest {
                return Ok(Command::DeleteDestination(id, addr));
            }
            if AddressFamily::of(&addr.ip()) != id.family() && fwd != 2 {
                return Err(ArgError::invalid(
                    None,
                    "Different address family is allowed only for tunneling servers",
                ));
            }
            let tun_opts = [
                Opt::TunType,
                Opt::TunPort,
                Opt::TunNoCsum,
                Opt::TunCsum,
                Opt::TunRemCsum,
            ];
            if fwd != 2 && tun_opts.iter().any(|o| has(*o)) {
                return Err(ArgError::invalid(
                    None,
                    "Tunnel options conflict with forward method",
                ));
            }
            let forwarding = match fwd {
                0 => Forwarding::Masquerade,
                3 => Forwarding::DirectRouting,
                _ => {
                    let kind = p.tun_type.unwrap_or(TunnelType::Ipip);
                    check_tunnel(kind, &p.opts)?;
                    Forwarding::Tunnel(Tunnel {
                        kind,
                        port: p.tun_port,
                        flags: p.tun_flags,
                    })
                }
            };
            let dest = Destination::new(addr)
                .with_forwarding(forwarding)
                .with_weight(p.weight.unwrap_or(1))
                .with_thresholds(p.uthr, p.lthr);
            if cmd == Cmd::AddDest {
                Command::AddDestination(id, dest)
            } else {
                Command::EditDestination(id, dest)
            }
        }
    })
}

/// ipvsadm's tunnel-type option table: GUE needs a port; ipip takes no
/// tunnel option; GRE no port; at most one of nocsum/csum/remcsum, except
/// that this crate also reads `--tun-csum --tun-remcsum` on GUE (the
/// superset).
fn check_tunnel(kind: TunnelType, opts: &[Opt]) -> Result<(), ArgError> {
    let has = |o: Opt| opts.contains(&o);
    let name = kind.to_string();
    let illegal = |o: Opt| {
        ArgError::invalid(
            None,
            format!(
                "Illegal '{}' option with the '{name}' tunnel type",
                o.name()
            ),
        )
    };
    match kind {
        TunnelType::Ipip => {
            for o in [Opt::TunPort, Opt::TunNoCsum, Opt::TunCsum, Opt::TunRemCsum] {
                if has(o) {
                    return Err(illegal(o));
                }
            }
        }
        TunnelType::Gue => {
            if !has(Opt::TunPort) {
                return Err(ArgError::invalid(
                    None,
                    "You need to supply the 'tun-port' option for the 'gue' tunnel type",
                ));
            }
            if has(Opt::TunNoCsum) && (has(Opt::TunCsum) || has(Opt::TunRemCsum)) {
                return Err(ArgError::invalid(
                    None,
                    "The option 'tun-nocsum' conflicts with the checksum options in the 'gue' tunnel type",
                ));
            }
        }
        TunnelType::Gre => {
            for o in [Opt::TunPort, Opt::TunRemCsum] {
                if has(o) {
                    return Err(illegal(o));
                }
            }
            if has(Opt::TunNoCsum) && has(Opt::TunCsum) {
                return Err(ArgError::invalid(
                    None,
                    "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type",
                ));
            }
        }
        TunnelType::Other(_) => {}
    }
    Ok(())
}

fn parse_netmask(m: &str, family: AddressFamily) -> Result<Netmask, ArgError> {
    match family {
        AddressFamily::Ipv4 => inet_aton(m)
            .map(Netmask::Ipv4)
            .ok_or(())
            .map_err(|_| ArgError::invalid(Some(m), "illegal virtual server netmask specified")),
        AddressFamily::Ipv6 => number("-M", m, 1, 128, "ipv6 netmask")
            .map(|n| Netmask::Ipv6(n as u8))
            .map_err(|_| ArgError::invalid(Some(m), "illegal ipv6 netmask specified")),
    }
}

/// An IPv4 address in any form C's `inet_aton` takes (ipvsadm reads
/// addresses and masks with it): 1 to 4 parts, each decimal, octal
/// (leading 0) or hex (0x), the last filling the remaining bytes.
fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() && radix != 8 {
            return None;
        }
        let n = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
            return None;
        }
        nums.push(n);
    }
    let (last, head) = nums.split_last()?;
    if head.iter().any(|n| *n > 255) {
        return None;
    }
    let shift = 8 * (4 - head.len() as u32);
    if shift < 32 && u64::from(*last) >= 1u64 << shift {
        return None;
    }
    let mut v: u32 = 0;
    for (i, n) in head.iter().enumerate() {
        v |= n << (24 - 8 * i);
    }
    Some(Ipv4Addr::from(v | last))
}

/// ipvsadm's `-b` words for a scheduler.
fn sched_flags(sched: &str, words: &str) -> Result<ServiceFlags, ArgError> {
    let mut flags = ServiceFlags::empty();
    for flag in words.split(',') {
        let f = match flag {
            "flag-1" => ServiceFlags::SCHED1,
            "flag-2" => ServiceFlags::SCHED2,
            "flag-3" => ServiceFlags::SCHED3,
            "sh-fallback" | "sh-port" if sched != "sh" => {
                return Err(ArgError::invalid(
                    Some(flag),
                    format!("incompatible scheduler flag `{flag}'"),
                ));
            }
            "mh-fallback" | "mh-port" if sched != "mh" => {
                return Err(ArgError::invalid(
                    Some(flag),
                    format!("incompatible scheduler flag `{flag}'"),
                ));
            }
            "sh-fallback" | "mh-fallback" => ServiceFlags::SCHED1,
            "sh-port" | "mh-port" => ServiceFlags::SCHED2,
            _ => {
                return Err(ArgError::invalid(
                    Some(flag),
                    format!("invalid scheduler flag `{flag}'"),
                ));
            }
        };
        flags |= f;
    }
    Ok(flags)
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListFormat::Plain => "plain",
            ListFormat::Stats => "--stats",
            ListFormat::Rate => "--rate",
            ListFormat::Thresholds => "--thresholds",
            ListFormat::PersistentConn => "--persistent-conn",
            ListFormat::TunInfo => "--tun-info",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Command, ArgError> {
        parse_args_with(&split_words(s), &Names::none())
    }

    #[test]
    fn commands_of_a_save_parse() {
        let cmd = parse("-A -t 10.0.0.1:80 -s rr -p 30 --pe sip").unwrap();
        let Command::AddService(s) = cmd else {
            panic!()
        };
        assert_eq!(s.persistence_timeout, 30);
        assert_eq!(s.persistence_engine.as_deref(), Some("sip"));
        let cmd = parse(
            "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum",
        )
        .unwrap();
        let Command::AddDestination(_, d) = cmd else {
            panic!()
        };
        assert_eq!(
            d.forwarding,
            Forwarding::Tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM))
        );
        // The destination port follows the service's for -g.
        let Command::AddDestination(_, d) = parse("-a -t 1.2.3.4:80 -r 5.6.7.8:99 -g").unwrap()
        else {
            panic!()
        };
        assert_eq!(d.addr.port(), 80);
        let Command::AddService(s) = parse("-A -f 43 -6 -s mh -b mh-port").unwrap() else {
            panic!()
        };
        assert_eq!(s.id, ServiceId::fwmark_v6(43));
        assert!(matches!(
            parse("-Ln").unwrap(),
            Command::List(Listing::Table(None), ListOptions { numeric: true, .. })
        ));
        assert!(matches!(
            parse("-Sn").unwrap(),
            Command::Save { numeric: true }
        ));
    }

    #[test]
    fn errors_name_the_word_and_the_exit_code() {
        let e = parse("-A -t 1.2.3.4:80 -w 3").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = parse("-Q").unwrap_err();
        assert_eq!((e.exit_code(), e.word.as_deref()), (255, Some("-Q")));
        let e = parse("-A -u 1.2.3.4:5 -p 0").unwrap_err();
        assert_eq!((e.exit_code(), e.word.as_deref()), (2, Some("0")));
        let e = parse("-A -t 1.2.3.6:80 -b sh-port").unwrap_err();
        assert_eq!(e.word.as_deref(), Some("sh-port"));
        assert_eq!(parse("-A -t 1.2.3.4").unwrap_err().exit_code(), 2);
        assert_eq!(parse("--set 1 2").unwrap_err().exit_code(), 2);
        assert_eq!(parse("-A -t 1.2.3.5:80 -o").unwrap_err().exit_code(), 2);
        assert_eq!(parse("--tun-type gue").unwrap_err().exit_code(), 255);
        assert_eq!(parse("-f 0 -A").unwrap_err().exit_code(), 255);
        assert_eq!(parse("-A -f 0").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn addresses_as_inet_aton_reads_them() {
        assert_eq!(inet_aton("64"), Some(Ipv4Addr::new(0, 0, 0, 64)));
        assert_eq!(inet_aton("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("0x7f.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(inet_aton("010.0.0.1"), Some(Ipv4Addr::new(8, 0, 0, 1)));
        assert_eq!(
            inet_aton("255.255.255.0"),
            Some(Ipv4Addr::new(255, 255, 255, 0))
        );
        assert_eq!(inet_aton("999.1.1.1"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("a"), None);
        assert_eq!(inet_aton(""), None);
    }

    #[test]
    fn rules_report_line_and_word() {
        let text = "# comment\n-A -t 10.0.0.1:80\n\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w many\n";
        let got: Vec<_> = Rules::new(text.as_bytes(), Names::none()).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().0, 2);
        let err = got[1].as_ref().unwrap_err();
        assert_eq!((err.line(), err.word()), (4, Some("-w")));
        assert!(err.to_string().starts_with("line 4: `-w': illegal weight"));
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = crate::test_rng::Rng(11);
        let vocab = [
            "-A",
            "-a",
            "-t",
            "-u",
            "-f",
            "-6",
            "-r",
            "-p",
            "-M",
            "--tun-type",
            "gue",
            "-x",
            "1.2.3.4:80",
            "[::1]:80",
            "[::1",
            "::1",
            "-Ln",
            "-pn",
            "--set",
            "7",
            "--pe=sip",
            "--start-daemon",
            "master",
            "-b",
            "sh-port",
            "",
            "-",
            "--",
            "-w",
            "-1",
            "ipvsadm",
        ];
        for _ in 0..20_000 {
            let n = rng.below(8);
            let words: Vec<&str> = (0..n).map(|_| vocab[rng.below(vocab.len())]).collect();
            let _ = parse_args_with(&words, &Names::none());
        }
    }
}
