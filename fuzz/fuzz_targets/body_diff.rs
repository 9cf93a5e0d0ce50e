//! The request body parsers of `mxid_sandbox::request`, held to independent
//! references (differential):
//!
//! - `u`: `parse_urlencoded` against the WHATWG parser (`form_urlencoded`),
//!   and `percent_decode_path` against `percent-encoding`, for any bytes.
//! - `j`: `parse_json` on any bytes: what serde_json reads strictly is
//!   exactly serde_json's `Value`; anything else is held to a reference
//!   written here (`lenient`: a recursive-descent JSON grammar that also
//!   takes the two flaws README "Decisions" forgives, a trailing comma after
//!   a member and an integer with a leading zero as a value), which accepts
//!   exactly what strict JSON plus those two flaws explains, and reads the
//!   flaws as the README says: `07` the text "07", `-07` and `01.5` the
//!   numbers they mean.
//! - `g`: `parse_json` on a JSON text generated from the input (any strings,
//!   numbers, nesting), written with trailing commas, leading zeros and
//!   white space where the generator chooses: the result is the value the
//!   text without the flaws reads as, leading-zero integers as their text.
//! - `M`: `parse_multipart`, and `Request::new` with its content type (the
//!   private `boundary`, `header_param`, `disposition_name`), on a
//!   well-formed multipart/form-data body generated from the input (RFC 2046
//!   §5.1.1, RFC 7578): any boundary of RFC 2046's characters (quoted in the
//!   content type when it must be), a preamble and an epilogue, transport
//!   padding, names as tokens or quoted strings with backslash escapes (as
//!   Go's `mime` reads them), a `filename` parameter with `;` and `name=` in
//!   it, values with CRLF, `--`, the boundary's text (never as a delimiter:
//!   CRLF `--` boundary, or at a value's start; a preamble line that starts
//!   with the boundary's text makes the input skipped, as it may be the
//!   first delimiter line of a bare-LF body). Line breaks are all CRLF, or
//!   all bare LF (as Go's mime/multipart reads a body whose first boundary
//!   line ends in a bare LF). The fields must be the generated ones (the
//!   request's too, read as UTF-8 past a byte-order mark: a text part
//!   that is not UTF-8 is the 400 naming it, a file's part no field).
//! - `m`: `parse_multipart` on any body against `multer` (RFC 7578, CRLF
//!   only): when both read the body, the same fields. Line 1 is the
//!   boundary.
//!
//! Input: the first byte picks the property (`u`, `j`, `g`, `M`, `m`; any
//! other byte `% 5` in that order), the rest is its input: the bytes as
//! they are for `u` and `j`, `arbitrary`'s raw material for `g` and `M`.
//! `BODY_DIFF_PROP=u|j|g|M|m` runs one property whatever the first byte.
//!
//! Where the sandbox and a reference differ by a choice of the sandbox's
//! (README, Decisions: "Multipart as RFC 2046 cuts it, bare line feeds
//! too"), or on a malformed body where each reads it its own way, the
//! `known_*` functions recognise it and the run goes on (`BODY_DIFF_ALL=1`
//! reports those too; `BODY_DIFF_DEBUG=1` prints what each side says).
//!
//! Running (from `fuzz/`, one property at a time; seeds in
//! `corpus/body_diff`):
//!
//! ```sh
//! mkdir -p /tmp/corpus-bd
//! BODY_DIFF_PROP=M cargo +nightly fuzz run -O body_diff /tmp/corpus-bd corpus/body_diff -- -max_total_time=300
//! ```
#![no_main]

use std::convert::Infallible;

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Method, Uri};
use libfuzzer_sys::arbitrary::{Result as AResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use mxid_sandbox::request::{self, Body, Request};
use serde_json::Value;

fn env_on(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "1")
}

fn report_known() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| env_on("BODY_DIFF_ALL"))
}

fn debug() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| env_on("BODY_DIFF_DEBUG"))
}

