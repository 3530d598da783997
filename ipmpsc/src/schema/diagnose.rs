//! Diagnosis of a schema mismatch: the first difference between the description stored in a
//! channel file and ours, as a sentence.

use super::{Shape, StoredSchema};

/// Names the first difference between the schema in the file and ours, as a sentence.
pub(super) fn diagnose(channel: &StoredSchema, ours: &StoredSchema) -> String {
    match (channel.hash, ours.hash) {
        (0, 0) => return "both are raw (untyped) channels".to_owned(),
        (0, _) => {
            return format!(
                "the channel is a raw (untyped) channel: open it with the raw `Sender`/`Receiver`, \
                 or create it as a `{0}` channel with `{0}::create_receiver`",
                ours.name
            )
        }
        (_, 0) => {
            return format!(
                "the channel is typed, it carries `{0}` messages: open it with \
                 `{0}::open_sender`/`{0}::open_receiver` instead of the raw API",
                channel.name
            )
        }
        _ => {}
    }
    if channel.name != ours.name {
        return format!(
            "message type differs: channel carries `{}`, this process has `{}`",
            channel.name, ours.name
        );
    }
    let structural = match (
        parse_description(&channel.description),
        parse_description(&ours.description),
    ) {
        (Some(theirs), Some(mine)) => first_variant_difference(&theirs, &mine),
        _ => None,
    };
    match (channel.version != ours.version, structural) {
        (true, None) => format!(
            "version differs: channel has v{}, this process has v{}",
            channel.version, ours.version
        ),
        (true, Some(structural)) => format!(
            "version differs: channel has v{}, this process has v{}; first change: {structural}",
            channel.version, ours.version
        ),
        (false, Some(structural)) => structural,
        (false, None) => "the descriptions agree but the hashes differ: the two programs were \
                          built with versions of ipmpsc that hash schemas differently, or the \
                          description was too long to store in full"
            .to_owned(),
    }
}

/// A variant line of a description, parsed back.
struct ParsedVariant<'a> {
    /// The whole line, without its indent.
    line: &'a str,
    name: &'a str,
    shape: Shape,
    /// (name or position, type description).
    fields: Vec<(String, &'a str)>,
}

/// Parses the variant lines of [`Schema::description`]'s output; `None` if it is not such
/// an output (or was cut short).
fn parse_description(description: &str) -> Option<Vec<ParsedVariant<'_>>> {
    description.lines().skip(1).map(parse_variant).collect()
}

fn parse_variant(line: &str) -> Option<ParsedVariant<'_>> {
    let line = line.strip_prefix("  ")?;
    let end = line.find([' ', '(']).unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let (shape, fields) = if rest.is_empty() {
        (Shape::Unit, Vec::new())
    } else if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        let fields = split_top_level(inner)
            .into_iter()
            .enumerate()
            .map(|(i, ty)| (i.to_string(), ty))
            .collect();
        (Shape::Tuple, fields)
    } else {
        let inner = rest.strip_prefix(" { ")?.strip_suffix(" }")?;
        let fields = split_top_level(inner)
            .into_iter()
            .map(|field| field.split_once(": ").map(|(n, ty)| (n.to_owned(), ty)))
            .collect::<Option<_>>()?;
        (Shape::Named, fields)
    };
    Some(ParsedVariant {
        line,
        name,
        shape,
        fields,
    })
}

fn variant_name<'v>(variant: &'v ParsedVariant<'_>) -> &'v str {
    variant.name
}

fn field_name<'f>(field: &'f (String, &str)) -> &'f str {
    &field.0
}

