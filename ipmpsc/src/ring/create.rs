//! Creating and opening channel files.
//!
//! # Exactly one receiver, whatever the interleaving
//!
//! A creator builds the new file under a temporary name and takes its receiver lock *before*
//! the file becomes visible. It then publishes with `renameat2(RENAME_NOREPLACE)`, which
//! cannot succeed for two creators of one path. If a file is there already, the creator takes
//! that file's receiver lock first (so no receiver can attach to it meanwhile, and a second
//! creator trying the same is refused), checks that the path still names it, marks it
//! [`REPLACING`] (new senders wait for the outcome), and replaces it only if nobody uses it:
//! no live sender and nothing undelivered. A replaced file is marked [`REPLACED`]: any sender
//! still holding it gets `Disconnected`, never a silent success. A symlink at the path is
//! swapped out with `RENAME_EXCHANGE` and removed, never followed.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use memmap2::MmapRaw;

use super::consumer::{Claimed, Consumer};
use super::header::{self, Geometry, Header, RECEIVER_LOCK, REPLACE_LOCK};
use super::peers::{readers_in_the_way, slot_lock};
use super::{Ring, CLOSED, POSITION_MASK, REPLACED, REPLACING};
use crate::error::{op, IoContext};
use crate::schema::{Schema, StoredSchema};
use crate::sys::file::{self, Publish, StagedFile};
use crate::sys::fork::ChannelFile;
use crate::sys::lock::{self, Holder};
use crate::{Error, Result};

/// What a creator may do with a file already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    /// Nothing: report that the path is taken.
    Never,
    /// Replace it if nobody uses it (no receiver, no live sender, nothing undelivered), or if
    /// it is not a channel at all; refuse otherwise.
    IfUnused,
}

/// A channel file created and published.
pub(crate) struct Creation {
    pub(crate) ring: Arc<Ring>,
    /// The receiver role, claimed before the file became visible, if it was asked for.
    pub(crate) consumer: Option<Consumer>,
}

impl Ring {
    /// Creates a channel file at `path` for `schema` that takes one message of `capacity`
    /// encoded bytes (its data region is [`header::data_capacity`]). With `receiver`,
    /// the calling process holds the receiver role of the new file from before it is visible.
    /// `Ok(None)` only with [`Replace::Never`], when something is at the path.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds the file at the path;
    /// [`Error::ChannelInUse`] if live senders or undelivered messages are in it;
    /// [`Error::Io`] if the file cannot be created or its memory reserved.
    pub(crate) fn create(
        path: &Path,
        capacity: u64,
        schema: &Schema,
        mode: u32,
        receiver: bool,
        replace: Replace,
    ) -> Result<Option<Creation>> {
        let stored = StoredSchema::from(schema);
        Ring::create_stored(path, capacity, &stored, mode, receiver, replace)
    }

