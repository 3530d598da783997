//! Placeholders for loaned buffers (see `raw::loan`): a private anonymous mapping that is
//! read-only and never written after it is made, so it costs address space and one page of
//! memory however large it is (a read-only private mapping is not charged against the
//! system's commit limit). Its first page holds `0xFF` bytes, which start no UTF-8 sequence,
//! so a placeholder that starts there cannot be turned into a `&str` by safe code.

use std::ffi::c_void;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};

/// A read-only anonymous mapping: `0xFF` in its first page, zeros after it.
pub(crate) struct Placeholder {
    ptr: NonNull<u8>,
    /// Bytes mapped (a multiple of the page size).
    mapped: usize,
    /// Bytes handed out by [`Placeholder::bytes`].
    len: usize,
}

// SAFETY: the mapping is read-only and never changes after `new`; sharing or moving a
// reference to immutable memory between threads is sound.
unsafe impl Send for Placeholder {}
// SAFETY: as above.
unsafe impl Sync for Placeholder {}

impl Placeholder {
    /// A placeholder of `len` bytes (at least one page's worth of them `0xFF`).
    pub(crate) fn new(len: usize) -> std::io::Result<Placeholder> {
        let page = rustix::param::page_size();
        let mapped = len
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
        // SAFETY: a new anonymous mapping at an address of the kernel's choosing aliases
        // nothing.
        let base = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                mapped,
                ProtFlags::READ,
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )?
        };
        let placeholder = Placeholder {
            ptr: NonNull::new(base as *mut u8).ok_or_else(std::io::Error::last_os_error)?,
            mapped,
            len,
        };
        // SAFETY: the first page of the mapping just made is replaced by a writable one
        // (`FIXED` over our own range, which nothing references yet), filled, and made
        // read-only again before any reference to the mapping exists.
        unsafe {
            rustix::mm::mmap_anonymous(
                base,
                page,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::FIXED,
            )?;
            std::ptr::write_bytes(base as *mut u8, 0xFF, page);
            rustix::mm::mprotect(base, page, MprotectFlags::READ)?;
        }
        Ok(placeholder)
    }

    /// The placeholder's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `len <= mapped` bytes from `ptr` are mapped, readable and never written
        // while `self` lives (the mapping is read-only), and the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Placeholder {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and no slice of it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr() as *mut c_void, self.mapped) };
    }
}

#[cfg(test)]
mod tests {
    use super::Placeholder;

    #[test]
    fn a_placeholder_starts_with_a_page_that_is_not_text() {
        let page = rustix::param::page_size();
        let p = Placeholder::new(3 * page + 5).unwrap();
        let bytes = p.bytes();
        assert_eq!(bytes.len(), 3 * page + 5);
        assert!(bytes[..page].iter().all(|&b| b == 0xFF));
        assert!(bytes[page..].iter().all(|&b| b == 0));
        for k in 0..page {
            assert!(std::str::from_utf8(&bytes[k..k + 1]).is_err());
        }
    }
}
