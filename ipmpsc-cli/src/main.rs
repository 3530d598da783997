//! `ipmpsc`: look at ipmpsc channels from outside, without taking part in them.
//!
//! ```text
//! ipmpsc list [DIR]              the channel files in DIR (default /dev/shm)
//! ipmpsc inspect PATH            one channel's header, receiver, senders and fill
//! ipmpsc peek PATH [--max N]     its queued messages as JSON lines, none consumed
//! ```
//!
//! Every command takes `--json` for scripts. Everything it knows about channels comes from
//! [`ipmpsc::inspect`]; this crate only words it, so it never writes to a channel, never takes
//! its locks and never consumes a message.

mod json;
mod text;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ipmpsc::inspect::{Inspection, PeekEnd};

/// Look at ipmpsc channels: who holds them, how full they are, what schema they carry and
/// what is queued in them. Read-only: nothing is written, locked or consumed.
#[derive(Debug, Parser)]
#[command(name = "ipmpsc", version)]
struct Cli {
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the channel files in a directory, with schema, fill, receiver and senders.
    /// Files that are not channels are skipped.
    List {
        /// The directory to look in.
        #[arg(default_value = "/dev/shm")]
        dir: PathBuf,
    },
    /// Show one channel: layout, capacity, schema, receiver and senders with their pids,
    /// bytes in use, and reservations of dead senders.
    Inspect {
        /// The channel file.
        path: PathBuf,
    },
    /// Print the messages queued in a channel as JSON lines, oldest first, decoded from the
    /// schema description stored in the file. Nothing is consumed.
    Peek {
        /// The channel file.
        path: PathBuf,
        /// Print at most this many messages.
        #[arg(long, value_name = "N")]
        max: Option<usize>,
    },
}

/// Why a command failed.
enum Failure {
    /// Said on one line after `error: `.
    Said(String),
    /// The reader of stdout went away (`| head`): no failure of ours.
    Pipe,
}

impl From<ipmpsc::Error> for Failure {
    fn from(e: ipmpsc::Error) -> Failure {
        // The cause of an I/O error is its source, which `Display` leaves out.
        match std::error::Error::source(&e) {
            Some(cause) => Failure::Said(format!("{e}: {cause}")),
            None => Failure::Said(e.to_string()),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        match e.kind() {
            io::ErrorKind::BrokenPipe => Failure::Pipe,
            _ => Failure::Said(format!("could not write the output: {e}")),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::stdout().lock();
    let result = match &cli.command {
        Command::List { dir } => list(&mut out, dir, cli.json),
        Command::Inspect { path } => inspect(&mut out, path, cli.json),
        Command::Peek { path, max } => peek(&mut out, path, max.unwrap_or(usize::MAX), cli.json),
    };
    let result = result.and_then(|()| out.flush().map_err(Failure::from));
    match result {
        Ok(()) | Err(Failure::Pipe) => ExitCode::SUCCESS,
        Err(Failure::Said(why)) => {
            eprintln!("error: {}", text::printable(&why.replace('\n', " ")));
            ExitCode::FAILURE
        }
    }
}

/// `ipmpsc list`.
fn list(out: &mut impl Write, dir: &Path, json: bool) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::Said(format!(
            "could not read the directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| !is_staging(p))
        .collect();
    paths.sort();
    let mut rows = Vec::new();
    let mut skipped = 0;
    for path in paths {
        // Files of other formats, and files this user may not read, are not ours to list.
        if !ipmpsc::inspect::is_channel(&path).unwrap_or(false) {
            skipped += 1;
            continue;
        }
        let row = Inspection::open(&path).and_then(|channel| {
            let snapshot = channel.snapshot()?;
            Ok((channel, snapshot))
        });
        rows.push((path, row));
    }
    if json {
        writeln!(out, "{}", json::list(&rows))?;
    } else {
        text::list(out, &rows, skipped)?;
    }
    Ok(())
}

/// A channel file being created under a temporary name (`.<name>.<pid>.<n>.tmp`).
fn is_staging(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with('.') && name.ends_with(".tmp")
}

/// `ipmpsc inspect`.
fn inspect(out: &mut impl Write, path: &Path, json: bool) -> Result<(), Failure> {
    let channel = Inspection::open(path)?;
    let snapshot = channel.snapshot()?;
    if json {
        writeln!(out, "{}", json::inspect(&channel, &snapshot))?;
    } else {
        text::inspect(out, &channel, &snapshot)?;
    }
    match &snapshot.corruption {
        Some(why) => Err(Failure::Said(format!("channel file is corrupt: {why}"))),
        None => Ok(()),
    }
}

/// `ipmpsc peek`.
fn peek(out: &mut impl Write, path: &Path, max: usize, json: bool) -> Result<(), Failure> {
    let channel = Inspection::open(path)?;
    let decoder = channel.decoder();
    let peek = channel.peek(max)?;
    for message in &peek.messages {
        let value = decoder.decode_or_hex(&message.bytes);
        if json {
            writeln!(out, "{}", json::queued(message, value))?;
        } else {
            writeln!(out, "{value}")?;
        }
    }
    out.flush()?;
    // The summary goes to stderr, so that stdout holds the messages alone.
    let snapshot = channel.snapshot().ok();
    eprintln!("{}", text::peek_summary(&peek, &decoder, snapshot.as_ref()));
    match peek.end {
        PeekEnd::Corrupt(why) => Err(Failure::Said(format!("channel file is corrupt: {why}"))),
        _ => Ok(()),
    }
}
