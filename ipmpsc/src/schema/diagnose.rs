//! Diagnosis of a schema mismatch: the first difference between the description stored in a
//! channel file and ours, as a sentence.
//!
//! Both descriptions (see [`Schema::description`]) are parsed back into variants and fields
//! and compared in order. Where a field's type differs on the two sides and both are the same
//! derived type (`Pos { x: u32 }`, `Pair(u8)`, `enum Kind { A, B(u32) }`), or the same wrapper
//! of one (`Vec<Pos { .. }>`), the comparison goes on inside it, so the sentence names the
//! nested field that changed: "variant `Move`, field `pos`: `Pos`'s field renamed: channel has
//! `y`, this process has `z`".
//!
//! The stored description comes from the file, so the parser trusts nothing in it: whatever
//! does not parse ends the comparison with a general sentence, and the descent into nested
//! types stops at [`MAX_DEPTH`]. A description that was cut short at
//! [`Schema::DESCRIPTION_LIMIT`] is never compared: its missing end would look like removed
//! variants.

use super::{Schema, Shape, StoredSchema, CUT_SHORT};

/// How many nested types deep the comparison descends. Beyond it, the two types are shown
/// whole; a description nested without end cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

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
        is_cut_short(&channel.description),
        is_cut_short(&ours.description),
    ) {
        (false, false) => compare(channel, ours),
        (true, false) => too_long("the channel's description", &ours.name),
        (false, true) => too_long("this process's description", &ours.name),
        (true, true) => too_long("both descriptions", &ours.name),
    };
    if channel.version != ours.version {
        let version = format!(
            "version differs: channel has v{}, this process has v{}",
            channel.version, ours.version
        );
        return match structural {
            Structural::Difference(d) => format!("{version}; first change: {d}"),
            Structural::TooLong(why) => format!("{version}; {why}"),
            Structural::Agree | Structural::Unreadable => version,
        };
    }
    match structural {
        Structural::Difference(d) | Structural::TooLong(d) => d,
        Structural::Agree => "the descriptions agree but the hashes differ: a type that contains \
                              itself differs where its description only names it (a recursive \
                              mention is hashed with its structure), or the two programs were \
                              built with versions of ipmpsc that hash schemas differently"
            .to_owned(),
        Structural::Unreadable => "the hashes differ, and the channel's description cannot be \
                                   compared with this process's: it was written by a version of \
                                   ipmpsc that describes schemas differently, or it is damaged"
            .to_owned(),
    }
}

/// What comparing the two descriptions found.
enum Structural {
    /// The first difference, as a sentence.
    Difference(String),
    /// They cannot be compared because one was cut short; why, as a sentence.
    TooLong(String),
    /// Both parse and agree.
    Agree,
    /// One does not parse.
    Unreadable,
}

fn compare(channel: &StoredSchema, ours: &StoredSchema) -> Structural {
    match (
        parse_description(&channel.description),
        parse_description(&ours.description),
    ) {
        (Some(theirs), Some(mine)) => match variants_difference(&theirs, &mine, "", 0) {
            Some(d) => Structural::Difference(d),
            None => Structural::Agree,
        },
        _ => Structural::Unreadable,
    }
}

fn too_long(whose: &str, name: &str) -> Structural {
    Structural::TooLong(format!(
        "{whose} of `{name}` is too long to compare (longer than {} bytes, it was cut short): \
         compare the two definitions of `{name}`",
        Schema::DESCRIPTION_LIMIT
    ))
}

/// Whether `description` was cut short by [`Schema::description`]. No whole description
/// ends so: its last line is a variant, and `…` is no identifier.
fn is_cut_short(description: &str) -> bool {
    description.ends_with(CUT_SHORT)
}

// ---------------------------------------------------------------------------------------
// Parsing descriptions back.

/// A variant or a derived struct, parsed back from its description: `Frame { width: u32 }`,
/// `Log(String)`, `Stop { }`, `Pair()`, `Stop`.
struct Item<'a> {
    /// The whole description of the item.
    text: &'a str,
    name: &'a str,
    shape: Shape,
    /// (name, or position in a tuple, and the description of the field's type).
    fields: Vec<(String, &'a str)>,
}

/// Parses the variant lines of [`Schema::description`]'s output; `None` if it is not such
/// an output.
fn parse_description(description: &str) -> Option<Vec<Item<'_>>> {
    description
        .lines()
        .skip(1)
        .map(|line| parse_item(line.strip_prefix("  ")?))
        .collect()
}

