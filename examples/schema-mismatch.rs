//! Shows what happens when a producer built from another version of a message enum opens a
//! channel: it is refused, and the error says what differs.
//!
//! `cargo run --example schema-mismatch`

/// The message type as the consumer was built.
mod v1 {
    #[ipmpsc::channel(version = 1)]
    pub enum Order {
        Place {
            id: u64,
            symbol: String,
            quantity: u32,
        },
        Cancel {
            id: u64,
        },
    }
}

/// The same enum one release later: `quantity` became a float.
mod v1_changed {
    #[ipmpsc::channel(version = 1)]
    pub enum Order {
        Place {
            id: u64,
            symbol: String,
            quantity: f64,
        },
        Cancel {
            id: u64,
        },
    }
}

/// And with a version bump and a new variant.
mod v2 {
    #[ipmpsc::channel(version = 2)]
    pub enum Order {
        Place {
            id: u64,
            symbol: String,
            quantity: u32,
        },
        Cancel {
            id: u64,
        },
        Amend {
            id: u64,
            quantity: u32,
        },
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = format!("/dev/shm/ipmpsc-schema-mismatch-{}", std::process::id());
    let _rx = v1::Order::create_receiver(&path, 64 * 1024)?;
    println!(
        "channel {path} created for Order v1, schema #{:016x}",
        v1::Order::SCHEMA_HASH
    );

    let same = v1::Order::open_sender(&path);
    println!(
        "\nproducer with the same enum: {}",
        if same.is_ok() { "accepted" } else { "refused" }
    );

    for (what, result) in [
        (
            "a retyped field",
            v1_changed::Order::open_sender(&path).map(|_| ()),
        ),
        (
            "version 2 with a new variant",
            v2::Order::open_sender(&path).map(|_| ()),
        ),
        (
            "the raw, untyped API",
            ipmpsc::SharedRingBuffer::open(&path).map(|_| ()),
        ),
    ] {
        match result {
            Err(e) => println!("\nproducer with {what}:\n  {e}"),
            Ok(()) => println!("\nproducer with {what}: accepted (unexpected!)"),
        }
    }
    std::fs::remove_file(&path)?;
    Ok(())
}
