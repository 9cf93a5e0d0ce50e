//! The YAML safety bounds of `mxid_sandbox::yaml`, held to what they
//! guard against (differential):
//!
//! - `too_deep` against libyaml's own scanner (`unsafe-libyaml`, the one
//!   serde_yaml_ng runs), token by token: its flow level (FLOW-SEQUENCE-START
//!   and FLOW-MAPPING-START up, their END tokens down, never below 0, as the
//!   scanner counts). A MISS: the scanner goes past `MAX_FLOW_DEPTH` and
//!   `too_deep` lets the text through. A FALSE REFUSAL: `too_deep` refuses a
//!   text that libyaml's parser reads whole (valid YAML) within the bound.
//!   Both compare with `>`, as `too_deep` does: 128 levels pass, 129 not.
//!   The scan counts only what serde_yaml_ng would make libyaml read: the
//!   tokens before the parser's first error (or an alias to no anchor, or
//!   the end of the second document, where the loader stops), so that an
//!   invalid text's brackets past that point are no MISS
//!   (`YAML_BOUNDS_SCANNER=1`: the scanner over the whole text instead).
//! - `replay` against serde_yaml_ng itself: when `replay` lets a text
//!   through, the `serde_yaml_ng::Value` read from it (and that value with
//!   its merge keys applied) holds at most `replay`'s bounds: values (keys,
//!   tags and collections count) and bytes of text (strings, keys, tags).
//!
//! Bugs already found are recognised by `known_miss`, `known_false` and
//! `known_replay` and not reported again, so that a run goes on to others
//! (`YAML_BOUNDS_ALL=1` reports them too; `YAML_BOUNDS_DEBUG=1` prints what
//! each side says). See fuzz/README.md.
//!
//! The text is prepared as `engine::read_yaml` prepares a user's file
//! before `check_yaml` (a leading byte-order mark dropped, CR and CRLF
//! written LF).
//!
//! Input: UTF-8 text, with one shorthand so that a short input can nest
//! deeper than the bound: `\x01`, a decimal count (its digits, up to 4),
//! then a piece up to the next `\x02` (or the end) stands for the piece
//! repeated that many times (`a: \x01130[\x02 \x01130]` is 130 brackets
//! each way; a piece cannot start with a digit). The text is at most 8 KB
//! once expanded. libyaml refuses control characters, so a real YAML file
//! never needs these two bytes.
#![no_main]

use std::mem::MaybeUninit;

use libfuzzer_sys::fuzz_target;
use mxid_sandbox::yaml::{self, MAX_EXPANDED_BYTES, MAX_EXPANDED_NODES, MAX_FLOW_DEPTH};
use serde_yaml_ng::Value;
use unsafe_libyaml as sys;

/// The expanded text's size: the scanner's work grows with it times the
/// flow level, which stops one past the bound.
const MAX_TEXT: usize = 8 << 10;

/// No text of `MAX_TEXT` bytes makes this many tokens: a scan that gets
/// here is stuck, and reported.
const MAX_TOKENS: usize = 1 << 16;

/// `\x01<count><piece>\x02` → the piece `count` times; the rest as is.
fn expand(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = rest.iter().position(|&b| b == 1) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at + 1..];
        let digits = rest
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let count: usize = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        rest = &rest[digits..];
        let end = rest.iter().position(|&b| b == 2).unwrap_or(rest.len());
        let piece = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or(&[]);
        if !piece.is_empty() {
            let room = MAX_TEXT.saturating_sub(out.len()) / piece.len();
            for _ in 0..count.min(room) {
                out.extend_from_slice(piece);
            }
        }
    }
    out.extend_from_slice(rest);
    out.truncate(MAX_TEXT);
    out
}

/// What libyaml's scanner read of a text.
#[derive(Debug)]
struct Scan {
    /// The highest flow level it reached.
    max_level: usize,
    /// It reached STREAM-END without an error.
    whole: bool,
}

