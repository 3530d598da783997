//! Structural schemas of channel messages: the [`SchemaType`] trait, the const hash and the
//! diagnosis of a mismatch between the schema stored in a channel file and the one a process
//! was built with.
//!
//! # The hash
//!
//! Every type that can appear in a message implements [`SchemaType`]: a `const HASH: u64`
//! folded (FNV-1a, at compile time) from the type's *structure* — its name, its shape, its
//! field names and the `HASH` of each field type — and a `describe` that renders the same
//! structure as text. `#[ipmpsc::channel]` folds the enum name, the version and every variant
//! into [`Schema::hash`]; `#[derive(ipmpsc::Schema)]` does the same for a nested struct or enum.
//! Because the hash is built from types and not from spelling, `Vec<u8>`,
//! `std::vec::Vec<u8>` and a type alias of it hash alike, and a change anywhere down the tree
//! changes the channel's hash.
//!
//! # Which types have a schema
//!
//! [`SchemaType`] and [`SchemaView`] are implemented for:
//!
//! * the primitives (`bool`, `char`, the integers, `f32`, `f64`, `()`), `String`, `str`;
//! * `Vec<T>`, `[T]`, `VecDeque<T>`, `Option<T>`, arrays, tuples of up to 12 elements,
//!   `HashMap`, `BTreeMap`, `HashSet`, `BTreeSet`;
//! * `Box<T>`, `Rc<T>`, `Arc<T>` (also of `str` and `[T]`), `Cow<'static, str>`,
//!   `Cow<'static, [T]>`, `Cow<'static, Path>`;
//! * `Duration`, `SystemTime` (from the Unix epoch on: an earlier time is
//!   [`Error::Encode`](crate::Error::Encode)), `IpAddr`, `Ipv4Addr`, `Ipv6Addr`,
//!   `SocketAddr`, `SocketAddrV4`, `SocketAddrV6` (serde leaves out a v6 socket address's
//!   flow info and scope id: they arrive as 0), every `NonZero*` integer, `Range<T>`,
//!   `RangeInclusive<T>`, `Wrapping<T>`, `Reverse<T>`, `PathBuf` and `Box<Path>` (a path that
//!   is not UTF-8 is `Error::Encode`), `PhantomData<T>` (which encodes as nothing);
//! * with the cargo feature `uuid`, `uuid::Uuid`; with `bytes`, `bytes::Bytes` and
//!   `bytes::BytesMut` (features of this crate, off by default; they turn on the other crate's
//!   `serde` feature);
//! * your own structs and enums, with `#[derive(ipmpsc::Schema)]`;
//! * any other type of your own, declared by a name and a version with
//!   [`opaque_schema!`](crate::opaque_schema): a newtype around another crate's type (the
//!   orphan rule keeps you from implementing ipmpsc's traits for that type itself), or a type
//!   with hand-written serde impls. The [`hash`] module has the folds for impls by hand.
//!
//! # Which types hash alike
//!
//! Two types hash alike only if they encode to the same bytes, so a channel never accepts a
//! sender whose messages it would decode wrongly. The converse does not hold: most types hash
//! by their own name, so `VecDeque<T>` is not `Vec<T>`, `HashMap` is not `BTreeMap`,
//! `NonZeroU32` is not `u32` and `Wrapping<T>` is not `T`, although each pair encodes alike.
//! The types that hash alike are the spellings of one wire type, which encode to the same bytes
//! and are viewed as the same borrowed data:
//!
//! * `String`, `str`, `Box<str>`, `Rc<str>`, `Arc<str>`, `Cow<'static, str>` and `&str` are
//!   all "a string" (described as `String`);
//! * `Vec<T>`, `[T]`, `Box<[T]>`, `Rc<[T]>`, `Arc<[T]>`, `Cow<'static, [T]>` and `&[T]` are
//!   all "a sequence of `T`" (described as `Vec<T>`), so `Vec<u8>` and `Box<[u8]>`, which a
//!   channel encodes as the same bytes and views as the same `&[u8]`, hash alike, and so do
//!   `bytes::Bytes` and `bytes::BytesMut`;
//! * `PathBuf`, `Path`, `Box<Path>` and `Cow<'static, Path>` are all "a path" (described as
//!   `PathBuf`; a path encodes as a string, but is a type of its own);
//! * `Box<T>`, `Rc<T>`, `Arc<T>` and `&T` are transparent: they hash and describe as `T`;
//! * `usize`/`isize` are encoded as 64-bit integers on every platform, so they hash and
//!   describe as `u64`/`i64`, and `NonZeroUsize`/`NonZeroIsize` as `NonZeroU64`/`NonZeroI64`;
//! * `PhantomData<T>` hashes alike for every `T` (it encodes as nothing).
//!
//! A type declared with [`opaque_schema!`](crate::opaque_schema) hashes by the name and the
//! version it declares, and never like any type above.
//!
//! serde attributes on nested types are modelled by `#[derive(ipmpsc::Schema)]` as bincode
//! writes them (`#[serde(skip)]` leaves the field out of the hash; `rename`, `alias`,
//! `default` write nothing) and the rest are refused; a record that decodes without reading
//! all its bytes is an error. A type that mentions itself (`Tree { kids: Vec<Tree> }`) hashes
//! that mention as a marker of its name and shallow structure; types that contain each other
//! in a cycle (`A` holds a `B`, which holds an `A`) are a compile-time cycle error.

