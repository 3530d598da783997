//! Byte-range locks owned by an open file description (`F_OFD_SETLK`): the liveness signal of
//! every receiver and sender.
//!
//! An OFD lock belongs to the open file description, not to a pid, so the kernel drops it when
//! the last descriptor of that description closes, however the process ends (return, panic,
//! abort, `SIGKILL`), and it means the same thing in every PID namespace that shares the file.
//! Unlike classic POSIX record locks, two descriptions in one process conflict with each other,
//! and closing an unrelated descriptor of the same file does not drop them.
//!
//! A description never conflicts with itself: `F_OFD_GETLK` through the description that holds
//! a lock reports the byte as free. Callers therefore probe the other role's locks through a
//! description that never takes them (see `ring::peers`).
//!
//! rustix covers whole-file OFD locks only, so these three calls go through `libc`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// A one-byte lock request of `kind` at `offset`.
fn request(kind: libc::c_int, offset: u64) -> libc::flock {
    // SAFETY: `flock` is a plain C struct of integers; all-zero bytes are a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = offset as libc::off_t;
    fl.l_len = 1;
    // `l_pid` must be 0 for OFD requests (zeroed above).
    fl
}

/// `fcntl(fd, cmd, &mut fl)`, retried on `EINTR`.
fn fcntl_lock(fd: BorrowedFd<'_>, cmd: libc::c_int, fl: &mut libc::flock) -> io::Result<()> {
    loop {
        // SAFETY: `fd` is a live descriptor for the duration of the borrow, and `fl` points to
        // a valid, exclusively borrowed `flock` that the kernel reads and (for GETLK) writes.
        let r = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, fl as *mut libc::flock) };
        if r != -1 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Takes the write lock on byte `offset` through `fd` without waiting. `Ok(false)` if another
/// open file description holds it. Taking a lock this description already holds succeeds.
pub(crate) fn try_lock(fd: BorrowedFd<'_>, offset: u64) -> io::Result<bool> {
    let mut fl = request(libc::F_WRLCK, offset);
    match fcntl_lock(fd, libc::F_OFD_SETLK, &mut fl) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Releases the lock on byte `offset` held through `fd` (nothing happens if it holds none).
pub(crate) fn unlock(fd: BorrowedFd<'_>, offset: u64) -> io::Result<()> {
    let mut fl = request(libc::F_UNLCK, offset);
    fcntl_lock(fd, libc::F_OFD_SETLK, &mut fl)
}

/// Whether an open file description other than `fd`'s holds the write lock on byte `offset`.
///
/// Asked with a read-lock request, which only a write lock conflicts with: peers hold write
/// locks (which need the file opened for writing), so a process that can only read the file
/// cannot make a dead peer look alive by taking read locks.
pub(crate) fn is_locked(fd: BorrowedFd<'_>, offset: u64) -> io::Result<bool> {
    let mut fl = request(libc::F_RDLCK, offset);
    fcntl_lock(fd, libc::F_OFD_GETLK, &mut fl)?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// Who holds a byte that [`take`] could not lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// The lock is ours now.
    Us,
    /// Another description holds the write lock: a live peer (or a creator deciding).
    Writer,
    /// Only read locks are held: no peer takes those, so the byte's role has no live holder,
    /// but a process that can read the file keeps anyone from taking it.
    Readers,
}

/// Takes the write lock on byte `offset` through `fd`, or says who holds it. A lock that is let
/// go of between the attempt and the question (and so looks held by nobody) is tried again, so
/// `Readers` means read locks were found in the way every time.
pub(crate) fn take(fd: BorrowedFd<'_>, offset: u64) -> io::Result<Holder> {
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        if try_lock(fd, offset)? {
            return Ok(Holder::Us);
        }
        if is_locked(fd, offset)? {
            return Ok(Holder::Writer);
        }
    }
    Ok(Holder::Readers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn two_descriptions() -> (std::fs::File, std::fs::File, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("ipmpsc-lock-{}", std::process::id()));
        let a = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let b = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        (a, b, path)
    }

    #[test]
    fn descriptions_of_one_process_conflict_and_close_releases() {
        let (a, b, path) = two_descriptions();
        assert!(try_lock(a.as_fd(), 7).unwrap());
        assert!(
            try_lock(a.as_fd(), 7).unwrap(),
            "re-locking through the holder"
        );
        assert!(!try_lock(b.as_fd(), 7).unwrap());
        assert!(is_locked(b.as_fd(), 7).unwrap());
        assert!(
            !is_locked(a.as_fd(), 7).unwrap(),
            "the holder sees no conflict"
        );
        assert!(!is_locked(b.as_fd(), 8).unwrap(), "one byte only");
        // Beyond the end of the (empty) file works too.
        assert!(try_lock(b.as_fd(), 1 << 40).unwrap());
        unlock(a.as_fd(), 7).unwrap();
        assert!(!is_locked(b.as_fd(), 7).unwrap());
        assert!(try_lock(a.as_fd(), 7).unwrap());
        drop(a);
        assert!(
            try_lock(b.as_fd(), 7).unwrap(),
            "closing the holder released it"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn take_tells_a_writer_from_readers() {
        let (a, b, path) = two_descriptions();
        assert_eq!(take(a.as_fd(), 3).unwrap(), Holder::Us);
        assert_eq!(take(b.as_fd(), 3).unwrap(), Holder::Writer);
        unlock(a.as_fd(), 3).unwrap();
        let mut fl = request(libc::F_RDLCK, 3);
        fcntl_lock(a.as_fd(), libc::F_OFD_SETLK, &mut fl).unwrap();
        assert_eq!(take(b.as_fd(), 3).unwrap(), Holder::Readers);
        unlock(a.as_fd(), 3).unwrap();
        assert_eq!(take(b.as_fd(), 3).unwrap(), Holder::Us);
        std::fs::remove_file(path).unwrap();
    }
}
