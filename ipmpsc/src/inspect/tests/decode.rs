//! The decoder against real encodings, and against hostile bytes and descriptions.

use super::*;

#[test]
fn every_shape_decodes_to_its_json_and_the_description_is_verified() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    assert_eq!(decoder.check(), &DescriptionCheck::Verified, "{decoder:?}");
    for (msg, json) in samples() {
        let bytes = encode_to_vec(&msg).unwrap();
        let value = decoder
            .decode(&bytes)
            .unwrap_or_else(|e| panic!("{msg:?}: {e}"));
        assert_eq!(value.to_string(), json, "{msg:?}");
    }
}

#[test]
fn an_opaque_type_is_reported_with_the_bytes_in_hex() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    let bytes = encode_to_vec(&Shapes::Opaque(Opaque(0x0102_0304))).unwrap();
    assert!(
        matches!(decoder.decode(&bytes), Err(Error::Decode(why)) if why.contains("`my_app::Opaque v2` is an opaque type"))
    );
    let shown = decoder.decode_or_hex(&bytes).to_string();
    assert!(
        shown.starts_with(r#"{"error":"at byte 4 of 8: `my_app::Opaque v2` is an opaque type"#),
        "{shown}"
    );
    let tag = Shapes::SCHEMA.variants.len() - 1;
    assert!(
        shown.ends_with(&format!(r#","hex":"{tag:02x}00000004030201"}}"#)),
        "{shown}"
    );
}

#[test]
fn truncated_and_overlong_records_are_errors_not_panics() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    for (msg, _) in samples() {
        let bytes = encode_to_vec(&msg).unwrap();
        for cut in 0..bytes.len() {
            // A prefix may happen to be another whole message (`Strings([])` from
            // `Strings(["", ..])`); it must never be this one, nor a panic.
            if let Ok(v) = decoder.decode(&bytes[..cut]) {
                assert_ne!(Some(v), decoder.decode(&bytes).ok(), "{msg:?} cut at {cut}");
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let err = decoder.decode(&longer).unwrap_err().to_string();
        assert!(err.contains("decoded from"), "{err}");
    }
}

#[test]
fn garbage_and_huge_lengths_are_errors_not_panics_or_allocations() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    let variants = Shapes::SCHEMA.variants.len() as u32;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if bytes.len() >= 4 {
            let tag = (next() as u32) % (variants + 1);
            bytes[..4].copy_from_slice(&tag.to_le_bytes());
        }
        let _ = decoder.decode(&bytes);
        let _ = decoder.decode_or_hex(&bytes).to_string();
    }
    // `Strings` (variant 10) claiming u64::MAX strings, `Bytes` claiming u64::MAX bytes.
    for tag in [10u32, 11] {
        let mut bytes = tag.to_le_bytes().to_vec();
        bytes.extend(u64::MAX.to_le_bytes());
        let err = decoder.decode(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("claims 18446744073709551615 elements"),
            "{err}"
        );
    }
}

#[crate::channel]
pub enum Units {
    Many(Vec<()>),
    Deep(Expr),
}

#[test]
fn zero_sized_elements_and_deep_nesting_are_bounded() {
    let decoder = decoder_of(&Units::SCHEMA);
    assert_eq!(decoder.check(), &DescriptionCheck::Verified);
    let mut bytes = 0u32.to_le_bytes().to_vec();
    bytes.extend(u64::MAX.to_le_bytes());
    assert!(decoder.decode(&bytes).is_err());
    let ok = encode_to_vec(&Units::Many(vec![(); 1000])).unwrap();
    assert_eq!(
        decoder.decode(&ok).unwrap().to_string().len(),
        2 + 8 + 1000 * 5
    );
    // `Neg` a million times deep: an error, not a stack overflow.
    let mut deep = 1u32.to_le_bytes().to_vec();
    deep.extend(std::iter::repeat_n(1u32.to_le_bytes(), 1 << 20).flatten());
    deep.extend(0u32.to_le_bytes());
    deep.extend(7i64.to_le_bytes());
    let err = decoder.decode(&deep).unwrap_err().to_string();
    assert!(err.contains("nested deeper than"), "{err}");
}

#[test]
fn hostile_descriptions_never_panic() {
    let real = Shapes::SCHEMA.description();
    let stored = |description: String| StoredSchema {
        name: "Shapes".into(),
        version: 4,
        hash: 1,
        description,
    };
    let bytes = encode_to_vec(&samples()[23].0).unwrap();
    // Every cut, and every byte replaced by a delimiter of the grammar.
    for (i, _) in real.char_indices().step_by(3) {
        for text in [
            real[..i].to_owned(),
            format!("{}<{}", &real[..i], &real[i..]),
            format!("{}, {}", &real[..i], &real[i..]),
            format!("{} }}{}", &real[..i], &real[i..]),
        ] {
            let d = Decoder::new(&stored(text));
            let _ = d.decode_or_hex(&bytes);
        }
    }
    // Nested without end: refused, not a stack overflow.
    let deep = format!(
        "Msg v1\n  Move {{ pos: {}u8{} }}",
        "Pos { x: ".repeat(100_000),
        " }".repeat(100_000)
    );
    assert!(matches!(
        Decoder::new(&stored(deep)).check(),
        DescriptionCheck::Undecodable(why) if why.contains("nested deeper")
    ));
    // Recursive types nested in each other: the hash check gives up instead of taking forever.
    let mut nested = String::from("u8");
    for i in 0..60 {
        nested = format!("T{i} {{ a: Option<T{i}>, b: {nested} }}");
    }
    let d = Decoder::new(&stored(format!("Msg v1\n  A({nested})")));
    assert!(matches!(d.check(), DescriptionCheck::Unverified(_)));
}

#[test]
fn a_description_cut_short_decodes_the_variants_it_lists() {
    let schema = StoredSchema {
        name: "Msg".into(),
        version: 1,
        hash: 42,
        description: "Msg v1\n  A(u8)\n  B(String)\n  C { x: Vec<u1\n…".into(),
    };
    let d = Decoder::new(&schema);
    assert!(matches!(d.check(), DescriptionCheck::Unverified(why) if why.contains("cut short")));
    assert_eq!(
        d.decode(&[0, 0, 0, 0, 9]).unwrap().to_string(),
        r#"{"A":9}"#
    );
    let err = d.decode(&[2, 0, 0, 0, 9]).unwrap_err().to_string();
    assert!(err.contains("cut short"), "{err}");
}

#[test]
fn a_hand_written_schema_that_describes_no_encoding_is_unverified_but_the_rest_decodes() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(transparent)]
    pub struct Celsius(f32);
    impl crate::SchemaType for Celsius {
        const HASH: u64 = crate::schema::hash::type_hash("my_app::Celsius", &[]);
        fn describe(out: &mut String) {
            out.push_str("my_app::Celsius<f32>");
        }
    }
    impl crate::SchemaView for Celsius {
        type View<'a> = Celsius;
        fn view(&self) -> Celsius {
            self.clone()
        }
        fn from_view<'a>(view: Celsius) -> Self
        where
            Self: 'a,
        {
            view
        }
        crate::__slice_of_views!();
    }

    #[crate::channel]
    pub enum Weather {
        Temp(Celsius),
        Note(String),
    }
    let d = decoder_of(&Weather::SCHEMA);
    assert!(
        matches!(d.check(), DescriptionCheck::Unverified(_)),
        "{d:?}"
    );
    let note = encode_to_vec(&Weather::Note("warm".into())).unwrap();
    assert_eq!(d.decode(&note).unwrap().to_string(), r#"{"Note":"warm"}"#);
    let temp = encode_to_vec(&Weather::Temp(Celsius(21.5))).unwrap();
    let err = d.decode(&temp).unwrap_err().to_string();
    assert!(err.contains("`my_app::Celsius<f32>`"), "{err}");
}

