//! The wire encoding of messages: bincode 2 over serde, fixed-width little-endian integers,
//! no size limit beyond the record itself. Every bincode call of the crate is in this file.
//!
//! Sending sizes a message first (a counting pass that copies nothing: byte buffers add their
//! length), reserves exactly that many bytes in the ring and encodes straight into the
//! reservation, so a message is copied once. Receiving decodes from the record's bounded slice
//! only, borrowing `&str` and `&[u8]` fields from it.

mod bounded;

use bincode::config::{Configuration, Fixint, LittleEndian, NoLimit};
use bincode::enc::write::SizeWriter;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Identifies this encoding in the channel header; a file written with another codec is refused.
pub(crate) const CODEC_ID: u32 = 1;

const CONFIG: Configuration<LittleEndian, Fixint, NoLimit> = bincode::config::legacy();

/// Number of bytes `value` encodes to.
#[inline]
pub(crate) fn encoded_size<T: Serialize + ?Sized>(value: &T) -> Result<u64> {
    let mut counter = SizeWriter::default();
    bincode::serde::encode_into_writer(value, &mut counter, CONFIG)
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(counter.bytes_written as u64)
}

/// Encodes `value` into `dst`, which must be exactly [`encoded_size`] bytes long.
#[inline]
pub(crate) fn encode_into<T: Serialize + ?Sized>(value: &T, dst: &mut [u8]) -> Result<()> {
    encode_with_holes(value, dst, []).map(|[]| ())
}

/// Byte strings at least this long are copied into the ring with non-temporal stores.
const STREAM_THRESHOLD: usize = 256 << 10;

/// Copies `src` into `dst` (of the same length) with non-temporal stores where the target has
/// them. A large buffer sent to another process is read there, not here: writing it around
/// the sender's caches saves reading each destination line before it is overwritten, and
/// leaves the caches to the sender's own data (about 20% faster than `memcpy` for a 12 MB
/// frame on the machine the benchmarks ran on).
#[inline(never)]
fn stream_copy(dst: &mut [u8], src: &[u8]) {
    debug_assert_eq!(dst.len(), src.len());
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
        let n = dst.len().min(src.len());
        let head = dst.as_ptr().align_offset(16).min(n);
        let body = (n - head) / 64 * 64;
        dst[..head].copy_from_slice(&src[..head]);
        // SAFETY: `[head, head + body)` lies within both slices (`head + body <= n`, the
        // length of the shorter); the destination pointer is 16-byte aligned there (`head`
        // is its offset to alignment), as `_mm_stream_si128` needs, and the loads are the
        // unaligned kind. SSE2 is part of the x86-64 baseline. The fence orders the streamed
        // stores before everything after it, so the flag published later releases them too.
        unsafe {
            let mut d = dst.as_mut_ptr().add(head) as *mut __m128i;
            let mut s = src.as_ptr().add(head) as *const __m128i;
            for _ in 0..body / 64 {
                let a = _mm_loadu_si128(s);
                let b = _mm_loadu_si128(s.add(1));
                let c = _mm_loadu_si128(s.add(2));
                let e = _mm_loadu_si128(s.add(3));
                _mm_stream_si128(d, a);
                _mm_stream_si128(d.add(1), b);
                _mm_stream_si128(d.add(2), c);
                _mm_stream_si128(d.add(3), e);
                d = d.add(4);
                s = s.add(4);
            }
            _mm_sfence();
        }
        dst[head + body..n].copy_from_slice(&src[head + body..n]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    dst.copy_from_slice(src);
}

/// Encodes `value` into `dst`, which must be exactly [`encoded_size`] bytes long, except for
/// the byte strings that are `holes` (the same address and length, written through
/// `serialize_bytes`): their length prefix is written, and their bytes are left for the
/// caller to fill. Returns where in `dst` each hole's bytes lie (0 for an empty hole).
///
/// # Errors
/// [`Error::Encode`] if `value`'s `Serialize` fails, if it encodes to another length than
/// `dst`'s, and when a non-empty hole is not in the encoding, or is in it more than once.
#[inline]
pub(crate) fn encode_with_holes<T: Serialize + ?Sized, const K: usize>(
    value: &T,
    dst: &mut [u8],
    holes: [&[u8]; K],
) -> Result<[usize; K]> {
    let mut w = RingWriter {
        dst,
        at: 0,
        holes,
        found: [None; K],
    };
    bincode::serde::encode_into_writer(value, &mut w, CONFIG)
        .map_err(|e| Error::Encode(e.to_string()))?;
    if w.at != w.dst.len() {
        return Err(Error::Encode(format!(
            "the message encoded to {} bytes after sizing it at {} (a Serialize \
             implementation that is not deterministic?)",
            w.at,
            w.dst.len()
        )));
    }
    let mut offsets = [0; K];
    for (k, (hole, found)) in holes.iter().zip(w.found).enumerate() {
        match found {
            Some(at) => offsets[k] = at,
            None if hole.is_empty() => {}
            None => {
                return Err(Error::Encode(format!(
                    "the message built for a loan does not hold loaned buffer {k} as a byte \
                     string: put the slice the loan hands to the closure, whole, into a byte \
                     field of the message (`&[u8]` in a view, or a field written with \
                     `ipmpsc::wire` or `serde_bytes`)"
                )))
            }
        }
    }
    Ok(offsets)
}

/// A bincode writer into a reservation. Byte strings that are holes (see
/// [`encode_with_holes`]) are skipped; large ones (a frame's planes) are copied with stores
/// that bypass the sender's caches (see [`stream_copy`]).
struct RingWriter<'d, 'h, const K: usize> {
    dst: &'d mut [u8],
    at: usize,
    holes: [&'h [u8]; K],
    found: [Option<usize>; K],
}

impl<const K: usize> bincode::enc::write::Writer for RingWriter<'_, '_, K> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) -> std::result::Result<(), bincode::error::EncodeError> {
        let end = self
            .at
            .checked_add(bytes.len())
            .filter(|&end| end <= self.dst.len())
            .ok_or(bincode::error::EncodeError::UnexpectedEnd)?;
        if !bytes.is_empty() {
            let hole = self
                .holes
                .iter()
                .position(|h| std::ptr::eq(h.as_ptr(), bytes.as_ptr()) && h.len() == bytes.len());
            if let Some(k) = hole {
                if self.found[k].replace(self.at).is_some() {
                    return Err(bincode::error::EncodeError::Other(
                        "a loaned buffer is in the message more than once",
                    ));
                }
                self.at = end;
                return Ok(());
            }
        }
        let dst = &mut self.dst[self.at..end];
        if bytes.len() >= STREAM_THRESHOLD {
            stream_copy(dst, bytes);
        } else {
            dst.copy_from_slice(bytes);
        }
        self.at = end;
        Ok(())
    }
}