/// Runs libyaml's scanner over `text` token by token, until STREAM-END, an
/// error, a flow level past `stop_past`, or a token that starts past byte
/// `until` (where serde_yaml_ng's parser stops).
fn scan(text: &str, stop_past: usize, until: usize) -> Scan {
    use sys::yaml_token_type_t::*;
    let mut out = Scan {
        max_level: 0,
        whole: false,
    };
    let mut level = 0usize;
    unsafe {
        let mut parser = parser_on(text);
        let parser = parser.as_mut_ptr();
        let mut token = MaybeUninit::<sys::yaml_token_t>::uninit();
        let mut tokens = 0;
        loop {
            if tokens >= MAX_TOKENS {
                sys::yaml_parser_delete(parser);
                panic!("libyaml's scanner made {MAX_TOKENS} tokens of {text:?}");
            }
            if sys::yaml_parser_scan(parser, token.as_mut_ptr()).fail {
                break;
            }
            tokens += 1;
            let (kind, at) = (
                (*token.as_ptr()).type_,
                (*token.as_ptr()).start_mark.index as usize,
            );
            sys::yaml_token_delete(token.as_mut_ptr());
            if at > until {
                break;
            }
            match kind {
                YAML_FLOW_SEQUENCE_START_TOKEN | YAML_FLOW_MAPPING_START_TOKEN => {
                    level += 1;
                    out.max_level = out.max_level.max(level);
                    if level > stop_past {
                        break;
                    }
                }
                YAML_FLOW_SEQUENCE_END_TOKEN | YAML_FLOW_MAPPING_END_TOKEN => {
                    level = level.saturating_sub(1);
                }
                YAML_STREAM_END_TOKEN => {
                    out.whole = true;
                    break;
                }
                // The scanner's "no more tokens", without an error.
                YAML_NO_TOKEN => break,
                _ => {}
            }
        }
        sys::yaml_parser_delete(parser);
    }
    out
}

/// How far serde_yaml_ng's loader drives libyaml's parser in a text: the
/// first document, then the second up to its end (to see that there is
/// one), stopping at the first error or an alias to no anchor.
#[derive(Debug)]
struct Parse {
    /// The deepest flow collection among its events.
    max_flow: usize,
    /// It read the stream to its end without an error.
    whole: bool,
    /// The byte where it stopped (the error's, the last event's end);
    /// `usize::MAX` when it read the whole stream.
    stop: usize,
    error: Option<String>,
}

fn parse(text: &str, stop_past: usize) -> Parse {
    use sys::yaml_event_type_t::*;
    let mut out = Parse {
        max_flow: 0,
        whole: false,
        stop: usize::MAX,
        error: None,
    };
    // For each open collection: whether it is a flow one, and whether a
    // bracket opened it.
    let mut open: Vec<(bool, bool)> = Vec::new();
    let mut flow = 0usize;
    let mut bracketed = 0usize;
    let mut documents = 0;
    let mut anchors = std::collections::HashSet::<Vec<u8>>::new();
    let name = |p: *const u8| {
        (!p.is_null()).then(|| {
            unsafe { std::ffi::CStr::from_ptr(p.cast()) }
                .to_bytes()
                .to_vec()
        })
    };
    unsafe {
        let mut parser = parser_on(text);
        let parser = parser.as_mut_ptr();
        let mut event = MaybeUninit::<sys::yaml_event_t>::uninit();
        for _ in 0..MAX_TOKENS {
            if sys::yaml_parser_parse(parser, event.as_mut_ptr()).fail {
                let p = &*parser;
                out.error = Some(parser_error(p));
                out.stop = if p.error == sys::YAML_READER_ERROR {
                    p.problem_offset as usize
                } else {
                    p.problem_mark.index as usize
                };
                break;
            }
            let e = &*event.as_ptr();
            let kind = e.type_;
            let end = e.end_mark.index as usize;
            // A collection a `[` or `{` opened, one flow level of the
            // scanner's: not the single-pair mapping a key makes inside a
            // flow sequence (`[k: v]`, `[? k]`), whose event is a flow
            // mapping's too, at the key's zero-width mark or its `?`.
            let opened_by_bracket = end > e.start_mark.index as usize
                && matches!(text.as_bytes().get(end - 1), Some(b'[' | b'{'));
            let (is_flow, start, anchor) = match kind {
                YAML_SEQUENCE_START_EVENT => (
                    e.data.sequence_start.style == sys::YAML_FLOW_SEQUENCE_STYLE,
                    true,
                    name(e.data.sequence_start.anchor),
                ),
                YAML_MAPPING_START_EVENT => (
                    e.data.mapping_start.style == sys::YAML_FLOW_MAPPING_STYLE,
                    true,
                    name(e.data.mapping_start.anchor),
                ),
                YAML_SCALAR_EVENT => (false, false, name(e.data.scalar.anchor)),
                _ => (false, false, None),
            };
            let alias = (kind == YAML_ALIAS_EVENT)
                .then(|| name(e.data.alias.anchor))
                .flatten();
            sys::yaml_event_delete(event.as_mut_ptr());
            anchors.extend(anchor);
            if let Some(alias) = alias {
                if !anchors.contains(&alias) {
                    out.error = Some("unknown anchor".into());
                    out.stop = end;
                    break;
                }
            }
            if start {
                open.push((is_flow, is_flow && opened_by_bracket));
                if is_flow {
                    flow += 1;
                    out.max_flow = out.max_flow.max(flow);
                }
                if is_flow && opened_by_bracket {
                    // Stopped as the scanner passes the bound: the scan
                    // goes as far, and sees it (the events of the keys'
                    // mappings may pass it first, and the parser read on:
                    // a text refused later, where its scanner never went
                    // as deep, read as if it had been read whole).
                    bracketed += 1;
                    if bracketed > stop_past {
                        out.stop = end;
                        break;
                    }
                }
            }
            match kind {
                YAML_SEQUENCE_END_EVENT | YAML_MAPPING_END_EVENT => {
                    if let Some((true, by_bracket)) = open.pop() {
                        flow -= 1;
                        bracketed -= usize::from(by_bracket);
                    }
                }
                YAML_DOCUMENT_END_EVENT => {
                    anchors.clear();
                    documents += 1;
                    if documents == 2 {
                        out.stop = end;
                        break;
                    }
                }
                YAML_STREAM_END_EVENT => {
                    out.whole = true;
                    break;
                }
                YAML_NO_EVENT => {
                    out.error = Some("no event".into());
                    out.stop = end;
                    break;
                }
                _ => {}
            }
        }
        sys::yaml_parser_delete(parser);
    }
    out
}

