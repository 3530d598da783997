//! What the bridge puts on zenoh besides a record's bytes: the attachment of each sample, the
//! schema announcement, and the importer's acknowledgements.
//!
//! Every integer is little-endian. Every decoder checks lengths and returns `None` for
//! anything it does not understand, so a stray or hostile sample is dropped, never trusted.
//!
//! ```text
//! data key (the user's key expression), one sample per record or announcement:
//!   attachment  "ipb1" kind:u8 0 0 0 stream:u64 ...
//!     kind b'R' record:   start:u64 end:u64 base:u64 hash:u64 version:u32 0:u32   payload: the record's bytes
//!     kind b'S' schema:   base:u64                                                payload: a schema
//! control key  ipmpsc/bridge/<stream as 16 hex digits>, importer to exporter:
//!   payload     "ipb1" kind:u8 0 0 0 ...
//!     kind b'A' ack:      through:u64
//!     kind b'N' resend:   (from the first record not acknowledged)
//!     kind b'X' refused:  len:u32 reason (UTF-8)
//! schema (a reply to a query on the data key, and the payload of an announcement):
//!   hash:u64 version:u32 name_len:u32 name desc_len:u32 description
//! ```

use ipmpsc::schema::StoredSchema;

/// The first four bytes of everything the bridge sends besides record bytes.
pub(crate) const MAGIC: [u8; 4] = *b"ipb1";

/// The key importers send acknowledgements of `stream` on.
pub(crate) fn control_key(stream: u64) -> String {
    format!("ipmpsc/bridge/{stream:016x}")
}

/// The attachment of a data sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// The sample's payload is the record between `start` and `end` of `stream`; `base` is
    /// where the exporter's unacknowledged records begin.
    Record {
        stream: u64,
        start: u64,
        end: u64,
        base: u64,
        hash: u64,
        version: u32,
    },
    /// The sample's payload is the schema of `stream`; records follow from `base`.
    Schema { stream: u64, base: u64 },
}

/// What an importer tells the exporter of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// Every record up to `through` is committed in the importing channel.
    Ack { through: u64 },
    /// Send the schema again, then every record not acknowledged.
    Resend,
    /// The stream's records are refused, for this reason.
    Refused(String),
}

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(56);
        out.extend_from_slice(&MAGIC);
        match *self {
            Header::Record {
                stream,
                start,
                end,
                base,
                hash,
                version,
            } => {
                out.extend_from_slice(&[b'R', 0, 0, 0]);
                for v in [stream, start, end, base, hash] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
                out.extend_from_slice(&version.to_le_bytes());
                out.extend_from_slice(&0u32.to_le_bytes());
            }
            Header::Schema { stream, base } => {
                out.extend_from_slice(&[b'S', 0, 0, 0]);
                out.extend_from_slice(&stream.to_le_bytes());
                out.extend_from_slice(&base.to_le_bytes());
            }
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Header> {
        let mut r = Reader::start(bytes)?;
        match r.kind {
            b'R' => {
                let header = Header::Record {
                    stream: r.u64()?,
                    start: r.u64()?,
                    end: r.u64()?,
                    base: r.u64()?,
                    hash: r.u64()?,
                    version: r.u32()?,
                };
                r.u32()?;
                r.end()?;
                Some(header)
            }
            b'S' => {
                let header = Header::Schema {
                    stream: r.u64()?,
                    base: r.u64()?,
                };
                r.end()?;
                Some(header)
            }
            _ => None,
        }
    }
}

impl Control {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&MAGIC);
        match self {
            Control::Ack { through } => {
                out.extend_from_slice(&[b'A', 0, 0, 0]);
                out.extend_from_slice(&through.to_le_bytes());
            }
            Control::Resend => out.extend_from_slice(&[b'N', 0, 0, 0]),
            Control::Refused(reason) => {
                out.extend_from_slice(&[b'X', 0, 0, 0]);
                put_str(&mut out, reason);
            }
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Control> {
        let mut r = Reader::start(bytes)?;
        let control = match r.kind {
            b'A' => Control::Ack { through: r.u64()? },
            b'N' => Control::Resend,
            b'X' => Control::Refused(r.str()?),
            _ => return None,
        };
        r.end()?;
        Some(control)
    }
}

/// A schema as the bridge sends it.
pub(crate) fn encode_schema(schema: &StoredSchema) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + schema.name.len() + schema.description.len());
    out.extend_from_slice(&schema.hash.to_le_bytes());
    out.extend_from_slice(&schema.version.to_le_bytes());
    put_str(&mut out, &schema.name);
    put_str(&mut out, &schema.description);
    out
}

/// Longest schema name plus description accepted from a peer (a channel header holds at most
/// 1 MiB of schema text).
const MAX_SCHEMA_TEXT: usize = 1 << 20;

pub(crate) fn decode_schema(bytes: &[u8]) -> Option<StoredSchema> {
    let mut r = Reader {
        bytes,
        at: 0,
        kind: 0,
    };
    let hash = r.u64()?;
    let version = r.u32()?;
    let name = r.str()?;
    let description = r.str()?;
    r.end()?;
    if name.len() + description.len() > MAX_SCHEMA_TEXT {
        return None;
    }
    Some(StoredSchema {
        name,
        version,
        hash,
        description,
    })
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..len as usize]);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    kind: u8,
}

impl<'a> Reader<'a> {
    /// Checks the magic and reads the kind byte and its padding.
    fn start(bytes: &'a [u8]) -> Option<Reader<'a>> {
        if bytes.len() < 8 || bytes[..4] != MAGIC {
            return None;
        }
        Some(Reader {
            bytes,
            at: 8,
            kind: bytes[4],
        })
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn str(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).ok()
    }

    fn end(&self) -> Option<()> {
        (self.at == self.bytes.len()).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: Header = Header::Record {
        stream: 1,
        start: 2,
        end: 3,
        base: 4,
        hash: 5,
        version: 6,
    };

    #[test]
    fn everything_decodes_to_what_was_encoded() {
        let headers = [RECORD, Header::Schema { stream: 7, base: 8 }];
        for h in headers {
            assert_eq!(Header::decode(&h.encode()), Some(h));
        }
        for c in [
            Control::Ack { through: 9 },
            Control::Resend,
            Control::Refused("schema mismatch: é".into()),
        ] {
            assert_eq!(Control::decode(&c.encode()), Some(c));
        }
        let schema = StoredSchema {
            name: "Reading".into(),
            version: 3,
            hash: 0xfeed,
            description: "Reading v3\n  Temp { celsius: f32 }".into(),
        };
        assert_eq!(decode_schema(&encode_schema(&schema)), Some(schema));
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let record = RECORD.encode();
        let refused = Control::Refused("why".into()).encode();
        let schema = encode_schema(&StoredSchema {
            name: "N".into(),
            version: 1,
            hash: 2,
            description: "d".into(),
        });
        for cut in 0..record.len() {
            assert_eq!(Header::decode(&record[..cut]), None);
        }
        for cut in 0..refused.len() {
            assert_eq!(Control::decode(&refused[..cut]), None);
        }
        for cut in 0..schema.len() {
            assert_eq!(decode_schema(&schema[..cut]), None);
        }
        let mut longer = record.clone();
        longer.push(0);
        assert_eq!(Header::decode(&longer), None);
        let mut wrong = record;
        wrong[0] = b'x';
        assert_eq!(Header::decode(&wrong), None);
        // A length that points past the end.
        let mut huge = Control::Refused(String::new()).encode();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Control::decode(&huge), None);
    }
}
