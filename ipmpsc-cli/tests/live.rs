//! The inspector against live channels: a receiver in this process, senders in child
//! processes, messages queued.

mod common;

use std::time::Duration;

use common::{ipmpsc, messages_of, Role, SenderChild, ShmPath, Telemetry};

#[test]
fn child_process() {
    common::child_main();
}

/// Record size of a payload of `len` bytes: its length word, padded to a multiple of 8.
fn record_size(len: u64) -> u64 {
    (len + 8 + 7) & !7
}

#[test]
fn inspect_shows_the_receiver_the_senders_and_the_bytes_in_use() {
    let path = ShmPath::new("inspect");
    let mut rx = Telemetry::create_receiver(&path, 64 * 1024).unwrap();
    let first = SenderChild::start(Role::Send, &path, "first");
    let second = SenderChild::start(Role::Send, &path, "second");

    let run = ipmpsc(&["inspect", path.as_str()]).ok();
    let text = &run.stdout;
    let me = std::process::id();
    assert!(
        text.contains(&format!("channel       {}\n", path.as_str())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "schema        Telemetry v7, hash {:016x}\n",
            Telemetry::SCHEMA_HASH
        )),
        "{text}"
    );
    assert!(
        text.contains("description   matches the schema hash: messages decode exactly\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "                Reading(Reading { sensor: String, value: i64, at: Option<u64> })\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("receiver      alive, pid {me}")),
        "{text}"
    );
    assert!(
        text.contains("senders       2 alive of 128 slots"),
        "{text}"
    );
    for child in [&first, &second] {
        let line = format!("pid {:<7} sender, alive\n", child.pid());
        assert!(text.contains(&line), "{line:?} in {text}");
    }
    assert!(text.contains("state         open\n"), "{text}");
    assert!(
        text.contains("dead senders  0 reservation(s) waiting to be skipped, 0 skipped so far"),
        "{text}"
    );

    // The bytes in use are the records `peek` finds, one after another from the head.
    let inspected: serde_json::Value =
        serde_json::from_str(&ipmpsc(&["inspect", path.as_str(), "--json"]).ok().stdout).unwrap();
    let peeked = ipmpsc(&["peek", "--json", path.as_str()]).ok();
    let records: Vec<serde_json::Value> = peeked
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 18);
    let mut position = inspected["cursors"]["head"].as_u64().unwrap();
    for record in &records {
        assert_eq!(record["position"].as_u64().unwrap(), position);
        position += record_size(record["len"].as_u64().unwrap());
    }
    assert_eq!(inspected["cursors"]["tail"].as_u64().unwrap(), position);
    assert_eq!(inspected["queued_bytes"].as_u64().unwrap(), position);
    assert_eq!(inspected["bytes_in_use"].as_u64().unwrap(), position);
    assert!(
        text.contains(&format!("in use        {position} bytes")),
        "{text}"
    );
    assert_eq!(
        inspected["receiver"]["pid"].as_u64().unwrap(),
        u64::from(me)
    );
    assert_eq!(inspected["receiver"]["alive"], true);
    assert_eq!(inspected["schema"]["name"], "Telemetry");
    assert_eq!(inspected["schema"]["version"], 7);
    assert_eq!(
        inspected["schema"]["hash"],
        format!("{:016x}", Telemetry::SCHEMA_HASH)
    );
    assert_eq!(inspected["description_check"]["status"], "verified");
    let mut pids: Vec<u64> = inspected["senders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["alive"] == true && s["role"] == "sender")
        .map(|s| s["pid"].as_u64().unwrap())
        .collect();
    pids.sort();
    let mut expected = vec![u64::from(first.pid()), u64::from(second.pid())];
    expected.sort();
    assert_eq!(pids, expected);

    // Once everything is received and the senders have left, nothing is in use.
    first.finish();
    second.finish();
    // (`Disconnected` once everything was received: both senders left.)
    while let Ok(Some(_msg)) = rx.try_recv() {}
    let inspected: serde_json::Value =
        serde_json::from_str(&ipmpsc(&["--json", "inspect", path.as_str()]).ok().stdout).unwrap();
    assert_eq!(inspected["bytes_in_use"], 0);
    assert_eq!(inspected["live_senders"], 0);
    assert_eq!(inspected["registrations"], 2);
}

