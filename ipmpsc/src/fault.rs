//! Fault injection for crash tests (feature `fault-injection`, off by default and meant for
//! tests only).
//!
//! With the feature on and `IPMPSC_FAULT=<point>:<n>` in the environment, the `n`-th time
//! (counting from 1) this process reaches the named point of a send, it writes
//! `IPMPSC_FAULT_STOPPED <point>` on standard error and stops itself with `SIGSTOP`, so that a
//! test can `SIGKILL` it at exactly that step. Points: `after-announce` (intent written, tail not
//! yet moved), `after-cas` (tail moved, intent not yet confirmed), `after-reserve` (tail moved
//! and confirmed, nothing written), `before-publish` (payload written, flag not yet set); and of
//! a creator replacing a file: `before-replace` (the old file marked `REPLACING`, found unused,
//! not yet renamed over).

#[cfg(feature = "fault-injection")]
mod imp {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    static PLAN: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);

    fn plan() -> &'static Option<(String, u64)> {
        PLAN.get_or_init(|| {
            let spec = std::env::var("IPMPSC_FAULT").ok()?;
            let (point, n) = spec.split_once(':')?;
            Some((point.to_owned(), n.parse().ok()?))
        })
    }

    pub(crate) fn point(name: &'static str) {
        let Some((point, n)) = plan() else { return };
        if point != name {
            return;
        }
        if HITS.fetch_add(1, Ordering::Relaxed) + 1 == *n {
            eprintln!("IPMPSC_FAULT_STOPPED {name}");
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::STOP,
            );
        }
    }
}

#[cfg(feature = "fault-injection")]
pub(crate) use imp::point;

/// Does nothing without the `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_name: &'static str) {}
