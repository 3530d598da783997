//! Waiting on several receivers at once, of any message types: [`ready`], [`ready_timeout`],
//! [`ready_deadline`] and the [`select!`](crate::select!) macro.
//!
//! A select says *which* receiver has something to return (a message, or an error such as
//! the end of its stream); the receive itself is the receiver's own `try_recv`,
//! `try_recv_view` or `try_iter`, so views and every other receive work as usual.
//!
//! ```
//! use std::time::Duration;
//!
//! #[ipmpsc::channel]
//! pub enum Frame { Image(Vec<u8>) }
//! #[ipmpsc::channel]
//! pub enum Log { Line(String) }
//!
//! # let dir = format!("/dev/shm/ipmpsc-doc-select-mod-{}", std::process::id());
//! # let (fp, lp) = (format!("{dir}-frames"), format!("{dir}-logs"));
//! let mut frames = Frame::create_receiver(&fp, 1 << 16)?;
//! let mut logs = Log::create_receiver(&lp, 1 << 16)?;
//! let log_tx = Log::open_sender(&lp)?;
//! log_tx.send(&Log::Line("hello".into()))?;
//!
//! match ipmpsc::select::ready(&mut [&mut frames, &mut logs])? {
//!     0 => println!("a frame: {:?}", frames.try_recv()?.is_some()),
//!     1 => assert!(matches!(logs.try_recv()?, Some(Log::Line(l)) if l == "hello")),
//!     _ => unreachable!(),
//! }
//! // Nothing else is queued.
//! let none = ipmpsc::select::ready_timeout(&mut [&mut frames, &mut logs], Duration::from_millis(1))?;
//! assert_eq!(none, None);
//! // The end of a stream is something to return too.
//! drop(log_tx);
//! assert_eq!(ipmpsc::select::ready(&mut [&mut frames, &mut logs])?, 1);
//! assert!(matches!(logs.try_recv(), Err(ipmpsc::Error::Disconnected)));
//! # std::fs::remove_file(&fp)?; std::fs::remove_file(&lp)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it waits
//!
//! Like a single receiver: it looks at every receiver's head, spins for the longest spin any
//! of them is configured with (adapting to a request/response peer the same way), then
//! announces itself as a sleeper on each channel's futex word and sleeps on all of them at
//! once with Linux's `futex_waitv` (one syscall; up to [`MAX_RECEIVERS`] receivers). An idle
//! select uses no CPU; a sender wakes it exactly as it wakes a single receiver, and a
//! receiver that is not in a select pays nothing for the feature. Without `futex_waitv`
//! (Linux before 5.16, or a seccomp profile that forbids it) it sleeps on one word at a time
//! for at most a millisecond, so a message on another channel waits up to that long.
//!
//! It wakes up on its own as a single receiver does: every 10 ms while a reservation at a
//! head is uncommitted (its sender may have died), and every 25 ms while senders are
//! attached to a typed receiver (one may have died without a word, which ends its stream).
//!
//! # Fairness
//!
//! When several receivers are ready, the one reported is the first ready one after the
//! receiver reported last (round robin per thread), so one busy channel cannot starve the
//! others however the caller drains them.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::ring::consumer::Consumer;
use crate::ring::wait::deadline_after;
use crate::sys::futex::{wait_any, WAIT_ANY_MAX};
use crate::{Error, Result};

/// Most receivers one select waits on (the kernel's limit for one `futex_waitv`).
pub const MAX_RECEIVERS: usize = WAIT_ANY_MAX;

/// `pause` instructions between two looks at every head while spinning (as a single
/// receiver: often enough to see a message soon, rarely enough to leave the line to its
/// sender).
const SPIN_PAUSES: u32 = 4;

