//! The owned request: built once at the edge from hyper's parts and the body
//! the server read under its limit, the body parsed (JSON, urlencoded or
//! multipart). Everything after this sees `&Request`.

use std::borrow::Cow;

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use serde_json::Value;

/// The parsed body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Value),
    /// Urlencoded or multipart fields, in order.
    Form(Vec<(String, String)>),
    /// The body could not be read as its content type says; the reason.
    Invalid(String),
    /// A form (urlencoded or multipart) that could not be read; the
    /// reason. Apart from [`Body::Invalid`] for the admin API, which reads
    /// no form, readable or not.
    BadForm(String),
    /// A content type no body is read in (`text/xml`); the type, lower
    /// case and cut as an error repeats a value.
    Unsupported(String),
}

impl Body {
    /// Why a provider cannot take this body as its request: it could not
    /// be read, or it is JSON but not an object. Every endpoint reads an
    /// object, and another JSON value is what the providers' JSON readers
    /// refuse to bind to one, as they refuse bad syntax (a JSON text
    /// encoded twice is a string: `requests.post(url,
    /// json=json.dumps(data))`).
    pub fn problem(&self) -> Option<Cow<'_, str>> {
        let what = match self {
            Body::Invalid(why) | Body::BadForm(why) => return Some(why.into()),
            Body::Unsupported(content_type) => {
                return Some(format!(
                    "unsupported content type '{content_type}': send application/json, application/x-www-form-urlencoded or multipart/form-data"
                ).into())
            }
            Body::Json(Value::Object(_)) | Body::Empty | Body::Form(_) => return None,
            Body::Json(Value::Array(_)) => "array",
            Body::Json(Value::String(_)) => {
                return Some(
                    "the body is a JSON string, not the JSON object the endpoint reads (was the JSON encoded twice?)"
                        .into(),
                )
            }
            Body::Json(Value::Number(_)) => "number",
            Body::Json(Value::Bool(_)) => "boolean",
            Body::Json(Value::Null) => "null",
        };
        Some(format!("the body is a JSON {what}, not the JSON object the endpoint reads").into())
    }

    /// Why the admin API cannot take this body as the JSON object its
    /// routes read (none for an object, or for no body): it reads no form,
    /// so the provider's advice to send one is not given.
    pub fn admin_problem(&self) -> Option<Cow<'_, str>> {
        const SEND: &str =
            "the admin API reads JSON: send a JSON object as the body (application/json)";
        match self {
            Body::Json(Value::Object(_)) | Body::Empty => None,
            Body::Json(_) => Some("send a JSON object as the body".into()),
            Body::Form(_) | Body::BadForm(_) => Some(format!("the body is a form; {SEND}").into()),
            Body::Unsupported(content_type) => {
                Some(format!("unsupported content type '{content_type}'; {SEND}").into())
            }
            Body::Invalid(why) => Some(why.into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    /// The raw query string, without `?`.
    pub query_string: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub raw_body: Bytes,
    pub body: Body,
    /// Whether any header is one of the sandbox's own: most requests carry
    /// none, and then looking each of them up is skipped.
    sandbox_headers: bool,
}

/// A UTF-8 byte-order mark, which Windows tools write before text: not
/// part of the text.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the names of the sandbox's own headers start with (SPEC §2).
pub const SANDBOX_HEADER_PREFIX: &str = "x-sandbox-";

/// A field of the body, as a provider reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    Missing,
    Null,
    Str(&'a str),
    /// A JSON number, as its text. (An integer sent with a leading zero,
    /// `"state": 01`, is not JSON; [`parse_json`] reads it as the string
    /// `"01"`.)
    Number(String),
    /// Anything else (bool, array, object).
    Other(&'a Value),
}

impl Field<'_> {
    /// The field as text when it is a string or a number.
    pub fn text(&self) -> Option<String> {
        match self {
            Field::Str(s) => Some(s.to_string()),
            Field::Number(n) => Some(n.clone()),
            _ => None,
        }
    }

    /// Present with a non-blank value.
    pub fn is_present(&self) -> bool {
        match self {
            Field::Str(s) => !s.trim().is_empty(),
            Field::Number(_) | Field::Other(_) => true,
            Field::Missing | Field::Null => false,
        }
    }
}

impl Request {
    /// Builds the owned request from its parts.
    pub fn new(method: Method, uri: &hyper::Uri, headers: HeaderMap, raw_body: Bytes) -> Request {
        let query_string = uri.query().unwrap_or("").to_string();
        let query = parse_urlencoded(query_string.as_bytes());
        // A byte past ASCII (in a boundary, say) does not unmake the type.
        let content_type = headers
            .get(hyper::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .unwrap_or_default();
        let mut body = parse_body(&content_type, &raw_body);
        // A compressed body is not decoded (the providers take none): said
        // as what it is, not as JSON that does not parse or a form without
        // its fields. Compressed bytes never read as JSON, so a JSON body
        // (the common case) needs no look at the header.
        // A transfer coding before `chunked` (`gzip, chunked`: hyper takes
        // the chunks off and leaves the gzip) is the same.
        if !matches!(body, Body::Json(_) | Body::Empty) {
            if let Some((header, coding)) = compression(&headers) {
                body = Body::Invalid(format!(
                    "the body is sent with {header} '{}', which is not accepted: send it uncompressed",
                    crate::engine::quoted(&coding)
                ));
            }
        }
        let sandbox_headers = headers
            .keys()
            .any(|k| k.as_str().starts_with(SANDBOX_HEADER_PREFIX));
        Request {
            method,
            path: uri.path().to_string(),
            query_string,
            query,
            headers,
            raw_body,
            body,
            sandbox_headers,
        }
    }

    /// A header as text even when it is not (bytes past ASCII read as
    /// UTF-8, the rest replaced): a credential sent with such bytes is a
    /// wrong credential, not a missing one.
    pub fn header_lossy(&self, name: &hyper::header::HeaderName) -> Option<Cow<'_, str>> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
    }

    /// The token of an `Authorization: Bearer TOKEN` header: the scheme's
    /// name in any case (RFC 9110 §11.1), the token without the spaces and
    /// tabs around it, read as [`Request::header_lossy`] reads.
    pub fn bearer(&self) -> Option<String> {
        let value = self.header_lossy(&hyper::header::AUTHORIZATION)?;
        let (scheme, token) = http_trim(&value).split_once([' ', '\t'])?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| http_trim(token).to_string())
    }

    /// One of the sandbox's own headers (its name starts with
    /// [`SANDBOX_HEADER_PREFIX`]), by a name parsed ahead of time.
    /// An empty (or blank) value is no header, for all of them alike: a test
    /// that templates `X-Sandbox-Scenario: $SCENARIO` sends one when unset.
    /// Written more than once, its first value that is not blank
    /// ([`Request::sandbox_header_problem`] refuses two that differ).
    pub fn sandbox_header(&self, name: &hyper::header::HeaderName) -> Option<&str> {
        debug_assert!(name.as_str().starts_with(SANDBOX_HEADER_PREFIX));
        if !self.sandbox_headers {
            return None;
        }
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .find(|v| !v.is_empty())
    }

    /// Why the sandbox's own headers cannot be read, if they cannot: a value
    /// that is not visible ASCII, or one header written twice with two
    /// values (which one was meant?). Ignoring either would answer as if
    /// the test had asked for something it did not.
    pub fn sandbox_header_problem(&self) -> Option<String> {
        if !self.sandbox_headers {
            return None;
        }
        // Each name once, and its values in one pass: a head may repeat a
        // header thousands of times (HTTP/2 compresses the copies away).
        self.headers
            .keys()
            .filter(|k| k.as_str().starts_with(SANDBOX_HEADER_PREFIX))
            .find_map(|name| self.sandbox_header_problem_of(name))
    }

    /// Why one of the sandbox's own headers cannot be read, if it cannot
    /// (see [`Request::sandbox_header_problem`]).
    pub fn sandbox_header_problem_of(&self, name: &hyper::header::HeaderName) -> Option<String> {
        if !self.sandbox_headers {
            return None;
        }
        let mut first: Option<&str> = None;
        for value in self.headers.get_all(name) {
            let Ok(value) = value.to_str() else {
                return Some(format!("{name}: the value must be ASCII text"));
            };
            let value = value.trim();
            match first {
                _ if value.is_empty() => {}
                None => first = Some(value),
                Some(f) if f != value => {
                    let (f, value) = (crate::engine::quoted(f), crate::engine::quoted(value));
                    return Some(format!(
                        "{name}: sent twice, as '{f}' and as '{value}': send one"
                    ));
                }
                Some(_) => {}
            }
        }
        None
    }

    /// A query parameter, by exact name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, ignoring the case of its name.
    pub fn query_ignore_case(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A top-level body field by exact name.
    pub fn field(&self, name: &str) -> Field<'_> {
        self.field_by(|k| k == name)
    }

    /// A top-level body field, ignoring the case of its name.
    pub fn field_ignore_case(&self, name: &str) -> Field<'_> {
        self.field_by(|k| k.eq_ignore_ascii_case(name))
    }

    fn field_by(&self, matches: impl Fn(&str) -> bool) -> Field<'_> {
        match &self.body {
            // The last key that matches: a JSON object's keys are unique,
            // but two may differ in case only, and the providers' decoders
            // (Go's, .NET's) assign the field once per key, the last winning.
            Body::Json(Value::Object(map)) => {
                match map.iter().rev().find(|(k, _)| matches(k)).map(|(_, v)| v) {
                    None => Field::Missing,
                    Some(Value::Null) => Field::Null,
                    Some(Value::String(s)) => Field::Str(s),
                    Some(Value::Number(n)) => Field::Number(n.to_string()),
                    Some(other) => Field::Other(other),
                }
            }
            // A form's first field of the name, as Go and .NET read one.
            Body::Form(fields) => match fields.iter().find(|(k, _)| matches(k)) {
                Some((_, v)) => Field::Str(v),
                None => Field::Missing,
            },
            _ => Field::Missing,
        }
    }
}

