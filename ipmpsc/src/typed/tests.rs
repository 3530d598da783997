//! Views, byte equality and zero-copy receive, in one process.

use super::*;
use crate::codec;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, crate::Schema)]
pub struct Meta {
    id: u32,
    labels: Vec<String>,
}

#[crate::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Every {
    Bytes(Vec<u8>),
    Boxed(Box<[u8]>),
    BoxedStr(Box<str>),
    Text { s: String, n: u64 },
    Strings(Vec<String>),
    Nested(Vec<Vec<u8>>),
    Maybe(Option<Vec<u8>>),
    Deep(Option<Vec<Option<Vec<u8>>>>),
    Derived(Meta),
    Unit,
}

fn samples() -> Vec<Every> {
    vec![
        Every::Bytes(vec![1, 2, 3]),
        Every::Boxed(vec![4, 5].into_boxed_slice()),
        Every::BoxedStr("boxed".into()),
        Every::Text {
            s: "héllo".into(),
            n: 7,
        },
        Every::Strings(vec!["a".into(), "".into(), "ccc".into()]),
        Every::Nested(vec![vec![], vec![9; 10]]),
        Every::Maybe(Some(vec![8; 3])),
        Every::Maybe(None),
        Every::Deep(Some(vec![None, Some(vec![1, 2])])),
        Every::Derived(Meta {
            id: 3,
            labels: vec!["x".into()],
        }),
        Every::Unit,
    ]
}

#[test]
fn view_and_owned_message_encode_to_the_same_bytes() {
    for msg in samples() {
        let owned = codec::encode_to_vec(&msg).unwrap();
        let view = codec::encode_to_vec(&msg.as_view()).unwrap();
        assert_eq!(owned, view, "{msg:?}");
        let back: EveryView<'_> = codec::decode(&owned).unwrap();
        assert_eq!(Every::view_into_owned(back), msg);
    }
}

#[test]
fn decoded_views_borrow_from_the_encoded_bytes() {
    let msg = Every::Text {
        s: "in place".into(),
        n: 1,
    };
    let bytes = codec::encode_to_vec(&msg).unwrap();
    let EveryView::Text { s, .. } = codec::decode::<EveryView<'_>>(&bytes).unwrap() else {
        panic!("wrong variant")
    };
    assert!(bytes.as_ptr_range().contains(&s.as_ptr()));
}

#[test]
fn received_view_points_into_the_mapping_and_frees_its_slot() {
    let path = format!("/dev/shm/ipmpsc-unit-view-{}", std::process::id());
    struct Remove<'a>(&'a str);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _remove = Remove(&path);
    let mut rx = Every::create_receiver(&path, 256).unwrap();
    let tx = Every::open_sender(&path).unwrap();
    let big = vec![5u8; 200]; // 4 + 8 + 200 bytes: the ring holds one at a time
    tx.send_view(&EveryView::Bytes(&big)).unwrap();
    assert!(
        !tx.try_send(&Every::Bytes(big.clone())).unwrap(),
        "ring should be full"
    );
    let mapping = rx.raw.ring().mapped_range();
    {
        let guard = rx.recv_view().unwrap();
        let EveryView::Bytes(bytes) = &*guard else {
            panic!("wrong variant")
        };
        assert!(mapping.contains(&(bytes.as_ptr() as usize)));
        assert!(mapping.contains(&(bytes.as_ptr() as usize + bytes.len() - 1)));
        assert_eq!(*bytes, &big[..]);
    }
    // The guard is gone; the next call on the receiver frees the slot.
    assert!(rx.try_recv().unwrap().is_none());
    assert!(
        tx.try_send(&Every::Bytes(big.clone())).unwrap(),
        "slot should be free again"
    );
    assert_eq!(rx.recv().unwrap(), Every::Bytes(big));
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, crate::Schema)]
pub struct FrameData {
    width: u32,
    height: u32,
    #[serde(with = "::ipmpsc::wire")]
    pixels: Vec<u8>,
    tags: Vec<(String, String)>,
    thumbnail: Option<Thumbnail>,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, crate::Schema)]
