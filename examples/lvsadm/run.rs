//! Running one command against the kernel, with ipvsadm's messages and
//! exit statuses.

use std::io::{self, Write};

use lvs::conn::Connections;
use lvs::text::{
    Command, ListOptions, Listing, Names, SaveOptions, write_connections, write_daemons,
    write_listing, write_listing_header, write_save, write_service_listing, write_timeouts,
};
use lvs::{Ipvs, ServiceId};

use crate::messages::{Request, message};

/// Prints a kernel error as ipvsadm does and gives its status (255).
fn failed(request: Request, e: &lvs::Error) -> i32 {
    eprintln!("{}", message(request, e));
    255
}

/// Runs a command that writes to the kernel (or lists); returns the exit
/// status.
pub fn run_command(ipvs: &Ipvs, cmd: &Command) -> i32 {
    if let Some(op) = cmd.op() {
        return match ipvs.execute(&op) {
            Ok(()) => 0,
            Err(e) => failed(Request::of(&op), &e),
        };
    }
    let result = match cmd {
        Command::Flush => ipvs.flush().map_err(|e| (Request::Other, e)),
        Command::Zero(None) => ipvs.zero_all().map_err(|e| (Request::ZeroService, e)),
        Command::Zero(Some(id)) => ipvs.zero_service(id).map_err(|e| (Request::ZeroService, e)),
        Command::SetTimeouts(t) => ipvs
            .set_connection_timeouts(t)
            .map_err(|e| (Request::Other, e)),
        Command::StartDaemon(d) => ipvs.start_daemon(d).map_err(|e| (Request::StartDaemon, e)),
        Command::StopDaemon(role) => ipvs
            .stop_daemon(*role)
            .map_err(|e| (Request::StopDaemon, e)),
        _ => return 0,
    };
    match result {
        Ok(()) => 0,
        Err((r, e)) => failed(r, &e),
    }
}

/// `-L` in all its forms.
pub fn list(ipvs: &Ipvs, what: &Listing, opts: &ListOptions, names: &Names) -> i32 {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let status = match what {
        Listing::Table(None) => {
            let info = match ipvs.info() {
                Ok(i) => i,
                Err(e) => return failed(Request::Other, &e),
            };
            match ipvs.services_with_destinations() {
                Ok(mut table) => {
                    let _ = write_listing(&mut out, &info, &mut table, opts, names);
                    0
                }
                Err(e) => failed(Request::GetService, &e),
            }
        }
        Listing::Table(Some(id)) => list_one(ipvs, id, opts, names, &mut out),
        Listing::Timeouts => match ipvs.connection_timeouts() {
            Ok(t) => {
                let _ = write_timeouts(&mut out, &t);
                0
            }
            Err(_) => 1,
        },
        Listing::Daemons => match ipvs.daemons() {
            Ok(d) => {
                let _ = write_daemons(&mut out, &d);
                0
            }
            Err(_) => 1,
        },
        Listing::Connections => match Connections::open() {
            Ok(conns) => match write_connections(&mut out, conns, opts, names) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = out.flush();
                    eprintln!("{e}");
                    1
                }
            },
            Err(_) => {
                eprintln!("cannot open file /proc/net/ip_vs_conn");
                1
            }
        },
        _ => 0,
    };
    let _ = out.flush();
    status
}

fn list_one(
    ipvs: &Ipvs,
    id: &ServiceId,
    opts: &ListOptions,
    names: &Names,
    out: &mut dyn Write,
) -> i32 {
    let entry = match ipvs.service(id) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{}", message(Request::GetService, &e));
            return 1;
        }
    };
    let mut dests = match ipvs.destinations(id) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}", message(Request::GetService, &e));
            return 1;
        }
    };
    let _ = write_listing_header(out, None, opts);
    let _ = write_service_listing(out, &entry, &mut dests, opts, names);
    0
}

/// `-S`: the table as rules (`superset` keeps what ipvsadm drops).
pub fn save(ipvs: &Ipvs, numeric: bool, superset: bool, names: &Names) -> i32 {
    let mut table = match ipvs.services_with_destinations() {
        Ok(t) => t,
        Err(e) => return failed(Request::GetService, &e),
    };
    let timeouts = if superset {
        match ipvs.connection_timeouts() {
            Ok(t) => Some(t),
            Err(e) => return failed(Request::Other, &e),
        }
    } else {
        None
    };
    let opts = SaveOptions {
        numeric,
        superset,
        timeouts,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let _ = write_save(&mut out, &mut table, &opts, names);
    let _ = out.flush();
    0
}
