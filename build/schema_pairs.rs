//! Generates the definition pairs of `tests/schema_pairs.rs`: random message definitions
//! (variants, fields, field types, a nested derived struct with serde attributes), each
//! paired with a mutation of itself (a field added, removed, retyped, reordered or renamed,
//! an attribute added, a variant added or removed, nothing at all). For each pair it also
//! writes down how bincode lays the two out on the wire, from its own model of the encoding
//! (which knows nothing of the schema hash), so that the test can check that every pair
//! whose wire layouts differ has different hashes.
//!
//! Seeded: `IPMPSC_SCHEMA_PAIRS_SEED=<u64>` and `IPMPSC_SCHEMA_PAIRS=<count>` explore more.

use std::fmt::Write as _;
use std::path::PathBuf;

/// xorshift64*: a small, seedable generator (no dependency for a build script).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Field types: (spelling, wire layout, sample value).
const TYPES: &[(&str, &str, &str)] = &[
    ("u8", "u8", "7"),
    ("u16", "u16", "7"),
    ("u32", "u32", "7"),
    ("u64", "u64", "7"),
    ("i32", "u32", "-7"),
    ("bool", "u8", "true"),
    ("String", "len u8*", "\"text\".to_owned()"),
    ("Box<str>", "len u8*", "\"boxed\".into()"),
    ("Vec<u8>", "len u8*", "vec![1, 2, 3]"),
    ("Vec<u16>", "len u16*", "vec![1, 2]"),
    ("Option<u32>", "tag [u32]", "Some(5)"),
    ("Vec<String>", "len (len u8*)*", "vec![\"a\".to_owned()]"),
    ("(u8, u16)", "u8 u16", "(1, 2)"),
    ("[u8; 2]", "u8 u8", "[1, 2]"),
];

#[derive(Clone)]
struct Field {
    name: String,
    ty: usize,
    /// `None`, or the serde attribute of a field of the nested struct.
    attr: Option<&'static str>,
}

#[derive(Clone)]
enum Shape {
    Unit,
    Tuple,
    Named,
}

#[derive(Clone)]
struct Variant {
    name: String,
    shape: Shape,
    /// Field types index `TYPES`, or `TYPES.len()` for the nested struct.
    fields: Vec<Field>,
}

#[derive(Clone)]
struct Def {
    version: u32,
    variants: Vec<Variant>,
    inner: Vec<Field>,
}

const NESTED: usize = TYPES.len();
const NAMES: &[&str] = &["a", "b", "c", "d", "e", "f"];
const VARIANTS: &[&str] = &["Alpha", "Beta", "Gamma", "Delta", "Omega"];
/// serde attributes of nested fields (`{}`: the field's name, so renames stay distinct).
const ATTRS: &[&str] = &[
    "rename = \"renamed_{}\"",
    "alias = \"alias_{}\"",
    "skip",
    "default",
];

fn field(rng: &mut Rng, name: &str, nested_ok: bool) -> Field {
    let ty = if nested_ok && rng.chance(20) {
        NESTED
    } else {
        rng.below(TYPES.len())
    };
    Field {
        name: name.to_owned(),
        ty,
        attr: None,
    }
}

fn variant(rng: &mut Rng, name: &str) -> Variant {
    let shape = match rng.below(3) {
        0 => Shape::Unit,
        1 => Shape::Tuple,
        _ => Shape::Named,
    };
    let count = if matches!(shape, Shape::Unit) {
        0
    } else {
        1 + rng.below(3)
    };
    let fields = (0..count).map(|i| field(rng, NAMES[i], true)).collect();
    Variant {
        name: name.to_owned(),
        shape,
        fields,
    }
}

fn definition(rng: &mut Rng) -> Def {
    let count = 1 + rng.below(3);
    let variants = (0..count).map(|i| variant(rng, VARIANTS[i])).collect();
    let inner = (0..1 + rng.below(3))
        .map(|i| {
            let mut f = field(rng, NAMES[i], false);
            if rng.chance(30) {
                f.attr = Some(ATTRS[rng.below(ATTRS.len())]);
            }
            f
        })
        .collect();
    Def {
        version: 1,
        variants,
        inner,
    }
}

/// The first of `names` not among `taken`.
fn unused<'t>(
    names: &[&'static str],
    taken: impl Iterator<Item = &'t str> + Clone,
) -> &'static str {
    names
        .iter()
        .find(|n| !taken.clone().any(|t| t == **n))
        .expect("a free name")
}