fn parse_body(content_type: &str, raw: &[u8]) -> Body {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Body::Empty;
    }
    let mime = content_type.split(';').next().unwrap_or("").trim();
    // Lower-case already, as clients send it: then borrowed, not copied.
    let mime: Cow<'_, str> = if mime.bytes().any(|b| b.is_ascii_uppercase()) {
        mime.to_ascii_lowercase().into()
    } else {
        mime.into()
    };
    // A byte-order mark before JSON (`curl -d @file.json` of a file saved
    // with one) is skipped by the JSON parser: seen through here too.
    let looks_like_json = raw
        .strip_prefix(BOM)
        .unwrap_or(raw)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    let form = |fields: Result<Vec<(String, String)>, String>| match fields {
        Ok(fields) => Body::Form(fields),
        Err(why) => Body::BadForm(why),
    };
    match &*mime {
        "application/x-www-form-urlencoded" if !looks_like_json => {
            form(Charset::of(content_type).and_then(|charset| form_fields(raw, charset)))
        }
        "multipart/form-data" => match boundary(content_type) {
            Ok(b) => form(
                Charset::of(content_type).and_then(|charset| multipart_fields(raw, &b, charset)),
            ),
            Err(why) => Body::BadForm(why),
        },
        // JSON, no content type, or `curl -d '{…}'` (which says urlencoded).
        "" | "application/json" | "text/json" | "application/x-www-form-urlencoded" => {
            parse_json(raw)
        }
        m if m.ends_with("+json") => parse_json(raw),
        "text/plain" if looks_like_json => parse_json(raw),
        other => Body::Unsupported(crate::engine::quoted(other).into_owned()),
    }
}

/// Parses JSON. When strict parsing fails, one more try forgives the two
/// flaws the providers' own documents print in their example requests
/// (a trailing comma, a number with a leading zero such as `"state": 01`,
/// read as the text `"01"` the client typed), so that every documented
/// example is accepted as printed.
pub fn parse_json(sent: &[u8]) -> Body {
    // A UTF-8 byte-order mark, as some Windows clients send, is not JSON's
    // business.
    let raw = sent.strip_prefix(BOM).unwrap_or(sent);
    match serde_json::from_slice::<Value>(raw) {
        Ok(v) => Body::Json(v),
        Err(strict) => match std::str::from_utf8(raw)
            .ok()
            .and_then(forgive)
            .and_then(|s| serde_json::from_str(&s).ok())
        {
            Some(v) => Body::Json(v),
            None => Body::Invalid(
                not_utf8_json(raw, sent.len() - raw.len())
                    .unwrap_or_else(|| format!("the body is not valid JSON: {strict}")),
            ),
        },
    }
}

/// Why a JSON body that is not UTF-8 text is refused, saying so (serde's
/// "invalid unicode code point", or "key must be a string" for UTF-16,
/// named the symptom): JSON is UTF-8 whatever its content type says (RFC
/// 8259 §8.1). `None` for UTF-8 text. UTF-16 is told by its byte-order
/// mark or a NUL in its first two bytes (ASCII text in UTF-16 is valid
/// UTF-8, and a raw NUL is never JSON). `skipped` is the bytes of a UTF-8
/// byte-order mark before `raw`, counted in the offset told.
fn not_utf8_json(raw: &[u8], skipped: usize) -> Option<String> {
    let utf16 = raw.starts_with(&[0xFF, 0xFE])
        || raw.starts_with(&[0xFE, 0xFF])
        || raw.get(..2).is_some_and(|two| two.contains(&0));
    if utf16 {
        return Some(
            "the body is not valid JSON: it is UTF-16 text; JSON is sent in UTF-8 (RFC 8259)"
                .into(),
        );
    }
    let at = std::str::from_utf8(raw).err()?.valid_up_to();
    Some(format!(
        "the body is not valid JSON: byte 0x{:02X} at offset {} is not UTF-8 (Latin-1 text?); \
         JSON is sent in UTF-8 whatever its content type says (RFC 8259)",
        raw[at],
        at + skipped
    ))
}

