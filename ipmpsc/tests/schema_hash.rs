//! The schema hash and the mismatch diagnosis, as specified in DESIGN.md ("The schema hash"):
//! structure changes the hash, spelling does not, and a mismatch names its first difference.

// Most types here exist only for their schemas.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use ipmpsc::schema::StoredSchema;
use ipmpsc::{Channel, Schema, SchemaMismatch, SchemaType};

fn hash<T: SchemaType + ?Sized>() -> u64 {
    T::HASH
}

fn describe<T: SchemaType + ?Sized>() -> String {
    let mut out = String::new();
    T::describe(&mut out);
    out
}

/// The hash of `enum Msg { $($body)* }` declared as a channel in its own module, so that
/// every case can use the same enum name.
macro_rules! channel_hash {
    ($(#[$attr:meta])* { $($body:tt)* }) => {{
        #[allow(dead_code)]
        mod m {
            #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
            pub struct Meta { pub id: u32, pub tags: Vec<String> }
            pub type Bytes = std::vec::Vec<u8>;
            #[ipmpsc::channel $(($attr))*]
            pub enum Msg { $($body)* }
        }
        m::Msg::SCHEMA_HASH
    }};
}

fn base() -> u64 {
    channel_hash!({ Frame { width: u32, pixels: Vec<u8> }, Log(String), Stop })
}

#[test]
fn spelling_does_not_change_the_hash() {
    assert_eq!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: std::vec::Vec<u8> }, Log(std::string::String), Stop })
    );
    assert_eq!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: Bytes }, Log(String), Stop })
    );
    assert_eq!(
        base(),
        channel_hash!(#[version = 1] { Frame { width: u32, pixels: Vec<u8> }, Log(String), Stop })
    );
    assert_eq!(hash::<Vec<u8>>(), hash::<std::vec::Vec<u8>>());
}

#[test]
fn renaming_a_variant_or_a_field_changes_the_hash() {
    assert_ne!(
        base(),
        channel_hash!({ Image { width: u32, pixels: Vec<u8> }, Log(String), Stop })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { w: u32, pixels: Vec<u8> }, Log(String), Stop })
    );
}

#[test]
fn reordering_variants_or_fields_changes_the_hash() {
    assert_ne!(
        base(),
        channel_hash!({ Log(String), Frame { width: u32, pixels: Vec<u8> }, Stop })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { pixels: Vec<u8>, width: u32 }, Log(String), Stop })
    );
}

#[test]
fn adding_or_removing_a_variant_or_field_changes_the_hash() {
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: Vec<u8> }, Log(String) })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: Vec<u8> }, Log(String), Stop, Go })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Stop })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: Vec<u8> }, Log(String, u8), Stop })
    );
}

#[test]
fn changing_a_field_type_or_shape_changes_the_hash() {
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u64, pixels: Vec<u8> }, Log(String), Stop })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: Vec<u16> }, Log(String), Stop })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: Vec<u8> }, Log { text: String }, Stop })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame(u32, Vec<u8>), Log(String), Stop })
    );
    assert_ne!(
        base(),
        channel_hash!({ Frame { width: u32, pixels: Vec<u8> }, Log(String), Stop() })
    );
}

#[test]
fn changing_the_version_changes_the_hash() {
    assert_ne!(
        base(),
        channel_hash!(#[version = 2] { Frame { width: u32, pixels: Vec<u8> }, Log(String), Stop })
    );
}

#[test]
fn a_change_deep_inside_a_nested_type_changes_the_hash() {
    mod a {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            pub ids: Vec<Option<u32>>,
        }
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Meta(pub Inner);
    }
    mod b {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            pub ids: Vec<Option<u64>>,
        }
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Meta(pub Inner);
    }
    mod c {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            pub ids: Vec<Option<u32>>,
        }
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Meta(pub Inner);
    }
    assert_ne!(hash::<a::Meta>(), hash::<b::Meta>());
    assert_eq!(hash::<a::Meta>(), hash::<c::Meta>());
    assert_ne!(hash::<Vec<a::Meta>>(), hash::<Vec<b::Meta>>());
}