fn forced() -> Option<u8> {
    static ON: std::sync::OnceLock<Option<u8>> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var("BODY_DIFF_PROP")
            .ok()
            .and_then(|v| v.bytes().next())
    })
}

// ---------------------------------------------------------------- urlencoded

fn urlencoded(data: &[u8]) {
    let ours = request::parse_urlencoded(data);
    let theirs: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        ours,
        theirs,
        "URLENCODED: parse_urlencoded differs from WHATWG\ninput: {:?}",
        String::from_utf8_lossy(data)
    );
    if let Ok(s) = std::str::from_utf8(data) {
        let ours = request::percent_decode_path(s);
        let theirs = percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned();
        assert_eq!(
            ours, theirs,
            "PATH: percent_decode_path differs from percent-encoding\ninput: {s:?}"
        );
    }
}

// ---------------------------------------------------------------------- json

/// The reference for `parse_json`'s forgiving pass: strict JSON's grammar
/// (RFC 8259) plus the two flaws, rewritten as the strict JSON text it
/// stands for; serde_json then reads that text (so numbers and strings are
/// read exactly as serde_json reads them).
struct Lenient<'a> {
    s: &'a [u8],
    i: usize,
    out: String,
    depth: usize,
}

impl<'a> Lenient<'a> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// One or more ASCII digits from here (a fraction's, an exponent's);
    /// `None` when there is none.
    fn some_digits(&mut self) -> Option<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i]).ok()
    }

    /// An object or an array from its opening character to `close`: its
    /// elements (`element` reads one), each after a comma, and the trailing
    /// comma (after an element, before `close`) taken out.
    fn collection(&mut self, close: u8, element: impl Fn(&mut Self) -> Option<()>) -> Option<()> {
        self.out.push(self.s[self.i] as char);
        self.i += 1;
        self.ws();
        if self.peek()? != close {
            loop {
                element(self)?;
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                        if self.peek()? != close {
                            self.out.push(',');
                            continue;
                        }
                    }
                    c if c == close => {}
                    _ => return None,
                }
                break;
            }
        }
        self.i += 1;
        self.out.push(close as char);
        Some(())
    }

    fn value(&mut self) -> Option<()> {
        self.depth += 1;
        if self.depth > 200 {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => self.collection(b'}', |l| {
                l.ws();
                l.string()?;
                l.ws();
                if l.peek()? != b':' {
                    return None;
                }
                l.i += 1;
                l.out.push(':');
                l.value()
            })?,
            b'[' => self.collection(b']', Self::value)?,
            b'"' => self.string()?,
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'n' => self.literal("null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        }
        self.depth -= 1;
        Some(())
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            self.out.push_str(word);
            Some(())
        } else {
            None
        }
    }

    /// A string token, copied as it is (serde_json judges its escapes).
    fn string(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    break;
                }
                _ => self.i += 1,
            }
        }
        let tok = std::str::from_utf8(self.s.get(start..self.i)?).ok()?;
        self.out.push_str(tok);
        Some(())
    }

    /// A number; an integer part with a leading zero is the flaw: unsigned
    /// and without fraction or exponent, the digits as a string; else the
    /// number without its leading zeros.
    fn number(&mut self) -> Option<()> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let d0 = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = std::str::from_utf8(&self.s[d0..self.i]).ok()?;
        if digits.is_empty() {
            return None;
        }
        let mut rest = String::new();
        if self.peek() == Some(b'.') {
            rest.push('.');
            self.i += 1;
            rest.push_str(self.some_digits()?);
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            rest.push(self.peek()? as char);
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                rest.push(self.peek()? as char);
                self.i += 1;
            }
            rest.push_str(self.some_digits()?);
        }
        let leading = digits.len() > 1 && digits.starts_with('0');
        if leading && !neg && rest.is_empty() {
            self.out.push('"');
            self.out.push_str(digits);
            self.out.push('"');
        } else {
            if neg {
                self.out.push('-');
            }
            let trimmed = digits.trim_start_matches('0');
            self.out
                .push_str(if trimmed.is_empty() { "0" } else { trimmed });
            self.out.push_str(&rest);
        }
        Some(())
    }
}