use std::fmt;

mod declare;
mod diagnose;
#[cfg(any(feature = "uuid", feature = "bytes"))]
mod external;
pub mod hash;
mod impls;
mod std_types;
#[cfg(test)]
mod tests;
mod view;

use diagnose::diagnose;

#[doc(hidden)]
pub use view::slice_of_views;
pub use view::SchemaView;

/// A type whose structure can be folded into a channel's schema hash.
///
/// Implemented for the primitive types, `String`/`str`, sequences, `Option`, the pointers,
/// arrays, tuples of up to 12 elements, the std maps and sets, and more of the standard
/// library (the [module docs](self#which-types-have-a-schema) list them all); derive it for
/// your own types with `#[derive(ipmpsc::Schema)]`, or declare it for a type whose structure
/// ipmpsc cannot see with [`opaque_schema!`](crate::opaque_schema).
///
/// # Examples
///
/// ```
/// use ipmpsc::SchemaType;
///
/// // Spelling does not matter, structure does.
/// type Pixels = std::vec::Vec<u8>;
/// assert_eq!(<Vec<u8> as SchemaType>::HASH, <Pixels as SchemaType>::HASH);
/// assert_ne!(<Vec<u8> as SchemaType>::HASH, <Vec<u16> as SchemaType>::HASH);
///
/// let mut text = String::new();
/// <Option<Vec<String>> as SchemaType>::describe(&mut text);
/// assert_eq!(text, "Option<Vec<String>>");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a channel message: it has no schema",
    label = "`{Self}` does not implement `ipmpsc::SchemaType`",
    note = "for a struct or enum of your own, add `#[derive(ipmpsc::Schema)]` to its \
            definition (next to its serde `Serialize` and `Deserialize` derives)",
    note = "the standard library's types that messages carry have schemas already (see the \
            `ipmpsc::schema` docs), and `uuid::Uuid`, `bytes::Bytes` and `bytes::BytesMut` \
            have them with ipmpsc's cargo features `uuid` and `bytes`",
    note = "for any other type of another crate, wrap it in a newtype of your own with \
            `#[serde(transparent)]` and declare its schema with \
            `ipmpsc::opaque_schema!(MyType, \"my_crate::MyType\", version = 1)`"
)]
pub trait SchemaType {
    /// Structural hash of the type.
    const HASH: u64;
    /// Appends a human-readable description of the type's structure to `out`, e.g.
    /// `Meta { id: u32, tags: Vec<String> }`.
    fn describe(out: &mut String);
}

/// How a variant or a struct holds its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No fields: `Stop`.
    Unit,
    /// Positional fields: `Log(String)`.
    Tuple,
    /// Named fields: `Frame { width: u32 }`.
    Named,
}

impl Shape {
    /// The tag folded into the hash for this shape.
    pub(crate) const fn tag(self) -> u64 {
        match self {
            Shape::Unit => 0,
            Shape::Tuple => 1,
            Shape::Named => 2,
        }
    }
}

/// One field of a variant or struct, as recorded by the macros.
#[derive(Debug, Clone, Copy)]
pub struct FieldSchema {
    /// The field's name, or its position (`"0"`, `"1"`, …) in a tuple variant or struct.
    pub name: &'static str,
    /// `SchemaType::HASH` of the field's type.
    pub hash: u64,
    /// `SchemaType::describe` of the field's type.
    pub describe: fn(&mut String),
}

/// One variant of a message enum (or of a nested enum), as recorded by the macros.
#[derive(Debug, Clone, Copy)]
pub struct VariantSchema {
    /// The variant's name.
    pub name: &'static str,
    /// How the variant holds its fields.
    pub shape: Shape,
    /// Its fields, in declaration order.
    pub fields: &'static [FieldSchema],
}

/// The schema of a channel's message type: written into the channel file's header by the
/// receiver that creates it, and compared by everyone who opens it.
///
/// `#[ipmpsc::channel]` builds it as `<Msg as ipmpsc::Channel>::SCHEMA`.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// Name of the message enum.
    pub name: &'static str,
    /// Version given with `#[ipmpsc::channel(version = N)]`.
    pub version: u32,
    /// Structural hash; 0 means "untyped" (a raw channel) and is never the hash of a message
    /// enum.
    pub hash: u64,
    /// The enum's variants, from which [`Schema::description`] is rendered.
    pub variants: &'static [VariantSchema],
}

impl Schema {
    /// The schema of a raw, untyped channel.
    pub const UNTYPED: Schema = Schema {
        name: "",
        version: 0,
        hash: 0,
        variants: &[],
    };

    /// Longest description, in bytes, that [`Schema::description`] returns; a longer one is
    /// cut short (the hash still covers everything).
    pub const DESCRIPTION_LIMIT: usize = 64 * 1024;

