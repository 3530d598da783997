//! The inspector on a directory of files of all kinds, on corrupt channel files and on files
//! of other formats: clear errors, a non-zero exit code, never a panic.

mod common;

use std::io::{Seek, SeekFrom, Write};

use common::{ipmpsc, ShmPath, Telemetry};

/// Header offsets (pinned by the layout tests of the `ipmpsc` crate).
const LAYOUT_VERSION: u64 = 8;
const CAPACITY: u64 = 32;
const SCHEMA_DESC_LEN: u64 = 60;
const HEAD: u64 = 256;
const TAIL: u64 = 512;

/// Writes `bytes` at `offset` of the file at `path`.
fn poke(path: &ShmPath, offset: u64, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(bytes).unwrap();
}

/// A channel file with two messages queued and nobody attached, to break in various ways:
/// a copy of a live channel's file.
fn channel_copy(what: &str) -> (ShmPath, serde_json::Value) {
    let live = ShmPath::new(&format!("{what}-live"));
    let rx = Telemetry::create_receiver(&live, 4096).unwrap();
    let tx = Telemetry::open_sender(&live).unwrap();
    tx.send(&Telemetry::Pair(1, 'x')).unwrap();
    tx.send(&Telemetry::Bye).unwrap();
    let copy = ShmPath::new(what);
    std::fs::copy(&live, &copy).unwrap();
    drop((tx, rx));
    let inspected = ipmpsc(&["inspect", "--json", copy.as_str()]).ok();
    (copy, serde_json::from_str(&inspected.stdout).unwrap())
}

/// The cells of a table row: separated by two spaces or more.
fn columns(line: &str) -> Vec<&str> {
    line.split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect()
}