/// What strict JSON plus the two flaws reads `raw` as, if it does.
fn lenient(raw: &[u8]) -> Option<Value> {
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    let mut p = Lenient {
        s: raw,
        i: 0,
        out: String::new(),
        depth: 0,
    };
    p.value()?;
    p.ws();
    if p.i != raw.len() {
        return None;
    }
    serde_json::from_str(&p.out).ok()
}

fn json_raw(data: &[u8]) {
    let ours = request::parse_json(data);
    let stripped = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if let Ok(v) = serde_json::from_slice::<Value>(stripped) {
        assert_eq!(
            ours,
            Body::Json(v),
            "JSON STRICT: parse_json differs from serde_json\ninput: {:?}",
            String::from_utf8_lossy(data)
        );
        return;
    }
    let reference = lenient(data);
    if debug() {
        eprintln!("parse_json: {ours:?}\nreference: {reference:?}");
    }
    match (&ours, reference) {
        (Body::Json(v), Some(r)) => assert_eq!(
            v,
            &r,
            "JSON FORGIVE: parse_json reads the flaws otherwise than the README says\ninput: {:?}",
            String::from_utf8_lossy(data)
        ),
        (Body::Json(v), None) => {
            if report_known() || known_json_accept(data).is_none() {
                panic!(
                    "JSON OVER-FORGIVING: parse_json accepts a text that no strict JSON plus a \
                     trailing comma or a leading zero explains, as {v}\ninput: {:?}",
                    String::from_utf8_lossy(data)
                )
            }
        }
        (_, Some(r)) => panic!(
            "JSON UNFORGIVEN: strict JSON plus the README's two flaws reads {r}, parse_json \
             refuses: {ours:?}\ninput: {:?}",
            String::from_utf8_lossy(data)
        ),
        (_, None) => {}
    }
}

/// Texts parse_json accepts beyond strict JSON and the two flaws, already
/// reported.
fn known_json_accept(_data: &[u8]) -> Option<&'static str> {
    None
}

/// JSON white space, chosen by the input.
fn gen_ws(u: &mut Unstructured, flaw: &mut String, plain: &mut String) -> AResult<()> {
    let n = u.int_in_range(0..=2)?;
    for _ in 0..n {
        let c = *u.choose(&[' ', '\t', '\n', '\r'])?;
        flaw.push(c);
        plain.push(c);
    }
    Ok(())
}

/// Characters a string is drawn from: those the forgiving pass looks at,
/// multi-byte ones, and any.
fn gen_string(u: &mut Unstructured) -> AResult<String> {
    let n = u.int_in_range(0..=8)?;
    let mut s = String::new();
    for _ in 0..n {
        if u.ratio(1, 3)? {
            s.push(u.arbitrary::<char>()?);
        } else {
            let piece = *u.choose(&[
                "0", "01", "007", ",", ",}", ",]", "}", "]", "\"", "\\", ":", "-", "\u{e9}",
                "\u{feff}", "\n", " ", "\\u0030", "a", "{", "[",
            ])?;
            s.push_str(piece);
        }
    }
    Ok(s)
}

/// A string token for `s`: serde_json's escaping, or every character as
/// `\uXXXX` (surrogate pairs too), chosen by the input.
fn string_token(u: &mut Unstructured, s: &str) -> AResult<String> {
    if u.ratio(1, 4)? {
        let mut t = String::from("\"");
        for c in s.chars() {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                t.push_str(&format!("\\u{unit:04x}"));
            }
        }
        t.push('"');
        Ok(t)
    } else {
        Ok(serde_json::to_string(s).unwrap())
    }
}

