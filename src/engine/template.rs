//! Response templates, compiled once at load time into literal bytes and holes.
//!
//! A template is written in YAML as the JSON value it produces. A string that
//! is exactly `{{name}}` is a hole for a whole JSON value (a number, an object,
//! `null`…); a string that only contains `{{name}}` among other text is
//! interpolated. Compiling ahead of time means a request only copies literal
//! runs and writes its variables: no YAML, no tree walk, no re-serialising.

use std::cell::RefCell;

use serde_json::Value;

/// Values a provider fills in for one response.
///
/// Text and numbers live in one buffer, so setting the twenty-odd values of
/// a response costs no allocation per value; only a whole JSON value
/// (an object, a list) is kept as a `Value`.
#[derive(Debug, Default, Clone)]
pub struct Vars {
    text: String,
    // Each name with its hash: a render looks up every hole, and comparing
    // hashes first keeps that from being a string comparison per entry.
    entries: Vec<Entry>,
}

/// Where a value lives.
#[derive(Debug, Clone)]
enum Slot {
    /// Text in the buffer: a JSON string.
    Str(u32, u32),
    /// JSON in the buffer, written as it is (numbers, booleans, `null`).
    Raw(u32, u32),
    Json(Value),
}

/// A value for [`Vars::set`].
pub enum VarValue<'a> {
    Str(&'a str),
    /// JSON text written as it is.
    Raw(&'a str),
    Int(i64),
    Json(Value),
}

impl<'a> From<&'a str> for VarValue<'a> {
    fn from(s: &'a str) -> VarValue<'a> {
        VarValue::Str(s)
    }
}

impl<'a> From<&'a String> for VarValue<'a> {
    fn from(s: &'a String) -> VarValue<'a> {
        VarValue::Str(s)
    }
}

impl From<String> for VarValue<'_> {
    fn from(s: String) -> VarValue<'static> {
        VarValue::Json(Value::String(s))
    }
}

impl From<bool> for VarValue<'_> {
    fn from(b: bool) -> VarValue<'static> {
        VarValue::Raw(if b { "true" } else { "false" })
    }
}

impl From<Value> for VarValue<'_> {
    fn from(v: Value) -> VarValue<'static> {
        VarValue::Json(v)
    }
}

impl From<Vec<Value>> for VarValue<'_> {
    fn from(v: Vec<Value>) -> VarValue<'static> {
        VarValue::Json(Value::Array(v))
    }
}

impl<'a, T: Into<VarValue<'a>>> From<Option<T>> for VarValue<'a> {
    fn from(v: Option<T>) -> VarValue<'a> {
        v.map_or(VarValue::Raw("null"), Into::into)
    }
}

macro_rules! int_var {
    ($($t:ty),*) => {$(
        impl From<$t> for VarValue<'_> {
            fn from(n: $t) -> VarValue<'static> {
                VarValue::Int(n.into())
            }
        }
    )*};
}
int_var!(u8, u16, u32, i32, i64);

macro_rules! wide_int_var {
    ($($t:ty),*) => {$(
        impl From<$t> for VarValue<'_> {
            fn from(n: $t) -> VarValue<'static> {
                i64::try_from(n).map_or_else(|_| VarValue::Json(Value::from(n)), VarValue::Int)
            }
        }
    )*};
}
wide_int_var!(u64, usize);

thread_local! {
    /// The buffers of the last `Vars` this thread dropped, for the next one:
    /// every request fills one, and a warm buffer costs no allocation.
    static SPARE: RefCell<Option<(String, Vec<Entry>)>> = const { RefCell::new(None) };
}

/// A value's name, the name's hash, and where the value is.
type Entry = (u64, &'static str, Slot);

/// A buffer larger than this is not kept for the next request.
const KEEP_AT_MOST: usize = 64 * 1024;

impl Drop for Vars {
    fn drop(&mut self) {
        let mut text = std::mem::take(&mut self.text);
        let mut entries = std::mem::take(&mut self.entries);
        if text.capacity() > KEEP_AT_MOST || text.capacity() == 0 {
            return;
        }
        text.clear();
        entries.clear();
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                *spare = Some((text, entries));
            }
        });
    }
}

