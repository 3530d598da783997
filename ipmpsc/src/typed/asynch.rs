//! Async receives and sends (cargo feature `async`, or `tokio`): futures that wait without
//! blocking the runtime's threads and without polling, woken by the senders (or the receiver)
//! through a waiter thread of this process (see the `waiter` module).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::receiver::view;
use super::{Channel, TypedReceiver, TypedSender, ViewGuard};
use crate::raw::take_owned;
use crate::ring::consumer::Consumer;
use crate::ring::peers::LIVENESS_INTERVAL;
use crate::ring::producer::Wait;
use crate::ring::record::Ready;
use crate::waiter::{wait_for, Interest, Registration, Word};
use crate::{codec, Error, Result};

/// Async receives and sends in a row that completed without waiting, on this thread, after
/// which one of them yields to the executor once (as tokio's own channels do with its
/// budget): a task that loops over a busy channel would otherwise never give a timer, a
/// signal or another task on its thread a turn.
const YIELD_EVERY: u32 = 128;

thread_local! {
    static STREAK: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether a ready operation may complete now (`true`), or must yield first: then the task
/// is woken at once, and the operation, which took nothing yet, completes when polled again.
fn may_complete(cx: &Context<'_>) -> bool {
    let n = STREAK.with(|s| {
        let n = s.get() + 1;
        s.set(if n > YIELD_EVERY { 0 } else { n });
        n
    });
    if n > YIELD_EVERY {
        cx.waker().wake_by_ref();
        return false;
    }
    true
}

/// An operation waits: the streak of operations that did not is over.
fn waited() {
    STREAK.with(|s| s.set(0));
}

/// The waiter could not start its thread.
fn no_thread(source: std::io::Error) -> Error {
    Error::Io {
        op: "start the thread that wakes async receives and sends",
        path: None,
        source,
    }
}

/// A message is at the head (or an error is there to report), or the future waits: it is
/// woken when a sender commits, and on its own when the consumer must look again (a stalled
/// reservation, senders that may have died).
fn poll_ready(
    core: &mut Consumer,
    cx: &mut Context<'_>,
    registration: &mut Option<Registration>,
) -> Poll<Result<Ready>> {
    loop {
        match core.poll() {
            Ok(Some(ready)) if may_complete(cx) => return Poll::Ready(Ok(ready)),
            Ok(Some(_)) => return Poll::Pending,
            Err(e) => return Poll::Ready(Err(e)),
            Ok(None) => {}
        }
        let Some(sleep) = core.announce_sleep() else {
            continue; // a message came while announcing
        };
        let interest = Interest {
            deadline: sleep.cap.map(|c| Instant::now() + c),
            ring: sleep.ring,
            word: Word::Data,
            seq: sleep.seq,
        };
        if let Err(e) = wait_for(registration, interest, cx.waker()) {
            return Poll::Ready(Err(no_thread(e)));
        }
        waited();
        return Poll::Pending;
    }
}

impl<M: Channel> TypedReceiver<M> {
    /// Waits until a message is at the head of the ring (or an error is there to report).
    /// Consumes nothing: dropping the future loses no message.
    async fn ready_async(&mut self) -> Result<Ready> {
        let mut registration = None;
        poll_fn(|cx| match self.core() {
            Ok(core) => poll_ready(core, cx, &mut registration),
            Err(e) => Poll::Ready(Err(e)),
        })
        .await
    }

    /// Receives the next message, waiting without blocking the thread: the async
    /// [`recv`](TypedReceiver::recv). Cancel-safe: a future dropped before it completes has
    /// taken nothing, so the next receive gets the message it would have returned.
    ///
    /// No polling: the future is woken by the sender that commits the message (through one
    /// waiter thread per process, asleep on every channel its futures wait for; the senders'
    /// wake-up path is the same one that wakes a blocking receiver).
    ///
    /// # Errors
    /// As [`recv`](TypedReceiver::recv): [`Error::Disconnected`] at the end of the stream,
    /// [`Error::Decode`], [`Error::Corrupt`]; [`Error::Io`] if the waiter thread cannot be
    /// started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// # let path = format!("/dev/shm/ipmpsc-doc-recv-async-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 4096)?;
    /// let tx = Job::open_sender(&path)?;
    /// let producer = tokio::task::spawn_blocking(move || tx.send(&Job::Run(7)));
    /// assert!(matches!(rx.recv_async().await?, Job::Run(7)));
    /// producer.await??; // the sender is dropped with the task
    /// assert!(matches!(rx.recv_async().await, Err(ipmpsc::Error::Disconnected)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_async(&mut self) -> Result<M> {
        let ready = self.ready_async().await?;
        take_owned(self.core()?.take(ready))
    }

    /// Receives the next message as a zero-copy view, waiting without blocking the thread:
    /// the async [`recv_view`](TypedReceiver::recv_view). The guard borrows the receiver, so
    /// it cannot be held across another receive (an `.await` of one included). Cancel-safe as
    /// [`recv_async`](TypedReceiver::recv_async).
    ///
    /// # Errors
    /// As [`recv_async`](TypedReceiver::recv_async).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// #[ipmpsc::channel]
    /// pub enum Log { Line(String) }
    /// # let path = format!("/dev/shm/ipmpsc-doc-recv-view-async-{}", std::process::id());
    /// let mut rx = Log::create_receiver(&path, 4096)?;
    /// let tx = Log::open_sender(&path)?;
    /// tx.send(&Log::Line("in place".into()))?;
    /// let line = rx.recv_view_async().await?;
    /// assert!(matches!(*line, LogView::Line("in place")));
    /// # drop(line);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_view_async(&mut self) -> Result<ViewGuard<'_, M>> {
        let ready = self.ready_async().await?;
        view(self.core()?.take(ready))
    }

    /// The receiver as a [`Stream`](futures_core::Stream) of owned messages, which ends at
    /// the end of the stream (every sender gone and everything received: the
    /// [`Error::Disconnected`] a receive would return). Other errors are items: after
    /// [`Error::Decode`] (the message that does not decode is consumed, as by `recv`) the
    /// stream goes on; any other error (a corrupt ring, a receiver that could not claim its
    /// channel, a copy inherited through `fork`) would come back on every receive, so it is
    /// the stream's last item.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// # let path = format!("/dev/shm/ipmpsc-doc-stream-{}", std::process::id());
    /// let rx = Job::create_receiver(&path, 4096)?;
    /// let tx = Job::open_sender(&path)?;
    /// for n in 0..3 {
    ///     tx.send(&Job::Run(n))?;
    /// }
    /// drop(tx);
    /// let jobs: Vec<Job> = rx.into_stream().map(Result::unwrap).collect().await;
    /// assert_eq!(jobs.len(), 3);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_stream(self) -> RecvStream<M> {
        RecvStream {
            receiver: self,
            registration: None,
            ended: false,
        }
    }
}

