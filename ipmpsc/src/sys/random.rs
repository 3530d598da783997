//! Random numbers that tell one channel file from another (not for cryptography).

use std::sync::atomic::{AtomicU64, Ordering};

/// A random non-zero `u64`: from the kernel's `getrandom`, or, where that is refused (an old
/// kernel, a seccomp filter), from the clock, the pid and a counter.
pub(crate) fn nonzero_u64() -> u64 {
    let mut bytes = [0u8; 8];
    let from_kernel = matches!(
        rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::NONBLOCK),
        Ok(8)
    );
    let mut value = u64::from_ne_bytes(bytes);
    if !from_kernel {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        value = mix(nanos ^ mix(u64::from(std::process::id())))
            ^ mix(COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(0x9e37_79b9));
    }
    value.max(1)
}

/// splitmix64's finaliser: spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_draws_differ_and_are_never_zero() {
        let a = super::nonzero_u64();
        let b = super::nonzero_u64();
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }
}
