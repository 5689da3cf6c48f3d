//! ipvsadm's text formats: its command words, the rule format of
//! `ipvsadm -S` / `ipvsadm -R`, and its listings.
//!
//! * [`parse_args`] reads one ipvsadm command line (the words after the
//!   program name) into a [`Command`]; [`Rules`] reads a rule file (what
//!   `ipvsadm -S` writes and `ipvsadm -R` reads: one command per line) and
//!   names the line and the word of any error ([`RuleError`]).
//! * [`write_save`] writes a table as `ipvsadm -S` (or `-Sn`) does, byte for
//!   byte; with [`SaveOptions::superset`] it also keeps what `ipvsadm -S`
//!   drops (see below).
//! * [`write_listing`], [`write_timeouts`], [`write_daemons`] and
//!   [`write_connections`] write `ipvsadm -L`'s listings (with `-n`,
//!   `--stats`, `--rate`, `--exact`, `--thresholds`, `--persistent-conn`,
//!   `--tun-info`, `--timeout`, `--daemon`, `-c`, `--nosort`) byte for byte
//!   as ipvsadm 1.31 prints them.
//!
//! # The superset
//!
//! `ipvsadm -S` loses destination thresholds, the connection timeouts and a
//! GUE tunnel with both checksum flags (ipvsadm 1.31 indexes past a table
//! there). With [`SaveOptions::superset`] the save keeps them, still in
//! ipvsadm's own words, so that [`Rules`] (and, except the last, `ipvsadm
//! -R`) read them back:
//!
//! * a destination with a threshold gets ` -x UPPER -y LOWER` after its
//!   weight (both written when either is set);
//! * a GUE destination with both flags gets `--tun-csum --tun-remcsum`
//!   (ipvsadm refuses the pair; this crate reads it);
//! * the connection timeouts come first, as a `--set TCP TCPFIN UDP` line.
//!
//! Lines whose first word starts with `#` and empty lines are skipped by
//! [`Rules`] (ipvsadm has no comments).
//!
//! Host and port names: without `-n`, ipvsadm prints names from the
//! system's resolver; [`Names`] reads `/etc/services` and `/etc/hosts`
//! (no DNS), and names are resolved the same way when read.

mod args;
mod list;
mod names;
mod save;

pub use args::{
    ArgError, ArgErrorKind, Command, ListFormat, ListOptions, Listing, RuleError, Rules,
    parse_args, split_words,
};
pub use list::{
    write_connections, write_daemons, write_listing, write_listing_header, write_service_listing,
    write_timeouts,
};
pub use names::Names;
pub use save::{SaveOptions, compare_destinations, compare_services, write_save};
