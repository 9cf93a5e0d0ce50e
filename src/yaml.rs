//! Values converted while serde_yaml_ng still points at them.
//!
//! A conversion that runs after the value is read (`#[serde(try_from)]`, a
//! `deserialize_with` that parses a `String`) fails outside the value, and
//! serde_yaml_ng then reports the enclosing mapping: its first line and its
//! path, without the key. Converting inside the visitor reports the value's
//! own line, column and path (`endpoints.query.scenarios.slow.latency`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A string in the file, parsed by `T::from_str`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed<T>(pub T);

impl<'de, T> Deserialize<'de> for Parsed<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text<T>(PhantomData<T>);

        impl<T> Visitor<'_> for Text<T>
        where
            T: FromStr,
            T::Err: fmt::Display,
        {
            type Value = Parsed<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Parsed<T>, E> {
                v.parse().map(Parsed).map_err(E::custom)
            }
        }

        d.deserialize_str(Text(PhantomData))
    }
}

/// What a user's file may expand to with its aliases replayed, beyond
/// what its own text holds: an alias copies its anchored value each time
/// it is used, and three levels of ten aliases of a 128 KB string made
/// 433 MB of a file `check` took. A file without aliases never reaches
/// these (its values are at most its bytes).
pub const MAX_EXPANDED_BYTES: usize = 8 << 20;
pub const MAX_EXPANDED_NODES: usize = 1 << 18;

/// What [`replay`] says when a file expands past its bounds.
pub const EXPANDS_TOO_FAR: &str = "the file's aliases expand it past 8 MB or 262,144 values (an alias copies its anchored value each time it is used)";

/// Deeper flow nesting (`[[[…`) than this is refused before the parser
/// reads it: libyaml takes time that grows with the square of the depth
/// (a 2 MB file of brackets ran for more than ten minutes), and serde
/// refuses a document nested deeper than 128 anyway.
pub const MAX_FLOW_DEPTH: usize = 128;

/// The line (1-based) where `text`'s flow collections (`[`, `{`) nest
/// deeper than [`MAX_FLOW_DEPTH`]. A small reading of YAML's own rules,
/// enough to tell an indicator from text: a bracket opens a collection
/// where a value starts (after `: `, `- `, `? `, a `,`, another bracket, at
/// a line's start) or anywhere inside a flow collection, and a quote opens
/// a quoted scalar only where a value starts; a plain scalar (`it's [0,
/// 10)`), a block scalar's lines (`|`, `>`) and comments are text.
pub fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    // Inside a quoted scalar: its quote.
    let mut quote: Option<char> = None;
    // A block scalar's text goes on while lines are indented deeper than
    // the node that holds it.
    let mut block: Option<usize> = None;
    // Whether a value may start at the next character.
    let mut start = true;
    // In block context, a plain scalar goes on on the next lines indented
    // deeper than the node that holds it: those lines are its text.
    let mut plain: Option<usize> = None;
    // Inside a plain scalar, where a `:` in a flow collection is text
    // unless a blank or an indicator follows (`[z:', …`); in a flow
    // collection it goes on on the next line.
    let mut in_scalar = false;
    // libyaml ends a line at NEL, LS and PS too.
    let breaks = ['\n', '\u{85}', '\u{2028}', '\u{2029}'];
    for (n, line) in text.split(breaks).enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim().is_empty();
        if let Some(holder) = block {
            if blank || indent > holder {
                continue;
            }
            block = None;
        }
        // The column of the node a value on this line belongs to: the
        // line's, a `- ` or `? ` entry's, or a key's.
        let mut holder = indent;
        let mut in_plain = false;
        if quote.is_none() && depth == 0 {
            // A value may start at a line's content in block context, but
            // for a plain scalar's next lines; inside a flow collection a
            // line break is a space.
            match plain {
                Some(owner) if blank || indent > owner && !line.trim_start().starts_with('#') => {
                    start = false;
                    in_plain = true;
                    holder = owner;
                }
                _ => {
                    plain = None;
                    start = true;
                }
            }
        }
        // A document's start or end marker (`--- `, `... `) at a line's
        // start: a value may start after it (`--- [[[`).
        let marker = quote.is_none()
            && (line.starts_with("---") || line.starts_with("..."))
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t');
        // Where the token being read began, if it may be a key.
        let mut token = None;
        let mut chars = line
            .char_indices()
            .skip(if marker { 3 } else { 0 })
            .peekable();
        if marker {
            start = true;
        }
        // Whether a token may start here, where libyaml reads a `#` as a
        // comment: at the line's start, after a blank, an indicator or a
        // quoted scalar; not inside a plain scalar (`a#b` is text).
        let mut at_token = true;
        if depth == 0 {
            in_scalar = false;
        }
        while let Some((col, c)) = chars.next() {
            // libyaml reads past a byte-order mark at a line's start, and
            // reads one anywhere else as text.
            if c == '\u{feff}' && col == 0 {
                continue;
            }
            if let Some(q) = quote {
                match c {
                    '\\' if q == '"' => {
                        chars.next();
                    }
                    _ if c == q => {
                        if q == '\'' && chars.next_if(|&(_, c)| c == '\'').is_some() {
                            continue;
                        }
                        quote = None;
                        start = false;
                        at_token = true;
                    }
                    _ => {}
                }
                continue;
            }
            // libyaml's blanks: a space or a tab (a CR ends a line).
            let is_blank = |c: char| c == ' ' || c == '\t' || c == '\r';
            let next = chars.peek().map(|&(_, c)| c);
            let next_is_space = next.is_none_or(is_blank);
            match c {
                '#' if at_token => break,
                ' ' | '\t' | '\r' => at_token = true,
                '\'' | '"' if start => {
                    quote = Some(c);
                    token = Some(col);
                    in_plain = false;
                }
                '[' | '{' if start || depth > 0 => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(n + 1);
                    }
                    start = true;
                    in_plain = false;
                    (at_token, in_scalar) = (true, false);
                }
                ']' | '}' if depth > 0 => {
                    depth -= 1;
                    start = false;
                    (at_token, in_scalar) = (true, false);
                }
                ',' if depth > 0 => {
                    start = true;
                    (at_token, in_scalar) = (true, false);
                }
                ':' if next_is_space
                    || depth > 0 && (!in_scalar || next.is_some_and(|c| ",?[]{}".contains(c))) =>
                {
                    if depth == 0 {
                        holder = token.unwrap_or(holder);
                    }
                    start = true;
                    in_plain = false;
                    (at_token, in_scalar) = (true, false);
                }
                '-' | '?' if start && next_is_space => {
                    if depth == 0 {
                        holder = col;
                    }
                }
                '|' | '>' if start && depth == 0 => {
                    block = Some(holder);
                    break;
                }
                // An anchor, then the value it names: its name is letters,
                // digits, `-` and `_`, as libyaml reads one.
                '&' if start => {
                    while chars
                        .next_if(|&(_, c)| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                        .is_some()
                    {}
                }
                // A tag: it ends at a blank, and inside a flow collection
                // at an indicator.
                '!' if start => {
                    let flow = depth > 0;
                    while chars
                        .next_if(|&(_, c)| !(is_blank(c) || flow && ",[]{}".contains(c)))
                        .is_some()
                    {}
                }
                _ => {
                    if start {
                        token = Some(col);
                    }
                    start = false;
                    in_plain = depth == 0;
                    (at_token, in_scalar) = (false, true);
                }
            }
        }
        if quote.is_none() && depth == 0 && block.is_none() {
            plain = in_plain.then_some(holder);
        }
    }
    None
}

