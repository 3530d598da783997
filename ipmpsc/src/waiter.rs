//! The async side's sleeper: one thread per process (one more per [`PER_THREAD`] waiting
//! futures) that sleeps on the futex words of every channel an async receive or send waits
//! on, with `futex_waitv`, and wakes each future's `Waker` when its word moves or its
//! deadline comes. A child made by `fork` starts threads of its own when it first waits.
//!
//! Why a thread and not a file descriptor for the runtime's reactor: the senders wake a
//! receiver through a futex word in the shared mapping, which no reactor can poll. An fd
//! (an eventfd, a pipe) would have to be passed to every sender process and written on every
//! wake-up, which changes the wake path of every channel, also of the blocking receivers that
//! gain nothing from it. The thread keeps that path as it is (no syscall when nobody sleeps,
//! one `FUTEX_WAKE` when someone does) and costs a thread per process, asleep while no
//! future waits and woken only by the senders the futures wait for.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::ring::Ring;
use crate::sys::futex::{wait_any, wake_all, WAIT_ANY_MAX};

/// Futures one waiter thread serves (its control word takes the last place of the
/// `futex_waitv` array).
const PER_THREAD: usize = WAIT_ANY_MAX - 1;

/// Which futex word of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    /// The receiver's: senders wake it after a commit.
    Data,
    /// The senders': the receiver wakes it when space is back.
    Space,
}

/// What a future waits for: `word` of `ring` to move away from `seq`, or `deadline`.
pub(crate) struct Interest {
    pub(crate) ring: Arc<Ring>,
    pub(crate) word: Word,
    pub(crate) seq: u32,
    pub(crate) deadline: Option<Instant>,
}

impl Word {
    /// This futex word of `ring`.
    fn of(self, ring: &Ring) -> &AtomicU32 {
        let h = ring.header();
        match self {
            Word::Data => &h.data_wait.seq,
            Word::Space => &h.space_wait.seq,
        }
    }
}

impl Interest {
    fn word(&self) -> &AtomicU32 {
        self.word.of(&self.ring)
    }

    /// Whether the future must be woken: its word moved, or its time came.
    fn due(&self, now: Instant) -> bool {
        self.word().load(Ordering::SeqCst) != self.seq || self.deadline.is_some_and(|d| now >= d)
    }
}

struct Entry {
    id: u64,
    interest: Interest,
    waker: Waker,
}

/// One waiter thread and the futures it serves.
struct Shard {
    entries: Mutex<Vec<Entry>>,
    /// Bumped (and woken) whenever `entries` changes, so that the thread sleeping on the old
    /// list builds a new one.
    control: AtomicU32,
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        // Nothing that can panic runs while the lock is held (wakers run outside it); a
        // poisoned lock would leave the list consistent anyway.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self) {
        self.control.fetch_add(1, Ordering::SeqCst);
        wake_all(&self.control);
    }

    /// The thread's loop: sleep on every entry's word and the control word, wake the futures
    /// whose word moved or whose deadline came, and start again.
    fn run(&self) {
        let mut rings: Vec<(Arc<Ring>, Word, u32)> = Vec::with_capacity(PER_THREAD);
        let mut due: Vec<Entry> = Vec::with_capacity(PER_THREAD);
        loop {
            let control = self.control.load(Ordering::SeqCst);
            let mut deadline: Option<Instant> = None;
            rings.clear();
            {
                let mut entries = self.lock();
                let now = Instant::now();
                let mut i = 0;
                while i < entries.len() {
                    if entries[i].interest.due(now) {
                        due.push(entries.swap_remove(i));
                    } else {
                        i += 1;
                    }
                }
                for e in entries.iter() {
                    let i = &e.interest;
                    rings.push((Arc::clone(&i.ring), i.word, i.seq));
                    if let Some(d) = i.deadline {
                        deadline = Some(deadline.map_or(d, |x| x.min(d)));
                    }
                }
            }
            // Woken with the list unlocked: a waker may drop its future there and then (an
            // executor that is gone does), whose registration takes the lock.
            // A waker that panics must not take the thread, and every other future it
            // serves, with it: the panic is the waker's owner's to see, not ours.
            for e in due.drain(..) {
                let waker = e.waker;
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
            }
            let mut words: Vec<(&AtomicU32, u32)> = rings
                .iter()
                .map(|(ring, word, seq)| (word.of(ring), *seq))
                .collect();
            words.push((&self.control, control));
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if timeout != Some(Duration::ZERO) {
                wait_any(&words, timeout);
            }
        }
    }
}

