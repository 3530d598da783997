//! A cheap clock for rate-limited checks on the send path.

/// Nanoseconds on the coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`: read from the vDSO
/// without touching the TSC, a few nanoseconds, with the resolution of a kernel tick). Good
/// enough to decide "has it been 25 ms?" on every send.
///
/// Through libc rather than rustix: rustix finds the vDSO by parsing the auxiliary vector
/// itself, which crashes under valgrind (valgrind provides no vDSO), and the crash tests are
/// run under valgrind.
#[inline]
pub(crate) fn coarse_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; the clock id is a constant the kernel
    // knows. On failure (impossible for this clock) `ts` stays zero, which only makes the
    // caller check liveness once more.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}
