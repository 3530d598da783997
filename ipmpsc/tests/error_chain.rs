//! Errors compose: an error's `Display` and its `source()` never say the same thing, so a
//! reporter that prints the whole chain (as `anyhow`'s `{:#}` does: each level's `Display`,
//! joined by ": ") shows every part once, and an I/O error names the file and what ipmpsc was
//! doing to it.

use std::error::Error as _;

use ipmpsc::SharedRingBuffer;

/// Each level of `e`'s chain: its `Display`, then its source's, and so on.
fn levels(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut levels = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        levels.push(cause.to_string());
        source = cause.source();
    }
    levels
}

/// The chain as `anyhow` prints it with `{:#}`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    levels(e).join(": ")
}

/// No level of the chain repeats another, in whole or in part.
fn assert_no_repeats(e: &(dyn std::error::Error + 'static)) {
    let levels = levels(e);
    for (i, a) in levels.iter().enumerate() {
        assert!(!a.is_empty(), "{levels:?}");
        for b in &levels[i + 1..] {
            assert!(
                !a.contains(b.as_str()) && !b.contains(a.as_str()),
                "repeated in the chain: {levels:?}"
            );
        }
    }
}

/// A path in `/dev/shm` for this test, removed when dropped.
struct Shm(String);

impl Shm {
    fn new(tag: &str) -> Shm {
        let path = format!("/dev/shm/ipmpsc-error-chain-{tag}-{}", std::process::id());
        let _ = std::fs::remove_file(&path);
        Shm(path)
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn an_io_error_says_what_ipmpsc_did_to_which_file_and_its_cause_once() {
    let missing = Shm::new("missing");
    let err = SharedRingBuffer::open(&missing.0).unwrap_err();
    assert_no_repeats(&err);
    let cause = std::io::Error::from_raw_os_error(2); // ENOENT on Linux
    assert_eq!(
        chain(&err),
        format!("could not open the channel file {}: {cause}", missing.0)
    );
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
}

#[test]
fn an_io_error_ipmpsc_decided_on_names_the_path_once() {
    let link = Shm::new("dangling");
    std::os::unix::fs::symlink("/dev/shm/ipmpsc-error-chain-nowhere", &link.0).unwrap();
    #[ipmpsc::channel]
    enum Msg {
        Ping,
    }
    let err = Msg::open_or_create_receiver(&link.0, 4096)
        .map(drop)
        .unwrap_err();
    assert_no_repeats(&err);
    let text = chain(&err);
    assert_eq!(text.matches(link.0.as_str()).count(), 1, "{text}");
    assert!(text.contains("symlink to nothing"), "{text}");
}

#[test]
fn a_schema_mismatch_is_said_once() {
    mod ours {
        #[ipmpsc::channel]
        pub enum Msg {
            Ping(u32),
        }
    }
    mod theirs {
        #[ipmpsc::channel]
        pub enum Msg {
            Ping(u64),
        }
    }
    let path = Shm::new("mismatch");
    let _rx = ours::Msg::create_receiver(&path.0, 4096).unwrap();
    let err = theirs::Msg::open_sender(&path.0).map(drop).unwrap_err();
    assert!(matches!(err, ipmpsc::Error::SchemaMismatch(_)), "{err}");
    assert_no_repeats(&err);
    let text = chain(&err);
    assert_eq!(text.matches("schema mismatch").count(), 1, "{text}");
    assert!(
        text.ends_with("variant `Ping`, field 0: channel has `u32`, this process has `u64`"),
        "{text}"
    );
}

#[test]
fn errors_without_a_cause_have_no_source() {
    let (_path, buffer) = SharedRingBuffer::create_temp(64).unwrap();
    let tx = ipmpsc::Sender::new(buffer);
    let err = tx.send(&vec![0u8; 1000]).unwrap_err();
    assert!(err.source().is_none(), "{err}");
    assert!(ipmpsc::Error::Disconnected.source().is_none());
}