#[test]
fn derived_types_hash_their_name_shape_and_fields() {
    mod a {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Point {
            pub x: i32,
            pub y: i32,
        }
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub enum Kind {
            A,
            B(u32),
            C { x: u8 },
        }
    }
    mod renamed_type {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Spot {
            pub x: i32,
            pub y: i32,
        }
    }
    mod tuple {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Point(pub i32, pub i32);
    }
    mod renamed_field {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Point {
            pub x: i32,
            pub z: i32,
        }
    }
    mod enum_changed {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub enum Kind {
            A,
            B(u64),
            C { x: u8 },
        }
    }
    let point = hash::<a::Point>();
    assert_ne!(point, hash::<renamed_type::Spot>());
    assert_ne!(point, hash::<tuple::Point>());
    assert_ne!(point, hash::<renamed_field::Point>());
    assert_ne!(point, hash::<(i32, i32)>());
    assert_ne!(hash::<a::Kind>(), hash::<enum_changed::Kind>());
    assert_eq!(describe::<a::Point>(), "Point { x: i32, y: i32 }");
    assert_eq!(describe::<tuple::Point>(), "Point(i32, i32)");
    assert_eq!(
        describe::<a::Kind>(),
        "enum Kind { A, B(u32), C { x: u8 } }"
    );
}

#[test]
fn generic_derived_types_fold_their_arguments() {
    #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    struct Tagged<T> {
        tag: String,
        value: T,
    }
    #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    struct Unit;
    assert_ne!(hash::<Tagged<u8>>(), hash::<Tagged<u16>>());
    assert_eq!(
        describe::<Tagged<Vec<u8>>>(),
        "Tagged { tag: String, value: Vec<u8> }"
    );
    assert_eq!(describe::<Unit>(), "Unit");
}

#[test]
fn types_a_channel_treats_alike_hash_alike() {
    // Viewed as the same `&[u8]`, encoded as the same bytes.
    assert_eq!(hash::<Vec<u8>>(), hash::<Box<[u8]>>());
    assert_eq!(hash::<Vec<u8>>(), hash::<&[u8]>());
    assert_eq!(hash::<String>(), hash::<Box<str>>());
    assert_eq!(hash::<String>(), hash::<&str>());
    assert_eq!(hash::<Box<u32>>(), hash::<u32>());
    // Encoded as 64-bit integers everywhere.
    assert_eq!(hash::<usize>(), hash::<u64>());
    assert_eq!(hash::<isize>(), hash::<i64>());
    assert_eq!(describe::<Box<[u8]>>(), "Vec<u8>");
}

#[test]
fn distinct_std_types_hash_apart() {
    let hashes = [
        hash::<bool>(),
        hash::<char>(),
        hash::<()>(),
        hash::<i8>(),
        hash::<i16>(),
        hash::<i32>(),
        hash::<i64>(),
        hash::<i128>(),
        hash::<u8>(),
        hash::<u16>(),
        hash::<u32>(),
        hash::<u64>(),
        hash::<u128>(),
        hash::<f32>(),
        hash::<f64>(),
        hash::<String>(),
        hash::<Vec<u8>>(),
        hash::<VecDeque<u8>>(),
        hash::<Option<u8>>(),
        hash::<[u8; 4]>(),
        hash::<[u8; 5]>(),
        hash::<(u8,)>(),
        hash::<(u8, u8)>(),
        hash::<(u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8)>(),
        hash::<HashSet<u8>>(),
        hash::<BTreeSet<u8>>(),
        hash::<HashMap<u8, u8>>(),
        hash::<BTreeMap<u8, u8>>(),
        hash::<HashMap<u8, u16>>(),
        hash::<Option<Option<u8>>>(),
        hash::<Vec<Vec<u8>>>(),
    ];
    let distinct: HashSet<u64> = hashes.iter().copied().collect();
    assert_eq!(distinct.len(), hashes.len());
}

#[test]
fn std_types_describe_as_rust_spells_them() {
    assert_eq!(describe::<Option<Vec<String>>>(), "Option<Vec<String>>");
    assert_eq!(
        describe::<HashMap<String, Vec<u8>>>(),
        "HashMap<String, Vec<u8>>"
    );
    assert_eq!(describe::<[u16; 4]>(), "[u16; 4]");
    assert_eq!(describe::<(u8,)>(), "(u8,)");
    assert_eq!(describe::<(u8, bool, char)>(), "(u8, bool, char)");
    assert_eq!(describe::<usize>(), "u64");
}

