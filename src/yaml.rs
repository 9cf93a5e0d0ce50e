//! Values converted while serde_yaml_ng still points at them.
//!
//! A conversion that runs after the value is read (`#[serde(try_from)]`, a
//! `deserialize_with` that parses a `String`) fails outside the value, and
//! serde_yaml_ng then reports the enclosing mapping: its first line and its
//! path, without the key. Converting inside the visitor reports the value's
//! own line, column and path (`endpoints.query.scenarios.slow.latency`).

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
                    Some(at) == child && key_of(content) == Some(key)
                })
            }
            Segment::Index(n) => {
                let items: Vec<usize> = (start..end)
                    .filter(|&i| {
                        // A key's sequence may sit at the key's own indentation.
                        !is_blank(lines[i])
                            && indentation(lines[i]) >= indent
                            && lines[i].trim_start().starts_with('-')
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
        let item = lines[i].trim_start().starts_with('-');
        start = if item { i } else { i + 1 };
        end = (i + 1..lines.len())
            .find(|&j| {
                let at = indentation(lines[j]);
                // A key's block goes on through a sequence at its own
                // indentation; an item's ends at the next item.
                let own_sequence = !item && at == indent && lines[j].trim_start().starts_with('-');
                !is_blank(lines[j]) && at <= indent && !own_sequence
            })
            .unwrap_or(lines.len());
    }
    // A key's needle (`data:`) as JSON writes it (`"data":`) too.
    let quoted = needle.strip_suffix(':').map(|key| format!("\"{key}\":"));
    let column_of = |line: &str| {
        column_of(line, needle).or_else(|| quoted.as_deref().and_then(|q| column_of(line, q)))
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

/// The line and column of the second writing of `key` in the mapping that
/// starts at `line`:`column` (1-based), as serde_yaml_ng reports a key
/// written twice.
pub fn second_key(text: &str, line: usize, column: usize, key: &str) -> Option<(usize, usize)> {
    let indent = isize::try_from(column.checked_sub(1)?).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .skip(line.checked_sub(1)?)
        .take_while(|(i, l)| *i + 1 == line || is_blank(l) || content_of(l).0 >= indent)
        .filter(|(_, l)| {
            let (at, content) = content_of(l);
            at == indent && key_of(content) == Some(key)
        })
        .nth(1)
        .map(|(i, _)| (i + 1, column))
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

fn indentation(line: &str) -> isize {
    (line.len() - line.trim_start().len()) as isize
}

/// The indentation of a line's content (past a sequence dash) and the
/// content; blank and comment lines sit at -2, inside no block.
fn content_of(line: &str) -> (isize, &str) {
    if is_blank(line) {
        return (-2, "");
    }
    let t = line.trim_start();
    match t.strip_prefix("- ") {
        Some(item) => (
            (line.len() - item.trim_start().len()) as isize,
            item.trim_start(),
        ),
        None => (indentation(line), t),
    }
}

/// The key a mapping line starts with.
fn key_of(content: &str) -> Option<&str> {
    let (key, _) = content.split_once(':')?;
    Some(key.trim().trim_matches(|c| c == '"' || c == '\''))
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
        let doc = "---\n- curp: A\n- curp: B\n  status: X\n";
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