#[test]
fn peek_prints_exactly_the_queued_messages_in_order_and_consumes_none() {
    let path = ShmPath::new("peek");
    let mut rx = Telemetry::create_receiver(&path, 64 * 1024).unwrap();
    // One after the other, so that their messages are queued in this order.
    let first = SenderChild::start(Role::Send, &path, "first");
    let second = SenderChild::start(Role::Send, &path, "second");
    let expected: Vec<(Telemetry, String)> = messages_of(first.pid(), "first")
        .into_iter()
        .chain(messages_of(second.pid(), "second"))
        .collect();
    let lines: Vec<&str> = expected.iter().map(|(_, json)| json.as_str()).collect();

    let run = ipmpsc(&["peek", path.as_str()]).ok();
    assert_eq!(run.lines(), lines);
    assert!(
        run.stderr.starts_with("18 messages (") && run.stderr.contains("; that is all"),
        "{}",
        run.stderr
    );
    // Peeking twice shows the same: nothing was consumed.
    assert_eq!(ipmpsc(&["peek", path.as_str()]).ok().lines(), lines);
    let run = ipmpsc(&["peek", path.as_str(), "--max", "3"]).ok();
    assert_eq!(run.lines(), lines[..3]);
    assert!(run.stderr.contains("stopped at --max"), "{}", run.stderr);

    // `--json` wraps each message with its position and length; the message is the same JSON.
    let run = ipmpsc(&["peek", path.as_str(), "--json"]).ok();
    for (line, (_, json)) in run.lines().iter().zip(&expected) {
        let wrapped: serde_json::Value = serde_json::from_str(line).unwrap();
        let alone: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(wrapped["message"], alone);
    }

    // The receiver gets every message peeked, in the same order.
    for (msg, _) in &expected {
        let got = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(got.as_ref(), Some(msg));
    }
    assert_eq!(rx.try_recv().unwrap(), None);
    let run = ipmpsc(&["peek", path.as_str()]).ok();
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.starts_with("0 messages (0 bytes)"),
        "{}",
        run.stderr
    );
    first.finish();
    second.finish();
}

#[test]
fn a_dead_senders_reservation_is_shown_and_peek_stops_before_it() {
    let path = ShmPath::new("dead");
    let mut rx = Telemetry::create_receiver(&path, 64 * 1024).unwrap();
    let lender = SenderChild::start(Role::Loan, &path, "lender");
    let dead_pid = lender.pid();
    lender.kill();
    // Queued behind the dead sender's reservation.
    let tx = Telemetry::open_sender(&path).unwrap();
    tx.send(&Telemetry::Bye).unwrap();

    let run = ipmpsc(&["inspect", path.as_str()]).ok();
    let text = &run.stdout;
    let dead_line =
        format!("pid {dead_pid:<7} sender, dead, left a 120-byte reservation at position ");
    assert!(text.contains(&dead_line), "{dead_line:?} in {text}");
    assert!(text.contains(": the receiver skips it\n"), "{text}");
    assert!(
        text.contains("dead senders  1 reservation(s) waiting to be skipped, 0 skipped so far"),
        "{text}"
    );
    assert!(
        text.contains("senders       1 alive of 128 slots"),
        "{text}"
    );

    let (_, hello) = messages_of(dead_pid, "lender").remove(0);
    let run = ipmpsc(&["peek", path.as_str()]).ok();
    assert_eq!(run.lines(), [hello.as_str()]);
    let stopped = format!(
        "stopped at a reservation not committed yet at position {} (pid {dead_pid}, dead: the \
         receiver skips it)",
        // The reservation follows the `Hello`.
        run.stderr
            .split("position ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap_or("?")
    );
    assert!(run.stderr.contains(&stopped), "{}", run.stderr);

    // The receiver gets the `Hello`, skips the reservation, and gets the `Bye` behind it.
    assert!(matches!(rx.recv().unwrap(), Telemetry::Hello { .. }));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Some(Telemetry::Bye)
    );
    let run = ipmpsc(&["inspect", path.as_str()]).ok();
    assert!(
        run.stdout
            .contains("dead senders  0 reservation(s) waiting to be skipped, 1 skipped so far"),
        "{}",
        run.stdout
    );
}

/// End to end, with real processes. (The `ipmpsc` crate's own
/// `peek_while_the_receiver_consumes_returns_only_whole_messages` takes the same path tens of
/// thousands of times a run, which a test that starts a process per peek cannot.)
#[test]
fn peek_at_a_channel_in_full_flow_shows_only_whole_messages() {
    let path = ShmPath::new("flood");
    let mut rx = Telemetry::create_receiver(&path, 4096).unwrap();
    let flood = SenderChild::start(Role::Flood, &path, "flood");
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(Some(msg)) = rx.recv_timeout(Duration::from_millis(10)) {
                    assert!(matches!(msg, Telemetry::Reading(_)));
                }
                // Slower than the sender, so that messages are queued while they are peeked at.
                for _ in 0..2000 {
                    std::hint::spin_loop();
                }
            }
        });
        // Stops the receiving thread however this one ends (a failed assertion included).
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let _stop = Stop(&stop);
        let mut seen = 0;
        for _ in 0..60 {
            for json in [false, true] {
                let mut args = vec!["peek", path.as_str()];
                if json {
                    args.push("--json");
                }
                let run = ipmpsc(&args).ok();
                for line in run.lines() {
                    let v: serde_json::Value = serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"));
                    let message = if json { &v["message"] } else { &v };
                    assert!(message["Reading"]["sensor"].is_string(), "{line}");
                    seen += 1;
                }
            }
        }
        assert!(seen > 0, "the flood was never seen");
    });
    flood.finish();
}