impl Vars {
    pub fn new() -> Vars {
        let spare = SPARE
            .try_with(|spare| spare.try_borrow_mut().ok().and_then(|mut s| s.take()))
            .ok()
            .flatten();
        let (text, entries) =
            spare.unwrap_or_else(|| (String::with_capacity(1024), Vec::with_capacity(24)));
        Vars { text, entries }
    }

    /// Sets `name`, replacing an earlier value.
    pub fn set<'a>(&mut self, name: &'static str, value: impl Into<VarValue<'a>>) -> &mut Vars {
        let slot = match value.into() {
            VarValue::Str(s) => {
                let (a, b) = self.push(s);
                Slot::Str(a, b)
            }
            VarValue::Raw(s) => {
                let (a, b) = self.push(s);
                Slot::Raw(a, b)
            }
            VarValue::Int(n) => {
                let start = self.text.len();
                push_int(&mut self.text, n);
                Slot::Raw(offset(start), offset(self.text.len()))
            }
            VarValue::Json(Value::String(s)) => {
                let (a, b) = self.push(&s);
                Slot::Str(a, b)
            }
            VarValue::Json(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                let start = self.text.len();
                // A scalar's JSON is short and cannot fail to serialise.
                let _ = std::fmt::Write::write_fmt(&mut self.text, format_args!("{v}"));
                Slot::Raw(offset(start), offset(self.text.len()))
            }
            VarValue::Json(v) => Slot::Json(v),
        };
        self.put(name, slot)
    }

    /// Sets `name` to the text `write` appends: a digest, a date or a code
    /// written straight into the buffer, with no string of its own.
    pub fn set_with(&mut self, name: &'static str, write: impl FnOnce(&mut String)) -> &mut Vars {
        let start = self.text.len();
        write(&mut self.text);
        let slot = Slot::Str(offset(start), offset(self.text.len()));
        self.put(name, slot)
    }

    fn push(&mut self, s: &str) -> (u32, u32) {
        let start = self.text.len();
        self.text.push_str(s);
        (offset(start), offset(self.text.len()))
    }

    /// Adds the value; a lookup reads the newest entry of a name, so a
    /// second `set` replaces the first without a search here.
    fn put(&mut self, name: &'static str, slot: Slot) -> &mut Vars {
        self.entries.push((name_hash(name), name, slot));
        self
    }

    /// The value of `name`, as the template would write it (the unit
    /// tests' view of what was set).
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<Value> {
        let slot = self.find_hashed(name_hash(name), name)?;
        Some(match self.resolve(slot) {
            Resolved::Str(s) => Value::String(s.to_string()),
            Resolved::Raw(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            Resolved::Json(v) => v.clone(),
        })
    }

    #[inline]
    fn find_hashed(&self, hash: u64, name: &str) -> Option<&Slot> {
        self.entries
            .iter()
            .rev()
            .find(|(h, n, _)| *h == hash && *n == name)
            .map(|(_, _, v)| v)
    }

    #[inline]
    fn lookup(&self, name: &Name) -> Option<Resolved<'_>> {
        self.find_hashed(name.hash, &name.text)
            .map(|slot| self.resolve(slot))
    }

    #[inline]
    fn resolve<'s>(&'s self, slot: &'s Slot) -> Resolved<'s> {
        let text = |a: u32, b: u32| self.text.get(a as usize..b as usize).unwrap_or("");
        match slot {
            Slot::Str(a, b) => Resolved::Str(text(*a, *b)),
            Slot::Raw(a, b) => Resolved::Raw(text(*a, *b)),
            Slot::Json(v) => Resolved::Json(v),
        }
    }
}

/// Values longer than this in all are reserved for whole before a render.
const BIG_VALUES: usize = 1024;

/// Decimal digits of `n`.
fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut v = n.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8.
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or("0"));
}

/// A buffer offset; values are a few KB at most (a PDF page in base64).
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