/// A JSON value written twice: with the flaws the generator chooses, and
/// as the strict text the README says the flaws stand for.
fn gen_value(
    u: &mut Unstructured,
    depth: usize,
    flaw: &mut String,
    plain: &mut String,
) -> AResult<()> {
    gen_ws(u, flaw, plain)?;
    let kind = if depth >= 6 {
        u.int_in_range(0..=4)?
    } else {
        u.int_in_range(0..=6)?
    };
    match kind {
        0 => {
            let w = *u.choose(&["true", "false", "null"])?;
            flaw.push_str(w);
            plain.push_str(w);
        }
        1 => {
            let s = gen_string(u)?;
            let t = string_token(u, &s)?;
            flaw.push_str(&t);
            plain.push_str(&t);
        }
        2..=4 => {
            // A number: sign, integer digits, fraction, exponent.
            let neg = u.ratio(1, 3)?;
            let int: u64 = if u.ratio(1, 2)? {
                u.int_in_range(0..=99)?
            } else {
                u.arbitrary()?
            };
            let frac = if u.ratio(1, 4)? {
                Some(u.int_in_range(0u32..=999)?)
            } else {
                None
            };
            let exp = if u.ratio(1, 5)? {
                Some((
                    *u.choose(&["e", "E", "e+", "e-", "E-"])?,
                    u.int_in_range(0u32..=30)?,
                ))
            } else {
                None
            };
            let zeros = if u.ratio(1, 2)? {
                u.int_in_range(1..=3)?
            } else {
                0
            };
            let mut tail = String::new();
            if let Some(f) = frac {
                tail.push_str(&format!(".{f}"));
            }
            if let Some((e, x)) = exp {
                tail.push_str(&format!("{e}{x}"));
            }
            let sign = if neg { "-" } else { "" };
            let digits = int.to_string();
            let lead = "0".repeat(zeros);
            flaw.push_str(&format!("{sign}{lead}{digits}{tail}"));
            if zeros > 0 && !neg && tail.is_empty() {
                plain.push_str(&format!("\"{lead}{digits}\""));
            } else {
                plain.push_str(&format!("{sign}{digits}{tail}"));
            }
        }
        5 | 6 => {
            let object = kind == 5;
            let (open, close) = if object { ('{', '}') } else { ('[', ']') };
            flaw.push(open);
            plain.push(open);
            let n = u.int_in_range(0..=4)?;
            for k in 0..n {
                if k > 0 {
                    flaw.push(',');
                    plain.push(',');
                }
                if object {
                    gen_ws(u, flaw, plain)?;
                    let key = gen_string(u)?;
                    let t = string_token(u, &key)?;
                    flaw.push_str(&t);
                    plain.push_str(&t);
                    gen_ws(u, flaw, plain)?;
                    flaw.push(':');
                    plain.push(':');
                }
                gen_value(u, depth + 1, flaw, plain)?;
                gen_ws(u, flaw, plain)?;
            }
            if n > 0 && u.ratio(1, 2)? {
                flaw.push(',');
                gen_ws(u, flaw, plain)?;
            }
            flaw.push(close);
            plain.push(close);
        }
        _ => unreachable!(),
    }
    gen_ws(u, flaw, plain)?;
    Ok(())
}

fn json_generated(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (mut flaw, mut plain) = (String::new(), String::new());
    if gen_value(&mut u, 0, &mut flaw, &mut plain).is_err() {
        return;
    }
    let expected: Value = match serde_json::from_str(&plain) {
        Ok(v) => v,
        // A number past f64 (`1e400`): serde_json refuses the plain text too.
        Err(_) => return,
    };
    let ours = request::parse_json(flaw.as_bytes());
    if debug() {
        eprintln!("flawed: {flaw}\nplain: {plain}\nparse_json: {ours:?}");
    }
    assert_eq!(
        ours,
        Body::Json(expected),
        "JSON GENERATED: parse_json misreads a text with the README's flaws\nflawed: {flaw:?}\nmeans:  {plain:?}"
    );
    // The reference agrees (a check of the reference itself).
    assert_eq!(
        lenient(flaw.as_bytes()),
        serde_json::from_str::<Value>(&plain).ok(),
        "reference disagrees with the generator\nflawed: {flaw:?}"
    );
}

