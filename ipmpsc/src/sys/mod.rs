//! Every operating-system call ipmpsc makes: futex wait and wake on a word of the shared
//! mapping, byte-range locks that tell whether a peer lives, the coarse clock, the pid,
//! creating, publishing and mapping channel files, letting go of them in forked children, the
//! read-only mapping that loaned buffers are built around, and the directory watch that a
//! sender waiting for its channel to be created sleeps on.
//!
//! Linux is the first platform; a port to another OS touches this folder only.

pub(crate) mod clock;
pub(crate) mod file;
pub(crate) mod fork;
pub(crate) mod futex;
pub(crate) mod lock;
pub(crate) mod placeholder;
pub(crate) mod process;
pub(crate) mod random;
pub(crate) mod watch;
