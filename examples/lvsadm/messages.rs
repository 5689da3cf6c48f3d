//! ipvsadm's words for kernel errors (its `ipvs_strerror` table), by the
//! command that met them.

use lvs::Error;

/// Which request an error came from, as ipvsadm's table keys them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Request {
    AddService,
    EditService,
    DeleteService,
    ZeroService,
    AddDest,
    EditDest,
    DeleteDest,
    StartDaemon,
    StopDaemon,
    GetService,
    Other,
}

impl Request {
    pub fn of(op: &lvs::Op) -> Self {
        match op {
            lvs::Op::AddService(_) => Request::AddService,
            lvs::Op::UpdateService(_) => Request::EditService,
            lvs::Op::DeleteService(_) => Request::DeleteService,
            lvs::Op::AddDestination(..) => Request::AddDest,
            lvs::Op::UpdateDestination(..) => Request::EditDest,
            lvs::Op::DeleteDestination(..) => Request::DeleteDest,
            _ => Request::Other,
        }
    }
}

/// The line ipvsadm prints for `error` met by `request`.
pub fn message(request: Request, error: &Error) -> String {
    use Request::*;
    let Some(errno) = error.errno() else {
        return error.to_string();
    };
    let m = match (request, errno) {
        (AddService, libc::EEXIST) => "Service already exists",
        (AddService | EditService, libc::ENOENT) => "Scheduler or persistence engine not found",
        (EditService | DeleteService | ZeroService | GetService, libc::ESRCH) => "No such service",
        (AddDest | EditDest | DeleteDest, libc::ESRCH) => "Service not defined",
        (AddDest, libc::EEXIST) => "Destination already exists",
        (EditDest | DeleteDest, libc::ENOENT) => "No such destination",
        (StartDaemon, libc::EEXIST) => "Daemon has already run",
        (StopDaemon, libc::ESRCH) => "No daemon is running",
        (_, libc::EPERM) => "Permission denied (you must be root)",
        (_, libc::EINVAL) => {
            "Invalid operation.  Possibly wrong module version, address not unicast, ..."
        }
        (_, libc::ENOPROTOOPT) => "Protocol not available",
        (_, libc::ENOMEM) => "Memory allocation problem",
        (_, libc::EOPNOTSUPP) => "Operation not supported with IPv6",
        (_, libc::EAFNOSUPPORT) => "Operation not supported with specified address family",
        (_, libc::EMSGSIZE) => "Module is wrong version",
        _ => return std::io::Error::from_raw_os_error(errno).to_string(),
    };
    m.to_owned()
}
