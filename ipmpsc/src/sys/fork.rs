//! A child made by `fork` lets go of the channel files' descriptors, and knows it is a child.
//!
//! Liveness is a lock held through an open file description, and a forked child shares its
//! parent's descriptions: a helper forked by a receiver (without `exec`) would keep the
//! receiver's lock, and so the receiver "alive", after the receiver died. So every descriptor
//! of a channel file is a [`ChannelFile`], registered from the moment it is opened until it is
//! closed, and a `pthread_atfork` child handler points each registered descriptor at
//! `/dev/null` in the child (`dup3` keeps the numbers, so the child's copies close harmless
//! descriptors later). Opening and registering, and unregistering and closing, happen inside a
//! section that a fork waits for (the `prepare` handler), so no descriptor is ever open and
//! unregistered at a fork.
//!
//! The child handler also advances a [`generation`]: channel objects remember the generation
//! they were made in, and a copy inherited by a child (whose generation is newer) gives nothing
//! back on its parent's behalf when dropped. Pids cannot tell: a child forked into a new PID
//! namespace can have its parent's pid. Descriptors are close-on-exec besides, so a child that
//! `exec`s inherits none.

use std::fs::File;
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Once;

/// Registered descriptors; -1 marks a free entry. A fixed array, so that the child handler
/// (which may only make async-signal-safe calls) reads it without a lock. A process of
/// ipmpsc's default file limit (1024 descriptors) cannot fill it.
static FDS: [AtomicI32; 8192] = [const { AtomicI32::new(-1) }; 8192];

/// Threads inside an open-and-register section, and [`FORKING`] while a fork waits for them.
static SECTION: AtomicUsize = AtomicUsize::new(0);
const FORKING: usize = 1 << (usize::BITS - 1);

/// Advanced in every forked child.
static GENERATION: AtomicU64 = AtomicU64::new(0);

static HANDLERS: Once = Once::new();

/// The fork generation of this process: 0 in a process that was not forked since the handlers
/// were installed, one more in each forked child. (Every channel object opened a
/// [`ChannelFile`] first, which installed the handlers, so the generations it compares are
/// counted; this is read on every send and receive, and installs nothing.)
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

fn install() {
    HANDLERS.call_once(|| {
        // SAFETY: registers handlers that live for the whole program; the child handler makes
        // only async-signal-safe calls (open, dup3, close) and touches only atomics.
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
}

/// A descriptor of a channel file, let go of in forked children (module docs).
#[derive(Debug)]
pub(crate) struct ChannelFile(ManuallyDrop<File>);

impl ChannelFile {
    /// Runs `open` and registers the file it returns, with no fork in between.
    pub(crate) fn open(open: impl FnOnce() -> io::Result<File>) -> io::Result<ChannelFile> {
        install();
        enter();
        let result = open().and_then(|file| {
            if register(file.as_raw_fd()) {
                Ok(ChannelFile(ManuallyDrop::new(file)))
            } else {
                Err(io::Error::other(format!(
                    "more than {} channel descriptors are open in this process",
                    FDS.len()
                )))
            }
        });
        leave();
        result
    }

    /// Another descriptor of the same open file description, registered too.
    pub(crate) fn try_clone(&self) -> io::Result<ChannelFile> {
        ChannelFile::open(|| self.0.try_clone())
    }
}

impl std::ops::Deref for ChannelFile {
    type Target = File;
    fn deref(&self) -> &File {
        &self.0
    }
}

impl AsFd for ChannelFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Drop for ChannelFile {
    fn drop(&mut self) {
        // Forgotten and closed inside a section: a fork between the two would otherwise give
        // the child an unregistered descriptor (forgotten, still open), and closing first
        // could let the child handler point a reused number at /dev/null.
        enter();
        unregister(self.0.as_raw_fd());
        // SAFETY: the file is dropped exactly once, here, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.0) };
        leave();
    }
}

fn enter() {
    loop {
        let s = SECTION.load(Ordering::Acquire);
        if s & FORKING != 0 {
            std::thread::yield_now();
            continue;
        }
        if SECTION
            .compare_exchange_weak(s, s + 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

fn leave() {
    SECTION.fetch_sub(1, Ordering::AcqRel);
}

fn register(fd: RawFd) -> bool {
    FDS.iter().any(|entry| {
        entry
            .compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    })
}

fn unregister(fd: RawFd) {
    for entry in &FDS {
        if entry
            .compare_exchange(fd, -1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

/// Before a fork: wait until no thread is between opening a channel file and registering it.
extern "C" fn prepare() {
    SECTION.fetch_or(FORKING, Ordering::AcqRel);
    while SECTION.load(Ordering::Acquire) & !FORKING != 0 {
        std::thread::yield_now();
    }
}

/// After a fork, in the parent.
extern "C" fn parent() {
    SECTION.fetch_and(!FORKING, Ordering::AcqRel);
}

/// After a fork, in the child (module docs).
extern "C" fn child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
    SECTION.store(0, Ordering::Release);
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