#[test]
fn a_channel_hash_is_never_zero() {
    assert_eq!(
        ipmpsc::__private::nonzero(0),
        ipmpsc::__private::nonzero(0xcbf2_9ce4_8422_2325)
    );
    assert_ne!(ipmpsc::__private::nonzero(0), 0);
    assert_eq!(ipmpsc::__private::nonzero(42), 42);
    assert_ne!(base(), 0);
    assert_eq!(Schema::UNTYPED.hash, 0);
}

#[test]
fn hashes_are_usable_in_const_contexts() {
    #[ipmpsc::channel(version = 7)]
    enum Msg {
        Ping(u64),
    }
    const HASH: u64 = Msg::SCHEMA_HASH;
    const VERSION: u32 = Msg::SCHEMA_VERSION;
    const SCHEMA: Schema = <Msg as Channel>::SCHEMA;
    assert_eq!(HASH, SCHEMA.hash);
    assert_eq!(VERSION, 7);
    assert_eq!(SCHEMA.version, 7);
    assert_eq!(SCHEMA.name, "Msg");
}

// ---------------------------------------------------------------------------------------
// Description and diagnosis.

mod v2 {
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Meta {
        pub id: u32,
        pub tags: Vec<String>,
    }
    #[ipmpsc::channel(version = 2)]
    pub enum Msg {
        Frame {
            width: u32,
            height: u32,
            pixels: Vec<u8>,
        },
        Log(String),
        Tagged(Meta),
        Stop,
    }
}

fn stored(schema: &Schema) -> StoredSchema {
    StoredSchema::from(schema)
}

/// The diagnosis of opening a channel made by `v2::Msg` with `schema`.
fn against_v2(schema: &Schema) -> SchemaMismatch {
    SchemaMismatch::new(stored(&<v2::Msg as Channel>::SCHEMA), schema)
}

#[test]
fn the_description_renders_every_variant_and_nested_type() {
    assert_eq!(
        <v2::Msg as Channel>::SCHEMA.description(),
        "Msg v2\n  Frame { width: u32, height: u32, pixels: Vec<u8> }\n  Log(String)\n  \
         Tagged(Meta { id: u32, tags: Vec<String> })\n  Stop"
    );
    assert_eq!(Schema::UNTYPED.description(), "");
}

macro_rules! v2_variant {
    ($version:literal, $($body:tt)*) => {{
        #[allow(dead_code)]
        mod m {
            #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
            pub struct Meta { pub id: u32, pub tags: Vec<String> }
            #[ipmpsc::channel(version = $version)]
            pub enum Msg { $($body)* }
        }
        <m::Msg as ipmpsc::Channel>::SCHEMA
    }};
}

#[test]
fn a_retyped_field_is_named_with_both_types() {
    let ours = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u16> }, Log(String), Tagged(Meta), Stop);
    let mismatch = against_v2(&ours);
    assert_eq!(
        mismatch.difference(),
        "variant `Frame`, field `pixels`: channel has `Vec<u8>`, this process has `Vec<u16>`"
    );
    let text = mismatch.to_string();
    assert!(
        text.starts_with("schema mismatch: channel has Msg v2 #"),
        "{text}"
    );
    assert!(
        text.contains(&format!("#{:016x}", v2::Msg::SCHEMA_HASH)),
        "{text}"
    );
    assert!(
        text.contains(&format!("this process has Msg v2 #{:016x}", ours.hash)),
        "{text}"
    );
    assert!(text.ends_with(mismatch.difference()), "{text}");
    assert_eq!(mismatch.channel().hash, v2::Msg::SCHEMA_HASH);
    assert_eq!(mismatch.ours().hash, ours.hash);
}

#[test]
fn a_retyped_field_of_a_nested_struct_is_named() {
    mod m {
        #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Meta {
            pub id: u64,
            pub tags: Vec<String>,
        }
        #[ipmpsc::channel(version = 2)]
        pub enum Msg {
            Frame {
                width: u32,
                height: u32,
                pixels: Vec<u8>,
            },
            Log(String),
            Tagged(Meta),
            Stop,
        }
    }
    assert_eq!(
        against_v2(&<m::Msg as Channel>::SCHEMA).difference(),
        "variant `Tagged`, field 0: `Meta`'s field `id`: channel has `u32`, this process has `u64`"
    );
}

