//! Creating, opening and mapping channel files.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use memmap2::MmapRaw;

/// Default permissions of a channel file: the owner reads and writes, nobody else.
pub(crate) const DEFAULT_MODE: u32 = 0o600;

/// A freshly created file under a temporary name beside its final path, not yet visible there.
pub(crate) struct StagedFile {
    pub(crate) file: File,
    temp_path: PathBuf,
    final_path: PathBuf,
    published: bool,
}

impl StagedFile {
    /// Creates `.<name>.<pid>.<n>.tmp` next to `path` with `O_EXCL` (which never follows a
    /// symlink), mode `mode`, and length `len`.
    pub(crate) fn create(path: &Path, len: u64, mode: u32) -> io::Result<StagedFile> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "channel path has no file name")
        })?;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
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
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(mode)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(&temp_path)
            {
                Ok(file) => {
                    let staged = StagedFile {
                        file,
                        temp_path,
                        final_path: path.to_path_buf(),
                        published: false,
                    };
                    // The caller's mode exactly, whatever the umask.
                    staged
                        .file
                        .set_permissions(std::fs::Permissions::from_mode(mode))?;
                    staged.file.set_len(len)?;
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

    /// Atomically replaces whatever is at the final path (a stale file, or a symlink, which is
    /// replaced itself and not followed) with this file.
    pub(crate) fn publish(mut self) -> io::Result<File> {
        std::fs::rename(&self.temp_path, &self.final_path)?;
        self.published = true;
        // Move the file out; Drop sees `published` and removes nothing.
        let file = self.file.try_clone()?;
        Ok(file)
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// Opens an existing channel file for reading and writing.
pub(crate) fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// Maps all of `file`, shared and writable.
pub(crate) fn map(file: &File) -> io::Result<MmapRaw> {
    // MmapRaw hands out only raw pointers: every access to the shared bytes goes through the
    // ring's bounds-checked accessors, which document why each one holds.
    MmapRaw::map_raw(file)
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
