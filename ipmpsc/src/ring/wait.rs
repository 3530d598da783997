//! Sleeping and waking across processes, without lost wake-ups, and deadlines.
//!
//! Each side spins briefly, then sleeps on a futex word of the shared mapping
//! ([`WaitWord`]). The sleeper (1) reads the word's `seq`, (2) increments `sleepers`
//! (SeqCst), (3) re-checks its condition (SeqCst), and only then (4) calls `FUTEX_WAIT(seq)`.
//! The waker (a) makes the condition true with a SeqCst store, (b) loads `sleepers` (SeqCst),
//! and only if it is non-zero (c) swaps it to 0 and, if it took a non-zero value, increments
//! `seq` and calls `FUTEX_WAKE` for all. The SeqCst operations are totally ordered, so either
//! the waker sees the sleeper's announcement in (b), or the sleeper sees the new condition in
//! (3). In the first case the announcement is taken by this waker's swap or by an earlier
//! one's; either way a `seq` increment follows (1), so the kernel either finds `seq` changed
//! and refuses to sleep, or wakes the sleeper. In the second case the sleeper does not sleep.
//! When nobody sleeps, `sleepers` is 0 and the waker makes no syscall; and because the swap
//! takes all announcements at once, a burst of commits while the receiver is waking up costs
//! one `FUTEX_WAKE`, not one per message.
//!
//! Senders waiting for space also publish the release position they need in `target`
//! (`fetch_min`, between (2) and (3)), and the receiver wakes them only once `free` reaches
//! the smallest target: a blocked sender wakes as soon as its message fits, not when some
//! fixed share of the ring is free. The waker reads `target` after its store of `free`, so
//! either it sees the target or the sleeper's re-check sees the new `free`. It resets
//! `target` *before* taking the announcements: a sleeper whose target the reset erases had
//! announced itself before the swap and is woken by it (and announces again).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::header::WaitWord;
use super::Ring;

/// The deadline `timeout` from now; `None` (wait forever) when it is too far to represent, so
/// that `Duration::MAX` means "no deadline" in every timeout form.
#[inline]
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// How long a sleep may last: until `deadline` (`None`: no limit), and no longer than `cap`.
/// `None` when the deadline passed.
#[inline]
pub(crate) fn sleep_budget(
    deadline: Option<Instant>,
    now: Instant,
    cap: Duration,
) -> Option<Duration> {
    match deadline {
        Some(d) if now >= d => None,
        Some(d) => Some((d - now).min(cap)),
        None => Some(cap),
    }
}

impl Ring {
    /// Wakes the receiver if it sleeps or is about to (after a commit, or when a sender left).
    #[inline]
    pub(crate) fn wake_receiver(&self) {
        wake(&self.header().data_wait);
    }

    /// Wakes sleeping senders if the release position `free` (just stored, SeqCst) reaches
    /// what the first of them needs.
    #[inline]
    pub(crate) fn wake_senders_for(&self, free: u64) {
        let w = &self.header().space_wait;
        if w.sleepers.load(Ordering::SeqCst) != 0 && w.target.load(Ordering::SeqCst) <= free {
            w.target.store(u64::MAX, Ordering::SeqCst);
            wake(w);
        }
    }

    /// Wakes every sleeping sender (the receiver left: they all have something to learn).
    pub(crate) fn wake_all_senders(&self) {
        let w = &self.header().space_wait;
        w.target.store(u64::MAX, Ordering::SeqCst);
        wake(w);
    }
}

/// The waker's half of the sleep protocol (module docs): after making the sleepers' condition
/// true with a SeqCst operation, wake them if any announced itself. Taking the announcements
/// with a swap means one wake per sleep, however many wakers pass by before the sleepers run.
#[inline]
fn wake(w: &WaitWord) {
    if w.sleepers.load(Ordering::SeqCst) != 0 && w.sleepers.swap(0, Ordering::SeqCst) != 0 {
        w.seq.fetch_add(1, Ordering::SeqCst);
        crate::sys::futex::wake_all(&w.seq);
    }
}

/// The sleeper's half: announce, re-check `ready` (which must load with SeqCst), and sleep on
/// the futex unless it is ready. Returns whether `ready` held. Never consumes a wake-up meant for
/// anyone else: announcements are only ever cleared by a waker that then wakes everybody.
#[inline]
pub(crate) fn sleep_unless(
    w: &WaitWord,
    timeout: Option<Duration>,
    ready: impl Fn() -> bool,
) -> bool {
    match announce(w, ready) {
        None => true,
        Some(seq) => {
            crate::sys::futex::wait(&w.seq, seq, timeout);
            false
        }
    }
}

/// The first half of [`sleep_unless`], for a sleeper that waits on several words at once
/// (select, the async waiter): announce, re-check `ready`, and return the `seq` to sleep on
/// unless it is ready (`None`). An announcement that is never slept on is harmless: the
/// next waker takes it and makes one `FUTEX_WAKE` nobody needed.
#[inline]
pub(crate) fn announce(w: &WaitWord, ready: impl Fn() -> bool) -> Option<u32> {
    let seq = w.seq.load(Ordering::SeqCst);
    w.sleepers.fetch_add(1, Ordering::SeqCst);
    if ready() {
        None
    } else {
        Some(seq)
    }
}

/// [`sleep_unless`] for a sender that needs `free` to reach `target`: publishes the target
/// between announcing itself and re-checking (module docs).
pub(crate) fn sleep_for_space(
    w: &WaitWord,
    target: u64,
    timeout: Option<Duration>,
    ready: impl Fn() -> bool,
) -> bool {
    match announce_for_space(w, target, ready) {
        None => true,
        Some(seq) => {
            crate::sys::futex::wait(&w.seq, seq, timeout);
            false
        }
    }
}

/// The first half of [`sleep_for_space`], for an async sender that waits through the waiter
/// thread: announce, publish `target`, re-check `ready`; the `seq` to sleep on unless ready.
pub(crate) fn announce_for_space(
    w: &WaitWord,
    target: u64,
    ready: impl Fn() -> bool,
) -> Option<u32> {
    let seq = w.seq.load(Ordering::SeqCst);
    w.sleepers.fetch_add(1, Ordering::SeqCst);
    w.target.fetch_min(target, Ordering::SeqCst);
    if ready() {
        None
    } else {
        Some(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_mean_no_deadline() {
        assert_eq!(deadline_after(Duration::MAX), None);
        assert!(deadline_after(Duration::from_secs(1)).is_some());
        let now = Instant::now();
        assert_eq!(
            sleep_budget(None, now, Duration::from_millis(50)),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            sleep_budget(Some(now), now, Duration::from_millis(50)),
            None
        );
    }
}