/// A receiver a select can wait on: [`TypedReceiver`](crate::TypedReceiver) of any message
/// type, and the raw [`Receiver`](crate::Receiver). Sealed: the select needs the receiver's
/// insides.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// pub enum Job { Run(u32) }
/// # let p = format!("/dev/shm/ipmpsc-doc-selectable-{}", std::process::id());
/// let mut jobs = Job::create_receiver(&p, 4096)?;
/// let (_raw_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
/// let mut raw = ipmpsc::Receiver::new(buffer);
/// Job::open_sender(&p)?.send(&Job::Run(1))?;
/// let mut set: [&mut dyn ipmpsc::select::Selectable; 2] = [&mut raw, &mut jobs];
/// assert_eq!(ipmpsc::select::ready(&mut set)?, 1);
/// # std::fs::remove_file(&p)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Selectable: sealed::Sealed {
    /// The receiver's consumer, or `None` when a receive would return an error at once
    /// (an error an iterator ended on, a receiver that could not claim its channel, a copy
    /// inherited through `fork`): such a receiver is ready.
    #[doc(hidden)]
    fn __select_core(&mut self) -> SelectCore<'_>;
}

/// What [`Selectable`] hands a select. Not part of the API.
#[doc(hidden)]
pub struct SelectCore<'a>(pub(crate) Option<&'a mut Consumer>);

pub(crate) mod sealed {
    /// Only receivers of this crate can be selected.
    pub trait Sealed {}
}

thread_local! {
    /// Where the next select of this thread starts looking (see "Fairness").
    static NEXT_START: Cell<usize> = const { Cell::new(0) };
}

/// Waits until one of `receivers` has something to return: a message, or an error such as
/// [`Error::Disconnected`] at the end of its stream. Returns its index; receive from it with
/// its own `try_recv` (or `try_recv_view`, `try_iter`).
///
/// A receiver said to be ready is ready at that moment; in the rare case that its receive
/// then finds nothing (a sender attached again just after every sender left, so there is no
/// end of stream to report after all), select again.
///
/// # Errors
/// [`Error::Io`] of kind `InvalidInput` if `receivers` is empty or holds more than
/// [`MAX_RECEIVERS`].
///
/// # Examples
///
/// See the [module docs](self); [`select!`](crate::select!) wraps the loop.
pub fn ready(receivers: &mut [&mut dyn Selectable]) -> Result<usize> {
    loop {
        if let Some(i) = wait(receivers, None)? {
            return Ok(i);
        }
    }
}

/// [`ready`], waiting at most `timeout` (any `Duration`; `Duration::MAX` waits forever).
/// `Ok(None)` if nothing became ready.
///
/// # Errors
/// As [`ready`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// #[ipmpsc::channel]
/// pub enum Tick { At(u64) }
/// # let p = format!("/dev/shm/ipmpsc-doc-select-to-{}", std::process::id());
/// let mut ticks = Tick::create_receiver(&p, 4096)?;
/// assert_eq!(ipmpsc::select::ready_timeout(&mut [&mut ticks], Duration::from_millis(2))?, None);
/// # std::fs::remove_file(&p)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ready_timeout(
    receivers: &mut [&mut dyn Selectable],
    timeout: Duration,
) -> Result<Option<usize>> {
    match deadline_after(timeout) {
        Some(deadline) => wait(receivers, Some(deadline)),
        None => ready(receivers).map(Some),
    }
}

/// [`ready`], waiting until `deadline` at the latest. `Ok(None)` if nothing became ready.
///
/// # Errors
/// As [`ready`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// #[ipmpsc::channel]
/// pub enum Tick { At(u64) }
/// # let p = format!("/dev/shm/ipmpsc-doc-select-dl-{}", std::process::id());
/// let mut ticks = Tick::create_receiver(&p, 4096)?;
/// let tx = Tick::open_sender(&p)?;
/// tx.send(&Tick::At(1))?;
/// let deadline = Instant::now() + Duration::from_secs(5);
/// assert_eq!(ipmpsc::select::ready_deadline(&mut [&mut ticks], deadline)?, Some(0));
/// # std::fs::remove_file(&p)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ready_deadline(
    receivers: &mut [&mut dyn Selectable],
    deadline: Instant,
) -> Result<Option<usize>> {
    wait(receivers, Some(deadline))
}