fn parser_error(parser: &sys::yaml_parser_t) -> String {
    let text = |p: *const std::ffi::c_char| {
        if p.is_null() {
            String::new()
        } else {
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        }
    };
    format!(
        "{} {} at line {} column {}",
        text(parser.context),
        text(parser.problem),
        parser.problem_mark.line + 1,
        parser.problem_mark.column + 1
    )
}

/// Values and bytes of text in `v`, counted as `replay` counts them (every
/// value, key and tag is one; strings, keys and tags bring their bytes),
/// stopping once past `stop`.
fn weigh(v: &Value, stop: (usize, usize)) -> (usize, usize) {
    let (mut nodes, mut bytes) = (0usize, 0usize);
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        if nodes > stop.1 || bytes > stop.0 {
            break;
        }
        nodes += 1;
        match v {
            Value::String(s) => bytes += s.len(),
            Value::Sequence(items) => todo.extend(items),
            Value::Mapping(m) => {
                for (k, v) in m {
                    todo.push(k);
                    todo.push(v);
                }
            }
            Value::Tagged(t) => {
                nodes += 1;
                bytes += t.tag.to_string().len();
                todo.push(&t.value);
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    (nodes, bytes)
}

/// The lines of `text` as libyaml breaks them.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '\u{85}', '\u{2028}', '\u{2029}'])
}

/// Bugs of `too_deep` already found and reported (see fuzz/README.md):
/// texts of their class are not held to the scanner, so that the run goes
/// on to others.
fn known_miss(_text: &str) -> Option<&'static str> {
    // Found and fixed in src/yaml.rs, no longer skipped: content on a
    // document marker's line (`--- [[[…`), a byte-order mark inside a
    // line, a comment right after an indicator, a quote after `:` inside
    // a plain scalar in a flow collection, a `#` after a space that is not
    // YAML's.
    None
}

fn scanner_only() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("YAML_BOUNDS_SCANNER").is_some_and(|v| v == "1"))
}

/// `YAML_BOUNDS_DEBUG=1`: what each side says, on stderr.
fn debug() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("YAML_BOUNDS_DEBUG").is_some_and(|v| v == "1"))
}

