//! Helpers shared by the cross-process tests and by the `ipmpsc-test-child` binary (which
//! includes this file with `#[path]`): the wire types, the seeded payload pattern, unique
//! `/dev/shm` paths that remove themselves, and child processes that are killed and reaped
//! when a test fails.
//!
//! Nothing here uses dev-dependencies, because the child binary compiles it too.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

// ------------------------------------------------------------------------------------------
// Wire types.

/// The message of the raw-API tests: who sent it, its place in that producer's sequence, and a
/// payload derived from both (see [`payload`]), so the consumer can check every byte.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: u32,
    pub seq: u64,
    pub data: Vec<u8>,
}

/// The message of the typed tests.
#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Item { id: u32, seq: u64, data: Vec<u8> },
    Text(String),
    Stop,
}

/// A second message type, for tests that wait on channels of different types at once.
#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    Line { id: u32, seq: u64, text: String },
}

/// Counts `Serialize` calls of armed [`Fuse`]s (and of the child's panicking values).
pub static FUSE_CALLS: AtomicU64 = AtomicU64::new(0);
/// While set, a [`Fuse`] panics in the encoding pass of a send.
pub static FUSE_ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A string whose `Serialize` panics in the encoding pass (every second call: the first call
/// of a send is its sizing pass) while [`FUSE_ARMED`] is set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Fuse(pub String);

impl Serialize for Fuse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if FUSE_ARMED.load(Ordering::Relaxed) && FUSE_CALLS.fetch_add(1, Ordering::Relaxed) % 2 == 1
        {
            panic!("Serialize panics half-way through encoding");
        }
        serializer.serialize_str(&self.0)
    }
}

ipmpsc::opaque_schema!(Fuse, "tests::Fuse", version = 1);

/// A channel of fuses.
#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Fused {
    Text(Fuse),
}

/// Encoded size of an [`Item`] with `len` payload bytes (bincode legacy: u32, u64, u64 length,
/// bytes).
pub const fn item_encoded_len(len: u64) -> u64 {
    4 + 8 + 8 + len
}

/// Bytes of the data region of the channel file at `path` (the file's last bytes), as its
/// creator recorded them in the header: a channel of capacity C has C rounded up to 8, plus
/// a record's 8-byte length word.
pub fn data_region(path: &Path) -> u64 {
    let mut word = [0u8; 8];
    let file = std::fs::File::open(path).unwrap();
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut word, 32).unwrap();
    u64::from_ne_bytes(word)
}

// ------------------------------------------------------------------------------------------
// Seeded pattern.

/// splitmix64.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn key(seed: u64, id: u32, seq: u64) -> u64 {
    mix(seed ^ mix((u64::from(id) << 40) ^ seq))
}

/// Length of the payload of message `(id, seq)`: in `min..=max`.
pub fn payload_len(seed: u64, id: u32, seq: u64, min: usize, max: usize) -> usize {
    assert!(min <= max);
    min + (key(seed, id, seq) % (max - min + 1) as u64) as usize
}

/// Payload of message `(id, seq)`.
pub fn payload(seed: u64, id: u32, seq: u64, min: usize, max: usize) -> Vec<u8> {
    let len = payload_len(seed, id, seq, min, max);
    let mut s = key(seed, id, seq);
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        s = mix(s);
        let n = (len - v.len()).min(8);
        v.extend_from_slice(&s.to_le_bytes()[..n]);
    }
    v
}

/// A UTF-8 text (with multi-byte characters) derived from `(seed, i)`.
pub fn text(seed: u64, i: u64) -> String {
    const PARTS: [&str; 6] = ["ipmpsc", " ", "é", "→", "日本", "🦀"];
    let mut s = key(seed, 0xffff, i);
    let n = (s % 40) as usize;
    let mut out = format!("#{i}:");
    for _ in 0..n {
        s = mix(s);
        out.push_str(PARTS[(s % PARTS.len() as u64) as usize]);
    }
    out
}

/// Payload parameters shared by producers and the checking consumer.
#[derive(Debug, Clone, Copy)]
pub struct Pattern {
    pub seed: u64,
    pub min: usize,
    pub max: usize,
}

impl Pattern {
    pub fn item(&self, id: u32, seq: u64) -> Item {
        Item {
            id,
            seq,
            data: payload(self.seed, id, seq, self.min, self.max),
        }
    }

    /// Child arguments `<seed> <min> <max>`.
    pub fn args(&self) -> [String; 3] {
        [
            self.seed.to_string(),
            self.min.to_string(),
            self.max.to_string(),
        ]
    }
}

/// Checks that each producer's messages arrive in order, once each, with the right bytes.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Next expected sequence number per producer id.
    pub next: HashMap<u32, u64>,
    pub total: u64,
}