/// Parses `Name`, `Name(A, B)`, `Name()`, `Name { a: A }` or `Name { }`.
fn parse_item(text: &str) -> Option<Item<'_>> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#'))
        .unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (shape, fields) = if rest.is_empty() {
        (Shape::Unit, Vec::new())
    } else if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        let fields = split_top_level(inner)?
            .into_iter()
            .enumerate()
            .map(|(i, ty)| (i.to_string(), ty))
            .collect();
        (Shape::Tuple, fields)
    } else if rest == " { }" {
        // `describe_fields` of a named variant or struct without fields.
        (Shape::Named, Vec::new())
    } else {
        let inner = rest.strip_prefix(" { ")?.strip_suffix(" }")?;
        let fields = split_top_level(inner)?
            .into_iter()
            .map(|field| field.split_once(": ").map(|(n, ty)| (n.to_owned(), ty)))
            .collect::<Option<_>>()?;
        (Shape::Named, fields)
    };
    Some(Item {
        text,
        name,
        shape,
        fields,
    })
}

/// Parses a derived enum, `enum Kind { A, B(u32) }` or `enum Kind { }`, into its name and
/// variants.
fn parse_enum(text: &str) -> Option<(&str, Vec<Item<'_>>)> {
    let (name, body) = text.strip_prefix("enum ")?.split_once(' ')?;
    let variants = if body == "{ }" {
        Vec::new()
    } else {
        let inner = body.strip_prefix("{ ")?.strip_suffix(" }")?;
        split_top_level(inner)?
            .into_iter()
            .map(parse_item)
            .collect::<Option<_>>()?
    };
    Some((name, variants))
}

/// Parses a type that holds other types by position: `Vec<A>`, `HashMap<K, V>`, `(A, B)` or
/// `[A; 4]`, into what holds them (`Vec<…>`, `(…)`, `[…; 4]`) and the types held.
fn parse_holder(text: &str) -> Option<(String, Vec<&str>)> {
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        return Some(("(…)".to_owned(), split_top_level(inner)?));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let (element, len) = inner.rsplit_once("; ")?;
        return Some((format!("[…; {len}]"), vec![element]));
    }
    let (name, args) = text.strip_suffix('>')?.split_once('<')?;
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some((format!("{name}<…>"), split_top_level(args)?))
}

/// Splits `a, B<c, d>, (e, f)` at the commas that are not inside brackets; `None` if the
/// brackets do not balance.
fn split_top_level(list: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in list.char_indices() {
        match c {
            '<' | '(' | '[' | '{' => depth += 1,
            '>' | ')' | ']' | '}' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                parts.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    if !list.trim().is_empty() {
        parts.push(list[start..].trim());
    }
    Some(parts)
}

// ---------------------------------------------------------------------------------------
// Comparing.

/// What happened to the item at one position of two lists (variants, or named fields).
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

fn item_name<'i>(item: &'i Item<'_>) -> &'i str {
    item.name
}

fn field_name<'f>(field: &'f (String, &str)) -> &'f str {
    &field.0
}

