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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use crate::__private::{fold_u64, type_hash};

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
            let mut end = Self::DESCRIPTION_LIMIT - "\n…".len();
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push_str("\n…");
        }
        out
    }
}

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

// ---------------------------------------------------------------------------------------
// `SchemaType` for std types.

/// Types that hash and describe as a plain name.
macro_rules! leaf {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl SchemaType for $ty {
            const HASH: u64 = type_hash($name, &[]);
            fn describe(out: &mut String) {
                out.push_str($name);
            }
        }
    )*};
}

leaf! {
    bool => "bool", char => "char", () => "()",
    i8 => "i8", i16 => "i16", i32 => "i32", i64 => "i64", i128 => "i128", isize => "i64",
    u8 => "u8", u16 => "u16", u32 => "u32", u64 => "u64", u128 => "u128", usize => "u64",
    f32 => "f32", f64 => "f64",
    String => "String", str => "String",
}

/// Types that hash and describe as `Name<Arg, …>`.
macro_rules! generic {
    ($($name:literal: [$($param:ident $(: ?$sized:ident)?),*] $ty:ty;)*) => {$(
        impl<$($param: SchemaType $(+ ?$sized)?),*> SchemaType for $ty {
            const HASH: u64 = type_hash($name, &[$($param::HASH),*]);
            fn describe(out: &mut String) {
                out.push_str(concat!($name, "<"));
                generic!(@args out $($param)*);
                out.push('>');
            }
        }
    )*};
    (@args $out:ident $first:ident $($rest:ident)*) => {
        $first::describe($out);
        $( $out.push_str(", "); $rest::describe($out); )*
    };
}

generic! {
    "Vec": [T] Vec<T>;
    "Vec": [T] [T];
    "VecDeque": [T] VecDeque<T>;
    "Option": [T] Option<T>;
    "HashSet": [T] HashSet<T>;
    "BTreeSet": [T] BTreeSet<T>;
    "HashMap": [K, V] HashMap<K, V>;
    "BTreeMap": [K, V] BTreeMap<K, V>;
}

impl<T: SchemaType + ?Sized> SchemaType for Box<T> {
    const HASH: u64 = T::HASH;
    fn describe(out: &mut String) {
        T::describe(out)
    }
}

impl<T: SchemaType + ?Sized> SchemaType for &T {
    const HASH: u64 = T::HASH;
    fn describe(out: &mut String) {
        T::describe(out)
    }
}

impl<T: SchemaType, const N: usize> SchemaType for [T; N] {
    const HASH: u64 = fold_u64(type_hash("Array", &[T::HASH]), N as u64);
    fn describe(out: &mut String) {
        out.push('[');
        T::describe(out);
        out.push_str("; ");
        out.push_str(&N.to_string());
        out.push(']');
    }
}

macro_rules! tuple {
    ($($first:ident $($rest:ident)*;)*) => {$(
        impl<$first: SchemaType, $($rest: SchemaType),*> SchemaType for ($first, $($rest,)*) {
            const HASH: u64 = type_hash("Tuple", &[$first::HASH, $($rest::HASH),*]);
            fn describe(out: &mut String) {
                out.push('(');
                $first::describe(out);
                $( out.push_str(", "); $rest::describe(out); )*
                // A 1-tuple keeps its comma, as in Rust.
                let rest: &[&str] = &[$(stringify!($rest)),*];
                if rest.is_empty() {
                    out.push(',');
                }
                out.push(')');
            }
        }
    )*};
}

tuple! {
    A; A B; A B C; A B C D; A B C D E; A B C D E F; A B C D E F G; A B C D E F G H;
    A B C D E F G H I; A B C D E F G H I J; A B C D E F G H I J K; A B C D E F G H I J K L;
}

// ---------------------------------------------------------------------------------------
// Diagnosis: the first difference between two descriptions.