#[test]
fn a_version_change_is_named_first() {
    let ours = v2_variant!(3, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop);
    let mismatch = against_v2(&ours);
    assert_eq!(
        mismatch.difference(),
        "version differs: channel has v2, this process has v3"
    );
    assert!(mismatch.to_string().contains("channel has Msg v2 #"));
    assert!(mismatch.to_string().contains("this process has Msg v3 #"));
    let changed = v2_variant!(3, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta));
    assert_eq!(
        against_v2(&changed).difference(),
        "version differs: channel has v2, this process has v3; first change: variant `Stop` \
         removed: the channel has it, this process does not"
    );
}

#[test]
fn added_removed_renamed_and_reordered_variants_are_told_apart() {
    let added = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Ping, Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&added).difference(),
        "variant `Ping` added: this process has it, the channel does not"
    );
    let appended = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop, Ping);
    assert_eq!(
        against_v2(&appended).difference(),
        "variant `Ping` added: this process has it, the channel does not"
    );
    let removed =
        v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&removed).difference(),
        "variant `Log` removed: the channel has it, this process does not"
    );
    let renamed = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Text(String), Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&renamed).difference(),
        "variant renamed: channel has `Log`, this process has `Text`"
    );
    let reordered = v2_variant!(2, Log(String), Frame { width: u32, height: u32, pixels: Vec<u8> }, Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&reordered).difference(),
        "variants reordered: channel has `Frame` at position 0, this process has `Log`"
    );
    let replaced = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Text(u8), Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&replaced).difference(),
        "variant 1 differs: channel has `Log(String)`, this process has `Text(u8)`"
    );
}

#[test]
fn added_removed_renamed_and_reshaped_fields_are_told_apart() {
    let added = v2_variant!(2, Frame { width: u32, height: u32, depth: u8, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&added).difference(),
        "variant `Frame`, field `depth` added: this process has it, the channel does not"
    );
    let removed =
        v2_variant!(2, Frame { width: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&removed).difference(),
        "variant `Frame`, field `height` removed: the channel has it, this process does not"
    );
    let renamed = v2_variant!(2, Frame { width: u32, rows: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&renamed).difference(),
        "variant `Frame`, field renamed: channel has `height`, this process has `rows`"
    );
    let extra_tuple_field = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String, u8), Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&extra_tuple_field).difference(),
        "variant `Log`, field 1 added: this process has it, the channel does not"
    );
    let reshaped = v2_variant!(2, Frame(u32, u32, Vec<u8>), Log(String), Tagged(Meta), Stop);
    assert_eq!(
        against_v2(&reshaped).difference(),
        "variant `Frame` changed shape: channel has `Frame { width: u32, height: u32, pixels: \
         Vec<u8> }`, this process has `Frame(u32, u32, Vec<u8>)`"
    );
}

#[test]
fn another_message_type_is_named() {
    #[ipmpsc::channel(version = 2)]
    enum Command {
        Stop,
    }
    let mismatch = against_v2(&<Command as Channel>::SCHEMA);
    assert_eq!(
        mismatch.difference(),
        "message type differs: channel carries `Msg`, this process has `Command`"
    );
}

#[test]
fn a_raw_channel_on_either_side_is_said_to_be_raw() {
    let typed_opens_raw =
        SchemaMismatch::new(stored(&Schema::UNTYPED), &<v2::Msg as Channel>::SCHEMA);
    let text = typed_opens_raw.to_string();
    assert!(
        text.starts_with(
            "schema mismatch: channel has a raw (untyped) channel, this process has Msg v2 #"
        ),
        "{text}"
    );
    assert!(typed_opens_raw
        .difference()
        .starts_with("the channel is a raw (untyped) channel"));
    assert!(typed_opens_raw
        .difference()
        .contains("`Msg::create_receiver`"));

    let raw_opens_typed = against_v2(&Schema::UNTYPED);
    let text = raw_opens_typed.to_string();
    assert!(
        text.contains("this process has a raw (untyped) channel"),
        "{text}"
    );
    assert!(
        raw_opens_typed.difference().contains("`Msg::open_sender`"),
        "{text}"
    );
}

#[test]
fn a_description_that_cannot_be_parsed_still_gives_a_sentence() {
    let mut channel = stored(&<v2::Msg as Channel>::SCHEMA);
    channel.hash ^= 1;
    channel.description = "Msg v2\ngarbage".to_owned();
    let mismatch = SchemaMismatch::new(channel, &<v2::Msg as Channel>::SCHEMA);
    assert!(
        mismatch
            .difference()
            .starts_with("the hashes differ, and the channel's description cannot be compared"),
        "{}",
        mismatch.difference()
    );
}

