//! Two-process benchmarks of this repository's ipmpsc against upstream ipmpsc 0.5.1,
//! iceoryx2 0.10.0 (polling and blocking) and ipc-channel 0.23.1 on the same workloads, in one
//! run.
//!
//! ```text
//! cargo run --release -- all                 # every workload, every contender
//! cargo run --release -- small               # one workload: small | fan-in | ping-pong | frame | frame-made | nested-frame | limits
//! cargo run --release -- frame frame-made    # several workloads
//! cargo run --release -- all --reps 3        # repetitions per contender (default 5)
//! cargo run --release -- all --only ours,upstream       # contenders: ours | ours-batch | ours-loan | ours-select | ours-async | upstream | iceoryx2 | iceoryx2-event | ipc-channel
//! cargo run --release -- ping-pong --ours-spin-us 1000   # our receivers' spin before sleeping
//! ```
//!
//! Every contender runs each workload it takes part in (see [`Contender::workloads`]) `reps`
//! times; the contenders alternate within each repetition (the order rotates from one
//! repetition to the next). The table shows the median of the repetitions with the minimum and
//! maximum beside it, and how many times faster ours is.

mod common;
mod iox;
mod ipcch;
mod limits;
mod ours;
mod plot;
mod upstream;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use common::*;

const WORKLOADS: [&str; 7] = ["small", "fan-in", "ping-pong", "frame", "frame-made", "nested-frame", "limits"];

/// The workloads that every peer runs.
const PEER_WORKLOADS: &[&str] = &["small", "fan-in", "ping-pong", "frame", "frame-made"];
/// Ours runs them too, and `nested-frame`: a frame nested in a derived struct is a question
/// about our views only.
const OURS_WORKLOADS: &[&str] = &["small", "fan-in", "ping-pong", "frame", "frame-made", "nested-frame"];

/// How a contender's producer hands a frame over in `frame` and `frame-made`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramePath {
    /// It copies (or serializes) the frame from buffers of its own into the channel.
    Copy,
    /// It loans memory of the channel and writes the frame there (`frame-made`: makes it there).
    Loan,
}

pub struct Contender {
    /// Name on the command line and in the table's keys.
    pub name: &'static str,
    pub label: &'static str,
    /// The workloads it runs (`limits` is the machine's, not a contender's).
    pub workloads: &'static [&'static str],
    pub frames: FramePath,
}

pub const CONTENDERS: &[Contender] = &[
    Contender { name: ours::NAME, label: "ipmpsc (ours)", workloads: OURS_WORKLOADS, frames: FramePath::Copy },
    Contender { name: ours::BATCH_NAME, label: "ipmpsc (ours), batches of 16", workloads: &["small", "fan-in"], frames: FramePath::Copy },
    Contender { name: ours::LOAN_NAME, label: "ipmpsc (ours), loaned", workloads: &["frame-made"], frames: FramePath::Loan },
    Contender { name: ours::SELECT_NAME, label: "ipmpsc (ours), select over 2 channels", workloads: &["ping-pong"], frames: FramePath::Copy },
    Contender { name: ours::ASYNC_NAME, label: "ipmpsc (ours), async (tokio, 1 thread)", workloads: &["ping-pong"], frames: FramePath::Copy },
    Contender { name: upstream::NAME, label: "ipmpsc 0.5.1 (upstream)", workloads: PEER_WORKLOADS, frames: FramePath::Copy },
    Contender { name: iox::NAME, label: "iceoryx2 0.10.0", workloads: PEER_WORKLOADS, frames: FramePath::Loan },
    Contender { name: iox::EVENT_NAME, label: "iceoryx2 0.10.0, blocking (event)", workloads: PEER_WORKLOADS, frames: FramePath::Loan },
    Contender { name: ipcch::NAME, label: "ipc-channel 0.23.1", workloads: PEER_WORKLOADS, frames: FramePath::Copy },
];

pub fn contender(name: &str) -> &'static Contender {
    CONTENDERS.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("unknown contender {name}"))
}

/// Whether `contender` takes part in `workload`.
pub fn runs(contender: &str, workload: &str) -> bool {
    self::contender(contender).workloads.contains(&workload)
}