/// Splits `a, B<c, d>, (e, f)` at the commas that are not inside brackets.
fn split_top_level(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in list.char_indices() {
        match c {
            '<' | '(' | '[' | '{' => depth += 1,
            '>' | ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !list.trim().is_empty() {
        parts.push(list[start..].trim());
    }
    parts
}

/// What happened to the item at one position of two lists (variants, or fields).
enum Change {
    Added,
    Removed,
    Renamed,
    Reordered,
    Replaced,
}

/// Classifies a difference of names at the same position.
fn classify<T>(
    theirs: &[T],
    mine: &[T],
    i: usize,
    name: fn(&T) -> &str,
    same_content: bool,
) -> Change {
    match (theirs.get(i), mine.get(i)) {
        (Some(_), None) => Change::Removed,
        (None, _) => Change::Added,
        (Some(t), Some(m)) => {
            let t_kept = mine.iter().any(|x| name(x) == name(t));
            let m_existed = theirs.iter().any(|x| name(x) == name(m));
            match (t_kept, m_existed) {
                (true, true) => Change::Reordered,
                (false, true) => Change::Removed,
                (true, false) => Change::Added,
                (false, false) if same_content => Change::Renamed,
                (false, false) => Change::Replaced,
            }
        }
    }
}

fn first_variant_difference(
    theirs: &[ParsedVariant<'_>],
    mine: &[ParsedVariant<'_>],
) -> Option<String> {
    for i in 0..theirs.len().max(mine.len()) {
        let (t, m) = (theirs.get(i), mine.get(i));
        if let (Some(t), Some(m)) = (t, m) {
            if t.name == m.name {
                match first_field_difference(t, m) {
                    Some(d) => return Some(format!("variant `{}`{d}", t.name)),
                    None => continue,
                }
            }
        }
        let same_fields =
            matches!((t, m), (Some(t), Some(m)) if t.shape == m.shape && t.fields == m.fields);
        return Some(match classify(theirs, mine, i, variant_name, same_fields) {
            Change::Removed => format!(
                "variant `{}` removed: the channel has it, this process does not",
                t?.name
            ),
            Change::Added => format!(
                "variant `{}` added: this process has it, the channel does not",
                m?.name
            ),
            Change::Renamed => format!(
                "variant renamed: channel has `{}`, this process has `{}`",
                t?.name, m?.name
            ),
            Change::Reordered => format!(
                "variants reordered: channel has `{}` at position {i}, this process has `{}`",
                t?.name, m?.name
            ),
            Change::Replaced => format!(
                "variant {i} differs: channel has `{}`, this process has `{}`",
                t?.line, m?.line
            ),
        });
    }
    None
}

/// `, field `pixels`: channel has …`, or `None` when the two variants agree.
fn first_field_difference(t: &ParsedVariant<'_>, m: &ParsedVariant<'_>) -> Option<String> {
    if t.shape != m.shape {
        return Some(format!(
            " changed shape: channel has `{}`, this process has `{}`",
            t.line, m.line
        ));
    }
    let label = |name: &str| match t.shape {
        Shape::Named => format!("field `{name}`"),
        _ => format!("field {name}"),
    };
    for i in 0..t.fields.len().max(m.fields.len()) {
        let (tf, mf) = (t.fields.get(i), m.fields.get(i));
        if let (Some(tf), Some(mf)) = (tf, mf) {
            if tf.0 == mf.0 {
                if tf.1 == mf.1 {
                    continue;
                }
                return Some(format!(
                    ", {}: channel has `{}`, this process has `{}`",
                    label(&tf.0),
                    tf.1,
                    mf.1
                ));
            }
        }
        let same_type = matches!((tf, mf), (Some(tf), Some(mf)) if tf.1 == mf.1);
        return Some(
            match classify(&t.fields, &m.fields, i, field_name, same_type) {
                Change::Removed => format!(
                    ", {} removed: the channel has it, this process does not",
                    label(&tf?.0)
                ),
                Change::Added => format!(
                    ", {} added: this process has it, the channel does not",
                    label(&mf?.0)
                ),
                Change::Renamed => format!(
                    ", field renamed: channel has `{}`, this process has `{}`",
                    tf?.0, mf?.0
                ),
                Change::Reordered => format!(
                    ", fields reordered: channel has `{}` at position {i}, this process has `{}`",
                    tf?.0, mf?.0
                ),
                Change::Replaced => format!(
                    ", {} replaced: channel has `{}: {}`, this process has `{}: {}`",
                    label(&tf?.0),
                    tf?.0,
                    tf?.1,
                    mf?.0,
                    mf?.1
                ),
            },
        );
    }
    None
}