impl Tracker {
    pub fn check(&mut self, pattern: &Pattern, id: u32, seq: u64, data: &[u8]) {
        let next = self.next.entry(id).or_insert(0);
        assert_eq!(
            seq, *next,
            "producer {id}: expected sequence number {next}, got {seq} (lost, duplicated or reordered)"
        );
        let expected = payload(pattern.seed, id, seq, pattern.min, pattern.max);
        assert!(
            data == expected.as_slice(),
            "producer {id} seq {seq}: payload of {} bytes differs from the expected {} bytes",
            data.len(),
            expected.len()
        );
        *next += 1;
        self.total += 1;
    }

    pub fn received(&self, id: u32) -> u64 {
        self.next.get(&id).copied().unwrap_or(0)
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process of a test, so that a child
/// can say when something happened and the test can subtract.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

// ------------------------------------------------------------------------------------------
// Shared-memory paths.

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique path under `/dev/shm`, removed (with any staging files beside it) when dropped.
pub struct ShmPath {
    pub path: PathBuf,
}

impl ShmPath {
    pub fn new(tag: &str) -> ShmPath {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = PathBuf::from(format!(
            "/dev/shm/ipmpsc-suite-{tag}-{}-{}-{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        ShmPath { path }
    }

    pub fn as_str(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }

    /// The path's file name.
    pub fn name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
    }

    /// Names of the files beside the path shaped like its staging files: `.<name>.…`.
    pub fn staging_names(&self) -> Vec<String> {
        let prefix = format!(".{}.", self.name());
        std::fs::read_dir(self.path.parent().unwrap_or(Path::new("/dev/shm")))
            .map(|dir| {
                dir.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl AsRef<Path> for ShmPath {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for ShmPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        // Staging files of an interrupted create are `.<name>.<pid>.<n>.tmp` beside it.
        for name in self.staging_names() {
            let _ = std::fs::remove_file(self.path.with_file_name(name));
        }
    }
}

/// Sends `Stop` through `tx` with `try_send`, a millisecond apart, until a send is refused with
/// `Disconnected`. Panics with `why` if sends still go through once `elapsed()` reaches 2 s,
/// and on any other error.
pub fn send_until_disconnected(
    tx: &ipmpsc::TypedSender<Msg>,
    elapsed: impl Fn() -> Duration,
    why: &str,
) {
    loop {
        match tx.try_send(&Msg::Stop) {
            Err(ipmpsc::Error::Disconnected) => return,
            Ok(_) => assert!(elapsed() < Duration::from_secs(2), "{why}"),
            Err(e) => panic!("{e}"),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The address ranges at which this process maps `path` (from `/proc/self/maps`).
pub fn mapped_ranges(path: &Path) -> Vec<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    let wanted = path.to_str().expect("utf-8 path");
    maps.lines()
        .filter(|l| {
            let p = l.split_whitespace().nth(5).unwrap_or("");
            p == wanted
        })
        .filter_map(|l| {
            let (a, b) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

/// Whether `bytes` lies inside one mapping of `path`.
pub fn within_mapping(bytes: &[u8], path: &Path) -> bool {
    let start = bytes.as_ptr() as usize;
    let end = start + bytes.len();
    mapped_ranges(path)
        .iter()
        .any(|&(a, b)| a <= start && end <= b)
}

// ------------------------------------------------------------------------------------------
// Child processes.

/// Path of the helper binary; only integration tests know it.
#[macro_export]
macro_rules! child_bin {
    () => {
        env!("CARGO_BIN_EXE_ipmpsc-test-child")
    };
}

#[derive(Debug)]
enum Line {
    Out(String),
    Err(String),
    OutEof,
}

/// A child process whose stdout and stderr lines are read by background threads. Dropping it
/// kills (SIGKILL) and reaps the child if it still runs, so a failing test leaves no process
/// behind. The child's stdin is a pipe held open here: children that wait "forever" wait for
/// its end, so they also exit if the test process dies.
pub struct ChildProc {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Line>,
    /// Stderr lines seen so far (reported when an expectation fails).
    pub stderr_log: Vec<String>,
    out_eof: bool,
    status: Option<ExitStatus>,
}

impl ChildProc {
    pub fn spawn(bin: &str, args: &[&str], env: &[(&str, &str)]) -> ChildProc {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env_remove("RUST_BACKTRACE");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {bin} {args:?}: {e}"));
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(Line::Out(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Line::OutEof);
        });
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx2.send(Line::Err(line)).is_err() {
                    return;
                }
            }
        });
        ChildProc {
            name: format!("{} {}", args.first().unwrap_or(&""), child.id()),
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr_log: Vec::new(),
            out_eof: false,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "child `{}`: {what}; its stderr so far:\n{}",
            self.name,
            self.stderr_log.join("\n")
        )
    }

    /// The next stdout line, `None` at end of output; panics after `timeout`.
    pub fn next_out(&mut self, timeout: Duration) -> Option<String> {
        if self.out_eof {
            return None;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Out(l)) => return Some(l),
                Ok(Line::Err(l)) => self.stderr_log.push(l),
                Ok(Line::OutEof) => {
                    self.out_eof = true;
                    return None;
                }
                Err(_) => self.fail(&format!("no stdout line within {timeout:?}")),
            }
        }
    }

    /// The next stdout line if one comes within `timeout` (`Some(None)` at end of output).
    pub fn poll_out(&mut self, timeout: Duration) -> Option<Option<String>> {
        if self.out_eof {
            return Some(None);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Out(l)) => return Some(Some(l)),
                Ok(Line::Err(l)) => self.stderr_log.push(l),
                Ok(Line::OutEof) => {
                    self.out_eof = true;
                    return Some(None);
                }
                Err(_) => return None,
            }
        }
    }

    /// Reads stdout until a line starting with `prefix`; returns it. Panics on end of output
    /// or after `timeout`.
    pub fn expect_out(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_out(left) {
                Some(l) if l.starts_with(prefix) => return l,
                Some(_) => {}
                None => self.fail(&format!(
                    "stdout ended before a line starting with {prefix:?}"
                )),
            }
        }
    }

    /// Reads stderr until a line starting with `prefix`; returns it. Panics on exit or timeout.
    pub fn expect_err(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Err(l)) if l.starts_with(prefix) => return l,
                Ok(Line::Err(l)) => self.stderr_log.push(l),
                Ok(Line::Out(_)) => {}
                Ok(Line::OutEof) => {
                    self.out_eof = true;
                    // stderr may still hold the line; keep reading until the timeout.
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.fail(&format!(
                    "no stderr line starting with {prefix:?} within {timeout:?}"
                )),
                Err(mpsc::RecvTimeoutError::Disconnected) => self.fail(&format!(
                    "stderr ended before a line starting with {prefix:?}"
                )),
            }
        }
    }