#[test]
fn a_wide_type_inside_a_long_sequence_is_costed_once_not_per_element() {
    // `Vec<Vec<(u8, u8, …)>>` with 100 000 empty inner vectors: costing the 100 000-wide tuple
    // for each of them took minutes.
    let wide = vec!["u8"; 100_000].join(", ");
    let schema = StoredSchema {
        name: "M".into(),
        version: 1,
        hash: 1,
        description: format!("M v1\n  A(Vec<Vec<({wide})>>)"),
    };
    let d = Decoder::new(&schema);
    let n = 100_000u64;
    let mut bytes = 0u32.to_le_bytes().to_vec();
    bytes.extend(n.to_le_bytes());
    bytes.resize(bytes.len() + 8 * n as usize, 0);
    let started = std::time::Instant::now();
    let value = d.decode(&bytes).unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(value, Value::Object(v) if matches!(&v[0].1, Value::Array(a) if a.len() == 100_000))
    );
}

#[test]
fn a_map_of_two_huge_arrays_is_an_error_not_an_overflow() {
    let schema = StoredSchema {
        name: "M".into(),
        version: 1,
        hash: 1,
        description: format!("M v1\n  A(HashMap<[u64; {0}], [u64; {0}]>)", u64::MAX / 2),
    };
    let d = Decoder::new(&schema);
    let mut bytes = 0u32.to_le_bytes().to_vec();
    bytes.extend(1u64.to_le_bytes());
    let err = d.decode(&bytes).unwrap_err().to_string();
    assert!(err.contains("a map claims 1 elements"), "{err}");
}