    /// Human-readable description stored in the header: the enum's name and version on the
    /// first line, then one indented line per variant with the full structure of each field
    /// type. Empty for [`Schema::UNTYPED`].
    ///
    /// ```text
    /// Msg v2
    ///   Frame { width: u32, height: u32, pixels: Vec<u8> }
    ///   Log(String)
    ///   Stop
    /// ```
    pub fn description(&self) -> String {
        if self.hash == 0 {
            return String::new();
        }
        let mut out = format!("{} v{}", self.name, self.version);
        for variant in self.variants {
            out.push_str("\n  ");
            out.push_str(variant.name);
            describe_fields(&mut out, variant.shape, variant.fields);
        }
        if out.len() > Self::DESCRIPTION_LIMIT {
            let mut end = Self::DESCRIPTION_LIMIT - CUT_SHORT.len();
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push_str(CUT_SHORT);
        }
        out
    }
}

/// The end of a description that [`Schema::description`] cut short at
/// [`Schema::DESCRIPTION_LIMIT`].
const CUT_SHORT: &str = "\n…";

/// Renders `(A, B)`, ` { a: A, b: B }` or nothing, after a variant or struct name.
pub(crate) fn describe_fields(out: &mut String, shape: Shape, fields: &[FieldSchema]) {
    match shape {
        Shape::Unit => {}
        Shape::Tuple => {
            out.push('(');
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                (field.describe)(out);
            }
            out.push(')');
        }
        Shape::Named => {
            out.push_str(" {");
            for (i, field) in fields.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(field.name);
                out.push_str(": ");
                (field.describe)(out);
            }
            out.push_str(" }");
        }
    }
}

/// The schema as read back from a channel file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchema {
    /// Name of the message enum that created the channel ("" for a raw channel).
    pub name: String,
    /// Its version.
    pub version: u32,
    /// Its structural hash (0 for a raw channel).
    pub hash: u64,
    /// Its description.
    pub description: String,
}

impl From<&Schema> for StoredSchema {
    fn from(schema: &Schema) -> Self {
        StoredSchema {
            name: schema.name.to_owned(),
            version: schema.version,
            hash: schema.hash,
            description: schema.description(),
        }
    }
}

impl fmt::Display for StoredSchema {
    /// `Msg v2 #1f3a…` (all 16 hex digits), or `a raw (untyped) channel`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hash == 0 {
            f.write_str("a raw (untyped) channel")
        } else {
            write!(f, "{} v{} #{:016x}", self.name, self.version, self.hash)
        }
    }
}

/// A channel was opened with a message type other than the one it was created with.
///
/// Its `Display` names both sides and the first difference between them, e.g.
///
/// ```text
/// schema mismatch: channel has Msg v2 #1f3a…, this process has Msg v2 #9c0d…;
/// variant `Frame`, field `pixels`: channel has `Vec<u8>`, this process has `Vec<u16>`
/// ```
#[derive(Debug, Clone)]
pub struct SchemaMismatch {
    channel: StoredSchema,
    ours: StoredSchema,
    difference: String,
}

impl SchemaMismatch {
    /// Builds the diagnosis from what the file holds and what this process expects.
    pub fn new(channel: StoredSchema, ours: &Schema) -> Self {
        let ours = StoredSchema::from(ours);
        let difference = diagnose(&channel, &ours);
        SchemaMismatch {
            channel,
            ours,
            difference,
        }
    }

    /// Builds the diagnosis from what the file holds and a schema read elsewhere: from
    /// another channel's header, or sent by a peer (a bridge importing records checks the
    /// exporting side's schema this way). `ours` takes the place of "this process".
    ///
    /// ```
    /// use ipmpsc::schema::{SchemaMismatch, StoredSchema};
    /// #[ipmpsc::channel]
    /// pub enum Reading { Temp { celsius: f32 } }
    /// mod remote {
    ///     #[ipmpsc::channel]
    ///     pub enum Reading { Temp { celsius: f64 } }
    /// }
    /// let here = StoredSchema::from(&<Reading as ipmpsc::Channel>::SCHEMA);
    /// let there = StoredSchema::from(&<remote::Reading as ipmpsc::Channel>::SCHEMA);
    /// let mismatch = SchemaMismatch::between(here, there);
    /// assert!(mismatch.difference().contains("field `celsius`"), "{mismatch}");
    /// ```
    pub fn between(channel: StoredSchema, ours: StoredSchema) -> Self {
        let difference = diagnose(&channel, &ours);
        SchemaMismatch {
            channel,
            ours,
            difference,
        }
    }

    /// The schema stored in the channel file.
    pub fn channel(&self) -> &StoredSchema {
        &self.channel
    }

    /// The schema this process was built with.
    pub fn ours(&self) -> &StoredSchema {
        &self.ours
    }

    /// The first difference found between the two, as a sentence, e.g. "version differs:
    /// channel has v2, this process has v3".
    pub fn difference(&self) -> &str {
        &self.difference
    }
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "schema mismatch: channel has {}, this process has {}; {}",
            self.channel, self.ours, self.difference
        )
    }
}

impl std::error::Error for SchemaMismatch {}
