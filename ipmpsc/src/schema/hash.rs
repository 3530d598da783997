//! The schema hash's building blocks: 64-bit FNV-1a folds, all `const fn`, so that a
//! `SchemaType::HASH` written by hand is computed at compile time like a derived one.
//!
//! These functions are stable: the hash of a given sequence of folds does not change
//! between releases of ipmpsc, so a channel created by one build can be opened by another
//! whose types fold the same values. [`opaque_schema!`](crate::opaque_schema) is built on
//! them; use them directly to implement [`SchemaType`](crate::SchemaType) by hand, for
//! example for a generic type of your own.
//!
//! # Examples
//!
//! ```
//! use ipmpsc::schema::hash::{fold_str, fold_u64, opaque_hash, type_hash, SEED};
//!
//! // What a hand-written `SchemaType::HASH` folds: a name, then whatever else defines the
//! // encoding, each step a const fn.
//! const HASH: u64 = fold_u64(fold_str(SEED, "my_crate::Fixed"), 3);
//! assert_ne!(HASH, fold_u64(fold_str(SEED, "my_crate::Fixed"), 4));
//!
//! // Strings are folded with their length, so the boundary between two of them counts.
//! assert_ne!(
//!     fold_str(fold_str(SEED, "ab"), "c"),
//!     fold_str(fold_str(SEED, "a"), "bc"),
//! );
//!
//! // A generic type folds its arguments' hashes.
//! const PAIR: u64 = type_hash("my_crate::Pair", &[<u32 as ipmpsc::SchemaType>::HASH]);
//! assert_ne!(PAIR, type_hash("my_crate::Pair", &[<u64 as ipmpsc::SchemaType>::HASH]));
//!
//! // What `opaque_schema!(T, "my_crate::T", version = 1)` declares.
//! assert_ne!(opaque_hash("my_crate::T", 1), opaque_hash("my_crate::T", 2));
//! ```

/// The value every fold starts from (FNV-1a's offset basis).
pub const SEED: u64 = 0xcbf2_9ce4_8422_2325;

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Folds raw bytes into `h`.
///
/// # Examples
///
/// ```
/// use ipmpsc::schema::hash::{fold_bytes, SEED};
///
/// assert_eq!(fold_bytes(SEED, b""), SEED);
/// assert_ne!(fold_bytes(SEED, b"a"), fold_bytes(SEED, b"b"));
/// ```
pub const fn fold_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

/// Folds a number into `h` (as 8 little-endian bytes).
///
/// # Examples
///
/// ```
/// use ipmpsc::schema::hash::{fold_bytes, fold_u64, SEED};
///
/// assert_eq!(fold_u64(SEED, 7), fold_bytes(SEED, &7u64.to_le_bytes()));
/// ```
pub const fn fold_u64(h: u64, x: u64) -> u64 {
    fold_bytes(h, &x.to_le_bytes())
}

/// Folds a string into `h`, length first, so that `"ab", "c"` and `"a", "bc"` differ.
///
/// # Examples
///
/// ```
/// use ipmpsc::schema::hash::{fold_str, SEED};
///
/// assert_ne!(fold_str(fold_str(SEED, "ab"), "c"), fold_str(fold_str(SEED, "a"), "bc"));
/// ```
pub const fn fold_str(h: u64, s: &str) -> u64 {
    fold_bytes(fold_u64(h, s.len() as u64), s.as_bytes())
}

/// Hash of a type called `name` with type arguments whose hashes are `args`: how ipmpsc
/// hashes the standard library's types (`type_hash("Vec", &[T::HASH])` for `Vec<T>`).
///
/// # Examples
///
/// ```
/// use ipmpsc::schema::hash::type_hash;
/// use ipmpsc::SchemaType;
///
/// assert_eq!(<Vec<u8> as SchemaType>::HASH, type_hash("Vec", &[<u8 as SchemaType>::HASH]));
/// assert_eq!(<u32 as SchemaType>::HASH, type_hash("u32", &[]));
/// ```
pub const fn type_hash(name: &str, args: &[u64]) -> u64 {
    let mut h = fold_u64(fold_str(SEED, name), args.len() as u64);
    let mut i = 0;
    while i < args.len() {
        h = fold_u64(h, args[i]);
        i += 1;
    }
    h
}

/// Hash of a type whose schema is declared by a name and a version instead of derived from
/// its structure ([`opaque_schema!`](crate::opaque_schema)). It never equals the hash of a
/// standard library type or of a derived type, whatever the name.
///
/// # Examples
///
/// ```
/// use ipmpsc::schema::hash::{opaque_hash, type_hash};
///
/// assert_ne!(opaque_hash("my_crate::Id", 1), opaque_hash("my_crate::Id", 2));
/// assert_ne!(opaque_hash("u32", 1), type_hash("u32", &[]));
/// ```
pub const fn opaque_hash(name: &str, version: u32) -> u64 {
    fold_u64(fold_str(fold_str(SEED, "opaque"), name), version as u64)
}