// ----------------------------------------------------------------- multipart

/// RFC 2046's boundary characters.
const BCHARS: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// `s` as a quoted-string, `"` and `\` escaped. (Not a letter: RFC 2045
/// reads `\a` as `a`, Go's mime as `\a`, .NET's as is.)
fn quoted(_u: &mut Unstructured, s: &str) -> AResult<String> {
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    Ok(q)
}

fn random_case(u: &mut Unstructured, s: &str) -> AResult<String> {
    let mut out = String::new();
    for c in s.chars() {
        out.push(if u.ratio(1, 4)? {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    Ok(out)
}

/// A field name: printable text of a header (no CR, LF or other control),
/// with the characters a parameter parser trips on.
fn gen_name(u: &mut Unstructured) -> AResult<String> {
    let n = u.int_in_range(1..=5)?;
    let mut s = String::new();
    for _ in 0..n {
        if u.ratio(1, 4)? {
            let c = u.arbitrary::<char>()?;
            if !c.is_control() {
                s.push(c);
            }
        } else {
            s.push_str(u.choose(&[
                "curp",
                "id_number",
                "name",
                "\"",
                "\\",
                ";",
                "=",
                " ",
                "name=x",
                "; name=\"y\"",
                "filename",
                "é",
                "a",
                "--",
                "\t",
            ])?);
        }
    }
    if s.is_empty() || s.trim().is_empty() {
        s.push('n');
    }
    Ok(s)
}

fn gen_value_bytes(u: &mut Unstructured, boundary: &str, lf: bool) -> AResult<Vec<u8>> {
    let n = u.int_in_range(0..=6)?;
    let mut v = Vec::new();
    let dash = format!("--{boundary}");
    for _ in 0..n {
        match u.int_in_range(0..=9)? {
            0 => v.extend_from_slice(dash.as_bytes()),
            1 => v.extend_from_slice(b"\r\n"),
            2 => v.extend_from_slice(b"\n"),
            3 => v.extend_from_slice(b"--"),
            4 => v.extend_from_slice(boundary.as_bytes()),
            5 => {
                // The boundary's text after a line break that is not the
                // body's (a bare LF in a CRLF body, CRLF without `--`).
                if lf {
                    v.extend_from_slice(format!("\r{boundary}").as_bytes());
                } else {
                    v.extend_from_slice(format!("\n{dash}").as_bytes());
                }
            }
            6 => v.extend_from_slice(b"Content-Disposition: form-data; name=\"curp\"\r\n\r\n"),
            7 => v.push(u.arbitrary()?),
            _ => {
                let len = u.int_in_range(0..=8)?;
                v.extend_from_slice(u.bytes(len)?);
            }
        }
    }
    Ok(v)
}

fn multipart_generated(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(case) = gen_multipart(&mut u) else {
        return;
    };
    let Case {
        boundary,
        content_type,
        body,
        fields,
        files,
        lf,
        close,
    } = case;
    let nl: &[u8] = if lf { b"\n" } else { b"\r\n" };
    // Well-formed: the delimiter (line break, `--`, boundary) stands only
    // where the generator put one.
    let delim = [nl, b"--", boundary.as_bytes()].concat();
    let mut at = Vec::new();
    let mut from = 0;
    // (The epilogue, after the close delimiter, may hold anything.)
    while let Some(i) = find(&body[from..close], &delim) {
        at.push(from + i);
        from += i + 1;
    }
    if at.len() != fields.len() + 1 - usize::from(case_starts_with_delim(&body, &boundary)) {
        return;
    }
    // A preamble line that starts with the boundary's text may be the
    // body's first delimiter line (`--B` and a bare LF is one to Go's reader
    // and the sandbox, making the body a bare-LF one): ambiguous, skipped.
    let dash = format!("--{boundary}");
    let first = if case_starts_with_delim(&body, &boundary) {
        0
    } else {
        at[0]
    };
    let preamble = &body[..first];
    if preamble.starts_with(dash.as_bytes())
        || find(preamble, format!("\n{dash}").as_bytes()).is_some()
    {
        return;
    }
    let expected: Vec<(String, String)> = fields
        .iter()
        .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    let ours = request::parse_multipart(&body, &boundary);
    let through_request = {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(&content_type).unwrap());
        let uri = Uri::from_static("/verify/id_check");
        Request::new(Method::POST, &uri, headers, Bytes::from(body.clone())).body
    };
    if debug() {
        eprintln!(
            "content type: {content_type}\nbody: {:?}\nexpected: {expected:?}\nparse_multipart: {ours:?}\nRequest: {through_request:?}",
            String::from_utf8_lossy(&body)
        );
    }
    let reason = known_multipart(lf, &fields);
    if reason.is_some() && !report_known() {
        return;
    }
    assert_eq!(
        ours.as_ref(),
        Ok(&expected),
        "MULTIPART: parse_multipart misreads a well-formed body{}\nboundary: {boundary:?}\nbody: {:?}",
        reason.map(|r| format!(" (known: {r})")).unwrap_or_default(),
        String::from_utf8_lossy(&body)
    );
    // The body empty or blank is no form (parse_body's choice).
    if body.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    // The request reads each part as UTF-8 (the form names no charset),
    // past a byte-order mark: the first text part that is not UTF-8 is the
    // provider's 400 naming it; a file's part that is not is no field.
    let mut read = Vec::new();
    let mut refused = None;
    for ((name, v), file) in fields.iter().zip(&files) {
        let v = v.strip_prefix(request::BOM).unwrap_or(v);
        match std::str::from_utf8(v) {
            Ok(text) => read.push((name.clone(), text.to_string())),
            Err(_) if *file => {}
            Err(_) => {
                refused = Some(name);
                break;
            }
        }
    }
    let expected = match refused {
        None => Body::Form(read),
        Some(name) => Body::BadForm(format!(
            "the form field '{}' is not UTF-8 text: send the form in UTF-8, or name the charset it is written in (charset=ISO-8859-1)",
            mxid_sandbox::engine::quoted(name)
        )),
    };
    assert_eq!(
        through_request,
        expected,
        "MULTIPART CONTENT TYPE: the request's body differs from parse_multipart's\ncontent type: {content_type:?}\nbody: {:?}",
        String::from_utf8_lossy(&body)
    );
}

fn case_starts_with_delim(body: &[u8], boundary: &str) -> bool {
    body.starts_with(format!("--{boundary}").as_bytes())
}

struct Case {
    boundary: String,
    content_type: String,
    body: Vec<u8>,
    fields: Vec<(String, Vec<u8>)>,
    /// Whether each field is a file's (its disposition has a `filename`).
    files: Vec<bool>,
    lf: bool,
    /// Where the close delimiter's `--` after the boundary ends.
    close: usize,
}

fn gen_multipart(u: &mut Unstructured) -> AResult<Case> {
    let len = u.int_in_range(1..=70)?;
    let mut boundary = String::new();
    for _ in 0..len {
        boundary.push(*u.choose(BCHARS)? as char);
    }
    // Not ending in a space (RFC 2046).
    while boundary.ends_with(' ') {
        boundary.pop();
    }
    if boundary.is_empty() {
        boundary.push('B');
    }
    let lf = u.ratio(1, 4)?;
    let nl = if lf { "\n" } else { "\r\n" };
    let param = random_case(u, "boundary")?;
    let bval = if is_token(&boundary) && u.ratio(3, 4)? {
        boundary.clone()
    } else {
        quoted(u, &boundary)?
    };
    let content_type = format!("{}; {param}={bval}", random_case(u, "multipart/form-data")?);
    let mut body = Vec::new();
    // A preamble: text on lines of its own (one that holds the delimiter
    // makes the input skipped).
    if u.ratio(1, 3)? {
        let mut pre = gen_value_bytes(u, &boundary, lf)?;
        pre.extend_from_slice(nl.as_bytes());
        body.extend_from_slice(&pre);
    }
    let parts = u.int_in_range(1..=4)?;
    let mut fields = Vec::new();
    let mut files = Vec::new();
    for k in 0..parts {
        if k > 0 {
            body.extend_from_slice(nl.as_bytes());
        }
        body.extend_from_slice(format!("--{boundary}").as_bytes());
        // Transport padding.
        if u.ratio(1, 6)? {
            let n = u.int_in_range(1..=3)?;
            for _ in 0..n {
                body.push(*u.choose(b" \t")?);
            }
        }
        body.extend_from_slice(nl.as_bytes());
        let name = gen_name(u)?;
        let name_param = format!(
            "{}={}",
            random_case(u, "name")?,
            if is_token(&name) && u.ratio(1, 2)? {
                name.clone()
            } else {
                quoted(u, &name)?
            }
        );
        let mut params = vec![name_param];
        let file = u.ratio(1, 3)?;
        if file {
            let f = gen_name(u)?;
            params.insert(
                u.int_in_range(0..=1)?,
                format!("filename={}", quoted(u, &f)?),
            );
        }
        let mut disposition = random_case(u, "form-data")?;
        for p in &params {
            disposition.push(';');
            if u.ratio(3, 4)? {
                disposition.push(' ');
            }
            disposition.push_str(p);
        }
        let mut headers = vec![format!(
            "{}:{}{disposition}",
            random_case(u, "Content-Disposition")?,
            if u.ratio(3, 4)? { " " } else { "" }
        )];
        if u.ratio(1, 3)? {
            headers.insert(
                u.int_in_range(0..=1)?,
                "Content-Type: text/plain; charset=utf-8".to_string(),
            );
        }
        for h in headers {
            body.extend_from_slice(h.as_bytes());
            body.extend_from_slice(nl.as_bytes());
        }
        body.extend_from_slice(nl.as_bytes());
        let value = gen_value_bytes(u, &boundary, lf)?;
        body.extend_from_slice(&value);
        fields.push((name, value));
        files.push(file);
    }
    body.extend_from_slice(nl.as_bytes());
    body.extend_from_slice(format!("--{boundary}--").as_bytes());
    let close = body.len();
    if u.ratio(1, 3)? {
        body.extend_from_slice(nl.as_bytes());
        let epilogue = gen_value_bytes(u, &boundary, lf)?;
        body.extend_from_slice(&epilogue);
    } else if u.ratio(3, 4)? {
        body.extend_from_slice(nl.as_bytes());
    }
    Ok(Case {
        boundary,
        content_type,
        body,
        fields,
        files,
        lf,
        close,
    })
}

/// Differences of a well-formed body that are the sandbox's choice.
fn known_multipart(lf: bool, fields: &[(String, Vec<u8>)]) -> Option<&'static str> {
    // In a bare-LF body (which RFC 2046 does not allow; Go's reader is
    // the one that takes it) the sandbox takes a CRLF before a delimiter
    // for a line break too, as a hand-written body may mix them: a value
    // that ends in CR loses it, where Go keeps it.
    if lf && fields.iter().any(|(_, v)| v.ends_with(b"\r")) {
        return Some("a CR ending a value of a bare-LF body");
    }
    None
}

/// A part as multer reads it: its name, if any, and its content.
type MulterPart = (Option<String>, Vec<u8>);

fn multer_fields(body: &[u8], boundary: &str) -> Result<Vec<MulterPart>, String> {
    let bytes = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(bytes) });
    let mut mp = multer::Multipart::new(stream, boundary);
    futures_executor::block_on(async move {
        let mut out = Vec::new();
        while let Some(field) = mp.next_field().await.map_err(|e| e.to_string())? {
            let name = field.name().map(str::to_string);
            let data = field.bytes().await.map_err(|e| e.to_string())?;
            out.push((name, data.to_vec()));
        }
        Ok(out)
    })
}