    /// [`Ring::create`] for a schema read from another channel's header (or received from a
    /// peer), rather than one compiled into this process.
    pub(crate) fn create_stored(
        path: &Path,
        capacity: u64,
        stored: &StoredSchema,
        mode: u32,
        receiver: bool,
        replace: Replace,
    ) -> Result<Option<Creation>> {
        let too_large = || {
            Error::refused(
                op::CREATE,
                path.to_path_buf(),
                std::io::ErrorKind::InvalidInput,
                format!("a capacity of {capacity} bytes is larger than a file can be"),
            )
        };
        let capacity = header::data_capacity(capacity).ok_or_else(too_large)?;
        let name = stored.name.as_bytes();
        let desc = stored.description.as_bytes();
        let text_len = name.len() as u64 + desc.len() as u64;
        if text_len > header::MAX_SCHEMA_TEXT {
            return Err(Error::Encode(format!(
                "schema description of {text_len} bytes exceeds {} bytes",
                header::MAX_SCHEMA_TEXT
            )));
        }
        let geo = Geometry::new(
            capacity,
            header::DEFAULT_MAX_SENDERS,
            name.len() as u32,
            desc.len() as u32,
        )
        .ok_or_else(too_large)?;
        let mut staged =
            StagedFile::create(path, geo.file_len, mode, RECEIVER_LOCK, &header::MAGIC)
                .doing(op::CREATE, path)?;
        // Mapped through a description of its own, which never holds a lock: a mapping keeps
        // its description open, and one inherited by a forked child would keep the locks.
        let map = file::map(&*staged.reopen().doing(op::CREATE, path)?).doing(op::MAP, path)?;
        let ring = Ring::from_parts(
            map,
            staged.file.try_clone().doing(op::CREATE, path)?,
            staged.reopen().doing(op::CREATE, path)?,
            geo,
            stored.clone(),
            path,
        );
        ring.write_identity(name, desc);
        let ring = Arc::new(ring);
        // The staged file's receiver lock is held from its creation: keep it as the receiver,
        // or only until the file is published.
        let consumer = if receiver {
            match Consumer::claim(ring.clone())? {
                Claimed::Consumer(c) => Some(c),
                Claimed::Replaced => unreachable!("a fresh file is not replaced"),
            }
        } else {
            if !lock::try_lock(ring.receiver_file.as_fd(), RECEIVER_LOCK).doing(op::CREATE, path)? {
                return Err(Error::refused(
                    op::CREATE,
                    path.to_path_buf(),
                    std::io::ErrorKind::Other,
                    "another open file description holds the receiver lock of the file this \
                     process just created under a temporary name",
                ));
            }
            None
        };
        let mut attempts = 0;
        loop {
            if let Publish::Done = staged.publish_new().doing(op::CREATE, path)? {
                break;
            }
            if replace == Replace::Never {
                return Ok(None);
            }
            if replace_existing(&mut staged)? {
                break;
            }
            attempts += 1;
            if attempts >= file::OPEN_ATTEMPTS {
                return Err(Error::refused(
                    op::CREATE,
                    path.to_path_buf(),
                    std::io::ErrorKind::Other,
                    "what is at the path kept changing while this process tried to create a \
                     channel there",
                ));
            }
        }
        if !receiver {
            lock::unlock(ring.receiver_file.as_fd(), RECEIVER_LOCK).doing(op::CREATE, path)?;
        }
        Ok(Some(Creation { ring, consumer }))
    }

    /// Creates a channel file for `schema` under a fresh name in `/dev/shm` (or the system's
    /// temporary directory where `/dev/shm` does not exist), as [`Ring::create`] does, and
    /// marks it temporary: the file is removed when the ring is dropped.
    ///
    /// # Errors
    /// As [`Ring::create`].
    pub(crate) fn create_temp(capacity: u64, schema: &Schema, receiver: bool) -> Result<Creation> {
        let names = std::iter::repeat_with(file::temp_name).take(file::OPEN_ATTEMPTS as usize);
        Ring::create_temp_among(&file::temp_dir(), names, capacity, schema, receiver)
    }

    /// [`Ring::create_temp`] in `dir`, under the first of `names` that nothing holds yet: a
    /// name that is taken (by another process whose pid, counter and clock happened to make
    /// the same name, or by anything else) is never replaced, only passed over.
    pub(crate) fn create_temp_among(
        dir: &Path,
        names: impl IntoIterator<Item = String>,
        capacity: u64,
        schema: &Schema,
        receiver: bool,
    ) -> Result<Creation> {
        for name in names {
            let path = dir.join(name);
            let mode = file::DEFAULT_MODE;
            if let Some(c) = Ring::create(&path, capacity, schema, mode, receiver, Replace::Never)?
            {
                c.ring.mark_temporary();
                return Ok(c);
            }
        }
        Err(Error::refused(
            op::CREATE,
            dir.to_path_buf(),
            std::io::ErrorKind::AlreadyExists,
            "every temporary name this process tried was taken",
        ))
    }