fn run(contender: &str, workload: &str) -> Sample {
    assert!(runs(contender, workload), "{contender} does not run {workload}");
    macro_rules! dispatch {
        ($m:ident) => {
            match workload {
                "small" => $m::throughput(1, SMALL_MESSAGES),
                "fan-in" => $m::throughput(FAN_IN_PRODUCERS, FAN_IN_MESSAGES),
                "ping-pong" => $m::ping_pong(),
                "frame" => $m::frame(),
                "frame-made" => $m::frame_made(),
                other => panic!("{contender} has no workload {other}"),
            }
        };
    }
    use iox::event as iox_event;
    match contender {
        ours::NAME if workload == "nested-frame" => ours::nested_frame(),
        ours::NAME => dispatch!(ours),
        ours::BATCH_NAME if workload == "small" => ours::throughput_batched(1, SMALL_MESSAGES),
        ours::BATCH_NAME => ours::throughput_batched(FAN_IN_PRODUCERS, FAN_IN_MESSAGES),
        ours::LOAN_NAME => ours::frame_made_loan(),
        ours::SELECT_NAME => ours::ping_pong_select(),
        ours::ASYNC_NAME => ours::ping_pong_async(),
        upstream::NAME => dispatch!(upstream),
        iox::NAME => dispatch!(iox),
        iox::EVENT_NAME => dispatch!(iox_event),
        ipcch::NAME => dispatch!(ipcch),
        other => panic!("unknown contender {other}"),
    }
}

fn child_main(args: &[String]) {
    let (contender, workload, rest) = (&args[0], &args[1], &args[2..]);
    match contender.as_str() {
        ours::NAME => ours::child(workload, rest),
        upstream::NAME => upstream::child(workload, rest),
        iox::NAME | iox::EVENT_NAME => iox::child(iox::Wake::of(contender), workload, rest),
        ipcch::NAME => ipcch::child(workload, rest),
        other => panic!("unknown contender {other}"),
    }
}

/// Median, min, max of the repetitions of one metric.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    fn of(mut v: Vec<f64>) -> Stat {
        let median = limits::median(&mut v);
        Stat { median, min: v[0], max: v[v.len() - 1] }
    }
}

/// Everything measured in a run, keyed by workload and contender.
#[derive(Default)]
pub struct Results {
    pub samples: BTreeMap<(String, String), Vec<Sample>>,
    pub memcpy_gbps: Vec<f64>,
    pub cache_rtt_ns: Vec<f64>,
    /// memcpy bandwidth measured right after each repetition of `frame`, so that the frame
    /// goal compares numbers from the same minutes of a noisy machine.
    pub frame_memcpy_gbps: Vec<f64>,
    /// GB/s of making a `frame-made` frame in one process ("fill only"), measured right after
    /// each repetition of `frame-made`: that workload's floor.
    pub frame_made_fill_gbps: Vec<f64>,
}

impl Results {
    pub fn stat(&self, workload: &str, contender: &str, f: impl Fn(&Sample) -> f64) -> Option<Stat> {
        let v = self.samples.get(&(workload.to_owned(), contender.to_owned()))?;
        Some(Stat::of(v.iter().map(f).collect()))
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: ipc-benchmarks <all|{}>... [--reps N] [--only {}] [--ours-spin-us N]",
        WORKLOADS.join("|"),
        CONTENDERS.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__child") {
        child_main(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("__split") {
        ours::split();
        return;
    }
    if args.first().map(String::as_str) == Some("__profile") {
        ours::profile(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000));
        return;
    }
    let mut workloads: Vec<&str> = Vec::new();
    let mut reps = 5usize;
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "all" => workloads.extend(WORKLOADS),
            "--reps" => reps = it.next().and_then(|r| r.parse().ok()).unwrap_or_else(|| usage()),
            "--ours-spin-us" => {
                let us: u64 = it.next().and_then(|r| r.parse().ok()).unwrap_or_else(|| usage());
                std::env::set_var("IPC_BENCH_OURS_SPIN_US", us.to_string());
            }
            "--only" => only = Some(it.next().unwrap_or_else(|| usage()).split(',').map(str::to_owned).collect()),
            w if WORKLOADS.contains(&w) => workloads.push(WORKLOADS.into_iter().find(|x| *x == w).unwrap()),
            _ => usage(),
        }
    }
    if workloads.is_empty() || reps == 0 {
        usage();
    }
    if let Some(unknown) = only.iter().flatten().find(|o| CONTENDERS.iter().all(|c| c.name != o.as_str())) {
        eprintln!("unknown contender {unknown}");
        usage();
    }
    let contenders: Vec<&str> = CONTENDERS
        .iter()
        .map(|c| c.name)
        .filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|x| x == c)))
        .collect();

    let started = Instant::now();
    let mut results = Results::default();
    for &workload in &workloads {
        for rep in 0..reps {
            if workload == "limits" {
                let m = limits::memcpy_gbps();
                let c = limits::cache_line_rtt_ns();
                eprintln!("[{:>6.1}s] limits rep {}: memcpy {m:.1} GB/s, cache-line round trip {c:.0} ns", started.elapsed().as_secs_f64(), rep + 1);
                results.memcpy_gbps.push(m);
                results.cache_rtt_ns.push(c);
                continue;
            }
            // Alternate the contenders that run this workload; rotate who goes first.
            let here: Vec<&str> = contenders.iter().copied().filter(|c| runs(c, workload)).collect();
            for k in 0..here.len() {
                let contender = here[(k + rep) % here.len()];
                let s = run(contender, workload);
                eprintln!("[{:>6.1}s] {workload} rep {} {contender}: {}", started.elapsed().as_secs_f64(), rep + 1, describe(workload, &s));
                results.samples.entry((workload.to_owned(), contender.to_owned())).or_default().push(s);
            }
            if workload == "frame" {
                let m = limits::memcpy_gbps();
                eprintln!("[{:>6.1}s] frame rep {}: memcpy {m:.1} GB/s", started.elapsed().as_secs_f64(), rep + 1);
                results.frame_memcpy_gbps.push(m);
            }
            if workload == "frame-made" {
                let f = limits::fill_gbps();
                eprintln!("[{:>6.1}s] frame-made rep {}: fill only {:.3} ms ({f:.1} GB/s)", started.elapsed().as_secs_f64(), rep + 1, FRAME_BYTES as f64 / f / 1e6);
                results.frame_made_fill_gbps.push(f);
            }
        }
    }

    let machine = machine();
    let table = table(&results, &workloads, &contenders, reps, &machine);
    println!("{table}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let _ = std::fs::create_dir_all(&dir);
    let stem = if workloads.len() == WORKLOADS.len() { "all".to_owned() } else { workloads.join("+") };
    let md = dir.join(format!("{stem}.md"));
    let svg = dir.join(format!("{stem}.svg"));
    std::fs::write(&md, &table).expect("write table");
    std::fs::write(&svg, plot::svg(&results, &contenders, &machine)).expect("write plot");
    eprintln!("wrote {} and {} ({:.0} s in all)", md.display(), svg.display(), started.elapsed().as_secs_f64());
}