/// Replays `text` as serde_yaml_ng does, aliases expanded, keeping nothing
/// but each mapping's keys as the loaders read them (as written, as text):
/// an error past [`MAX_EXPANDED_BYTES`] or [`MAX_EXPANDED_NODES`] (and past
/// the text's own size), or for a key written twice in one mapping however
/// it is written (`1:` and `"1":`, `~:` and `"~":` are one key to the
/// loaders, which keep the last), with where serde was. Other errors are
/// the typed parse's to report: `Ok` then. `Ok(true)` when the replay read
/// the whole text and met nothing [`crate::engine::model::check_yaml`]'s
/// walk of the document looks for (a merge key, a float that is not
/// finite) or reads otherwise (binary): that walk, a parse of its own,
/// then has nothing to find.
pub fn replay(text: &str) -> Result<bool, serde_yaml_ng::Error> {
    use serde::de::DeserializeSeed as _;
    let bounds = (
        MAX_EXPANDED_BYTES.max(text.len().saturating_mul(2)),
        MAX_EXPANDED_NODES.max(text.len()),
    );
    let ours = |e: &serde_yaml_ng::Error| {
        let e = e.to_string();
        e.contains(EXPANDS_TOO_FAR) || e.contains(DUPLICATE_KEY)
    };
    let unusual = std::cell::Cell::new(false);
    let run = |keys_as_text| {
        let spent = std::cell::Cell::new((0usize, 0usize));
        let replay = Replay {
            spent: &spent,
            bounds,
            keys_as_text,
            unusual: &unusual,
        };
        replay.deserialize(serde_yaml_ng::Deserializer::from_str(text))
    };
    match run(true) {
        Err(e) if ours(&e) => Err(e),
        Ok(()) => Ok(!unusual.get()),
        // Stopped short of the end, at something the typed parse reports
        // (or a key that is not text, `? [k]`, which a walk of the whole
        // file would still read past): replayed again with every key read
        // as any value, so that nothing after it goes uncounted.
        Err(_) => match run(false) {
            Err(e) if ours(&e) => Err(e),
            _ => Ok(false),
        },
    }
}

/// How [`replay`] names a key written twice: serde_yaml_ng's own words, so
/// that the error is placed as serde's are.
const DUPLICATE_KEY: &str = "duplicate entry with key \"";

/// One value of [`replay`]: counted, not kept.
#[derive(Clone, Copy)]
struct Replay<'a> {
    spent: &'a std::cell::Cell<(usize, usize)>,
    bounds: (usize, usize),
    /// Keys read as their text, as the loaders read them (and checked for
    /// one written twice); else as any value, counted only.
    keys_as_text: bool,
    /// Set on a merge key, a float that is not finite, or binary.
    unusual: &'a std::cell::Cell<bool>,
}

impl Replay<'_> {
    fn spend<E: de::Error>(self, bytes: usize) -> Result<(), E> {
        let (b, n) = self.spent.get();
        let spent = (b.saturating_add(bytes), n + 1);
        self.spent.set(spent);
        if spent.0 > self.bounds.0 || spent.1 > self.bounds.1 {
            return Err(E::custom(EXPANDS_TOO_FAR));
        }
        Ok(())
    }
}

impl<'de> de::DeserializeSeed<'de> for Replay<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A mapping's key as the loaders read it: its text as written.
struct KeyText<'a>(Replay<'a>);

impl<'de> de::DeserializeSeed<'de> for KeyText<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for KeyText<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        self.0.spend(v.len())?;
        if v == "<<" {
            self.0.unusual.set(true);
        }
        Ok(Some(v.to_string()))
    }
    // A key that is not a scalar: counted, and no loader's key.
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        self.0.visit_seq(seq).map(|()| None)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        self.0.visit_map(map).map(|()| None)
    }
}

