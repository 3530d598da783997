//! Creating, publishing, opening and mapping channel files.
//!
//! A channel file is built under a temporary name beside its final path and published with
//! one rename, so nobody ever maps a half-written header. Publishing never follows a symlink
//! planted at the path, and the caller decides whether an existing file may be replaced (see
//! `ring::create`): [`StagedFile::publish_new`] refuses to replace anything, and
//! [`StagedFile::replace`] replaces exactly what is there.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use memmap2::MmapRaw;

use super::fork::ChannelFile;
use rustix::fs::{RenameFlags, CWD};

/// Default permissions of a channel file: the owner reads and writes, nobody else.
pub(crate) const DEFAULT_MODE: u32 = 0o600;

/// A freshly created file under a temporary name beside its final path, not yet visible there.
pub(crate) struct StagedFile {
    pub(crate) file: ChannelFile,
    temp_path: PathBuf,
    final_path: PathBuf,
    published: bool,
}

/// What publishing found at the final path.
pub(crate) enum Publish {
    /// The file is now at the final path.
    Done,
    /// Something is at the final path already; nothing was changed.
    Exists,
}

impl StagedFile {
    /// Creates `.<name>.<pid>.<n>.tmp` next to `path` with `O_EXCL` (which never follows a
    /// symlink) and mode `mode`, locks its byte `held` (so that it is seen as in use for as
    /// long as its creator lives), writes `marker` at its start, and reserves `len` bytes of
    /// storage for it. Staged files of the same name that a creator left behind when it died
    /// (of that exact shape, starting with `marker`, unlocked, and not brand new) are removed
    /// on the way: reserved storage on tmpfs is memory.
    ///
    /// Reserving (`fallocate`) matters on tmpfs: a sparse file that does not fit would be
    /// created happily and then kill a sender with `SIGBUS` when it touches a page that the
    /// file system cannot provide. Here it fails at once, naming the size (the caller names
    /// the path).
    pub(crate) fn create(
        path: &Path,
        len: u64,
        mode: u32,
        held: u64,
        marker: &[u8],
    ) -> io::Result<StagedFile> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "channel path has no file name")
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let pid = std::process::id();
        for attempt in 0u32..1000 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{pid}.{nanos:x}{attempt}.tmp"));
            let temp_path = dir.join(temp_name);
            match ChannelFile::open(|| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(&temp_path)
            }) {
                Ok(file) => {
                    let staged = StagedFile {
                        file,
                        temp_path,
                        final_path: path.to_path_buf(),
                        published: false,
                    };
                    super::lock::try_lock(staged.file.as_fd(), held)?;
                    std::os::unix::fs::FileExt::write_all_at(&*staged.file, marker, 0)?;
                    remove_abandoned(dir, name, held, marker);
                    // The caller's mode exactly, whatever the umask.
                    staged
                        .file
                        .set_permissions(std::fs::Permissions::from_mode(mode))?;
                    reserve(&staged.file, len)?;
                    return Ok(staged);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "could not find a free temporary name",
        ))
    }

    /// A second, independent open file description of the staged file (see
    /// [`super::lock`]: each role of a process locks through its own description).
    pub(crate) fn reopen(&self) -> io::Result<ChannelFile> {
        let second = open(&self.temp_path)?;
        if !same_file(&self.file, &second)? {
            return Err(io::Error::other(
                "the staged channel file was replaced under its temporary name",
            ));
        }
        Ok(second)
    }

    /// Publishes the file at its final path if nothing is there (`renameat2` with
    /// `RENAME_NOREPLACE`: two creators racing for one path cannot both succeed).
    pub(crate) fn publish_new(&mut self) -> io::Result<Publish> {
        match rustix::fs::renameat_with(
            CWD,
            &self.temp_path,
            CWD,
            &self.final_path,
            RenameFlags::NOREPLACE,
        ) {
            Ok(()) => {
                self.published = true;
                Ok(Publish::Done)
            }
            Err(rustix::io::Errno::EXIST) => Ok(Publish::Exists),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces whatever is at the final path with this file, in one rename. The caller has
    /// made sure that what is there may go (it holds the old channel's receiver lock and found
    /// nobody using it); a symlink there is replaced itself, never followed.
    pub(crate) fn replace(&mut self) -> io::Result<()> {
        std::fs::rename(&self.temp_path, &self.final_path)?;
        self.published = true;
        Ok(())
    }

    /// Swaps this file with the entry at the final path (`RENAME_EXCHANGE`): afterwards this
    /// file is at the final path and the old entry under the temporary name, where
    /// [`StagedFile::displaced`] inspects it.
    pub(crate) fn exchange(&mut self) -> io::Result<()> {
        rustix::fs::renameat_with(
            CWD,
            &self.temp_path,
            CWD,
            &self.final_path,
            RenameFlags::EXCHANGE,
        )?;
        self.published = !self.published;
        Ok(())
    }

    /// Metadata of whatever is at the temporary name now (after [`StagedFile::exchange`]: the
    /// displaced entry), without following a symlink.
    pub(crate) fn displaced(&self) -> io::Result<std::fs::Metadata> {
        std::fs::symlink_metadata(&self.temp_path)
    }

    /// Removes what is at the temporary name (after an exchange: the displaced entry).
    pub(crate) fn remove_displaced(&mut self) -> io::Result<()> {
        std::fs::remove_file(&self.temp_path)
    }

    /// The final path.
    pub(crate) fn final_path(&self) -> &Path {
        &self.final_path
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// Removes the staged files `.<name>.<pid>.<hex>.tmp` in `dir` whose creator died: they start
/// with `marker`, nobody holds their byte `held`, and they are more than a few seconds old (a
/// creator locks its file right after creating it).
fn remove_abandoned(dir: &Path, name: &std::ffi::OsStr, held: u64, marker: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_bytes());
    prefix.push(b'.');
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let Some(rest) = entry_name
            .as_bytes()
            .strip_prefix(prefix.as_slice())
            .and_then(|r| r.strip_suffix(b".tmp"))
        else {
            continue;
        };
        // `<pid>.<hex digits>`, as `StagedFile::create` names them.
        let shaped = rest.split(|&b| b == b'.').collect::<Vec<_>>();
        let is_staging = matches!(shaped.as_slice(), [pid, hex]
            if !pid.is_empty() && pid.iter().all(u8::is_ascii_digit)
                && !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit));
        if !is_staging {
            continue;
        }
        let path = entry.path();
        let Ok(file) = open_nofollow(&path) else {
            continue;
        };
        let marked = starts_with(&file, marker);
        let old = file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(5));
        if marked && old && !super::lock::is_locked(file.as_fd(), held).unwrap_or(true) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Reserves `len` bytes of storage for `file` and sets its length to `len`.
fn reserve(file: &File, len: u64) -> io::Result<()> {
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len) {
        Ok(()) => Ok(()),
        // File systems without fallocate: a sparse file, as before.
        Err(rustix::io::Errno::OPNOTSUPP) => file.set_len(len),
        Err(rustix::io::Errno::NOSPC) => Err(io::Error::new(
            io::ErrorKind::StorageFull,
            format!(
                "cannot reserve {len} bytes: no space left on the file system (for /dev/shm, a \
                 container's default is often 64 MiB); create a smaller channel or give the \
                 file system more room"
            ),
        )),
        Err(rustix::io::Errno::FBIG) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a file of {len} bytes is larger than the file system allows"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Opens an existing channel file for reading and writing.
pub(crate) fn open(path: &Path) -> io::Result<ChannelFile> {
    ChannelFile::open(|| OpenOptions::new().read(true).write(true).open(path))
}

/// Opens an existing entry for reading and writing without following a symlink (a symlink
/// gives `ELOOP`, reported as [`io::ErrorKind::FilesystemLoop`] or `Other`).
pub(crate) fn open_nofollow(path: &Path) -> io::Result<ChannelFile> {
    ChannelFile::open(|| {
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
    })
}

/// Opens `path` three times: three open file descriptions of one file (one to map, one for
/// each role to lock through, see [`super::lock`]). If the path was replaced between the
/// opens, they are all opened again.
pub(crate) fn open_separately(path: &Path) -> io::Result<[ChannelFile; 3]> {
    for _ in 0..OPEN_ATTEMPTS {
        let files = [open(path)?, open(path)?, open(path)?];
        if same_file(&files[0], &files[1])? && same_file(&files[0], &files[2])? {
            return Ok(files);
        }
    }
    Err(io::Error::other(format!(
        "it was replaced {OPEN_ATTEMPTS} times while being opened"
    )))
}

/// How often an open is tried again when the file at the path keeps changing under it.
pub(crate) const OPEN_ATTEMPTS: u32 = 1000;

/// Whether two open files are the same file.
pub(crate) fn same_file(a: &File, b: &File) -> io::Result<bool> {
    Ok(same_inode(&a.metadata()?, &b.metadata()?))
}

/// Whether `path` (not following a symlink) is the file `file` is open on.
pub(crate) fn path_is(path: &Path, file: &File) -> io::Result<bool> {
    Ok(same_inode(
        &std::fs::symlink_metadata(path)?,
        &file.metadata()?,
    ))
}

/// Whether `path`, following symlinks as opening it does, leads to the file `file` is open on.
pub(crate) fn path_leads_to(path: &Path, file: &File) -> io::Result<bool> {
    Ok(same_inode(&std::fs::metadata(path)?, &file.metadata()?))
}

fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Whether `file` starts with the bytes `marker`.
pub(crate) fn starts_with(file: &File, marker: &[u8]) -> bool {
    let mut start = vec![0u8; marker.len()];
    std::os::unix::fs::FileExt::read_exact_at(file, &mut start, 0).is_ok() && start == marker
}

/// Maps all of `file`, shared and writable.
pub(crate) fn map(file: &File) -> io::Result<MmapRaw> {
    // MmapRaw hands out only raw pointers: every access to the shared bytes goes through the
    // ring's bounds-checked accessors, which document why each one holds.
    MmapRaw::map_raw(file)
}

/// Removes the entry at `path` if it is (not following a symlink) the file `file` is open
/// on; whether it did. A file that somebody else put at the path stays.
///
/// There is no "unlink if it is still this inode" call: a process that replaces the entry
/// between the check and the unlink loses its file. Callers keep that window to the two
/// calls here.
pub(crate) fn remove_if_is(path: &Path, file: &File) -> io::Result<bool> {
    if !path_is(path, file)? {
        return Ok(false);
    }
    std::fs::remove_file(path)?;
    Ok(true)
}

/// A fresh file name for a temporary channel: `ipmpsc-<pid>-<n>-<nanos>`, where `n` counts the
/// names this process made. Unique within a process; across processes (a pid can repeat in
/// another PID namespace sharing the directory) the caller publishes without replacing and
/// asks for another name if one is taken.
pub(crate) fn temp_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "ipmpsc-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Opens an existing file for reading only, for the inspector (`crate::inspect`): it never
/// writes, so it needs no write access, and a description that cannot write cannot take the
/// write locks that mean "a peer is alive" (see [`super::lock`]).
pub(crate) fn open_read_only(path: &Path) -> io::Result<File> {
    // Non-blocking, so that a FIFO at the path is opened (and then refused as no regular
    // file) instead of waiting for a writer; it changes nothing for a regular file.
    OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
}

/// Up to `n` bytes from the start of `file` (fewer if it is shorter), read with `pread`: a
/// file too short to map, or of another format, is looked at without mapping it.
pub(crate) fn read_start(file: &File, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match std::os::unix::fs::FileExt::read_at(file, &mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// Maps all of `file`, shared and read-only: a write through the mapping would fault, so the
/// inspector cannot change a byte of the channel even by mistake.
pub(crate) fn map_read_only(file: &File) -> io::Result<MmapRaw> {
    memmap2::MmapOptions::new().map_raw_read_only(file)
}

/// Directory for `create_temp`: `/dev/shm` (tmpfs, no disk writeback) where it exists.
pub(crate) fn temp_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
