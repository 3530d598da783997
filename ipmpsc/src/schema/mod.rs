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
//! Types hash alike exactly when a channel treats them as the same field type, that is when
//! the message's borrowed view maps them to the same borrowed type and they encode to the
//! same bytes:
//!
//! * `String`, `str`, `Box<str>` and `&str` are all "a string" (described as `String`);
//! * `Vec<T>`, `[T]`, `Box<[T]>` and `&[T]` are all "a sequence of `T`" (described as
//!   `Vec<T>`), so `Vec<u8>` and `Box<[u8]>`, which a channel encodes as the same bytes and
//!   views as the same `&[u8]`, hash alike;
//! * `Box<T>` and `&T` are transparent: they hash and describe as `T`;
//! * `usize`/`isize` are encoded as 64-bit integers on every platform, so they hash and
//!   describe as `u64`/`i64`.
//!
//! Every other type hashes by its own name: `VecDeque<T>` is not `Vec<T>`, `HashMap` is not
//! `BTreeMap`. serde attributes (`#[serde(rename)]`, `#[serde(skip)]`, …) on nested types
//! are not part of the hash: bump the channel's `version` when you change them.
//! A recursive type (a struct that contains itself through a `Vec` or `Box`) cannot be part
//! of a schema: its hash would be defined in terms of itself, which the compiler rejects as
//! a cycle.

use std::fmt;

mod diagnose;
mod impls;
mod view;

use diagnose::diagnose;

#[doc(hidden)]
pub use view::slice_of_views;
pub use view::SchemaView;

/// A type whose structure can be folded into a channel's schema hash.
///
/// Implemented for the primitive types, `String`/`str`, sequences, `Option`, `Box`,
/// references, arrays, tuples of up to 12 elements and the std maps and sets; derive it for
/// your own types with `#[derive(ipmpsc::Schema)]`.
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
    note = "add `#[derive(ipmpsc::Schema)]` to the definition of `{Self}` (next to its serde \
            `Serialize` and `Deserialize` derives)",
    note = "for a type from another crate, wrap it in a struct of your own that derives \
            `ipmpsc::Schema`"
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