/// `YAML_BOUNDS_ALL=1`: the known bugs are reported too (to replay one).
fn report_known() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("YAML_BOUNDS_ALL").is_some_and(|v| v == "1"))
}

/// Bugs of `too_deep` that refuse what libyaml reads within the bound,
/// already found and reported.
fn known_false(text: &str) -> Option<&'static str> {
    // A plain or a block scalar that starts its line (no key, no entry
    // before it: the node it belongs to is its parent block) goes
    // on on the next lines indented deeper than its parent block, so on a
    // line at its own indentation or less too: `a:\n  x\n  [[[…`,
    // `a:\n  x\n [[[…`, `a[\n[\n[…`, `  a\n[[[…`.
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let starts_plain = |l: &str| {
        let t = l.trim_start_matches(' ');
        let mut c = t.chars();
        let first = c.next();
        let second = c.next();
        let indicator = |c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c);
        match first {
            None => false,
            Some('-' | '?' | ':') => second.is_some_and(|s| !matches!(s, ' ' | '\t')),
            Some(f) => !indicator(f) && !matches!(f, ' ' | '\t'),
        }
    };
    // (Fixed in src/yaml.rs, no longer skipped: a byte-order mark inside
    // a line, an anchor followed by a character that ends it, a comment
    // right after an indicator.)
    // A key with an anchor or a tag before it (`!t a: |`, `&x a: v`): its
    // mapping starts at the anchor's or tag's column, not the key's.
    for l in lines(text) {
        let mut c = l.trim_start_matches(' ');
        while let Some(r) = c.strip_prefix("- ").or_else(|| c.strip_prefix("? ")) {
            c = r.trim_start_matches(' ');
        }
        if c.starts_with(['&', '!']) && (c.contains(": ") || c.trim_end().ends_with(':')) {
            return Some("a key after an anchor or a tag");
        }
    }
    // The indentation of the line such a scalar started on, while its
    // next lines are deeper (its text to both).
    let mut owner: Option<usize> = None;
    for l in lines(text).filter(|l| !l.trim().is_empty()) {
        match owner {
            Some(o) if indent(l) > o => continue,
            Some(_) if !l.trim_start_matches([' ', '\t']).starts_with('#') => {
                return Some("a scalar's next line at its own indentation");
            }
            _ => {}
        }
        // After a document marker (`--- x`), the rest of its line.
        let mut c = l.trim_start_matches(' ');
        for m in ["---", "..."] {
            if let Some(r) = l.strip_prefix(m) {
                if r.is_empty() || r.starts_with([' ', '\t']) {
                    c = r.trim_start_matches([' ', '\t']);
                }
            }
        }
        // Past its anchor and tag (`!t:  x`: the tag is `!t:`; an anchor's
        // name ends at a character other than a letter, a digit, `-`, `_`:
        // `&b:x` anchors `:x`).
        while c.starts_with(['&', '!']) {
            c = match c.strip_prefix('&') {
                Some(r) => r
                    .trim_start_matches(|ch: char| {
                        ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'
                    })
                    .trim_start_matches([' ', '\t']),
                None => c
                    .split_once([' ', '\t'])
                    .map_or("", |(_, r)| r.trim_start()),
            };
        }
        // A block scalar whose header (`|`, `>`) starts its line: the same.
        let header = c.starts_with(['|', '>']);
        owner = (header || starts_plain(c) && !c.contains(": ") && !c.trim_end().ends_with(':'))
            .then(|| indent(l));
    }
    None
}

/// Bugs of `replay` already found and reported.
fn known_replay(_v: &Value, _stop: (usize, usize)) -> Option<&'static str> {
    // Found and fixed in src/yaml.rs, no longer skipped: a key that is a
    // collection (`? [k]`) ended the replay, the rest of the file
    // uncounted.
    None
}

/// A libyaml parser reading `text` as UTF-8, initialized (the caller
/// deletes it, and keeps `text` while it reads).
unsafe fn parser_on(text: &str) -> Box<MaybeUninit<sys::yaml_parser_t>> {
    let mut parser = Box::new(MaybeUninit::<sys::yaml_parser_t>::uninit());
    let p = parser.as_mut_ptr();
    assert!(sys::yaml_parser_initialize(p).ok, "libyaml: no memory");
    sys::yaml_parser_set_encoding(p, sys::YAML_UTF8_ENCODING);
    sys::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as u64);
    parser
}