/// Encodes `value` into a new vector (tests; the send path never allocates).
#[cfg(test)]
pub(crate) fn encode_to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, CONFIG).map_err(|e| Error::Encode(e.to_string()))
}

/// Decodes a `T` from `bytes`, borrowing from them where `T` holds references. Nothing is
/// allocated beyond what `bytes` actually holds, whatever lengths they claim (see
/// [`bounded`]).
#[inline]
pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    let decoded = bincode::serde::seed_decode_from_slice(
        BoundedDecode::<T, false>(PhantomData, &bounded::Budget::for_record(bytes.len())),
        bytes,
        CONFIG,
    );
    whole_record(decoded, bytes.len())
}

/// Decodes an owned `T` from `bytes` that another process may change meanwhile (a record in
/// the ring): every integer, tag and length is read from them once, and every string or byte
/// string is copied out before it is looked at (UTF-8 is checked on the copy), so the value
/// is built only from what was read, and `T`'s visitors never see the shared bytes. As
/// bounded as [`decode`].
#[inline]
pub(crate) fn decode_private<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let decoded = bincode::serde::seed_decode_from_slice(
        BoundedDecode::<T, true>(PhantomData, &bounded::Budget::for_record(bytes.len())),
        bytes,
        CONFIG,
    );
    whole_record(decoded, bytes.len())
}

/// The decoded value, if the decode read the whole record: a message that decodes from a
/// prefix of its bytes was encoded from another definition (a field this process lacks, a
/// wider integer), so taking it would hand out wrong values without an error.
fn whole_record<T>(
    decoded: std::result::Result<(T, usize), bincode::error::DecodeError>,
    len: usize,
) -> Result<T> {
    match decoded {
        Ok((value, read)) if read == len => Ok(value),
        Ok((_, read)) => Err(Error::Decode(format!(
            "the message decoded from {read} of its {len} bytes: it was encoded from another \
             definition of the message type"
        ))),
        Err(e) => Err(Error::Decode(e.to_string())),
    }
}

/// Deserializes a `T` through [`bounded::Bounded`] (`P`: strings copied before they are
/// checked).
struct BoundedDecode<'b, T, const P: bool>(PhantomData<T>, &'b bounded::Budget);