/// A changed copy of `def`, and what changed.
fn mutate(rng: &mut Rng, def: &Def) -> (Def, String) {
    let mut d = def.clone();
    let v = rng.below(d.variants.len());
    let what = match rng.below(13) {
        0 => "nothing".to_owned(),
        1 if d.variants[v].fields.len() < NAMES.len() - 1 => {
            let name = unused(NAMES, d.variants[v].fields.iter().map(|f| f.name.as_str()));
            if matches!(d.variants[v].shape, Shape::Unit) {
                d.variants[v].shape = Shape::Tuple;
            }
            let f = field(rng, name, true);
            d.variants[v].fields.push(f);
            format!("field added to {}", d.variants[v].name)
        }
        2 if !d.variants[v].fields.is_empty() => {
            let i = rng.below(d.variants[v].fields.len());
            d.variants[v].fields.remove(i);
            format!("field {i} removed from {}", d.variants[v].name)
        }
        3 if !d.variants[v].fields.is_empty() => {
            let i = rng.below(d.variants[v].fields.len());
            d.variants[v].fields[i].ty = rng.below(TYPES.len());
            format!("field {i} of {} retyped", d.variants[v].name)
        }
        4 if d.variants[v].fields.len() > 1 => {
            d.variants[v].fields.swap(0, 1);
            format!("fields of {} reordered", d.variants[v].name)
        }
        5 if !d.variants[v].fields.is_empty() => {
            d.variants[v].fields[0].name = "renamed".to_owned();
            format!("field of {} renamed", d.variants[v].name)
        }
        6 if d.variants.len() < VARIANTS.len() => {
            let name = unused(VARIANTS, d.variants.iter().map(|v| v.name.as_str()));
            let new = variant(rng, name);
            d.variants.push(new);
            "variant added".to_owned()
        }
        7 if d.variants.len() > 1 => {
            d.variants.remove(v);
            "variant removed".to_owned()
        }
        8 if d.variants.len() > 1 => {
            d.variants.swap(0, 1);
            "variants reordered".to_owned()
        }
        9 => {
            let i = rng.below(d.inner.len());
            d.inner[i].attr = Some(ATTRS[rng.below(ATTRS.len())]);
            format!("attribute on nested field {i} changed")
        }
        10 => {
            let i = rng.below(d.inner.len());
            d.inner[i].ty = rng.below(TYPES.len());
            format!("nested field {i} retyped")
        }
        11 if d.inner.len() > 1 => {
            let i = rng.below(d.inner.len());
            d.inner.remove(i);
            format!("nested field {i} removed")
        }
        12 => {
            let i = rng.below(d.inner.len());
            d.inner[i].attr = None;
            format!("attribute on nested field {i} removed")
        }
        _ => {
            d.version += 1;
            "version bumped".to_owned()
        }
    };
    // A variant with fields cannot stay a unit variant.
    for v in &mut d.variants {
        if v.fields.is_empty() && matches!(v.shape, Shape::Tuple) && rng.chance(50) {
            v.shape = Shape::Unit;
        }
    }
    (d, what)
}

/// The bytes bincode writes, as a layout: variant count, then per variant its index and
/// the fields' layouts in order (structs and tuples add nothing; a skipped field is absent).
fn wire(def: &Def) -> String {
    let inner: Vec<&str> = def
        .inner
        .iter()
        .filter(|f| f.attr != Some("skip"))
        .map(|f| TYPES[f.ty].1)
        .collect();
    let inner = inner.join(" ");
    let mut out = format!("{} variants", def.variants.len());
    for (i, v) in def.variants.iter().enumerate() {
        write!(out, " | {i}:").unwrap();
        for f in &v.fields {
            let layout = if f.ty == NESTED {
                inner.as_str()
            } else {
                TYPES[f.ty].1
            };
            write!(out, " {layout}").unwrap();
        }
    }
    out
}

fn ty(f: &Field) -> &'static str {
    if f.ty == NESTED {
        "Inner"
    } else {
        TYPES[f.ty].0
    }
}

fn sample(f: &Field) -> String {
    if f.ty == NESTED {
        "Inner::sample()".to_owned()
    } else {
        TYPES[f.ty].2.to_owned()
    }
}

