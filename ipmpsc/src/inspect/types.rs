//! The schema description stored in a channel file, parsed back into a tree of types (which
//! [`super::verify`] checks against the file's schema hash).
//!
//! # The grammar
//!
//! What [`Schema::description`](crate::Schema::description) and the [`SchemaType::describe`]
//! impls write:
//!
//! ```text
//! description := NAME " v" DIGITS ("\n  " item)*  ["\n…"]      (cut short at the limit)
//! item        := NAME                                          unit variant or struct
//!              | NAME "(" [type (", " type)*] ")"              tuple variant or struct
//!              | NAME " { }" | NAME " { " field (", " field)* " }"
//! field       := NAME ": " type
//! type        := "()" | "(" type ",)" | "(" type (", " type)+ ")"        tuples
//!              | "[" type "; " DIGITS "]"                                 arrays
//!              | "enum " NAME " { }" | "enum " NAME " { " item (", " item)* " }"
//!              | NAME "<" type (", " type)* ">"             Vec, Option, HashMap, Range, …
//!              | item                                       a derived struct, or a leaf
//!              | TEXT " v" DIGITS                           opaque_schema!
//! ```
//!
//! A bare `NAME` is a leaf (`u32`, `String`, `Duration`, …), a derived unit struct, or a
//! derived type's mention of itself (`Tree { kids: Vec<Tree> }`): the enclosing type of that
//! name. A user's type may share its name with a leaf, so both readings are tried, and the one
//! whose hash is the file's wins.
//!
//! [`SchemaType::describe`]: crate::SchemaType::describe

use crate::schema::Shape;

/// How deep types may nest in a description; deeper ones are refused (the text is the file's,
/// and may be nested without end).
const MAX_NESTING: usize = 96;

/// Index of a type in [`Types`].
pub(crate) type Id = usize;

/// The types a description names, as a graph: a derived type's mention of itself points back
/// at it.
#[derive(Debug, Default)]
pub(crate) struct Types {
    nodes: Vec<Node>,
    /// The derived types that mention themselves.
    pub(crate) recursive: Vec<Id>,
    /// The fewest bytes each type encodes to, computed once per description (see
    /// [`Types::min_size`]): computed per value, a wide type inside a sequence of short ones
    /// cost its whole width for every element.
    min_sizes: Vec<u64>,
}

/// Types with a fixed encoding and no parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaf {
    Bool,
    Char,
    Unit,
    Int(Int),
    NonZero(Int),
    F32,
    F64,
    String,
    PathBuf,
    Duration,
    SystemTime,
    IpAddr,
    Ipv4Addr,
    Ipv6Addr,
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    PhantomData,
    Uuid,
}

/// A fixed-width integer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int {
    pub(crate) signed: bool,
    /// Width in bytes: 1, 2, 4, 8 or 16.
    pub(crate) bytes: u8,
}

const fn int(signed: bool, bytes: u8) -> Int {
    Int { signed, bytes }
}

/// The names leaves are described by (`usize` is described as `u64`).
const LEAVES: &[(&str, Leaf)] = &[
    ("bool", Leaf::Bool),
    ("char", Leaf::Char),
    ("()", Leaf::Unit),
    ("i8", Leaf::Int(int(true, 1))),
    ("i16", Leaf::Int(int(true, 2))),
    ("i32", Leaf::Int(int(true, 4))),
    ("i64", Leaf::Int(int(true, 8))),
    ("i128", Leaf::Int(int(true, 16))),
    ("u8", Leaf::Int(int(false, 1))),
    ("u16", Leaf::Int(int(false, 2))),
    ("u32", Leaf::Int(int(false, 4))),
    ("u64", Leaf::Int(int(false, 8))),
    ("u128", Leaf::Int(int(false, 16))),
    ("NonZeroI8", Leaf::NonZero(int(true, 1))),
    ("NonZeroI16", Leaf::NonZero(int(true, 2))),
    ("NonZeroI32", Leaf::NonZero(int(true, 4))),
    ("NonZeroI64", Leaf::NonZero(int(true, 8))),
    ("NonZeroI128", Leaf::NonZero(int(true, 16))),
    ("NonZeroU8", Leaf::NonZero(int(false, 1))),
    ("NonZeroU16", Leaf::NonZero(int(false, 2))),
    ("NonZeroU32", Leaf::NonZero(int(false, 4))),
    ("NonZeroU64", Leaf::NonZero(int(false, 8))),
    ("NonZeroU128", Leaf::NonZero(int(false, 16))),
    ("f32", Leaf::F32),
    ("f64", Leaf::F64),
    ("String", Leaf::String),
    ("PathBuf", Leaf::PathBuf),
    ("Duration", Leaf::Duration),
    ("SystemTime", Leaf::SystemTime),
    ("IpAddr", Leaf::IpAddr),
    ("Ipv4Addr", Leaf::Ipv4Addr),
    ("Ipv6Addr", Leaf::Ipv6Addr),
    ("SocketAddr", Leaf::SocketAddr),
    ("SocketAddrV4", Leaf::SocketAddrV4),
    ("SocketAddrV6", Leaf::SocketAddrV6),
    ("PhantomData", Leaf::PhantomData),
    ("Uuid", Leaf::Uuid),
];