/// Names the first difference between the schema in the file and ours, as a sentence.
fn diagnose(channel: &StoredSchema, ours: &StoredSchema) -> String {
    match (channel.hash, ours.hash) {
        (0, 0) => return "both are raw (untyped) channels".to_owned(),
        (0, _) => {
            return format!(
                "the channel is a raw (untyped) channel: open it with the raw `Sender`/`Receiver`, \
                 or create it as a `{0}` channel with `{0}::create_receiver`",
                ours.name
            )
        }
        (_, 0) => {
            return format!(
                "the channel is typed, it carries `{0}` messages: open it with \
                 `{0}::open_sender`/`{0}::open_receiver` instead of the raw API",
                channel.name
            )
        }
        _ => {}
    }
    if channel.name != ours.name {
        return format!(
            "message type differs: channel carries `{}`, this process has `{}`",
            channel.name, ours.name
        );
    }
    let structural = match (
        parse_description(&channel.description),
        parse_description(&ours.description),
    ) {
        (Some(theirs), Some(mine)) => first_variant_difference(&theirs, &mine),
        _ => None,
    };
    match (channel.version != ours.version, structural) {
        (true, None) => format!(
            "version differs: channel has v{}, this process has v{}",
            channel.version, ours.version
        ),
        (true, Some(structural)) => format!(
            "version differs: channel has v{}, this process has v{}; first change: {structural}",
            channel.version, ours.version
        ),
        (false, Some(structural)) => structural,
        (false, None) => "the descriptions agree but the hashes differ: the two programs were \
                          built with versions of ipmpsc that hash schemas differently, or the \
                          description was too long to store in full"
            .to_owned(),
    }
}

/// A variant line of a description, parsed back.
struct ParsedVariant<'a> {
    /// The whole line, without its indent.
    line: &'a str,
    name: &'a str,
    shape: Shape,
    /// (name or position, type description).
    fields: Vec<(String, &'a str)>,
}

/// Parses the variant lines of [`Schema::description`]'s output; `None` if it is not such
/// an output (or was cut short).
fn parse_description(description: &str) -> Option<Vec<ParsedVariant<'_>>> {
    description.lines().skip(1).map(parse_variant).collect()
}

fn parse_variant(line: &str) -> Option<ParsedVariant<'_>> {
    let line = line.strip_prefix("  ")?;
    let end = line.find([' ', '(']).unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let (shape, fields) = if rest.is_empty() {
        (Shape::Unit, Vec::new())
    } else if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        let fields = split_top_level(inner)
            .into_iter()
            .enumerate()
            .map(|(i, ty)| (i.to_string(), ty))
            .collect();
        (Shape::Tuple, fields)
    } else {
        let inner = rest.strip_prefix(" { ")?.strip_suffix(" }")?;
        let fields = split_top_level(inner)
            .into_iter()
            .map(|field| field.split_once(": ").map(|(n, ty)| (n.to_owned(), ty)))
            .collect::<Option<_>>()?;
        (Shape::Named, fields)
    };
    Some(ParsedVariant {
        line,
        name,
        shape,
        fields,
    })
}

fn variant_name<'v>(variant: &'v ParsedVariant<'_>) -> &'v str {
    variant.name
}

fn field_name<'f>(field: &'f (String, &str)) -> &'f str {
    &field.0
}