    /// Writes identity, geometry and schema into a fresh, not yet visible file.
    fn write_identity(&self, name: &[u8], desc: &[u8]) {
        let geo = &self.geo;
        // SAFETY: the file is fresh, not yet visible under its final name, and `geo.file_len`
        // bytes long; the magic lies at offset 0 and the schema text range inside the header
        // area computed by `Geometry`; nobody else maps the file yet.
        unsafe {
            let base = self.map.as_mut_ptr();
            std::ptr::copy_nonoverlapping(header::MAGIC.as_ptr(), base, 8);
            let text = base.add(geo.schema_offset as usize);
            std::ptr::copy_nonoverlapping(name.as_ptr(), text, name.len());
            std::ptr::copy_nonoverlapping(desc.as_ptr(), text.add(name.len()), desc.len());
        }
        let id = &self.header().identity;
        id.layout_version
            .store(header::LAYOUT_VERSION, Ordering::Relaxed);
        id.word_size
            .store(std::mem::size_of::<usize>() as u32, Ordering::Relaxed);
        id.endian_mark.store(header::ENDIAN_MARK, Ordering::Relaxed);
        id.codec.store(crate::codec::CODEC_ID, Ordering::Relaxed);
        id.max_senders.store(geo.max_senders, Ordering::Relaxed);
        id.schema_version
            .store(self.schema.version, Ordering::Relaxed);
        id.capacity.store(geo.capacity, Ordering::Relaxed);
        id.file_len.store(geo.file_len, Ordering::Relaxed);
        id.schema_hash.store(self.schema.hash, Ordering::Relaxed);
        id.schema_name_len
            .store(geo.schema_name_len, Ordering::Relaxed);
        id.channel_id
            .store(crate::sys::random::nonzero_u64(), Ordering::Relaxed);
        id.schema_desc_len
            .store(geo.schema_desc_len, Ordering::Release);
        self.header()
            .space_wait
            .target
            .store(u64::MAX, Ordering::Relaxed);
    }

    /// Maps and validates the existing channel file at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened; [`Error::IncompatibleRingBuffer`] if it is not an
    /// ipmpsc channel of this layout, word size and codec; [`Error::Corrupt`] if its geometry or
    /// cursors are impossible.
    pub(crate) fn open(path: &Path) -> Result<Ring> {
        let [map_file, receiver_file, sender_file] =
            file::open_separately(path).doing(op::OPEN, path)?;
        let ring = Ring::map_existing(&map_file, receiver_file, sender_file, path)?;
        ring.check_cursors()?;
        Ok(ring)
    }

    /// Maps `map_file` and validates its header; `receiver_file` and `sender_file` are the
    /// open file descriptions of the same file that the two roles lock through (the mapped
    /// one should hold no lock: a mapping keeps its description open, and one inherited by a
    /// forked child would keep the locks).
    fn map_existing(
        map_file: &File,
        receiver_file: ChannelFile,
        sender_file: ChannelFile,
        path: &Path,
    ) -> Result<Ring> {
        check_start(map_file, path)?;
        let map = file::map(map_file).doing(op::MAP, path)?;
        let (geo, schema) = read_identity(&map, path)?;
        Ok(Ring::from_parts(
            map,
            receiver_file,
            sender_file,
            geo,
            schema,
            path,
        ))
    }
}

/// Checks, before mapping it, that `file` starts with the channel magic and holds a whole
/// header.
///
/// # Errors
/// [`Error::IncompatibleRingBuffer`] saying what the file is instead: no regular file, empty,
/// of another format (its first bytes), or a channel cut short.
pub(crate) fn check_start(file: &File, path: &Path) -> Result<()> {
    let meta = file.metadata().doing(op::OPEN, path)?;
    if !meta.is_file() {
        return Err(Error::IncompatibleRingBuffer(format!(
            "{} is not an ipmpsc channel: it is not a regular file",
            path.display()
        )));
    }
    let actual_len = meta.len();
    let start = file::read_start(file, header::MAGIC.len()).doing(op::OPEN, path)?;
    if actual_len == 0 || start.is_empty() {
        return Err(Error::IncompatibleRingBuffer(format!(
            "{} is not an ipmpsc channel: the file is empty",
            path.display()
        )));
    }
    if start != header::MAGIC {
        return Err(Error::IncompatibleRingBuffer(format!(
            "{} is not an ipmpsc channel: it starts with the bytes {}, where a channel file \
             has the magic bytes {}",
            path.display(),
            show_bytes(&start),
            show_bytes(&header::MAGIC)
        )));
    }
    let min = std::mem::size_of::<Header>() as u64;
    if actual_len < min {
        return Err(Error::IncompatibleRingBuffer(format!(
            "{} is a truncated ipmpsc channel: it is {actual_len} bytes long, shorter than a \
             channel header ({min} bytes)",
            path.display()
        )));
    }
    Ok(())
}

/// `49 50 4d 50 ("IPMP")`: bytes in hex, and as text with everything unprintable escaped.
fn show_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    format!("{} (\"{text}\")", hex.join(" "))
}