enum Resolved<'a> {
    Str(&'a str),
    Raw(&'a str),
    Json(&'a Value),
}

/// Names are a few bytes, and this only has to tell them apart fast: their
/// length and their first and last eight bytes, mixed (a match is then
/// compared whole). Constant time: a response's twenty-odd `set`s each
/// hashed their name byte by byte, a twentieth of a request's instructions.
#[inline]
fn name_hash(name: &str) -> u64 {
    let b = name.as_bytes();
    let word = |w: &[u8]| w.try_into().map_or(0, u64::from_le_bytes);
    let (head, tail) = match b.len() {
        8.. => (word(&b[..8]), word(&b[b.len() - 8..])),
        n => {
            let mut short = [0u8; 8];
            short[..n].copy_from_slice(b);
            (u64::from_le_bytes(short), 0)
        }
    };
    // Each part is mixed in after the last is spread over every bit: xored
    // straight together, one part could cancel a difference in another (a
    // length one apart undoing a first byte one apart), and a multiply
    // alone carries a difference in the top byte nowhere else.
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |x: u64| {
        let x = x.wrapping_mul(K);
        x ^ (x >> 32)
    };
    mix(mix(mix(b.len() as u64) ^ head) ^ tail)
}

/// A placeholder name, hashed once at compile time.
#[derive(Debug, Clone, PartialEq)]
struct Name {
    text: String,
    hash: u64,
}

impl Name {
    fn new(text: &str) -> Name {
        Name {
            text: text.to_string(),
            hash: name_hash(text),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// Bytes copied as they are.
    Literal(Vec<u8>),
    /// A whole JSON value.
    Value(Name),
    /// A value written inside a JSON string (escaped, without quotes).
    Inline(Name),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Compiles a JSON body template.
    pub fn json(value: &Value) -> Template {
        let mut b = Builder::default();
        b.value(value);
        b.finish()
    }

    /// Compiles a plain-text template (header values): placeholders are
    /// written as text, nothing is escaped.
    pub fn text(s: &str) -> Template {
        let mut b = Builder::default();
        for seg in segments(s) {
            match seg {
                Segment::Text(t) => b.lit(t.as_bytes()),
                Segment::Var(name) => {
                    b.flush();
                    b.parts.push(Part::Value(Name::new(name)));
                }
            }
        }
        b.finish()
    }

    /// The placeholder names used, for load-time validation.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Value(n) | Part::Inline(n) => Some(n.text.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Renders as JSON; a variable that was not set renders as `null`
    /// (or nothing, inside a string).
    pub fn render(&self, vars: &Vars) -> Vec<u8> {
        // Room for the literals and short values; when the values hold
        // kilobytes (a PDF in base64), room for them too, so the body is
        // not copied as it grows.
        let big = if vars.text.len() > BIG_VALUES {
            vars.text.len()
        } else {
            0
        };
        let mut out = Vec::with_capacity(self.size_hint() + big);
        for part in &self.parts {
            match part {
                Part::Literal(b) => out.extend_from_slice(b),
                Part::Value(name) => match vars.lookup(name) {
                    Some(Resolved::Str(s)) => write_string(&mut out, s),
                    Some(Resolved::Raw(raw)) => out.extend_from_slice(raw.as_bytes()),
                    Some(Resolved::Json(v)) => write_json(&mut out, v),
                    None => out.extend_from_slice(b"null"),
                },
                Part::Inline(name) => match vars.lookup(name) {
                    Some(Resolved::Str(s)) => write_escaped(&mut out, s),
                    Some(Resolved::Raw("null")) | Some(Resolved::Json(Value::Null)) | None => {}
                    Some(Resolved::Raw(raw)) => write_escaped(&mut out, raw),
                    Some(Resolved::Json(other)) => write_escaped(&mut out, &other.to_string()),
                },
            }
        }
        out
    }

    /// Renders a text template.
    pub fn render_text(&self, vars: &Vars) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(b) => out.push_str(&String::from_utf8_lossy(b)),
                Part::Value(name) | Part::Inline(name) => match vars.lookup(name) {
                    Some(Resolved::Str(s)) => out.push_str(s),
                    Some(Resolved::Raw("null")) | Some(Resolved::Json(Value::Null)) | None => {}
                    Some(Resolved::Raw(raw)) => out.push_str(raw),
                    Some(Resolved::Json(other)) => out.push_str(&other.to_string()),
                },
            }
        }
        out
    }

    fn size_hint(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Literal(b) => b.len(),
                _ => 24,
            })
            .sum()
    }
}