#[test]
fn a_description_is_capped_at_the_header_limit() {
    fn long(out: &mut String) {
        out.push_str(&"x".repeat(Schema::DESCRIPTION_LIMIT));
    }
    static FIELDS: [ipmpsc::schema::FieldSchema; 1] = [ipmpsc::schema::FieldSchema {
        name: "0",
        hash: 1,
        describe: long,
    }];
    static VARIANTS: [ipmpsc::schema::VariantSchema; 1] = [ipmpsc::schema::VariantSchema {
        name: "Huge",
        shape: ipmpsc::schema::Shape::Tuple,
        fields: &FIELDS,
    }];
    let schema = Schema {
        name: "Msg",
        version: 1,
        hash: 1,
        variants: &VARIANTS,
    };
    let description = schema.description();
    assert!(description.len() <= Schema::DESCRIPTION_LIMIT);
    assert!(description.ends_with('…'));
}

#[test]
fn a_derived_type_hashes_its_cfg_attr_serde_attributes_as_this_build_resolves_them() {
    mod applied {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            #[cfg_attr(all(), serde(skip))]
            pub x: u32,
            pub y: u32,
        }
    }
    mod not_applied {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            #[cfg_attr(any(), serde(skip))]
            pub x: u32,
            pub y: u32,
        }
    }
    mod with_x {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            pub x: u32,
            pub y: u32,
        }
    }
    mod without_x {
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            pub y: u32,
        }
    }
    assert_eq!(hash::<applied::Inner>(), hash::<without_x::Inner>());
    assert_eq!(hash::<not_applied::Inner>(), hash::<with_x::Inner>());
    assert_ne!(hash::<applied::Inner>(), hash::<not_applied::Inner>());
}

#[test]
fn a_recursive_mention_hashes_the_structure_it_stands_for_not_only_its_name() {
    // Both outer types are called `Tree` with a field `kids` of a type also called `Tree`;
    // in one the inner `Tree` is generic over the outer, in the other it contains itself.
    // A mention hashed by name alone gave both the same hash, and their bytes differ.
    mod generic_inner {
        pub mod x {
            #[derive(
                Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema,
            )]
            pub struct Tree<T> {
                pub items: Vec<T>,
            }
        }
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Tree {
            pub a: u8,
            pub kids: x::Tree<Tree>,
        }
    }
    mod recursive_inner {
        pub mod x {
            #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
            pub struct Tree {
                pub items: Vec<Tree>,
            }
        }
        #[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Tree {
            pub a: u8,
            pub kids: x::Tree,
        }
    }
    assert_ne!(
        hash::<generic_inner::Tree>(),
        hash::<recursive_inner::Tree>()
    );
}
fn empty_braces_and_parentheses_are_compared_not_given_up_on() {
    // `Stop {}` renders as `Stop { }`; before, that line made the whole description
    // unparseable and the difference was blamed on ipmpsc versions.
    let braced = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop {});
    assert!(braced.description().ends_with("\n  Stop { }"));
    assert_eq!(
        against_v2(&braced).difference(),
        "variant `Stop` changed shape: channel has `Stop`, this process has `Stop { }`"
    );
    let parenthesised = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop());
    assert_eq!(
        against_v2(&parenthesised).difference(),
        "variant `Stop` changed shape: channel has `Stop`, this process has `Stop()`"
    );
    // An empty variant elsewhere does not hide a real difference further on.
    let channel = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop {}, Reset());
    let ours = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u16> }, Log(String), Tagged(Meta), Stop {}, Reset());
    assert_eq!(
        SchemaMismatch::new(stored(&channel), &ours).difference(),
        "variant `Frame`, field `pixels`: channel has `Vec<u8>`, this process has `Vec<u16>`"
    );
    let ours = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop {}, Reset(), Go {});
    assert_eq!(
        SchemaMismatch::new(stored(&channel), &ours).difference(),
        "variant `Go` added: this process has it, the channel does not"
    );
}