#[test]
fn list_shows_the_channels_of_a_directory_and_skips_other_files() {
    let dir = ShmPath::new("list");
    std::fs::create_dir(&dir).unwrap();
    let typed = dir.0.join("typed");
    let raw = dir.0.join("raw");
    let _rx = Telemetry::create_receiver(&typed, 64 * 1024).unwrap();
    let tx = Telemetry::open_sender(&typed).unwrap();
    tx.send(&Telemetry::Bye).unwrap();
    drop(ipmpsc::SharedRingBuffer::create(&raw, 1000).unwrap());
    std::fs::write(dir.0.join("notes.txt"), "not a channel\n").unwrap();
    std::fs::write(dir.0.join("empty"), "").unwrap();
    std::fs::write(dir.0.join("picture.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    std::fs::create_dir(dir.0.join("subdir")).unwrap();
    // A channel of another layout version: listed, with what is wrong with it.
    let old = dir.0.join("old");
    std::fs::copy(&raw, &old).unwrap();
    let mut f = std::fs::OpenOptions::new().write(true).open(&old).unwrap();
    f.seek(SeekFrom::Start(LAYOUT_VERSION)).unwrap();
    f.write_all(&1u32.to_le_bytes()).unwrap();

    let run = ipmpsc(&["list", dir.as_str()]).ok();
    let lines = run.lines();
    let me = std::process::id();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(lines[0].starts_with("PATH "), "{}", run.stdout);
    assert_eq!(
        columns(lines[1]),
        [
            &*raw.display().to_string(),
            "raw",
            "0.0%",
            "0 B",
            "none yet",
            "0"
        ]
    );
    assert_eq!(
        columns(lines[2]),
        [
            &*typed.display().to_string(),
            "Telemetry v7",
            "0.0%",
            "16 B",
            &*format!("up (pid {me})"),
            "1"
        ]
    );
    assert_eq!(
        lines[3],
        format!(
            "{}: not a channel this version of ipmpsc can use: layout version differs: the file \
             has 1, this build uses 2",
            old.display()
        )
    );
    assert_eq!(lines[4], "(3 other files skipped: not channels)");

    let run = ipmpsc(&["list", dir.as_str(), "--json"]).ok();
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    // In the order of their paths: old, raw, typed.
    assert!(listed[0]["error"]
        .as_str()
        .unwrap()
        .contains("layout version"));
    assert_eq!(listed[1]["schema"]["raw"], true);
    assert_eq!(listed[2]["schema"]["name"], "Telemetry");
    assert_eq!(listed[2]["receiver"]["pid"].as_u64(), Some(u64::from(me)));
    assert_eq!(listed[2]["live_senders"], 1);
    assert_eq!(listed[2]["queued_bytes"], 16);

    // An empty directory, and one that is not there.
    let empty = ShmPath::new("list-empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(
        ipmpsc(&["list", empty.as_str()]).ok().stdout,
        "no channels\n"
    );
    assert_eq!(
        ipmpsc(&["list", empty.as_str(), "--json"]).ok().stdout,
        "[]\n"
    );
    let gone = ShmPath::new("list-gone");
    let run = ipmpsc(&["list", gone.as_str()]);
    assert!(
        run.failed().contains("could not read the directory"),
        "{run:?}"
    );
}

#[test]
fn files_of_other_formats_are_not_channels() {
    let path = ShmPath::new("other");
    let mut noise = vec![0u8; 8192];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let cases: [(&[u8], &str); 5] = [
        (
            &noise,
            "is not an ipmpsc channel: it starts with the bytes ",
        ),
        (
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            r#"is not an ipmpsc channel: it starts with the bytes 89 50 4e 47 0d 0a 1a 0a ("\x89PNG\r\n\x1a\n"), where a channel file has the magic bytes 49 50 4d 50 53 43 72 62 ("IPMPSCrb")"#,
        ),
        (b"", "is not an ipmpsc channel: the file is empty"),
        (
            b"hello\n",
            r#"it starts with the bytes 68 65 6c 6c 6f 0a ("hello\n")"#,
        ),
        (
            b"IPMPSCrb",
            "is a truncated ipmpsc channel: it is 8 bytes long",
        ),
    ];
    for (bytes, says) in cases {
        std::fs::write(&path, bytes).unwrap();
        for command in ["inspect", "peek"] {
            for json in [false, true] {
                let mut args = vec![command, path.as_str()];
                if json {
                    args.push("--json");
                }
                let run = ipmpsc(&args);
                let error = run.failed();
                assert!(error.contains(says), "{command}: {error}");
                assert!(run.stdout.is_empty(), "{run:?}");
            }
        }
    }
    // A directory, and a FIFO (which an open for reading would wait on for a writer).
    let dir = ShmPath::new("other-dir");
    std::fs::create_dir(&dir).unwrap();
    let fifo = ShmPath::new("other-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo.0)
        .status()
        .unwrap();
    assert!(made.success());
    for path in [&dir, &fifo] {
        for command in ["inspect", "peek"] {
            let run = ipmpsc(&[command, path.as_str()]);
            assert!(
                run.failed()
                    .ends_with("is not an ipmpsc channel: it is not a regular file"),
                "{run:?}"
            );
        }
    }
    let missing = ShmPath::new("missing");
    let run = ipmpsc(&["inspect", missing.as_str()]);
    assert_eq!(
        run.failed(),
        format!(
            "error: could not open the channel file {}: No such file or directory (os error 2)",
            missing.as_str()
        )
    );
}

#[test]
fn a_corrupt_header_is_a_clear_error() {
    let (path, _) = channel_copy("header");
    let original = std::fs::read(&path).unwrap();
    let restore = || std::fs::write(&path, &original).unwrap();
    let check = |says: &str| {
        for command in ["inspect", "peek"] {
            let run = ipmpsc(&[command, path.as_str()]);
            let error = run.failed();
            assert!(error.contains(says), "{command}: {error}");
        }
    };

    // The magic, flipped.
    poke(&path, 0, b"X");
    check("is not an ipmpsc channel: it starts with the bytes 58 50 4d 50");
    restore();
    // Another layout version.
    poke(&path, LAYOUT_VERSION, &3u32.to_le_bytes());
    check("layout version differs: the file has 3, this build uses 2");
    restore();
    // A capacity that is no multiple of 8.
    poke(&path, CAPACITY, &4097u64.to_le_bytes());
    check("channel file is corrupt: capacity 4097 is not a positive multiple of 8");
    restore();
    // A description length that points past the end of the file.
    poke(&path, SCHEMA_DESC_LEN, &(1u32 << 19).to_le_bytes());
    check("channel file is corrupt: file is ");
    restore();
    poke(&path, SCHEMA_DESC_LEN, &u32::MAX.to_le_bytes());
    check(
        "channel file is corrupt: schema text of 4294967304 bytes, longer than the header allows",
    );
    restore();
    // Truncated mid-header, and mid-data.
    std::fs::write(&path, &original[..500]).unwrap();
    check("is a truncated ipmpsc channel: it is 500 bytes long, shorter than a channel header (896 bytes)");
    std::fs::write(&path, &original[..original.len() - 100]).unwrap();
    check("channel file is corrupt: file is ");
    restore();
    assert_eq!(ipmpsc(&["peek", path.as_str()]).ok().lines().len(), 2);
}

#[test]
fn impossible_cursors_are_shown_and_reported() {
    let (path, inspected) = channel_copy("cursors");
    let tail = inspected["cursors"]["tail"].as_u64().unwrap();
    // The read position beyond the write position.
    poke(&path, HEAD, &(tail + 8).to_le_bytes());
    let run = ipmpsc(&["inspect", path.as_str()]);
    let error = run.failed();
    assert!(
        error.contains(&format!(
            "channel file is corrupt: impossible cursors: free 0, head {}, tail {tail}",
            tail + 8
        )),
        "{error}"
    );
    // The report is printed all the same, for the person who has to repair it.
    assert!(
        run.stdout.contains("schema        Telemetry v7"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("corrupt       impossible cursors"),
        "{}",
        run.stdout
    );
    let run = ipmpsc(&["inspect", "--json", path.as_str()]);
    run.failed();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(json["corruption"]
        .as_str()
        .unwrap()
        .starts_with("impossible cursors"));
    let run = ipmpsc(&["peek", path.as_str()]);
    assert!(run.failed().contains("impossible cursors"), "{run:?}");
    // A tail beyond what the file can hold.
    poke(&path, HEAD, &0u64.to_le_bytes());
    poke(&path, TAIL, &(1u64 << 40).to_le_bytes());
    assert!(ipmpsc(&["peek", path.as_str()])
        .failed()
        .contains("impossible cursors"));
}

#[test]
fn corrupt_records_end_peek_with_an_error_after_the_good_ones() {
    let (path, inspected) = channel_copy("records");
    let flags = inspected["layout"]["flags_offset"].as_u64().unwrap();
    let data = inspected["layout"]["data_offset"].as_u64().unwrap();
    let good = ipmpsc(&["peek", path.as_str()]).ok();
    let first = good.lines()[0].to_owned();
    assert_eq!(first, r#"{"Pair":[1,"x"]}"#);
    // The second record starts after the first (8 + 20 bytes, padded to 32).
    let second = 32;

    // A commit flag that is no record state.
    poke(&path, flags + second / 8, &[7]);
    let run = ipmpsc(&["peek", path.as_str()]);
    assert_eq!(run.lines(), [first.as_str()]);
    assert!(run
        .failed()
        .contains("commit flag 7 at position 32 is not a record state"));
    poke(&path, flags + second / 8, &[1]);

    // A length word that runs past the end of the ring.
    poke(&path, data + second, &u64::MAX.to_le_bytes());
    let run = ipmpsc(&["peek", path.as_str()]);
    assert_eq!(run.lines(), [first.as_str()]);
    assert!(run
        .failed()
        .contains("the record at position 32 claims 18446744073709551615 bytes"));

    // A length word that fits but says the wrong thing: the message is shown undecoded.
    poke(&path, data + second, &8u64.to_le_bytes());
    let run = ipmpsc(&["peek", path.as_str()]).ok();
    assert_eq!(run.lines()[0], first);
    let shown: serde_json::Value = serde_json::from_str(run.lines()[1]).unwrap();
    assert!(
        shown["error"]
            .as_str()
            .unwrap()
            .contains("decoded from 4 of its 8 bytes"),
        "{shown}"
    );
    assert_eq!(shown["hex"].as_str().unwrap().len(), 16);
}

#[test]
fn control_characters_of_the_header_are_escaped_not_sent_to_the_terminal() {
    let (copy, _) = channel_copy("escapes");
    let bytes = std::fs::read(&copy).unwrap();
    let at = bytes.windows(3).position(|w| w == b"\n  ").unwrap();
    // `\n\x1b[` in the description: a terminal would take it for a control sequence.
    poke(&copy, at as u64 + 1, b"\x1b[");
    let run = ipmpsc(&["inspect", copy.as_str()]).ok();
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
    assert!(run.stdout.contains("\\u{1b}["), "{}", run.stdout);
}