/// The select: `Ok(None)` when `deadline` passed (with no deadline it returns only once a
/// receiver is ready, or on a spurious wake-up, which [`ready`] loops over).
fn wait(receivers: &mut [&mut dyn Selectable], deadline: Option<Instant>) -> Result<Option<usize>> {
    let n = receivers.len();
    if n == 0 || n > MAX_RECEIVERS {
        return Err(Error::Io {
            op: "wait on several receivers",
            path: None,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("a select waits on 1 to {MAX_RECEIVERS} receivers, not {n}"),
            ),
        });
    }
    let start = NEXT_START.with(Cell::get) % n;
    let found = wait_in_order(receivers, start, deadline);
    if let Some(i) = found {
        NEXT_START.with(|s| s.set(i + 1));
    }
    Ok(found)
}

/// The indices of `n` receivers, starting at `start`.
fn order(n: usize, start: usize) -> impl Iterator<Item = usize> {
    (start..n).chain(0..start)
}

fn wait_in_order(
    receivers: &mut [&mut dyn Selectable],
    start: usize,
    deadline: Option<Instant>,
) -> Option<usize> {
    let n = receivers.len();
    // A look at every head, then the longest spin any receiver is configured with.
    let mut spin = Duration::ZERO;
    for i in order(n, start) {
        let Some(c) = receivers[i].__select_core().0 else {
            return Some(i);
        };
        if c.head_ready() {
            return Some(i);
        }
        spin = spin.max(c.wait_spin());
    }
    let now = Instant::now();
    let spin_until = deadline.map_or(now + spin, |d| d.min(now + spin));
    while Instant::now() < spin_until {
        for _ in 0..16 {
            for i in order(n, start) {
                if let Some(c) = receivers[i].__select_core().0 {
                    if c.head_ready() {
                        return Some(i);
                    }
                }
            }
            for _ in 0..SPIN_PAUSES {
                std::hint::spin_loop();
            }
        }
    }
    // Sleep on every channel's word at once until one of them is ready.
    let sleep_start = Instant::now();
    loop {
        let now = Instant::now();
        if let Some(i) = first_ready(receivers, start, now) {
            if let Some(c) = receivers[i].__select_core().0 {
                c.adapt_spin(spin, sleep_start.elapsed());
            }
            return Some(i);
        }
        // Before announcing: a sleeper announced and never slept on costs the next commit
        // a `FUTEX_WAKE` nobody needs.
        if deadline.is_some_and(|d| now >= d) {
            return None;
        }
        let mut sleeps = Vec::with_capacity(n);
        for i in order(n, start) {
            let Some(c) = receivers[i].__select_core().0 else {
                return Some(i);
            };
            match c.announce_sleep() {
                Some(sleep) => sleeps.push(sleep),
                None => return Some(i),
            }
        }
        let cap = sleeps.iter().filter_map(|s| s.cap).min();
        let mut words = [(&ZERO_WORD, 0u32); MAX_RECEIVERS];
        for (w, sleep) in words.iter_mut().zip(&sleeps) {
            *w = (sleep.word(), sleep.seq);
        }
        let timeout = match deadline {
            Some(d) => Some(cap.map_or(d - now, |c| c.min(d - now))),
            None => cap,
        };
        wait_any(&words[..n], timeout);
    }
}

/// A word nobody waits on, to fill the unused entries of the array of words.
static ZERO_WORD: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The first receiver (in select order) with something to return.
fn first_ready(receivers: &mut [&mut dyn Selectable], start: usize, now: Instant) -> Option<usize> {
    order(receivers.len(), start).find(|&i| match receivers[i].__select_core().0 {
        None => true,
        Some(c) => c.is_ready(now),
    })
}

