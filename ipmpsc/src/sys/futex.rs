//! Futex wait and wake on a 32-bit word inside the shared mapping.
//!
//! The futexes are *shared* (no `FUTEX_PRIVATE_FLAG`): the kernel keys them by the physical
//! page, so a waiter in one process is woken by a waker in another that maps the same file.

use rustix::thread::futex;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, for at most `timeout` (forever when `None`).
///
/// Returns on a wake-up, on a value change (immediately), on a signal, or when the timeout
/// expires; the caller re-checks its condition in every case, so spurious returns are harmless.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|t| futex::Timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: t.subsec_nanos() as _,
    });
    // EAGAIN (value already changed), EINTR and ETIMEDOUT all mean "re-check"; no other error
    // is possible for a valid, aligned address in our own mapping.
    let _ = futex::wait(word, futex::Flags::empty(), expected, ts.as_ref());
}

/// Wakes every process sleeping on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
}
