//! `lvsadm`: an ipvsadm-compatible command line built only on `lvs`'s
//! public API.
//!
//! It takes ipvsadm 1.31's commands and options, prints the same listings
//! and saves byte for byte, and exits with the same statuses; `-R` applies
//! the rule file in batches. One option of its own: `--superset` with `-S`
//! also keeps what ipvsadm's save drops (thresholds, both GUE checksum
//! flags, the timeouts). See the README's `lvsadm` section.
mod messages;
mod restore;
mod run;

use std::process::exit;

use lvs::Ipvs;
use lvs::text::{ArgErrorKind, Command, Names, parse_args};

const USAGE: &str = "\
lvsadm — ipvsadm-compatible IPVS administration, built on the lvs crate

Usage:
  lvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags] [-o]
  lvsadm -D virtual-service
  lvsadm -C
  lvsadm -R
  lvsadm -S [-n] [--superset]
  lvsadm -a|e virtual-service -r server-address [options]
  lvsadm -d virtual-service -r server-address
  lvsadm -L|l [virtual-service] [options]
  lvsadm -Z [virtual-service]
  lvsadm --set tcp tcpfin udp
  lvsadm --start-daemon {master|backup} [daemon-options]
  lvsadm --stop-daemon {master|backup}
  lvsadm -h

virtual-service: -t|u|--sctp-service address:port | -f fwmark [-6]
options: -s -p -M -b -o --pe -r -g -i -m -w -x -y --tun-type --tun-port
         --tun-nocsum --tun-csum --tun-remcsum
listing: -n -c --stats --rate --exact --thresholds --persistent-conn
         --tun-info --timeout --daemon --nosort
daemon:  --mcast-interface --syncid --mcast-group --mcast-port --mcast-ttl --sync-maxlen

-S --superset also writes what ipvsadm -S drops: -x/-y thresholds, a GUE
tunnel with both checksum flags, and the timeouts as a --set line.";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let superset = args.iter().any(|a| a == "--superset");
    args.retain(|a| a != "--superset");
    let names = if args
        .iter()
        .any(|a| a == "-n" || a == "--numeric" || is_numeric_bundle(a))
    {
        Names::none()
    } else {
        Names::system()
    };
    let cmd = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            match e.kind {
                ArgErrorKind::Usage => {
                    eprintln!("Try `lvsadm -h' or 'lvsadm --help' for more information.")
                }
                _ => eprintln!("{}", e.message),
            }
            exit(e.exit_code());
        }
    };
    match cmd {
        Command::Help => {
            println!("{USAGE}");
            exit(0);
        }
        Command::Version => {
            println!(
                "lvsadm {} (ipvsadm 1.31 compatible)",
                env!("CARGO_PKG_VERSION")
            );
            exit(0);
        }
        _ => {}
    }
    let ipvs = match Ipvs::open() {
        Ok(i) => i,
        Err(e) => {
            eprintln!(
                "Can't initialize ipvs: {e}\nAre you sure that IP Virtual Server is built in the kernel or as module?"
            );
            exit(2);
        }
    };
    let status = match &cmd {
        Command::List(what, opts) => run::list(&ipvs, what, opts, &names),
        Command::Save { numeric } => run::save(&ipvs, *numeric, superset, &names),
        Command::Restore => {
            let stdin = std::io::stdin();
            restore::restore(&ipvs, stdin.lock(), names)
        }
        other => run::run_command(&ipvs, other),
    };
    exit(status);
}

/// `-Ln`, `-Sn`, `-lnc`…: a bundle of short options with `n` in it (and no
/// option taking a value before it).
fn is_numeric_bundle(a: &str) -> bool {
    a.len() > 2
        && a.starts_with('-')
        && !a.starts_with("--")
        && a[1..]
            .chars()
            .take_while(|c| "LlSCcZn6ogimh".contains(*c))
            .any(|c| c == 'n')
}