impl<'de> Visitor<'de> for Replay<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.spend(1)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if !v.is_finite() {
            self.unusual.set(true);
        }
        self.spend(1)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.spend(v.len())
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<(), E> {
        self.unusual.set(true);
        self.spend(v.len())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.spend(0)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.spend(0)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.spend(0)?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.spend(0)?;
        if !self.keys_as_text {
            while map.next_key_seed(self)?.is_some() {
                map.next_value_seed(self)?;
            }
            return Ok(());
        }
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key_seed(KeyText(self))? {
            if let Some(key) = key {
                if !keys.insert(key.clone()) {
                    return Err(de::Error::custom(format!("{DUPLICATE_KEY}{key}\"")));
                }
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!tag value`): the tag, then the value.
        use de::VariantAccess as _;
        let ((), value) = data.variant_seed(self)?;
        value.newtype_variant_seed(self)
    }
}

/// The list `list` of text, in which `~` or `null` is refused, not read as
/// the text "~" or "null" as serde would: quoted, it is that text. The
/// error names the list: serde's path ends at the mapping that holds it.
pub fn texts<'de, D: Deserializer<'de>>(d: D, list: &str) -> Result<Vec<String>, D::Error> {
    Vec::<Option<String>>::deserialize(d)?
        .into_iter()
        .map(|t| {
            t.ok_or_else(|| {
                de::Error::custom(format!(
                    "an entry of {list} is null (~): quote it if it is that text"
                ))
            })
        })
        .collect()
}

/// A map keyed by text in which a key written `~` or `null` is refused, as
/// [`texts`] refuses an entry.
pub fn text_keys<'de, D, V, S>(d: D) -> Result<indexmap::IndexMap<String, V, S>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
    S: std::hash::BuildHasher + Default,
{
    indexmap::IndexMap::<Option<String>, V>::deserialize(d)?
        .into_iter()
        .map(|(k, v)| {
            k.map(|k| (k, v))
                .ok_or_else(|| de::Error::custom("a key is null (~): quote it if it is that text"))
        })
        .collect()
}

/// Text that may be written `~` or `null`, read as empty: serde would read
/// the text "~" or "null".
pub fn nullable_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Where a check made after parsing points: the line and column (1-based)
/// of `needle` inside the block that the field path `path` names
/// (`endpoints.bycurp.scenarios.deceased.data`, `[0].curp`,
/// `entities[3].renapo`), or of the path's last key found when the needle
/// is not in that block. A path not found in the text (a flow mapping, a
/// key written in quotes) falls back to the first mention of `needle`
/// outside comments: never a comment, which may name anything.
pub fn locate(text: &str, path: &str, needle: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut start, mut end, mut indent) = (0, lines.len(), -1isize);
    let mut found: Option<usize> = None;
    for segment in segments(path) {
        let hit = match segment {
            // A direct child: at the indentation of the block's first key,
            // not a key of the same name deeper in (a body's own `data:`).
            Segment::Key(key) => {
                let child = (start..end)
                    .map(|i| content_of(lines[i]).0)
                    .find(|&at| at > indent);
                (start..end).find(|&i| {
                    let (at, content) = content_of(lines[i]);
                    Some(at) == child && key_of(content).as_deref() == Some(key)
                })
            }
            Segment::Index(n) => {
                let items: Vec<usize> = (start..end)
                    .filter(|&i| {
                        // A key's sequence may sit at the key's own indentation.
                        !is_blank(lines[i]) && indentation(lines[i]) >= indent && is_item(lines[i])
                    })
                    .collect();
                let level = items.first().map(|&i| indentation(lines[i]));
                items
                    .into_iter()
                    .filter(|&i| Some(indentation(lines[i])) == level)
                    .nth(n)
            }
        };
        let Some(i) = hit else { break };
        found = Some(i);
        indent = indentation(lines[i]);
        // A sequence item's first key is on the item's own line, deeper
        // than its dash.
        let item = is_item(lines[i]);
        start = if item { i } else { i + 1 };
        end = (i + 1..lines.len())
            .find(|&j| {
                let at = indentation(lines[j]);
                // A key's block goes on through a sequence at its own
                // indentation; an item's ends at the next item.
                let own_sequence = !item && at == indent && is_item(lines[j]);
                !is_blank(lines[j]) && at <= indent && !own_sequence
            })
            .unwrap_or(lines.len());
    }
    // A key's needle (`data:`) as JSON writes it (`"data":`) too; a needle
    // with a quote or a backslash as it is written in double quotes
    // (`a\"b`), or with a `'` in single quotes (`it''s`).
    let quoted = needle.strip_suffix(':').map(|key| format!("\"{key}\":"));
    let escaped = serde_json::to_string(needle)
        .ok()
        .map(|s| s[1..s.len() - 1].to_string())
        .filter(|e| e != needle);
    let doubled = needle.contains('\'').then(|| needle.replace('\'', "''"));
    let column_of = |line: &str| {
        column_of(line, needle)
            .or_else(|| quoted.as_deref().and_then(|q| column_of(line, q)))
            .or_else(|| escaped.as_deref().and_then(|e| column_of(line, e)))
            .or_else(|| doubled.as_deref().and_then(|d| column_of(line, d)))
            .or_else(|| in_double_quotes(line, needle))
    };
    if let Some(line) = found {
        let within = (line..end).find_map(|i| column_of(lines[i]).map(|c| (i, c)));
        return Some(match within {
            Some((i, c)) => (i + 1, c),
            None => (line + 1, indentation(lines[line]).max(0) as usize + 1),
        });
    }
    (0..lines.len()).find_map(|i| column_of(lines[i]).map(|c| (i + 1, c)))
}

/// The 1-based column of the double-quoted scalar on `line` that holds
/// `needle` once its escapes are read (`\x41`, `\u00e9`, `\N`, `\/`), if
/// any: a needle is the value as read, the line as written.
fn in_double_quotes(line: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(open) = line[from..].find('"').map(|at| from + at) {
        let close = open + 1 + closing_quote(&line[open + 1..])?;
        let read: Option<String> = serde_yaml_ng::from_str(&line[open..=close]).ok();
        if read.is_some_and(|r| r.contains(needle)) {
            return Some(line[..open].chars().count() + 1);
        }
        from = close + 1;
    }
    None
}

/// The line and column of the second writing of `key` in the mapping that
/// starts at `line`:`column` (1-based), as serde_yaml_ng reports a key
/// written twice.
pub fn second_key(text: &str, line: usize, column: usize, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    // A mapping under an anchor or a tag (`body: &person`) is reported at
    // the anchor: its keys start on the next line that holds any.
    let at = lines.get(line.checked_sub(1)?)?;
    let byte = at
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map(|(b, _)| b);
    // Anchors and tags (`&a !!map`) to the line's end or a comment.
    let anchored = byte.is_some_and(|b| {
        at[b..].starts_with(['&', '!'])
            && at[b..]
                .split_whitespace()
                .take_while(|w| !w.starts_with('#'))
                .all(|w| w.starts_with(['&', '!']))
    });
    let (line, column) = if anchored {
        let (i, l) = lines
            .iter()
            .enumerate()
            .skip(line)
            .find(|(_, l)| content_of(l).0 >= 0)?;
        (i + 1, usize::try_from(content_of(l).0).ok()? + 1)
    } else {
        (line, column)
    };
    let indent = isize::try_from(column.checked_sub(1)?).ok()?;
    lines
        .iter()
        .enumerate()
        .skip(line.checked_sub(1)?)
        .take_while(|(_, l)| is_blank(l) || content_of(l).0 >= indent)
        .filter(|(_, l)| {
            let (at, content) = content_of(l);
            at == indent && key_of(content).as_deref() == Some(key)
        })
        .nth(1)
        .map(|(i, _)| (i + 1, column))
}

/// A serde_yaml_ng error as the sandbox words it: the path of the node at
/// fault (`endpoints.query.status`; none at the top) and the message
/// without its location, which the error's `location` carries (a long
/// path is cut where the error is shown, as every error's is). A value
/// the message repeats (`string "…"`, ``unknown field `…` ``) is cut to its
/// first 256 bytes, as the sandbox's own errors cut what they repeat: serde
/// would quote a 100 KB string whole.
pub fn error_parts(err: &serde_yaml_ng::Error) -> (Option<String>, String) {
    let (field, message) = split_path(whole_message(err));
    (field, plain_expected(cut_quoted(&message)))
}

/// serde's `expected u16` or `expected struct RegistryPatch` at a
/// message's end, in the words of the files: a whole number and its range,
/// a mapping.
fn plain_expected(message: String) -> String {
    let Some((head, expected)) = message.rsplit_once(", expected ") else {
        return message;
    };
    let plain = match expected {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" => "a whole number from 0 up",
        "i64" | "i32" => "a whole number",
        "f64" | "f32" => "a number",
        e if e.starts_with("struct ") => "a mapping",
        _ => return message,
    };
    format!("{head}, expected {plain}")
}

/// The error's text without its location, whole: its path, then its
/// message.
pub fn whole_message(err: &serde_yaml_ng::Error) -> String {
    let mut text = err.to_string();
    if let Some(loc) = err.location() {
        // serde's messages end with the location; libyaml's name it after
        // the problem, then give a context (`, while parsing a block
        // mapping at line 2 column 3`), which is dropped.
        let mark = format!(" at line {} column {}", loc.line(), loc.column());
        let at = match text.strip_suffix(&mark) {
            Some(rest) => Some(rest.len()),
            None => text.find(&mark),
        };
        if let Some(at) = at {
            text.truncate(at);
        }
    }
    text
}

/// serde_yaml_ng prefixes the path of the offending node: `a.b.c: msg`
/// (`.[0].registry` in a top-level list).
fn split_path(text: String) -> (Option<String>, String) {
    match text.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && !path.is_empty() => (
            Some(path.trim_start_matches('.').to_string()),
            rest.to_string(),
        ),
        _ => (None, text),
    }
}

/// `message` with the value it quotes cut to its first 256 bytes, never
/// inside a character or an escape. serde names a field or a variant raw
/// between backticks, and [`replay`] a key written twice raw between
/// quotes: those values run to the message's known end, whatever they hold.
/// serde writes a string value escaped (`string "…"`): every such one is
/// cut.
fn cut_quoted(message: &str) -> String {
    for (head, ends) in [
        (
            "unknown field `",
            ["`, expected ", "`, there are no fields"],
        ),
        (
            "unknown variant `",
            ["`, expected ", "`, there are no variants"],
        ),
    ] {
        if let Some(rest) = message.strip_prefix(head) {
            // What serde expects are our own names: the last end is the
            // value's.
            if let Some(end) = ends.iter().filter_map(|e| rest.rfind(e)).max() {
                let name = cut_value(&rest[..end], Quoted::Raw);
                return format!("{head}{name}{}", &rest[end..]);
            }
        }
    }
    if let Some(key) = message
        .strip_prefix(DUPLICATE_KEY)
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return format!("{DUPLICATE_KEY}{}\"", cut_value(key, Quoted::Raw));
    }
    // serde's `Unexpected::Str`: `string "…"`, escaped. Our own messages
    // cut what they quote as they write it.
    const STRING: &str = "string \"";
    let mut out = String::with_capacity(message.len().min(1024));
    let mut rest = message;
    while let Some(open) = rest.find(STRING) {
        let (before, after) = rest.split_at(open + STRING.len());
        out.push_str(before);
        let Some(close) = closing_quote(after) else {
            rest = after;
            break;
        };
        out.push_str(&cut_value(&after[..close], Quoted::Escaped));
        out.push('"');
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// How a message quotes a value.
#[derive(Clone, Copy)]
enum Quoted {
    /// As it is: a backslash is text.
    Raw,
    /// Escaped as Rust writes a string's `Debug`: `\"`, `\u{1}`.
    Escaped,
}

/// A quoted value of at most 256 bytes as it is; a longer one cut, with its
/// length, as [`crate::engine::quoted`] cuts any value (an escaped one
/// between its escapes).
fn cut_value(value: &str, quoted: Quoted) -> Cow<'_, str> {
    const MAX: usize = 256;
    match quoted {
        Quoted::Raw => crate::engine::quoted(value),
        Quoted::Escaped if value.len() <= MAX => value.into(),
        Quoted::Escaped => {
            let end = escaped_prefix_end(value, MAX);
            format!("{}… ({} bytes)", &value[..end], value.len()).into()
        }
    }
}

/// Where the `"` that closes a Rust-escaped string is, in what follows the
/// opening one.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'\\' => escaped = !escaped,
            b'"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Text that escapes as Rust or JSON write a string (`\"`, `\u{1}`,
/// `\u0001`) cut to its first 256 bytes, never inside an escape, with its
/// length, as every error names a long value.
pub(crate) fn cut_escaped(text: &str) -> Cow<'_, str> {
    cut_value(text, Quoted::Escaped)
}

