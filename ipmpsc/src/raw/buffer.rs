//! [`SharedRingBuffer`]: a channel file mapped into this process.

use std::path::Path;
use std::sync::Arc;

use crate::ring::Ring;
use crate::schema::{Schema, SchemaMismatch};
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
    /// Creates a raw channel file at `path` with room for `size_in_bytes` bytes of records
    /// (rounded up to a multiple of 8), readable and writable by the owner only (mode 0600).
    ///
    /// The file is initialised under a temporary name in the same directory and renamed into
    /// place, so nobody ever maps a half-written header; a file or symlink already at `path`
    /// is replaced, not written through.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds a channel at `path`;
    /// [`Error::Io`] if the file cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = format!("/dev/shm/ipmpsc-doc-create-{}", std::process::id());
    /// let buffer = ipmpsc::SharedRingBuffer::create(&path, 64 * 1024)?;
    /// assert!(buffer.capacity() >= 64 * 1024);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), ipmpsc::Error>(())
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
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn create_with_mode(
        path: impl AsRef<Path>,
        size_in_bytes: u64,
        mode: u32,
    ) -> Result<SharedRingBuffer> {
        let ring = Ring::create(path.as_ref(), size_in_bytes, &Schema::UNTYPED, mode, false)?;
        Ok(SharedRingBuffer {
            ring: Arc::new(ring),
        })
    }

    /// Creates a raw channel under a fresh name in `/dev/shm` (or the system's temporary
    /// directory where `/dev/shm` does not exist) and returns the path with the buffer. The file
    /// is removed when the last clone of the returned buffer in this process is dropped
    /// (processes that opened it keep their mapping).
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
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = file::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "ipmpsc-{}-{}-{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let path = dir.join(name);
        let mut ring = Ring::create(
            &path,
            size_in_bytes,
            &Schema::UNTYPED,
            file::DEFAULT_MODE,
            false,
        )?;
        ring.set_remove_on_drop(path.clone());
        let path = path.into_os_string().into_string().map_err(|p| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("temporary path {p:?} is not UTF-8"),
            ))
        })?;
        Ok((
            path,
            SharedRingBuffer {
                ring: Arc::new(ring),
            },
        ))
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
        let ring = Ring::open(path.as_ref())?;
        if ring.schema().hash != 0 {
            return Err(Error::SchemaMismatch(Box::new(SchemaMismatch::new(
                ring.schema().clone(),
                &Schema::UNTYPED,
            ))));
        }
        Ok(SharedRingBuffer {
            ring: Arc::new(ring),
        })
    }

    /// Capacity of the data region in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(1000)?;
    /// assert_eq!(buffer.capacity(), 1000);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.ring.capacity()
    }
}

impl std::fmt::Debug for SharedRingBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRingBuffer")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
