//! `SchemaType` for the standard library's types.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::hash::{fold_u64, type_hash};
use super::SchemaType;

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
