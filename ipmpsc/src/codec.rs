//! The wire encoding of messages: bincode 2 over serde, fixed-width little-endian integers,
//! no size limit beyond the record itself. Every bincode call of the crate is in this file.
//!
//! Sending sizes a message first (a counting pass that copies nothing: byte buffers add their
//! length), reserves exactly that many bytes in the ring and encodes straight into the
//! reservation, so a message is copied once. Receiving decodes from the record's bounded slice
//! only, borrowing `&str` and `&[u8]` fields from it.

use bincode::config::{Configuration, Fixint, LittleEndian, NoLimit};
use bincode::enc::write::SizeWriter;
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
    let written = bincode::serde::encode_into_slice(value, dst, CONFIG)
        .map_err(|e| Error::Encode(e.to_string()))?;
    if written != dst.len() {
        return Err(Error::Encode(format!(
            "the message encoded to {written} bytes after sizing it at {} (a Serialize \
             implementation that is not deterministic?)",
            dst.len()
        )));
    }
    Ok(())
}

/// Encodes `value` into a new vector (tests; the send path never allocates).
#[cfg(test)]
pub(crate) fn encode_to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, CONFIG).map_err(|e| Error::Encode(e.to_string()))
}

/// Decodes a `T` from `bytes`, borrowing from them where `T` holds references.
#[inline]
pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    bincode::serde::borrow_decode_from_slice(bytes, CONFIG)
        .map(|(value, _)| value)
        .map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn truncated_input_is_a_decode_error() {
        let buf = encode_to_vec(&Msg::Text("truncate me")).unwrap();
        for cut in 0..buf.len() {
            assert!(matches!(
                decode::<Msg<'_>>(&buf[..cut]),
                Err(Error::Decode(_))
            ));
        }
    }
}
