//! The bridge as users run it: real processes (sensors, `ipmpsc-bridge export`, `ipmpsc-bridge
//! import`, a collector) talking over zenoh on localhost TCP, some of them killed with SIGKILL
//! and started again.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Long enough for a debug build on a busy 2-core machine; every wait ends as soon as what it
/// waits for happens.
const PATIENCE: Duration = Duration::from_secs(90);

fn bridge() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ipmpsc-bridge"))
}

/// The walk-through's example programs, which `cargo test` builds next to the test binaries.
fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} is not built", path.display());
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Channel files of one test, removed at the end.
struct Files(Vec<String>);

impl Files {
    fn new(test: &str, names: &[&str]) -> Files {
        let files: Vec<String> = names
            .iter()
            .map(|n| format!("/dev/shm/ipmpsc-bridge-{test}-{n}-{}", std::process::id()))
            .collect();
        for f in &files {
            let _ = std::fs::remove_file(f);
        }
        Files(files)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Lines a child wrote, collected by a thread, with a condition variable to wait on.
#[derive(Default)]
struct Lines {
    lines: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl Lines {
    fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Lines> {
        let lines = Arc::new(Lines::default());
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                l.lines.lock().unwrap().0.push(line);
                l.changed.notify_all();
            }
            l.lines.lock().unwrap().1 = true;
            l.changed.notify_all();
        });
        lines
    }