/// Validates the identity and geometry in the header of a mapped channel file (which
/// [`check_start`] found long enough for a header), and copies them out with the schema, so
/// that a later scribble cannot move a bound the caller relies on. Reads with relaxed loads
/// only, which are sound on a read-only mapping too (the inspector's).
///
/// # Errors
/// [`Error::IncompatibleRingBuffer`] if the file is not a channel of this layout, word size,
/// byte order and codec; [`Error::Corrupt`] if its geometry is impossible or does not match
/// the file's length.
pub(crate) fn read_identity(map: &MmapRaw, path: &Path) -> Result<(Geometry, StoredSchema)> {
    let min = std::mem::size_of::<Header>() as u64;
    if (map.len() as u64) < min {
        return Err(Error::IncompatibleRingBuffer(format!(
            "{} shrank while being opened",
            path.display()
        )));
    }
    // SAFETY: the mapping is at least `size_of::<Header>()` bytes and page aligned; the
    // header's fields are atomics and plain bytes, valid for any bit pattern.
    let hdr = unsafe { &*(map.as_ptr() as *const Header) };
    let id = &hdr.identity;
    if id.magic != header::MAGIC {
        return Err(Error::IncompatibleRingBuffer(format!(
            "{} is not an ipmpsc channel: it does not start with the magic bytes {}",
            path.display(),
            show_bytes(&header::MAGIC)
        )));
    }
    // The identity was written before the file was published; the fence orders the loads
    // below after the rename that made it visible, as an Acquire load would (atomic loads
    // other than relaxed ones are not allowed on read-only memory).
    let layout_version = id.layout_version.load(Ordering::Relaxed);
    std::sync::atomic::fence(Ordering::Acquire);
    let check = |what: &str, theirs: u32, ours: u32| {
        if theirs == ours {
            Ok(())
        } else {
            Err(Error::IncompatibleRingBuffer(format!(
                "{what} differs: the file has {theirs}, this build uses {ours}"
            )))
        }
    };
    check("layout version", layout_version, header::LAYOUT_VERSION)?;
    check(
        "word size",
        id.word_size.load(Ordering::Relaxed),
        std::mem::size_of::<usize>() as u32,
    )?;
    check(
        "byte order mark",
        id.endian_mark.load(Ordering::Relaxed),
        header::ENDIAN_MARK,
    )?;
    check(
        "codec",
        id.codec.load(Ordering::Relaxed),
        crate::codec::CODEC_ID,
    )?;

    let capacity = id.capacity.load(Ordering::Relaxed);
    let max_senders = id.max_senders.load(Ordering::Relaxed);
    let name_len = id.schema_name_len.load(Ordering::Relaxed);
    let desc_len = id.schema_desc_len.load(Ordering::Relaxed);
    if capacity == 0 || capacity % 8 != 0 {
        return Err(Error::Corrupt(format!(
            "capacity {capacity} is not a positive multiple of 8"
        )));
    }
    if max_senders == 0 || max_senders > header::MAX_SENDERS_LIMIT {
        return Err(Error::Corrupt(format!(
            "sender table of {max_senders} slots"
        )));
    }
    if u64::from(name_len) + u64::from(desc_len) > header::MAX_SCHEMA_TEXT {
        return Err(Error::Corrupt(format!(
            "schema text of {} bytes, longer than the header allows ({} bytes)",
            u64::from(name_len) + u64::from(desc_len),
            header::MAX_SCHEMA_TEXT
        )));
    }
    let geo = Geometry::new(capacity, max_senders, name_len, desc_len)
        .ok_or_else(|| Error::Corrupt(format!("capacity {capacity} overflows the layout")))?;
    let recorded_len = id.file_len.load(Ordering::Relaxed);
    if recorded_len != geo.file_len || (map.len() as u64) < geo.file_len {
        return Err(Error::Corrupt(format!(
            "file is {} bytes, header records {recorded_len}, layout needs {}",
            map.len(),
            geo.file_len
        )));
    }
    // SAFETY: the schema text range lies inside the mapping (checked against `geo.file_len`
    // just above) and is copied out at once as plain bytes.
    let text = unsafe {
        std::slice::from_raw_parts(
            map.as_ptr().add(geo.schema_offset as usize),
            name_len as usize + desc_len as usize,
        )
    }
    .to_vec();
    let schema = StoredSchema {
        name: String::from_utf8_lossy(&text[..name_len as usize]).into_owned(),
        version: id.schema_version.load(Ordering::Relaxed),
        hash: id.schema_hash.load(Ordering::Relaxed),
        description: String::from_utf8_lossy(&text[name_len as usize..]).into_owned(),
    };
    Ok((geo, schema))
}