#[derive(Default)]
struct Builder {
    parts: Vec<Part>,
    buf: Vec<u8>,
}

impl Builder {
    fn lit(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.parts
                .push(Part::Literal(std::mem::take(&mut self.buf)));
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.lit(b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.lit(b",");
                    }
                    self.value(item);
                }
                self.lit(b"]");
            }
            Value::Object(map) => {
                self.lit(b"{");
                for (i, (k, item)) in map.iter().enumerate() {
                    if i > 0 {
                        self.lit(b",");
                    }
                    let mut key = Vec::new();
                    write_json(&mut key, &Value::String(k.clone()));
                    self.lit(&key);
                    self.lit(b":");
                    self.value(item);
                }
                self.lit(b"}");
            }
            other => {
                let mut scalar = Vec::new();
                write_json(&mut scalar, other);
                self.lit(&scalar);
            }
        }
    }

    fn string(&mut self, s: &str) {
        let segs = segments(s);
        if let [Segment::Var(name)] = segs.as_slice() {
            self.flush();
            self.parts.push(Part::Value(Name::new(name)));
            return;
        }
        self.lit(b"\"");
        for seg in segs {
            match seg {
                Segment::Text(t) => {
                    let mut esc = Vec::new();
                    write_escaped(&mut esc, t);
                    self.lit(&esc);
                }
                Segment::Var(name) => {
                    self.flush();
                    self.parts.push(Part::Inline(Name::new(name)));
                }
            }
        }
        self.lit(b"\"");
    }

    fn finish(mut self) -> Template {
        self.flush();
        Template { parts: self.parts }
    }
}

/// Whether `s` is what a placeholder may name: letters, digits, `_`, `.`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
}

/// The first placeholder in `s` written wrong, from its `{{` to where it
/// ends: a word in braces that is no name (`{{first-name}}`), none
/// (`{{}}`), one left open (`{{curp}`, `{{curp`) or in three braces
/// (`{{{curp}}}`). Each would go out as its text without a word.
/// Braces around words and spaces (`{{Nombre Campo}}`, as RENAPO's
/// messages name a field) are text, as any `{{` before other characters.
pub fn misspelled_placeholder(s: &str) -> Option<&str> {
    let word_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut from = 0;
    while let Some(i) = s[from..].find("{{") {
        let start = from + i;
        // White space inside the braces, as `segments` trims it.
        let body = s[start + 2..].trim_start();
        let word = &body[..body.find(|c| !word_char(c)).unwrap_or(body.len())];
        let rest = body[word.len()..].trim_start();
        // The offset in `s` of `rest`'s first `n` bytes' end.
        let upto = |n: usize| &s[start..s.len() - rest.len() + n];
        if rest.starts_with("}}") {
            if is_name(word) {
                from = s.len() - rest.len() + 2;
                continue;
            }
            return Some(upto(2));
        }
        if s[start + 2..].starts_with('{') {
            let open = &s[start..];
            let close = open.find("}}").map_or(open.len(), |c| c + 2);
            let more = open[close..].len() - open[close..].trim_start_matches('}').len();
            return Some(&open[..close + more]);
        }
        if !word.is_empty() && rest.starts_with('}') {
            return Some(upto(1));
        }
        // Left open at the end: to the word's end (a block scalar's last
        // line break is not the placeholder's).
        if !word.is_empty() && rest.is_empty() {
            return Some(&s[start..s.len() - body.len() + word.len()]);
        }
        from = start + 2;
    }
    None
}

enum Segment<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits `a {{x}} b` into text and placeholder names. A `{{` without its
/// `}}`, or with something other than a name inside, stays text.
fn segments(s: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    // The next `}}` (its offset in `s`), kept while `{{`s that open no name
    // are passed over: searched for again from each, a string of many `{{`
    // cost the square of its length.
    let mut close: Option<usize> = None;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let from = s.len() - after.len();
        let end = match close.filter(|&c| c >= from) {
            Some(c) => c - from,
            None => match after.find("}}") {
                Some(end) => end,
                None => break,
            },
        };
        close = Some(from + end);
        let name = after[..end].trim();
        if !is_name(name) {
            out.push(Segment::Text(&rest[..start + 2]));
            rest = after;
            continue;
        }
        if start > 0 {
            out.push(Segment::Text(&rest[..start]));
        }
        out.push(Segment::Var(name));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(Segment::Text(rest));
    }
    out
}