#[test]
fn a_removed_or_added_tuple_field_is_named_by_position() {
    let channel = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String, u32), Tagged(Meta), Stop);
    let diff = |ours: &Schema| {
        SchemaMismatch::new(stored(&channel), ours)
            .difference()
            .to_owned()
    };
    // The last field went.
    let last_gone = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String), Tagged(Meta), Stop);
    assert_eq!(
        diff(&last_gone),
        "variant `Log`, field 1 removed: the channel has it, this process does not"
    );
    // The first field went: the others moved up a position, which is not a retype of field 0.
    let first_gone = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(u32), Tagged(Meta), Stop);
    assert_eq!(
        diff(&first_gone),
        "variant `Log`, field 0 removed: the channel has it, this process does not"
    );
    let inserted = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(u8, String, u32), Tagged(Meta), Stop);
    assert_eq!(
        diff(&inserted),
        "variant `Log`, field 0 added: this process has it, the channel does not"
    );
    let two_gone = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(), Tagged(Meta), Stop);
    assert_eq!(
        diff(&two_gone),
        "variant `Log`, fields 0 to 1 removed: the channel has them, this process does not"
    );
    // Same length, one type changed: a retype of that position.
    let retyped = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(String, u64), Tagged(Meta), Stop);
    assert_eq!(
        diff(&retyped),
        "variant `Log`, field 1: channel has `u32`, this process has `u64`"
    );
    let swapped = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(u32, String), Tagged(Meta), Stop);
    assert_eq!(
        diff(&swapped),
        "variant `Log`, fields reordered: channel has `Log(String, u32)`, this process has \
         `Log(u32, String)`"
    );
    // A change that is neither: both whole lists.
    let different = v2_variant!(2, Frame { width: u32, height: u32, pixels: Vec<u8> }, Log(u64), Tagged(Meta), Stop);
    assert_eq!(
        diff(&different),
        "variant `Log`, fields differ: channel has `Log(String, u32)`, this process has `Log(u64)`"
    );
}

/// Two builds of a channel whose variants hold nested derived types.
mod nested_v1 {
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Inner {
        pub y: u32,
    }
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Pos {
        pub x: u32,
        pub y: u32,
        pub inner: Inner,
    }
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Pair(pub u8, pub u16);
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub enum Kind {
        A,
        B(u32),
        C { at: Pos },
    }
}

/// The channel enum of the nested tests, over whichever `Pos`, `Pair` and `Kind` are in scope.
macro_rules! game {
    () => {
        #[allow(dead_code)]
        #[ipmpsc::channel]
        pub enum Game {
            Move { pos: Pos },
            Pairs(Vec<Pair>),
            Act(Kind),
            Stop,
        }
    };
}

mod game_v1 {
    pub use super::nested_v1::*;
    game!();
}

/// `Pos::y` renamed to `z`.
mod game_renamed {
    pub use super::nested_v1::{Inner, Kind, Pair};
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Pos {
        pub x: u32,
        pub z: u32,
        pub inner: Inner,
    }
    game!();
}

/// `Inner::y`, inside `Pos::inner`, retyped.
mod game_deeper {
    pub use super::nested_v1::{Kind, Pair};
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Inner {
        pub y: u64,
    }
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Pos {
        pub x: u32,
        pub y: u32,
        pub inner: Inner,
    }
    game!();
}

/// `Pair`'s first field removed.
mod game_pair {
    pub use super::nested_v1::{Kind, Pos};
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Pair(pub u16);
    game!();
}

/// `Kind::B` retyped.
mod game_kind {
    pub use super::nested_v1::{Pair, Pos};
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub enum Kind {
        A,
        B(u64),
        C { at: Pos },
    }
    game!();
}

/// `Kind::C` removed.
mod game_fewer {
    pub use super::nested_v1::{Pair, Pos};
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub enum Kind {
        A,
        B(u32),
    }
    game!();
}

/// `Pos` replaced by a struct of another name.
mod game_other {
    pub use super::nested_v1::{Inner, Kind, Pair};
    #[derive(Clone, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
    pub struct Place {
        pub x: u32,
        pub y: u32,
        pub inner: Inner,
    }
    pub type Pos = Place;
    game!();
}

fn nested_channel() -> Schema {
    <game_v1::Game as Channel>::SCHEMA
}

fn against_nested(ours: &Schema) -> String {
    SchemaMismatch::new(stored(&nested_channel()), ours)
        .difference()
        .to_owned()
}