/// The receiver as a [`Stream`](futures_core::Stream) of owned messages: see
/// [`TypedReceiver::into_stream`].
pub struct RecvStream<M: Channel> {
    receiver: TypedReceiver<M>,
    registration: Option<Registration>,
    ended: bool,
}

impl<M: Channel> RecvStream<M> {
    /// The receiver back (a new stream can be made from it: it waits for new senders).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// # let path = format!("/dev/shm/ipmpsc-doc-stream-inner-{}", std::process::id());
    /// let stream = Job::create_receiver(&path, 4096)?.into_stream();
    /// let rx: JobReceiver = stream.into_inner();
    /// # drop(rx);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> TypedReceiver<M> {
        self.receiver
    }
}

impl<M: Channel> std::fmt::Debug for RecvStream<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvStream")
            .field("receiver", &self.receiver)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

// No field is structurally pinned.
impl<M: Channel> Unpin for RecvStream<M> {}

impl<M: Channel> futures_core::Stream for RecvStream<M> {
    type Item = Result<M>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let core = match this.receiver.core() {
            Ok(core) => core,
            Err(e) => {
                this.ended = !matches!(e, Error::Decode(_));
                return Poll::Ready(Some(Err(e)));
            }
        };
        match poll_ready(core, cx, &mut this.registration) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(ready)) => {
                this.registration = None;
                Poll::Ready(Some(take_owned(core.take(ready))))
            }
            Poll::Ready(Err(Error::Disconnected)) => {
                this.registration = None;
                this.ended = true;
                Poll::Ready(None)
            }
            // A message that does not decode was consumed: the stream goes on. Any other
            // error (a corrupt ring, a receiver that could not claim its channel) is the
            // receiver's from now on; it is the stream's last item.
            Poll::Ready(Err(e)) => {
                this.registration = None;
                this.ended = !matches!(e, Error::Decode(_));
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl<M: Channel> futures_core::FusedStream for RecvStream<M> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<M: Channel> TypedSender<M> {
    /// Sends `message`, waiting without blocking the thread while the ring is full: the
    /// async [`send`](TypedSender::send). Woken by the receiver when the space the message
    /// needs is back (or when it leaves). Cancel-safe: a future dropped before it completes
    /// has sent nothing.
    ///
    /// # Errors
    /// As [`send`](TypedSender::send): [`Error::Disconnected`] when the receiver is gone,
    /// [`Error::MessageTooLarge`], [`Error::Encode`]; [`Error::Io`] if the waiter thread
    /// cannot be started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// # let path = format!("/dev/shm/ipmpsc-doc-send-async-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 64)?; // room for about two jobs
    /// let tx = Job::open_sender(&path)?;
    /// let consumer = tokio::task::spawn_blocking(move || {
    ///     (0..10).map(|_| rx.recv().map(|_| ())).collect::<Result<Vec<()>, _>>()
    /// });
    /// for n in 0..10 {
    ///     tx.send_async(&Job::Run(n)).await?; // waits while the ring is full
    /// }
    /// assert_eq!(consumer.await??.len(), 10);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_async(&self, message: &M) -> Result<()> {
        self.send_async_of(message).await
    }

    /// [`send_async`](TypedSender::send_async) of a view: sends borrowed data with no owned
    /// copy, as [`send_view`](TypedSender::send_view).
    ///
    /// # Errors
    /// As [`send_async`](TypedSender::send_async).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// #[ipmpsc::channel]
    /// pub enum Log { Line(String) }
    /// # let path = format!("/dev/shm/ipmpsc-doc-send-view-async-{}", std::process::id());
    /// let mut rx = Log::create_receiver(&path, 4096)?;
    /// let tx = Log::open_sender(&path)?;
    /// tx.send_view_async(&LogView::Line("borrowed")).await?;
    /// assert!(matches!(rx.recv()?, Log::Line(l) if l == "borrowed"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_view_async(&self, view: &M::View<'_>) -> Result<()> {
        self.send_async_of(view).await
    }

    fn send_async_of<'a, T: serde::Serialize + ?Sized>(
        &'a self,
        value: &'a T,
    ) -> impl Future<Output = Result<()>> + 'a {
        let mut registration: Option<Registration> = None;
        poll_fn(move |cx| loop {
            if !may_complete(cx) {
                return Poll::Pending;
            }
            match self.raw.send_with(value, Wait::No) {
                Ok(true) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
                Ok(false) => {}
            }
            let len = match codec::encoded_size(value) {
                Ok(len) => len,
                Err(e) => return Poll::Ready(Err(e)),
            };
            let ring = &self.raw.buffer().ring;
            let Some(seq) = ring.announce_space_sleep(len) else {
                continue; // the space came back (or the receiver left) meanwhile
            };
            let interest = Interest {
                ring: std::sync::Arc::clone(ring),
                word: Word::Space,
                seq,
                // Look at the receiver's lock now and then: a receiver that dies wakes nobody.
                deadline: Some(Instant::now() + LIVENESS_INTERVAL),
            };
            if let Err(e) = wait_for(&mut registration, interest, cx.waker()) {
                return Poll::Ready(Err(no_thread(e)));
            }
            waited();
            return Poll::Pending;
        })
    }
}
