//! A child made by `fork` lets go of the channel files' descriptors.
//!
//! Liveness is a lock held through an open file description, and a forked child shares its
//! parent's descriptions: a helper forked by a receiver (without `exec`) would keep the
//! receiver's lock, and so the receiver "alive", after the receiver died. So every
//! descriptor of a mapped channel is registered here, and a `pthread_atfork` child handler
//! points each of them at `/dev/null` in the child (`dup3` keeps the descriptor numbers, so
//! the child's copies of the channel objects close harmless descriptors later). The child's
//! copies of channel ends cannot be used (their locks are gone); the parent is unaffected.
//! Descriptors are close-on-exec besides, so a child that `exec`s inherits none.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

/// Registered descriptors; -1 marks a free entry. A fixed array, so that the child handler
/// (which may only make async-signal-safe calls) reads it without a lock.
static FDS: [AtomicI32; 512] = [const { AtomicI32::new(-1) }; 512];

static HANDLER: Once = Once::new();

/// Registers `fd` to be let go of in forked children.
pub(crate) fn register(fd: RawFd) {
    HANDLER.call_once(|| {
        // SAFETY: registers a child handler that only makes async-signal-safe calls (open,
        // dup3, close) and reads atomics; it is registered once and never unregistered, and
        // the function it points to lives for the whole program.
        unsafe { libc::pthread_atfork(None, None, Some(let_go_in_child)) };
    });
    for entry in &FDS {
        if entry
            .compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
    // Full: this descriptor is not let go of in forked children (documented limit).
}

/// Forgets `fd` (before it is closed).
pub(crate) fn unregister(fd: RawFd) {
    for entry in &FDS {
        if entry
            .compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

/// The `pthread_atfork` child handler (see the module docs).
extern "C" fn let_go_in_child() {
    // SAFETY: `open` of a constant, NUL-terminated path; async-signal-safe.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if null < 0 {
        return;
    }
    for entry in &FDS {
        let fd = entry.load(Ordering::Acquire);
        if fd >= 0 && fd != null {
            // SAFETY: `dup3` replaces descriptor `fd` of this (child) process with a copy of
            // `null`, dropping the child's reference to the channel file's description;
            // async-signal-safe.
            unsafe { libc::dup3(null, fd, libc::O_CLOEXEC) };
        }
    }
    // SAFETY: closes the descriptor opened above; async-signal-safe.
    unsafe { libc::close(null) };
}
