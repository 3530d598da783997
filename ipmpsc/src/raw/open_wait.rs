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
//!
//! # What is waited on, and what is refused at once
//!
//! The rule: wait for exactly what the receiver that comes can put right. Nothing at the path,
//! a channel that no receiver holds (left by one that is gone), and a file that a creator
//! replaces (empty, a symlink, an ipmpsc file of another layout or with a broken header) are
//! waited on; if one of the latter is still there when the time is up, its error is returned
//! rather than `None`. A channel of another schema that a receiver holds, a file of another
//! format (creators never clobber it) and system errors other than "not found" are returned
//! at once.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Sender, SharedRingBuffer};
use crate::ring::replaced_by_creators;
use crate::ring::wait::sleep_budget;
use crate::schema::StoredSchema;
use crate::sys::watch::DirWatch;
use crate::{Error, Result};

/// The first re-check interval; it doubles up to [`RECHECK_MAX`].
const RECHECK_FIRST: Duration = Duration::from_millis(1);

/// The longest a receiver can be there before a waiting sender notices it, when no event told.
pub(crate) const RECHECK_MAX: Duration = Duration::from_millis(100);

/// What one look at the path found.
enum Look {
    /// A receiver holds a channel there: a sender registered on it.
    Open(Sender),
    /// Nothing to use yet; what is there, if it would be an error once the time is up.
    Wait(Option<Error>),
}

/// Opens the channel at `path` and registers a sender on it, once a receiver holds it, waiting
/// until `deadline` (`None`: as long as it takes). `Ok(None)` if no receiver held a channel
/// there in time. Looks at least once, even with a deadline that has passed.
///
/// A file with no receiver is waited on, not used: a sender registered on it would keep a new
/// receiver's `create_receiver` from replacing it.
///
/// # Errors
/// See the module docs: at once, `check`'s error (a schema mismatch) for a channel that a
/// receiver holds, [`Error::IncompatibleRingBuffer`] for a file of another format,
/// [`Error::Io`] for anything but a missing file, [`Error::TooManySenders`]; when the time is
/// up, the error of a file still there that a receiver would have replaced.
pub(crate) fn open_sender_within(
    path: &Path,
    check: impl Fn(&StoredSchema) -> Result<()>,
    deadline: Option<Instant>,
) -> Result<Option<Sender>> {
    let mut pause = RECHECK_FIRST;
    loop {
        // Watch first, then look: whatever is published after the look wakes the wait.
        let watch = DirWatch::new(path);
        let unusable = match look(path, &check)? {
            Look::Open(sender) => return Ok(Some(sender)),
            Look::Wait(unusable) => unusable,
        };
        let Some(budget) = sleep_budget(deadline, Instant::now(), pause) else {
            return match unusable {
                Some(e) => Err(e),
                None => Ok(None),
            };
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

/// One look at `path`.
fn look(path: &Path, check: &impl Fn(&StoredSchema) -> Result<()>) -> Result<Look> {
    // Looked at without registering first (see `open_sender_within`).
    let buffer = match SharedRingBuffer::open_checked(path, |_| Ok(())) {
        Ok(buffer) => buffer,
        Err(e) => return waitable(path, e),
    };
    if !buffer.ring.receiver_present() {
        return Ok(Look::Wait(check(buffer.ring.schema()).err()));
    }
    check(buffer.ring.schema())?;
    drop(buffer);
    let sender = match Sender::open_registered(path, check) {
        Ok(sender) => sender,
        Err(e) => return waitable(path, e),
    };
    // The receiver may have left, or the file been replaced, between the looks.
    if !sender.receiver_present() {
        return Ok(Look::Wait(None)); // dropping the sender gives its slot back
    }
    Ok(Look::Open(sender))
}

/// `Look::Wait` for an error opening `path` that the receiver that comes puts right (nothing
/// there; a file that a creator replaces); the error itself otherwise.
fn waitable(path: &Path, e: Error) -> Result<Look> {
    match &e {
        Error::Io { .. } if e.io_kind() == Some(std::io::ErrorKind::NotFound) => {
            Ok(Look::Wait(None))
        }
        Error::IncompatibleRingBuffer(_) | Error::Corrupt(_) if replaced_by_creators(path) => {
            Ok(Look::Wait(Some(e)))
        }
        _ => Err(e),
    }
}