/// Splits `a, B<c, d>, (e, f)` at the commas that are not inside brackets.
fn split_top_level(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in list.char_indices() {
        match c {
            '<' | '(' | '[' | '{' => depth += 1,
            '>' | ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !list.trim().is_empty() {
        parts.push(list[start..].trim());
    }
    parts
}

/// What happened to the item at one position of two lists (variants, or fields).
enum Change {
    Added,
    Removed,
    Renamed,
    Reordered,
    Replaced,
}

/// Classifies a difference of names at the same position.
fn classify<T>(
    theirs: &[T],
    mine: &[T],
    i: usize,
    name: fn(&T) -> &str,
    same_content: bool,
) -> Change {
    match (theirs.get(i), mine.get(i)) {
        (Some(_), None) => Change::Removed,
        (None, _) => Change::Added,
        (Some(t), Some(m)) => {
            let t_kept = mine.iter().any(|x| name(x) == name(t));
            let m_existed = theirs.iter().any(|x| name(x) == name(m));
            match (t_kept, m_existed) {
                (true, true) => Change::Reordered,
                (false, true) => Change::Removed,
                (true, false) => Change::Added,
                (false, false) if same_content => Change::Renamed,
                (false, false) => Change::Replaced,
            }
        }
    }
}

fn first_variant_difference(
    theirs: &[ParsedVariant<'_>],
    mine: &[ParsedVariant<'_>],
) -> Option<String> {
    for i in 0..theirs.len().max(mine.len()) {
        let (t, m) = (theirs.get(i), mine.get(i));
        if let (Some(t), Some(m)) = (t, m) {
            if t.name == m.name {
                match first_field_difference(t, m) {
                    Some(d) => return Some(format!("variant `{}`{d}", t.name)),
                    None => continue,
                }
            }
        }
        let same_fields =
            matches!((t, m), (Some(t), Some(m)) if t.shape == m.shape && t.fields == m.fields);
        return Some(match classify(theirs, mine, i, variant_name, same_fields) {
            Change::Removed => format!(
                "variant `{}` removed: the channel has it, this process does not",
                t?.name
            ),
            Change::Added => format!(
                "variant `{}` added: this process has it, the channel does not",
                m?.name
            ),
            Change::Renamed => format!(
                "variant renamed: channel has `{}`, this process has `{}`",
                t?.name, m?.name
            ),
            Change::Reordered => format!(
                "variants reordered: channel has `{}` at position {i}, this process has `{}`",
                t?.name, m?.name
            ),
            Change::Replaced => format!(
                "variant {i} differs: channel has `{}`, this process has `{}`",
                t?.line, m?.line
            ),
        });
    }
    None
}

/// `, field `pixels`: channel has …`, or `None` when the two variants agree.
fn first_field_difference(t: &ParsedVariant<'_>, m: &ParsedVariant<'_>) -> Option<String> {
    if t.shape != m.shape {
        return Some(format!(
            " changed shape: channel has `{}`, this process has `{}`",
            t.line, m.line
        ));
    }
    let label = |name: &str| match t.shape {
        Shape::Named => format!("field `{name}`"),
        _ => format!("field {name}"),
    };
    for i in 0..t.fields.len().max(m.fields.len()) {
        let (tf, mf) = (t.fields.get(i), m.fields.get(i));
        if let (Some(tf), Some(mf)) = (tf, mf) {
            if tf.0 == mf.0 {
                if tf.1 == mf.1 {
                    continue;
                }
                return Some(format!(
                    ", {}: channel has `{}`, this process has `{}`",
                    label(&tf.0),
                    tf.1,
                    mf.1
                ));
            }
        }
        let same_type = matches!((tf, mf), (Some(tf), Some(mf)) if tf.1 == mf.1);
        return Some(
            match classify(&t.fields, &m.fields, i, field_name, same_type) {
                Change::Removed => format!(
                    ", {} removed: the channel has it, this process does not",
                    label(&tf?.0)
                ),
                Change::Added => format!(
                    ", {} added: this process has it, the channel does not",
                    label(&mf?.0)
                ),
                Change::Renamed => format!(
                    ", field renamed: channel has `{}`, this process has `{}`",
                    tf?.0, mf?.0
                ),
                Change::Reordered => format!(
                    ", fields reordered: channel has `{}` at position {i}, this process has `{}`",
                    tf?.0, mf?.0
                ),
                Change::Replaced => format!(
                    ", {} replaced: channel has `{}: {}`, this process has `{}: {}`",
                    label(&tf?.0),
                    tf?.0,
                    tf?.1,
                    mf?.0,
                    mf?.1
                ),
            },
        );
    }
    None
}
