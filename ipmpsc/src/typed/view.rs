//! [`ViewGuard`]: a message received in place.

use std::marker::PhantomData;
use std::ops::Deref;

use super::Channel;

/// A message received in place: derefs to `M::View<'r>`, whose `&str` and `&[u8]` fields point
/// into the channel's shared memory.
///
/// The guard borrows the receiver mutably, so holding it across another receive does not
/// compile. The message's bytes stay in the ring until the receiver's next call (or until the
/// receiver is dropped), which is exactly when the borrow checker guarantees that no reference
/// copied out of the view is left; dropping the guard earlier frees nothing early.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// #[derive(Debug, PartialEq)]
/// pub enum Log { Line(String) }
/// let path = format!("/dev/shm/ipmpsc-doc-guard-{}", std::process::id());
/// let mut rx = Log::create_receiver(&path, 4096)?;
/// Log::open_sender(&path)?.send(&Log::Line("kept".into()))?;
/// let owned: Log = rx.recv_view()?.into_owned();
/// assert_eq!(owned, Log::Line("kept".into()));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ViewGuard<'r, M: Channel> {
    /// Always `Some` until `into_owned` takes it.
    view: Option<M::View<'r>>,
    _not_send: PhantomData<*const ()>,
}

impl<'r, M: Channel> ViewGuard<'r, M> {
    pub(super) fn new(view: M::View<'r>) -> Self {
        ViewGuard {
            view: Some(view),
            _not_send: PhantomData,
        }
    }

    /// Copies the message out of shared memory. Every string is copied first and checked to
    /// be UTF-8 afterwards (invalid bytes, which only a hostile writer can produce, become
    /// U+FFFD), so the owned message holds only private, valid data.
    ///
    /// # Examples
    ///
    /// See [`ViewGuard`].
    pub fn into_owned(mut self) -> M {
        M::view_into_owned(self.view.take().expect("a guard holds its view until now"))
    }
}

impl<'r, M: Channel> Deref for ViewGuard<'r, M> {
    type Target = M::View<'r>;

    fn deref(&self) -> &M::View<'r> {
        self.view
            .as_ref()
            .expect("a guard holds its view until `into_owned`")
    }
}

impl<M: Channel> Drop for ViewGuard<'_, M> {
    /// Nothing to do: the message stays in the ring until the receiver's next call, which the
    /// borrow of the receiver keeps from happening while the guard (or anything it lent) is
    /// alive. Dropping the guard ends that borrow.
    fn drop(&mut self) {}
}

impl<M: Channel> std::fmt::Debug for ViewGuard<'_, M>
where
    for<'a> M::View<'a>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}