fuzz_target!(|data: &[u8]| {
    let expanded = expand(data);
    let Ok(text) = std::str::from_utf8(&expanded) else {
        return;
    };
    // As `engine::read_yaml` hands a user's file to `check_yaml`.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let owned;
    let text = if text.contains('\r') {
        owned = text.replace("\r\n", "\n").replace('\r', "\n");
        owned.as_str()
    } else {
        text
    };

    // too_deep against libyaml's scanner, as far as serde_yaml_ng's parser
    // drives it (`YAML_BOUNDS_SCANNER=1`: the whole text, whatever the
    // parser says). The scan stops one level past the bound: past it the
    // answer is known, and the scan's work stays linear in the text.
    let refused = yaml::too_deep(text);
    let parsed = parse(text, MAX_FLOW_DEPTH);
    let until = if scanner_only() {
        usize::MAX
    } else {
        parsed.stop
    };
    let scanned = scan(text, MAX_FLOW_DEPTH, until);
    if debug() {
        eprintln!("too_deep: {refused:?}\n{parsed:?}\n{scanned:?}");
    }
    if scanned.max_level > MAX_FLOW_DEPTH
        && refused.is_none()
        && (report_known() || known_miss(text).is_none())
    {
        panic!(
            "MISS: libyaml's scanner nests {} flow levels deep (more than {MAX_FLOW_DEPTH}), \
             too_deep lets it through; the parser's events reach {}{}\ntext: {text:?}",
            scanned.max_level,
            parsed.max_flow,
            parsed
                .error
                .map(|e| format!(", then it stops: {e}"))
                .unwrap_or_default(),
        );
    }
    if let Some(line) = refused {
        // Only a text the parser reads whole: any other is refused anyway.
        let read = if scanner_only() {
            scanned.whole
        } else {
            parsed.whole
        };
        if read
            && scanned.max_level <= MAX_FLOW_DEPTH
            && (report_known() || known_false(text).is_none())
        {
            panic!(
                "FALSE REFUSAL: too_deep refuses line {line}, libyaml reads the whole text at \
                 most {} flow levels deep ({})\ntext: {text:?}",
                scanned.max_level,
                match &parsed.error {
                    None if parsed.whole => "valid YAML".to_string(),
                    None => "the parser stops early".to_string(),
                    Some(e) => format!("the parser refuses it anyway: {e}"),
                },
            );
        }
    }

    // replay against the value serde_yaml_ng builds. check_yaml reads no
    // further than too_deep; past the depth, serde refuses anyway.
    if refused.is_some() || scanned.max_level > MAX_FLOW_DEPTH {
        return;
    }
    if let Err(e) = yaml::replay(text) {
        if debug() {
            eprintln!("replay: {e}");
        }
        return;
    }
    let bounds = (
        MAX_EXPANDED_BYTES.max(text.len().saturating_mul(2)),
        MAX_EXPANDED_NODES.max(text.len()),
    );
    let stop = (bounds.0 * 2, bounds.1 * 2);
    let value = serde_yaml_ng::from_str::<Value>(text);
    if debug() {
        match &value {
            Ok(v) => eprintln!("replay: Ok, Value weighs {:?}", weigh(v, stop)),
            Err(e) => eprintln!("replay: Ok, Value: {e}"),
        }
    }
    let Ok(mut value) = value else {
        return;
    };
    if !report_known() && known_replay(&value, stop).is_some() {
        return;
    }
    for merged in [false, true] {
        if merged && value.apply_merge().is_err() {
            break;
        }
        let (nodes, bytes) = weigh(&value, stop);
        assert!(
            nodes <= bounds.1 && bytes <= bounds.0,
            "REPLAY: replay lets the text through, serde_yaml_ng's Value{} holds {}{nodes} values \
             and {}{bytes} bytes of text (bounds {} and {})\ntext: {text:?}",
            if merged {
                " with merge keys applied"
            } else {
                ""
            },
            if nodes > stop.1 { "more than " } else { "" },
            if bytes > stop.0 { "more than " } else { "" },
            bounds.1,
            bounds.0,
        );
    }
});
