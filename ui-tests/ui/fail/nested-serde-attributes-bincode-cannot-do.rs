use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, ipmpsc::Schema)]
#[serde(tag = "t")]
pub enum Tagged {
    A { x: u32 },
}

#[derive(Serialize, Deserialize, ipmpsc::Schema)]
#[serde(untagged)]
pub enum Untagged {
    A(u32),
}

#[derive(Serialize, Deserialize, ipmpsc::Schema)]
pub struct Outer {
    #[serde(flatten)]
    pub inner: Inner,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maybe: Option<u32>,
    #[serde(with = "my_encoding")]
    pub custom: u32,
    #[serde(skip_deserializing)]
    pub one_sided: u32,
    // serde_bytes gives an array a length prefix the array's own encoding lacks.
    #[serde(with = "serde_bytes")]
    pub key: [u8; 4],
}

#[derive(Serialize, Deserialize, ipmpsc::Schema)]
pub struct Newtype(#[serde(skip)] String);

#[derive(Serialize, Deserialize, ipmpsc::Schema)]
pub struct Inner {
    pub y: u32,
}

mod my_encoding {
    pub fn serialize<S: serde::Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::from(*v))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(|v| v as u32)
    }
}

fn main() {}