/// The longest prefix of an escaped string (Rust's or JSON's) of at most
/// `max` bytes that ends neither inside a character nor inside an escape
/// (`\"`, `\u{1f600}`, `\u0001`).
fn escaped_prefix_end(s: &str, max: usize) -> usize {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let next = if bytes[i] == b'\\' {
            // Read as a character, not a byte: a slice never falls inside
            // one, whatever the text holds.
            let after = &s[i + 1..];
            match after.chars().next() {
                Some('u') if after[1..].starts_with('{') => {
                    after.find('}').map_or(bytes.len(), |e| i + 1 + e + 1)
                }
                // JSON's `\u0001`.
                Some('u')
                    if after.len() >= 5
                        && after.as_bytes()[1..5].iter().all(u8::is_ascii_hexdigit) =>
                {
                    i + 6
                }
                Some(c) => i + 1 + c.len_utf8(),
                None => i + 1,
            }
        } else {
            i + s[i..].chars().next().map_or(1, char::len_utf8)
        };
        if next > max {
            break;
        }
        i = next;
    }
    i
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a.b[2].c` as keys and indexes.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some((n, after)) = rest.split_once(']') {
            if let Ok(n) = n.parse() {
                out.push(Segment::Index(n));
            }
            rest = after.strip_prefix('[').unwrap_or("");
        }
    }
    out
}

/// Blank, a comment, a document marker (`---`, `...`), or only the
/// brackets of a mapping or list written as JSON: no content.
fn is_blank(line: &str) -> bool {
    let t = line.trim_start();
    if !t.is_empty()
        && t.chars()
            .all(|c| matches!(c, '{' | '}' | '[' | ']' | ',' | ' '))
    {
        return true;
    }
    let marker = |m: &str| {
        t.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    };
    t.is_empty() || t.starts_with('#') || marker("---") || marker("...")
}

/// A list item's line: a dash, then a blank or nothing (`-k:` is a key).
fn is_item(line: &str) -> bool {
    line.trim_start()
        .strip_prefix('-')
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn indentation(line: &str) -> isize {
    (line.len() - line.trim_start().len()) as isize
}

/// The indentation of a line's content (past its sequence dashes) and the
/// content; blank and comment lines sit at -2, inside no block.
fn content_of(line: &str) -> (isize, &str) {
    if is_blank(line) {
        return (-2, "");
    }
    // Past every dash of nested items (`- - x: 1`).
    let mut t = line.trim_start();
    while let Some(item) = t.strip_prefix("- ") {
        t = item.trim_start();
    }
    ((line.len() - t.len()) as isize, t)
}

/// The key a mapping line starts with, as YAML reads it: a quoted one
/// unescaped (`"a\"b":` is `a"b`, `'it''s':` is `it's`, either may hold a
/// `:`), a plain one up to the `:` followed by a blank (`a:b: 1` is `a:b`).
fn key_of(content: &str) -> Option<Cow<'_, str>> {
    let t = content.trim_start();
    let (key, after) = match t.as_bytes().first() {
        Some(b'"') => {
            let close = 1 + closing_quote(&t[1..])?;
            let key: String = serde_yaml_ng::from_str(&t[..=close]).ok()?;
            (Cow::Owned(key), &t[close + 1..])
        }
        Some(b'\'') => {
            let mut close = 1;
            loop {
                close += t[close..].find('\'')?;
                if t[close + 1..].starts_with('\'') {
                    close += 2;
                } else {
                    break;
                }
            }
            (Cow::Owned(t[1..close].replace("''", "'")), &t[close + 1..])
        }
        _ => {
            let end = t
                .match_indices(':')
                .map(|(at, _)| at)
                .find(|&at| t[at + 1..].is_empty() || t[at + 1..].starts_with([' ', '\t']))?;
            return Some(Cow::Borrowed(t[..end].trim_end()));
        }
    };
    after.trim_start().starts_with(':').then_some(key)
}