impl Leaf {
    fn named(name: &str) -> Option<Leaf> {
        LEAVES.iter().find(|(n, _)| *n == name).map(|&(_, l)| l)
    }

    pub(crate) fn name(self) -> &'static str {
        LEAVES
            .iter()
            .find(|(_, l)| *l == self)
            .map_or("?", |&(n, _)| n)
    }
}

/// What holds elements one after another behind a length: `Vec`, `VecDeque`, the sets.
const SEQUENCES: &[&str] = &["Vec", "VecDeque", "HashSet", "BTreeSet"];
/// Maps: a length, then keys and values.
const MAPS: &[&str] = &["HashMap", "BTreeMap"];
/// `struct { start: T, end: T }`.
const RANGES: &[&str] = &["Range", "RangeInclusive"];
/// Encoded as the `T` inside.
const TRANSPARENT: &[&str] = &["Wrapping", "Reverse"];

/// One type of the graph.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf(Leaf),
    /// `Vec<T>` and the other [`SEQUENCES`].
    Seq {
        name: &'static str,
        item: Id,
    },
    /// `HashMap<K, V>`, `BTreeMap<K, V>`.
    Map {
        name: &'static str,
        key: Id,
        value: Id,
    },
    Option(Id),
    /// `Range<T>`, `RangeInclusive<T>`.
    Range {
        name: &'static str,
        item: Id,
    },
    /// `Wrapping<T>`, `Reverse<T>`.
    Transparent {
        name: &'static str,
        inner: Id,
    },
    Array {
        item: Id,
        len: u64,
    },
    Tuple(Vec<Id>),
    /// A derived struct.
    Struct(Item),
    /// A derived enum.
    Enum {
        name: String,
        variants: Vec<Item>,
    },
    /// A derived type's mention of itself: the struct or enum it names.
    SelfRef(Id),
    /// A type declared with `opaque_schema!`: nothing says what its bytes are.
    Opaque {
        name: String,
        version: u32,
    },
    /// A type this grammar does not know (a `SchemaType` written by hand).
    Unknown(String),
}

/// A variant, or the body of a derived struct.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) name: String,
    pub(crate) shape: Shape,
    /// Field names (positions for a tuple shape) and types.
    pub(crate) fields: Vec<(String, Id)>,
}

/// The message enum of a channel, parsed from its description.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) variants: Vec<Item>,
    /// The description was cut short: variants after the last ones are unknown.
    pub(crate) cut_short: bool,
    pub(crate) types: Types,
}

impl Types {
    pub(crate) fn node(&self, id: Id) -> &Node {
        &self.nodes[id]
    }

    /// The fewest bytes a value of type `id` encodes to (see [`super::reader::min_size`]).
    pub(crate) fn min_size(&self, id: Id) -> u64 {
        self.min_sizes.get(id).copied().unwrap_or(0)
    }

    /// Fills in [`Types::min_size`] for every type. Each type is costed to 16 levels below
    /// it, so this is linear in the description's length.
    fn compute_min_sizes(&mut self) {
        self.min_sizes = (0..self.nodes.len())
            .map(|id| super::reader::min_size(self, id, 0))
            .collect();
    }

    fn push(&mut self, node: Node) -> Id {
        self.nodes.push(node);
        self.nodes.len() - 1
    }
}

/// How a bare name that is both a leaf's and an enclosing derived type's is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BareNames {
    /// As the enclosing type (a recursive mention).
    Enclosing,
    /// As the leaf.
    Leaf,
}