/// Waits on several typed receivers and runs the arm of the one that has something to
/// return, with what its `try_recv` returned: `Ok(message)`, or `Err(error)` (such as
/// [`Error::Disconnected`] at the end of its stream).
///
/// ```text
/// ipmpsc::select! {
///     recv(receiver) -> pattern => body,
///     ...
///     default(timeout) => body,    // optional: runs when `timeout` passes first
/// }                                // (`default => body`: when nothing is ready now)
/// ```
///
/// `receiver` is a place expression of a [`TypedReceiver`](crate::TypedReceiver) (or a
/// `&mut` to one), evaluated once; `pattern` binds a `Result<M>`. The arms' bodies run
/// after the wait, outside any loop of the macro, so `break`, `continue`, `return` and `?`
/// in them act on the code around the `select!`. Up to 32 `recv` arms. When several
/// receivers are ready the one after the last reported wins (round robin), as with
/// [`ready`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// #[ipmpsc::channel]
/// pub enum Job { Run(u32) }
/// #[ipmpsc::channel]
/// pub enum Control { Stop }
///
/// # let p = format!("/dev/shm/ipmpsc-doc-select-macro-{}", std::process::id());
/// # let (jp, cp) = (format!("{p}-jobs"), format!("{p}-control"));
/// let mut jobs = Job::create_receiver(&jp, 4096)?;
/// let mut control = Control::create_receiver(&cp, 4096)?;
/// let job_tx = Job::open_sender(&jp)?;
/// let control_tx = Control::open_sender(&cp)?;
/// job_tx.send(&Job::Run(7))?;
/// control_tx.send(&Control::Stop)?;
///
/// let mut done = Vec::new();
/// loop {
///     ipmpsc::select! {
///         recv(jobs) -> job => match job? { Job::Run(n) => done.push(n) },
///         recv(control) -> c => match c? { Control::Stop => break },
///         default(Duration::from_secs(5)) => panic!("nothing came"),
///     }
/// }
/// // Round robin: the job queued first may be reported before or after `Stop`.
/// assert!(done.is_empty() || done == [7]);
/// # std::fs::remove_file(&jp)?; std::fs::remove_file(&cp)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[macro_export]
macro_rules! select {
    ($($arms:tt)+) => {
        $crate::__select_parse! {
            @arms []
            @names [
                __ipmpsc_s0 __ipmpsc_s1 __ipmpsc_s2 __ipmpsc_s3 __ipmpsc_s4 __ipmpsc_s5
                __ipmpsc_s6 __ipmpsc_s7 __ipmpsc_s8 __ipmpsc_s9 __ipmpsc_s10 __ipmpsc_s11
                __ipmpsc_s12 __ipmpsc_s13 __ipmpsc_s14 __ipmpsc_s15 __ipmpsc_s16 __ipmpsc_s17
                __ipmpsc_s18 __ipmpsc_s19 __ipmpsc_s20 __ipmpsc_s21 __ipmpsc_s22 __ipmpsc_s23
                __ipmpsc_s24 __ipmpsc_s25 __ipmpsc_s26 __ipmpsc_s27 __ipmpsc_s28 __ipmpsc_s29
                __ipmpsc_s30 __ipmpsc_s31
            ]
            @rest [$($arms)+]
        }
    };
}