pub enum Thumbnail {
    Gray(Vec<u8>),
    Named { name: Box<str>, data: Box<[u8]> },
}

#[crate::channel]
#[derive(Debug, PartialEq)]
pub enum Video {
    Frame(FrameData),
    Stop,
}

#[test]
fn a_nested_view_borrows_every_slice_from_the_mapping() {
    let path = format!("/dev/shm/ipmpsc-unit-nested-view-{}", std::process::id());
    struct Remove<'a>(&'a str);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _remove = Remove(&path);
    let mut rx = Video::create_receiver(&path, 16 << 20).unwrap();
    let tx = Video::open_sender(&path).unwrap();
    // 6 MB of pixels; the ring holds two frames, as the viewed one is freed only by the
    // receiver's next call.
    let pixels: Vec<u8> = (0..6 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let frame = Video::Frame(FrameData {
        width: 1920,
        height: 1080,
        pixels,
        tags: vec![
            ("camera".into(), "left".into()),
            ("lens".into(), "wide".into()),
        ],
        thumbnail: Some(Thumbnail::Named {
            name: "thumb".into(),
            data: vec![9; 300].into_boxed_slice(),
        }),
    });
    // Sent as a view: nothing of the frame is copied before the ring.
    tx.send_view(&frame.as_view()).unwrap();
    let mapping = rx.raw.ring().mapped_range();
    let inside = |what: &str, bytes: &[u8]| {
        let (start, end) = (
            bytes.as_ptr() as usize,
            bytes.as_ptr() as usize + bytes.len(),
        );
        assert!(
            mapping.contains(&start) && end <= mapping.end,
            "{what} was copied out of the mapping"
        );
    };
    {
        let guard = rx.recv_view().unwrap();
        let VideoView::Frame(FrameDataView {
            width,
            height,
            pixels,
            tags,
            thumbnail,
        }) = &*guard
        else {
            panic!("wrong variant")
        };
        assert_eq!((*width, *height), (1920, 1080));
        let _: &&[u8] = pixels;
        inside("pixels", pixels);
        assert_eq!(pixels.len(), 6 * 1024 * 1024);
        let _: &Vec<(&str, &str)> = tags;
        for (key, value) in tags {
            inside("a tag key", key.as_bytes());
            inside("a tag value", value.as_bytes());
        }
        let Some(ThumbnailView::Named { name, data }) = thumbnail else {
            panic!("wrong thumbnail")
        };
        inside("the thumbnail's name", name.as_bytes());
        inside("the thumbnail's data", data);
    }
    tx.send(&frame).unwrap();
    assert_eq!(rx.recv().unwrap(), frame);
    tx.send(&frame).unwrap();
    assert_eq!(rx.recv_view().unwrap().into_owned(), frame);
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, crate::Schema)]
#[serde(default = "made")]
pub struct Defaults {
    name: String,
    #[serde(skip, default)]
    count: u32,
    #[serde(skip)]
    other: u32,
}

fn made() -> Defaults {
    Defaults {
        name: "made".into(),
        count: 42,
        other: 43,
    }
}

#[test]
fn a_view_fills_skipped_fields_as_serde_does() {
    // serde: a field's own `default` wins over the container's `default = "path"`, which
    // fills the other skipped fields.
    let sent = Defaults {
        name: "sent".into(),
        count: 5,
        other: 6,
    };
    let bytes = codec::encode_to_vec(&sent).unwrap();
    let owned: Defaults = codec::decode_private(&bytes).unwrap();
    let view: DefaultsView<'_> = codec::decode(&bytes).unwrap();
    let expected = Defaults {
        name: "sent".into(),
        count: 0,
        other: 43,
    };
    assert_eq!(owned, expected);
    assert_eq!(view.into_owned(), expected);
    assert_eq!(
        codec::encode_to_vec(&crate::SchemaView::view(&sent)).unwrap(),
        bytes
    );
}
