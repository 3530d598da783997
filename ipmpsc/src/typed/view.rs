//! [`ViewGuard`]: a message received in place.

use std::marker::PhantomData;
use std::ops::Deref;

use super::Channel;
use crate::ring::consumer::Record;

/// A message received in place: derefs to `M::View<'r>`, whose `&str` and `&[u8]` fields point
/// into the channel's shared memory.
///
/// The guard borrows the receiver mutably, so holding it across another receive does not
/// compile. When it is dropped, the message's bytes are released; they are handed back to
/// senders at the start of the receiver's next call (or when the receiver is dropped), which is
/// exactly when the borrow checker guarantees that no reference copied out of the view is left.
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
    pub(super) view: M::View<'r>,
    pub(super) pending: &'r mut Option<Record>,
    pub(super) record: Option<Record>,
    pub(super) _not_send: PhantomData<*const ()>,
}

impl<'r, M: Channel> ViewGuard<'r, M> {
    /// Copies the message out of shared memory.
    ///
    /// # Examples
    ///
    /// See [`ViewGuard`].
    pub fn into_owned(self) -> M {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is in a ManuallyDrop and never used again after these reads, so each
        // field is moved out exactly once and the guard's own `Drop` does not run.
        let (view, pending, record) = unsafe {
            (
                std::ptr::read(&this.view),
                std::ptr::read(&this.pending),
                std::ptr::read(&this.record),
            )
        };
        let owned = M::view_into_owned(view);
        *pending = record;
        owned
    }
}

impl<'r, M: Channel> Deref for ViewGuard<'r, M> {
    type Target = M::View<'r>;

    fn deref(&self) -> &M::View<'r> {
        &self.view
    }
}

impl<M: Channel> Drop for ViewGuard<'_, M> {
    fn drop(&mut self) {
        *self.pending = self.record.take();
    }
}

impl<M: Channel> std::fmt::Debug for ViewGuard<'_, M>
where
    for<'a> M::View<'a>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.view.fmt(f)
    }
}