fn multipart_raw(data: &[u8]) {
    let (line, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => return,
    };
    let Ok(boundary) = std::str::from_utf8(line) else {
        return;
    };
    if boundary.is_empty() || boundary.len() > 70 || !boundary.bytes().all(|b| BCHARS.contains(&b))
    {
        return;
    }
    let ours = request::parse_multipart(body, boundary);
    let theirs = multer_fields(body, boundary);
    if debug() {
        eprintln!("parse_multipart: {ours:?}\nmulter: {theirs:?}");
    }
    let (Ok(ours), Ok(theirs)) = (&ours, &theirs) else {
        return;
    };
    // multer reads a part's name with a rougher parameter parser (case
    // sensitive, `\\` not undone, `name` found inside other parameters):
    // the names are held to property `M`; here the values.
    let ours_v: Vec<&[u8]> = ours.iter().map(|(_, v)| v.as_bytes()).collect();
    let theirs_v: Vec<String> = theirs
        .iter()
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    let theirs_v: Vec<&[u8]> = theirs_v.iter().map(|v| v.as_bytes()).collect();
    if ours_v != theirs_v
        && (report_known() || known_raw(body, boundary, &ours_v, &theirs_v).is_none())
    {
        panic!(
            "MULTIPART RAW: parse_multipart and multer read different values\nboundary: {boundary:?}\nbody: {:?}\nparse_multipart: {ours:?}\nmulter: {theirs:?}",
            String::from_utf8_lossy(body)
        );
    }
}

