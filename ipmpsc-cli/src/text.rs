//! Output for people: aligned `key  value` lines and a table, read at a glance.

use std::io::{self, Write};
use std::path::PathBuf;

use ipmpsc::inspect::{
    Decoder, DescriptionCheck, Inspection, Peek, PeekEnd, ReceiverInfo, SenderInfo, Snapshot,
};
use ipmpsc::schema::StoredSchema;

/// Width of the key column of `inspect`.
const KEY: usize = 12;

/// `Msg v2`, or `raw` for an untyped channel.
pub(crate) fn schema_label(schema: &StoredSchema) -> String {
    if schema.hash == 0 {
        "raw".to_owned()
    } else {
        format!("{} v{}", printable(&schema.name), schema.version)
    }
}

/// Text from the file with its control characters escaped (`\u{1b}`), so that a hostile
/// header cannot move the cursor, recolour or overwrite the lines around it in a terminal.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `1536 bytes (1.5 KiB)`, or `512 bytes`.
fn bytes(n: u64) -> String {
    match short_size(n) {
        Some(short) => format!("{n} bytes ({short})"),
        None => format!("{n} bytes"),
    }
}

/// `1.5 KiB` for 1024 and more; `None` below.
fn short_size(n: u64) -> Option<String> {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = None;
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(u);
    }
    unit.map(|u| format!("{value:.1} {u}"))
}

/// `512 B` or `1.5 KiB`: a size for a table cell.
fn cell_size(n: u64) -> String {
    short_size(n).unwrap_or_else(|| format!("{n} B"))
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn receiver_cell(r: &ReceiverInfo) -> String {
    match (r.alive, r.pid) {
        (true, _) if r.creator_deciding => "being replaced".to_owned(),
        (true, Some(pid)) => format!("up (pid {pid})"),
        (true, None) => "up".to_owned(),
        (false, _) if r.claims == 0 => "none yet".to_owned(),
        (false, _) => "down".to_owned(),
    }
}

/// The `ipmpsc list` table.
pub(crate) fn list(
    out: &mut impl Write,
    rows: &[(PathBuf, ipmpsc::Result<(Inspection, Snapshot)>)],
    skipped: usize,
) -> io::Result<()> {
    let header = ["PATH", "SCHEMA", "FILL", "QUEUED", "RECEIVER", "SENDERS"];
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut errors = Vec::new();
    for (path, row) in rows {
        let path = path.display().to_string();
        match row {
            Ok((channel, snap)) => {
                let mut senders = snap.live_senders().to_string();
                let dead = snap.dead_reservations().count();
                if dead > 0 {
                    senders.push_str(&format!(" ({dead} dead holding space)"));
                }
                let state = if snap.corruption.is_some() {
                    " (corrupt)"
                } else if snap.state.replaced {
                    " (replaced)"
                } else {
                    ""
                };
                cells.push(vec![
                    format!("{path}{state}"),
                    schema_label(channel.schema()),
                    percent(snap.fill()),
                    cell_size(snap.queued_bytes()),
                    receiver_cell(&snap.receiver),
                    senders,
                ]);
            }
            Err(e) => errors.push((path, e.to_string())),
        }
    }
    if cells.is_empty() && errors.is_empty() {
        writeln!(out, "no channels")?;
    } else if !cells.is_empty() {
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |out: &mut dyn Write, row: &[String]| -> io::Result<()> {
            let mut text = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                // Numbers right-aligned, the rest left-aligned; no padding after the last.
                let pad = w - cell.chars().count();
                match i {
                    2 | 3 => text.push_str(&format!("{}{cell}", " ".repeat(pad))),
                    _ if i + 1 == row.len() => text.push_str(cell),
                    _ => text.push_str(&format!("{cell}{}", " ".repeat(pad))),
                }
                if i + 1 < row.len() {
                    text.push_str("  ");
                }
            }
            writeln!(out, "{text}")
        };
        line(out, &header.map(str::to_owned))?;
        for row in &cells {
            line(out, row)?;
        }
    }
    for (path, why) in &errors {
        writeln!(out, "{path}: {why}")?;
    }
    if skipped > 0 {
        let files = if skipped == 1 { "file" } else { "files" };
        writeln!(out, "({skipped} other {files} skipped: not channels)")?;
    }
    Ok(())
}

/// Writes `key` padded to the key column, then the value.
fn field(out: &mut impl Write, key: &str, value: impl std::fmt::Display) -> io::Result<()> {
    writeln!(out, "{key:<KEY$}  {value}")
}

/// A continuation line under the value column.
fn more(out: &mut impl Write, value: impl std::fmt::Display) -> io::Result<()> {
    writeln!(out, "{:KEY$}  {value}", "")
}

/// What the description check means for decoding, in a few words.
pub(crate) fn check_line(check: &DescriptionCheck) -> String {
    printable(&match check {
        DescriptionCheck::Verified => "matches the schema hash: messages decode exactly".to_owned(),
        DescriptionCheck::Unverified(why) => {
            format!("does not match the schema hash, messages decode as described: {why}")
        }
        DescriptionCheck::Undecodable(why) => format!("messages cannot be decoded: {why}"),
        _ => "unknown".to_owned(),
    })
}

fn sender_line(s: &SenderInfo) -> String {
    let mut line = format!(
        "pid {:<7} {}, {}",
        s.pid,
        s.role,
        if s.alive { "alive" } else { "dead" }
    );
    if let Some(r) = s.reservation {
        let made = if r.confirmed {
            ""
        } else {
            " (about to be made)"
        };
        if s.alive {
            line.push_str(&format!(
                ", writing a {}-byte record at position {}{made}",
                r.size, r.position
            ));
        } else {
            line.push_str(&format!(
                ", left a {}-byte reservation at position {}{made}: the receiver skips it",
                r.size, r.position
            ));
        }
    }
    line
}

