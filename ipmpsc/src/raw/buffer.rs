//! [`SharedRingBuffer`]: a channel file mapped into this process.

use std::path::Path;
use std::sync::Arc;

use crate::error::op;
use crate::ring::consumer::{Claimed, Consumer};
use crate::ring::peers::Registration;
use crate::ring::{Creation, Replace, Ring};
use crate::schema::{Schema, SchemaMismatch, StoredSchema};
use crate::sys::file;
use crate::{Error, Result};

/// A channel file mapped into this process. Cloning is cheap and shares the mapping.
///
/// # Examples
///
/// ```
/// use ipmpsc::{Receiver, Sender, SharedRingBuffer};
///
/// let (path, buffer) = SharedRingBuffer::create_temp(32 * 1024)?;
/// let rx = Receiver::new(buffer);
///
/// // Usually in another process:
/// let tx = Sender::new(SharedRingBuffer::open(&path)?);
/// tx.send(&"hello")?;
///
/// assert_eq!(rx.recv::<String>()?, "hello");
/// # Ok::<(), ipmpsc::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedRingBuffer {
    pub(crate) ring: Arc<Ring>,
}

impl SharedRingBuffer {
    /// Creates a raw channel file at `path` that takes messages of up to `size_in_bytes`
    /// encoded bytes (rounded up to a multiple of 8), as ipmpsc 0.5's did, readable and
    /// writable by the owner only (mode 0600). Smaller messages share the ring: each one takes
    /// its encoded size rounded up to 8, plus 8 bytes.
    ///
    /// The file's memory is reserved at once, and the file is initialised under a temporary
    /// name in the same directory and renamed into place, so nobody ever maps a half-written
    /// header. A channel already at `path` is replaced only if nobody uses it (no receiver, no
    /// live sender, nothing undelivered); a symlink there is replaced, not written through; a
    /// file that is not a channel is left alone.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds a channel at `path`;
    /// [`Error::ChannelInUse`] if live senders or undelivered messages are in it;
    /// [`Error::IncompatibleRingBuffer`] if a file that is not a channel is there;
    /// [`Error::Io`] if the file cannot be created, or its memory cannot be reserved
    /// (`ErrorKind::StorageFull`, naming the path and the size).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = format!("/dev/shm/ipmpsc-doc-create-{}", std::process::id());
    /// let buffer = ipmpsc::SharedRingBuffer::create(&path, 64 * 1024)?;
    /// assert!(buffer.capacity() >= 64 * 1024);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, size_in_bytes: u64) -> Result<SharedRingBuffer> {
        Self::create_with_mode(path, size_in_bytes, file::DEFAULT_MODE)
    }

    /// Like [`SharedRingBuffer::create`], with the file's permission bits given explicitly
    /// (for example `0o660` to let a group send).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// let path = format!("/dev/shm/ipmpsc-doc-mode-{}", std::process::id());
    /// let _buffer = ipmpsc::SharedRingBuffer::create_with_mode(&path, 4096, 0o640)?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o640);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_with_mode(
        path: impl AsRef<Path>,
        size_in_bytes: u64,
        mode: u32,
    ) -> Result<SharedRingBuffer> {
        let creation = Ring::create(
            path.as_ref(),
            size_in_bytes,
            &Schema::UNTYPED,
            mode,
            false,
            Replace::IfUnused,
        )?
        .expect("IfUnused always publishes or fails");
        Ok(SharedRingBuffer {
            ring: creation.ring,
        })
    }

    /// Creates a raw channel under a fresh name in `/dev/shm` (or the system's temporary
    /// directory where `/dev/shm` does not exist) and returns the path with the buffer. The file
    /// is removed when the last clone of the returned buffer in this process is dropped
    /// (processes that opened it keep their mapping), if the path still names it: a file that
    /// somebody else put there meanwhile stays, and so does the file when a forked child drops
    /// its inherited copy. Names never collide: a name that is taken (even by a process of
    /// another PID namespace) is passed over, never replaced.
    ///
    /// # Examples
    ///
    /// ```
    /// let (path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// assert!(std::path::Path::new(&path).exists());
    /// drop(buffer);
    /// assert!(!std::path::Path::new(&path).exists());
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn create_temp(size_in_bytes: u64) -> Result<(String, SharedRingBuffer)> {
        let Creation { ring, .. } = Ring::create_temp(size_in_bytes, &Schema::UNTYPED, false)?;
        let path = ring.path();
        let path_str = path.to_str().map(str::to_owned).ok_or_else(|| {
            Error::refused(
                op::CREATE,
                path.to_path_buf(),
                std::io::ErrorKind::InvalidData,
                "the temporary path is not UTF-8",
            )
        })?;
        Ok((path_str, SharedRingBuffer { ring }))
    }

    /// Maps an existing raw channel file, checking its header.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened; [`Error::IncompatibleRingBuffer`] if it is not an
    /// ipmpsc channel of this layout, word size and codec; [`Error::Corrupt`] if its geometry or
    /// cursors are impossible; [`Error::SchemaMismatch`] if it is a typed channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = format!("/dev/shm/ipmpsc-doc-open-{}", std::process::id());
    /// std::fs::write(&path, b"not a channel")?;
    /// let err = ipmpsc::SharedRingBuffer::open(&path).unwrap_err();
    /// assert!(matches!(err, ipmpsc::Error::IncompatibleRingBuffer(_)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<SharedRingBuffer> {
        Self::open_checked(path.as_ref(), |stored| {
            check_schema(stored, &Schema::UNTYPED)
        })
    }

    /// The largest message the channel takes, in encoded bytes: the capacity it was created
    /// with, rounded up to a multiple of 8. (Its ring has room for that message and for the
    /// 8-byte length word in front of it.)
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(1000)?;
    /// assert_eq!(buffer.capacity(), 1000);
    /// let tx = ipmpsc::Sender::new(buffer.clone());
    /// tx.send(&vec![7u8; 992])?; // 992 bytes and their 8-byte length: 1000 bytes
    /// let err = tx.send(&vec![7u8; 993]).unwrap_err();
    /// assert!(matches!(err, ipmpsc::Error::MessageTooLarge { size: 1001, capacity: 1000 }));
    ///
    /// let (_path, rounded) = ipmpsc::SharedRingBuffer::create_temp(1001)?;
    /// assert_eq!(rounded.capacity(), 1008);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.ring.max_message()
    }

    // ---------------------------------------------------------------------------------------
    // What the typed API builds on.

    /// Creates a temporary channel for `schema` (see [`SharedRingBuffer::create_temp`]) and
    /// claims its receiver role before the file becomes visible.
    pub(crate) fn create_temp_receiver(
        capacity: u64,
        schema: &Schema,
    ) -> Result<(SharedRingBuffer, Consumer)> {
        let c = Ring::create_temp(capacity, schema, true)?;
        let mut consumer = c.consumer.expect("created as the receiver");
        consumer.remove_file_on_drop();
        Ok((SharedRingBuffer { ring: c.ring }, consumer))
    }

    /// Opens the channel at `path`, refusing it unless `check` accepts its schema. A file
    /// replaced at its path meanwhile is left for the new one.
    pub(crate) fn open_checked(
        path: &Path,
        check: impl Fn(&StoredSchema) -> Result<()>,
    ) -> Result<SharedRingBuffer> {
        for _ in 0..file::OPEN_ATTEMPTS {
            let ring = Ring::open(path)?;
            check(ring.schema())?;
            if ring.registration() != Registration::Reopen {
                return Ok(SharedRingBuffer {
                    ring: Arc::new(ring),
                });
            }
            if ring.is_at(path) {
                return Err(marked_replaced(path));
            }
        }
        Err(keeps_changing(path))
    }

    /// Opens the channel at `path` (checked by `check`) and claims its receiver role, or, if no
    /// file is there and `create` gives a capacity and mode, creates it with `schema` and
    /// claims it before it becomes visible.
    pub(crate) fn open_receiver(
        path: &Path,
        schema: &Schema,
        create: Option<(u64, u32)>,
    ) -> Result<(SharedRingBuffer, Consumer)> {
        let stored = create.map(|_| StoredSchema::from(schema));
        Self::open_receiver_with(
            path,
            |found| check_schema(found, schema),
            create.zip(stored.as_ref()).map(|((c, m), s)| (c, m, s)),
        )
    }

    /// [`SharedRingBuffer::open_receiver`] with the schema check `check`, creating the file
    /// with the capacity, mode and schema of `create` if nothing is at `path`.
    pub(crate) fn open_receiver_with(
        path: &Path,
        check: impl Fn(&StoredSchema) -> Result<()>,
        create: Option<(u64, u32, &StoredSchema)>,
    ) -> Result<(SharedRingBuffer, Consumer)> {
        for _ in 0..file::OPEN_ATTEMPTS {
            match Ring::open(path) {
                Ok(ring) => {
                    check(ring.schema())?;
                    let ring = Arc::new(ring);
                    match Consumer::claim(ring.clone())? {
                        Claimed::Consumer(consumer) => {
                            return Ok((SharedRingBuffer { ring }, consumer))
                        }
                        Claimed::Replaced if ring.is_at(path) => return Err(marked_replaced(path)),
                        Claimed::Replaced => continue,
                    }
                }
                Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => {
                    let Some((capacity, mode, schema)) = create else {
                        return Err(e);
                    };
                    if std::fs::symlink_metadata(path).is_ok() {
                        // Something is there that opening cannot follow to a file.
                        return Err(Error::refused(
                            op::OPEN,
                            path.to_path_buf(),
                            std::io::ErrorKind::NotFound,
                            "it is a symlink to nothing: remove it, or point it at a channel",
                        ));
                    }
                    if let Some(c) =
                        Ring::create_stored(path, capacity, schema, mode, true, Replace::Never)?
                    {
                        let consumer = c.consumer.expect("created as the receiver");
                        return Ok((SharedRingBuffer { ring: c.ring }, consumer));
                    }
                    // Another process created it just now: open that one.
                }
                Err(e) => return Err(e),
            }
        }
        Err(keeps_changing(path))
    }

    /// Creates a channel for `schema` at `path` and claims its receiver role before the file
    /// becomes visible; replaces a file there only if nobody uses it.
    pub(crate) fn create_receiver(
        path: &Path,
        capacity: u64,
        schema: &Schema,
        mode: u32,
    ) -> Result<(SharedRingBuffer, Consumer)> {
        let c = Ring::create(path, capacity, schema, mode, true, Replace::IfUnused)?
            .expect("IfUnused always publishes or fails");
        let consumer = c.consumer.expect("created as the receiver");
        Ok((SharedRingBuffer { ring: c.ring }, consumer))
    }

    /// Whether a sender that registered on this buffer should open the path again (the file
    /// was replaced), after waiting for a creator that is deciding about it.
    pub(crate) fn should_reopen_after_registering(&self) -> Result<bool> {
        match self.ring.registration() {
            Registration::Stay => Ok(false),
            Registration::Reopen => Ok(true),
            Registration::Retry => Err(crate::ring::peers::creator_not_done(
                op::REGISTER_SENDER,
                self.ring.path(),
            )),
        }
    }
}

/// The file at `path` says it was replaced, but it is still there: written so by a process
/// with write access to it (the library marks a file only once it is off its path).
fn marked_replaced(path: &Path) -> Error {
    Error::Corrupt(format!(
        "the channel at {} is marked as replaced although it is still at its path; create it \
         again",
        path.display()
    ))
}

/// The file at `path` was replaced again and again while this process tried to open it.
fn keeps_changing(path: &Path) -> Error {
    Error::refused(
        op::OPEN,
        path.to_path_buf(),
        std::io::ErrorKind::Other,
        format!(
            "it was replaced {} times while this process tried to open it",
            file::OPEN_ATTEMPTS
        ),
    )
}

/// `Error::SchemaMismatch` unless the file's schema is `ours` (a typed schema never matches
/// a raw channel, and the reverse).
pub(crate) fn check_schema(stored: &StoredSchema, ours: &Schema) -> Result<()> {
    if stored.hash != ours.hash {
        return Err(Error::SchemaMismatch(Box::new(SchemaMismatch::new(
            stored.clone(),
            ours,
        ))));
    }
    Ok(())
}

impl std::fmt::Debug for SharedRingBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRingBuffer")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