/// Removes trailing commas and quotes integers with a leading zero outside
/// strings; `None` when there was nothing to forgive.
fn forgive(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' && i + 1 < b.len() {
                // The backslash and the whole character it escapes, which
                // may be more than one byte (`"\é"` is not JSON, but must
                // not cut a character in two).
                let len = 1 + utf8_len(b[i + 1]);
                out.push_str(&s[i..(i + len).min(b.len())]);
                i += len;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            let len = utf8_len(c);
            out.push_str(&s[i..(i + len).min(b.len())]);
            i += len;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                out.push('"');
                i += 1;
            }
            b',' => {
                // Trailing: a member or element before it, a closing bracket
                // after it. `{,}` and `[1,,]` stay what they are: not JSON.
                let next = b[i + 1..].iter().find(|x| !x.is_ascii_whitespace());
                let before = out.trim_end().bytes().next_back();
                let after_member = !matches!(before, None | Some(b'{' | b'[' | b','));
                if after_member && matches!(next, Some(b'}') | Some(b']')) {
                    changed = true;
                } else {
                    out.push(',');
                }
                i += 1;
            }
            b'0' if i + 1 < b.len() && b[i + 1].is_ascii_digit() && !prev_is_number(&out) => {
                let digits = b[i..].iter().take_while(|d| d.is_ascii_digit()).count();
                let end = i + digits;
                let next = b[end..].iter().find(|x| !x.is_ascii_whitespace());
                if next == Some(&b':') {
                    // A key typed as digits (`{01: "a"}`): not JSON, and not
                    // one of the documents' flaws.
                    return None;
                }
                if out.ends_with('-') || matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
                    // Part of a signed or fractional number: drop the
                    // leading zeros (`-07` is -7, `01.5` is 1.5).
                    while i + 1 < b.len() && b[i] == b'0' && b[i + 1].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    // The digits as typed, as text: `"birthMonth": 07` is
                    // the two digits `07` the field asks for.
                    out.push('"');
                    out.push_str(&s[i..end]);
                    out.push('"');
                    i = end;
                }
                changed = true;
            }
            _ => {
                let len = utf8_len(c);
                out.push_str(&s[i..(i + len).min(b.len())]);
                i += len;
            }
        }
    }
    changed.then_some(out)
}

fn prev_is_number(out: &str) -> bool {
    // Inside a number (`100`, `1.05`, `1e05`) a zero before a digit is not leading.
    out.bytes()
        .last()
        .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+'))
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Parses `a=1&b=x%20y` (also a query string); `+` is a space.
pub fn parse_urlencoded(raw: &[u8]) -> Vec<(String, String)> {
    raw.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let k = percent_decode(it.next().unwrap_or(b""));
            let v = percent_decode(it.next().unwrap_or(b""));
            (k, v)
        })
        .collect()
}

/// A urlencoded body's fields, their bytes read as `charset`: a field
/// that is not text in it is refused, not read with a replacement
/// character (which would make another name, so another CURP, of
/// `mar%EDa` sent in Latin-1 as UTF-8).
fn form_fields(raw: &[u8], charset: Charset) -> Result<Vec<(String, String)>, String> {
    // A UTF-8 form may start with a byte-order mark, as a file's does.
    let raw = match charset {
        Charset::Utf8 => raw.strip_prefix(BOM).unwrap_or(raw),
        _ => raw,
    };
    raw.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let key = decoded_bytes(it.next().unwrap_or(b""), true);
            let value = decoded_bytes(it.next().unwrap_or(b""), true);
            let key = charset.text(key).map_err(|key| not_text(&key, charset))?;
            let value = charset
                .text(value)
                .map_err(|_| not_text(key.as_bytes(), charset))?;
            Ok((key, value))
        })
        .collect()
}

/// The refusal of a form field whose bytes are not text in `charset`.
fn not_text(name: &[u8], charset: Charset) -> String {
    format!(
        "the form field '{}' is not {} text: send the form in UTF-8, or name the charset it is written in (charset=ISO-8859-1)",
        crate::engine::quoted(&String::from_utf8_lossy(name)),
        charset.name()
    )
}

/// The character set a form is written in: its content type's `charset`
/// parameter (a multipart part's own first), UTF-8 when none is named.
/// JSON is UTF-8 whatever its content type says (RFC 8259 §8.1).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Charset {
    Utf8,
    /// windows-1252, which the labels of ISO-8859-1 and US-ASCII name too
    /// (WHATWG Encoding, as browsers read them): the Latin-1 of a legacy
    /// client.
    Windows1252,
}

