//! [`Value`]: a decoded message, and the JSON it is printed as.

use std::fmt::{self, Write as _};

/// A message decoded without its Rust type (see [`Decoder`](super::Decoder)), in the shape
/// serde's JSON encoding gives the same value: structs are objects, tuples and sequences are
/// arrays, enums are externally tagged (`"Stop"`, `{"Log":"text"}`), `None` and `()` are
/// `null`, a newtype is the value inside.
///
/// `Display` writes it as compact JSON (one line, no spaces). Numbers are exact, including
/// `u128`; floats that JSON cannot hold are the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"`.
///
/// # Examples
///
/// ```
/// use ipmpsc::inspect::Value;
///
/// let v = Value::Object(vec![
///     ("name".to_owned(), Value::String("tab\there \"quoted\"".to_owned())),
///     ("big".to_owned(), Value::UInt(u128::MAX)),
///     ("pixels".to_owned(), Value::Bytes(vec![0, 255])),
///     ("ratio".to_owned(), Value::F64(0.5)),
///     ("none".to_owned(), Value::Null),
/// ]);
/// assert_eq!(
///     v.to_string(),
///     r#"{"name":"tab\there \"quoted\"","big":340282366920938463463374607431768211455,"pixels":[0,255],"ratio":0.5,"none":null}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `null`: `None`, `()`, a unit struct, `PhantomData`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer of any width.
    Int(i128),
    /// An unsigned integer of any width.
    UInt(u128),
    /// An `f32`, written with the fewest digits that read back as it.
    F32(f32),
    /// An `f64`, written with the fewest digits that read back as it.
    F64(f64),
    /// A string, a `char`, a path, or a value shown as text (an IP address, a UUID).
    String(String),
    /// A sequence or array of `u8`, written as an array of numbers like any other sequence
    /// (kept apart only so that a large buffer does not become one value per byte).
    Bytes(Vec<u8>),
    /// A sequence, set, array or tuple.
    Array(Vec<Value>),
    /// A struct, a map whose keys are written as strings, or an enum variant with data
    /// (`{"Variant": ...}`); in order.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The value as compact JSON (the same as `to_string()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipmpsc::inspect::Value;
    ///
    /// let v = Value::Array(vec![Value::Bool(true), Value::F32(0.1), Value::F64(f64::NAN)]);
    /// assert_eq!(v.to_json(), r#"[true,0.1,"NaN"]"#);
    /// ```
    pub fn to_json(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::F32(x) => float(f, f64::from(*x), x.is_finite(), || format!("{x:?}")),
            Value::F64(x) => float(f, *x, x.is_finite(), || format!("{x:?}")),
            Value::String(s) => write_json_string(f, s),
            Value::Bytes(bytes) => {
                f.write_char('[')?;
                for (i, b) in bytes.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{b}")?;
                }
                f.write_char(']')
            }
            Value::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    fmt::Display::fmt(item, f)?;
                }
                f.write_char(']')
            }
            Value::Object(fields) => {
                f.write_char('{')?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_json_string(f, key)?;
                    f.write_char(':')?;
                    fmt::Display::fmt(value, f)?;
                }
                f.write_char('}')
            }
        }
    }
}

/// A float as a JSON number (Rust's shortest round-trip form, `1.0`, `1e300`, `1.5e-7`, all
/// valid JSON), or as a string where JSON has no number for it.
fn float(
    f: &mut fmt::Formatter<'_>,
    x: f64,
    finite: bool,
    shortest: impl FnOnce() -> String,
) -> fmt::Result {
    if finite {
        f.write_str(&shortest())
    } else if x.is_nan() {
        f.write_str("\"NaN\"")
    } else if x > 0.0 {
        f.write_str("\"Infinity\"")
    } else {
        f.write_str("\"-Infinity\"")
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped; everything else,
/// including non-ASCII text, as it is (JSON text is UTF-8).
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        f.write_str(&s[plain..i])?;
        if escaped.is_empty() {
            write!(f, "\\u{:04x}", c as u32)?;
        } else {
            f.write_str(escaped)?;
        }
        plain = i + c.len_utf8();
    }
    f.write_str(&s[plain..])?;
    f.write_char('"')
}

/// `bytes` as lowercase hex, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
