//! Iterators over a [`TypedReceiver`]'s owned messages.

use super::{Channel, TypedReceiver};
use crate::Error;

/// A blocking iterator over owned messages; see [`TypedReceiver::iter`].
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// pub enum Job { Run(u32) }
/// let path = format!("/dev/shm/ipmpsc-doc-iter-{}", std::process::id());
/// let mut rx = Job::create_receiver(&path, 4096)?;
/// let tx = Job::open_sender(&path)?;
/// tx.send(&Job::Run(7))?;
/// drop(tx);
/// let mut total = 0;
/// for job in &mut rx {
///     let Job::Run(n) = job;
///     total += n;
/// }
/// assert_eq!(total, 7);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Iter<'a, M: Channel> {
    receiver: &'a mut TypedReceiver<M>,
}

impl<'a, M: Channel> Iter<'a, M> {
    pub(super) fn new(receiver: &'a mut TypedReceiver<M>) -> Self {
        Iter { receiver }
    }
}

impl<M: Channel> Iterator for Iter<'_, M> {
    type Item = M;

    fn next(&mut self) -> Option<M> {
        match self.receiver.recv() {
            Ok(message) => Some(message),
            Err(Error::Disconnected) => None,
            Err(e) => {
                self.receiver.defer(e);
                None
            }
        }
    }
}

/// A non-blocking iterator over the owned messages ready now; see
/// [`TypedReceiver::try_iter`].
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// pub enum Job { Run(u32) }
/// let path = format!("/dev/shm/ipmpsc-doc-tryiter-{}", std::process::id());
/// let mut rx = Job::create_receiver(&path, 4096)?;
/// assert_eq!(rx.try_iter().count(), 0);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TryIter<'a, M: Channel> {
    receiver: &'a mut TypedReceiver<M>,
}

impl<'a, M: Channel> TryIter<'a, M> {
    pub(super) fn new(receiver: &'a mut TypedReceiver<M>) -> Self {
        TryIter { receiver }
    }
}

impl<M: Channel> Iterator for TryIter<'_, M> {
    type Item = M;

    fn next(&mut self) -> Option<M> {
        match self.receiver.try_recv() {
            Ok(message) => message,
            Err(Error::Disconnected) => None,
            Err(e) => {
                self.receiver.defer(e);
                None
            }
        }
    }
}
