//! Opening a sender on a channel that may not exist yet: [`open_sender_within`] waits until a
//! receiver holds a channel at the path.
//!
//! # Why a directory watch, with a re-check besides
//!
//! A channel file is published by a rename into its directory, so inotify on the directory
//! (see `sys::watch`) wakes the waiting sender the moment it appears, without polling. The
//! watch cannot see everything that makes a channel usable, though: a receiver that claims a
//! file that was already there (`open_receiver` or `open_or_create_receiver` after a restart)
//! only takes a lock, and the directory may not exist yet or inotify may be out of instances.
//! So the path is also looked at again at a bounded interval, growing from 1 ms to
//! [`RECHECK_MAX`]: at worst a receiver is noticed that long after it came, and an idle
//! waiter costs one `open` a tenth of a second.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Sender, SharedRingBuffer};
use crate::ring::wait::sleep_budget;
use crate::schema::StoredSchema;
use crate::sys::watch::DirWatch;
use crate::Result;

/// The first re-check interval; it doubles up to [`RECHECK_MAX`].
const RECHECK_FIRST: Duration = Duration::from_millis(1);

/// The longest a receiver can be there before a waiting sender notices it, when no event told.
pub(crate) const RECHECK_MAX: Duration = Duration::from_millis(100);

/// Opens the channel at `path` and registers a sender on it, once a receiver holds it, waiting
/// until `deadline` (`None`: as long as it takes). `Ok(None)` if no receiver held a channel
/// there in time. Looks at least once, even with a deadline that has passed.
///
/// A file with no receiver (one left by a receiver that is gone) is waited on, not used: a
/// sender registered on it would keep a new receiver's `create_receiver` from replacing it.
///
/// # Errors
/// At once, without waiting on: `check`'s error (a schema mismatch) for a channel that a
/// receiver holds; [`crate::Error::IncompatibleRingBuffer`] / [`crate::Error::Corrupt`] for a
/// file that is not a usable channel (a receiver's create refuses to replace such a file, so
/// waiting would not help); [`crate::Error::Io`] for anything but a missing file;
/// [`crate::Error::TooManySenders`].
pub(crate) fn open_sender_within(
    path: &Path,
    check: impl Fn(&StoredSchema) -> Result<()>,
    deadline: Option<Instant>,
) -> Result<Option<Sender>> {
    let mut pause = RECHECK_FIRST;
    loop {
        // Watch first, then look: whatever is published after the look wakes the wait.
        let watch = DirWatch::new(path);
        if let Some(sender) = try_open(path, &check)? {
            return Ok(Some(sender));
        }
        let Some(budget) = sleep_budget(deadline, Instant::now(), pause) else {
            return Ok(None);
        };
        match watch {
            Some(watch) => {
                watch.wait(budget);
            }
            None => std::thread::sleep(budget),
        }
        pause = (pause * 2).min(RECHECK_MAX);
    }
}

/// One look: a registered sender if a receiver holds a channel at `path` now.
fn try_open(path: &Path, check: &impl Fn(&StoredSchema) -> Result<()>) -> Result<Option<Sender>> {
    // Looked at without registering first (see `open_sender_within`).
    let buffer = match SharedRingBuffer::open_checked(path, |_| Ok(())) {
        Ok(buffer) => buffer,
        Err(e) if missing(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !buffer.ring.receiver_present() {
        return Ok(None);
    }
    check(buffer.ring.schema())?;
    drop(buffer);
    let sender = match Sender::open_registered(path, check) {
        Ok(sender) => sender,
        Err(e) if missing(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    // The receiver may have left, or the file been replaced, between the looks.
    if !sender.receiver_present() {
        return Ok(None); // dropping the sender gives its slot back
    }
    Ok(Some(sender))
}

/// Whether `e` says that nothing is at the path (yet).
fn missing(e: &crate::Error) -> bool {
    e.io_kind() == Some(std::io::ErrorKind::NotFound)
}
