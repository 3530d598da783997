//! A serde `Deserializer` adapter that keeps decoding inside the bytes of the record.
//!
//! bincode decodes an owned `String` or byte buffer by allocating the length the input claims
//! and then reading it, so four hostile bytes can ask for exabytes and abort the process. This
//! adapter asks for the borrowed form instead (`deserialize_str` for `deserialize_string`,
//! `deserialize_bytes` for `deserialize_byte_buf`), which bincode bounds-checks against the
//! slice before anything is allocated; serde's visitors for owned types accept borrowed input
//! and copy exactly what is there. Every nested access (sequences, maps, enums, options) is
//! wrapped the same way, so the rule holds at any depth.
//!
//! Two more bounds make every decode end soon, whatever the bytes say: nesting is at most
//! [`MAX_DEPTH`] deep (a recursive type such as `enum Expr { Neg(Box<Expr>), .. }` could
//! otherwise be told to nest until the stack overflows), and a record yields at most its own
//! length plus [`ZERO_SIZED_ALLOWANCE`] sequence or map elements in all (an element of a
//! zero-sized type takes no bytes, so a claimed length of 2^64 would otherwise loop for
//! ages).

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use std::cell::Cell;

/// Deepest nesting a message may have (serde_json's limit too).
pub(crate) const MAX_DEPTH: u32 = 128;

/// Sequence and map elements a record may yield beyond one per byte it holds (for elements
/// of zero-sized types, which take no bytes).
pub(crate) const ZERO_SIZED_ALLOWANCE: u64 = 1 << 16;

/// What one decode may still spend: nesting depth and elements.
pub(crate) struct Budget {
    depth: Cell<u32>,
    elements: Cell<u64>,
}

impl Budget {
    /// The budget of a record of `len` bytes.
    pub(crate) fn for_record(len: usize) -> Self {
        Budget {
            depth: Cell::new(0),
            elements: Cell::new(len as u64 + ZERO_SIZED_ALLOWANCE),
        }
    }

    /// One level deeper, until the guard is dropped.
    fn enter<E: serde::de::Error>(&self) -> Result<DepthGuard<'_>, E> {
        let depth = self.depth.get() + 1;
        if depth > MAX_DEPTH {
            return Err(E::custom(format_args!(
                "the message nests deeper than {MAX_DEPTH} levels"
            )));
        }
        self.depth.set(depth);
        Ok(DepthGuard(self))
    }

    /// One more element of a sequence or map.
    fn element<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.elements.get().checked_sub(1) {
            Some(left) => {
                self.elements.set(left);
                Ok(())
            }
            None => Err(E::custom(
                "the message claims more elements than its record could hold",
            )),
        }
    }
}

/// Leaves a level of [`Budget::enter`] when dropped (also when decoding unwinds).
struct DepthGuard<'b>(&'b Budget);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.0.depth.get() - 1);
    }
}

/// Wraps a deserializer (see the module docs).
pub(crate) struct Bounded<'b, D, const P: bool>(pub(crate) D, pub(crate) &'b Budget);

/// Wraps a visitor so that what it is handed is wrapped too.
struct BoundedVisitor<'b, V, const P: bool>(V, &'b Budget);

/// Wraps a seed so that the deserializer it receives is wrapped.
struct BoundedSeed<'b, S, const P: bool>(S, &'b Budget);

struct BoundedSeq<'b, A, const P: bool>(A, &'b Budget);
struct BoundedMap<'b, A, const P: bool>(A, &'b Budget);
struct BoundedEnum<'b, A, const P: bool>(A, &'b Budget);
struct BoundedVariant<'b, A, const P: bool>(A, &'b Budget);

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                let _depth = self.1.enter()?;
                self.0.$method(BoundedVisitor::<_, P>(visitor, self.1))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>, const P: bool> Deserializer<'de> for Bounded<'_, D, P> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if P {
            self.0.deserialize_bytes(Private::<_, true>(visitor))
        } else {
            self.0
                .deserialize_str(BoundedVisitor::<_, P>(visitor, self.1))
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if P {
            self.0.deserialize_bytes(Private::<_, false>(visitor))
        } else {
            self.0
                .deserialize_bytes(BoundedVisitor::<_, P>(visitor, self.1))
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let _depth = self.1.enter()?;
        self.0
            .deserialize_unit_struct(name, BoundedVisitor::<_, P>(visitor, self.1))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let _depth = self.1.enter()?;
        self.0
            .deserialize_newtype_struct(name, BoundedVisitor::<_, P>(visitor, self.1))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let _depth = self.1.enter()?;
        self.0
            .deserialize_tuple(len, BoundedVisitor::<_, P>(visitor, self.1))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let _depth = self.1.enter()?;
        self.0
            .deserialize_tuple_struct(name, len, BoundedVisitor::<_, P>(visitor, self.1))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let _depth = self.1.enter()?;
        self.0
            .deserialize_struct(name, fields, BoundedVisitor::<_, P>(visitor, self.1))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let _depth = self.1.enter()?;
        self.0
            .deserialize_enum(name, variants, BoundedVisitor::<_, P>(visitor, self.1))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! pass {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: serde::de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>, const P: bool> Visitor<'de> for BoundedVisitor<'_, V, P> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }

    pass!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Bounded::<_, P>(d, self.1))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Bounded::<_, P>(d, self.1))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(BoundedSeq::<_, P>(seq, self.1))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(BoundedMap::<_, P>(map, self.1))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(BoundedEnum::<_, P>(data, self.1))
    }
}

impl<'de, S: DeserializeSeed<'de>, const P: bool> DeserializeSeed<'de> for BoundedSeed<'_, S, P> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Bounded::<_, P>(d, self.1))
    }
}

impl<'de, A: SeqAccess<'de>, const P: bool> SeqAccess<'de> for BoundedSeq<'_, A, P> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.1.element()?;
        self.0.next_element_seed(BoundedSeed::<_, P>(seed, self.1))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>, const P: bool> MapAccess<'de> for BoundedMap<'_, A, P> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.1.element()?;
        self.0.next_key_seed(BoundedSeed::<_, P>(seed, self.1))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(BoundedSeed::<_, P>(seed, self.1))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'b, 'de, A: EnumAccess<'de>, const P: bool> EnumAccess<'de> for BoundedEnum<'b, A, P> {
    type Error = A::Error;
    type Variant = BoundedVariant<'b, A::Variant, P>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(BoundedSeed::<_, P>(seed, self.1))?;
        Ok((value, BoundedVariant::<_, P>(variant, self.1)))
    }
}

impl<'de, A: VariantAccess<'de>, const P: bool> VariantAccess<'de> for BoundedVariant<'_, A, P> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0
            .newtype_variant_seed(BoundedSeed::<_, P>(seed, self.1))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0
            .tuple_variant(len, BoundedVisitor::<_, P>(visitor, self.1))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0
            .struct_variant(fields, BoundedVisitor::<_, P>(visitor, self.1))
    }
}

/// For private decoding: hands the visitor a copy of a string (`STR`, checked for UTF-8 on the
/// copy) or of a byte string, never the bytes of the input, which another process may change
/// between a visitor's check and its use.
struct Private<V, const STR: bool>(V);

impl<'de, V: Visitor<'de>, const STR: bool> Visitor<'de> for Private<V, STR> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.visit_byte_buf(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<V::Value, E> {
        if !STR {
            return self.0.visit_byte_buf(v);
        }
        match String::from_utf8(v) {
            Ok(s) => self.0.visit_string(s),
            Err(e) => Err(E::invalid_value(
                serde::de::Unexpected::Bytes(e.as_bytes()),
                &self,
            )),
        }
    }
}