/// The parser of [`select!`]: one `recv` arm at a time, each given a name of its own.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    (@arms [$($done:tt)*] @names [$name:ident $($names:ident)*]
     @rest [recv($rx:expr) -> $p:pat => $body:block, $($rest:tt)*]) => {
        $crate::__select_parse! {
            @arms [$($done)* ($name, $rx, $p, $body)] @names [$($names)*] @rest [$($rest)*]
        }
    };
    // A block needs no comma after it (`$(,)?` before the rest would be ambiguous).
    (@arms [$($done:tt)*] @names [$name:ident $($names:ident)*]
     @rest [recv($rx:expr) -> $p:pat => $body:block $($rest:tt)*]) => {
        $crate::__select_parse! {
            @arms [$($done)* ($name, $rx, $p, $body)] @names [$($names)*] @rest [$($rest)*]
        }
    };
    (@arms [$($done:tt)*] @names [$name:ident $($names:ident)*]
     @rest [recv($rx:expr) -> $p:pat => $body:expr, $($rest:tt)*]) => {
        $crate::__select_parse! {
            @arms [$($done)* ($name, $rx, $p, $body)] @names [$($names)*] @rest [$($rest)*]
        }
    };
    (@arms [$($done:tt)*] @names [$name:ident $($names:ident)*]
     @rest [recv($rx:expr) -> $p:pat => $body:expr]) => {
        $crate::__select_parse! {
            @arms [$($done)* ($name, $rx, $p, $body)] @names [$($names)*] @rest []
        }
    };
    (@arms [$($done:tt)+] @names [$($names:ident)*]
     @rest [default($timeout:expr) => $body:expr $(,)?]) => {
        $crate::__select_expand! { [$($done)+] ::core::option::Option::Some($timeout), $body }
    };
    (@arms [$($done:tt)+] @names [$($names:ident)*] @rest [default => $body:expr $(,)?]) => {
        $crate::__select_expand! {
            [$($done)+] ::core::option::Option::Some(::core::time::Duration::ZERO), $body
        }
    };
    (@arms [$($done:tt)+] @names [$($names:ident)*] @rest []) => {
        $crate::__select_expand! {
            [$($done)+]
            ::core::option::Option::None::<::core::time::Duration>,
            ::core::unreachable!("a select without a timeout returns only with a message")
        }
    };
    (@arms [$($done:tt)*] @names [] @rest [$($rest:tt)+]) => {
        ::core::compile_error!("ipmpsc::select! takes at most 32 `recv` arms")
    };
    (@arms [$($done:tt)*] @names [$($names:ident)*] @rest [$($rest:tt)+]) => {
        ::core::compile_error!(
            "ipmpsc::select! expects arms `recv(receiver) -> pattern => body,` followed by \
             an optional `default(timeout) => body`"
        )
    };
}

/// The code of [`select!`], once parsed. The arms are tried in round-robin order, from the
/// one after the arm that ran last on this thread (or from the receiver the wait reported),
/// as [`ready`] reports them: a flooding channel in the first arm does not starve the others.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_expand {
    ([$(($name:ident, $rx:expr, $p:pat, $body:expr))+] $timeout:expr, $default:expr) => {{
        use $crate::select::__SelectArg as _;
        let __ipmpsc_deadline = $crate::select::__deadline($timeout);
        // A method call, so that a `&mut` to a receiver is reborrowed (its binding need not
        // be `mut`) and a receiver is borrowed.
        $( let mut $name = ($rx.__ipmpsc_select_arg(), ::core::option::Option::None); )+
        let __ipmpsc_n: usize = [$(::core::stringify!($name)),+].len();
        let mut __ipmpsc_start = $crate::select::__start(__ipmpsc_n);
        let __ipmpsc_timed_out = 'ipmpsc_select: loop {
            // The arms from `start` on, then those before it.
            let __ipmpsc_k = 0usize;
            $(
                if __ipmpsc_k >= __ipmpsc_start {
                    if let ::core::option::Option::Some(r) = $crate::select::__try(&mut *$name.0) {
                        $name.1 = ::core::option::Option::Some(r);
                        $crate::select::__ran(__ipmpsc_k);
                        break 'ipmpsc_select false;
                    }
                }
                let __ipmpsc_k = __ipmpsc_k + 1;
            )+
            let __ipmpsc_k = 0usize;
            $(
                if __ipmpsc_k < __ipmpsc_start {
                    if let ::core::option::Option::Some(r) = $crate::select::__try(&mut *$name.0) {
                        $name.1 = ::core::option::Option::Some(r);
                        $crate::select::__ran(__ipmpsc_k);
                        break 'ipmpsc_select false;
                    }
                }
                let __ipmpsc_k = __ipmpsc_k + 1;
            )+
            let _ = __ipmpsc_k;
            match $crate::select::__wait(
                &mut [$(&mut *$name.0 as &mut dyn $crate::select::Selectable),+],
                __ipmpsc_deadline,
            ) {
                ::core::option::Option::Some(i) => __ipmpsc_start = i,
                ::core::option::Option::None => break 'ipmpsc_select true,
            }
        };
        $( let $name = $name.1; )+
        $(
            if let ::core::option::Option::Some(r) = $name {
                let $p = r;
                $body
            } else
        )+
        {
            let _ = __ipmpsc_timed_out;
            $default
        }
    }};
}

