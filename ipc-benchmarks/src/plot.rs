//! A hand-written SVG: one panel per workload, a horizontal bar per contender (median) with a
//! min–max whisker, on a log scale so that 0.5 µs and 50 µs fit on one axis.

use std::fmt::Write as _;

use crate::common::Sample;
use crate::{gbps, label, Results};

/// One color per contender, by its place in the run's list of contenders.
const COLORS: [&str; 8] = ["#d62728", "#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"];

struct Panel {
    title: &'static str,
    unit: &'static str,
    workload: &'static str,
    metric: fn(&Sample) -> f64,
    better: &'static str,
}

fn nice(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn svg(r: &Results, contenders: &[&str], machine: &str) -> String {
    let panels = [
        Panel { title: "small: 1 → 1, 16-byte messages", unit: "M msg/s", workload: "small", metric: |s| s.msgs_per_sec / 1e6, better: "higher is better" },
        Panel { title: "fan-in: 4 → 1, 16-byte messages", unit: "M msg/s", workload: "fan-in", metric: |s| s.msgs_per_sec / 1e6, better: "higher is better" },
        Panel { title: "ping-pong: median round trip", unit: "µs", workload: "ping-pong", metric: |s| s.rtt_median_ns / 1e3, better: "lower is better" },
        Panel { title: "frame: 12.4 MB 4K YUV 4:2:0", unit: "GB/s", workload: "frame", metric: |s| gbps(s.ms_per_frame), better: "higher is better" },
        Panel { title: "frame-made: the producer makes each 12.4 MB frame, then sends it", unit: "GB/s", workload: "frame-made", metric: |s| gbps(s.ms_per_frame), better: "higher is better" },
    ];
    let panels: Vec<&Panel> = panels.iter().filter(|p| contenders.iter().any(|c| r.stat(p.workload, c, p.metric).is_some())).collect();
    let (w, left, right, bar_h, gap) = (950.0, 240.0, 110.0, 22.0, 6.0);
    let panel_h = 50.0 + contenders.len() as f64 * (bar_h + gap) + 30.0;
    let h = 60.0 + panels.len() as f64 * panel_h + 20.0;
    let mut s = String::new();
    let _ = writeln!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#);
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="24" font-size="16" font-weight="bold" text-anchor="middle">ipmpsc vs peers — two processes per workload (medians, min–max whiskers, log scale)</text>"#, w / 2.0);
    let _ = writeln!(s, r##"<text x="{}" y="42" fill="#555" text-anchor="middle">{}</text>"##, w / 2.0, esc(machine));
    let mut y0 = 60.0;
    for p in panels {
        let stats: Vec<(usize, &str, crate::Stat)> = contenders
            .iter()
            .enumerate()
            .filter_map(|(i, c)| r.stat(p.workload, c, p.metric).map(|st| (i, *c, st)))
            .collect();
        let lo = stats.iter().map(|x| x.2.min).fold(f64::MAX, f64::min).max(1e-6);
        let hi = stats.iter().map(|x| x.2.max).fold(0.0, f64::max);
        let (l0, l1) = ((lo / 2.0).log10().floor(), (hi * 1.2).log10().ceil());
        let x = |v: f64| left + (v.max(1e-9).log10() - l0) / (l1 - l0) * (w - left - right);
        let _ = writeln!(s, r#"<text x="10" y="{}" font-size="14" font-weight="bold">{} — {} ({})</text>"#, y0 + 18.0, esc(p.title), p.unit, p.better);
        let top = y0 + 30.0;
        let bottom = top + contenders.len() as f64 * (bar_h + gap);
        let mut d = l0;
        while d <= l1 + 1e-9 {
            let v = 10f64.powf(d);
            let xx = x(v);
            let _ = writeln!(s, r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{bottom}" stroke="#ddd"/>"##);
            let _ = writeln!(s, r##"<text x="{xx:.1}" y="{}" fill="#555" text-anchor="middle">{}</text>"##, bottom + 14.0, nice(v));
            d += 1.0;
        }
        for (row, (ci, c, st)) in stats.iter().enumerate() {
            let yy = top + row as f64 * (bar_h + gap);
            let color = COLORS[*ci % COLORS.len()];
            let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, left - 8.0, yy + bar_h * 0.7, esc(label(c)));
            let _ = writeln!(s, r#"<rect x="{left}" y="{yy}" width="{:.1}" height="{bar_h}" fill="{color}" opacity="0.85"/>"#, (x(st.median) - left).max(1.0));
            let (a, b) = (x(st.min), x(st.max));
            let mid = yy + bar_h / 2.0;
            let _ = writeln!(s, r#"<line x1="{a:.1}" y1="{mid}" x2="{b:.1}" y2="{mid}" stroke="black"/><line x1="{a:.1}" y1="{}" x2="{a:.1}" y2="{}" stroke="black"/><line x1="{b:.1}" y1="{}" x2="{b:.1}" y2="{}" stroke="black"/>"#, mid - 5.0, mid + 5.0, mid - 5.0, mid + 5.0);
            let _ = writeln!(s, r#"<text x="{:.1}" y="{}">{} {}</text>"#, x(st.max).max(x(st.median)) + 6.0, yy + bar_h * 0.7, nice(st.median), p.unit);
        }
        y0 += panel_h;
    }
    s.push_str("</svg>\n");
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