/// The path is taken: replace what is there if nobody uses it. `Ok(true)` once the staged
/// file is published; `Ok(false)` to try publishing again (what was there went away, changed
/// under us, or another creator is deciding about it).
fn replace_existing(staged: &mut StagedFile) -> Result<bool> {
    let path = staged.final_path().to_path_buf();
    let old = match file::open_nofollow(&path) {
        Ok(old) => old,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return swap_out_symlink(staged),
        Err(e) => return Err(Error::io(op::REPLACE, path, e)),
    };
    let meta = old.metadata().doing(op::REPLACE, &path)?;
    if !meta.is_file() {
        return Err(Error::refused(
            op::REPLACE,
            path,
            std::io::ErrorKind::AlreadyExists,
            "something that is not a regular file is at the path",
        ));
    }
    // The replace lock first, then the receiver lock: whoever finds the receiver lock held
    // and the replace lock free knows a receiver holds it, not a creator.
    match lock::take(old.as_fd(), REPLACE_LOCK).doing(op::REPLACE, &path)? {
        Holder::Us => {}
        Holder::Writer => {
            // Another creator is deciding about this file: wait for its decision, then look
            // again.
            let deadline = std::time::Instant::now() + super::peers::CREATOR_PATIENCE;
            while lock::is_locked(old.as_fd(), REPLACE_LOCK).doing(op::REPLACE, &path)? {
                if std::time::Instant::now() >= deadline {
                    return Err(super::peers::creator_not_done(op::REPLACE, &path));
                }
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
            return Ok(false);
        }
        Holder::Readers => {
            return Err(readers_in_the_way(
                "creator",
                REPLACE_LOCK,
                op::REPLACE,
                &path,
            ))
        }
    }
    // Given back explicitly, whatever the outcome: closing `old` would not do it while a child
    // forked meanwhile still has a copy of its descriptor (until its fork handler runs).
    let _unlock = UnlockOnDrop(&old);
    match lock::take(old.as_fd(), RECEIVER_LOCK).doing(op::REPLACE, &path)? {
        Holder::Us => {}
        Holder::Writer => {
            let pid = inspect(&old, &path).map(|r| r.receiver_pid()).unwrap_or(0);
            return Err(Error::ReceiverAlreadyExists { pid });
        }
        Holder::Readers => {
            return Err(readers_in_the_way(
                "receiver",
                RECEIVER_LOCK,
                op::REPLACE,
                &path,
            ))
        }
    }
    if !file::path_is(&path, &old).doing(op::REPLACE, &path)? {
        return Ok(false); // replaced meanwhile: look again
    }
    let channel = match inspect(&old, &path) {
        Ok(channel) => channel,
        // The file could not be mapped (out of memory or address space): nothing is known
        // about who uses it, so it stays.
        Err(e @ Error::Io { .. }) => return Err(e),
        Err(_) if meta.len() == 0 => {
            staged.replace().doing(op::REPLACE, &path)?;
            return Ok(true);
        }
        // A channel of another layout (an older ipmpsc), or one whose header is broken: its
        // sender table cannot be read, but its locks can.
        Err(_) if file::starts_with(&old, &header::MAGIC) => {
            let senders = (0..header::MAX_SENDERS_LIMIT)
                .filter(|&i| lock::is_locked(old.as_fd(), slot_lock(i)).unwrap_or(true))
                .count();
            if senders > 0 {
                return Err(Error::ChannelInUse {
                    path,
                    senders,
                    undelivered: 0,
                });
            }
            staged.replace().doing(op::REPLACE, &path)?;
            return Ok(true);
        }
        // Somebody's data: never clobbered.
        Err(_) => {
            return Err(Error::IncompatibleRingBuffer(format!(
                "{} exists and is not an ipmpsc channel; remove it or choose another path",
                path.display()
            )))
        }
    };
    let tail = channel.tail();
    // New senders wait for the outcome (`Ring::registration`); the ones already there are
    // counted below.
    tail.fetch_or(REPLACING, Ordering::SeqCst);
    if let Err(e) = refuse_if_in_use(&channel, &path) {
        tail.fetch_and(!REPLACING, Ordering::SeqCst);
        return Err(e);
    }
    crate::fault::point("before-replace");
    if let Err(e) = staged.replace() {
        tail.fetch_and(!REPLACING, Ordering::SeqCst);
        return Err(Error::io(op::REPLACE, path, e));
    }
    // Marked only once it is off the path, so that whoever opens the path never finds a
    // replaced file there, even if this process dies right here (then REPLACING stays, with
    // no creator holding the replace lock: registering senders clear it and stay, and find
    // no receiver).
    tail.fetch_or(REPLACED | CLOSED, Ordering::SeqCst);
    tail.fetch_and(!REPLACING, Ordering::SeqCst);
    channel.wake_all_senders();
    Ok(true)
}

/// Whether a creator replaces what is at `path`, which does not open as a usable channel,
/// rather than refuse it (see [`replace_existing`]): a symlink (swapped out), an empty file,
/// or a file that starts with the ipmpsc magic (a channel of another layout, or with a broken
/// header). Anything else is somebody's data, which creators never clobber.
pub(crate) fn replaced_by_creators(path: &Path) -> bool {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return true;
    }
    match file::open_nofollow(path) {
        Ok(f) => {
            f.metadata().is_ok_and(|m| m.is_file() && m.len() == 0)
                || file::starts_with(&f, &header::MAGIC)
        }
        Err(_) => false,
    }
}

