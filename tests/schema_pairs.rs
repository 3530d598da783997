//! Property test of the schema hash: pairs of message definitions, generated at random by
//! `build/schema_pairs.rs` (a field added, removed, retyped, reordered or renamed, a serde
//! attribute added or removed on a nested type, a variant added, removed or reordered, the
//! version bumped, or nothing changed), compiled through the real macros. For every pair:
//!
//! - if bincode lays the two definitions out differently on the wire (by the generator's own
//!   model of the encoding, which knows nothing of the hash), their hashes differ: no false
//!   accept;
//! - if the two share a hash, messages of each cross real channels to the other and back,
//!   and arrive as the same values: the shared hash is not a lie either.
//!
//! More pairs, other seeds: `IPMPSC_SCHEMA_PAIRS=2000 IPMPSC_SCHEMA_PAIRS_SEED=7 cargo test
//! --test schema_pairs`.

mod common;

use std::fmt::Debug;
use std::time::Duration;

use common::ShmPath;
use ipmpsc::Channel;

/// One generated pair.
pub struct Pair {
    index: usize,
    change: &'static str,
    wire_a: &'static str,
    wire_b: &'static str,
    hash_a: u64,
    hash_b: u64,
    a_to_b: fn(&str) -> Result<usize, String>,
    b_to_a: fn(&str) -> Result<usize, String>,
}

#[allow(clippy::all)]
mod pairs {
    pub use super::Pair;
    include!(concat!(env!("OUT_DIR"), "/schema_pairs.rs"));
}

const T: Duration = Duration::from_secs(10);

/// Sends every sample of `A` into a channel of `B`, receives each as a `B`, sends that back
/// through a channel of `A` and on into `B` again, and checks the two `B`s agree. Returns
/// how many samples made the trip.
fn trip<A, B>(path: &str, samples: Vec<A>) -> Result<usize, String>
where
    A: Channel + Debug,
    B: Channel + Debug + PartialEq,
{
    let there = format!("{path}-there");
    let back = format!("{path}-back");
    let _clean = (ShmFile(there.clone()), ShmFile(back.clone()));
    let mut rx_b =
        ipmpsc::TypedReceiver::<B>::create(&there, 1 << 16).map_err(|e| e.to_string())?;
    let tx_a = ipmpsc::TypedSender::<A>::open(&there).map_err(|e| e.to_string())?;
    let mut rx_a = ipmpsc::TypedReceiver::<A>::create(&back, 1 << 16).map_err(|e| e.to_string())?;
    let tx_b = ipmpsc::TypedSender::<B>::open(&back).map_err(|e| e.to_string())?;
    let count = samples.len();
    for sample in samples {
        tx_a.send(&sample).map_err(|e| e.to_string())?;
        let first = rx_b
            .recv_timeout(T)
            .map_err(|e| format!("{sample:?} did not decode on the other side: {e}"))?
            .ok_or("nothing arrived")?;
        tx_b.send(&first).map_err(|e| e.to_string())?;
        let returned = rx_a
            .recv_timeout(T)
            .map_err(|e| format!("{first:?} did not decode on the way back: {e}"))?
            .ok_or("nothing came back")?;
        tx_a.send(&returned).map_err(|e| e.to_string())?;
        let second = rx_b
            .recv_timeout(T)
            .map_err(|e| e.to_string())?
            .ok_or("lost")?;
        if first != second {
            return Err(format!(
                "{sample:?} arrived as {first:?}, then as {second:?}"
            ));
        }
    }
    Ok(count)
}

/// Removes a channel file when dropped.
struct ShmFile(String);

impl Drop for ShmFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn definitions_that_encode_differently_never_share_a_hash() {
    let mut differing = 0;
    for pair in pairs::PAIRS {
        if pair.wire_a != pair.wire_b {
            differing += 1;
            assert_ne!(
                pair.hash_a, pair.hash_b,
                "pair {} ({}): the wire differs ({} / {}) but the hashes agree",
                pair.index, pair.change, pair.wire_a, pair.wire_b
            );
        }
    }
    // The generator must produce both kinds, or the test proves little.
    assert!(
        differing > pairs::PAIRS.len() / 3,
        "{differing} pairs differ on the wire"
    );
}

#[test]
fn definitions_that_share_a_hash_exchange_messages_both_ways() {
    let path = ShmPath::new("schema-pairs");
    let mut shared = 0;
    for pair in pairs::PAIRS.iter().filter(|p| p.hash_a == p.hash_b) {
        shared += 1;
        let base = format!("{}-{}", path.as_str(), pair.index);
        for (direction, trip) in [("a to b", pair.a_to_b), ("b to a", pair.b_to_a)] {
            let sent = trip(&base).unwrap_or_else(|e| {
                panic!("pair {} ({}), {direction}: {e}", pair.index, pair.change)
            });
            assert!(sent > 0);
        }
    }
    assert!(shared > 5, "only {shared} pairs share a hash");
}