fn describe(workload: &str, s: &Sample) -> String {
    match workload {
        "small" | "fan-in" => format!("{:.2} M msg/s", s.msgs_per_sec / 1e6),
        "ping-pong" => format!("median {:.2} us, p99 {:.2} us", s.rtt_median_ns / 1e3, s.rtt_p99_ns / 1e3),
        "frame" | "frame-made" | "nested-frame" => format!("{:.3} ms/frame ({:.1} GB/s)", s.ms_per_frame, gbps(s.ms_per_frame)),
        _ => String::new(),
    }
}

pub fn gbps(ms_per_frame: f64) -> f64 {
    FRAME_BYTES as f64 / (ms_per_frame * 1e-3) / 1e9
}

pub fn label(contender: &str) -> &'static str {
    CONTENDERS.iter().find(|c| c.name == contender).map_or("?", |c| c.label)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    format!("{model}, {cpus} CPUs, Linux {}, load average at the end {load}", kernel.trim())
}

fn fmt_rate(v: f64) -> String {
    format!("{:.2} M msg/s", v / 1e6)
}

fn fmt_us(ns: f64) -> String {
    if ns < 10_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

/// The Markdown table (also printed) and the goal check.
fn table(r: &Results, workloads: &[&str], contenders: &[&str], reps: usize, machine: &str) -> String {
    let mut out = String::new();
    let spin = std::env::var("IPC_BENCH_OURS_SPIN_US").map_or("default (50 µs)".to_owned(), |us| format!("{us} µs"));
    let _ = writeln!(out, "Machine: {machine}. Medians of {reps} repetitions per contender (min – max beside them); contenders alternate within each repetition. Our receivers' spin before sleeping: {spin}.\n");
    let _ = writeln!(out, "| workload | contender | median | min – max | ours vs this |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|");
    for &w in workloads {
        if w == "limits" {
            if !r.memcpy_gbps.is_empty() {
                let m = Stat::of(r.memcpy_gbps.clone());
                let c = Stat::of(r.cache_rtt_ns.clone());
                let _ = writeln!(out, "| limits | memcpy 12.4 MB | {:.1} GB/s ({:.3} ms) | {:.1} – {:.1} GB/s | |", m.median, FRAME_BYTES as f64 / m.median / 1e6, m.min, m.max);
                let _ = writeln!(out, "| limits | cache-line round trip, 2 cores | {:.0} ns | {:.0} – {:.0} ns | |", c.median, c.min, c.max);
            }
            continue;
        }
        // "ours vs this" is against ours' fastest way to do the workload: the loan for frames
        // it makes.
        let base = if w == "frame-made" && r.stat(w, ours::LOAN_NAME, |s| s.ms_per_frame).is_some() { ours::LOAN_NAME } else { ours::NAME };
        let ours_stat = |f: &dyn Fn(&Sample) -> f64| r.stat(w, base, f);
        for &c in contenders {
            let label = label(c);
            match w {
                "small" | "fan-in" => {
                    let Some(s) = r.stat(w, c, |s| s.msgs_per_sec) else { continue };
                    let ratio = ours_stat(&|s| s.msgs_per_sec).map_or(String::new(), |o| format!("{:.2}×", o.median / s.median));
                    let _ = writeln!(out, "| {w} | {label} | {} | {:.2} – {:.2} M | {ratio} |", fmt_rate(s.median), s.min / 1e6, s.max / 1e6);
                }
                "ping-pong" => {
                    let Some(s) = r.stat(w, c, |s| s.rtt_median_ns) else { continue };
                    let p99 = r.stat(w, c, |s| s.rtt_p99_ns).unwrap();
                    let ratio = ours_stat(&|s| s.rtt_median_ns).map_or(String::new(), |o| format!("{:.2}×", s.median / o.median));
                    let _ = writeln!(
                        out,
                        "| ping-pong | {label} | {} (p99 {}) | {} – {} | {ratio} |",
                        fmt_us(s.median),
                        fmt_us(p99.median),
                        fmt_us(s.min),
                        fmt_us(s.max)
                    );
                }
                "frame" | "frame-made" => {
                    let Some(s) = r.stat(w, c, |s| s.ms_per_frame) else { continue };
                    let ratio = ours_stat(&|s| s.ms_per_frame).map_or(String::new(), |o| format!("{:.2}×", s.median / o.median));
                    let _ = writeln!(
                        out,
                        "| {w} | {label} | {:.3} ms ({:.1} GB/s) | {:.3} – {:.3} ms | {ratio} |",
                        s.median,
                        gbps(s.median),
                        s.min,
                        s.max
                    );
                }
                "nested-frame" => {
                    let Some(s) = r.stat(w, c, |s| s.ms_per_frame) else { continue };
                    let flat = r.stat("frame", c, |s| s.ms_per_frame).map_or(String::new(), |f| format!("{:.2}× our flat frame", s.median / f.median));
                    let _ = writeln!(
                        out,
                        "| nested-frame | {label} | {:.3} ms ({:.1} GB/s) | {:.3} – {:.3} ms | {flat} |",
                        s.median,
                        gbps(s.median),
                        s.min,
                        s.max
                    );
                }
                _ => {}
            }
        }
        // The machine's floor for the frame workloads, measured between their repetitions.
        let floor = match w {
            "frame" => Some(("memcpy 12.4 MB, between the repetitions", &r.frame_memcpy_gbps)),
            "frame-made" => Some(("fill only: making the 12.4 MB frame in one process, between the repetitions", &r.frame_made_fill_gbps)),
            _ => None,
        };
        if let Some((what, v)) = floor.filter(|(_, v)| !v.is_empty()) {
            let m = Stat::of(v.clone());
            let _ = writeln!(
                out,
                "| {w} | {what} | {:.3} ms ({:.1} GB/s) | {:.1} – {:.1} GB/s | |",
                FRAME_BYTES as f64 / m.median / 1e6,
                m.median,
                m.min,
                m.max
            );
        }
    }
    let _ = writeln!(out, "\n\"ours vs this\": how many times faster ours is (throughput ratio, or inverse time ratio; for `frame-made`, ours with a loan); above 1 means ours is ahead.");
    let goals = goals(r);
    if !goals.is_empty() {
        let _ = writeln!(out, "\nGoals (same run):\n");
        for g in goals {
            let _ = writeln!(out, "- {g}");
        }
    }
    out
}

fn goals(r: &Results) -> Vec<String> {
    // Peers: everything that is not a variant of ours.
    let peers: Vec<&str> = CONTENDERS.iter().map(|c| c.name).filter(|c| !c.starts_with("ours")).collect();
    let best_of = |among: &[&'static str], w: &str, f: &dyn Fn(&Sample) -> f64, higher: bool| -> Option<(f64, &'static str)> {
        among
            .iter()
            .filter_map(|p| r.stat(w, p, f).map(|s| (s.median, *p)))
            .reduce(|a, b| if (b.0 > a.0) == higher { b } else { a })
    };
    let best = |w: &str, f: &dyn Fn(&Sample) -> f64, higher: bool| best_of(&peers, w, f, higher);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let mut out = Vec::new();
    for w in ["small", "fan-in"] {
        let Some((b, who)) = best(w, &|s| s.msgs_per_sec, true) else { continue };
        if let Some(o) = r.stat(w, ours::NAME, |s| s.msgs_per_sec) {
            let x = o.median / b;
            out.push(format!("{w}: ours {:.2}× the best peer ({}), goal ≥ 3×: {}", x, label(who), verdict(x >= 3.0)));
        }
        if let Some(o) = r.stat(w, OURS_BATCH, |s| s.msgs_per_sec) {
            let x = o.median / b;
            let goal = if w == "small" { 5.0 } else { 3.0 };
            out.push(format!("{w} with batches of 16: {OURS_BATCH} {:.2}× the best peer ({}), goal ≥ {goal}×: {}", x, label(who), verdict(x >= goal)));
        }
    }
    if let (Some(o), Some((b, who))) = (r.stat("ping-pong", ours::NAME, |s| s.rtt_median_ns), best("ping-pong", &|s| s.rtt_median_ns, false)) {
        let x = o.median / b;
        out.push(format!("ping-pong: ours' median is {:.2}× the best peer's ({}), goal ≤ 0.5×: {}", x, label(who), verdict(x <= 0.5)));
    }
    if let (Some(o), Some(s)) = (r.stat("ping-pong", ours::NAME, |s| s.rtt_median_ns), r.stat("ping-pong", ours::SELECT_NAME, |s| s.rtt_median_ns)) {
        let x = s.median / o.median;
        out.push(format!("ping-pong with a select over 2 channels: {:.2}× ours' single receiver, goal ≤ 2×: {}", x, verdict(x <= 2.0)));
    }
    if let (Some(o), Some((b, who))) = (r.stat("frame", ours::NAME, |s| s.ms_per_frame), best("frame", &|s| s.ms_per_frame, false)) {
        out.push(format!("frame: ours {:.3} ms vs best peer {:.3} ms ({}): {}", o.median, b, label(who), verdict(o.median < b)));
        let memcpy = if r.frame_memcpy_gbps.is_empty() { &r.memcpy_gbps } else { &r.frame_memcpy_gbps };
        if !memcpy.is_empty() {
            let m = Stat::of(memcpy.clone()).median;
            let x = gbps(o.median) / m;
            out.push(format!(
                "frame: ours {:.1} GB/s = {:.2}× memcpy ({m:.1} GB/s, measured between the frame repetitions), goal ≥ 0.9×: {}",
                gbps(o.median),
                x,
                verdict(x >= 0.9)
            ));
        }
    }
    if let Some(o) = r.stat("frame-made", OURS_LOAN, |s| s.ms_per_frame) {
        // Copying peers: every peer whose producer copies the frame into the channel (ours'
        // own copying path is shown beside them). Loaning peers: the iceoryx2 variants.
        let copying: Vec<&str> = CONTENDERS.iter().filter(|c| c.frames == FramePath::Copy && !c.name.starts_with("ours")).map(|c| c.name).collect();
        let loaning: Vec<&str> = CONTENDERS.iter().filter(|c| c.frames == FramePath::Loan && !c.name.starts_with("ours")).map(|c| c.name).collect();
        if let Some((b, who)) = best_of(&copying, "frame-made", &|s| s.ms_per_frame, false) {
            let x = b / o.median;
            out.push(format!(
                "frame-made: {OURS_LOAN} {:.3} ms, {:.2}× faster than the fastest copying peer ({}, {b:.3} ms), goal ≥ 1.5×: {}",
                o.median,
                x,
                label(who),
                verdict(x >= 1.5)
            ));
        }
        if let Some(c) = r.stat("frame-made", ours::NAME, |s| s.ms_per_frame) {
            out.push(format!("frame-made: {OURS_LOAN} {:.2}× faster than ours' own copying path ({:.3} ms)", c.median / o.median, c.median));
        }
        if let Some((b, who)) = best_of(&loaning, "frame-made", &|s| s.ms_per_frame, false) {
            out.push(format!(
                "frame-made: {OURS_LOAN} {:.3} ms vs the best iceoryx2 loan {b:.3} ms ({}), goal: no slower: {}",
                o.median,
                label(who),
                verdict(o.median <= b)
            ));
        }
    }
    out
}

/// Contenders that the goals look for by name: ours with batched sends (`small`, `fan-in`) and
/// ours with loaned frames (`frame-made`).
const OURS_BATCH: &str = ours::BATCH_NAME;
const OURS_LOAN: &str = ours::LOAN_NAME;
