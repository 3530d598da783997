//! Futex wait and wake on a 32-bit word inside the shared mapping.
//!
//! The futexes are *shared* (no `FUTEX_PRIVATE_FLAG`): the kernel keys them by the physical
//! page, so a waiter in one process is woken by a waker in another that maps the same file.

use rustix::thread::futex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
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

/// Most words [`wait_any`] waits on at once (the kernel's limit for `futex_waitv`).
pub(crate) const WAIT_ANY_MAX: usize = 128;

/// Set once `futex_waitv` turned out to be missing (Linux before 5.16, or a seccomp filter
/// that refuses it).
static NO_WAITV: AtomicBool = AtomicBool::new(false);

/// How long [`wait_any`] sleeps on one word at a time where `futex_waitv` is missing.
const WAITV_FALLBACK_SLICE: Duration = Duration::from_millis(1);

/// Sleeps while every `word` holds its `expected` value, for at most `timeout` (forever when
/// `None`): `futex_waitv`, one syscall for up to [`WAIT_ANY_MAX`] words of any mappings.
///
/// Returns on a wake-up of any word, on a value change, on a signal, or when the timeout
/// expires; the caller re-checks its conditions in every case. On a kernel without
/// `futex_waitv` it sleeps on the first word for at most a millisecond at a time, so that a
/// change of another word is noticed within that long (documented where select is).
pub(crate) fn wait_any(words: &[(&AtomicU32, u32)], timeout: Option<Duration>) {
    debug_assert!(!words.is_empty() && words.len() <= WAIT_ANY_MAX);
    let Some(&(first, first_expected)) = words.first() else {
        return;
    };
    if words.len() == 1 {
        return wait(first, first_expected, timeout);
    }
    if !NO_WAITV.load(Ordering::Relaxed) {
        let mut waits = [futex::Wait::new(); WAIT_ANY_MAX];
        for (w, &(word, expected)) in waits.iter_mut().zip(words) {
            w.val = u64::from(expected);
            w.uaddr = futex::WaitPtr::new(word.as_ptr().cast());
            // Shared futexes (no FUTEX2_PRIVATE): the words live in mappings of other
            // processes too.
            w.flags = futex::WaitFlags::SIZE_U32;
        }
        let deadline = timeout.and_then(monotonic_after);
        match futex::waitv(
            &waits[..words.len()],
            futex::WaitvFlags::empty(),
            deadline.as_ref(),
            rustix::time::ClockId::Monotonic,
        ) {
            // A word was woken, a value differed already (EAGAIN), a signal came (EINTR) or
            // the time is up (ETIMEDOUT): the caller re-checks in every case.
            Ok(_) => return,
            Err(e) if e != rustix::io::Errno::NOSYS && e != rustix::io::Errno::PERM => return,
            Err(_) => NO_WAITV.store(true, Ordering::Relaxed),
        }
    }
    let slice = timeout.map_or(WAITV_FALLBACK_SLICE, |t| t.min(WAITV_FALLBACK_SLICE));
    if words.iter().all(|(w, e)| w.load(Ordering::SeqCst) == *e) {
        wait(first, first_expected, Some(slice));
    }
}

/// The `CLOCK_MONOTONIC` time `after` from now, as `futex_waitv` takes its deadline; `None`
/// when it is too far to represent (wait without a deadline).
fn monotonic_after(after: Duration) -> Option<futex::Timespec> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable `timespec` and the clock id a constant the kernel
    // knows. Through libc, not rustix, for the reason `clock::coarse_nanos` gives.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let nanos = u64::try_from(now.tv_nsec).ok()? + u64::from(after.subsec_nanos());
    let secs = u64::try_from(now.tv_sec)
        .ok()?
        .checked_add(after.as_secs())?
        .checked_add(nanos / 1_000_000_000)?;
    Some(futex::Timespec {
        tv_sec: i64::try_from(secs).ok()?,
        tv_nsec: (nanos % 1_000_000_000) as _,
    })
}