/// The 1-based column of `needle` in `line`, outside a comment, as a
/// whole word: not the `description` inside `renapo_description`.
fn column_of(line: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() || is_blank(line) {
        return None;
    }
    let comment = line.find(" #").unwrap_or(line.len());
    // The characters of a word, a path or a dotted name.
    let word = |c: Option<char>| {
        c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-'))
    };
    let whole = |at: usize| {
        let before = line[..at].chars().next_back();
        let after = line[at + needle.len()..].chars().next();
        // A boundary matters only where the needle itself is a word.
        let starts = needle.chars().next().is_some_and(|c| word(Some(c)));
        let ends = needle.chars().next_back().is_some_and(|c| word(Some(c)));
        !(starts && word(before) || ends && word(after))
    };
    line.match_indices(needle)
        .map(|(at, _)| at)
        .find(|&at| at < comment && whole(at))
        .map(|at| line[..at].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Status {
        status: u16,
    }

    fn parts_of(text: &str) -> (Option<String>, String) {
        let err = serde_yaml_ng::from_str::<Status>(text).unwrap_err();
        error_parts(&err)
    }

    #[test]
    fn a_value_written_with_escapes_is_located_at_its_own_line() {
        let text = "a: 1\npaths:\n  - \"/x\\\"y\"\n  - 'it''s'\n";
        assert_eq!(locate(text, "paths", "/x\"y"), Some((3, 6)));
        assert_eq!(locate(text, "paths", "it's"), Some((4, 6)));
        // Any escape YAML reads in double quotes.
        let text = "a: 1\npaths:\n  - \"/\\x41\\u00e9\\/b\"\n";
        assert_eq!(locate(text, "paths", "/Aé/b"), Some((3, 5)));
        // A needle with a quote, at its escaped writing inside a longer
        // value: at its own first character, not at the value's quote.
        assert_eq!(locate("k: \"a\\\"b c\"\n", "k", "a\"b"), Some((1, 5)));
    }

    #[test]
    fn a_key_is_read_as_yaml_reads_it() {
        for (content, key) in [
            ("a:b: 1", Some("a:b")),
            ("a:", Some("a")),
            ("\"a\\\"b: c\": 1", Some("a\"b: c")),
            ("'ab': 1", Some("ab")),
            ("'it''s': 1", Some("it's")),
            ("'''': 1", Some("'")),
            ("'ab' x: 1", None),
            ("'ab", None),
            ("- x", None),
        ] {
            assert_eq!(key_of(content).as_deref(), key, "{content}");
        }
    }

    #[test]
    fn a_needle_is_looked_for_only_inside_double_quotes() {
        let line = r#"k: ["ab", xy, "\x41"]"#;
        assert_eq!(in_double_quotes(line, "A"), Some(15));
        // The text between two quoted values is not one.
        assert_eq!(in_double_quotes(line, "y"), None);
        assert_eq!(in_double_quotes(line, ""), None);
    }

    #[test]
    fn an_escaped_text_is_cut_after_whole_characters_and_escapes() {
        let a = |n: usize| "a".repeat(n);
        for (s, max, end) in [
            // Shorter than the bound: whole.
            ("ab".to_string(), 10, 2),
            ("ab\\".to_string(), 10, 3),
            // Rust's `\u{…}`, whole or not at all.
            ("ab\\u{41}cd".to_string(), 8, 8),
            ("ab\\u{41}cd".to_string(), 7, 2),
            (format!("{}\\u{{1f600}}{}", a(250), a(10)), 256, 250),
            // JSON's `\u0041`, whole or not at all, and none before it.
            ("ab\\u0041cd".to_string(), 8, 8),
            ("ab\\u0041cd".to_string(), 7, 2),
            (format!("\\u0001{}", a(300)), 256, 256),
            // `\u` without four hex digits, as no writer leaves it: two bytes.
            (format!("{}\\uzz{}", a(252), a(10)), 256, 256),
            // Any other escape, of a character of one byte or two.
            ("ab\\\"cd".to_string(), 4, 4),
            ("ab\\\"cd".to_string(), 3, 2),
            ("a\\éb".to_string(), 4, 4),
            ("a\\éb".to_string(), 3, 1),
        ] {
            assert_eq!(escaped_prefix_end(&s, max), end, "{s} at {max}");
        }
    }

    #[test]
    fn an_error_is_its_path_and_its_message_without_its_location() {
        let (field, message) = parts_of("status: \"x at line 1 column 9\"\n");
        assert_eq!(field.as_deref(), Some("status"));
        assert_eq!(
            message,
            "invalid type: string \"x at line 1 column 9\", expected a whole number from 0 to 65535"
        );
        // libyaml's: the problem, without its context.
        let (field, message) = parts_of("status: 1\n- x\n");
        assert_eq!(field, None, "{message}");
        assert_eq!(message, "did not find expected key");
    }

    #[test]
    fn a_value_an_error_quotes_is_cut_to_256_bytes_never_inside_an_escape() {
        let (_, message) = parts_of(&format!("status: \"{}\"\n", "x".repeat(300)));
        assert_eq!(
            message,
            format!(
                "invalid type: string \"{}… (300 bytes)\", expected a whole number from 0 to 65535",
                "x".repeat(256)
            )
        );
        // 255 bytes, then an escaped quote (two bytes) and a character
        // escaped as `\u{1}` (five): the cut falls before each.
        for (tail, written) in [("\\\"", "\\\""), ("\\u0001", "\\u{1}")] {
            let yaml = format!("status: \"{}{tail}{}\"\n", "x".repeat(255), "y".repeat(50));
            let (_, message) = parts_of(&yaml);
            let full = 255 + written.len() + 50;
            assert_eq!(
                message,
                format!(
                    "invalid type: string \"{}… ({full} bytes)\", expected a whole number from 0 to 65535",
                    "x".repeat(255)
                ),
                "{written}"
            );
        }
        // A character is never cut either: 255 bytes, then `é`.
        let (_, message) = parts_of(&format!(
            "status: \"{}é{}\"\n",
            "x".repeat(255),
            "y".repeat(50)
        ));
        assert!(
            message.contains(&format!("\"{}… (307 bytes)\"", "x".repeat(255))),
            "{message}"
        );
        // Only serde's `string "…"` is read as escaped, and a backslash
        // before a character of two bytes never has the cut fall inside it,
        // first or at the cut.
        let raw = format!("{}\\é{}", "a".repeat(255), "b".repeat(10));
        assert_eq!(
            cut_quoted(&format!("x string \"{raw}\" y")),
            format!("x string \"{}… (268 bytes)\" y", "a".repeat(255))
        );
        let raw = format!("\\é{}", "a".repeat(300));
        assert_eq!(
            cut_quoted(&format!("x string \"{raw}\" y")),
            format!("x string \"\\é{}… (303 bytes)\" y", "a".repeat(253))
        );
        // JSON's escapes too.
        let json = format!("[\"{}\\u0001{}\"]", "a".repeat(252), "b".repeat(60));
        assert_eq!(
            cut_escaped(&json),
            format!("[\"{}… ({} bytes)", "a".repeat(252), json.len())
        );
        // Another quote is our own message's, cut as it was written.
        let ours = format!("latency 'x\"{}\"y' is not a duration", "a".repeat(300));
        assert_eq!(cut_quoted(&ours), ours);
        // A quote its backslash leaves open is left as it is.
        let open = format!("x string \"{}\\\" y", "a".repeat(300));
        assert_eq!(cut_quoted(&open), open);
        // A raw name holding `\u{` is cut at 256 bytes all the same.
        let name = format!("\\u{{{}", "k".repeat(1_000));
        let (_, message) = parts_of(&format!("'{name}': 1\n"));
        assert!(
            message.starts_with(&format!("unknown field `{}… (1003 bytes)`", &name[..256])),
            "{message}"
        );
        // A field's name and a key written twice are quoted raw: a backtick,
        // a quote or a backslash in them ends nothing.
        let name = format!("`{}", "y".repeat(1_000));
        let (_, message) = parts_of(&format!("\"{name}\": 1\n"));
        assert_eq!(
            message,
            format!(
                "unknown field `{}… (1001 bytes)`, expected `status`",
                &name[..256]
            )
        );
        for key in [
            format!("a\\\"{}", "y".repeat(1_000)),
            format!("{}\\\\", "y".repeat(1_000)),
            format!("{}\\\"{}", "y".repeat(255), "z".repeat(300)),
        ] {
            let text = format!("\"{key}\": 1\n\"{key}\": 2\n");
            let (_, message) = error_parts(&replay(&text).unwrap_err());
            assert!(
                message.starts_with("duplicate entry with key \"") && message.len() < 300,
                "{key}: {message}"
            );
            assert!(message.ends_with(" bytes)\""), "{message}");
        }
        // An unknown field is named between backticks.
        let (_, message) = parts_of(&format!("{}: 1\n", "k".repeat(1_000)));
        assert!(
            message.starts_with(&format!(
                "unknown field `{}… (1000 bytes)`, expected",
                "k".repeat(256)
            )),
            "{message}"
        );
    }

    #[test]
    fn flow_depth_is_counted_outside_quotes_and_comments() {
        let deep = |n: usize| format!("a: 1\nb: {}1{}\n", "[".repeat(n), "]".repeat(n));
        assert_eq!(too_deep(&deep(MAX_FLOW_DEPTH)), None);
        assert_eq!(too_deep(&deep(MAX_FLOW_DEPTH + 1)), Some(2));
        let brackets = "[".repeat(MAX_FLOW_DEPTH + 1);
        for hidden in [
            format!("a: '{brackets}'"),
            format!("a: \"{brackets}\""),
            format!("a: 'it''s {brackets}'"),
            format!("a: \"\\\" {brackets}\""),
            format!("a: 1 # {brackets}"),
            format!("a: ['x', \"{brackets}\"]"),
        ] {
            assert_eq!(too_deep(&hidden), None, "{hidden}");
        }
        // Brackets in a plain or a block scalar are text.
        let lines = |f: &dyn Fn(usize) -> String| (0..=MAX_FLOW_DEPTH).map(f).collect::<String>();
        let plain = format!("a:\n{}", lines(&|i| format!("  - range {i} in [0, 10)\n")));
        assert_eq!(too_deep(&plain), None);
        let block = format!("a: |\n{}b: 1\n", lines(&|i| format!("  [WARN] {i}\n")));
        assert_eq!(too_deep(&block), None);
        // After the block, brackets count again.
        assert_eq!(
            too_deep(&format!("{block}c: {brackets}")),
            Some(MAX_FLOW_DEPTH + 4)
        );
        // The node a plain or a block scalar belongs to is the innermost
        // entry's or key's: a line at that entry's column is a sibling,
        // read as YAML, not the scalar's text.
        assert_eq!(too_deep("- - it's\n  - ': {'\n- - '[[[['\n"), None);
        assert_eq!(
            too_deep(&format!("- - |\n    text\n  - {brackets}\n")),
            Some(3)
        );
        assert_eq!(too_deep(&format!("- k: it's\n  j: '{brackets}'\n")), None);
        assert_eq!(too_deep(&format!("- k: x\n    'y {brackets}\n")), None);
        // A quote inside a plain scalar starts nothing: the brackets after
        // it count.
        assert_eq!(too_deep(&format!("a: [it's{brackets}")), Some(1));
        // A document's markers are followed by a value: brackets after
        // them count, with an anchor or a tag between, on any document.
        for marker in [
            "--- ",
            "---\t",
            "--- &a ",
            "--- !t ",
            "# c\n--- ",
            "a: 1\n...\n--- ",
        ] {
            assert!(
                too_deep(&format!("{marker}{brackets}")).is_some(),
                "{marker}"
            );
        }
        // What libyaml reads as text or as an indicator, where the scan
        // read it otherwise: a `#` after a no-break space is text, and one
        // right after an indicator is a comment; a `:` in a plain scalar in
        // a flow collection is text, on its first line or a later one; a
        // byte-order mark past a line's start is text; an anchor's name
        // ends at a character other than a letter, a digit, `-` or `_`; a
        // CR before a line's end is a blank.
        for missed in [
            format!("a\u{a0}#: {brackets}"),
            format!("[#]\nb,{brackets}"),
            format!("k: [z:', {brackets}"),
            format!("k: [a\n:' {brackets}"),
            format!("a: \u{feff}'\nb: {brackets}"),
            format!("a:\r\n  b: {brackets}"),
        ] {
            assert!(too_deep(&missed).is_some(), "{missed:?}");
        }
        for text in [
            format!("a: &x:y {brackets}"),
            format!("a: [#{brackets}\n  ]"),
            format!("a: b#{brackets}"),
        ] {
            assert_eq!(too_deep(&text), None, "{text:?}");
        }
        // `---` inside a line, or followed by text, is text.
        assert_eq!(too_deep(&format!("a: x --- {brackets}")), None);
        assert_eq!(too_deep(&format!("---x {brackets}")), None);
    }

    /// What libyaml makes of a text, as serde_yaml_ng reports it: whether
    /// it nests past serde's own depth (which `too_deep` must then refuse)
    /// or reads whole (which it must let through).
    fn libyaml_nests_too_deep(text: &str) -> bool {
        match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
            Ok(_) => false,
            Err(e) if e.to_string().contains("recursion limit exceeded") => true,
            Err(e) => panic!("{text:?} is not valid YAML: {e}"),
        }
    }

    #[test]
    fn the_depth_scan_reads_indicators_as_libyaml_does() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let d = deep(MAX_FLOW_DEPTH + 72);
        let open = "[".repeat(MAX_FLOW_DEPTH + 72);
        // Each text is valid YAML; `Some(line)` where libyaml nests past
        // the bound, `None` where the brackets are text.
        for (text, line) in [
            // A closed quote hides nothing after it; a doubled `'` does not
            // close one, a `\` escapes only in double quotes.
            (format!("a: 'x'\nb: {d}\n"), Some(2)),
            (format!("a: ['x', {d}]\n"), Some(1)),
            (format!("a: [\"x\", {d}]\n"), Some(1)),
            (format!("a: ['it''s {d}']\n"), None),
            (format!("a: ['x\\', {d}]\n"), Some(1)),
            // A tab is a blank after `:`.
            (format!("a:\t{d}\n"), Some(1)),
            // A block scalar's lines are text, `: ` in them too. A plain
            // scalar goes on on lines indented deeper, whatever they hold,
            // and so does its owner's column: a key's, an entry's after
            // `- `, not a dash inside the text.
            (format!("a: |\n  k: {d}\nb: >\n  {open}: x\n"), None),
            (format!("a: word\n  {d}\n"), None),
            (format!("a: x - y\n  {d}\n"), None),
            (format!("a: x-y\n  {d}\n"), None),
            (format!("- k: |\n    text\n  j: {d}\n"), Some(3)),
            // In a flow collection a plain scalar's next line goes on with
            // it: a quote there opens nothing.
            (format!("k: [a\n  'b, {d}, c'\n  ]\n"), Some(2)),
            // A `|` inside text is text; a `:` before a bracket, or a `,`,
            // is text in block context.
            (format!("a: [x|y, {d}]\n"), Some(1)),
            (format!("x|y: {d}\n"), Some(1)),
            (format!("a: x:{d}\n"), None),
            (format!("a: x, {d}\n"), None),
            // An anchor's name runs over `-`; inside text, `&` and `!` are
            // text (the `#` after one no comment, the `:` after one an
            // indicator).
            (format!("a: &x-y {d}\n"), Some(1)),
            (format!("a: [x &#, {d}]\n"), Some(1)),
            (format!("a: [x !: 'y, {d}']\n"), None),
            // A tag runs to a blank, and in a flow collection to an
            // indicator.
            (format!("a: [!t 'x, {d}']\n"), None),
            (format!("a: [!t,{d}]\n"), Some(1)),
        ] {
            assert_eq!(
                libyaml_nests_too_deep(&text),
                line.is_some(),
                "libyaml on {text:?}"
            );
            assert_eq!(too_deep(&text), line, "{text:?}");
        }
    }

    /// A value tree of text that looks like YAML's indicators: brackets,
    /// quotes, `#`, `: `, `|`, `- `.
    fn tree() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        // One piece opens more brackets than the bound allows: text, not
        // nesting, wherever serde or JSON writes it.
        static DEEP: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| "[".repeat(MAX_FLOW_DEPTH + 1));
        let deep: &'static str = &DEEP;
        let text = proptest::sample::select(vec![
            "[", "]", "{", "}", "'", "\"", "#", ": ", "|", ">", "- ", "it's", "a b", ",", "&x",
            "!t", "*y", "~", "1", "\n", " ", deep,
        ]);
        let leaf = prop_oneof![
            proptest::collection::vec(text, 0..8).prop_map(|v| serde_json::json!(v.concat())),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            Just(serde_json::Value::Null),
        ];
        leaf.prop_recursive(12, 200, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("[a-z\\[{'\" #]{1,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]
        /// Whatever its text holds, a document serde writes (block style)
        /// or JSON writes (flow style) within serde's depth passes both
        /// bounds, and reads back the same.
        #[test]
        fn written_documents_pass_the_bounds(v in tree()) {
            for text in [serde_yaml_ng::to_string(&v).unwrap(), serde_json::to_string(&v).unwrap()] {
                proptest::prop_assert_eq!(too_deep(&text), None, "{}", text);
                proptest::prop_assert!(replay(&text).is_ok(), "{}", text);
                let back: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
                proptest::prop_assert_eq!(&back, &v);
            }
        }
    }

    #[test]
    fn aliases_are_refused_once_their_copies_pass_the_bound() {
        let big = "x".repeat(512 << 10);
        let ten = |a: &str| format!("[{}]", vec![format!("*{a}"); 10].join(","));
        let within = format!("a: &a \"{big}\"\nb: &b {}\n", ten("a"));
        assert!(replay(&within).is_ok());
        let past = format!("{within}c: &c {}\nd: {}\n", ten("b"), ten("c"));
        let err = replay(&past).unwrap_err();
        assert!(err.to_string().contains(EXPANDS_TOO_FAR), "{err}");
        // Named by the path where the copies went past (the location is
        // the anchored value's, which each copy replays).
        assert!(err.to_string().starts_with("c["), "{err}");
        // A file's own values are not its aliases' doing: more than a
        // million of them, no alias, pass.
        let many = format!("[{}1]", "1,".repeat(MAX_EXPANDED_NODES + 1));
        assert!(replay(&many).is_ok());
        // Not the expansion's to report: the typed parse says what is wrong.
        assert!(replay("a: [1\n").is_ok());
        // What the loaders would refuse before the aliases, a key that is
        // not text or a number past 64 bits, stops no count: the aliases
        // after it are replayed all the same.
        for first in [
            "? [k]\n: 1\n",
            "{[k]: 1}: 2\n",
            "? &l [k]\n: 1\nx: {? *l : 1}\n",
            "n: 999999999999999999999999\n",
        ] {
            let err = replay(&format!("{first}{past}")).unwrap_err();
            assert!(err.to_string().contains(EXPANDS_TOO_FAR), "{first}: {err}");
        }
        // A tagged list's copies count as any other's.
        let tagged = format!("{within}c: &c {}\nd: !t {}\n", ten("b"), ten("c"));
        let err = replay(&tagged).unwrap_err();
        assert!(err.to_string().contains(EXPANDS_TOO_FAR), "{err}");
    }

    /// Every kind of value an alias copies counts toward the bound: a list
    /// of a thousand of one kind, copied three hundred times, passes
    /// 262,144 values.
    #[test]
    fn every_kind_of_value_counts_toward_the_bound() {
        for value in [
            "true",
            "-1",
            "1",
            "1.5",
            "~",
            "x",
            "999999999999999999999999",
            "-999999999999999999999999",
            "!t x",
        ] {
            let list = format!("[{}]", vec![value; 1000].join(","));
            let text = format!("a: &a {list}\nb: [{}]\n", vec!["*a"; 300].join(","));
            let err = replay(&text).unwrap_err();
            assert!(err.to_string().contains(EXPANDS_TOO_FAR), "{value}: {err}");
        }
    }

    /// The bounds are the most a file may expand to: exactly as many bytes
    /// or values pass, one more does not. A key's text counts, a key and a
    /// value or an entry is one value, a list or a mapping one more.
    #[test]
    fn the_bounds_are_reached_before_they_refuse() {
        // 4 + 262 × 1000 + 140 values: 262,144.
        let values = |r: usize| {
            let list = format!("[{}]", vec!["x"; 999].join(","));
            let copies = [vec!["*a"; 261], vec!["x"; r]].concat().join(",");
            format!("a: &a {list}\nb: [{copies}]\n")
        };
        assert!(replay(&values(140)).is_ok());
        let err = replay(&values(141)).unwrap_err();
        assert!(err.to_string().contains(EXPANDS_TOO_FAR), "{err}");
        // 2 + 1,023 × 8,192 + 1 + 8,189 bytes: 8 MB.
        let bytes = |tail: usize| {
            let copies = vec!["*a"; 1022].join(",");
            format!(
                "a: &a {}\nb: [{copies}]\nc: {}\n",
                "x".repeat(8192),
                "y".repeat(tail)
            )
        };
        assert!(replay(&bytes(8189)).is_ok());
        let err = replay(&bytes(8190)).unwrap_err();
        assert!(err.to_string().contains(EXPANDS_TOO_FAR), "{err}");
        // Keys that are not text are not one key written twice.
        assert!(replay("? [a]\n: 1\n? [b]\n: 2\n? {c: 1}\n: 3\n? {d: 1}\n: 4\n").is_ok());
    }

    const FILE: &str = "\
# a comment naming data: and /api/curp/
provider: curpv5
prefixes: [api/curp/]
endpoints:
  bycurp:
    scenarios:
      active:
        status: 200
        data: {status: AN}
      deceased:
        status: 200
        data: BD
- curp: A
  names: X
- curp: B
  birth_date: nope
";

    #[test]
    fn a_path_points_at_its_own_block() {
        assert_eq!(
            locate(FILE, "endpoints.bycurp.scenarios.deceased.data", "data:"),
            Some((12, 9))
        );
        assert_eq!(
            locate(FILE, "endpoints.bycurp.scenarios.active.data", "data:"),
            Some((9, 9))
        );
        assert_eq!(locate(FILE, "prefixes", "api/curp/"), Some((3, 12)));
        assert_eq!(locate(FILE, "[1].birth_date", "nope"), Some((16, 15)));
        assert_eq!(locate(FILE, "[1].curp", "B"), Some((15, 9)));
        // The path's line when the needle is not in its block.
        assert_eq!(
            locate(FILE, "endpoints.bycurp.scenarios.deceased", "zzz"),
            Some((10, 7))
        );
        // No such path: the first mention outside comments.
        assert_eq!(locate(FILE, "nowhere", "/api/curp/"), None);
        assert_eq!(locate(FILE, "nowhere", "BD"), Some((12, 15)));
        let list = "entities:\n- renapo: AS\n  ine: '01'\n- renapo: BC\n  ine: x\nother: 1\n";
        assert_eq!(locate(list, "entities[1].ine", "x"), Some((5, 8)));
        // A key of the same name deeper in is not the block's own; a needle
        // inside a longer word is not the word.
        let nested = "a:\n  body:\n    data: 1\n  data: {renapo_description: x, description: y}\n";
        assert_eq!(locate(nested, "a.data", "description"), Some((4, 33)));
        // A document marker is not a list item.
        let doc = "---\n- curp: X\n- curp: B\n  status: X\n";
        assert_eq!(locate(doc, "[1].status", "X"), Some((4, 11)));
        // A file written as JSON, which YAML reads.
        let json = "{\n  \"a\": {\n    \"data\": 1,\n    \"b\": {\"data\": 2}\n  },\n  \"c\": [\n    {\"x\": 1}\n  ]\n}\n";
        assert_eq!(locate(json, "a.data", "data:"), Some((3, 5)));
        assert_eq!(locate(json, "a.b", "data:"), Some((4, 11)));
        assert_eq!(
            locate("{\"a\": {\"data\": 1}}", "a.data", "data:"),
            Some((1, 8))
        );
        let twice = "a:\n  x: 1\n  y:\n    x: 2\n  x: 3\nb: 1\n";
        assert_eq!(second_key(twice, 2, 3, "x"), Some((5, 3)));
        assert_eq!(second_key(twice, 2, 3, "y"), None);
        // Past a blank line; in a mapping that is a list's item.
        assert_eq!(
            second_key("a:\n  x: 1\n\n  x: 3\n", 2, 3, "x"),
            Some((4, 3))
        );
        assert_eq!(second_key("- x: 1\n  x: 2\n", 1, 3, "x"), Some((2, 3)));
        assert_eq!(second_key("- - x: 1\n    x: 2\n", 1, 5, "x"), Some((2, 5)));
        assert_eq!(
            locate("- - x: 1\n    y: 2\n", "[0][0].y", "2"),
            Some((2, 8))
        );
    }

    /// Where the needle is also elsewhere in the file, the block the path
    /// names is where it is looked for: its list item, not an earlier one
    /// with the same value, nor a sibling after the block.
    #[test]
    fn a_needle_is_found_in_its_block_not_its_first_mention() {
        let items = "- curp: A\n- curp: A\n  x:\n  - A\n  - A\n";
        assert_eq!(locate(items, "[1].curp", "A"), Some((2, 9)));
        assert_eq!(locate(items, "[1].x[1]", "A"), Some((5, 5)));
        let nested = "k:\n  - - A\n    - A\n  - - A\n    - A\n";
        assert_eq!(locate(nested, "k[1]", "A"), Some((4, 7)));
        // Not in the key's block: the key's own line, not a sibling's x.
        let siblings = "a:\n  k: 1\nb:\n  k: x\n";
        assert_eq!(locate(siblings, "a", "x"), Some((1, 1)));
        assert_eq!(locate(siblings, "a.k", "x"), Some((2, 3)));
        // A key whose name starts with a dash is not a list item.
        assert_eq!(locate("-k:\n  - y\n  - y\n", "-k[1]", "y"), Some((3, 5)));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[allow(dead_code)]
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        n: Parsed<u8>,
    }

    #[test]
    fn a_bad_value_is_reported_at_its_own_line_and_path() {
        let e = serde_yaml_ng::from_str::<File>("name: x\ninner:\n  n: 300\n").unwrap_err();
        let loc = e.location().unwrap();
        assert_eq!((loc.line(), loc.column()), (3, 6), "{e}");
        assert!(e.to_string().starts_with("inner.n: "), "{e}");
        let ok = serde_yaml_ng::from_str::<File>("name: x\ninner:\n  n: '7'\n").unwrap();
        assert_eq!(ok.inner.n, Parsed(7));
    }
}
