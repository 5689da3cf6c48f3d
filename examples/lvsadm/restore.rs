//! `-R`: the rule file from standard input, applied in batches.
//!
//! Table writes (`-A -E -D -a -e -d`) stream through one
//! `Ipvs::batch_writer`; any other command (`-C`, `-Z`, `--set`, daemons)
//! first sends what is queued, then runs on its own, so the order of the
//! file is kept. Each refused line is reported with its line number and the
//! rest still applies; a line that does not parse stops the restore there
//! (as ipvsadm does), after what came before it is sent.

use std::io::BufRead;

use lvs::text::{Names, RuleError, Rules};
use lvs::{BatchWriter, Ipvs};

use crate::messages::{Request, message};
use crate::run::run_command;

/// What a restore ends with: the exit status.
pub fn restore(ipvs: &Ipvs, input: impl BufRead, names: Names) -> i32 {
    let mut status = 0;
    let mut lines: Vec<usize> = Vec::new();
    let mut writer: Option<BatchWriter<'_>> = None;
    let finish = |writer: &mut Option<BatchWriter<'_>>, lines: &mut Vec<usize>| -> i32 {
        let Some(w) = writer.take() else { return 0 };
        let mut status = 0;
        match w.finish() {
            Ok(report) => {
                for f in report.failures() {
                    let line = lines.get(f.index).copied().unwrap_or(0);
                    eprintln!("line {line}: {}", message(Request::of(&f.op), &f.error));
                    status = 255;
                }
            }
            Err(e) => {
                eprintln!("{e}");
                status = 255;
            }
        }
        lines.clear();
        status
    };
    for item in Rules::new(input, names) {
        match item {
            Ok((line, cmd)) => {
                if let Some(op) = cmd.op() {
                    let w = writer.get_or_insert_with(|| ipvs.batch_writer());
                    lines.push(line);
                    if let Err(e) = w.push(op) {
                        // A refused value (validation) or a send failure.
                        eprintln!("line {line}: {e}");
                        lines.pop();
                        status = 255;
                    }
                } else {
                    status = status.max(finish(&mut writer, &mut lines));
                    let code = run_command(ipvs, &cmd);
                    if code != 0 {
                        eprintln!("line {line}: failed");
                        status = status.max(code);
                    }
                }
            }
            Err(e) => {
                // Send what came before, as ipvsadm has applied it; the
                // status is the parse error's, as ipvsadm's.
                let _ = finish(&mut writer, &mut lines);
                eprintln!("{e}");
                let code = match &e {
                    RuleError::Parse { error, .. } => error.exit_code(),
                    _ => 255,
                };
                return code;
            }
        }
    }
    status.max(finish(&mut writer, &mut lines))
}
