//! Receives lines of text from any number of `ipmpsc-send` processes and prints them.
//!
//! ```text
//! cargo run --example ipmpsc-receive -- --zero-copy /tmp/ipmpsc   # terminal 1
//! cargo run --example ipmpsc-send -- /tmp/ipmpsc                  # terminals 2, 3, ...
//! ```
//!
//! With `--zero-copy`, each line is printed straight from shared memory as a `&str`.
//! `--count N` exits after N messages, for scripts.

use clap::Parser;
use ipmpsc::{Receiver, SharedRingBuffer};

#[derive(Parser)]
#[command(about = "Print lines sent by ipmpsc-send processes")]
struct Args {
    /// Channel file to create, or to continue if it exists (a restarted receiver delivers what
    /// was sent while it was gone).
    map_file: String,
    /// Borrow each message from shared memory instead of copying it out.
    #[arg(long)]
    zero_copy: bool,
    /// Exit after this many messages.
    #[arg(long)]
    count: Option<u64>,
    /// Ring capacity in bytes.
    #[arg(long, default_value_t = 32 * 1024)]
    capacity: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let buffer = match SharedRingBuffer::open(&args.map_file) {
        Ok(buffer) => buffer,
        Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => {
            SharedRingBuffer::create(&args.map_file, args.capacity)?
        }
        Err(e) => return Err(e.into()),
    };
    let mut rx = Receiver::try_new(buffer)?;
    println!(
        "Ready!  Now run `cargo run --example ipmpsc-send -- {}` in another terminal.",
        args.map_file
    );
    let mut received = 0;
    while args.count.is_none_or(|n| received < n) {
        if args.zero_copy {
            let mut context = rx.zero_copy_context();
            let line: &str = context.recv()?;
            println!("received {line:?}");
        } else {
            let line: String = rx.recv()?;
            println!("received {line:?}");
        }
        received += 1;
    }
    Ok(())
}
