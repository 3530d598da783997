//! Output for scripts: JSON built as [`Value`]s, which write themselves as compact JSON.
//! Schema hashes are hex strings (a `u64` does not survive a JSON reader that uses doubles).

use std::path::PathBuf;

use ipmpsc::inspect::{
    DescriptionCheck, Inspection, QueuedMessage, ReceiverInfo, SenderInfo, Snapshot, Value,
};
use ipmpsc::schema::StoredSchema;

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

fn uint(n: impl Into<u128>) -> Value {
    Value::UInt(n.into())
}

fn optional<T>(value: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    value.map_or(Value::Null, f)
}

fn schema(s: &StoredSchema) -> Value {
    if s.hash == 0 {
        return object([
            ("raw", Value::Bool(true)),
            ("hash", text(format!("{:016x}", s.hash))),
        ]);
    }
    object([
        ("raw", Value::Bool(false)),
        ("name", text(&*s.name)),
        ("version", uint(s.version)),
        ("hash", text(format!("{:016x}", s.hash))),
        ("description", text(&*s.description)),
    ])
}

fn check(c: &DescriptionCheck) -> Value {
    let (status, why) = match c {
        DescriptionCheck::Verified => ("verified", None),
        DescriptionCheck::Unverified(why) => ("unverified", Some(why)),
        DescriptionCheck::Undecodable(why) => ("undecodable", Some(why)),
        _ => ("unknown", None),
    };
    object([
        ("status", text(status)),
        ("reason", optional(why, |w| text(w.as_str()))),
    ])
}

fn receiver(r: &ReceiverInfo) -> Value {
    object([
        ("alive", Value::Bool(r.alive)),
        ("pid", optional(r.pid, uint)),
        ("creator_deciding", Value::Bool(r.creator_deciding)),
        ("asleep", Value::Bool(r.asleep)),
        ("claims", uint(r.claims)),
    ])
}

fn sender(s: &SenderInfo) -> Value {
    object([
        ("slot", uint(s.slot)),
        ("role", text(s.role.to_string())),
        ("pid", uint(s.pid)),
        ("alive", Value::Bool(s.alive)),
        (
            "reservation",
            optional(s.reservation, |r| {
                object([
                    ("position", uint(r.position)),
                    ("size", uint(r.size)),
                    ("confirmed", Value::Bool(r.confirmed)),
                ])
            }),
        ),
    ])
}

fn fill(snap: &Snapshot) -> Value {
    Value::F64((snap.fill() * 1e4).round() / 1e4)
}

/// `ipmpsc list --json`: an array with one object per channel file.
pub(crate) fn list(rows: &[(PathBuf, ipmpsc::Result<(Inspection, Snapshot)>)]) -> Value {
    Value::Array(
        rows.iter()
            .map(|(path, row)| {
                let path = text(path.display().to_string());
                match row {
                    Ok((channel, snap)) => object([
                        ("path", path),
                        ("schema", schema(channel.schema())),
                        ("capacity", uint(snap.capacity)),
                        ("bytes_in_use", uint(snap.bytes_in_use())),
                        ("queued_bytes", uint(snap.queued_bytes())),
                        ("fill", fill(snap)),
                        ("state", text(snap.state.to_string())),
                        ("receiver", receiver(&snap.receiver)),
                        ("live_senders", uint(snap.live_senders() as u64)),
                        (
                            "dead_reservations",
                            uint(snap.dead_reservations().count() as u64),
                        ),
                        ("corruption", optional(snap.corruption.as_deref(), text)),
                    ]),
                    Err(e) => object([("path", path), ("error", text(e.to_string()))]),
                }
            })
            .collect(),
    )
}

/// `ipmpsc inspect --json`.
pub(crate) fn inspect(channel: &Inspection, snap: &Snapshot) -> Value {
    let layout = channel.layout();
    object([
        ("path", text(channel.path().display().to_string())),
        ("schema", schema(channel.schema())),
        ("description_check", check(channel.decoder().check())),
        (
            "layout",
            object([
                ("layout_version", uint(layout.layout_version)),
                ("word_size", uint(layout.word_size)),
                ("codec", uint(layout.codec)),
                ("capacity", uint(layout.capacity)),
                ("max_message", uint(layout.max_message)),
                ("max_senders", uint(layout.max_senders)),
                ("file_len", uint(layout.file_len)),
                ("flags_offset", uint(layout.flags_offset)),
                ("data_offset", uint(layout.data_offset)),
            ]),
        ),
        (
            "state",
            object([
                ("closed", Value::Bool(snap.state.closed)),
                ("replaced", Value::Bool(snap.state.replaced)),
                ("replacing", Value::Bool(snap.state.replacing)),
            ]),
        ),
        (
            "cursors",
            object([
                ("free", uint(snap.free)),
                ("head", uint(snap.head)),
                ("tail", uint(snap.tail)),
            ]),
        ),
        ("bytes_in_use", uint(snap.bytes_in_use())),
        ("queued_bytes", uint(snap.queued_bytes())),
        ("fill", fill(snap)),
        ("receiver", receiver(&snap.receiver)),
        ("live_senders", uint(snap.live_senders() as u64)),
        (
            "senders",
            Value::Array(snap.senders.iter().map(sender).collect()),
        ),
        ("registrations", uint(snap.registrations)),
        ("attached", uint(snap.attached)),
        ("skipped_reservations", uint(snap.skipped_reservations)),
        (
            "senders_waiting_for_space",
            uint(snap.senders_waiting_for_space),
        ),
        ("corruption", optional(snap.corruption.as_deref(), text)),
    ])
}

/// One line of `ipmpsc peek --json`.
pub(crate) fn queued(message: &QueuedMessage, value: Value) -> Value {
    object([
        ("position", uint(message.position)),
        ("len", uint(message.bytes.len() as u64)),
        ("message", value),
    ])
}