    /// Waits for the child to close stdout (it exits) and reaps it; panics after `timeout` or
    /// if it did not exit with status 0.
    pub fn wait_success(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self
            .next_out(deadline.saturating_duration_since(Instant::now()))
            .is_some()
        {}
        let status = self.child.wait().expect("wait");
        self.status = Some(status);
        // Collect the rest of stderr for the message.
        while let Ok(line) = self.lines.try_recv() {
            if let Line::Err(l) = line {
                self.stderr_log.push(l);
            }
        }
        if !status.success() {
            self.fail(&format!("exited with {status}"));
        }
    }

    /// Everything the child printed that nobody read yet, plus its stderr so far, and whether it
    /// still runs (for failure messages).
    pub fn report(&mut self) -> String {
        let mut out = Vec::new();
        while let Ok(line) = self.lines.try_recv() {
            match line {
                Line::Out(l) => out.push(l),
                Line::Err(l) => self.stderr_log.push(l),
                Line::OutEof => self.out_eof = true,
            }
        }
        let state = match self.child.try_wait() {
            Ok(Some(status)) => format!("exited: {status}"),
            Ok(None) => "running".to_string(),
            Err(e) => format!("unknown: {e}"),
        };
        format!(
            "child `{}` ({state}); unread stdout: {:?}; stderr: {:?}",
            self.name,
            out.iter().rev().take(5).collect::<Vec<_>>(),
            self.stderr_log.iter().rev().take(20).collect::<Vec<_>>()
        )
    }

    /// Writes a line to the child's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to child stdin");
        stdin.flush().expect("flush child stdin");
    }

    /// Closes the child's stdin (children waiting "forever" then exit).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends `signal` to the child (it may not be gone when this returns).
    pub fn signal(&mut self, signal: i32) {
        // SAFETY: kill(2) with a pid this handle owns and has not reaped.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for the child to exit and reaps it; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.status = Some(status);
                return status;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("still running after {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGKILLs the child and reaps it. When this returns, the process is gone.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            self.status = Some(self.child.wait().expect("wait after kill"));
        }
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Arguments as `&str`s.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Starts `child produce`: producer `id` sends `count` [`Item`]s of `pattern` on the raw channel
/// at `path`, with `extra` options after the fixed arguments and `env` set.
pub fn spawn_producer(
    child: &str,
    path: &ShmPath,
    id: u32,
    count: u64,
    pattern: &Pattern,
    extra: &[&str],
    env: &[(&str, &str)],
) -> ChildProc {
    let [seed, min, max] = pattern.args();
    let (id, count) = (id.to_string(), count.to_string());
    let mut args = vec!["produce", path.as_str(), &id, &count, &seed, &min, &max];
    args.extend_from_slice(extra);
    ChildProc::spawn(child, &args, env)
}