fn write_json(out: &mut Vec<u8>, v: &Value) {
    match v {
        // Most holes are strings: written straight into the output rather
        // than through serde_json's serializer.
        Value::String(s) => write_string(out, s),
        // Serialising a `Value` into a Vec cannot fail.
        other => {
            let _ = serde_json::to_writer(out, other);
        }
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_escaped(out, s);
    out.push(b'"');
}

/// Whether any byte is a control character, `"` or `\\`. The test folds
/// without stopping early, so the compiler runs it on whole vectors (a
/// base64 PDF is kilobytes that never need an escape).
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |seen, &b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Writes `s` as the inside of a JSON string: `"` and `\` escaped, control
/// characters as `\n`, `\t`… or `\u00XX`, everything else as it is.
fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Almost every value (names, codes, base64) needs no escape at all:
    // one pass that only tests, then one copy.
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(t: &Value, vars: &Vars) -> Value {
        serde_json::from_slice(&Template::json(t).render(vars)).unwrap()
    }

    #[test]
    fn a_placeholder_written_wrong_is_found_and_words_in_braces_are_not() {
        for (s, found) in [
            ("{{first-name}}", Some("{{first-name}}")),
            ("a {{}} b", Some("{{}}")),
            ("{{ }}", Some("{{ }}")),
            ("x {{curp} y", Some("{{curp}")),
            ("x {{curp", Some("{{curp")),
            ("<p>x {{curp\n", Some("{{curp")),
            ("<p>x {{ curp \n", Some("{{ curp")),
            ("{{{curp}}}", Some("{{{curp}}}")),
            ("{{curp}} and {{ n-1 }}", Some("{{ n-1 }}")),
            ("{{curp}}", None),
            ("{{ first-name\t}}", Some("{{ first-name\t}}")),
            ("{{\tcurp\t}}", None),
            ("{{ curp }}-{{n}}", None),
            ("{{Nombre Campo}} No cumple", None),
            ("}}{{ {{Nombre Campo}}", None),
            ("{{<{{<}}", None),
            ("{{curp and more}}", None),
            ("{{\"a\": 1}}", None),
            ("{{", None),
            ("", None),
        ] {
            assert_eq!(misspelled_placeholder(s), found, "{s}");
        }
    }

    #[test]
    fn whole_values_and_interpolation() {
        let mut vars = Vars::new();
        vars.set("curp", "PXNE660720HMCXTN06")
            .set("n", 3)
            .set("obj", json!({"a": [1, 2]}))
            .set("quote", "say \"hi\"\n");
        let t = json!({
            "curp": "{{curp}}",
            "n": "{{n}}",
            "obj": "{{ obj }}",
            "msg": "CURP {{curp}} has {{n}} and {{quote}}",
            "missing": "{{nope}}",
            "fixed": [true, null, 1.5, "{{ not a name }}"]
        });
        assert_eq!(
            render(&t, &vars),
            json!({
                "curp": "PXNE660720HMCXTN06",
                "n": 3,
                "obj": {"a": [1, 2]},
                "msg": "CURP PXNE660720HMCXTN06 has 3 and say \"hi\"\n",
                "missing": null,
                "fixed": [true, null, 1.5, "{{ not a name }}"]
            })
        );
    }

    #[test]
    fn keeps_key_order_and_lists_variables() {
        let t = Template::json(&json!({"z": 1, "a": "{{x}}", "m": "v{{y}}"}));
        assert_eq!(
            String::from_utf8(t.render(&Vars::new())).unwrap(),
            r#"{"z":1,"a":null,"m":"v"}"#
        );
        assert_eq!(t.variables().collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn escaping_agrees_with_serde_json() {
        for s in [
            "plain",
            "quote \" back \\ slash",
            "line\nbreak\ttab\r",
            "\u{0}\u{1f}\u{8}\u{c}",
            "ñandú 漢字 😀",
            "",
        ] {
            let mut ours = Vec::new();
            write_json(&mut ours, &Value::String(s.to_string()));
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn values_kept_in_one_buffer() {
        let mut vars = Vars::new();
        vars.set("a", "first")
            .set("n", -42)
            .set("big", u64::MAX)
            .set("yes", true)
            .set("none", None::<&str>)
            .set_with("w", |out| out.push_str("written"))
            .set("a", String::from("second"));
        let t = Template::json(&json!({
            "a": "{{a}}", "n": "{{n}}", "big": "{{big}}", "yes": "{{yes}}",
            "none": "{{none}}", "w": "{{w}}", "in": "{{n}}/{{none}}/{{yes}}"
        }));
        assert_eq!(
            String::from_utf8(t.render(&vars)).unwrap(),
            r#"{"a":"second","n":-42,"big":18446744073709551615,"yes":true,"none":null,"w":"written","in":"-42//true"}"#
        );
        assert_eq!(vars.get("a"), Some(json!("second")));
        assert_eq!(vars.get("n"), Some(json!(-42)));
        assert_eq!(vars.get("missing"), None);
    }

    #[test]
    fn escape_check_finds_every_byte_that_needs_one() {
        for len in 0..40 {
            let plain = "aZ09 ñ~".repeat(6);
            let plain = &plain[..plain
                .char_indices()
                .nth(len)
                .map_or(plain.len(), |(i, _)| i)];
            assert!(!needs_escape(plain.as_bytes()), "{plain:?}");
            for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                for at in 0..plain.len() {
                    if !plain.is_char_boundary(at) {
                        continue;
                    }
                    let mut s = plain.as_bytes().to_vec();
                    s.insert(at, special);
                    assert!(needs_escape(&s), "{special:#x} at {at} in {plain:?}");
                }
            }
        }
    }

    #[test]
    fn a_new_vars_starts_empty_even_on_reused_buffers() {
        let mut first = Vars::new();
        first.set("a", "left over").set("n", 1);
        drop(first);
        let second = Vars::new();
        assert_eq!(second.get("a"), None);
        assert_eq!(second.get("n"), None);
        assert_eq!(
            String::from_utf8(Template::json(&json!({"a": "{{a}}"})).render(&second)).unwrap(),
            r#"{"a":null}"#
        );
    }

    #[test]
    fn names_alike_in_length_and_ends_stay_apart() {
        // Same length, same first and last eight bytes: the same hash, so
        // only the whole comparison tells them apart.
        let (a, b) = ("abcdefgh_1_ijklmnop", "abcdefgh_2_ijklmnop");
        assert_eq!(name_hash(a), name_hash(b));
        let mut vars = Vars::new();
        vars.set("", "empty")
            .set("x", 1)
            .set("xy", 2)
            .set(a, "one")
            .set(b, "two");
        let t = json!({"a": format!("{{{{{a}}}}}"), "b": format!("{{{{{b}}}}}"), "x": "{{x}}", "xy": "{{xy}}"});
        assert_eq!(
            render(&t, &vars),
            json!({"a": "one", "b": "two", "x": 1, "xy": 2})
        );
        assert_eq!(vars.get(""), Some(json!("empty")));
        assert_ne!(name_hash("x"), name_hash("xy"));
        assert_ne!(name_hash("names"), name_hash("last_name"));
    }

    #[test]
    fn text_templates() {
        let mut vars = Vars::new();
        vars.set("id", "abc").set("n", 7);
        assert_eq!(
            Template::text("x-{{id}}-{{n}}").render_text(&vars),
            "x-abc-7"
        );
        assert_eq!(Template::text("{{").render_text(&vars), "{{");
    }

    #[test]
    fn a_dropped_vars_lends_its_buffers_to_the_next() {
        let mut first = Vars::new();
        first.set("a", "x");
        let warm = first.text.as_ptr();
        drop(first);
        let second = Vars::new();
        assert_eq!(second.text.as_ptr(), warm, "the buffer is reused");
        // A buffer that holds nothing does not push out a warm one.
        drop(Vars {
            text: String::new(),
            entries: Vec::new(),
        });
        drop(second);
        assert_eq!(Vars::new().text.as_ptr(), warm);
        // A buffer of the bound is kept; one larger is freed.
        drop(Vars {
            text: String::with_capacity(KEEP_AT_MOST),
            entries: Vec::new(),
        });
        let kept = Vars::new();
        assert_eq!(kept.text.capacity(), KEEP_AT_MOST);
        drop(Vars {
            text: String::with_capacity(KEEP_AT_MOST + 1),
            entries: Vec::new(),
        });
        assert_eq!(Vars::new().text.capacity(), 1024, "a fresh buffer");
        drop(kept);
    }

    #[test]
    fn integers_at_their_edges() {
        let mut vars = Vars::new();
        vars.set("zero", 0)
            .set("min", i64::MIN)
            .set("max", i64::MAX)
            .set("nine", -9);
        let t = Template::json(&json!(["{{zero}}", "{{min}}", "{{max}}", "{{nine}}"]));
        assert_eq!(
            String::from_utf8(t.render(&vars)).unwrap(),
            "[0,-9223372036854775808,9223372036854775807,-9]"
        );
    }

    #[test]
    fn names_hash_apart() {
        // Every name of one or two characters, and long names that share
        // their first eight bytes, their last eight, or both but a middle.
        let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').chain(['_', '.']).collect();
        let mut names: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
        for a in &alphabet {
            for b in &alphabet {
                names.push(format!("{a}{b}"));
            }
        }
        for len in 8..=24 {
            for c in &alphabet {
                let mid = "m".repeat(len - 8);
                names.push(format!("{c}prefix_{mid}"));
                names.push(format!("prefix_{mid}{c}"));
                if len >= 17 {
                    // The same ends, a different length.
                    names.push(format!("prefix_{}{c}_suffix", &mid[9..]));
                }
            }
        }
        names.sort();
        names.dedup();
        let mut seen = std::collections::HashMap::new();
        for n in &names {
            if let Some(other) = seen.insert(name_hash(n), n) {
                panic!("{n:?} and {other:?}");
            }
        }
    }

    #[test]
    fn a_render_reserves_its_room_once() {
        // Literals only: exactly their size.
        let t = Template::json(&json!([1]));
        let out = t.render(&Vars::new());
        assert_eq!((out.len(), out.capacity()), (3, 3));
        // Kilobytes of values: room for them up front, not doubled as the
        // body grows.
        let mut vars = Vars::new();
        vars.set("pdf", "A".repeat(4096));
        let out = Template::json(&json!({"pdf": "{{pdf}}"})).render(&vars);
        assert_eq!(out.len(), 4106);
        assert!(out.capacity() < out.len() + 64, "{}", out.capacity());
    }

    #[test]
    fn two_bytes_to_escape_are_both_seen() {
        for a in [b'"', b'\\', 0x00, b'\n'] {
            for b in [b'"', b'\\', 0x00, b'\n'] {
                assert!(needs_escape(&[a, b]), "{a:#x} {b:#x}");
                assert!(needs_escape(&[b'x', a, b'y', b]), "{a:#x} {b:#x}");
            }
        }
    }

    /// `segments` without its remembered `}}`: each `{{` looks for its own.
    fn segments_plain(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            let name = after[..end].trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            {
                out.push((false, &rest[..start + 2]));
                rest = after;
                continue;
            }
            if start > 0 {
                out.push((false, &rest[..start]));
            }
            out.push((true, name));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() || out.is_empty() {
            out.push((false, rest));
        }
        out
    }

    #[test]
    fn segments_agree_with_a_search_per_brace() {
        let pieces = ["{{", "}}", "a", " ", "{", "}", "-"];
        let mut strings = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
                .collect();
            strings.extend(longer);
            strings.sort();
            strings.dedup();
        }
        for s in &strings {
            let ours: Vec<(bool, &str)> = segments(s)
                .into_iter()
                .map(|seg| match seg {
                    Segment::Text(t) => (false, t),
                    Segment::Var(n) => (true, n),
                })
                .collect();
            assert_eq!(ours, segments_plain(s), "{s:?}");
        }
    }
}