impl Charset {
    /// The charset a content type names; a refusal naming any other.
    fn of(content_type: &str) -> Result<Charset, String> {
        let Some(label) = header_param(content_type, "charset") else {
            return Ok(Charset::Utf8);
        };
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" | "unicode-1-1-utf-8" | "unicode11utf8" | "unicode20utf8"
            | "x-unicode20utf8" => Ok(Charset::Utf8),
            "ansi_x3.4-1968" | "ascii" | "cp1252" | "cp819" | "csisolatin1" | "ibm819"
            | "iso-8859-1" | "iso-ir-100" | "iso8859-1" | "iso88591" | "iso_8859-1"
            | "iso_8859-1:1987" | "l1" | "latin1" | "us-ascii" | "windows-1252" | "x-cp1252"
            // Python's codec names, which aiohttp's `FormData(charset=…)`
            // sends as written (no WHATWG label, but no other charset).
            | "latin-1" | "latin_1" => Ok(Charset::Windows1252),
            _ => Err(format!(
                "unsupported charset '{}': send the form in UTF-8 or ISO-8859-1",
                crate::engine::quoted(&label)
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Windows1252 => "windows-1252",
        }
    }

    /// `bytes` as text; the bytes back when they are not text in this
    /// charset (every byte is windows-1252 text).
    fn text(self, bytes: Vec<u8>) -> Result<String, Vec<u8>> {
        match self {
            Charset::Utf8 => String::from_utf8(bytes).map_err(|e| e.into_bytes()),
            Charset::Windows1252 => Ok(bytes.into_iter().map(windows_1252).collect()),
        }
    }
}

/// A windows-1252 byte's character: Latin-1 but for 0x80–0x9F, where the
/// five bytes windows-1252 leaves undefined are the C1 controls of their
/// value (WHATWG Encoding's index).
fn windows_1252(b: u8) -> char {
    const C1: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => C1[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// A form field or query value: `+` is a space, `%XX` a byte.
fn percent_decode(s: &[u8]) -> String {
    decode(s, true)
}

/// A path segment (a route parameter): `%XX` is a byte, `+` is itself, as
/// in any URL path (`%2F` is a slash inside the segment).
pub fn percent_decode_path(s: &str) -> String {
    decode(s.as_bytes(), false)
}

/// `s` with its `%XX` decoded, as bytes: what a URL's user info stands for
/// (a password need not be UTF-8).
pub fn percent_decode_bytes(s: &str) -> Vec<u8> {
    decoded_bytes(s.as_bytes(), false)
}

fn decode(s: &[u8], plus_is_space: bool) -> String {
    // Ids, CURPs and numbers: nothing encoded, one copy.
    if !s
        .iter()
        .any(|b| *b == b'%' || (plus_is_space && *b == b'+'))
    {
        return String::from_utf8_lossy(s).into_owned();
    }
    String::from_utf8_lossy(&decoded_bytes(s, plus_is_space)).into_owned()
}

fn decoded_bytes(s: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    s.get(i + 1).and_then(|c| hex(*c)),
                    s.get(i + 2).and_then(|c| hex(*c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// The compression a body is sent with, if any: a `Content-Encoding`
/// other than `identity`, or a transfer coding other than `chunked` (and
/// `identity`), as the header names it.
fn compression(headers: &HeaderMap) -> Option<(&'static str, String)> {
    let coded = |name: hyper::header::HeaderName, label: &'static str, plain: &[&str]| {
        let codings: Vec<String> = headers
            .get_all(name)
            .iter()
            .flat_map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split(',')
                    .map(|c| c.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|c| !c.is_empty() && !plain.iter().any(|p| c.eq_ignore_ascii_case(p)))
            .collect();
        (!codings.is_empty()).then(|| (label, codings.join(", ")))
    };
    coded(
        hyper::header::CONTENT_ENCODING,
        "content-encoding",
        &["identity"],
    )
    .or_else(|| {
        coded(
            hyper::header::TRANSFER_ENCODING,
            "transfer-encoding",
            &["identity", "chunked"],
        )
    })
}

/// The longest multipart boundary read: RFC 2046 allows 70 characters,
/// and clients keep well within it.
const MAX_BOUNDARY: usize = 200;

fn boundary(content_type: &str) -> Result<String, String> {
    match header_param(content_type, "boundary") {
        Some(b) if b.len() > MAX_BOUNDARY => Err(format!(
            "multipart/form-data with a boundary of {} bytes: at most {MAX_BOUNDARY} are read (RFC 2046 allows 70)",
            b.len()
        )),
        Some(b) if !b.is_empty() => Ok(b),
        _ => Err("multipart/form-data without a boundary".into()),
    }
}

/// `s` without the spaces and tabs around it, the white space HTTP strips
/// from a header value (a Unicode space is part of the value).
pub fn http_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Whether a header can carry `value` as it is: visible ASCII, spaces and
/// tabs, with no space or tab around it (HTTP would strip them) and not
/// empty.
pub fn sendable_header_value(value: &str) -> bool {
    !value.is_empty()
        && http_trim(value).len() == value.len()
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// Parses the text fields of a multipart/form-data body (RFC 7578). File
/// parts are kept by field name with their content as lossy text.
///
/// A delimiter is the boundary's text at the start of a line (RFC 2046
/// §5.1.1), followed by `--` (the close), or by spaces and tabs and the
/// line's end; the same text inside a line, or followed by anything else,
/// is part of a value. The body's first delimiter line sets its line
/// break: CRLF, or (a hand-written body) a bare LF, in which case a CRLF
/// before a delimiter is a line break too, as in one typed on Windows.
pub fn parse_multipart(raw: &[u8], boundary: &str) -> Result<Vec<(String, String)>, String> {
    Ok(multipart_parts(raw, boundary)?
        .into_iter()
        .map(|part| {
            (
                part.name,
                String::from_utf8_lossy(part.content).into_owned(),
            )
        })
        .collect())
}

/// A multipart body's fields, read as [`parse_multipart`] reads them, in
/// the charsets they name: the headers in the form's `charset`, each
/// part's content in its own `Content-Type`'s charset or else the form's,
/// past a UTF-8 byte-order mark (as ASP.NET reads a section). A field that
/// is not text in it is refused, as a urlencoded field is; a file part (one
/// with a `filename`) that is not is no field (a scan is not text, and no
/// provider reads a file): a file that is text is one, as `curl -F
/// curp=@curp.txt` sends it.
fn multipart_fields(
    raw: &[u8],
    boundary: &str,
    charset: Charset,
) -> Result<Vec<(String, String)>, String> {
    let mut fields = Vec::new();
    for part in multipart_parts(raw, boundary)? {
        let head = charset
            .text(part.head.to_vec())
            .map_err(|_| not_text(part.name.as_bytes(), charset))?;
        // Read as UTF-8 already; in another charset, read again.
        let name = match charset {
            Charset::Utf8 => part.name,
            Charset::Windows1252 => disposition_name(&head).unwrap_or(part.name),
        };
        let disposition = part_header(&head, "content-disposition").unwrap_or_default();
        let is_file = header_param(&disposition, "filename").is_some()
            || header_param(&disposition, "filename*").is_some();
        let charset = match part_header(&head, "content-type") {
            Some(own) if header_param(&own, "charset").is_some() => Charset::of(&own)?,
            _ => charset,
        };
        let content = match charset {
            Charset::Utf8 => part.content.strip_prefix(BOM).unwrap_or(part.content),
            _ => part.content,
        };
        match charset.text(content.to_vec()) {
            Ok(value) => fields.push((name, value)),
            Err(_) if is_file => {}
            Err(_) => return Err(not_text(name.as_bytes(), charset)),
        }
    }
    Ok(fields)
}

/// A multipart body's part: its name (its headers read as UTF-8, lossily),
/// its headers and its content.
struct Part<'a> {
    name: String,
    head: &'a [u8],
    content: &'a [u8],
}

fn multipart_parts<'a>(raw: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, String> {
    const NOT_CLOSED: &str = "multipart body not closed by its boundary";
    let dash = format!("--{boundary}");
    let dash = dash.as_bytes();
    // The first delimiter, after a preamble if there is one.
    let mut at = 0;
    let mut delimiter = loop {
        let i = find(raw, dash, at).ok_or("multipart body without its boundary")?;
        if i == 0 || raw[i - 1] == b'\n' {
            if let Some(d) = delimiter_line(raw, i + dash.len()) {
                break d;
            }
        }
        at = i + 1;
    };
    let crlf = match delimiter {
        Delimiter::Part { crlf, .. } => crlf,
        _ => true,
    };
    let mut fields = Vec::new();
    loop {
        let pos = match delimiter {
            Delimiter::Close => return Ok(fields),
            Delimiter::Open => return Err(NOT_CLOSED.into()),
            Delimiter::Part { next, .. } => next,
        };
        // A blank line right away: a part with no headers, so no name (its
        // content is not to be read as its headers).
        if raw[pos..].starts_with(b"\r\n") || raw[pos..].starts_with(b"\n") {
            return Err("multipart part without a content-disposition name".into());
        }
        let (head_end, content_start) =
            blank_line(raw, pos).ok_or("multipart part without a blank line after its headers")?;
        let head = &raw[pos..head_end];
        let (content_end, after) =
            next_delimiter(raw, dash, content_start, crlf).ok_or(NOT_CLOSED)?;
        let name = disposition_name(&String::from_utf8_lossy(head))
            .ok_or("multipart part without a content-disposition name")?;
        fields.push(Part {
            name,
            head,
            content: &raw[content_start..content_end],
        });
        delimiter = after;
    }
}

/// What a delimiter line says comes next.
#[derive(Clone, Copy)]
enum Delimiter {
    /// `--boundary--`: the end of the form.
    Close,
    /// A part, whose headers start at `next`; `crlf` when the line ended in
    /// CRLF.
    Part { next: usize, crlf: bool },
    /// The body ends on the delimiter: its last part is never closed.
    Open,
}

/// The delimiter line whose boundary text ends at `from`, if the rest of
/// the line makes one: `--`, or transport padding (spaces and tabs) and a
/// line break or the body's end.
fn delimiter_line(raw: &[u8], from: usize) -> Option<Delimiter> {
    let rest = &raw[from..];
    if rest.starts_with(b"--") {
        return Some(Delimiter::Close);
    }
    let pad = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    match &rest[pad..] {
        [] => Some(Delimiter::Open),
        [b'\r', b'\n', ..] => Some(Delimiter::Part {
            next: from + pad + 2,
            crlf: true,
        }),
        [b'\n', ..] => Some(Delimiter::Part {
            next: from + pad + 1,
            crlf: false,
        }),
        _ => None,
    }
}

/// The end of the content that starts at `from` and the delimiter after
/// it: the boundary's text right at `from` (a part with no content, the
/// headers' blank line before it), or after the body's line break.
fn next_delimiter(raw: &[u8], dash: &[u8], from: usize, crlf: bool) -> Option<(usize, Delimiter)> {
    let mut at = from;
    loop {
        let i = find(raw, dash, at)?;
        let before = &raw[from..i];
        let end = if i == from {
            Some(i)
        } else if before.ends_with(b"\r\n") {
            Some(i - 2)
        } else if !crlf && before.ends_with(b"\n") {
            Some(i - 1)
        } else {
            None
        };
        if let (Some(end), Some(d)) = (end, delimiter_line(raw, i + dash.len())) {
            return Some((end, d));
        }
        at = i + 1;
    }
}

/// The `name` parameter of a part's `Content-Disposition` header (RFC
/// 7578), and that header only, its folded lines (a line starting with a
/// space or a tab goes on the one before it) joined.
fn disposition_name(head: &str) -> Option<String> {
    header_param(&part_header(head, "content-disposition")?, "name")
}

/// A part's header by its name in any case, its folded lines (a line
/// starting with a space or a tab goes on the one before it) joined.
fn part_header(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.lines() {
        let folded = line.starts_with([' ', '\t']);
        match value.as_mut() {
            Some(v) if folded => v.push_str(line),
            Some(_) => break,
            None if folded => {}
            None => {
                value = line
                    .split_once(':')
                    .and_then(|(k, v)| k.trim().eq_ignore_ascii_case(name).then(|| v.to_string()))
            }
        }
    }
    value
}

/// A parameter of a header value such as `form-data; name="curp"` or
/// `multipart/form-data; boundary=X`, by its name in any case: the
/// parameters split at the `;`s outside quoted strings (a
/// `filename="scan;name=x.txt"` holds no name), a quoted value's backslash
/// escapes of special characters (RFC 2045 `tspecials`) undone and any
/// other backslash kept, as Go's `mime` package reads them: a browser that
/// sends a Windows path (`"C:\\scan.txt"`) does not escape it.
fn header_param(value: &str, name: &str) -> Option<String> {
    const TSPECIALS: [char; 15] = [
        '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=',
    ];
    // The parameters, after the type.
    let mut params = value.split_once(';')?.1;
    loop {
        let (key, after) = params.split_once('=')?;
        let after = after.trim_start();
        let (val, rest) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut val = String::new();
                let mut chars = quoted.char_indices();
                // An unclosed quote runs to the end of the value.
                let end = loop {
                    match chars.next() {
                        None => break quoted.len(),
                        Some((i, '\\')) if quoted[i + 1..].starts_with(TSPECIALS) => {
                            val.extend(chars.next().map(|(_, c)| c))
                        }
                        Some((i, '"')) => break i + 1,
                        Some((_, c)) => val.push(c),
                    }
                };
                (val, &quoted[end..])
            }
            None => {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            }
        };
        // A parameter without a value (`form-data; flag; name=x`) is
        // passed over.
        let key = key.rsplit(';').next().unwrap_or(key);
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(val);
        }
        params = rest.split_once(';')?.1;
    }
}

/// The first blank line from `from`, CRLF or bare LF: where the headers
/// before it end and where what follows it starts. One pass: looking for
/// one style to the end of the body, then for the other, made a body of
/// many bare-LF parts cost the square of its length.
fn blank_line(raw: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while let Some(nl) = raw.get(i..)?.iter().position(|&b| b == b'\n') {
        let at = i + nl;
        let end = if at > from && raw[at - 1] == b'\r' {
            at - 1
        } else {
            at
        };
        match raw.get(at + 1..) {
            Some([b'\n', ..]) => return Some((end, at + 2)),
            Some([b'\r', b'\n', ..]) => return Some((end, at + 3)),
            _ => i = at + 1,
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_are_read_in_any_case() {
        assert_eq!(
            parse_body("Application/JSON; charset=UTF-8", br#"{"curp":"X"}"#),
            Body::Json(json!({"curp": "X"}))
        );
        assert_eq!(
            parse_body("APPLICATION/X-WWW-FORM-URLENCODED", b"curp=X"),
            Body::Form(vec![("curp".into(), "X".into())])
        );
        assert_eq!(
            parse_body("Text/XML", b"<curp/>"),
            Body::Unsupported("text/xml".into())
        );
    }

    #[test]
    fn a_content_type_with_a_byte_past_ascii_keeps_its_type() {
        let mut headers = HeaderMap::new();
        headers.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_bytes(b"application/x-www-form-urlencoded; x=\xE9")
                .unwrap(),
        );
        let uri: hyper::Uri = "/p".parse().unwrap();
        let req = Request::new(Method::POST, &uri, headers, Bytes::from_static(b"curp=X"));
        assert_eq!(req.body, Body::Form(vec![("curp".into(), "X".into())]));
    }

    /// One reading of `Authorization: Bearer TOKEN` for the admin token and
    /// validacurp's: the scheme in any case, the token without the spaces
    /// around it, nothing for another scheme or no token.
    #[test]
    fn a_bearer_token_is_read_once_for_everyone() {
        let bearer = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert(
                hyper::header::AUTHORIZATION,
                hyper::header::HeaderValue::from_bytes(value).unwrap(),
            );
            let uri: hyper::Uri = "/p".parse().unwrap();
            Request::new(Method::GET, &uri, headers, Bytes::new()).bearer()
        };
        for (value, token) in [
            (&b"Bearer t0k"[..], Some("t0k")),
            (b"bEARER t0k", Some("t0k")),
            (b"Bearer   t0k  ", Some("t0k")),
            (b"Bearer\tt0k", Some("t0k")),
            (b"Bearer a b", Some("a b")),
            (b"Bearer \xE9", Some("\u{FFFD}")),
            (b"Bearer", None),
            (b"Bearer ", None),
            (b"Bearertok", None),
            (b"Basic dTpw", None),
        ] {
            assert_eq!(bearer(value).as_deref(), token, "{value:?}");
        }
    }

    #[test]
    fn sandbox_headers_are_found_only_when_sent() {
        let name = hyper::header::HeaderName::from_static("x-sandbox-scenario");
        let mut headers = HeaderMap::new();
        headers.insert("apikey", "k".parse().unwrap());
        let uri: hyper::Uri = "/p".parse().unwrap();
        let plain = Request::new(Method::GET, &uri, headers.clone(), Bytes::new());
        assert_eq!(plain.sandbox_header(&name), None);
        // Header names arrive in any case; hyper lowers them.
        headers.insert(
            hyper::header::HeaderName::from_bytes(b"X-Sandbox-Scenario").unwrap(),
            "blocked".parse().unwrap(),
        );
        let forced = Request::new(Method::GET, &uri, headers, Bytes::new());
        assert_eq!(forced.sandbox_header(&name), Some("blocked"));
    }

    #[test]
    fn forgives_the_documents_flaws() {
        assert_eq!(
            parse_json(br#"{"curp": "X", }"#),
            Body::Json(json!({"curp": "X"}))
        );
        assert_eq!(
            parse_json(br#"{"curp": "XAXA010101XXXXXX01", "state": 01}"#),
            Body::Json(json!({"curp": "XAXA010101XXXXXX01", "state": "01"}))
        );
        // An integer with a leading zero is the digits as typed; a signed or
        // fractional one the number it means.
        assert_eq!(
            parse_json(br#"{"m": 07, "y": [007, 10], "s": -07, "f": 01.5, "e": 02e1}"#),
            Body::Json(json!({"m": "07", "y": ["007", 10], "s": -7, "f": 1.5, "e": 20.0}))
        );
        assert_eq!(
            parse_json(br#"{"a": "01,}", "b": [1,2,],}"#),
            Body::Json(json!({"a": "01,}", "b": [1, 2]}))
        );
        assert_eq!(
            parse_json(br#"{"n": 100, "f": 0.05}"#),
            Body::Json(json!({"n": 100, "f": 0.05}))
        );
        // A lone zero is a number, forgiven or not; of a fraction's run of
        // zeros one stays before the point.
        assert_eq!(
            parse_json(br#"{"z": 0, "l": [0],}"#),
            Body::Json(json!({"z": 0, "l": [0]}))
        );
        assert_eq!(
            parse_json(br#"{"f": 00.5, "s": -00.25,}"#),
            Body::Json(json!({"f": 0.5, "s": -0.25}))
        );
        // Characters of two, three and four bytes are copied whole.
        assert_eq!(
            parse_json("{\"a\": \"ñ€😀\", \"😀\": [1,],}".as_bytes()),
            Body::Json(json!({"a": "ñ€😀", "😀": [1]}))
        );
        assert!(matches!(parse_json(b"{curp: 1}"), Body::Invalid(_)));
        // Only a comma after a member is trailing; only a value is digits.
        for not_json in [
            &br#"{,}"#[..],
            br#"{ , }"#,
            br#"[,]"#,
            br#"{"a": [1,,]}"#,
            br#"{"a": {,}}"#,
            br#"{"t": "x", 01: "a"}"#,
        ] {
            assert!(
                matches!(parse_json(not_json), Body::Invalid(_)),
                "{}",
                String::from_utf8_lossy(not_json)
            );
        }
        // Found by fuzz/ (body target): a backslash before a multi-byte
        // character inside a string made the forgiving pass slice inside it.
        assert!(matches!(
            parse_json("{\"a\": \"\\\u{feff}91\",}".as_bytes()),
            Body::Invalid(_)
        ));
        assert_eq!(
            parse_json("{\"a\": \"\\u00e9\u{e9}\",}".as_bytes()),
            Body::Json(json!({"a": "\u{e9}\u{e9}"}))
        );
        assert_eq!(
            parse_json(b"\xEF\xBB\xBF{\"a\": 1}"),
            Body::Json(json!({"a": 1}))
        );
        assert!(matches!(parse_json(b"\xff\xfe"), Body::Invalid(_)));
    }

    #[test]
    fn urlencoded_and_query() {
        assert_eq!(
            parse_urlencoded(b"id_number=ABC%20D&x=1+2&empty&bad=%zz"),
            vec![
                ("id_number".into(), "ABC D".into()),
                ("x".into(), "1 2".into()),
                ("empty".into(), "".into()),
                ("bad".into(), "%zz".into())
            ]
        );
    }

    #[test]
    fn multipart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"id_number\"\r\n\r\nPXNE660720HMCXTN06\r\n--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--XyZ--\r\n";
        let b = parse_body("multipart/form-data; boundary=XyZ", body);
        assert_eq!(
            b,
            Body::Form(vec![
                ("id_number".into(), "PXNE660720HMCXTN06".into()),
                ("other".into(), "v".into())
            ])
        );
        assert_eq!(
            parse_body("multipart/form-data; boundary=XyZ", b"garbage"),
            Body::BadForm("multipart body without its boundary".into())
        );
        // An empty form, as Node's fetch (undici) sends an empty FormData:
        // the closing delimiter alone.
        assert_eq!(
            parse_body("multipart/form-data; boundary=XyZ", b"--XyZ--\r\n"),
            Body::Form(Vec::new())
        );
        assert_eq!(
            parse_body("multipart/form-data", b"x"),
            Body::BadForm("multipart/form-data without a boundary".into())
        );
        assert_eq!(
            parse_body("multipart/form-data; boundary=\"\"", b"x"),
            Body::BadForm("multipart/form-data without a boundary".into())
        );
        let long = format!("multipart/form-data; boundary={}", "b".repeat(201));
        assert_eq!(
            parse_body(&long, b"x"),
            Body::BadForm(
                "multipart/form-data with a boundary of 201 bytes: at most 200 are read (RFC 2046 allows 70)"
                    .into()
            )
        );
        let at_most = format!("multipart/form-data; boundary={}", "b".repeat(200));
        assert_eq!(
            parse_body(&at_most, b"x"),
            Body::BadForm("multipart body without its boundary".into())
        );
        assert_eq!(
            parse_body(
                "multipart/form-data; boundary=XyZ",
                b"--XyZ\r\nno blank line"
            ),
            Body::BadForm("multipart part without a blank line after its headers".into())
        );
        // Bare line feeds, and a part whose value holds a blank line of the
        // other style: each part's headers end at its first blank line.
        let body = b"--B\nContent-Disposition: form-data; name=a\n\nx\n--B\r\nContent-Disposition: form-data; name=b\r\n\r\ny\n\nz\r\n--B--";
        assert_eq!(
            parse_body("multipart/form-data; boundary=B", body),
            Body::Form(vec![
                ("a".into(), "x".into()),
                ("b".into(), "y\n\nz".into())
            ])
        );
        // Many bare-LF parts (a body of this shape took seconds at 1 MB when
        // each part's headers were searched for to the end of the body).
        let part = b"--B\nContent-Disposition: form-data; name=a\n\nx\n";
        let mut many = part.repeat(20_000);
        many.extend_from_slice(b"--B--");
        match parse_body("multipart/form-data; boundary=B", &many) {
            Body::Form(fields) => assert_eq!(fields.len(), 20_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_delimiter_is_the_boundary_at_a_lines_start() {
        let form = |body: &str| parse_multipart(body.as_bytes(), "B");
        let field = |n: &str, v: &str| Ok(vec![(n.to_string(), v.to_string())]);
        let head = "Content-Disposition: form-data; name=a";
        // Inside a line, the boundary's text is the value's.
        assert_eq!(
            form(&format!("--B\r\n{head}\r\n\r\nx--B\r\n--B--")),
            field("a", "x--B")
        );
        // In a CRLF body a bare LF is no delimiter's line break.
        assert_eq!(
            form(&format!("--B\r\n{head}\r\n\r\nx\n--B--\r\n--B--")),
            field("a", "x\n--B--")
        );
        // A line that goes on past the boundary's text with anything but
        // padding is the value's too.
        assert_eq!(
            form(&format!(
                "--B\r\n{head}\r\n\r\nx\r\n--Bx\r\n--B --\r\n--B \t\r\n{head}\r\n\r\ny\r\n--B--"
            )),
            Ok(vec![
                ("a".into(), "x\r\n--Bx\r\n--B --".into()),
                ("a".into(), "y".into())
            ])
        );
        // In a bare-LF body, either line break ends a value.
        assert_eq!(
            form(&format!("--B\n{head}\n\nx\r\n--B\n{head}\n\ny\n--B--")),
            Ok(vec![("a".into(), "x".into()), ("a".into(), "y".into())])
        );
        // A preamble's boundary text inside a line starts nothing.
        assert_eq!(
            form(&format!("see --B\r\n--B\r\n{head}\r\n\r\nx\r\n--B--")),
            field("a", "x")
        );
        // A part with no content: the delimiter right after the headers.
        assert_eq!(form(&format!("--B\r\n{head}\r\n\r\n--B--")), field("a", ""));
        // The body ending on a delimiter, or a preamble with no delimiter
        // line at all.
        assert_eq!(
            form(&format!("--B\r\n{head}\r\n\r\nx\r\n--B \t")),
            Err("multipart body not closed by its boundary".into())
        );
        assert_eq!(
            form("x--B\r\n--Bx\r\n"),
            Err("multipart body without its boundary".into())
        );
    }

    #[test]
    fn a_parts_name_is_its_dispositions_name_parameter() {
        for (head, name) in [
            (
                "Content-Disposition: form-data; name=\"curp\"",
                Some("curp"),
            ),
            ("content-disposition:form-data;name=curp", Some("curp")),
            (
                "Content-Disposition: form-data; NAME = curp ; x=1",
                Some("curp"),
            ),
            // A `;` or `name=` inside a quoted filename is the filename's.
            (
                "Content-Disposition: form-data; filename=\"scan;name=x.txt\"; name=\"curp\"",
                Some("curp"),
            ),
            // Escapes of special characters undone, other backslashes
            // kept; an unclosed quote runs to the line's end.
            (
                "Content-Disposition: form-data; name=\"a\\\"b\\\\c\\d\"",
                Some("a\"b\\c\\d"),
            ),
            // A folded header is one header.
            (
                "Content-Type: text/plain\r\nContent-Disposition: form-data;\r\n\tname=curp\r\nX: name=y",
                Some("curp"),
            ),
            (
                "Content-Type: text/plain\r\n name=x\r\nContent-Disposition: form-data",
                None,
            ),
            ("Content-Disposition: form-data; name=\"curp", Some("curp")),
            (
                "Content-Disposition: form-data; flag; name=curp",
                Some("curp"),
            ),
            // Another header whose name begins the same is not it.
            ("Content-Disposition-Extra: form-data; name=x", None),
            ("Content-Disposition: form-data; filename=\"a\"", None),
            ("Content-Disposition: form-data", None),
            ("Content-Type: text/plain", None),
        ] {
            assert_eq!(disposition_name(head).as_deref(), name, "{head}");
        }
    }

    #[test]
    fn a_boundary_is_the_content_types_boundary_parameter() {
        for (ct, b) in [
            ("multipart/form-data; boundary=XyZ", Some("XyZ")),
            ("multipart/form-data; BOUNDARY=\"a b\"", Some("a b")),
            // A `boundary=` inside another quoted parameter is that one's.
            (
                "multipart/form-data; x=\"a;boundary=evil\"; boundary=real",
                Some("real"),
            ),
            ("multipart/form-data; boundary=", None),
            ("multipart/form-data", None),
        ] {
            assert_eq!(boundary(ct).ok().as_deref(), b, "{ct}");
        }
        assert!(boundary(&format!("m/f; boundary={}", "b".repeat(201))).is_err());
    }

    #[test]
    fn multipart_refusals() {
        let not_closed = "multipart body not closed by its boundary";
        let no_name = "multipart part without a content-disposition name";
        let cases: [(&[u8], &str); 7] = [
            // The last part's value runs to the end of the body.
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv",
                not_closed,
            ),
            // A good first part does not save an unclosed second one.
            (
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nw\r\n",
                not_closed,
            ),
            // A part with only a Content-Type.
            (
                b"--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--\r\n",
                no_name,
            ),
            // A disposition without a name; `filename` is not one.
            (
                b"--XyZ\r\nContent-Disposition: form-data; filename=\"f.txt\"\r\n\r\nv\r\n--XyZ--",
                no_name,
            ),
            // The same, in bare line feeds.
            (
                b"--XyZ\nContent-Type: text/plain\n\nv\n--XyZ--",
                no_name,
            ),
            // No headers at all: the content is not read as headers.
            (
                b"--XyZ\r\n\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--XyZ--",
                no_name,
            ),
            // The same after a good part.
            (
                b"--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nv\n--XyZ\n\nw\n--XyZ--",
                no_name,
            ),
        ];
        for (body, why) in cases {
            assert_eq!(
                parse_multipart(body, "XyZ"),
                Err(why.to_string()),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(
                parse_body("multipart/form-data; boundary=XyZ", body),
                Body::BadForm(why.into())
            );
        }
    }

    /// JSON whose bytes are not UTF-8 is refused saying so, not by the
    /// symptom serde meets ("invalid unicode code point", "expected value").
    #[test]
    fn json_that_is_not_utf8_is_told_so() {
        let why = |raw: &[u8]| match parse_json(raw) {
            Body::Invalid(why) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            why(b"{\"n\":\"mar\xEDa\"}"),
            "the body is not valid JSON: byte 0xED at offset 9 is not UTF-8 (Latin-1 text?); JSON is sent in UTF-8 whatever its content type says (RFC 8259)"
        );
        let utf16 =
            "the body is not valid JSON: it is UTF-16 text; JSON is sent in UTF-8 (RFC 8259)";
        assert_eq!(why(b"\xFF\xFE{\0\"\0n\0"), utf16);
        assert_eq!(why(b"\xFE\xFF\0{\0\""), utf16);
        assert_eq!(why(b"{\0\"\0n\0\"\0:\0\xE9\0"), utf16);
        // ASCII in UTF-16 without a mark is valid UTF-8: told by its NULs.
        assert_eq!(why(b"{\0\"\0n\0\"\0:\x001\0}\0"), utf16);
        assert_eq!(why(b"\0{\0\"\0n\0\"\0:\x001\0}"), utf16);
        // The offset counts a UTF-8 byte-order mark as sent.
        assert!(why(b"\xEF\xBB\xBF{\"n\":\"mar\xEDa\"}").contains("0xED at offset 12 "));
        // UTF-8 that is not JSON keeps serde's words.
        assert!(why(b"{\"n\":}").starts_with("the body is not valid JSON: expected value"));
    }

    #[test]
    fn a_form_is_read_in_the_charset_it_names() {
        let form = |fields: &[(&str, &str)]| {
            Body::Form(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let urlencoded = "application/x-www-form-urlencoded";
        // UTF-8 when none is named, or named in any spelling.
        for ct in [
            urlencoded,
            "application/x-www-form-urlencoded; charset=\"UTF8\"",
        ] {
            assert_eq!(
                parse_body(ct, b"n=mar%C3%ADa"),
                form(&[("n", "mar\u{ed}a")])
            );
        }
        // Latin-1 by any of its labels, escaped or as raw bytes; 0x80-0x9F
        // are windows-1252's, as WHATWG reads every one of those labels.
        // And Python's `latin-1` and `latin_1`, which aiohttp sends as
        // written.
        for label in [
            "ISO-8859-1",
            "latin1",
            "windows-1252",
            "us-ascii",
            "CP1252",
            "latin-1",
            "latin_1",
        ] {
            let ct = format!("{urlencoded}; charset={label}");
            assert_eq!(
                parse_body(&ct, b"n=mar%EDa+jos\xE9&p=%80%81%9F&mu%F1oz=1"),
                form(&[
                    ("n", "mar\u{ed}a jos\u{e9}"),
                    ("p", "\u{20ac}\u{81}\u{178}"),
                    ("mu\u{f1}oz", "1")
                ]),
                "{label}"
            );
        }
        // Bytes that are not text in the charset: refused, naming the field.
        let not_utf8 = |name: &str| {
            Body::BadForm(format!(
                "the form field '{name}' is not UTF-8 text: send the form in UTF-8, or name the charset it is written in (charset=ISO-8859-1)"
            ))
        };
        assert_eq!(parse_body(urlencoded, b"a=1&n=mar%EDa"), not_utf8("n"));
        assert_eq!(parse_body(urlencoded, b"n=mar\xEDa"), not_utf8("n"));
        assert_eq!(
            parse_body(urlencoded, b"mu%F1oz=1"),
            not_utf8("mu\u{fffd}oz")
        );
        assert_eq!(
            parse_body(&format!("{urlencoded}; charset=shift_jis"), b"n=x"),
            Body::BadForm(
                "unsupported charset 'shift_jis': send the form in UTF-8 or ISO-8859-1".into()
            )
        );
        // JSON is UTF-8 whatever the charset says.
        assert_eq!(
            parse_body(&format!("{urlencoded}; charset=shift_jis"), br#"{"n":"x"}"#),
            Body::Json(serde_json::json!({"n": "x"}))
        );

        // Multipart: a part's own charset, else the form's.
        let part = |head: &str, name: &str, value: &[u8]| {
            let mut p =
                format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"{head}\r\n\r\n")
                    .into_bytes();
            p.extend_from_slice(value);
            p.extend_from_slice(b"\r\n");
            p
        };
        let body = |parts: &[Vec<u8>]| [parts.concat(), b"--B--\r\n".to_vec()].concat();
        let multipart = "multipart/form-data; boundary=B";
        let own = body(&[
            part(
                "\r\nContent-Type: text/plain; charset=ISO-8859-1",
                "n",
                b"mar\xEDa",
            ),
            part("", "m", "mu\u{f1}oz".as_bytes()),
        ]);
        assert_eq!(
            parse_body(multipart, &own),
            form(&[("n", "mar\u{ed}a"), ("m", "mu\u{f1}oz")])
        );
        let latin1 = body(&[
            part("", "n", b"mar\xEDa"),
            part("\r\nContent-Type: text/plain", "m", b"mu\xF1oz"),
        ]);
        assert_eq!(
            parse_body(&format!("{multipart}; charset=latin1"), &latin1),
            form(&[("n", "mar\u{ed}a"), ("m", "mu\u{f1}oz")])
        );
        assert_eq!(parse_body(multipart, &latin1), not_utf8("n"));
        let utf8_said = body(&[part(
            "\r\nContent-Type: text/plain; charset=utf-8",
            "n",
            b"mar\xEDa",
        )]);
        assert_eq!(
            parse_body(&format!("{multipart}; charset=latin1"), &utf8_said),
            not_utf8("n")
        );
        let odd = body(&[part(
            "\r\nContent-Type: text/plain; charset=koi8-r",
            "n",
            b"x",
        )]);
        assert_eq!(
            parse_body(multipart, &odd),
            Body::BadForm(
                "unsupported charset 'koi8-r': send the form in UTF-8 or ISO-8859-1".into()
            )
        );
        // A file that is not text is no field; one that is, is one, in its
        // charset too.
        let files = body(&[
            part(
                "; filename=\"scan.jpg\"\r\nContent-Type: image/jpeg",
                "scan",
                b"\xFF\xD8\xFF",
            ),
            part("; filename=\"n.txt\"", "n", b"mar\xEDa"),
            part("; filename=\"c.txt\"", "curp", b"PXNE660720HMCXTN06\n"),
            part(
                "; filename*=UTF-8''l.txt\r\nContent-Type: text/plain; charset=latin1",
                "l",
                b"mar\xEDa",
            ),
        ]);
        assert_eq!(
            parse_body(multipart, &files),
            form(&[("curp", "PXNE660720HMCXTN06\n"), ("l", "mar\u{ed}a")])
        );
        // A UTF-8 part's byte-order mark is not its text, nor a UTF-8
        // form's; in windows-1252 those bytes are text.
        let bom = body(&[part("", "n", b"\xEF\xBB\xBFmar\xC3\xADa")]);
        assert_eq!(parse_body(multipart, &bom), form(&[("n", "mar\u{ed}a")]));
        assert_eq!(
            parse_body(urlencoded, b"\xEF\xBB\xBFn=1"),
            form(&[("n", "1")])
        );
        assert_eq!(
            parse_body(&format!("{urlencoded}; charset=latin1"), b"\xEF\xBB\xBFn=1"),
            form(&[("\u{ef}\u{bb}\u{bf}n", "1")])
        );
        // The part's headers are the form's charset: a name in Latin-1 is
        // read in a Latin-1 form, and refused in a UTF-8 one.
        let latin1_name = body(&[
            b"--B\r\nContent-Disposition: form-data; name=\"mu\xF1oz\"\r\n\r\n1\r\n".to_vec(),
        ]);
        assert_eq!(
            parse_body(&format!("{multipart}; charset=latin1"), &latin1_name),
            form(&[("mu\u{f1}oz", "1")])
        );
        assert_eq!(
            parse_body(multipart, &latin1_name),
            not_utf8("mu\u{fffd}oz")
        );
        // parse_multipart itself reads every part as lossy text.
        assert_eq!(
            parse_multipart(&latin1, "B"),
            Ok(vec![
                ("n".into(), "mar\u{fffd}a".into()),
                ("m".into(), "mu\u{fffd}oz".into())
            ])
        );
    }

    #[test]
    fn a_json_body_is_an_object() {
        let not = |what: &str| {
            Body::Invalid(format!(
                "the body is a JSON {what}, not the JSON object the endpoint reads"
            ))
        };
        let problem = |ct: &str, body: &[u8]| {
            parse_body(ct, body)
                .problem()
                .map(|why| Body::Invalid(why.into_owned()))
        };
        let twice = br#""{\"curp\":\"X\"}""#;
        assert_eq!(
            problem("application/json", twice),
            Some(Body::Invalid(
                "the body is a JSON string, not the JSON object the endpoint reads (was the JSON encoded twice?)".into()
            ))
        );
        for (body, what) in [
            (&br#"[{"curp":"X"}]"#[..], "array"),
            (b"7", "number"),
            (b"true", "boolean"),
            (b" null ", "null"),
        ] {
            assert_eq!(problem("application/json", body), Some(not(what)));
        }
        // Also when read as JSON for looking like it; an object, a form
        // and no body at all are what a provider reads.
        assert_eq!(problem("text/plain", b"[1,]"), Some(not("array")));
        assert_eq!(problem("application/json", b"{}"), None);
        assert_eq!(problem("application/x-www-form-urlencoded", b"a=1"), None);
        assert_eq!(problem("application/json", b" "), None);
        // Unread, the reason: for a type no body is read in, the types a
        // provider reads; the admin API reads JSON alone.
        assert_eq!(
            problem("text/csv", b"a"),
            Some(Body::Invalid(
                "unsupported content type 'text/csv': send application/json, application/x-www-form-urlencoded or multipart/form-data".into()
            ))
        );
        assert_eq!(
            parse_body("text/csv", b"a").admin_problem().as_deref(),
            Some("unsupported content type 'text/csv'; the admin API reads JSON: send a JSON object as the body (application/json)")
        );
        assert_eq!(
            parse_body("application/json", b"{nope").problem(),
            parse_body("application/json", b"{nope").admin_problem()
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(
            parse_body("application/x-www-form-urlencoded", br#"{"a":1}"#),
            Body::Json(json!({"a": 1}))
        );
        assert_eq!(
            parse_body("application/x-www-form-urlencoded", b"a=1"),
            Body::Form(vec![("a".into(), "1".into())])
        );
        assert!(matches!(parse_body("text/xml", b"<a/>"), Body::Unsupported(m) if m == "text/xml"));
        assert_eq!(parse_body("text/xml", b"  "), Body::Empty);
        // A structured `+json` type (RFC 6839) is JSON, in any case.
        for json_type in [
            "application/problem+json",
            "Application/VND.API+JSON; charset=utf-8",
        ] {
            assert_eq!(
                parse_body(json_type, br#"{"a":1}"#),
                Body::Json(json!({"a": 1})),
                "{json_type}"
            );
        }
        assert!(matches!(
            parse_body("application/jsonx", br#"{"a":1}"#),
            Body::Unsupported(m) if m == "application/jsonx"
        ));
    }
}