#[test]
fn a_change_inside_a_nested_struct_names_the_nested_field() {
    assert_eq!(
        against_nested(&<game_renamed::Game as Channel>::SCHEMA),
        "variant `Move`, field `pos`: `Pos`'s field renamed: channel has `y`, this process has `z`"
    );
}

#[test]
fn a_change_two_levels_down_names_every_level() {
    assert_eq!(
        against_nested(&<game_deeper::Game as Channel>::SCHEMA),
        "variant `Move`, field `pos`: `Pos`'s field `inner`: `Inner`'s field `y`: channel has \
         `u32`, this process has `u64`"
    );
}

#[test]
fn a_change_inside_a_nested_tuple_struct_or_enum_names_it() {
    // Inside a `Vec`: the element's change is named.
    assert_eq!(
        against_nested(&<game_pair::Game as Channel>::SCHEMA),
        "variant `Pairs`, field 0: `Pair`'s field 0 removed: the channel has it, this process \
         does not"
    );
    assert_eq!(
        against_nested(&<game_kind::Game as Channel>::SCHEMA),
        "variant `Act`, field 0: `Kind`'s variant `B`, field 0: channel has `u32`, this process \
         has `u64`"
    );
}

#[test]
fn a_nested_enum_variant_added_or_removed_is_named() {
    assert_eq!(
        against_nested(&<game_fewer::Game as Channel>::SCHEMA),
        "variant `Act`, field 0: `Kind`'s variant `C` removed: the channel has it, this process \
         does not"
    );
}

#[test]
fn a_nested_type_of_another_name_is_shown_whole() {
    assert_eq!(
        against_nested(&<game_other::Game as Channel>::SCHEMA),
        "variant `Move`, field `pos`: channel has `Pos { x: u32, y: u32, inner: Inner { y: u32 } }`, \
         this process has `Place { x: u32, y: u32, inner: Inner { y: u32 } }`"
    );
}

/// A schema whose description is longer than [`Schema::DESCRIPTION_LIMIT`]: ten variants of
/// 6 KiB each, then `last`.
fn huge_schema(hash: u64, last: &'static ipmpsc::schema::VariantSchema) -> Schema {
    use ipmpsc::schema::{FieldSchema, Shape, VariantSchema};
    fn long(out: &mut String) {
        out.push_str(&"Long".repeat(Schema::DESCRIPTION_LIMIT / 40));
    }
    static FIELDS: [FieldSchema; 1] = [FieldSchema {
        name: "0",
        hash: 1,
        describe: long,
    }];
    let mut variants: Vec<VariantSchema> = (0..10)
        .map(|i| VariantSchema {
            name: ["V0", "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9"][i],
            shape: Shape::Tuple,
            fields: &FIELDS,
        })
        .collect();
    variants.push(*last);
    Schema {
        name: "Msg",
        version: 1,
        hash,
        variants: Vec::leak(variants),
    }
}

#[test]
fn a_description_cut_short_is_never_compared() {
    use ipmpsc::schema::{Shape, VariantSchema};
    static STOP: VariantSchema = VariantSchema {
        name: "Stop",
        shape: Shape::Unit,
        fields: &[],
    };
    static HALT: VariantSchema = VariantSchema {
        name: "Halt",
        shape: Shape::Unit,
        fields: &[],
    };
    let channel = huge_schema(1, &STOP);
    let ours = huge_schema(2, &HALT);
    assert!(channel.description().ends_with('…'));
    let too_long = |d: &str| {
        assert!(d.contains("too long to compare"), "{d}");
        assert!(!d.contains("variant `"), "{d}");
        assert!(!d.contains("versions of ipmpsc"), "{d}");
    };
    too_long(SchemaMismatch::new(stored(&channel), &ours).difference());
    // Only one side too long: its end cannot be told from a removed variant either.
    let short = v2_variant!(1, V0(String));
    let mut short_as_msg = short;
    short_as_msg.name = "Msg";
    too_long(SchemaMismatch::new(stored(&channel), &short_as_msg).difference());
    too_long(SchemaMismatch::new(stored(&short_as_msg), &channel).difference());
    // A version that differs is still named.
    let mut v2 = huge_schema(3, &STOP);
    v2.version = 2;
    let d = SchemaMismatch::new(stored(&channel), &v2);
    assert!(
        d.difference()
            .starts_with("version differs: channel has v1, this process has v2"),
        "{}",
        d.difference()
    );
    too_long(d.difference());
}
