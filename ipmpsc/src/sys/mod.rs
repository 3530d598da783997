//! Every operating-system call ipmpsc makes: futex wait and wake on a word of the shared
//! mapping, process identity and liveness, and creating and mapping channel files.
//!
//! Linux is the first platform; a port to another OS touches this folder only.

pub(crate) mod file;
pub(crate) mod futex;
pub(crate) mod process;