/// Malformed bodies where the sandbox and multer differ by a choice of the
/// sandbox's, already reported.
fn known_raw(
    body: &[u8],
    boundary: &str,
    ours: &[&[u8]],
    theirs: &[&[u8]],
) -> Option<&'static str> {
    // multer's (not the sandbox's): a part with no content at all, its
    // headers' blank line right before the delimiter (`…\r\n\r\n--XyZ`,
    // RFC 2046 `body-part := MIME-part-headers [CRLF *OCTET]`: the CRLF of
    // the blank line is the delimiter's), ends there to RFC 2046, Go's
    // reader and the sandbox (an empty value); multer reads on.
    let dash = format!("--{boundary}");
    if ours
        .iter()
        .zip(theirs)
        .any(|(o, t)| o.is_empty() && t.starts_with(dash.as_bytes()))
    {
        return Some("multer: no delimiter right after the headers");
    }
    // multer's: it takes the body's first `--boundary` anywhere, even
    // inside a line (RFC 2046, Go's reader and the sandbox: only at a
    // line's start).
    if find(body, dash.as_bytes()).is_some_and(|i| i > 0 && body[i - 1] != b'\n') {
        return Some("multer: the first boundary inside a line");
    }
    // The sandbox's choice (src/request.rs, `blank_line`: "The first
    // blank line from `from`, CRLF or bare LF"; not in README): a part's
    // headers end at a blank line of either style, so a bare LF blank line
    // inside a CRLF body's headers ends them there; multer (CRLF only)
    // reads on to CRLF CRLF. Such headers are malformed (RFC 5322: no bare
    // LF in a header), so either reading is defensible.
    for (i, w) in body.windows(2).enumerate() {
        let bare = i == 0 || body[i - 1] != b'\r';
        // `\n\n` ends in a bare LF, whatever is before it.
        if w == b"\n\n" || (bare && w == b"\n\r" && body.get(i + 2) == Some(&b'\n')) {
            return Some("a bare LF blank line");
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let pick = forced().unwrap_or(first);
    let pick = match pick {
        b'u' | b'j' | b'g' | b'M' | b'm' => pick,
        other => b"ujgMm"[other as usize % 5],
    };
    match pick {
        b'u' => urlencoded(rest),
        b'j' => json_raw(rest),
        b'g' => json_generated(rest),
        b'M' => multipart_generated(rest),
        _ => multipart_raw(rest),
    }
});
