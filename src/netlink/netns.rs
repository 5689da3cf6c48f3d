//! Running code with the calling thread's network namespace left alone.

use std::fs::File;
use std::os::fd::BorrowedFd;
use std::path::Path;

use nix::sched::{CloneFlags, setns};

use crate::error::{Error, KernelError, Result};

/// A failed namespace system call: `EPERM` (no `CAP_SYS_ADMIN` over the
/// namespace) as [`Error::PermissionDenied`], like opening a handle
/// without `CAP_NET_ADMIN`; anything else as an I/O error.
fn netns_error(call: &'static str, errno: nix::errno::Errno) -> Error {
    if errno == nix::errno::Errno::EPERM {
        Error::PermissionDenied(KernelError::new(
            libc::EPERM,
            call,
            Some("entering another network namespace needs CAP_SYS_ADMIN".into()),
            None,
        ))
    } else {
        Error::Io(std::io::Error::from(errno))
    }
}

/// Runs `f` on a short-lived thread that first enters the network
/// namespace `netns`. Sockets `f` creates stay bound to that namespace for
/// their whole life; the calling thread never changes namespace.
pub(crate) fn in_netns<T: Send>(
    netns: BorrowedFd<'_>,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            setns(netns, CloneFlags::CLONE_NEWNET).map_err(|e| netns_error("setns", e))?;
            f()
        });
        match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// [`in_netns`] with the namespace at `path` (e.g. `/run/netns/NAME`).
pub(crate) fn in_netns_path<T: Send>(
    path: &Path,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    let file = File::open(path).map_err(|e| match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => netns_error("open", nix::errno::Errno::EPERM),
        _ => Error::Io(std::io::Error::new(
            e.kind(),
            format!("cannot open network namespace {}: {e}", path.display()),
        )),
    })?;
    use std::os::fd::AsFd;
    in_netns(file.as_fd(), f)
}