/// What a `recv` arm of [`select!`] takes: a typed receiver, or a `&mut` to one.
#[doc(hidden)]
pub trait SelectRecv: Selectable {
    type Message;
    fn __try_recv(&mut self) -> Result<Option<Self::Message>>;
}

impl<M: crate::Channel> SelectRecv for crate::TypedReceiver<M> {
    type Message = M;
    fn __try_recv(&mut self) -> Result<Option<M>> {
        self.try_recv()
    }
}

impl<T: SelectRecv + ?Sized> SelectRecv for &mut T {
    type Message = T::Message;
    fn __try_recv(&mut self) -> Result<Option<T::Message>> {
        (**self).__try_recv()
    }
}

impl<T: Selectable + ?Sized> sealed::Sealed for &mut T {}

impl<T: Selectable + ?Sized> Selectable for &mut T {
    fn __select_core(&mut self) -> SelectCore<'_> {
        (**self).__select_core()
    }
}

/// [`select!`]: a `recv` argument (a typed receiver, or a `&mut` to one, through method-call
/// auto-deref) as a `&mut` to the receiver.
#[doc(hidden)]
pub trait __SelectArg {
    fn __ipmpsc_select_arg(&mut self) -> &mut Self;
}

impl<M: crate::Channel> __SelectArg for crate::TypedReceiver<M> {
    fn __ipmpsc_select_arg(&mut self) -> &mut Self {
        self
    }
}

/// [`select!`]: what a receive of an arm returned, unless it found nothing.
#[doc(hidden)]
pub fn __try<R: SelectRecv>(r: &mut R) -> Option<Result<R::Message>> {
    r.__try_recv().transpose()
}

/// [`select!`]: the deadline of a `default(timeout)` arm.
#[doc(hidden)]
pub fn __deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(deadline_after)
}

/// [`select!`]: the arm to try first (round robin per thread, as [`ready`]).
#[doc(hidden)]
pub fn __start(n: usize) -> usize {
    NEXT_START.with(Cell::get) % n
}

/// [`select!`]: arm `k` ran; the next select of this thread starts after it.
#[doc(hidden)]
pub fn __ran(k: usize) {
    NEXT_START.with(|s| s.set(k + 1));
}

/// [`select!`]: waits until a receiver is ready (`Some` of its index) or the deadline passed
/// (`None`).
#[doc(hidden)]
pub fn __wait(receivers: &mut [&mut dyn Selectable], deadline: Option<Instant>) -> Option<usize> {
    // The macro passes 1 to 32 receivers, which `wait` never refuses; with no deadline it
    // returns only with a receiver.
    loop {
        match wait(receivers, deadline) {
            Ok(Some(i)) => return Some(i),
            Ok(None) if deadline.is_some() => return None,
            Ok(None) => {}
            Err(_) => return Some(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_select_whose_time_is_up_announces_no_sleeper() {
        // A sleeper left announced costs the channel's next commit a `FUTEX_WAKE` that
        // nobody needs: a poll loop of `select! { ..., default => ... }` would make every
        // send a syscall.
        let (_path, buffer) = crate::SharedRingBuffer::create_temp(4096).unwrap();
        let mut rx = crate::Receiver::new(buffer);
        for _ in 0..3 {
            assert_eq!(ready_timeout(&mut [&mut rx], Duration::ZERO).unwrap(), None);
        }
        let sleepers = &rx.ring().header().data_wait.sleepers;
        assert_eq!(sleepers.load(Ordering::SeqCst), 0);
    }
}