/// `mod <name> { Inner, Msg, samples() }`.
fn module(name: &str, def: &Def) -> String {
    let mut s = format!(
        "pub mod {name} {{\n    #![allow(dead_code)]\n    use serde::{{Deserialize, Serialize}};\n"
    );
    s.push_str("    #[derive(Debug, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]\n    pub struct Inner {\n");
    for f in &def.inner {
        if let Some(attr) = f.attr {
            let attr = attr.replace("{}", &f.name);
            writeln!(s, "        #[serde({attr})]").unwrap();
        }
        writeln!(s, "        pub {}: {},", f.name, ty(f)).unwrap();
    }
    s.push_str("    }\n    impl Inner {\n        pub fn sample() -> Self {\n            Inner {");
    for f in &def.inner {
        write!(s, " {}: {},", f.name, sample(f)).unwrap();
    }
    s.push_str(" }\n        }\n    }\n");
    writeln!(s, "    #[ipmpsc::channel(version = {})]\n    #[derive(Debug, PartialEq)]\n    pub enum Msg {{", def.version).unwrap();
    for v in &def.variants {
        match v.shape {
            Shape::Unit if v.fields.is_empty() => writeln!(s, "        {},", v.name).unwrap(),
            Shape::Named => {
                let fields: Vec<String> = v
                    .fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name, ty(f)))
                    .collect();
                writeln!(s, "        {} {{ {} }},", v.name, fields.join(", ")).unwrap();
            }
            _ => {
                let fields: Vec<&str> = v.fields.iter().map(ty).collect();
                writeln!(s, "        {}({}),", v.name, fields.join(", ")).unwrap();
            }
        }
    }
    s.push_str("    }\n    pub fn samples() -> Vec<Msg> {\n        vec![\n");
    for v in &def.variants {
        match v.shape {
            Shape::Unit if v.fields.is_empty() => {
                writeln!(s, "            Msg::{},", v.name).unwrap()
            }
            Shape::Named => {
                let fields: Vec<String> = v
                    .fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name, sample(f)))
                    .collect();
                writeln!(
                    s,
                    "            Msg::{} {{ {} }},",
                    v.name,
                    fields.join(", ")
                )
                .unwrap();
            }
            _ => {
                let fields: Vec<String> = v.fields.iter().map(sample).collect();
                writeln!(s, "            Msg::{}({}),", v.name, fields.join(", ")).unwrap();
            }
        }
    }
    s.push_str("        ]\n    }\n}\n");
    s
}

fn main() {
    println!("cargo:rerun-if-changed=build/schema_pairs.rs");
    println!("cargo:rerun-if-env-changed=IPMPSC_SCHEMA_PAIRS_SEED");
    println!("cargo:rerun-if-env-changed=IPMPSC_SCHEMA_PAIRS");
    let seed: u64 = std::env::var("IPMPSC_SCHEMA_PAIRS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x1f3a_9c0d_5eed_0001);
    let count: usize = std::env::var("IPMPSC_SCHEMA_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let mut rng = Rng(seed | 1);
    let mut out = format!("// Generated by build/schema_pairs.rs, seed {seed}.\n");
    let mut table = String::new();
    for i in 0..count {
        let a = definition(&mut rng);
        let (b, what) = mutate(&mut rng, &a);
        writeln!(
            out,
            "pub mod pair{i} {{\n{}{}}}",
            module("a", &a),
            module("b", &b)
        )
        .unwrap();
        writeln!(
            table,
            "    Pair {{ index: {i}, change: {what:?}, wire_a: {:?}, wire_b: {:?}, hash_a: pair{i}::a::Msg::SCHEMA_HASH, hash_b: pair{i}::b::Msg::SCHEMA_HASH, a_to_b: pair{i}::a_to_b, b_to_a: pair{i}::b_to_a }},",
            wire(&a),
            wire(&b)
        )
        .unwrap();
        // Round trips through real channels, for the pairs that share a hash.
        out = out.replacen(
            &format!("pub mod pair{i} {{\n"),
            &format!(
                "pub mod pair{i} {{\n    pub fn a_to_b(path: &str) -> Result<usize, String> {{ crate::trip::<a::Msg, b::Msg>(path, a::samples()) }}\n    pub fn b_to_a(path: &str) -> Result<usize, String> {{ crate::trip::<b::Msg, a::Msg>(path, b::samples()) }}\n"
            ),
            1,
        );
    }
    writeln!(out, "pub const PAIRS: &[Pair] = &[\n{table}];").unwrap();
    let path = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("schema_pairs.rs");
    std::fs::write(path, out).unwrap();
}