    /// Waits until `pred` holds for the lines so far; false if the stream ended or
    /// [`PATIENCE`] passed first.
    fn wait_for(&self, pred: impl Fn(&[String]) -> bool) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let mut guard = self.lines.lock().unwrap();
        loop {
            if pred(&guard.0) {
                return true;
            }
            if guard.1 {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = self.changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().0.clone()
    }
}

/// A child process, killed (SIGKILL) when dropped.
struct Proc {
    name: String,
    child: Child,
    stdout: Arc<Lines>,
    stderr: Arc<Lines>,
}

impl Proc {
    fn start(name: &str, program: PathBuf, args: &[&str]) -> Proc {
        let mut child = Command::new(&program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = Lines::collect(child.stdout.take().unwrap());
        let stderr = Lines::collect(child.stderr.take().unwrap());
        Proc {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    /// Waits for the process to exit on its own; its exit status.
    fn finish(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads reach the end of the output.
                self.stdout.wait_for(|_| false);
                self.stderr.wait_for(|_| false);
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not finish; it said:\n{}",
                self.name,
                self.stderr.snapshot().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn said(&self) -> String {
        format!(
            "--- {} said:\n{}",
            self.name,
            self.stderr.snapshot().join("\n")
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn endpoint(port: u16) -> String {
    format!("tcp/127.0.0.1:{port}")
}

fn import(key: &str, path: &str, port: u16) -> Proc {
    let listen = endpoint(port);
    let args = ["import", key, path, "--isolated", "--listen", &listen];
    Proc::start("import", bridge(), &args)
}

fn export(path: &str, key: &str, port: u16, create: bool) -> Proc {
    let connect = endpoint(port);
    let mut args = vec!["export", path, key, "--isolated", "--connect", &connect];
    if create {
        args.extend(["--capacity", "65536"]);
    }
    Proc::start("export", bridge(), &args)
}

fn collector(path: &str, count: usize) -> Proc {
    let count = count.to_string();
    let args = [path, "--count", &count, "--print", "--capacity", "65536"];
    Proc::start("collector", example("collector"), &args)
}

fn sensor(path: &str, id: u32, count: u64, every_us: u64, extra: &[&str]) -> Proc {
    let (id, count, every) = (id.to_string(), count.to_string(), every_us.to_string());
    let mut args = vec![path, "--id", &id, "--count", &count, "--every-us", &every];
    args.extend_from_slice(extra);
    Proc::start(&format!("sensor {id}"), example("sensor"), &args)
}

/// Each sensor's sequence numbers, in the order the collector printed them.
fn readings(collector: &Proc) -> HashMap<u32, Vec<u64>> {
    let mut by_sensor: HashMap<u32, Vec<u64>> = HashMap::new();
    for line in collector.stdout.snapshot() {
        let mut words = line.split(' ');
        assert_eq!(words.next(), Some("reading"), "{line}");
        let sensor: u32 = words.next().unwrap().parse().unwrap();
        let seq: u64 = words.next().unwrap().parse().unwrap();
        by_sensor.entry(sensor).or_default().push(seq);
    }
    by_sensor
}

/// Waits for the collector to finish and checks that it succeeded (it fails if a sensor's
/// readings came out of order); each sensor's sequence numbers, as [`readings`] gives them.
fn collected(collector: &mut Proc, others: &[&Proc]) -> HashMap<u32, Vec<u64>> {
    let status = collector.finish();
    let said: Vec<String> = others.iter().map(|p| p.said()).collect();
    assert!(
        status.success(),
        "{}\n{}",
        collector.said(),
        said.join("\n")
    );
    readings(collector)
}

fn printed(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.starts_with("reading ")).count()
}

#[test]
fn readings_from_several_sensors_cross_the_bridge_in_order() {
    let files = Files::new("order", &["a", "b"]);
    let (a, b) = (&files.0[0], &files.0[1]);
    let port = free_port();
    const SENSORS: u32 = 3;
    const EACH: u64 = 3000;
    let mut collector = collector(b, (SENSORS as u64 * EACH) as usize);
    // The exporter comes first: it creates channel A once the importer tells the schema.
    let exporter = export(a, "test/order", port, true);
    let importer = import("test/order", b, port);
    let mut sensors: Vec<Proc> = (1..=SENSORS)
        .map(|id| sensor(a, id, EACH, 0, &[]))
        .collect();
    for s in &mut sensors {
        assert!(s.finish().success(), "{}", s.said());
    }
    let got = collected(&mut collector, &[&exporter, &importer]);
    assert_eq!(got.len(), SENSORS as usize);
    for (sensor, seqs) in got {
        let expected: Vec<u64> = (0..EACH).collect();
        assert!(
            seqs == expected,
            "sensor {sensor}: not every reading exactly once, in order"
        );
    }
}

#[test]
fn a_schema_mismatch_is_refused_at_the_importing_side_and_loses_nothing() {
    let files = Files::new("mismatch", &["a", "b"]);
    let (a, b) = (&files.0[0], &files.0[1]);
    let port = free_port();
    let mut collector = collector(b, 1);
    let mut importer = import("test/mismatch", b, port);
    // An older build of the sensor program made channel A, with its own schema.
    let mut old = sensor(a, 9, 10, 0, &["--create", "65536", "--old-build"]);
    let ready = |lines: &[String]| lines.iter().any(|l| l.starts_with("import:"));
    assert!(importer.stderr.wait_for(ready), "{}", importer.said());
    let mut exporter = export(a, "test/mismatch", port, false);
    assert!(old.finish().success(), "{}", old.said());

    let refusal = |lines: &[String]| {
        lines
            .iter()
            .any(|l| l.contains("refused: schema mismatch") && l.contains("field `celsius`"))
    };
    assert!(importer.stderr.wait_for(refusal), "{}", importer.said());
    let line = importer
        .stderr
        .snapshot()
        .into_iter()
        .find(|l| refusal(std::slice::from_ref(l)))
        .unwrap();
    assert!(
        line.contains("channel has `f32`") && line.contains("has `f64`"),
        "the importer's refusal should say what differs: {line}"
    );
    // The exporting side is told too.
    assert!(exporter.stderr.wait_for(refusal), "{}", exporter.said());

    // Nothing reached the collector, and nothing was lost: all ten readings are still in A.
    exporter.kill();
    importer.kill();
    collector.kill();
    assert_eq!(printed(&collector.stdout.snapshot()), 0);
    let mut rx = ipmpsc::records::RecordReceiver::open(a).expect("A is left with its readings");
    let mut kept = 0;
    while rx.try_recv().unwrap().is_some() {
        kept += 1;
    }
    assert_eq!(kept, 10);
}

/// Starts a collector, importer, exporter and sensors for `SENSORS * EACH` readings, kills the
/// `victim` ("export" or "import") with SIGKILL once about a third of them arrived, starts it
/// again, and returns the collector's readings per sensor and how many restarts there were.
fn kill_and_restart(test: &str, victim: &str) -> HashMap<u32, Vec<u64>> {
    const SENSORS: u32 = 3;
    const EACH: u64 = 4000;
    let files = Files::new(test, &["a", "b"]);
    let (a, b) = (&files.0[0], &files.0[1]);
    let port = free_port();
    let key = format!("test/{test}");
    let total = (SENSORS as u64 * EACH) as usize;
    let mut collector = collector(b, total);
    let mut importer = import(&key, b, port);
    let mut exporter = export(a, &key, port, true);
    // Paced, so that the kill lands mid-stream.
    let mut sensors: Vec<Proc> = (1..=SENSORS)
        .map(|id| sensor(a, id, EACH, 200, &[]))
        .collect();
    let third = |lines: &[String]| printed(lines) >= total / 3;
    assert!(
        collector.stdout.wait_for(third),
        "{}\n{}\n{}",
        collector.said(),
        exporter.said(),
        importer.said()
    );
    if victim == "export" {
        exporter.kill();
        exporter = export(a, &key, port, false);
    } else {
        importer.kill();
        importer = import(&key, b, port);
    }
    for s in &mut sensors {
        assert!(s.finish().success(), "{}", s.said());
    }
    collected(&mut collector, &[&exporter, &importer])
}

#[test]
fn an_exporter_killed_mid_stream_and_restarted_loses_and_repeats_nothing() {
    let got = kill_and_restart("killexport", "export");
    assert_eq!(got.len(), 3);
    for (sensor, seqs) in got {
        let expected: Vec<u64> = (0..4000).collect();
        // The importer remembers where each stream stands: what the dead exporter sent but
        // did not get acknowledged, and sends again, is dropped rather than repeated.
        assert!(
            seqs == expected,
            "sensor {sensor}: not every reading exactly once, in order"
        );
    }
}

#[test]
fn an_importer_killed_mid_stream_and_restarted_loses_nothing_and_keeps_order() {
    let got = kill_and_restart("killimport", "import");
    assert_eq!(got.len(), 3);
    for (sensor, seqs) in got {
        // At least once: every reading is there; a reading the dead importer wrote but could
        // not acknowledge may come again, as a repeat of a run, in order.
        let mut rewinds = 0;
        for pair in seqs.windows(2) {
            if pair[1] != pair[0] + 1 {
                assert!(
                    pair[1] <= pair[0],
                    "sensor {sensor}: a gap after {}",
                    pair[0]
                );
                rewinds += 1;
            }
        }
        assert!(
            rewinds <= 1,
            "sensor {sensor}: {rewinds} rewinds for one restart"
        );
        let mut distinct = seqs.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct, (0..4000).collect::<Vec<u64>>(), "sensor {sensor}");
        assert_eq!(seqs.first(), Some(&0));
    }
}

#[test]
fn a_small_exporting_channel_that_wraps_while_its_records_are_held_loses_nothing() {
    // Channel A holds a few records: the sensor keeps wrapping it while the exporter holds
    // what it published, so padding at the end of the ring is written (and skipped) before
    // the record behind it fits.
    let files = Files::new("wrap", &["a", "b"]);
    let (a, b) = (&files.0[0], &files.0[1]);
    let port = free_port();
    const EACH: u64 = 2000;
    let mut collector = collector(b, EACH as usize);
    let importer = import("test/wrap", b, port);
    let mut sensor = sensor(a, 1, EACH, 0, &["--create", "512"]);
    let exporter = export(a, "test/wrap", port, false);
    assert!(sensor.finish().success(), "{}", sensor.said());
    let got = collected(&mut collector, &[&exporter, &importer]);
    assert_eq!(got[&1], (0..EACH).collect::<Vec<u64>>());
}

#[test]
fn an_importing_channel_created_again_for_another_schema_gets_no_record_of_the_old_one() {
    #[ipmpsc::channel]
    #[derive(Debug)]
    pub enum Other {
        Text(String),
    }
    #[path = "../examples/shared/reading.rs"]
    #[allow(dead_code)]
    mod reading;

    let files = Files::new("reschema", &["a", "b"]);
    let (a, b) = (&files.0[0], &files.0[1]);
    let port = free_port();
    // Channel B of the readings' schema, whose receiver leaves once the importer is there.
    let first = reading::Reading::create_receiver(b, 65536).unwrap();
    let mut importer = import("test/reschema", b, port);
    let ready = |lines: &[String]| lines.iter().any(|l| l.starts_with("import: test/"));
    assert!(importer.stderr.wait_for(ready), "{}", importer.said());
    drop(first);
    let mut sensor = sensor(a, 1, 1, 0, &["--create", "65536"]);
    let exporter = export(a, "test/reschema", port, false);
    assert!(sensor.finish().success(), "{}", sensor.said());
    let waiting = |lines: &[String]| lines.iter().any(|l| l.contains("has no receiver"));
    assert!(importer.stderr.wait_for(waiting), "{}", importer.said());

    // The consumer comes back with a channel of another schema at the same path.
    std::fs::remove_file(b).unwrap();
    let mut rx = Other::create_receiver(b, 65536).unwrap();
    let refused = |lines: &[String]| lines.iter().any(|l| l.contains("refused: schema mismatch"));
    assert!(
        importer.stderr.wait_for(refused),
        "{}\n{}",
        importer.said(),
        exporter.said()
    );
    assert!(
        importer.child.try_wait().unwrap().is_none(),
        "{}",
        importer.said()
    );
    // The reading was not written into the channel of the other schema.
    assert!(matches!(rx.try_recv(), Ok(None)));
    // And it is still in A.
    drop(exporter);
    let mut left = ipmpsc::records::RecordReceiver::open(a).expect("A is left with its reading");
    assert!(left.try_recv().unwrap().is_some());
}

#[test]
fn records_written_before_one_too_large_are_acknowledged_and_not_repeated() {
    #[ipmpsc::channel]
    #[derive(Debug, PartialEq)]
    pub enum Blob {
        B(Vec<u8>),
    }
    let files = Files::new("toolarge", &["a", "b"]);
    let (a, b) = (&files.0[0], &files.0[1]);
    let port = free_port();
    // Channel A, left by its receiver with five small records, one too large for B, and
    // one more.
    {
        let rx = Blob::create_receiver(a, 65536).unwrap();
        let tx = Blob::open_sender(a).unwrap();
        for i in 0..5u8 {
            tx.send(&Blob::B(vec![i; 8])).unwrap();
        }
        tx.send(&Blob::B(vec![9; 4000])).unwrap();
        tx.send(&Blob::B(vec![10; 8])).unwrap();
        drop(rx);
    }
    // Channel B takes 1 KiB; its receiver leaves once the importer is there, so that the
    // records queue up at the importer and are written one after another when it is back.
    let first = Blob::create_receiver(b, 1024).unwrap();
    let importer = import("test/toolarge", b, port);
    let ready = |lines: &[String]| lines.iter().any(|l| l.starts_with("import: test/"));
    assert!(importer.stderr.wait_for(ready), "{}", importer.said());
    drop(first);
    let mut exporter = export(a, "test/toolarge", port, false);
    let waiting = |lines: &[String]| lines.iter().any(|l| l.contains("has no receiver"));
    assert!(importer.stderr.wait_for(waiting), "{}", importer.said());
    let mut rx = Blob::open_receiver(b).unwrap();
    for i in 0..5u8 {
        let got = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(got, Some(Blob::B(vec![i; 8])), "{}", importer.said());
    }
    let refusals = |n: usize| {
        move |lines: &[String]| lines.iter().filter(|l| l.contains("refused")).count() >= n
    };
    assert!(importer.stderr.wait_for(refusals(1)), "{}", importer.said());
    assert!(exporter.stderr.wait_for(refusals(1)), "{}", exporter.said());

    // A new exporter of A: the five records committed in B are not written again, only the
    // one too large is refused again.
    exporter.kill();
    let exporter = export(a, "test/toolarge", port, false);
    assert!(
        importer.stderr.wait_for(refusals(2)),
        "{}\n{}",
        importer.said(),
        exporter.said()
    );
    assert_eq!(rx.try_recv().unwrap(), None, "{}", importer.said());
}

#[test]
fn two_copies_of_the_exporter_started_at_once_leave_one_exporter_and_lose_nothing() {
    let files = Files::new("twocopies", &["a", "b"]);
    let (a, b) = (&files.0[0], &files.0[1]);
    let port = free_port();
    const EACH: u64 = 1000;
    let mut collector = collector(b, EACH as usize);
    let importer = import("test/twocopies", b, port);
    // The sensor's (older) program made channel A and waits for a receiver.
    let mut sensor = sensor(a, 1, EACH, 0, &["--create", "65536"]);
    let deadline = Instant::now() + PATIENCE;
    while !std::path::Path::new(a).exists() {
        assert!(Instant::now() < deadline, "{}", sensor.said());
        std::thread::sleep(Duration::from_millis(5));
    }
    // Two copies of the same command, started together (a supervisor's double start).
    let mut copies = [
        export(a, "test/twocopies", port, false),
        export(a, "test/twocopies", port, false),
    ];
    let deadline = Instant::now() + PATIENCE;
    let loser = loop {
        if let Some(i) = (0..2).find(|&i| copies[i].child.try_wait().unwrap().is_some()) {
            break i;
        }
        assert!(Instant::now() < deadline, "neither copy gave way");
        std::thread::sleep(Duration::from_millis(10));
    };
    let status = copies[loser].finish();
    assert!(!status.success(), "the second copy must fail");
    let refusal = |lines: &[String]| {
        lines
            .iter()
            .any(|l| l.contains("already holds this channel"))
    };
    assert!(
        copies[loser].stderr.wait_for(refusal),
        "{}",
        copies[loser].said()
    );
    // The other copy is the channel's one exporter, and everything goes through it.
    let winner = &copies[1 - loser];
    assert!(sensor.finish().success(), "{}", sensor.said());
    let got = collected(&mut collector, &[winner, &importer]);
    assert_eq!(got[&1], (0..EACH).collect::<Vec<u64>>());
}
