//! Response templates, compiled once at load time into literal bytes and holes.
//!
//! A template is written in YAML as the JSON value it produces. A string that
//! is exactly `{{name}}` is a hole for a whole JSON value (a number, an object,
//! `null`…); a string that only contains `{{name}}` among other text is
//! interpolated. Compiling ahead of time means a request only copies literal
//! runs and writes its variables: no YAML, no tree walk, no re-serialising.

use serde_json::Value;

/// Values a provider fills in for one response.
#[derive(Debug, Default, Clone)]
pub struct Vars {
    // Each name with its hash: a render looks up every hole, and comparing
    // hashes first keeps that from being a string comparison per entry.
    entries: Vec<(u64, &'static str, Value)>,
}

impl Vars {
    pub fn new() -> Vars {
        Vars {
            entries: Vec::with_capacity(24),
        }
    }

    /// Sets `name`, replacing an earlier value.
    pub fn set(&mut self, name: &'static str, value: impl Into<Value>) -> &mut Vars {
        let value = value.into();
        let hash = name_hash(name);
        match self
            .entries
            .iter_mut()
            .find(|(h, n, _)| *h == hash && *n == name)
        {
            Some(slot) => slot.2 = value,
            None => self.entries.push((hash, name, value)),
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.get_hashed(name_hash(name), name)
    }

    fn get_hashed(&self, hash: u64, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(h, n, _)| *h == hash && *n == name)
            .map(|(_, _, v)| v)
    }

    fn lookup(&self, name: &Name) -> Option<&Value> {
        self.get_hashed(name.hash, &name.text)
    }
}

/// FNV-1a: names are a few bytes, and this only has to tell them apart fast.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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
        b.finish_text()
    }

    /// The placeholder names used, for load-time validation.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Value(n) | Part::Inline(n) => Some(n.text.as_str()),
            Part::Literal(_) => None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Renders as JSON; a variable that was not set renders as `null`
    /// (or nothing, inside a string).
    pub fn render(&self, vars: &Vars) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_hint());
        for part in &self.parts {
            match part {
                Part::Literal(b) => out.extend_from_slice(b),
                Part::Value(name) => match vars.lookup(name) {
                    Some(v) => write_json(&mut out, v),
                    None => out.extend_from_slice(b"null"),
                },
                Part::Inline(name) => match vars.lookup(name) {
                    Some(Value::String(s)) => write_escaped(&mut out, s),
                    Some(Value::Null) | None => {}
                    Some(other) => write_escaped(&mut out, &other.to_string()),
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
                    Some(Value::String(s)) => out.push_str(s),
                    Some(Value::Null) | None => {}
                    Some(other) => out.push_str(&other.to_string()),
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

    fn finish_text(self) -> Template {
        self.finish()
    }
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
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        let is_name = !name.is_empty()
            && name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
        if !is_name {
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
        Value::String(s) => {
            out.push(b'"');
            write_escaped(out, s);
            out.push(b'"');
        }
        // Serialising a `Value` into a Vec cannot fail.
        other => {
            let _ = serde_json::to_writer(out, other);
        }
    }
}

/// Writes `s` as the inside of a JSON string: `"` and `\` escaped, control
/// characters as `\n`, `\t`… or `\u00XX`, everything else as it is.
fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Almost every value (names, codes, base64) needs no escape at all:
    // one pass that only tests, then one copy.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
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
    fn text_templates() {
        let mut vars = Vars::new();
        vars.set("id", "abc").set("n", 7);
        assert_eq!(
            Template::text("x-{{id}}-{{n}}").render_text(&vars),
            "x-abc-7"
        );
        assert_eq!(Template::text("{{").render_text(&vars), "{{");
    }
}