/// The `ipmpsc inspect` report.
pub(crate) fn inspect(
    out: &mut impl Write,
    channel: &Inspection,
    snap: &Snapshot,
) -> io::Result<()> {
    let schema = channel.schema();
    let layout = channel.layout();
    field(out, "channel", channel.path().display())?;
    if schema.hash == 0 {
        field(out, "schema", "raw (untyped): messages carry no schema")?;
    } else {
        field(
            out,
            "schema",
            format!(
                "{} v{}, hash {:016x}",
                printable(&schema.name),
                schema.version,
                schema.hash
            ),
        )?;
        field(out, "description", check_line(channel.decoder().check()))?;
        for line in schema.description.lines() {
            more(out, printable(line))?;
        }
    }
    field(
        out,
        "layout",
        format!(
            "version {}, {}-bit, codec {} (bincode, fixed-width little-endian), file of {}",
            layout.layout_version,
            layout.word_size * 8,
            layout.codec,
            short_size(layout.file_len).unwrap_or_else(|| format!("{} bytes", layout.file_len))
        ),
    )?;
    field(
        out,
        "capacity",
        format!(
            "{}, messages up to {} bytes, {} sender slots",
            bytes(layout.capacity),
            layout.max_message,
            layout.max_senders
        ),
    )?;
    field(out, "state", snap.state)?;
    let r = &snap.receiver;
    let receiver = match (r.alive, r.pid) {
        (true, _) if r.creator_deciding => {
            "held by a creator deciding whether to replace the file".to_owned()
        }
        (true, pid) => {
            let pid = pid.map_or("pid unknown".to_owned(), |p| format!("pid {p}"));
            let asleep = if r.asleep {
                ", asleep waiting for messages"
            } else {
                ""
            };
            format!("alive, {pid}{asleep}")
        }
        (false, _) if r.claims == 0 => "none yet (no receiver ever opened the channel)".to_owned(),
        (false, Some(pid)) => format!("gone (was pid {pid}; it did not leave cleanly)"),
        (false, None) => "gone (it left cleanly)".to_owned(),
    };
    field(out, "receiver", receiver)?;
    let waiting = match snap.senders_waiting_for_space {
        0 => String::new(),
        n => format!(", {n} asleep waiting for space"),
    };
    field(
        out,
        "senders",
        format!(
            "{} alive of {} slots{waiting} ({} registrations over the channel's life)",
            snap.live_senders(),
            layout.max_senders,
            snap.registrations
        ),
    )?;
    for s in &snap.senders {
        field(out, &format!("  slot {}", s.slot), sender_line(s))?;
    }
    let received = snap.head.saturating_sub(snap.free);
    let mut in_use = format!(
        "{}, {} of the capacity: {} queued",
        bytes(snap.bytes_in_use()),
        percent(snap.fill()),
        snap.queued_bytes()
    );
    if received > 0 {
        in_use.push_str(&format!(
            ", {received} received and not yet handed back to senders"
        ));
    }
    field(out, "in use", in_use)?;
    field(
        out,
        "cursors",
        format!("free {}, head {}, tail {}", snap.free, snap.head, snap.tail),
    )?;
    let dead = snap.dead_reservations().count();
    field(
        out,
        "dead senders",
        format!(
            "{dead} reservation(s) waiting to be skipped, {} skipped so far",
            snap.skipped_reservations
        ),
    )?;
    if let Some(why) = &snap.corruption {
        field(out, "corrupt", why)?;
    }
    Ok(())
}

/// The line `ipmpsc peek` ends with (on stderr): how many messages, and why it stopped.
pub(crate) fn peek_summary(peek: &Peek, decoder: &Decoder, snap: Option<&Snapshot>) -> String {
    let n = peek.messages.len();
    let total: usize = peek.messages.iter().map(|m| m.bytes.len()).sum();
    let mut line = format!(
        "{n} message{} ({total} bytes) between positions {} and {}",
        if n == 1 { "" } else { "s" },
        peek.head,
        peek.tail
    );
    line.push_str(&match &peek.end {
        PeekEnd::Tail => "; that is all".to_owned(),
        PeekEnd::Limit => "; stopped at --max".to_owned(),
        PeekEnd::Uncommitted { position } => {
            let owners: Vec<String> = snap
                .map(|s| {
                    s.senders
                        .iter()
                        .filter(|s| s.reservation.is_some_and(|r| r.position == *position))
                        .map(|s| {
                            format!(
                                "pid {}, {}",
                                s.pid,
                                if s.alive {
                                    "writing it"
                                } else {
                                    "dead: the receiver skips it"
                                }
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let whose = if owners.is_empty() {
                String::new()
            } else {
                format!(" ({})", owners.join("; "))
            };
            format!("; stopped at a reservation not committed yet at position {position}{whose}")
        }
        PeekEnd::Corrupt(_) => "; stopped at bytes that are not a record".to_owned(),
        _ => String::new(),
    });
    if peek.overtaken > 0 {
        line.push_str(&format!(
            "; the receiver took messages while they were read ({} time(s)), those are left out",
            peek.overtaken
        ));
    }
    match decoder.check() {
        DescriptionCheck::Verified => {}
        DescriptionCheck::Undecodable(why) => {
            line.push_str(&format!("; messages cannot be decoded: {}", printable(why)))
        }
        check => line.push_str(&format!("; the schema description {}", check_line(check))),
    }
    line
}
