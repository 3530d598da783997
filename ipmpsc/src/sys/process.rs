//! The calling process's pid, recorded in the channel file only to name holders in errors and
//! in the inspector: liveness is decided by the kernel's locks (see [`super::lock`]), never by
//! pids, which another PID namespace sees differently and the kernel reuses.

/// The calling process's pid, as seen from its own PID namespace.
pub(crate) fn current_pid() -> u32 {
    rustix::process::getpid().as_raw_nonzero().get() as u32
}
