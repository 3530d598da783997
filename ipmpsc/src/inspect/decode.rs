//! [`Decoder`]: a message's bytes read back as a [`Value`] by following the schema description
//! stored in the channel file, with no Rust type at hand.
//!
//! The bytes are what `codec.rs` writes: bincode 2 with its legacy configuration (fixed-width
//! little-endian integers, `u32` enum variant indices, `u8` `Option` tags, `u64` lengths in
//! front of strings, byte strings, sequences and maps, `char` as its UTF-8 bytes, `bool` as
//! one byte that is 0 or 1, tuples, arrays and structs as their elements in order). The bytes
//! are a copy but may be anything: every length is checked against what is left before
//! anything is allocated, nesting is bounded, and any surprise is an error, never a panic.

use super::reader::Reader;
use super::types::{self, Message};
use super::value::{hex, Value};
use crate::schema::StoredSchema;
use crate::{Error, Result};

/// What [`Decoder::check`] found about the description stored in the channel file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DescriptionCheck {
    /// The description parses, and the types it names hash to the channel's schema hash:
    /// messages are decoded exactly as the message type that created the channel encodes them.
    Verified,
    /// The description parses, but its types do not hash to the schema hash (the reason says
    /// why that can be): messages are decoded as the description says, which may be wrong.
    Unverified(String),
    /// Messages cannot be decoded at all (a raw channel, or a description that does not parse);
    /// the reason says why.
    Undecodable(String),
}

/// Decodes the messages of a channel from the schema description stored in its file.
///
/// # Examples
///
/// ```
/// use ipmpsc::inspect::{Decoder, DescriptionCheck};
///
/// #[ipmpsc::channel]
/// pub enum Msg {
///     Frame { width: u32, height: u32, pixels: Vec<u8> },
///     Log(String),
///     Stop,
/// }
///
/// # fn main() -> ipmpsc::Result<()> {
/// let path = format!("/dev/shm/ipmpsc-doc-decoder-{}", std::process::id());
/// let mut rx = Msg::create_receiver(&path, 4096)?;
/// let tx = Msg::open_sender(&path)?;
/// tx.send(&Msg::Frame { width: 2, height: 1, pixels: vec![0, 255] })?;
/// tx.send(&Msg::Log("hi".into()))?;
/// tx.send(&Msg::Stop)?;
///
/// let channel = ipmpsc::inspect::Inspection::open(&path)?;
/// let decoder = channel.decoder();
/// assert_eq!(decoder.check(), &DescriptionCheck::Verified);
/// let json: Vec<String> = channel
///     .peek(usize::MAX)?
///     .messages
///     .iter()
///     .map(|m| decoder.decode_or_hex(&m.bytes).to_string())
///     .collect();
/// assert_eq!(
///     json,
///     [r#"{"Frame":{"width":2,"height":1,"pixels":[0,255]}}"#, r#"{"Log":"hi"}"#, r#""Stop""#]
/// );
/// # drop((tx, rx));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Decoder {
    message: Option<Message>,
    check: DescriptionCheck,
}

impl Decoder {
    /// A decoder for the channel whose header holds `schema` (see
    /// [`Inspection::schema`](super::Inspection::schema)). Never fails: a description it
    /// cannot use makes every [`decode`](Decoder::decode) an error, and [`check`] says why.
    ///
    /// [`check`]: Decoder::check
    ///
    /// # Examples
    ///
    /// ```
    /// use ipmpsc::inspect::{Decoder, DescriptionCheck};
    /// use ipmpsc::schema::StoredSchema;
    ///
    /// let raw = StoredSchema { name: String::new(), version: 0, hash: 0, description: String::new() };
    /// let decoder = Decoder::new(&raw);
    /// assert!(matches!(decoder.check(), DescriptionCheck::Undecodable(_)));
    /// assert_eq!(
    ///     decoder.decode_or_hex(&[1, 2]).to_string(),
    ///     r#"{"error":"a raw (untyped) channel: its messages carry no schema","hex":"0102"}"#
    /// );
    /// ```
    pub fn new(schema: &StoredSchema) -> Decoder {
        if schema.hash == 0 {
            return Decoder {
                message: None,
                check: DescriptionCheck::Undecodable(
                    "a raw (untyped) channel: its messages carry no schema".to_owned(),
                ),
            };
        }
        let (message, verified) = match types::parse(&schema.description, schema.hash) {
            Ok(parsed) => parsed,
            Err(why) => {
                return Decoder {
                    message: None,
                    check: DescriptionCheck::Undecodable(format!(
                        "the schema description does not parse: {why}"
                    )),
                }
            }
        };
        let check = if verified {
            DescriptionCheck::Verified
        } else if message.cut_short {
            DescriptionCheck::Unverified(format!(
                "the description was cut short at {} bytes: the variants it lists are decoded, \
                 the others are not",
                crate::Schema::DESCRIPTION_LIMIT
            ))
        } else if message.name != schema.name || message.version != schema.version {
            DescriptionCheck::Unverified(format!(
                "the description names {} v{}, the header {} v{}",
                message.name, message.version, schema.name, schema.version
            ))
        } else {
            DescriptionCheck::Unverified(
                "the types the description names do not hash to the schema hash: a type with \
                 a hand-written SchemaType, a tuple field left out with #[serde(skip)], or a \
                 build of ipmpsc that describes schemas differently"
                    .to_owned(),
            )
        };
        Decoder {
            message: Some(message),
            check,
        }
    }

    /// Whether the description could be used, and whether it matches the schema hash.
    ///
    /// # Examples
    ///
    /// See [`Decoder`].
    pub fn check(&self) -> &DescriptionCheck {
        &self.check
    }

    /// Decodes one message's bytes (a record's payload).
    ///
    /// # Errors
    /// [`Error::Decode`] saying what did not fit: the channel has no usable description, a
    /// type in it is opaque, the bytes end too soon, hold an impossible value (an enum variant
    /// that does not exist, invalid UTF-8, a `bool` of 7), or are left over after the message.
    ///
    /// # Examples
    ///
    /// See [`Decoder`].
    pub fn decode(&self, bytes: &[u8]) -> Result<Value> {
        let Some(message) = &self.message else {
            let why = match &self.check {
                DescriptionCheck::Undecodable(why) => why.clone(),
                _ => "no description".to_owned(),
            };
            return Err(Error::Decode(why));
        };
        let mut reader = Reader::new(bytes, &message.types);
        let value = reader.message(message).map_err(|why| {
            Error::Decode(format!(
                "at byte {} of {}: {why}",
                reader.read(),
                bytes.len()
            ))
        })?;
        if reader.read() != bytes.len() {
            return Err(Error::Decode(format!(
                "the message decoded from {} of its {} bytes: it was not encoded from the \
                 description",
                reader.read(),
                bytes.len()
            )));
        }
        Ok(value)
    }

    /// [`decode`](Decoder::decode), or if it fails, an object with the reason and the bytes in
    /// hex: `{"error": "...", "hex": "0102…"}`. Never fails.
    ///
    /// # Examples
    ///
    /// See [`Decoder::new`].
    pub fn decode_or_hex(&self, bytes: &[u8]) -> Value {
        match self.decode(bytes) {
            Ok(value) => value,
            Err(e) => {
                let why = match e {
                    Error::Decode(why) => why,
                    other => other.to_string(),
                };
                Value::Object(vec![
                    ("error".to_owned(), Value::String(why)),
                    ("hex".to_owned(), Value::String(hex(bytes))),
                ])
            }
        }
    }
}