/// Every waiter thread of the process.
struct Waiter {
    /// The fork generation the shards were made in (see [`Waiter::shards`]), and the shards.
    shards: Mutex<(u64, Vec<&'static Shard>)>,
    next_id: AtomicU64,
}

impl Waiter {
    /// The shards of this process. A child made by `fork` inherits its parent's list but
    /// none of its threads: it passes the parent's shards over (they are never touched again)
    /// and starts threads of its own.
    fn shards(&self) -> MutexGuard<'_, (u64, Vec<&'static Shard>)> {
        let mut shards = self.shards.lock().unwrap_or_else(|p| p.into_inner());
        let generation = crate::sys::fork::generation();
        if shards.0 != generation {
            *shards = (generation, Vec::new());
        }
        shards
    }
}

fn waiter() -> &'static Waiter {
    static WAITER: OnceLock<Waiter> = OnceLock::new();
    WAITER.get_or_init(|| Waiter {
        shards: Mutex::new((crate::sys::fork::generation(), Vec::new())),
        next_id: AtomicU64::new(1),
    })
}

/// A future's place in a waiter thread's list; taken out when dropped (the future completed
/// or was cancelled).
pub(crate) struct Registration {
    shard: &'static Shard,
    id: u64,
    /// The fork generation it was made in: a copy inherited by a forked child leaves the
    /// parent's shard alone (its thread is not in the child, and its lock may never be let go).
    generation: u64,
}

impl Registration {
    fn inherited(&self) -> bool {
        self.generation != crate::sys::fork::generation()
    }
}

impl Shard {
    /// Adds `entry` unless the shard serves [`PER_THREAD`] futures already (then it hands the
    /// entry back): the one place that grows a list, so that no thread ever waits on more
    /// words than `futex_waitv` takes.
    fn try_push(&self, entry: Entry) -> std::result::Result<(), Entry> {
        let mut entries = self.lock();
        if entries.len() >= PER_THREAD {
            return Err(entry);
        }
        entries.push(entry);
        drop(entries);
        self.changed();
        Ok(())
    }
}

impl Registration {
    /// Asks a waiter thread to wake `waker` when `interest` is due. Starts a thread when
    /// every one serves [`PER_THREAD`] futures already.
    ///
    /// # Errors
    /// The operating system's error if a thread cannot be started.
    pub(crate) fn new(interest: Interest, waker: Waker) -> std::io::Result<Registration> {
        let w = waiter();
        let id = w.next_id.fetch_add(1, Ordering::Relaxed);
        let mut entry = Entry {
            id,
            interest,
            waker,
        };
        let mut shards = w.shards();
        let generation = shards.0;
        for &shard in shards.1.iter() {
            match shard.try_push(entry) {
                Ok(()) => {
                    return Ok(Registration {
                        shard,
                        id,
                        generation,
                    })
                }
                Err(back) => entry = back,
            }
        }
        // Threads are never stopped: a shard lives as long as the process.
        let mut entries = Vec::with_capacity(PER_THREAD);
        entries.push(entry);
        let shard: &'static Shard = Box::leak(Box::new(Shard {
            entries: Mutex::new(entries),
            control: AtomicU32::new(0),
        }));
        std::thread::Builder::new()
            .name("ipmpsc-waiter".into())
            .spawn(move || shard.run())?;
        shards.1.push(shard);
        Ok(Registration {
            shard,
            id,
            generation,
        })
    }

    /// Replaces what the future waits for (it was polled again before being woken).
    /// `false` if its entry is gone (the thread woke it and took it out) and its shard is
    /// full: register anew.
    fn update(&mut self, interest: Interest, waker: &Waker) -> std::result::Result<(), Interest> {
        if self.inherited() {
            return Err(interest);
        }
        let mut entries = self.shard.lock();
        if let Some(e) = entries.iter_mut().find(|e| e.id == self.id) {
            e.interest = interest;
            if !e.waker.will_wake(waker) {
                e.waker = waker.clone();
            }
            drop(entries);
            self.shard.changed();
            return Ok(());
        }
        drop(entries);
        let entry = Entry {
            id: self.id,
            interest,
            waker: waker.clone(),
        };
        self.shard.try_push(entry).map_err(|e| e.interest)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.inherited() {
            return;
        }
        let mut entries = self.shard.lock();
        if let Some(i) = entries.iter().position(|e| e.id == self.id) {
            entries.swap_remove(i);
            drop(entries);
            self.shard.changed();
        }
    }
}

/// Keeps at most one [`Registration`] for a future and points it at a new interest.
pub(crate) fn wait_for(
    slot: &mut Option<Registration>,
    interest: Interest,
    waker: &Waker,
) -> std::io::Result<()> {
    let interest = match slot {
        Some(r) => match r.update(interest, waker) {
            Ok(()) => return Ok(()),
            Err(interest) => interest,
        },
        None => interest,
    };
    *slot = Some(Registration::new(interest, waker.clone())?);
    Ok(())
}
