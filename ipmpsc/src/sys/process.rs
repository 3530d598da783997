//! Process identity and liveness that a reused pid cannot fool.
//!
//! A process is identified by its pid together with its start time (field 22 of
//! `/proc/<pid>/stat`, in clock ticks since boot). A pid that the kernel hands to a new process
//! comes with a new start time, so a stale record never looks alive. A zombie (killed, not yet
//! reaped by its parent) counts as dead: it will never run again.

use std::sync::atomic::{AtomicU64, Ordering};

/// Who a process is: pid plus start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessId {
    pub(crate) pid: u32,
    pub(crate) start_time: u64,
}

/// Liveness of a recorded process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    Alive,
    Dead,
}

/// Cache of this process's identity: `pid << 0` in the low 32 bits is checked against
/// `getpid()` on each call, so a forked child recomputes its own.
static SELF_PID: AtomicU64 = AtomicU64::new(0);
static SELF_START: AtomicU64 = AtomicU64::new(0);

/// The calling process's identity.
pub(crate) fn current() -> ProcessId {
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    if SELF_PID.load(Ordering::Acquire) == u64::from(pid) {
        return ProcessId {
            pid,
            start_time: SELF_START.load(Ordering::Relaxed),
        };
    }
    let start_time = start_time(pid).unwrap_or(0);
    SELF_START.store(start_time, Ordering::Relaxed);
    SELF_PID.store(u64::from(pid), Ordering::Release);
    ProcessId { pid, start_time }
}

/// Whether the process recorded as `id` still runs. `start_time == 0` means "unknown" (the
/// record was being written): then the pid alone decides.
#[cfg(test)]
pub(crate) fn liveness(id: ProcessId) -> Liveness {
    liveness_with(id.pid, |start| id.start_time == 0 || start == id.start_time)
}

/// Whether `pid` runs and its start time satisfies `start_matches`.
pub(crate) fn liveness_with(pid: u32, start_matches: impl Fn(u64) -> bool) -> Liveness {
    if pid == 0 {
        return Liveness::Dead;
    }
    match stat_of(pid) {
        Some((state, start)) if state != b'Z' && state != b'X' && start_matches(start) => {
            Liveness::Alive
        }
        _ => Liveness::Dead,
    }
}

/// Start time of `pid` in clock ticks since boot, if it runs (or is a zombie).
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    stat_of(pid).map(|(_, start)| start)
}

/// Reads `(state, starttime)` from `/proc/<pid>/stat`.
fn stat_of(pid: u32) -> Option<(u8, u64)> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses the state (field 3) and start time (field 22) of a `/proc/<pid>/stat` line. The
/// command name (field 2) is in parentheses and may itself hold spaces and parentheses, so
/// fields are counted from the last `)`.
fn parse_stat(text: &[u8]) -> Option<(u8, u64)> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    // `rest` starts at field 3 (state); start time is field 22, so 18 more fields on.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_parentheses_in_command_name() {
        let line = b"1234 (a) b (c)) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21\n";
        assert_eq!(parse_stat(line), Some((b'S', 987654)));
    }

    #[test]
    fn own_process_is_alive_and_has_start_time() {
        let me = current();
        assert!(me.start_time > 0);
        assert_eq!(liveness(me), Liveness::Alive);
    }

    #[test]
    fn wrong_start_time_means_dead() {
        let me = current();
        let imposter = ProcessId {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        assert_eq!(liveness(imposter), Liveness::Dead);
    }

    #[test]
    fn reaped_child_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(liveness(ProcessId { pid, start_time: 1 }), Liveness::Dead);
    }
}
