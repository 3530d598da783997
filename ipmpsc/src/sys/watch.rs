//! Waiting for a file to appear at a path: inotify on its directory.
//!
//! Used by `open_sender_timeout`, which re-checks the path itself after every wake-up (and
//! at a bounded interval whatever happens), so a watch only has to make the wait short, not
//! be exact: an event that is lost, a directory that does not exist yet or is replaced, a
//! symlink that points elsewhere, or a process out of inotify instances costs at most one
//! re-check interval, never a missed arrival.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

/// A watch on the directory of a path for an entry of the path's name being created or moved
/// in (which is how a channel file is published: renamed into place, or replaced by a rename).
pub(crate) struct DirWatch {
    fd: OwnedFd,
    name: OsString,
}

impl DirWatch {
    /// Watches the directory of `path`; `None` if it cannot (the directory does not exist,
    /// this process or user has no inotify instance or watch left): the caller then polls.
    /// Made before the caller looks at the path, so that nothing published after the look is
    /// missed.
    pub(crate) fn new(path: &Path) -> Option<DirWatch> {
        let name = path.file_name()?.to_os_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).ok()?;
        let flags = WatchFlags::CREATE
            | WatchFlags::MOVED_TO
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR;
        inotify::add_watch(&fd, dir, flags).ok()?;
        Some(DirWatch { fd, name })
    }

    /// Waits up to `timeout` for an entry of the watched name to appear, or for the watch to
    /// end (the directory went, or events were lost); whether the caller should look now.
    /// Events for other names are read and passed over.
    pub(crate) fn wait(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now().checked_add(timeout);
        loop {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(std::time::Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return false;
            }
            let spec = Timespec::try_from(left).unwrap_or(Timespec {
                tv_sec: 3600,
                tv_nsec: 0,
            });
            let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
            match rustix::event::poll(&mut fds, Some(&spec)) {
                Ok(0) => return false,
                Ok(_) => {}
                // Interrupted, or poll failed: let the caller look.
                Err(_) => return true,
            }
            if self.drain() {
                return true;
            }
        }
    }

    /// Reads every pending event; whether one of them asks the caller to look.
    fn drain(&self) -> bool {
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        let mut look = false;
        loop {
            match reader.next() {
                Ok(event) => {
                    let gone = ReadFlags::QUEUE_OVERFLOW
                        | ReadFlags::IGNORED
                        | ReadFlags::DELETE_SELF
                        | ReadFlags::MOVE_SELF;
                    look |= event.events().intersects(gone)
                        || event
                            .file_name()
                            .is_some_and(|n| n.to_bytes() == self.name.as_bytes());
                }
                Err(rustix::io::Errno::AGAIN) => return look,
                Err(_) => return true,
            }
        }
    }
}
