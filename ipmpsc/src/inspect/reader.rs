//! [`Reader`]: one message's bytes read front to back along the type tree, as `codec.rs`
//! writes them (see [`super::decode`] for the format). Every length is checked against what is
//! left before anything is allocated, nesting is bounded, and any surprise is an error.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use super::types::{Id, Int, Item, Leaf, Message, Node, Types};
use super::value::{hex, Value};
use crate::schema::Shape;

/// How deep values may nest while decoding (a recursive type's bytes may claim any depth).
const MAX_DEPTH: usize = 128;

/// Values of zero encoded bytes (`()`, unit structs, empty tuples) decoded at most per message:
/// a sequence of them costs no bytes, so its length alone could claim billions.
const MAX_EMPTY_VALUES: u64 = 1 << 20;

/// The bytes of one message, read front to back.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    types: &'a Types,
    /// Values decoded from no bytes so far (see [`MAX_EMPTY_VALUES`]).
    empty_values: u64,
}

type Decoded = std::result::Result<Value, String>;

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`, of a message whose types are `types`.
    pub(crate) fn new(bytes: &'a [u8], types: &'a Types) -> Self {
        Reader {
            bytes,
            at: 0,
            types,
            empty_values: 0,
        }
    }

    /// Bytes read so far.
    pub(crate) fn read(&self) -> usize {
        self.at
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if n > self.left() {
            return Err(format!(
                "needs {n} more bytes, the message has {} left",
                self.left()
            ));
        }
        let taken = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> std::result::Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A length prefix, as a count that cannot be more than what is left allows.
    fn len(&mut self, what: &str, min_size: u64) -> std::result::Result<usize, String> {
        let at = self.at;
        let n = self.u64()?;
        let fits = match min_size {
            0 => n <= MAX_EMPTY_VALUES - self.empty_values.min(MAX_EMPTY_VALUES),
            size => n.checked_mul(size).is_some_and(|b| b <= self.left() as u64),
        };
        if !fits {
            self.at = at;
            return Err(format!(
                "{what} claims {n} elements; the {} bytes left cannot hold them",
                self.left() - 8
            ));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let n = self.len("a string", 1)?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| format!("a string is not UTF-8: {e}"))
    }

    /// The message: its variant index, then the variant's fields.
    pub(crate) fn message(&mut self, message: &Message) -> Decoded {
        let index = self.u32()?;
        match message.variants.get(index as usize) {
            Some(variant) => self.variant(variant, 0),
            None if message.cut_short => Err(format!(
                "variant {index} is not among the {} the description lists before it was cut \
                 short",
                message.variants.len()
            )),
            None => Err(format!(
                "variant {index} does not exist: `{}` has {}",
                message.name,
                message.variants.len()
            )),
        }
    }

    /// An enum variant, externally tagged: `"Unit"`, `{"Newtype": v}`, `{"Tuple": [..]}`,
    /// `{"Struct": {..}}`.
    fn variant(&mut self, variant: &Item, depth: usize) -> Decoded {
        if variant.shape == Shape::Unit {
            return Ok(Value::String(variant.name.clone()));
        }
        let body = self.body(variant, depth)?;
        Ok(Value::Object(vec![(variant.name.clone(), body)]))
    }

    /// The fields of a struct or variant: an object for named fields, the value itself for one
    /// positional field, an array for several.
    fn body(&mut self, item: &Item, depth: usize) -> Decoded {
        match item.shape {
            Shape::Unit => Ok(Value::Null),
            Shape::Named => {
                let mut fields = Vec::with_capacity(item.fields.len());
                for (name, ty) in &item.fields {
                    fields.push((name.clone(), self.value(*ty, depth + 1)?));
                }
                Ok(Value::Object(fields))
            }
            Shape::Tuple => match item.fields.as_slice() {
                [(_, only)] => self.value(*only, depth + 1),
                fields => {
                    let mut items = Vec::with_capacity(fields.len());
                    for (_, ty) in fields {
                        items.push(self.value(*ty, depth + 1)?);
                    }
                    Ok(Value::Array(items))
                }
            },
        }
    }

    fn value(&mut self, id: Id, depth: usize) -> Decoded {
        if depth > MAX_DEPTH {
            return Err(format!("values nested deeper than {MAX_DEPTH}"));
        }
        let start = self.at;
        let value = self.value_inner(id, depth)?;
        if self.at == start {
            self.empty_values += 1;
            if self.empty_values > MAX_EMPTY_VALUES {
                return Err(format!(
                    "more than {MAX_EMPTY_VALUES} values that take no bytes"
                ));
            }
        }
        Ok(value)
    }

    fn value_inner(&mut self, id: Id, depth: usize) -> Decoded {
        let types = self.types;
        match types.node(id) {
            Node::Leaf(leaf) => self.leaf(*leaf),
            Node::Seq { item, .. } => {
                let min = types.min_size(*item);
                let n = self.len("a sequence", min)?;
                self.elements(*item, n, depth)
            }
            Node::Array { item, len } => {
                let min = types.min_size(*item);
                let fits = match min {
                    0 => *len <= MAX_EMPTY_VALUES,
                    size => len
                        .checked_mul(size)
                        .is_some_and(|b| b <= self.left() as u64),
                };
                if !fits {
                    return Err(format!(
                        "an array of {len} elements does not fit in the {} bytes left",
                        self.left()
                    ));
                }
                self.elements(*item, *len as usize, depth)
            }
            Node::Map { key, value, .. } => {
                let min = types.min_size(*key).saturating_add(types.min_size(*value));
                let n = self.len("a map", min)?;
                let mut pairs = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.value(*key, depth + 1)?;
                    let v = self.value(*value, depth + 1)?;
                    pairs.push((k, v));
                }
                Ok(map_value(pairs))
            }
            Node::Option(inner) => match self.u8()? {
                0 => Ok(Value::Null),
                1 => self.value(*inner, depth + 1),
                tag => Err(format!("an Option's tag is {tag}, not 0 or 1")),
            },
            Node::Range { item, .. } => {
                let start = self.value(*item, depth + 1)?;
                let end = self.value(*item, depth + 1)?;
                Ok(Value::Object(vec![
                    ("start".to_owned(), start),
                    ("end".to_owned(), end),
                ]))
            }
            Node::Transparent { inner, .. } => self.value(*inner, depth + 1),
            Node::Tuple(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value(*item, depth + 1)?);
                }
                Ok(Value::Array(out))
            }
            Node::Struct(item) => self.body(item, depth),
            Node::Enum { name, variants } => {
                let index = self.u32()?;
                match variants.get(index as usize) {
                    Some(variant) => self.variant(variant, depth),
                    None => Err(format!(
                        "variant {index} of `{name}` does not exist: it has {}",
                        variants.len()
                    )),
                }
            }
            Node::SelfRef(to) => self.value(*to, depth + 1),
            Node::Opaque { name, version } => Err(format!(
                "`{name} v{version}` is an opaque type (declared with opaque_schema!): the \
                 description does not say what its bytes are"
            )),
            Node::Unknown(text) => Err(format!(
                "`{text}` is a type whose encoding the description does not spell out"
            )),
        }
    }

    fn elements(&mut self, item: Id, n: usize, depth: usize) -> Decoded {
        if let Node::Leaf(Leaf::Int(Int {
            signed: false,
            bytes: 1,
        })) = self.types.node(item)
        {
            return Ok(Value::Bytes(self.take(n)?.to_vec()));
        }
        let mut out = Vec::with_capacity(n.min(self.left() + 1));
        for _ in 0..n {
            out.push(self.value(item, depth + 1)?);
        }
        Ok(Value::Array(out))
    }

    fn int(&mut self, int: Int) -> Decoded {
        let bytes = self.take(usize::from(int.bytes))?;
        let mut wide = [0u8; 16];
        wide[..bytes.len()].copy_from_slice(bytes);
        let unsigned = u128::from_le_bytes(wide);
        if !int.signed {
            return Ok(Value::UInt(unsigned));
        }
        // Sign-extend from the type's width.
        let shift = 128 - 8 * u32::from(int.bytes);
        Ok(Value::Int(((unsigned << shift) as i128) >> shift))
    }

    fn leaf(&mut self, leaf: Leaf) -> Decoded {
        Ok(match leaf {
            Leaf::Unit | Leaf::PhantomData => Value::Null,
            Leaf::Bool => match self.u8()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("a bool is {b}, not 0 or 1")),
            },
            Leaf::Int(int) => self.int(int)?,
            Leaf::NonZero(int) => match self.int(int)? {
                Value::Int(0) | Value::UInt(0) => return Err("a NonZero integer is 0".to_owned()),
                v => v,
            },
            Leaf::F32 => Value::F32(f32::from_le_bytes(self.array()?)),
            Leaf::F64 => Value::F64(f64::from_le_bytes(self.array()?)),
            Leaf::Char => {
                let first = self.u8()?;
                let width = match first {
                    0x00..=0x7f => 1,
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf4 => 4,
                    _ => return Err(format!("a char starts with the byte {first:#04x}")),
                };
                self.at -= 1;
                let bytes = self.take(width)?;
                let c = std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.chars().next())
                    .ok_or_else(|| format!("a char is not UTF-8: {}", hex(bytes)))?;
                Value::String(c.to_string())
            }
            Leaf::String | Leaf::PathBuf => Value::String(self.string()?),
            Leaf::Duration => Value::Object(vec![
                ("secs".to_owned(), Value::UInt(self.u64()?.into())),
                ("nanos".to_owned(), Value::UInt(self.u32()?.into())),
            ]),
            Leaf::SystemTime => Value::Object(vec![
                (
                    "secs_since_epoch".to_owned(),
                    Value::UInt(self.u64()?.into()),
                ),
                (
                    "nanos_since_epoch".to_owned(),
                    Value::UInt(self.u32()?.into()),
                ),
            ]),
            Leaf::Ipv4Addr => Value::String(self.ipv4()?.to_string()),
            Leaf::Ipv6Addr => Value::String(self.ipv6()?.to_string()),
            Leaf::SocketAddrV4 => Value::String(self.socket_v4()?.to_string()),
            Leaf::SocketAddrV6 => Value::String(self.socket_v6()?.to_string()),
            Leaf::IpAddr => match self.u32()? {
                0 => Value::String(self.ipv4()?.to_string()),
                1 => Value::String(self.ipv6()?.to_string()),
                v => return Err(format!("variant {v} of `IpAddr` does not exist")),
            },
            Leaf::SocketAddr => match self.u32()? {
                0 => Value::String(self.socket_v4()?.to_string()),
                1 => Value::String(self.socket_v6()?.to_string()),
                v => return Err(format!("variant {v} of `SocketAddr` does not exist")),
            },
            Leaf::Uuid => {
                let n = self.u64()?;
                if n != 16 {
                    return Err(format!("a Uuid is {n} bytes long, not 16"));
                }
                let b = self.take(16)?;
                let h = hex(b);
                Value::String(format!(
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                ))
            }
        })
    }

    fn ipv4(&mut self) -> std::result::Result<Ipv4Addr, String> {
        Ok(Ipv4Addr::from(self.array::<4>()?))
    }

    fn ipv6(&mut self) -> std::result::Result<Ipv6Addr, String> {
        Ok(Ipv6Addr::from(self.array::<16>()?))
    }

    fn socket_v4(&mut self) -> std::result::Result<SocketAddrV4, String> {
        Ok(SocketAddrV4::new(self.ipv4()?, self.u16()?))
    }

    fn socket_v6(&mut self) -> std::result::Result<SocketAddrV6, String> {
        Ok(SocketAddrV6::new(self.ipv6()?, self.u16()?, 0, 0))
    }
}

/// A map as a JSON object when its keys can be written as strings (strings, numbers, bools),
/// otherwise as an array of `[key, value]` pairs.
fn map_value(pairs: Vec<(Value, Value)>) -> Value {
    let as_key = |k: &Value| match k {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    if pairs.iter().all(|(k, _)| as_key(k).is_some()) {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (as_key(&k).unwrap_or_default(), v))
                .collect(),
        )
    } else {
        Value::Array(
            pairs
                .into_iter()
                .map(|(k, v)| Value::Array(vec![k, v]))
                .collect(),
        )
    }
}

/// The fewest bytes a value of type `id` encodes to (0 if it can be empty, or for a type that
/// mentions itself, where 0 is always safe: it only bounds how many elements a length may
/// claim).
pub(crate) fn min_size(types: &Types, id: Id, depth: usize) -> u64 {
    if depth > 16 {
        return 0;
    }
    let d = depth + 1;
    let fields = |item: &Item| {
        item.fields
            .iter()
            .map(|(_, f)| min_size(types, *f, d))
            .fold(0u64, u64::saturating_add)
    };
    match types.node(id) {
        Node::Leaf(leaf) => match leaf {
            Leaf::Unit | Leaf::PhantomData => 0,
            Leaf::Bool | Leaf::Char => 1,
            Leaf::Int(i) | Leaf::NonZero(i) => u64::from(i.bytes),
            Leaf::F32 | Leaf::Ipv4Addr => 4,
            Leaf::F64 | Leaf::String | Leaf::PathBuf => 8,
            Leaf::Duration | Leaf::SystemTime => 12,
            Leaf::Ipv6Addr => 16,
            Leaf::SocketAddrV4 => 6,
            Leaf::SocketAddrV6 => 18,
            Leaf::IpAddr => 8,
            Leaf::SocketAddr => 10,
            Leaf::Uuid => 24,
        },
        Node::Seq { .. } | Node::Map { .. } => 8,
        Node::Option(_) => 1,
        Node::Range { item, .. } => min_size(types, *item, d).saturating_mul(2),
        Node::Transparent { inner, .. } => min_size(types, *inner, d),
        Node::Array { item, len } => min_size(types, *item, d).saturating_mul(*len),
        Node::Tuple(items) => items
            .iter()
            .map(|i| min_size(types, *i, d))
            .fold(0, u64::saturating_add),
        Node::Struct(item) => fields(item),
        Node::Enum { variants, .. } => 4 + variants.iter().map(fields).min().unwrap_or(0),
        Node::SelfRef(_) | Node::Opaque { .. } | Node::Unknown(_) => 0,
    }
}