/// Parses `description`, trying both readings of ambiguous bare names; the first whose hash is
/// `hash` is returned with `true`. If none matches, the first reading that parses, with
/// `false`.
///
/// # Errors
/// Why the description is not one [`Schema::description`](crate::Schema::description) writes.
pub(crate) fn parse(description: &str, hash: u64) -> Result<(Message, bool), String> {
    let verified = |m: &Message| !m.cut_short && m.hash() == hash;
    let enclosing = Parser::new(description, BareNames::Enclosing).message()?;
    let (mut message, verified) = if verified(&enclosing) {
        (enclosing, true)
    } else {
        let leaf = Parser::new(description, BareNames::Leaf).message()?;
        if verified(&leaf) {
            (leaf, true)
        } else {
            (enclosing, false)
        }
    };
    message.types.compute_min_sizes();
    Ok((message, verified))
}

/// A recursive-descent parser over a description.
struct Parser<'a> {
    text: &'a str,
    at: usize,
    bare: BareNames,
    types: Types,
    /// The derived types being parsed, innermost last: `(name, id)`.
    scope: Vec<(String, Id)>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, bare: BareNames) -> Self {
        Parser {
            text,
            at: 0,
            bare,
            types: Types::default(),
            scope: Vec::new(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn error<T>(&self, what: &str) -> Result<T, String> {
        let near: String = self.rest().chars().take(24).collect();
        Err(format!("{what} at byte {} (near `{near}`)", self.at))
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            self.error(&format!("expected `{token}`"))
        }
    }

    /// A run of characters that is no delimiter of the grammar: a name, a path (`a::B`), or
    /// an opaque type's name.
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| " ,;()<>[]{}\n".contains(c))
            .unwrap_or(rest.len());
        self.at += end;
        &rest[..end]
    }

    fn identifier(&mut self) -> Result<&'a str, String> {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 || rest.starts_with(|c: char| c.is_ascii_digit()) {
            return self.error("expected a name");
        }
        self.at += end;
        Ok(&rest[..end])
    }

    fn number(&mut self) -> Result<u64, String> {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        match rest[..end].parse() {
            Ok(n) => {
                self.at += end;
                Ok(n)
            }
            Err(_) => self.error("expected a number"),
        }
    }

    /// ` v7` followed by the end of the type.
    fn opaque_version(&mut self) -> Option<u32> {
        let rest = self.rest().strip_prefix(" v")?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let after = &rest[digits..];
        if digits == 0 || !(after.is_empty() || after.starts_with([',', ')', '>', ';', ' ', '\n']))
        {
            return None;
        }
        let version = rest[..digits].parse().ok()?;
        self.at += 2 + digits;
        Some(version)
    }

    fn message(mut self) -> Result<Message, String> {
        let (body, cut_short) = match self.text.strip_suffix("\n…") {
            // The last whole line before the cut may have been cut itself: it goes too.
            Some(kept) => (kept.rsplit_once('\n').map_or("", |(whole, _)| whole), true),
            None => (self.text, false),
        };
        self.text = body;
        let name = self.identifier()?.to_owned();
        self.expect(" v")?;
        let version = u32::try_from(self.number()?).or_else(|_| self.error("version too large"))?;
        let mut variants = Vec::new();
        while self.eat("\n  ") {
            variants.push(self.item(0)?);
        }
        if !self.rest().is_empty() {
            return self.error("expected a new line of variants or the end");
        }
        Ok(Message {
            name,
            version,
            variants,
            cut_short,
            types: self.types,
        })
    }

    /// A variant, or the body of a struct named `name` (already read when `name` is given).
    fn fields(&mut self, name: String, depth: usize) -> Result<Item, String> {
        let mut fields = Vec::new();
        let shape = if self.eat("(") {
            if !self.eat(")") {
                loop {
                    let ty = self.ty(depth + 1)?;
                    fields.push((fields.len().to_string(), ty));
                    if self.eat(")") {
                        break;
                    }
                    self.expect(", ")?;
                }
            }
            Shape::Tuple
        } else if self.eat(" { }") {
            Shape::Named
        } else if self.eat(" { ") {
            loop {
                let field = self.identifier()?.to_owned();
                self.expect(": ")?;
                let ty = self.ty(depth + 1)?;
                fields.push((field, ty));
                if self.eat(" }") {
                    break;
                }
                self.expect(", ")?;
            }
            Shape::Named
        } else {
            Shape::Unit
        };
        Ok(Item {
            name,
            shape,
            fields,
        })
    }

    fn item(&mut self, depth: usize) -> Result<Item, String> {
        let name = self.identifier()?.to_owned();
        self.fields(name, depth)
    }

    fn ty(&mut self, depth: usize) -> Result<Id, String> {
        if depth > MAX_NESTING {
            return self.error(&format!("types nested deeper than {MAX_NESTING}"));
        }
        if self.eat("(") {
            if self.eat(")") {
                return Ok(self.types.push(Node::Leaf(Leaf::Unit)));
            }
            let mut items = vec![self.ty(depth + 1)?];
            loop {
                if self.eat(",)") || self.eat(")") {
                    break;
                }
                self.expect(", ")?;
                items.push(self.ty(depth + 1)?);
            }
            return Ok(self.types.push(Node::Tuple(items)));
        }
        if self.eat("[") {
            let item = self.ty(depth + 1)?;
            self.expect("; ")?;
            let len = self.number()?;
            self.expect("]")?;
            return Ok(self.types.push(Node::Array { item, len }));
        }
        if self.eat("enum ") {
            let name = self.identifier()?.to_owned();
            let id = self.types.push(Node::Unknown(String::new()));
            self.scope.push((name.clone(), id));
            let mut variants = Vec::new();
            if !self.eat(" { }") {
                self.expect(" { ")?;
                loop {
                    variants.push(self.item(depth + 1)?);
                    if self.eat(" }") {
                        break;
                    }
                    self.expect(", ")?;
                }
            }
            self.scope.pop();
            self.types.nodes[id] = Node::Enum { name, variants };
            return Ok(id);
        }
        let start = self.at;
        let name = self.word();
        if name.is_empty() {
            return self.error("expected a type");
        }
        if self.eat("<") {
            let mut args = vec![self.ty(depth + 1)?];
            while !self.eat(">") {
                self.expect(", ")?;
                args.push(self.ty(depth + 1)?);
            }
            let end = self.at;
            if let Some(version) = self.opaque_version() {
                let name = self.text[start..end].to_owned();
                return Ok(self.types.push(Node::Opaque { name, version }));
            }
            let node = generic(name, &args)
                .unwrap_or_else(|| Node::Unknown(self.text[start..self.at].to_owned()));
            return Ok(self.types.push(node));
        }
        if let Some(version) = self.opaque_version() {
            let name = name.to_owned();
            return Ok(self.types.push(Node::Opaque { name, version }));
        }
        let is_identifier = !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        let has_fields = self.rest().starts_with('(') || self.rest().starts_with(" {");
        if has_fields && is_identifier {
            let id = self.types.push(Node::Unknown(String::new()));
            self.scope.push((name.to_owned(), id));
            let item = self.fields(name.to_owned(), depth);
            self.scope.pop();
            self.types.nodes[id] = Node::Struct(item?);
            return Ok(id);
        }
        let enclosing = self
            .scope
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|&(_, id)| id);
        let leaf = Leaf::named(name).map(Node::Leaf);
        let node = match (self.bare, enclosing, leaf) {
            (BareNames::Enclosing, Some(id), _) | (BareNames::Leaf, Some(id), None) => {
                if !self.types.recursive.contains(&id) {
                    self.types.recursive.push(id);
                }
                Some(Node::SelfRef(id))
            }
            (_, _, leaf) => leaf,
        };
        let node = match node {
            Some(node) => node,
            None if is_identifier => Node::Struct(Item {
                name: name.to_owned(),
                shape: Shape::Unit,
                fields: Vec::new(),
            }),
            None => Node::Unknown(name.to_owned()),
        };
        Ok(self.types.push(node))
    }
}

/// The node of a known generic type, if `name` with `args` is one.
fn generic(name: &str, args: &[Id]) -> Option<Node> {
    let pick = |list: &[&'static str]| list.iter().copied().find(|n| *n == name);
    Some(match args {
        [item] => {
            if let Some(name) = pick(SEQUENCES) {
                Node::Seq { name, item: *item }
            } else if name == "Option" {
                Node::Option(*item)
            } else if let Some(name) = pick(RANGES) {
                Node::Range { name, item: *item }
            } else if let Some(name) = pick(TRANSPARENT) {
                Node::Transparent { name, inner: *item }
            } else {
                return None;
            }
        }
        [key, value] => Node::Map {
            name: pick(MAPS)?,
            key: *key,
            value: *value,
        },
        _ => return None,
    })
}
