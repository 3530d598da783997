//! The schema hash of a parsed description, folded as `SchemaType::HASH` and the macros'
//! `__private::{struct_hash, enum_hash, channel_hash, recursive_hash}` fold the types it came
//! from: when it equals the hash in the file, the description is the whole truth about the
//! encoding (the inspector's tests check this against the real macros for every kind of type).

use super::types::{Id, Item, Message, Node, Types};
use crate::schema::hash::{fold_str, fold_u64, opaque_hash, type_hash, SEED};

impl Message {
    /// The schema hash of the channel these types describe.
    pub(crate) fn hash(&self) -> u64 {
        let mut markers = Markers {
            active: Vec::new(),
            budget: HASH_BUDGET,
        };
        let h = fold_str(fold_str(SEED, "channel"), &self.name);
        let h = fold_u64(h, u64::from(self.version));
        crate::__private::nonzero(fold_variants(h, &self.variants, &self.types, &mut markers))
    }
}

/// Hashes of the self-mentions of the derived types being hashed, and the work left.
struct Markers {
    /// `(type, marker hash)`, innermost last.
    active: Vec<(Id, u64)>,
    /// Types left to hash: a recursive type is hashed twice, so recursive types nested in
    /// each other cost twice as much per level; a hostile description could nest forty.
    budget: u64,
}

/// Types hashed at most per description (an honest one needs a few thousand).
const HASH_BUDGET: u64 = 1 << 22;

fn fold_fields(mut h: u64, item: &Item, types: &Types, markers: &mut Markers) -> u64 {
    h = fold_u64(fold_u64(h, item.shape.tag()), item.fields.len() as u64);
    for (name, ty) in &item.fields {
        let field = hash_of(*ty, types, markers);
        h = fold_u64(fold_str(h, name), field);
    }
    h
}

fn fold_variants(mut h: u64, variants: &[Item], types: &Types, markers: &mut Markers) -> u64 {
    h = fold_u64(h, variants.len() as u64);
    for variant in variants {
        h = fold_fields(fold_str(h, &variant.name), variant, types, markers);
    }
    h
}

/// `SchemaType::HASH` of the type `id`.
fn hash_of(id: Id, types: &Types, markers: &mut Markers) -> u64 {
    if markers.budget == 0 {
        return 0; // gave up: the verification fails
    }
    markers.budget -= 1;
    match types.node(id) {
        Node::Leaf(leaf) => type_hash(leaf.name(), &[]),
        Node::Seq { name, item }
        | Node::Range { name, item }
        | Node::Transparent { name, inner: item } => {
            type_hash(name, &[hash_of(*item, types, markers)])
        }
        Node::Option(item) => type_hash("Option", &[hash_of(*item, types, markers)]),
        Node::Map { name, key, value } => {
            let k = hash_of(*key, types, markers);
            type_hash(name, &[k, hash_of(*value, types, markers)])
        }
        Node::Array { item, len } => {
            fold_u64(type_hash("Array", &[hash_of(*item, types, markers)]), *len)
        }
        Node::Tuple(items) => {
            let hashes: Vec<u64> = items.iter().map(|&i| hash_of(i, types, markers)).collect();
            type_hash("Tuple", &hashes)
        }
        Node::Opaque { name, version } => opaque_hash(name, *version),
        // Nothing can match: the verification fails, as it should.
        Node::Unknown(_) => 0,
        Node::SelfRef(to) => markers
            .active
            .iter()
            .rev()
            .find(|(t, _)| t == to)
            .map_or(0, |&(_, h)| h),
        Node::Struct(_) | Node::Enum { .. } => {
            let name = match types.node(id) {
                Node::Struct(item) => item.name.as_str(),
                Node::Enum { name, .. } => name.as_str(),
                _ => unreachable!(),
            };
            if !types.recursive.contains(&id) {
                return derived_body_hash(id, types, markers);
            }
            // A recursive type: its self-mentions are hashed as a marker of its name, then as
            // a marker of its name and that shallow hash (see the derive's `nested.rs`).
            let marker = crate::__private::recursive_hash(name);
            markers.active.push((id, marker));
            let shallow = derived_body_hash(id, types, markers);
            markers.active.pop();
            markers.active.push((id, fold_u64(marker, shallow)));
            let full = derived_body_hash(id, types, markers);
            markers.active.pop();
            full
        }
    }
}

fn derived_body_hash(id: Id, types: &Types, markers: &mut Markers) -> u64 {
    match types.node(id) {
        Node::Struct(item) => fold_fields(
            fold_str(fold_str(SEED, "struct"), &item.name),
            item,
            types,
            markers,
        ),
        Node::Enum { name, variants } => fold_variants(
            fold_str(fold_str(SEED, "enum"), name),
            variants,
            types,
            markers,
        ),
        _ => 0,
    }
}
