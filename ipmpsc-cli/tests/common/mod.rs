//! Helpers of the inspector's tests: the message type, unique `/dev/shm` paths that remove
//! themselves, sender processes (the test binary itself, started again in a role), and a way
//! to run the `ipmpsc` binary.
//!
//! A test binary that starts senders has a test called `child_process` that calls
//! [`child_main`]: started with [`ROLE`] in its environment, that test is the sender; in a
//! normal run it does nothing.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A reading nested in messages. (Its value is an integer: `#[derive(ipmpsc::Schema)]` does
/// not compile for a struct that holds a float next to a string, see the closing notes.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct Reading {
    pub sensor: String,
    pub value: i64,
    pub at: Option<u64>,
}

/// The channel of the tests.
#[ipmpsc::channel(version = 7)]
#[derive(Debug, Clone, PartialEq)]
pub enum Telemetry {
    Hello { pid: u32, name: String },
    Reading(Reading),
    Batch(Vec<Reading>),
    Tags(BTreeMap<String, Vec<String>>),
    Blob(Vec<u8>),
    Pair(u128, char),
    Level(f32, f64),
    Bye,
}

/// The messages a sender child named `name` sends, and the JSON line `ipmpsc peek` prints
/// for each.
pub fn messages_of(pid: u32, name: &str) -> Vec<(Telemetry, String)> {
    let reading = Reading {
        sensor: format!("{name}/t"),
        value: -21,
        at: Some(1_700_000_000),
    };
    vec![
        (
            Telemetry::Hello {
                pid,
                name: name.to_owned(),
            },
            format!(r#"{{"Hello":{{"pid":{pid},"name":"{name}"}}}}"#),
        ),
        (
            Telemetry::Reading(reading.clone()),
            format!(r#"{{"Reading":{{"sensor":"{name}/t","value":-21,"at":1700000000}}}}"#),
        ),
        (
            Telemetry::Batch(vec![
                reading,
                Reading {
                    sensor: "\"quoted\"\n".into(),
                    value: i64::MIN,
                    at: None,
                },
            ]),
            format!(
                r#"{{"Batch":[{{"sensor":"{name}/t","value":-21,"at":1700000000}},{{"sensor":"\"quoted\"\n","value":-9223372036854775808,"at":null}}]}}"#
            ),
        ),
        (
            Telemetry::Tags(BTreeMap::from([
                ("colour".to_owned(), vec!["red".to_owned(), "ß".to_owned()]),
                ("empty".to_owned(), vec![]),
            ])),
            r#"{"Tags":{"colour":["red","ß"],"empty":[]}}"#.to_owned(),
        ),
        (Telemetry::Blob(vec![]), r#"{"Blob":[]}"#.to_owned()),
        (
            Telemetry::Blob((0..=255).collect()),
            format!(
                r#"{{"Blob":[{}]}}"#,
                (0..=255)
                    .map(|b: u32| b.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        (
            Telemetry::Pair(u128::MAX, '🦀'),
            r#"{"Pair":[340282366920938463463374607431768211455,"🦀"]}"#.to_owned(),
        ),
        (
            Telemetry::Level(0.1, -1e300),
            r#"{"Level":[0.1,-1e300]}"#.to_owned(),
        ),
        (Telemetry::Bye, r#""Bye""#.to_owned()),
    ]
}

// ------------------------------------------------------------------------------------------
// Files.

/// A unique path under `/dev/shm`, removed (with whatever is at it) when dropped.
pub struct ShmPath(pub PathBuf);

impl ShmPath {
    pub fn new(what: &str) -> ShmPath {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(format!(
            "/dev/shm/ipmpsc-cli-test-{what}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(&path);
        ShmPath(path)
    }

    pub fn as_str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl AsRef<Path> for ShmPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ShmPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------------------------------
// Running the inspector.

/// What a run of `ipmpsc` gave.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The run succeeded and said nothing on stderr but, for `peek`, its summary.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, Some(0), "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        self
    }

    /// The run failed with one line on stderr, `error: …`, and no panic; returns that line.
    pub fn failed(&self) -> &str {
        assert_eq!(self.code, Some(1), "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        let last = lines.last().copied().unwrap_or_default();
        assert!(last.starts_with("error: "), "{self:#?}");
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("error: ")).count(),
            1,
            "{self:#?}"
        );
        last
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Runs `ipmpsc` with `args` and waits for it.
pub fn ipmpsc(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ipmpsc"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the ipmpsc binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 output"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 errors"),
    }
}

// ------------------------------------------------------------------------------------------
// Sender processes.

/// Environment variable that makes the test binary a sender child, with its role.
pub const ROLE: &str = "IPMPSC_CLI_TEST_ROLE";
/// The channel the child opens.
const CHANNEL: &str = "IPMPSC_CLI_TEST_CHANNEL";
/// The name it sends as.
const NAME: &str = "IPMPSC_CLI_TEST_NAME";
/// The line a child writes once it has done what its role says.
const READY: &str = "IPMPSC_CLI_TEST_READY";

/// What a sender child does.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// Sends [`messages_of`] its pid and name, says it is ready, and keeps its sender until its
    /// stdin closes.
    Send,
    /// Sends its `Hello`, takes a loan (a reservation it never commits), says it is ready,
    /// and waits to be killed.
    Loan,
    /// Says it is ready and sends readings as fast as it can until its stdin closes.
    Flood,
}

/// A sender child; killed and reaped when dropped.
pub struct SenderChild {
    pub child: Child,
    stdin: Option<ChildStdin>,
}

impl SenderChild {
    /// Starts the test binary again as a sender of `role` on `channel`, named `name`, and
    /// waits until it is ready.
    pub fn start(role: Role, channel: &ShmPath, name: &str) -> SenderChild {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, format!("{role:?}"))
            .env(CHANNEL, &channel.0)
            .env(NAME, name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the test binary starts again");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                // The harness may have started the line ("test child_process ... ").
                Some(Ok(line)) if line.ends_with(READY) => break,
                Some(Ok(_)) => continue,
                _ => {
                    let status = child.wait();
                    panic!("sender child {role:?} ended before it was ready: {status:?}");
                }
            }
        }
        // Whatever it writes later (the harness's verdict) is read and dropped, so that it
        // never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        SenderChild { child, stdin }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes its stdin (it lets go of its sender and ends) and waits for it.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "sender child: {status}");
    }

    /// Kills it with SIGKILL, whatever it is doing, and reaps it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for SenderChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a sender child (see the module docs); returns at once in a normal test run.
pub fn child_main() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let channel = std::env::var(CHANNEL).unwrap();
    let name = std::env::var(NAME).unwrap();
    let pid = std::process::id();
    let tx = Telemetry::open_sender(&channel).unwrap();
    let ready = || {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{READY}").unwrap();
        out.flush().unwrap();
    };
    let wait_for_eof = || {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).unwrap_or(0) > 0 {}
    };
    match role.as_str() {
        "Send" => {
            for (msg, _) in messages_of(pid, &name) {
                tx.send(&msg).unwrap();
            }
            ready();
            wait_for_eof();
        }
        "Loan" => {
            let (hello, _) = messages_of(pid, &name).remove(0);
            tx.send(&hello).unwrap();
            let _loan = tx.loan(100, TelemetryView::Blob).unwrap();
            ready();
            wait_for_eof();
            unreachable!("the test kills this process");
        }
        "Flood" => {
            let stop = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| {
                    wait_for_eof();
                    stop.store(true, Ordering::Relaxed);
                });
                ready();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let msg = Telemetry::Reading(Reading {
                        sensor: name.repeat((n % 7) as usize),
                        value: n as i64,
                        at: n.checked_rem(3).filter(|r| *r != 0),
                    });
                    let _ = tx.send_timeout(&msg, std::time::Duration::from_millis(50));
                    n += 1;
                }
            });
        }
        other => panic!("unknown role {other}"),
    }
}
