//! `ipmpsc-bridge`: carries an ipmpsc channel's records between machines over zenoh.
//!
//! ```text
//! host 2:  ipmpsc-bridge import demo/readings /dev/shm/collector --listen tcp/0.0.0.0:7447
//! host 1:  ipmpsc-bridge export /dev/shm/sensors demo/readings --connect tcp/host2:7447
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ipmpsc_bridge::{Exporter, Importer, Network};

#[derive(Parser)]
#[command(
    name = "ipmpsc-bridge",
    version,
    about = "Carries an ipmpsc channel's records between machines over zenoh",
    long_about = "Carries an ipmpsc channel's records between machines over zenoh.\n\n\
        `export` is the receiver of a local channel and publishes each record, unchanged, on a \
        zenoh key; `import` writes the records published on a key expression into a local \
        channel, refusing records of another schema. Delivery is ordered per producer and at \
        least once: a record leaves the exporting channel only once it is committed in the \
        importing one, so either process may be killed and restarted."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Publishes the records of the channel at PATH on KEY.
    Export {
        /// The channel file. It is reopened if it exists (continuing with the records the
        /// last exporter did not get acknowledged); otherwise see --capacity.
        path: PathBuf,
        /// The zenoh key to publish on, e.g. `site/sensors` (no wildcards).
        key: String,
        /// If nothing is at PATH, create the channel with room for a message of this many
        /// bytes, for the schema of the importer of KEY (asked over zenoh).
        #[arg(long, value_name = "BYTES")]
        capacity: Option<u64>,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// Writes the records published on KEY into the channel at PATH.
    Import {
        /// The zenoh key expression to subscribe to; wildcards (`site/**`) take records from
        /// several exporters.
        key: String,
        /// The channel file, created by the consumer (this waits for it).
        path: PathBuf,
        #[command(flatten)]
        network: NetworkArgs,
    },
}

#[derive(Args)]
struct NetworkArgs {
    /// Listen on this zenoh endpoint, e.g. `tcp/0.0.0.0:7447` (repeatable).
    #[arg(long, value_name = "ENDPOINT")]
    listen: Vec<String>,
    /// Connect to this zenoh endpoint, e.g. `tcp/192.168.1.20:7447` (repeatable).
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// Meet only the endpoints given: no multicast scouting on the local network.
    #[arg(long)]
    isolated: bool,
}

impl NetworkArgs {
    fn network(&self) -> Network {
        let mut n = if self.isolated {
            Network::isolated()
        } else {
            Network::new()
        };
        for e in &self.listen {
            n = n.listen(e.clone());
        }
        for e in &self.connect {
            n = n.connect(e.clone());
        }
        n
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipmpsc-bridge: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    // Never set: the bridge runs until it is killed, which loses nothing (records not
    // acknowledged stay in the exporting channel).
    let stop = AtomicBool::new(false);
    match cli.command {
        Command::Export {
            path,
            key,
            capacity,
            network,
        } => {
            let session = network.network().open()?;
            let mut exporter = match capacity {
                Some(capacity) if !path.exists() => {
                    eprintln!("export: waiting for an importer of {key} to tell its schema");
                    let schema = loop {
                        if let Some(schema) =
                            Exporter::importer_schema(&session, &key, Duration::from_secs(1))?
                        {
                            break schema;
                        }
                    };
                    Exporter::open_or_create(&session, &path, capacity, &schema, &key)?
                }
                _ => Exporter::open(&session, &path, &key).map_err(|e| match (&e, capacity) {
                    (ipmpsc_bridge::Error::Channel(c), None)
                        if c.io_kind() == Some(std::io::ErrorKind::NotFound) =>
                    {
                        format!(
                            "{e}\nno channel at {}: let the producers' program create it, or \
                             pass --capacity to create it for the importer's schema",
                            path.display()
                        )
                        .into()
                    }
                    _ => Box::<dyn std::error::Error>::from(e),
                })?,
            };
            eprintln!(
                "export: {} ({}) on {key}, stream {:016x}",
                path.display(),
                exporter.schema(),
                exporter.stream()
            );
            exporter.run(&stop, |event| eprintln!("export: {event}"))?;
        }
        Command::Import { key, path, network } => {
            let session = network.network().open()?;
            let mut importer = match Importer::open_timeout(&session, &key, &path, Duration::ZERO)?
            {
                Some(importer) => importer,
                None => {
                    eprintln!("import: waiting for a receiver at {}", path.display());
                    Importer::open_timeout(&session, &key, &path, Duration::MAX)?
                        .expect("waits as long as it takes")
                }
            };
            eprintln!(
                "import: {key} into {} ({})",
                path.display(),
                importer.schema()
            );
            importer.run(&stop, |event| eprintln!("import: {event}"))?;
        }
    }
    Ok(())
}