impl<'de, T: Deserialize<'de>, const P: bool> serde::de::DeserializeSeed<'de>
    for BoundedDecode<'_, T, P>
{
    type Value = T;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<T, D::Error> {
        T::deserialize(bounded::Bounded::<_, P>(d, self.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_copy_copies_every_byte_at_every_alignment() {
        let src: Vec<u8> = (0..STREAM_THRESHOLD + 300)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect();
        for (shift, len) in [
            (0, 0),
            (1, 15),
            (3, 64),
            (5, 1000),
            (0, STREAM_THRESHOLD),
            (13, STREAM_THRESHOLD + 77),
        ] {
            let mut dst = vec![0u8; len + 32];
            stream_copy(&mut dst[shift..shift + len], &src[7..7 + len]);
            assert_eq!(
                &dst[shift..shift + len],
                &src[7..7 + len],
                "shift {shift}, len {len}"
            );
            assert!(dst[..shift]
                .iter()
                .chain(&dst[shift + len..])
                .all(|&b| b == 0));
        }
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Msg<'a> {
        Tick {
            seq: u64,
            value: u64,
        },
        Text(&'a str),
        #[serde(with = "serde_bytes")]
        Bytes(&'a [u8]),
    }

    #[test]
    fn size_matches_encoding_and_roundtrips_borrowed() {
        for msg in [
            Msg::Tick {
                seq: 7,
                value: u64::MAX,
            },
            Msg::Text("héllo"),
            Msg::Bytes(&[1, 2, 3, 4, 5]),
        ] {
            let size = encoded_size(&msg).unwrap();
            let mut buf = vec![0u8; size as usize];
            encode_into(&msg, &mut buf).unwrap();
            assert_eq!(buf, encode_to_vec(&msg).unwrap());
            let back: Msg<'_> = decode(&buf).unwrap();
            assert_eq!(back, msg);
        }
    }

    #[test]
    fn tick_is_four_byte_tag_plus_two_words() {
        assert_eq!(encoded_size(&Msg::Tick { seq: 1, value: 2 }).unwrap(), 20);
    }

    #[test]
    fn borrowed_str_points_into_the_buffer() {
        let buf = encode_to_vec(&Msg::Text("zero copy")).unwrap();
        let Msg::Text(s) = decode::<Msg<'_>>(&buf).unwrap() else {
            panic!("wrong variant")
        };
        let range = buf.as_ptr_range();
        assert!(range.contains(&s.as_ptr()));
    }

    #[test]
    fn short_destination_is_an_error_not_a_panic() {
        let mut buf = [0u8; 3];
        assert!(matches!(
            encode_into(&Msg::Text("long"), &mut buf),
            Err(Error::Encode(_))
        ));
    }

    #[test]
    fn huge_claimed_lengths_are_errors_not_allocations() {
        for claimed in [1u64 << 62, u64::MAX, isize::MAX as u64, 1 << 40] {
            let bytes = encode_to_vec(&claimed).unwrap();
            assert!(matches!(decode::<String>(&bytes), Err(Error::Decode(_))));
            assert!(matches!(decode::<Vec<u8>>(&bytes), Err(Error::Decode(_))));
            assert!(matches!(
                decode::<serde_bytes::ByteBuf>(&bytes),
                Err(Error::Decode(_))
            ));
            assert!(matches!(
                decode::<Vec<String>>(&bytes),
                Err(Error::Decode(_))
            ));
            assert!(matches!(
                decode::<Option<Box<str>>>(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
                Err(Error::Decode(_))
            ));
        }
    }

    #[test]
    fn owned_strings_and_buffers_still_decode() {
        let msg = (
            String::from("owned"),
            serde_bytes::ByteBuf::from(vec![1u8, 2]),
            vec![String::from("x")],
        );
        let bytes = encode_to_vec(&msg).unwrap();
        assert_eq!(
            decode::<(String, serde_bytes::ByteBuf, Vec<String>)>(&bytes).unwrap(),
            msg
        );
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Expr {
        Leaf(u32),
        Neg(Box<Expr>),
    }

    #[test]
    fn nesting_past_the_limit_is_a_decode_error_not_a_stack_overflow() {
        // `Neg` a million times: without a limit, decoding (and dropping) recurses until the
        // stack overflows and the process aborts.
        let mut bytes: Vec<u8> = std::iter::repeat_n(1u32.to_le_bytes(), 1 << 20)
            .flatten()
            .collect();
        bytes.extend(0u32.to_le_bytes());
        bytes.extend(7u32.to_le_bytes());
        for err in [
            decode::<Expr>(&bytes).unwrap_err(),
            decode_private::<Expr>(&bytes).unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::Decode(why) if why.contains("deeper than")),
                "{err:?}"
            );
        }
        // Within the limit, nesting decodes.
        let mut shallow = Expr::Leaf(1);
        for _ in 0..(bounded::MAX_DEPTH / 2 - 2) {
            shallow = Expr::Neg(Box::new(shallow));
        }
        let buf = encode_to_vec(&shallow).unwrap();
        assert_eq!(decode_private::<Expr>(&buf).unwrap(), shallow);
    }

    #[test]
    fn a_huge_count_of_zero_sized_elements_is_a_decode_error_not_a_hang() {
        let bytes = u64::MAX.to_le_bytes();
        for err in [
            decode::<Vec<()>>(&bytes).unwrap_err(),
            decode_private::<Vec<()>>(&bytes).unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::Decode(why) if why.contains("more elements")),
                "{err:?}"
            );
        }
        // As many as the allowance holds still decode.
        let some = vec![(); 1000];
        assert_eq!(
            decode_private::<Vec<()>>(&encode_to_vec(&some).unwrap()).unwrap(),
            some
        );
    }

    #[test]
    fn bytes_left_unread_are_a_decode_error() {
        // `(u64, u32)` sent, `u64` expected: the prefix decodes, the rest would be ignored.
        let buf = encode_to_vec(&(5u64, 7u32)).unwrap();
        let borrowed = decode::<u64>(&buf).unwrap_err();
        let owned = decode_private::<u64>(&buf).unwrap_err();
        for err in [borrowed, owned] {
            assert!(
                matches!(&err, Error::Decode(why) if why.contains("8 of its 12 bytes")),
                "{err:?}"
            );
        }
        assert_eq!(decode::<(u64, u32)>(&buf).unwrap(), (5, 7));
    }

    #[test]
    fn truncated_input_is_a_decode_error() {
        let buf = encode_to_vec(&Msg::Text("truncate me")).unwrap();
        for cut in 0..buf.len() {
            assert!(matches!(
                decode::<Msg<'_>>(&buf[..cut]),
                Err(Error::Decode(_))
            ));
        }
    }

    /// What a visitor was handed: a string or byte string it owns (`owned`), or one borrowed
    /// from the input.
    #[derive(Debug, PartialEq)]
    struct Handed {
        owned: bool,
        text: String,
    }

    struct HandedVisitor;

    impl<'de> serde::de::Visitor<'de> for HandedVisitor {
        type Value = Handed;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or bytes")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Handed, E> {
            Ok(Handed {
                owned: false,
                text: v.into(),
            })
        }
        fn visit_str<E>(self, v: &str) -> std::result::Result<Handed, E> {
            Ok(Handed {
                owned: false,
                text: v.into(),
            })
        }
        fn visit_string<E>(self, v: String) -> std::result::Result<Handed, E> {
            Ok(Handed {
                owned: true,
                text: v,
            })
        }
        fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> std::result::Result<Handed, E> {
            Ok(Handed {
                owned: false,
                text: String::from_utf8_lossy(v).into(),
            })
        }
        fn visit_bytes<E>(self, v: &[u8]) -> std::result::Result<Handed, E> {
            Ok(Handed {
                owned: false,
                text: String::from_utf8_lossy(v).into(),
            })
        }
        fn visit_byte_buf<E>(self, v: Vec<u8>) -> std::result::Result<Handed, E> {
            Ok(Handed {
                owned: true,
                text: String::from_utf8_lossy(&v).into(),
            })
        }
    }

    /// Asks for a string (`str`) or bytes, as a hand-written `Deserialize` might.
    struct AsStr(Handed);
    struct AsBytes(Handed);

    impl<'de> Deserialize<'de> for AsStr {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            d.deserialize_str(HandedVisitor).map(AsStr)
        }
    }

    impl<'de> Deserialize<'de> for AsBytes {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            d.deserialize_bytes(HandedVisitor).map(AsBytes)
        }
    }

    #[test]
    fn private_decoding_never_hands_a_visitor_the_input_bytes() {
        let bytes = encode_to_vec("héllo").unwrap();
        let borrowed = decode::<AsStr>(&bytes).unwrap().0;
        assert_eq!(
            borrowed,
            Handed {
                owned: false,
                text: "héllo".into()
            },
            "views borrow"
        );
        let private = decode_private::<AsStr>(&bytes).unwrap().0;
        assert_eq!(
            private,
            Handed {
                owned: true,
                text: "héllo".into()
            }
        );
        let private = decode_private::<AsBytes>(&bytes).unwrap().0;
        assert_eq!(
            private,
            Handed {
                owned: true,
                text: "héllo".into()
            }
        );
        // UTF-8 is checked on the copy, and a bad string is an error, not a panic.
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() = 0xFF;
        assert!(matches!(
            decode_private::<AsStr>(&bad),
            Err(Error::Decode(_))
        ));
        assert!(matches!(
            decode_private::<String>(&bad),
            Err(Error::Decode(_))
        ));
        // A length beyond the input allocates nothing and is an error.
        let mut huge = bytes;
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode_private::<String>(&huge),
            Err(Error::Decode(_))
        ));
        assert!(matches!(
            decode_private::<Vec<u8>>(&huge),
            Err(Error::Decode(_))
        ));
    }
}
