//! Inspecting and peeking at real channels, and at files that are not channels.

use super::*;

#[test]
fn peek_copies_the_queued_messages_and_consumes_nothing() {
    let file = ShmFile::new("peek");
    let mut rx = Shapes::create_receiver(&file.0, 64 * 1024).unwrap();
    let tx = Shapes::open_sender(&file.0).unwrap();
    let sent: Vec<(Shapes, &str)> = samples();
    for (msg, _) in &sent {
        tx.send(msg).unwrap();
    }
    let channel = Inspection::open(&file.0).unwrap();
    let decoder = channel.decoder();
    let peek = channel.peek(usize::MAX).unwrap();
    assert_eq!(peek.end, PeekEnd::Tail);
    assert_eq!(peek.overtaken, 0);
    let shown: Vec<String> = peek
        .messages
        .iter()
        .map(|m| decoder.decode_or_hex(&m.bytes).to_string())
        .collect();
    let expected: Vec<&str> = sent.iter().map(|(_, json)| *json).collect();
    assert_eq!(shown, expected);
    assert_eq!(channel.peek(3).unwrap().messages, peek.messages[..3]);
    assert_eq!(channel.peek(3).unwrap().end, PeekEnd::Limit);

    let snap = channel.snapshot().unwrap();
    assert!(snap.receiver.alive);
    assert_eq!(snap.receiver.pid, Some(std::process::id()));
    assert_eq!(snap.live_senders(), 1);
    assert_eq!(snap.senders[0].pid, std::process::id());
    assert_eq!(snap.queued_bytes(), peek.tail - peek.head);
    assert_eq!(snap.corruption, None);
    assert_eq!(snap.state, ChannelState::default());

    for (msg, _) in &sent {
        // Compared as bytes: NaN is not equal to itself.
        let got = rx.recv().unwrap();
        assert_eq!(encode_to_vec(&got).unwrap(), encode_to_vec(msg).unwrap());
    }
    assert!(rx.try_recv().unwrap().is_none());
    let after = channel.peek(usize::MAX).unwrap();
    assert!(after.messages.is_empty());
    drop(rx);
    let snap = channel.snapshot().unwrap();
    assert!(!snap.receiver.alive);
    assert!(snap.state.closed);
    assert_eq!(snap.receiver.pid, None);
}

#[test]
fn peek_while_the_receiver_consumes_returns_only_whole_messages() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let file = ShmFile::new("race");
    let mut rx = Shapes::create_receiver(&file.0, 4096).unwrap();
    let tx = Shapes::open_sender(&file.0).unwrap();
    let stop = AtomicBool::new(false);
    let received = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Relaxed) {
                let text = format!("{i:0>width$}", width = (i % 50) as usize);
                let _ = tx.send_timeout(&Shapes::Strings(vec![text]), Duration::from_millis(10));
                i += 1;
            }
        });
        s.spawn(|| {
            // Slower than the sender, so that the ring is full while it is peeked at.
            while !stop.load(Relaxed) {
                if let Ok(Some(_)) = rx.recv_timeout(Duration::from_millis(10)) {
                    received.fetch_add(1, Relaxed);
                }
                for _ in 0..2000 {
                    std::hint::spin_loop();
                }
            }
        });
        // Stops the threads however this one ends (a failed assertion included).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Relaxed);
            }
        }
        let _stop = Stop(&stop);
        let channel = Inspection::open(&file.0).unwrap();
        let decoder = channel.decoder();
        let (mut seen, mut overtaken, mut peeks) = (0u64, 0u64, 0u64);
        // Until the receiver has taken many messages while they were peeked at.
        while received.load(Relaxed) < 20_000 || seen < 20_000 {
            let peek = channel.peek(usize::MAX).unwrap();
            assert!(!matches!(peek.end, PeekEnd::Corrupt(_)), "{:?}", peek.end);
            let mut last = None;
            for m in &peek.messages {
                let v = decoder.decode(&m.bytes).unwrap().to_string();
                assert!(v.starts_with(r#"{"Strings":[""#), "{v}");
                assert!(last < Some(m.position), "in order");
                last = Some(m.position);
                seen += 1;
            }
            overtaken += u64::from(peek.overtaken);
            peeks += 1;
            assert!(peeks < 10_000_000, "the threads made no progress");
        }
        eprintln!("{peeks} peeks saw {seen} messages, overtaken {overtaken} times");
    });
}

#[test]
fn a_raw_channel_is_inspected_and_its_messages_shown_in_hex() {
    let file = ShmFile::new("raw");
    let buffer = crate::SharedRingBuffer::create(&file.0, 1000).unwrap();
    let tx = crate::Sender::new(buffer.clone());
    tx.send(&(1u8, 2u8)).unwrap();
    let channel = Inspection::open(&file.0).unwrap();
    assert_eq!(channel.schema().hash, 0);
    assert_eq!(channel.layout().max_message, 1000);
    let peek = channel.peek(10).unwrap();
    assert_eq!(
        channel
            .decoder()
            .decode_or_hex(&peek.messages[0].bytes)
            .to_string(),
        r#"{"error":"a raw (untyped) channel: its messages carry no schema","hex":"0102"}"#
    );
    drop((tx, buffer));
}

#[test]
fn files_that_are_not_channels_are_named_for_what_they_are() {
    let file = ShmFile::new("other");
    let cases: [(&[u8], &str); 4] = [
        (b"", "is not an ipmpsc channel: the file is empty"),
        (
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            r#"is not an ipmpsc channel: it starts with the bytes 89 50 4e 47 0d 0a 1a 0a ("\x89PNG\r\n\x1a\n"), where a channel file has the magic bytes 49 50 4d 50 53 43 72 62 ("IPMPSCrb")"#,
        ),
        (b"IPM", "it starts with the bytes 49 50 4d"),
        (
            b"IPMPSCrb and then too little",
            "is a truncated ipmpsc channel: it is 28 bytes long",
        ),
    ];
    for (bytes, says) in cases {
        std::fs::write(&file.0, bytes).unwrap();
        let err = Inspection::open(&file.0).unwrap_err();
        assert!(matches!(err, Error::IncompatibleRingBuffer(_)), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(is_channel(&file.0).unwrap(), bytes.starts_with(b"IPMPSCrb"));
    }
}