/// The first difference between two lists of variants. `owner` names the enum for nested
/// enums (`` `Kind`'s ``), and is empty for the message enum.
fn variants_difference(
    theirs: &[Item<'_>],
    mine: &[Item<'_>],
    owner: &str,
    depth: usize,
) -> Option<String> {
    for i in 0..theirs.len().max(mine.len()) {
        let (t, m) = (theirs.get(i), mine.get(i));
        if let (Some(t), Some(m)) = (t, m) {
            if t.name == m.name {
                let head = format!("{owner}variant `{}`", t.name);
                match fields_difference(t, m, &head, ", ", depth) {
                    Some(d) => return Some(d),
                    None => continue,
                }
            }
        }
        let same_fields =
            matches!((t, m), (Some(t), Some(m)) if t.shape == m.shape && t.fields == m.fields);
        return Some(match classify(theirs, mine, i, item_name, same_fields) {
            Change::Removed => format!(
                "{owner}variant `{}` removed: the channel has it, this process does not",
                t?.name
            ),
            Change::Added => format!(
                "{owner}variant `{}` added: this process has it, the channel does not",
                m?.name
            ),
            Change::Renamed => format!(
                "{owner}variant renamed: channel has `{}`, this process has `{}`",
                t?.name, m?.name
            ),
            Change::Reordered => format!(
                "{owner}variants reordered: channel has `{}` at position {i}, this process has \
                 `{}`",
                t?.name, m?.name
            ),
            Change::Replaced => format!(
                "{owner}variant {i} differs: channel has `{}`, this process has `{}`",
                t?.text, m?.text
            ),
        });
    }
    None
}

/// The first difference between the fields of two items of one name, or `None` when they
/// agree. `head` names the item (``variant `Frame` ``, `` `Pos` ``), `sep` joins it to one of
/// its fields (`", "` for a variant, `"'s "` for a struct).
fn fields_difference(
    t: &Item<'_>,
    m: &Item<'_>,
    head: &str,
    sep: &str,
    depth: usize,
) -> Option<String> {
    if t.shape != m.shape {
        return Some(format!(
            "{head} changed shape: channel has `{}`, this process has `{}`",
            t.text, m.text
        ));
    }
    match t.shape {
        Shape::Unit => None,
        Shape::Tuple => positional_difference(t, m, head, sep, depth),
        Shape::Named => named_difference(t, m, head, sep, depth),
    }
}

/// Fields with names: matched by name, so a removed field is not taken for a renamed one.
fn named_difference(
    t: &Item<'_>,
    m: &Item<'_>,
    head: &str,
    sep: &str,
    depth: usize,
) -> Option<String> {
    for i in 0..t.fields.len().max(m.fields.len()) {
        let (tf, mf) = (t.fields.get(i), m.fields.get(i));
        if let (Some(tf), Some(mf)) = (tf, mf) {
            if tf.0 == mf.0 {
                if tf.1 == mf.1 {
                    continue;
                }
                return Some(format!(
                    "{head}{sep}field `{}`: {}",
                    tf.0,
                    type_difference(tf.1, mf.1, depth)
                ));
            }
        }
        let same_type = matches!((tf, mf), (Some(tf), Some(mf)) if tf.1 == mf.1);
        return Some(
            match classify(&t.fields, &m.fields, i, field_name, same_type) {
                Change::Removed => format!(
                    "{head}{sep}field `{}` removed: the channel has it, this process does not",
                    tf?.0
                ),
                Change::Added => format!(
                    "{head}{sep}field `{}` added: this process has it, the channel does not",
                    mf?.0
                ),
                Change::Renamed => format!(
                    "{head}{sep}field renamed: channel has `{}`, this process has `{}`",
                    tf?.0, mf?.0
                ),
                Change::Reordered => format!(
                    "{head}{sep}fields reordered: channel has `{}` at position {i}, this process \
                     has `{}`",
                    tf?.0, mf?.0
                ),
                Change::Replaced => format!(
                    "{head}{sep}field `{}` replaced: channel has `{}: {}`, this process has \
                     `{}: {}`",
                    tf?.0, tf?.0, tf?.1, mf?.0, mf?.1
                ),
            },
        );
    }
    None
}

/// Fields named by position: a field's name is where it is, so names cannot tell a removed
/// field from a retyped one. The types do: when the lists differ in length and the rest lines
/// up once the extra fields are taken out, those fields were removed (or added).
fn positional_difference(
    t: &Item<'_>,
    m: &Item<'_>,
    head: &str,
    sep: &str,
    depth: usize,
) -> Option<String> {
    let theirs: Vec<&str> = t.fields.iter().map(|f| f.1).collect();
    let mine: Vec<&str> = m.fields.iter().map(|f| f.1).collect();
    let i = (0..theirs.len().max(mine.len())).find(|&i| theirs.get(i) != mine.get(i))?;
    let whole = || format!("channel has `{}`, this process has `{}`", t.text, m.text);
    let (longer, shorter) = if theirs.len() >= mine.len() {
        (&theirs, &mine)
    } else {
        (&mine, &theirs)
    };
    let extra = longer.len() - shorter.len();
    if extra == 0 {
        let mut differing = (0..theirs.len()).filter(|&j| theirs[j] != mine[j]);
        let reordered = differing.nth(1).is_some() && {
            let (mut a, mut b) = (theirs.clone(), mine.clone());
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        return Some(if reordered {
            format!("{head}{sep}fields reordered: {}", whole())
        } else {
            format!(
                "{head}{sep}field {i}: {}",
                type_difference(theirs[i], mine[i], depth)
            )
        });
    }
    if longer[i + extra..] != shorter[i..] {
        return Some(format!("{head}{sep}fields differ: {}", whole()));
    }
    let fields = if extra == 1 {
        format!("field {i}")
    } else {
        format!("fields {i} to {}", i + extra - 1)
    };
    let them = if extra == 1 { "it" } else { "them" };
    Some(if theirs.len() > mine.len() {
        format!("{head}{sep}{fields} removed: the channel has {them}, this process does not")
    } else {
        format!("{head}{sep}{fields} added: this process has {them}, the channel does not")
    })
}

/// How two different field types differ: inside them when they are the same nested type,
/// otherwise both in full.
fn type_difference(theirs: &str, mine: &str, depth: usize) -> String {
    nested_difference(theirs, mine, depth)
        .unwrap_or_else(|| format!("channel has `{theirs}`, this process has `{mine}`"))
}

/// The first difference inside two different descriptions of one nested type (a derived
/// enum or struct of the same name, or the same holder of such types), if they are that.
fn nested_difference(theirs: &str, mine: &str, depth: usize) -> Option<String> {
    if depth >= MAX_DEPTH {
        return None;
    }
    if let (Some((t_name, t)), Some((m_name, m))) = (parse_enum(theirs), parse_enum(mine)) {
        if t_name != m_name {
            return None;
        }
        return variants_difference(&t, &m, &format!("`{t_name}`'s "), depth + 1);
    }
    if let (Some(t), Some(m)) = (parse_item(theirs), parse_item(mine)) {
        if t.name != m.name {
            return None;
        }
        return fields_difference(&t, &m, &format!("`{}`", t.name), "'s ", depth + 1);
    }
    let (t_holder, t) = parse_holder(theirs)?;
    let (m_holder, m) = parse_holder(mine)?;
    if t_holder != m_holder || t.len() != m.len() {
        return None;
    }
    // One held type differs (a `Vec<Pos>`'s `Pos`): the difference is inside it.
    let mut differing = t.iter().zip(&m).filter(|(a, b)| a != b);
    let (a, b) = differing.next()?;
    if differing.next().is_some() {
        return None;
    }
    nested_difference(a, b, depth + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(hash: u64, description: &str) -> StoredSchema {
        StoredSchema {
            name: "Msg".to_owned(),
            version: 1,
            hash,
            description: description.to_owned(),
        }
    }

    #[test]
    fn a_description_nested_without_end_is_compared_to_a_bounded_depth() {
        // Descriptions come from the file. Two nested ten thousand levels deep, that
        // differ only at the bottom, must not exhaust the stack.
        let deep = |leaf: &str| {
            let n = 10_000;
            format!(
                "Msg v1\n  Move {{ pos: {}{leaf}{} }}",
                "Pos { x: ".repeat(n),
                " }".repeat(n)
            )
        };
        let diff = diagnose(&stored(1, &deep("u8")), &stored(2, &deep("u16")));
        assert!(
            diff.starts_with("variant `Move`, field `pos`: `Pos`'s field `x`: `Pos`'s field"),
            "{}",
            &diff[..200]
        );
        assert!(
            diff.contains("channel has `Pos { x: Pos"),
            "{}",
            &diff[..400]
        );
    }

    #[test]
    fn brackets_that_do_not_balance_are_not_parsed() {
        assert!(split_top_level("u8), (u16").is_none());
        assert!(split_top_level("Vec<u8").is_none());
        assert_eq!(
            split_top_level("a, B<c, d>, (e, f)").unwrap(),
            ["a", "B<c, d>", "(e, f)"]
        );
        assert_eq!(split_top_level("").unwrap(), Vec::<&str>::new());
        let diff = diagnose(
            &stored(1, "Msg v1\n  Log(u8), (u16)"),
            &stored(2, "Msg v1\n  Log(u8)"),
        );
        assert!(diff.contains("cannot be compared"), "{diff}");
    }

    #[test]
    fn holders_are_looked_into_when_one_held_type_differs() {
        let diff = diagnose(
            &stored(1, "Msg v1\n  A(Option<[(u8, P { x: u8 }); 4]>)"),
            &stored(2, "Msg v1\n  A(Option<[(u8, P { y: u8 }); 4]>)"),
        );
        assert_eq!(
            diff,
            "variant `A`, field 0: `P`'s field renamed: channel has `x`, this process has `y`"
        );
        // Two held types differ: both shown whole.
        let diff = diagnose(
            &stored(1, "Msg v1\n  A(HashMap<u8, P { x: u8 }>)"),
            &stored(2, "Msg v1\n  A(HashMap<u16, P { y: u8 }>)"),
        );
        assert_eq!(
            diff,
            "variant `A`, field 0: channel has `HashMap<u8, P { x: u8 }>`, this process has \
             `HashMap<u16, P { y: u8 }>`"
        );
    }

    #[test]
    fn empty_nested_types_parse() {
        let diff = diagnose(
            &stored(1, "Msg v1\n  A(enum K { }, E { }, T())\n  B"),
            &stored(2, "Msg v1\n  A(enum K { }, E { }, T())"),
        );
        assert_eq!(
            diff,
            "variant `B` removed: the channel has it, this process does not"
        );
    }
}