/// Gives back the replace and receiver locks that [`replace_existing`] took through a file.
struct UnlockOnDrop<'a>(&'a ChannelFile);

impl Drop for UnlockOnDrop<'_> {
    fn drop(&mut self) {
        let _ = lock::unlock(self.0.as_fd(), RECEIVER_LOCK);
        let _ = lock::unlock(self.0.as_fd(), REPLACE_LOCK);
    }
}

/// The channel in `old` (a description that holds the replace and receiver locks), mapped
/// through a description of its own that holds none: a mapping keeps its description open,
/// and a forked child inheriting it must not keep the locks.
fn inspect(old: &ChannelFile, path: &Path) -> Result<Ring> {
    let map_file = file::open_nofollow(path).doing(op::REPLACE, path)?;
    if !file::same_file(&map_file, old).doing(op::REPLACE, path)? {
        return Err(Error::refused(
            op::REPLACE,
            path.to_path_buf(),
            std::io::ErrorKind::Other,
            "the file at the path changed while it was inspected",
        ));
    }
    Ring::map_existing(
        &map_file,
        old.try_clone().doing(op::REPLACE, path)?,
        old.try_clone().doing(op::REPLACE, path)?,
        path,
    )
}

/// `Error::ChannelInUse` if `channel` has live senders or undelivered bytes.
fn refuse_if_in_use(channel: &Ring, path: &Path) -> Result<()> {
    let senders = channel.live_senders();
    let position = channel.tail().load(Ordering::SeqCst) & POSITION_MASK;
    let undelivered = position.saturating_sub(channel.head().load(Ordering::Acquire));
    if senders > 0 || undelivered > 0 {
        return Err(Error::ChannelInUse {
            path: path.to_path_buf(),
            senders,
            undelivered,
        });
    }
    Ok(())
}

/// A symlink is at the path: swap the staged file in for it and remove the symlink, never
/// following it (nor writing through it). If it leads to a channel in use, the path is in use:
/// refused. If what the swap displaced is not a symlink (a creator raced us there), swap back
/// and look again.
fn swap_out_symlink(staged: &mut StagedFile) -> Result<bool> {
    let path = staged.final_path().to_path_buf();
    if let Ok(target) = file::open(&path) {
        if let Ok(channel) = Ring::map_existing(
            &target,
            file::open(&path).doing(op::REPLACE, &path)?,
            file::open(&path).doing(op::REPLACE, &path)?,
            &path,
        ) {
            if channel.receiver_held() {
                return Err(Error::ReceiverAlreadyExists {
                    pid: channel.receiver_pid(),
                });
            }
            refuse_if_in_use(&channel, &path)?;
        }
    }
    staged.exchange().doing(op::REPLACE, &path)?;
    let displaced = staged.displaced().doing(op::REPLACE, &path)?;
    if displaced.file_type().is_symlink() {
        staged.remove_displaced().doing(op::REPLACE, &path)?;
        return Ok(true);
    }
    staged.exchange().doing(op::REPLACE, &path)?;
    Ok(false)
}
