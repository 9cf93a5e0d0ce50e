//! The scenario model: `scenarios/<provider>.yaml` parsed, validated and
//! compiled once. Nothing here changes after load; runtime state lives in
//! [`super::namespace`].

use std::fmt;
use std::str::FromStr;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::latency::{Fault, Latency};
use super::template::Template;
use crate::yaml::Parsed;

/// Why a YAML file was refused: where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl LoadError {
    pub fn new(file: &str, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_string(),
            line: None,
            column: None,
            field: None,
            message: message.into(),
        }
    }

    /// Builds an error for `field`, pointing at `needle` in the block the
    /// field's path names ([`crate::yaml::locate`]): line and column.
    pub fn at(
        file: &str,
        text: &str,
        needle: &str,
        field: &str,
        message: impl Into<String>,
    ) -> LoadError {
        let at = crate::yaml::locate(text, field, needle);
        LoadError {
            file: file.to_string(),
            line: at.map(|(line, _)| line),
            column: at.map(|(_, column)| column),
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// Converts a serde_yaml_ng error, splitting out its path and location
    /// (which `text` gives when serde does not: a second document is at its
    /// `---`).
    pub fn from_yaml_in(file: &str, text: &str, err: &serde_yaml_ng::Error) -> LoadError {
        let mut e = LoadError::from_yaml(file, err);
        // serde_yaml_ng places a key written twice at its mapping's start:
        // the second writing is where the user looks. The key is read
        // from the whole message: the error's may be cut.
        let whole = crate::yaml::whole_message(err);
        if let (Some(line), Some(column), Some(key)) = (
            e.line,
            e.column,
            whole
                .split_once("duplicate entry with key \"")
                .and_then(|(_, k)| k.strip_suffix('"')),
        ) {
            if let Some((l, c)) = crate::yaml::second_key(text, line, column, key) {
                (e.line, e.column) = (Some(l), Some(c));
            }
        }
        // `curp: {{curp}}` unquoted is a flow mapping in a flow mapping
        // (serde's "invalid type: map"), `{{curp}}-001` one with text
        // after it (libyaml's "did not find expected key", or "… ',' or
        // '}'" inside a flow mapping). Only those errors are told of it:
        // another on a line with a placeholder (an unknown field beside
        // `"CURP {{curp}}"`) has its own cause.
        let placeholder_error = e.message.starts_with("invalid type: map")
            || e.message.contains("did not find expected");
        let unquoted_placeholder = e.line.filter(|_| placeholder_error).and_then(|line| {
            let l = text.lines().nth(line.checked_sub(1)?)?;
            let (at, _) = l
                .match_indices("{{")
                .find(|(at, _)| !in_quotes_or_comment(&l[..*at]))?;
            let name = &l[at..];
            Some(match name.find("}}") {
                Some(end) if end <= 64 => name[..end + 2].to_string(),
                _ => "{{curp}}".to_string(),
            })
        });
        if let Some(placeholder) = unquoted_placeholder {
            e.message.push_str(&format!(
                ": a placeholder is text, written in quotes with any text around it (\"{placeholder}\")"
            ));
        }
        if e.line.is_none() && e.message.contains("more than one document") {
            // The first `---` after some content, in one pass.
            let mut content = false;
            e.line = text.lines().enumerate().find_map(|(i, l)| {
                if l.trim_end() == "---" {
                    return content.then_some(i + 1);
                }
                content |= !l.trim().is_empty() && !l.trim_start().starts_with('#');
                None
            });
            e.column = e.line.map(|_| 1);
        }
        e
    }

    /// Converts a serde_yaml_ng error, splitting out its path and location
    /// ([`crate::yaml::error_parts`]).
    pub fn from_yaml(file: &str, err: &serde_yaml_ng::Error) -> LoadError {
        let (field, message) = crate::yaml::error_parts(err);
        let loc = err.location();
        LoadError {
            file: file.to_string(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            field,
            message,
        }
    }
}

/// Whether text that ends with `before` is inside a quoted YAML scalar or
/// a comment on its line. A quote opens a scalar only where one starts (the
/// line's start, after `:`, `,`, `[`, `{`, `-` and spaces, or after a tag
/// or an anchor: `!!str "…"`, `&a '…'`): elsewhere, as in `it's`, it is
/// text. Inside double quotes `\"` is no end; inside single quotes `''`
/// ends and opens again, which comes to the same. A `#` after a space, or
/// at the line's start, begins a comment.
fn in_quotes_or_comment(before: &str) -> bool {
    scan(before) != Scanned::Text
}

/// Where text that ends with `before` stands on its line (see
/// [`in_quotes_or_comment`]).
#[derive(PartialEq)]
enum Scanned {
    Text,
    Quoted,
    Comment,
}

fn scan(before: &str) -> Scanned {
    let mut open: Option<char> = None;
    let mut escaped = false;
    let mut scalar_starts = true;
    // The last character closed single quotes: a `'` now is `''`.
    let mut closed_single = false;
    // Inside a tag or an anchor, after which a scalar starts.
    let mut property = false;
    let mut after_space = true;
    for c in before.chars() {
        let was_closed_single = std::mem::take(&mut closed_single);
        match open {
            Some('"') if c == '\\' => {
                escaped = !escaped;
                continue;
            }
            Some(q) if c == q && !escaped => {
                open = None;
                closed_single = q == '\'';
            }
            None if c == '\'' && was_closed_single => open = Some(c),
            None if (c == '"' || c == '\'') && scalar_starts => open = Some(c),
            None if c == '#' && after_space => return Scanned::Comment,
            _ => {}
        }
        escaped = false;
        if open.is_none() {
            if c.is_whitespace() {
                if std::mem::take(&mut property) {
                    scalar_starts = true;
                }
            } else if scalar_starts && (c == '!' || c == '&') {
                (property, scalar_starts) = (true, false);
            } else if !property {
                scalar_starts = matches!(c, ':' | ',' | '[' | '{' | '-');
            }
        }
        after_space = c.is_whitespace();
    }
    if open.is_some() {
        Scanned::Quoted
    } else {
        Scanned::Text
    }
}

/// Headers a scenario may not set: the server frames the body and manages
/// the connection, and a wrong `content-length` breaks the answer.
const RESERVED_HEADERS: [&str; 6] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
];

/// Route parameters (`{id}`, `{*rest}`) a path may have: below matchit's
/// own limit of 25, past which it panics.
const MAX_ROUTE_PARAMS: usize = 16;

/// The route parameters of a path: its `{`s, an escaped `{{` not one.
fn route_params(path: &str) -> usize {
    path.split("{{").map(|part| part.matches('{').count()).sum()
}

/// A YAML document as [`check_yaml`] walks it: a mapping's entries as
/// written, none merged or dropped. serde_yaml_ng's `Value` compares keys
/// as values (`True:` and `true:`, `~:` and `null:` are one key to it),
/// where the loaders read each key as the text it is written with.
enum Node {
    Text(String),
    Float(f64),
    Other,
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        use serde::de::{EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

        struct Any;

        impl<'de> Visitor<'de> for Any {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Text(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Sequence(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Mapping(entries))
            }
            // A tagged value (`!t x`): the value under its tag.
            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
                let (_tag, value) = data.variant::<serde::de::IgnoredAny>()?;
                value.newtype_variant()
            }
        }

        d.deserialize_any(Any)
    }
}

/// What the typed loaders cannot see in a user's file, checked on the YAML
/// itself: a key written twice in one mapping (the typed maps would keep
/// the last silently), a merge key (`<<`), which serde does not apply (in a
/// body it would reach clients as a literal `"<<"` key), and `.inf` or
/// `.nan`, which JSON cannot carry (a client would get `null`).
pub fn check_yaml(file: &str, text: &str) -> Result<(), LoadError> {
    check_yaml_walking(file, text, false)
}

/// [`check_yaml`], the document walked whatever the replay met when
/// `always`.
fn check_yaml_walking(file: &str, text: &str, always: bool) -> Result<(), LoadError> {
    // Before anything is built of it: how deep its flow collections nest,
    // how far its aliases expand it, and its keys as the loaders read them
    // (`1:` and `"1":` are two keys to YAML, one to a loader, which keeps
    // the last).
    if let Some(line) = crate::yaml::too_deep(text) {
        return Err(LoadError {
            line: Some(line),
            ..LoadError::new(
                file,
                format!(
                    "brackets nest deeper than {} levels",
                    crate::yaml::MAX_FLOW_DEPTH
                ),
            )
        });
    }
    let whole_and_usual =
        crate::yaml::replay(text).map_err(|e| LoadError::from_yaml_in(file, text, &e))?;
    if whole_and_usual && !always {
        // Nothing for the walk below to find, and nothing its parse would
        // refuse (the replay read every value the parse reads): a user's
        // file is parsed three times, not four.
        return Ok(());
    }
    let doc: Node =
        serde_yaml_ng::from_str(text).map_err(|e| LoadError::from_yaml_in(file, text, &e))?;
    /// Where a value stands: its parent's path and its own key or index,
    /// written out only for the error (a long key over many values would
    /// otherwise be copied once for each of them).
    #[derive(Clone, Copy)]
    struct At<'a> {
        parent: Option<&'a At<'a>>,
        key: Option<&'a str>,
        index: Option<usize>,
    }
    impl At<'_> {
        fn path(&self) -> String {
            let mut path = self.parent.map(At::path).unwrap_or_default();
            if let Some(key) = self.key {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            if let Some(i) = self.index {
                path.push_str(&format!("[{i}]"));
            }
            path
        }
    }
    /// The first unsupported thing under `v`: its path, a needle for its
    /// line, and what is wrong.
    fn unsupported(v: &Node, at: &At) -> Option<(String, String, String)> {
        match v {
            Node::Mapping(m) => m.iter().find_map(|(k, v)| {
                let key = match k {
                    Node::Text(k) => k.as_str(),
                    _ => "",
                };
                if key == "<<" {
                    return Some((at.path(), "<<".to_string(), "merge keys (<<) are not supported: refer to the whole anchored value (*name), or write the keys out".to_string()));
                }
                let inner = At {
                    parent: Some(at),
                    key: Some(key),
                    index: None,
                };
                unsupported(v, &inner)
            }),
            Node::Sequence(items) => items.iter().enumerate().find_map(|(i, v)| {
                let inner = At {
                    parent: Some(at),
                    key: None,
                    index: Some(i),
                };
                unsupported(v, &inner)
            }),
            Node::Float(f) if !f.is_finite() => Some((
                at.path(),
                if f.is_nan() { ".nan" } else { ".inf" }.to_string(),
                "JSON has no infinity or NaN (a client would get null): write a number, or a string".to_string(),
            )),
            _ => None,
        }
    }
    let root = At {
        parent: None,
        key: None,
        index: None,
    };
    match unsupported(&doc, &root) {
        Some((path, needle, message)) => Err(LoadError::at(file, text, &needle, &path, message)),
        None => Ok(()),
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        // A path names keys of the file: a long one is cut, as a value is.
        if let Some(field) = &self.field {
            write!(f, ": {}", super::quoted(field))?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// The error kinds the engine answers itself, in the provider's own shape.
const ENGINE_ERRORS: [&str; 4] = [
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "malformed_body",
];

/// One provider's file, compiled.
#[derive(Debug, Clone)]
pub struct ProviderDef {
    pub id: String,
    /// The file it was read from, and its text: what a conflict found
    /// later, across providers (a path two of them claim), is reported at.
    pub file: String,
    pub text: std::sync::Arc<str>,
    /// Read from the binary, not from the user's folder (whatever the
    /// folder's name).
    pub embedded: bool,
    pub description: String,
    pub case_insensitive: bool,
    pub prefixes: Vec<String>,
    pub latency: Option<Latency>,
    pub settings: SettingsMap,
    pub errors: IndexMap<String, Scenario>,
    pub endpoints: Vec<EndpointDef>,
}

impl ProviderDef {
    pub fn endpoint(&self, id: &str) -> Option<&EndpointDef> {
        self.endpoints.iter().find(|e| e.id == id)
    }

    /// A numeric setting, or `default` when the file does not set it.
    /// `null` (or `off`) turns a limit off, which reads as `None`.
    pub fn limit(&self, key: &str, default: Option<u64>) -> Option<u64> {
        match self.settings.get(key) {
            None => default,
            Some(v) => v.as_u64(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EndpointDef {
    pub id: String,
    pub methods: Vec<Method>,
    pub paths: Vec<String>,
    pub scenarios: IndexMap<String, Scenario>,
}

impl EndpointDef {
    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.get(name)
    }

    /// Whether it answers `method` (as the file writes methods, in
    /// capitals).
    pub fn takes(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }

    /// The path the catalog and the journal show for this endpoint.
    pub fn path(&self) -> &str {
        self.paths.first().map(String::as_str).unwrap_or("")
    }
}

/// A named outcome of one endpoint.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Interned ([`intern`]): every reply and journal entry names its
    /// scenario, and a `&'static str` is named without a reference count
    /// that every worker would write.
    pub name: &'static str,
    /// `X-Sandbox-Scenario: NAME`, built once over the interned name (its
    /// clones copy a pointer).
    pub name_header: Option<HeaderValue>,
    pub description: String,
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, Template)>,
    pub body: Template,
    /// The body is text, its placeholders written as text: one string
    /// under a Content-Type of the scenario's own that is not JSON.
    pub text_body: bool,
    pub latency: Option<Latency>,
    pub fault: Option<Fault>,
    /// Free-form values the provider module reads (a CURP status to force, the
    /// outcome of an async verification…).
    pub data: Value,
}

impl Scenario {
    /// Whether the body or a header names a variable that `wanted` picks:
    /// a provider skips the work of values no part of the answer states.
    pub fn uses(&self, wanted: impl Fn(&str) -> bool) -> bool {
        self.body.variables().any(&wanted)
            || self.headers.iter().any(|(_, t)| t.variables().any(&wanted))
    }

    /// A string from `data`.
    pub fn data_str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }
}

// ---- the YAML as written -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    provider: String,
    #[serde(default, deserialize_with = "crate::yaml::nullable_text")]
    description: String,
    #[serde(default)]
    case_insensitive: bool,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    latency: Option<Parsed<Latency>>,
    #[serde(default)]
    settings: SettingsMap,
    #[serde(default)]
    errors: IndexMap<String, RawScenario>,
    endpoints: IndexMap<String, RawEndpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    // Names, checked after parsing (which method is wrong is said then);
    // the shape is checked here, at the value.
    method: Methods,
    paths: Vec<String>,
    scenarios: IndexMap<String, RawScenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    /// `~` read as no description (serde would show the text "~").
    #[serde(deserialize_with = "crate::yaml::nullable_text")]
    description: String,
    status: YamlStatus,
    #[serde(default)]
    /// `null` read as no value (serde would take it as the text "null").
    headers: IndexMap<String, Option<String>>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    latency: Option<Parsed<Latency>>,
    #[serde(default)]
    fault: Option<Parsed<Fault>>,
    #[serde(default)]
    data: Value,
}

/// `method: POST` or `method: [GET, POST]`, read by a visitor of its own:
/// an untagged enum would report a wrong shape at the endpoint, not at
/// `method`.
struct Methods(Vec<String>);

impl<'de> Deserialize<'de> for Methods {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;

        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = Methods;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a method name such as POST, or a list of them")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Methods, E> {
                Ok(Methods(vec![v.to_string()]))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Methods, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(Methods(names))
            }
        }

        d.deserialize_any(Names)
    }
}

/// An HTTP status, checked while serde still points at it (see
/// [`crate::yaml`]: the error names the line and the `status` key).
struct YamlStatus(StatusCode);

impl<'de> Deserialize<'de> for YamlStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Number;

        impl serde::de::Visitor<'_> for Number {
            type Value = YamlStatus;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HTTP status from 200 to 599")
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<YamlStatus, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "{n} is not the status of an answer, 200 to 599 (a 1xx is not final)"
                    ))),
                }
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<YamlStatus, E> {
                u16::try_from(n)
                    .ok()
                    .filter(|n| (200..=599).contains(n))
                    .and_then(|n| StatusCode::from_u16(n).ok())
                    .map(YamlStatus)
                    .ok_or_else(|| {
                        E::custom(format!(
                            "{n} is not the status of an answer, 200 to 599 (a 1xx is not final)"
                        ))
                    })
            }
        }

        // Any number: a negative one is told the range, as a large one is.
        d.deserialize_any(Number)
    }
}

/// An endpoint's method by name, in any case.
fn method(name: &str) -> Result<Method, String> {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::GET),
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "PATCH" => Ok(Method::PATCH),
        "DELETE" => Ok(Method::DELETE),
        _ => Err(format!(
            "unsupported method '{}'; use GET, POST, PUT, PATCH or DELETE",
            super::quoted(name)
        )),
    }
}

/// What a provider module declares, so that its file can be checked against it.
pub struct Expect<'a> {
    pub id: &'a str,
    pub endpoints: &'a [&'a str],
    pub variables: &'a [&'a str],
    /// The placeholders the module fills in its `errors:` entries.
    pub error_variables: &'a [&'a str],
    /// The keys of `data:` the module reads.
    pub data_keys: &'a [&'a str],
    /// Those of them that are whole numbers; the others are text.
    pub data_numbers: &'a [&'a str],
    /// Scenarios every endpoint must define because the module answers with them.
    pub required: &'a dyn Fn(&str) -> Vec<&'static str>,
    /// The module's check of `settings:`.
    pub settings: &'a dyn Fn(&SettingsMap) -> Result<(), SettingsError>,
}

/// A provider file's `settings:`.
pub type SettingsMap = serde_json::Map<String, Value>;

/// A value of the file as JSON writes it, a string's text cut to its first
/// 256 bytes first (so that the count is of the text), a list's or a map's
/// JSON cut outside its escapes.
fn quoted_value(v: &Value) -> String {
    match v {
        Value::String(s) => Value::from(super::quoted(s)).to_string(),
        other => crate::yaml::cut_escaped(&other.to_string()).into_owned(),
    }
}

/// Why a provider's `settings:` cannot be read: the key at fault and what
/// is wrong with it. Shown as `settings.KEY: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub key: String,
    pub message: String,
}

impl SettingsError {
    pub fn at(key: &str, message: impl Into<String>) -> SettingsError {
        SettingsError {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl std::error::Error for SettingsError {}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "settings.{}: {}", self.key, self.message)
    }
}

/// The common check of a provider's `settings:`: every key is one of
/// `limits` or `others`, and a limit is a whole number, or `null` / `off`
/// for none. `others` are checked by the module.
pub fn check_limits(
    settings: &SettingsMap,
    limits: &[&str],
    others: &[&str],
) -> Result<(), SettingsError> {
    for (key, value) in settings {
        if limits.contains(&key.as_str()) {
            let off = value.is_null() || value.as_str() == Some("off");
            if !off && value.as_u64().is_none() {
                return Err(SettingsError::at(
                    key,
                    format!(
                        "write a whole number, or null (or off) for no limit; got {}",
                        quoted_value(value)
                    ),
                ));
            }
        } else if !others.contains(&key.as_str()) {
            let known: Vec<&str> = limits.iter().chain(others).copied().collect();
            return Err(SettingsError::at(
                key,
                format!(
                    "unknown setting; {}",
                    if known.is_empty() {
                        "this provider has none".to_string()
                    } else {
                        format!("the settings are {}", known.join(", "))
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// Variables the engine itself fills for every template.
const ENGINE_VARIABLES: [&str; 2] = ["scenario", "now"];

/// What the engine fills in an `errors:` entry besides [`ENGINE_VARIABLES`].
const ERROR_VARIABLES: [&str; 1] = ["message"];

/// Parses and validates one provider file.
pub fn parse_provider(
    file: &str,
    text: &str,
    expect: &Expect<'_>,
) -> Result<ProviderDef, LoadError> {
    let raw: RawFile =
        serde_yaml_ng::from_str(text).map_err(|e| LoadError::from_yaml_in(file, text, &e))?;
    if raw.provider != expect.id {
        return Err(LoadError::at(
            file,
            text,
            "provider:",
            "provider",
            format!(
                "this file is for '{}' but is named for '{}'",
                super::quoted(&raw.provider),
                expect.id
            ),
        ));
    }
    let mut endpoints = Vec::new();
    // Each endpoint's id and the required scenarios it lacks.
    let mut missing: Vec<(String, Vec<&str>)> = Vec::new();
    for (id, ep) in raw.endpoints {
        if !expect.endpoints.contains(&id.as_str()) {
            return Err(LoadError::at(
                file,
                text,
                &format!("{id}:"),
                &format!("endpoints.{id}"),
                format!(
                    "{} has no endpoint '{}'; its endpoints are {}",
                    expect.id,
                    super::quoted(&id),
                    expect.endpoints.join(", ")
                ),
            ));
        }
        let names = ep.method.0;
        let methods = names
            .iter()
            .map(|name| {
                method(name).map_err(|why| {
                    let field = format!("endpoints.{id}.method");
                    LoadError::at(file, text, name, &field, why)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if methods.is_empty() {
            return Err(LoadError::at(
                file,
                text,
                &format!("{id}:"),
                &format!("endpoints.{id}.method"),
                "needs at least one method",
            ));
        }
        if ep.paths.is_empty() {
            return Err(LoadError::at(
                file,
                text,
                &format!("{id}:"),
                &format!("endpoints.{id}.paths"),
                "needs at least one path",
            ));
        }
        for p in &ep.paths {
            if !p.starts_with('/') || p.starts_with("/__admin") {
                return Err(LoadError::at(
                    file,
                    text,
                    p,
                    &format!("endpoints.{id}.paths"),
                    format!(
                        "'{}' must start with / and stay out of /__admin",
                        super::quoted(p)
                    ),
                ));
            }
            // Requests are routed as sent: percent-encoded, a trailing slash
            // trimmed. A path written otherwise would load and never answer.
            if p.bytes().any(|b| !b.is_ascii_graphic()) {
                return Err(LoadError::at(
                    file,
                    text,
                    p,
                    &format!("endpoints.{id}.paths"),
                    format!("'{}' has a character a request line cannot carry: write it percent-encoded, as clients send it (%20 for a space)", super::quoted(p)),
                ));
            }
            if p.len() > 1 && p.ends_with('/') {
                return Err(LoadError::at(
                    file,
                    text,
                    p,
                    &format!("endpoints.{id}.paths"),
                    format!("'{}' ends with /: write it without; a request with or without the slash reaches it", super::quoted(p)),
                ));
            }
            if p.contains(['?', '#']) {
                return Err(LoadError::at(
                    file,
                    text,
                    p,
                    &format!("endpoints.{id}.paths"),
                    format!("'{}' holds a query or a fragment ('?' or '#'): a request's path never does; scenarios read the query themselves", super::quoted(p)),
                ));
            }
            // matchit holds at most 25 parameters a path (and panics past
            // them); no API's path comes near a few.
            if route_params(p) > MAX_ROUTE_PARAMS {
                return Err(LoadError::at(
                    file,
                    text,
                    p,
                    &format!("endpoints.{id}.paths"),
                    format!(
                        "'{}' has {} parameters: a path takes at most {MAX_ROUTE_PARAMS}",
                        super::quoted(p),
                        route_params(p)
                    ),
                ));
            }
        }
        let mut scenarios = IndexMap::new();
        for (name, raw) in ep.scenarios {
            let field = format!("endpoints.{id}.scenarios.{name}");
            let sc = compile_scenario(file, text, &field, &name, raw, expect, Entry::Scenario)?;
            scenarios.insert(name, sc);
        }
        let lacks: Vec<&str> = (expect.required)(&id)
            .into_iter()
            .filter(|needed| !scenarios.contains_key(*needed))
            .collect();
        if !lacks.is_empty() {
            missing.push((id.clone(), lacks));
        }
        endpoints.push(EndpointDef {
            id,
            methods,
            paths: ep.paths,
            scenarios,
        });
    }
    // Every endpoint's at once, at the first's: a file written from
    // nothing would otherwise take a run of `check` for each.
    if let Some((first, _)) = missing.first() {
        let count: usize = missing.iter().map(|(_, m)| m.len()).sum();
        let names = |m: &[&str]| {
            m.iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let listed = match &missing[..] {
            [(_, m)] => names(m),
            all => (all.iter())
                .map(|(id, m)| format!("{id} {}", names(m)))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let s = if count > 1 { "s" } else { "" };
        return Err(LoadError::at(
            file,
            text,
            &format!("{first}:"),
            &format!("endpoints.{first}.scenarios"),
            format!(
                "missing scenario{s} {listed}, which {} answers with",
                expect.id
            ),
        ));
    }
    for id in expect.endpoints {
        if !endpoints.iter().any(|e| e.id == *id) {
            return Err(LoadError::at(
                file,
                text,
                "endpoints:",
                "endpoints",
                format!("missing endpoint '{id}'"),
            ));
        }
    }
    if let Err(why) = (expect.settings)(&raw.settings) {
        return Err(LoadError::at(
            file,
            text,
            &format!("{}:", why.key),
            &format!("settings.{}", why.key),
            why.message,
        ));
    }
    let mut errors = IndexMap::new();
    for (name, raw) in raw.errors {
        let field = format!("errors.{name}");
        if !ENGINE_ERRORS.contains(&name.as_str()) {
            return Err(LoadError::at(
                file,
                text,
                &format!("{name}:"),
                &field,
                format!(
                    "unknown error kind '{}'; the kinds are {}",
                    super::quoted(&name),
                    ENGINE_ERRORS.join(", ")
                ),
            ));
        }
        errors.insert(
            name.clone(),
            compile_scenario(file, text, &field, &name, raw, expect, Entry::EngineError)?,
        );
    }
    for kind in ENGINE_ERRORS {
        if !errors.contains_key(kind) {
            return Err(LoadError::at(
                file,
                text,
                "errors:",
                "errors",
                format!("missing error kind '{kind}'"),
            ));
        }
    }
    if let Some(p) = raw.prefixes.iter().find(|p| !p.starts_with('/')) {
        return Err(LoadError::at(
            file,
            text,
            p,
            "prefixes",
            format!(
                "'{}' must start with /, as the paths it is the start of",
                super::quoted(p)
            ),
        ));
    }
    Ok(ProviderDef {
        id: raw.provider,
        file: file.to_string(),
        text: text.into(),
        embedded: false,
        description: raw.description,
        case_insensitive: raw.case_insensitive,
        prefixes: raw.prefixes,
        latency: raw.latency.map(|l| l.0),
        settings: raw.settings,
        errors,
        endpoints,
    })
}

/// What a compiled scenario is: which placeholders it may use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// An endpoint's scenario: the engine's and the module's values.
    Scenario,
    /// An `errors:` entry: the engine's error values and the module's
    /// [`Expect::error_variables`], not the module's scenario values.
    EngineError,
}

/// Compiles one scenario or `errors:` entry.
fn compile_scenario(
    file: &str,
    text: &str,
    field: &str,
    name: &str,
    raw: RawScenario,
    expect: &Expect<'_>,
    entry: Entry,
) -> Result<Scenario, LoadError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return Err(LoadError::at(
            file,
            text,
            &format!("{name}:"),
            field,
            "scenario names are lowercase letters, digits and _",
        ));
    }
    let (module, engine): (&[&str], &[&str]) = if entry == Entry::EngineError {
        (expect.error_variables, &ERROR_VARIABLES)
    } else {
        (expect.variables, &[])
    };
    let filled = || {
        let all: Vec<&str> = module
            .iter()
            .chain(engine)
            .chain(&ENGINE_VARIABLES)
            .copied()
            .collect();
        let here = if entry == Entry::EngineError {
            " in an errors: entry"
        } else {
            ""
        };
        format!("{} fills {}{here}", expect.id, all.join(", "))
    };
    let misspelled = |m: &str, at: String| {
        let mut e = LoadError::at(
            file,
            text,
            m,
            &format!("{field}.{at}"),
            format!(
                "'{}' is no placeholder, and would be sent as written: a placeholder is a name in two braces ({{{{curp}}}}); {}",
                super::quoted(m),
                filled()
            ),
        );
        // `{{curp}` is also the start of a `{{curp}}` above it.
        if let Some((line, column)) = written_wrong_at(text, e.line.unwrap_or(1), m) {
            (e.line, e.column) = (Some(line), Some(column));
        }
        e
    };
    let mut headers = Vec::new();
    // The Content-Type the scenario writes, as written.
    let mut own_type = None;
    for (k, v) in raw.headers {
        let hname = HeaderName::from_str(&k).map_err(|_| {
            LoadError::at(
                file,
                text,
                &k,
                &format!("{field}.headers"),
                format!("'{}' is not a header name", super::quoted(&k)),
            )
        })?;
        if RESERVED_HEADERS.contains(&hname.as_str())
            || hname
                .as_str()
                .starts_with(crate::request::SANDBOX_HEADER_PREFIX)
        {
            return Err(LoadError::at(
                file,
                text,
                &k,
                &format!("{field}.headers.{k}"),
                "the server writes this header itself (the body's framing, the connection, the sandbox's own headers)",
            ));
        }
        if headers.iter().any(|(h, _)| *h == hname) {
            return Err(LoadError::at(
                file,
                text,
                &k,
                &format!("{field}.headers.{k}"),
                "written twice: header names ignore case; write it once (several values go in one, comma-separated)",
            ));
        }
        let Some(v) = v else {
            return Err(LoadError::at(
                file,
                text,
                &k,
                &format!("{field}.headers.{k}"),
                "a header needs a value (null is none)",
            ));
        };
        if super::header_value(&v).is_err() {
            // The line of the name: a value that is not a header value has a
            // control character, written as an escape, so the value as parsed
            // is not in the text.
            return Err(LoadError::at(
                file,
                text,
                &k,
                &format!("{field}.headers.{k}"),
                "not a valid header value",
            ));
        }
        if let Some(m) = super::template::misspelled_placeholder(&v) {
            return Err(misspelled(m, format!("headers.{k}")));
        }
        if hname == hyper::header::CONTENT_TYPE {
            own_type = Some(v.to_ascii_lowercase());
        }
        headers.push((hname, Template::text(&v)));
    }
    match &raw.data {
        Value::Null => {}
        Value::Object(m) => {
            for (k, v) in m {
                if !expect.data_keys.contains(&k.as_str()) {
                    let reads = if expect.data_keys.is_empty() {
                        "none".to_string()
                    } else {
                        expect.data_keys.join(", ")
                    };
                    return Err(LoadError::at(
                        file,
                        text,
                        k,
                        &format!("{field}.data"),
                        format!(
                            "unknown key '{}'; {} reads {reads}",
                            super::quoted(k),
                            expect.id
                        ),
                    ));
                }
                let (fits, want) = if expect.data_numbers.contains(&k.as_str()) {
                    (v.is_u64(), "a whole number")
                } else {
                    (v.is_string(), "text (quote a number)")
                };
                if !fits {
                    return Err(LoadError::at(
                        file,
                        text,
                        k,
                        &format!("{field}.data.{k}"),
                        format!("{want}, not {}", quoted_value(v)),
                    ));
                }
            }
        }
        _ => {
            return Err(LoadError::at(
                file,
                text,
                "data:",
                &format!("{field}.data"),
                "a mapping of the keys the module reads",
            ))
        }
    }
    if let Some(key) = raw.body.as_ref().and_then(placeholder_key) {
        // Written as a key (quoted, as `{` asks), not the same text as a value.
        let needle = [format!("\"{key}\":"), format!("'{key}':")]
            .into_iter()
            .find(|n| text.contains(n.as_str()))
            .unwrap_or_else(|| key.clone());
        return Err(LoadError::at(
            file,
            text,
            &needle,
            &format!("{field}.body"),
            format!(
                "'{}': placeholders are filled in values, not in keys",
                super::quoted(&key)
            ),
        ));
    }
    let status = raw.status.0;
    let has_body = raw.body.as_ref().is_some_and(|b| !b.is_null());
    if has_body && matches!(status.as_u16(), 204 | 304) {
        return Err(LoadError::at(
            file,
            text,
            "body:",
            &format!("{field}.body"),
            format!("a {status} answer has no body (HTTP sends none): remove it or use 200"),
        ));
    }
    if let Some(m) = raw.body.as_ref().and_then(misspelled_in) {
        return Err(misspelled(m, "body".into()));
    }
    // A body of one string under a Content-Type of the scenario's own that
    // is not JSON (a gateway's HTML error page) is that text.
    let text_body =
        own_type.is_some_and(|t| !is_json_type(&t)) && matches!(raw.body, Some(Value::String(_)));
    let body = match &raw.body {
        Some(Value::String(s)) if text_body => Template::text(s),
        Some(v) => Template::json(v),
        None => Template::default(),
    };
    let name = intern(name);
    let sc = Scenario {
        name,
        name_header: HeaderValue::from_maybe_shared(bytes::Bytes::from_static(name.as_bytes()))
            .ok(),
        description: raw.description,
        status,
        headers,
        body,
        text_body,
        latency: raw.latency.map(|l| l.0),
        fault: raw.fault.map(|f| f.0),
        data: raw.data,
    };
    let used = sc.body.variables().map(|v| (v, "body".to_string())).chain(
        sc.headers
            .iter()
            .flat_map(|(k, t)| t.variables().map(move |v| (v, format!("headers.{k}")))),
    );
    for (var, at) in used {
        if !module.contains(&var) && !engine.contains(&var) && !ENGINE_VARIABLES.contains(&var) {
            return Err(LoadError::at(
                file,
                text,
                &format!("{{{{{var}"),
                &format!("{field}.{at}"),
                format!(
                    "unknown placeholder {{{{{}}}}}; {}",
                    super::quoted(var),
                    filled()
                ),
            ));
        }
    }
    Ok(sc)
}

/// Whether a Content-Type (lower case) names JSON: `application/json`,
/// `text/json` or a `+json` type (`application/problem+json`), whatever its
/// parameters.
fn is_json_type(t: &str) -> bool {
    let essence = t.split(';').next().unwrap_or_default().trim();
    matches!(essence, "application/json" | "text/json") || essence.ends_with("+json")
}

/// The line and column (1-based) of the first mention of `snippet`, a
/// placeholder written wrong, from line `from` on that is itself written
/// wrong there (`{{curp}` also starts a `{{curp}}`).
fn written_wrong_at(text: &str, from: usize, snippet: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find_map(|(i, line)| {
            line.match_indices(snippet)
                // Never in a comment, which may quote anything.
                .filter(|&(at, _)| scan(&line[..at]) != Scanned::Comment)
                .find(|&(at, _)| {
                    // Read as far as it decides, and to a quote (where the
                    // string ends), so that a long line is read once.
                    let here = &line[at..];
                    let upto = (here.char_indices().nth(snippet.chars().count() + 2))
                        .map_or(here.len(), |(b, _)| b);
                    let here = &here[..upto];
                    let here = &here[..here.find(['"', '\'']).unwrap_or(here.len())];
                    super::template::misspelled_placeholder(here)
                        .is_some_and(|m| m.as_ptr() == here.as_ptr() && m.len() == snippet.len())
                })
                .map(|(at, _)| (i + 1, line[..at].chars().count() + 1))
        })
}

/// The first placeholder written wrong in a string of `v`
/// ([`super::template::misspelled_placeholder`]).
fn misspelled_in(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => super::template::misspelled_placeholder(s),
        Value::Array(items) => items.iter().find_map(misspelled_in),
        Value::Object(m) => m.values().find_map(misspelled_in),
        _ => None,
    }
}

/// The first object key in `v` with a `{{` in it.
fn placeholder_key(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| {
            if k.contains("{{") {
                Some(k.clone())
            } else {
                placeholder_key(v)
            }
        }),
        Value::Array(items) => items.iter().find_map(placeholder_key),
        _ => None,
    }
}

/// The one `'static` copy of a scenario name. Each distinct name is kept
/// once for the life of the process, however often the files are reloaded:
/// what grows it is only a reload that brings names never loaded before
/// (each at most a file's worth of them).
pub fn intern(name: &str) -> &'static str {
    // A set, not a list: a file of thousands of scenarios loads in linear
    // time. A std mutex: taken only while files load, never awaited in.
    static NAMES: std::sync::Mutex<Option<std::collections::HashSet<&'static str>>> =
        std::sync::Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let names = names.get_or_insert_with(Default::default);
    if let Some(known) = names.get(name) {
        return known;
    }
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_once() {
        let a = intern("names_are_kept_once");
        let b = intern(&String::from("names_are_kept_once"));
        assert!(std::ptr::eq(a, b), "one copy per distinct name");
        assert_ne!(intern("another_name"), a);
    }

    #[test]
    fn check_yaml_reads_keys_as_written_and_looks_under_tags() {
        // Two spellings of one YAML value are two keys to the loaders.
        for two in ["{True: a, true: b}", "{~: a, null: b}", "{0x10: a, 16: b}"] {
            assert!(check_yaml("f.yaml", two).is_ok(), "{two}");
        }
        assert!(check_yaml("f.yaml", "{a: 1, a: 2}").is_err());
        // Under a tag, `.inf` and `<<` are still found, at their path.
        for (text, field, needle) in [
            ("a: !t [1, .inf]", "a[1]", "infinity"),
            ("a: !t {<<: {b: 1}}", "a", "merge keys"),
        ] {
            let e = check_yaml("f.yaml", text).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    const OK: &str = r#"
provider: demo
errors:
  not_found: {description: x, status: 404, body: {error: "{{message}}"}}
  method_not_allowed: {description: x, status: 405}
  payload_too_large: {description: x, status: 413}
  malformed_body: {description: x, status: 400}
endpoints:
  one:
    method: POST
    paths: [/demo/one]
    scenarios:
      success:
        description: it works
        status: 200
        body: {curp: "{{curp}}"}
"#;

    fn expect() -> Expect<'static> {
        Expect {
            id: "demo",
            endpoints: &["one"],
            variables: &["curp"],
            error_variables: &[],
            data_keys: &["status", "down"],
            data_numbers: &["down"],
            required: &|_| vec!["success"],
            settings: &|s| check_limits(s, &["per_day"], &[]),
        }
    }

    #[test]
    fn parses_a_good_file() {
        let def = parse_provider("demo.yaml", OK, &expect()).unwrap();
        assert_eq!(def.endpoints[0].scenarios["success"].status, StatusCode::OK);
    }

    #[test]
    fn settings_are_checked_at_load() {
        let with =
            |settings: &str| OK.replace("errors:", &format!("settings:\n{settings}\nerrors:"));
        for good in ["  per_day: 3", "  per_day: null", "  per_day: off"] {
            parse_provider("demo.yaml", &with(good), &expect()).unwrap();
        }
        let err = parse_provider("demo.yaml", &with("  per_day: lots"), &expect()).unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        assert_eq!(err.field.as_deref(), Some("settings.per_day"), "{err}");
        assert!(err.message.contains("whole number"), "{err}");
        for bad in ["  per_day: -1", "  per_day: 2.5", "  per_day: \"2\""] {
            parse_provider("demo.yaml", &with(bad), &expect()).unwrap_err();
        }
        let err = parse_provider("demo.yaml", &with("  per_dya: 3"), &expect()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("settings.per_dya"), "{err}");
        assert!(err.message.contains("the settings are per_day"), "{err}");
    }

    #[test]
    fn reports_line_and_field() {
        let bad = OK.replace("status: 200", "status: 999");
        let err = parse_provider("demo.yaml", &bad, &expect()).unwrap_err();
        // A conversion error is reported at the value: its line and key.
        assert_eq!((err.line, err.column), (Some(15), Some(17)), "{err}");
        assert_eq!(
            err.field.as_deref(),
            Some("endpoints.one.scenarios.success.status"),
            "{err}"
        );
        assert!(err.message.contains("999"), "{err}");
        for (from, to, field) in [
            (
                "status: 200",
                "status: 200\n        latency: soon",
                "success.latency",
            ),
            (
                "status: 200",
                "status: 200\n        fault: fire",
                "success.fault",
            ),
            ("provider: demo", "provider: demo\nlatency: soon", "latency"),
        ] {
            let err = parse_provider("demo.yaml", &OK.replace(from, to), &expect()).unwrap_err();
            assert!(err.field.as_deref().unwrap_or("").ends_with(field), "{err}");
            let at = OK
                .replace(from, to)
                .lines()
                .position(|l| l.contains(": soon") || l.contains(": fire"));
            assert_eq!(err.line, at.map(|i| i + 1), "{err}");
        }

        let bad = OK.replace("{{curp}}", "{{nope}}");
        let err = parse_provider("demo.yaml", &bad, &expect()).unwrap_err();
        assert_eq!(err.line, Some(16), "{err}");
        assert!(err.message.contains("{{nope}}"), "{err}");

        let bad = OK.replace("description: it works", "descripton: it works");
        let err = parse_provider("demo.yaml", &bad, &expect()).unwrap_err();
        assert!(err.message.contains("descripton"), "{err}");

        // A wrong method is named, with its line, in either form.
        for form in ["method: FETCH", "method: [POST, FETCH]"] {
            let bad = OK.replace("method: POST", form);
            let err = parse_provider("demo.yaml", &bad, &expect()).unwrap_err();
            assert_eq!(err.line, Some(10), "{err}");
            assert_eq!(err.field.as_deref(), Some("endpoints.one.method"));
            assert!(err.message.contains("'FETCH'"), "{err}");
        }

        let bad = OK.replace("success:", "fine:");
        let err = parse_provider("demo.yaml", &bad, &expect()).unwrap_err();
        assert!(err.message.contains("missing scenario 'success'"), "{err}");
    }

    /// Parses `text`, which must be refused, and checks where and why.
    fn refused(text: &str, expect: &Expect<'_>, line: usize, field: &str, message: &str) {
        let err = parse_provider("demo.yaml", text, expect).unwrap_err();
        assert_eq!(err.file, "demo.yaml", "{err}");
        assert_eq!(err.line, Some(line), "{err}");
        assert_eq!(err.field.as_deref(), Some(field), "{err}");
        assert_eq!(err.message, message, "{err}");
        // file:line:column: field: message, as `check` prints it.
        let column = err.column.expect("a column");
        assert_eq!(
            err.to_string(),
            format!("demo.yaml:{line}:{column}: {field}: {message}")
        );
    }

    #[test]
    fn refuses_data_the_module_does_not_read() {
        let with = |data: &str| {
            OK.replace(
                "        status: 200\n",
                &format!("        status: 200\n        data: {data}\n"),
            )
        };
        parse_provider("demo.yaml", &with("{status: BD}"), &expect()).unwrap();
        let typo = with("{sttus: BD}");
        let line = typo.lines().position(|l| l.contains("sttus")).unwrap() + 1;
        refused(
            &typo,
            &expect(),
            line,
            "endpoints.one.scenarios.success.data",
            "unknown key 'sttus'; demo reads status, down",
        );
        // Text where text is read, a whole number where one is: a value of
        // another type would be read as absent.
        parse_provider("demo.yaml", &with("{status: BD, down: 2}"), &expect()).unwrap();
        for (data, key, message) in [
            ("{status: 5}", "status", "text (quote a number), not 5"),
            (
                "{status: [BD]}",
                "status",
                r#"text (quote a number), not ["BD"]"#,
            ),
            ("{down: two}", "down", r#"a whole number, not "two""#),
            ("{down: -1}", "down", "a whole number, not -1"),
        ] {
            refused(
                &with(data),
                &expect(),
                line,
                &format!("endpoints.one.scenarios.success.data.{key}"),
                message,
            );
        }
        refused(
            &with("[status]"),
            &expect(),
            line,
            "endpoints.one.scenarios.success.data",
            "a mapping of the keys the module reads",
        );
        let none = Expect {
            data_keys: &[],
            ..expect()
        };
        refused(
            &typo,
            &none,
            line,
            "endpoints.one.scenarios.success.data",
            "unknown key 'sttus'; demo reads none",
        );
    }

    #[test]
    fn refuses_a_file_for_another_provider() {
        refused(
            &OK.replace("provider: demo", "provider: other"),
            &expect(),
            2,
            "provider",
            "this file is for 'other' but is named for 'demo'",
        );
    }

    #[test]
    fn refuses_unknown_and_missing_endpoints() {
        refused(
            &OK.replace("  one:\n", "  two:\n"),
            &expect(),
            9,
            "endpoints.two",
            "demo has no endpoint 'two'; its endpoints are one",
        );
        // Every endpoint the module serves must be in the file.
        let two = Expect {
            endpoints: &["one", "two"],
            ..expect()
        };
        refused(OK, &two, 8, "endpoints", "missing endpoint 'two'");
    }

    #[test]
    fn refuses_bad_paths() {
        refused(
            &OK.replace("paths: [/demo/one]", "paths: []"),
            &expect(),
            11,
            "endpoints.one.paths",
            "needs at least one path",
        );
        for (paths, path) in [
            ("[demo/one]", "demo/one"),
            ("[/demo/one, demo/two]", "demo/two"),
            ("[/__admin/one]", "/__admin/one"),
            ("[/__admin]", "/__admin"),
        ] {
            refused(
                &OK.replace("[/demo/one]", paths),
                &expect(),
                11,
                "endpoints.one.paths",
                &format!("'{path}' must start with / and stay out of /__admin"),
            );
        }
        for (paths, path, why) in [
            ("[/demo/one/]", "/demo/one/", "ends with /: write it without; a request with or without the slash reaches it"),
            ("['/demo/a b']", "/demo/a b", "has a character a request line cannot carry: write it percent-encoded, as clients send it (%20 for a space)"),
            ("[/demo/año]", "/demo/año", "has a character a request line cannot carry: write it percent-encoded, as clients send it (%20 for a space)"),
        ] {
            refused(
                &OK.replace("[/demo/one]", paths),
                &expect(),
                11,
                "endpoints.one.paths",
                &format!("'{path}' {why}"),
            );
        }
        // A long one is named by its first 256 bytes.
        let long = format!("/a b{}", "c".repeat(5_000));
        refused(
            &OK.replace("[/demo/one]", &format!("['{long}']")),
            &expect(),
            11,
            "endpoints.one.paths",
            &format!(
                "'{}… (5004 bytes)' has a character a request line cannot carry: write it percent-encoded, as clients send it (%20 for a space)",
                &long[..256]
            ),
        );
        // A path that merely mentions __admin further in is fine.
        parse_provider(
            "demo.yaml",
            &OK.replace("[/demo/one]", "[/demo/__admin]"),
            &expect(),
        )
        .unwrap();
    }

    #[test]
    fn refuses_unknown_and_missing_error_kinds() {
        refused(
            &OK.replace(
                "errors:\n",
                "errors:\n  teapot: {description: x, status: 418}\n",
            ),
            &expect(),
            4,
            "errors.teapot",
            "unknown error kind 'teapot'; the kinds are not_found, method_not_allowed, payload_too_large, malformed_body",
        );
        for kind in ENGINE_ERRORS {
            let without: String = OK
                .lines()
                .filter(|l| !l.starts_with(&format!("  {kind}:")))
                .map(|l| format!("{l}\n"))
                .collect();
            assert_eq!(without.lines().count(), OK.lines().count() - 1);
            refused(
                &without,
                &expect(),
                3,
                "errors",
                &format!("missing error kind '{kind}'"),
            );
        }
    }

    #[test]
    fn refuses_bad_scenario_names() {
        for name in ["Success", "bad-name", "with space", "ñ"] {
            refused(
                &OK.replace("success:", &format!("{name}:")),
                &expect(),
                13,
                &format!("endpoints.one.scenarios.{name}"),
                "scenario names are lowercase letters, digits and _",
            );
        }
    }

    #[test]
    fn a_user_file_is_refused_for_what_json_cannot_carry() {
        let with = |score: &str| OK.replace("{curp: \"{{curp}}\"}", &format!("{{score: {score}}}"));
        for value in [".inf", "-.Inf", ".nan"] {
            let err = check_yaml("demo.yaml", &with(value)).unwrap_err();
            assert_eq!(err.line, Some(16), "{err}");
            assert_eq!(
                err.field.as_deref(),
                Some("endpoints.one.scenarios.success.body.score"),
                "{err}"
            );
            assert!(
                err.message.starts_with("JSON has no infinity or NaN"),
                "{err}"
            );
        }
        check_yaml("demo.yaml", &with("1.5e3")).unwrap();
    }

    #[test]
    fn refuses_bad_headers() {
        let with = |headers: &str| {
            OK.replace(
                "        status: 200\n",
                &format!("        status: 200\n        headers: {headers}\n"),
            )
        };
        parse_provider("demo.yaml", &with("{x-note: fine}"), &expect()).unwrap();
        // A number or a boolean is its text; null is no value.
        parse_provider("demo.yaml", &with("{x-n: 12, x-b: true}"), &expect()).unwrap();
        refused(
            &with("{x-note: null}"),
            &expect(),
            16,
            "endpoints.one.scenarios.success.headers.x-note",
            "a header needs a value (null is none)",
        );
        refused(
            &with("{\"bad name\": x}"),
            &expect(),
            16,
            "endpoints.one.scenarios.success.headers",
            "'bad name' is not a header name",
        );
        // A control character can only be written as an escape: the line is
        // found by the header's name.
        refused(
            &with(r#"{x-note: "a\u0001b"}"#),
            &expect(),
            16,
            "endpoints.one.scenarios.success.headers.x-note",
            "not a valid header value",
        );
        // The server's own headers and the sandbox's are not a scenario's.
        for name in ["content-length", "Transfer-Encoding", "x-sandbox-scenario"] {
            refused(
                &with(&format!("{{{name}: x}}")),
                &expect(),
                16,
                &format!("endpoints.one.scenarios.success.headers.{name}"),
                "the server writes this header itself (the body's framing, the connection, the sandbox's own headers)",
            );
        }
        // One header in two cases is one header written twice.
        refused(
            &with("{X-Note: a, x-note: b}"),
            &expect(),
            16,
            "endpoints.one.scenarios.success.headers.x-note",
            "written twice: header names ignore case; write it once (several values go in one, comma-separated)",
        );
    }

    /// The error serde_yaml_ng gives for `text` read as any value, placed
    /// in `text`.
    fn placed(text: &str) -> LoadError {
        let err = serde_yaml_ng::from_str::<Value>(text).unwrap_err();
        LoadError::from_yaml_in("f.yaml", text, &err)
    }

    #[test]
    fn a_key_written_twice_is_placed_at_its_second_writing_whatever_it_holds() {
        for key in [
            r#""a\"b""#,
            r#""a\\""#,
            r#""a:b""#,
            "'it''s'",
            "a:b",
            r#""\u0041""#,
        ] {
            let text = format!("{key}: 1\nother: 2\n{key}: 3\n");
            let err = crate::yaml::replay(&text).unwrap_err();
            let e = LoadError::from_yaml_in("f.yaml", &text, &err);
            assert_eq!((e.line, e.column), (Some(3), Some(1)), "{key}: {e}");
        }
    }

    #[test]
    fn a_long_name_in_a_file_is_repeated_by_its_first_256_bytes() {
        let name = "k".repeat(600);
        let endpoint = OK.replace("  one:\n", &format!("  {name}:\n"));
        let setting = OK.replace(
            "endpoints:\n",
            &format!("settings: {{{name}: 1}}\nendpoints:\n"),
        );
        let placeholder = OK.replace("{{curp}}", &format!("{{{{{name}}}}}"));
        let provider = OK.replace("provider: demo", &format!("provider: {name}"));
        let error_kind = OK.replace(
            "errors:\n",
            &format!("errors:\n  {name}: {{description: x, status: 404}}\n"),
        );
        let limit = OK.replace(
            "endpoints:\n",
            &format!("settings: {{per_day: {name}}}\nendpoints:\n"),
        );
        let colon = OK.replace(
            "endpoints:\n",
            &format!("settings: {{\"a: {name}\": 1}}\nendpoints:\n"),
        );
        let data = OK.replace(
            "        status: 200\n",
            &format!("        status: 200\n        data: {{down: {name}}}\n"),
        );
        let params: String = (0..26)
            .map(|i| format!("/{{{}{i}}}", "k".repeat(40)))
            .collect();
        let route = OK.replace("[/demo/one]", &format!("['{params}']"));
        // A list's JSON text, cut where an escaped backslash is split.
        let list = format!("['{}\\{}']", "k".repeat(253), "k".repeat(60));
        let listed = OK.replace(
            "endpoints:\n",
            &format!("settings: {{per_day: {list}}}\nendpoints:\n"),
        );
        for text in [
            endpoint,
            setting,
            placeholder,
            provider,
            error_kind,
            limit,
            colon,
            data,
            route,
            listed,
        ] {
            let err = parse_provider("demo.yaml", &text, &expect()).unwrap_err();
            let shown = err.to_string();
            // A value of the file is counted as written.
            if text.contains(&format!(": {name}}}")) {
                assert!(shown.contains("… (600 bytes)"), "{shown}");
            }
            assert!(!shown.contains("\\…"), "a cut inside an escape: {shown}");
            // Cut as a name, or as the path that holds it.
            assert!(shown.contains(" bytes)"), "{shown}");
            assert!(!shown.contains(&"k".repeat(257)), "{shown}");
            assert!(shown.len() < 1_000, "{shown}");
        }
    }

    #[test]
    fn a_long_key_written_twice_is_placed_at_its_second_writing_and_named_by_256_bytes() {
        // serde_yaml_ng's own mapping refuses a key written twice.
        let key = "k".repeat(500);
        let text = format!("a: 1\n{key}: 2\nb: 3\n{key}: 4\n");
        let err = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text).unwrap_err();
        let e = LoadError::from_yaml_in("f.yaml", &text, &err);
        assert_eq!((e.line, e.column), (Some(4), Some(1)), "{e}");
        assert_eq!(
            e.message,
            format!(
                "duplicate entry with key \"{}… (500 bytes)\"",
                "k".repeat(256)
            )
        );
    }

    #[test]
    fn an_unquoted_placeholder_is_named_in_the_error() {
        let hint = |placeholder: &str| {
            format!(": a placeholder is text, written in quotes with any text around it (\"{placeholder}\")")
        };
        // The first one not in quotes on the error's line is named.
        let e = placed("a: 1\nbody: {a: \"{{x}}\", b: {{nombre}}}\n");
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("body.b")));
        assert!(e.message.ends_with(&hint("{{nombre}}")), "{e}");
        // Up to 64 bytes to its `}}` it is named; past them, an example is.
        for (len, named) in [(62, true), (63, false)] {
            let name = "n".repeat(len);
            let e = placed(&format!("body: {{a: {{{{{name}}}}}}}\n"));
            let want = if named {
                format!("{{{{{name}}}}}")
            } else {
                "{{curp}}".to_string()
            };
            assert!(e.message.ends_with(&hint(&want)), "{len}: {e}");
        }
        // An error without one says nothing of placeholders.
        let e = placed("a: \"{{x}}\"\nb: [\n");
        assert!(!e.message.contains("placeholder"), "{e}");
        // Quoted with text before it, escapes and `''` inside: in quotes.
        // A quote inside plain text (`it's`) opens none.
        let e = placed("body: {a: \"CURP \\\" {{x}}\", c: 'it''s {{y}}', d: it's, b: {{z}}}\n");
        assert!(e.message.ends_with(&hint("{{z}}")), "{e}");
        // Quoted after a tag or an anchor; one in a comment is no value.
        let e = placed("body: {a: !!str \"{{x}}\", c: &k '{{w}}', b: {{y}}} # {{v}}\n");
        assert!(e.message.ends_with(&hint("{{y}}")), "{e}");
        // Another error on a line with a quoted placeholder is its own.
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Entry {
            #[allow(dead_code)]
            body: Value,
        }
        let text = "{body: {msg: \"CURP {{curp}}\"}, latncy: 5ms}\n";
        let err = serde_yaml_ng::from_str::<Entry>(text).unwrap_err();
        let e = LoadError::from_yaml_in("f.yaml", text, &err);
        assert!(e.message.contains("latncy"), "{e}");
        assert!(!e.message.contains("placeholder"), "{e}");
    }

    #[test]
    fn in_quotes_or_comment_follows_yaml_quoting_on_a_line() {
        for (before, inside) in [
            ("a: ", false),
            ("a: \"", true),
            ("a: \"x\" ", false),
            ("a: \"x \\\" ", true),
            ("a: 'x'' ", true),
            ("a: 'x'", false),
            ("a: it's ", false),
            ("{a: 'b', c: \"", true),
            ("- '", true),
            ("a: !!str \"", true),
            ("a: &x '", true),
            ("a: !!str x\"", false),
            ("a: x # note ", true),
            ("# note ", true),
            ("a: x#y ", false),
            ("a: \"#\" ", false),
        ] {
            assert_eq!(super::in_quotes_or_comment(before), inside, "{before}");
        }
    }

    #[test]
    fn a_second_document_is_placed_at_its_marker() {
        // Comments and blank lines before a first `---` are not content.
        for (text, line) in [
            ("# c\n\na: 1\n---\nb: 2\n", 4),
            ("# c\n  \n---\na: 1\n--- \nb: 2\n", 5),
        ] {
            let e = placed(text);
            assert!(e.message.contains("more than one document"), "{e}");
            assert_eq!((e.line, e.column), (Some(line), Some(1)), "{text:?}");
        }
        // Another error without a place is left without one.
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            };
            let list = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("b{i}: &b{i} [{list}]\n"));
        }
        text.push_str("---\nz: 1\n");
        let e = placed(&text);
        assert_eq!((e.line, e.column), (None, None), "{e}");
    }

    #[test]
    fn a_message_without_a_path_has_no_field() {
        let Err(err) = serde_yaml_ng::from_str::<RawFile>("[1]") else {
            panic!("a list is not a provider file");
        };
        let e = LoadError::from_yaml("f.yaml", &err);
        assert_eq!(e.field, None, "{e}");
        assert!(e.message.starts_with("invalid type: sequence"), "{e}");
        assert_eq!((e.line, e.column), (Some(1), Some(1)));
    }

    #[test]
    fn brackets_too_deep_are_placed_at_their_line() {
        let deep = "[".repeat(crate::yaml::MAX_FLOW_DEPTH + 1);
        let e = check_yaml("f.yaml", &format!("a: 1\nb: 2\nc: {deep}\n")).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(
            e.message,
            format!(
                "brackets nest deeper than {} levels",
                crate::yaml::MAX_FLOW_DEPTH
            )
        );
    }

    #[test]
    fn counts_route_parameters() {
        for (path, n) in [
            ("/a", 0),
            ("/a/{id}", 1),
            ("/a/{id}/b/{*rest}", 2),
            ("/a/{{id}}", 0),
            ("/a/{{x}}/{id}", 1),
        ] {
            assert_eq!(route_params(path), n, "{path}");
        }
        let with = |n: usize| {
            let path: String = (0..n).map(|i| format!("/{{p{i}}}")).collect();
            OK.replace("[/demo/one]", &format!("['/demo{path}']"))
        };
        parse_provider("demo.yaml", &with(MAX_ROUTE_PARAMS), &expect()).unwrap();
        let err = parse_provider("demo.yaml", &with(MAX_ROUTE_PARAMS + 1), &expect()).unwrap_err();
        assert!(
            err.message
                .ends_with("has 17 parameters: a path takes at most 16"),
            "{err}"
        );
    }

    #[test]
    fn a_wrong_shape_says_what_is_expected() {
        for (from, to, expected) in [
            (
                "method: POST",
                "method: {a: b}",
                "expected a method name such as POST, or a list of them",
            ),
            (
                "status: 200",
                "status: \"200\"",
                "expected an HTTP status from 200 to 599",
            ),
        ] {
            let err = parse_provider("demo.yaml", &OK.replace(from, to), &expect()).unwrap_err();
            assert!(err.message.ends_with(expected), "{err}");
        }
    }

    #[test]
    fn the_root_path_loads() {
        // `/` is one byte long: its slash is not a trailing one.
        let def =
            parse_provider("demo.yaml", &OK.replace("[/demo/one]", "[/]"), &expect()).unwrap();
        assert_eq!(def.endpoints[0].path(), "/");
    }

    #[test]
    fn a_method_in_any_case() {
        for (name, m) in [
            ("get", Method::GET),
            ("Post", Method::POST),
            ("put", Method::PUT),
            ("PATCH", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            assert_eq!(method(name), Ok(m), "{name}");
        }
        assert!(method("head").is_err());
    }

    #[test]
    fn a_compiled_file_answers_its_lookups() {
        let text = OK
            .replace("errors:", "settings:\n  per_day: 3\nerrors:")
            .replace("paths: [/demo/one]", "paths: [/demo/one, /demo/uno]")
            .replace(
                "        status: 200\n",
                "        status: 200\n        headers: {x-who: \"{{nombre}}\"}\n        data: {status: BD}\n",
            );
        let expect = Expect {
            variables: &["curp", "nombre"],
            ..expect()
        };
        let def = parse_provider("demo.yaml", &text, &expect).unwrap();
        let one = def.endpoint("one").expect("endpoint one");
        assert_eq!(one.id, "one");
        assert!(def.endpoint("two").is_none());
        assert_eq!(one.path(), "/demo/one");
        // A limit as set; a default where it is not; null for none.
        assert_eq!(def.limit("per_day", Some(9)), Some(3));
        assert_eq!(def.limit("per_week", Some(9)), Some(9));
        assert_eq!(def.limit("per_week", None), None);
        let off = parse_provider(
            "demo.yaml",
            &text.replace("per_day: 3", "per_day: null"),
            &expect,
        )
        .unwrap();
        assert_eq!(off.limit("per_day", Some(9)), None);

        let success = one.scenario("success").unwrap();
        // A variable in the body, one in a header, one in neither.
        assert!(success.uses(|v| v == "curp"));
        assert!(success.uses(|v| v == "nombre"));
        assert!(!success.uses(|v| v == "fecha"));
        assert_eq!(success.data_str("status"), Some("BD"));
        assert_eq!(success.data_str("down"), None);
        let plain = def.errors["method_not_allowed"].clone();
        assert!(!plain.uses(|_| true));
        assert_eq!(plain.data_str("status"), None);
    }

    #[test]
    fn refuses_a_placeholder_in_a_key() {
        let with = |body: &str| OK.replace("{curp: \"{{curp}}\"}", body);
        // At the key as written, in either quotes, however deep.
        for (body, key) in [
            ("{\"{{curp}}\": 1}", "{{curp}}"),
            ("{a: [1, {'x{{curp}}': 1}]}", "x{{curp}}"),
            ("{a: {b: [[{\"{{curp}}y\": 1}]]}}", "{{curp}}y"),
        ] {
            refused(
                &with(body),
                &expect(),
                16,
                "endpoints.one.scenarios.success.body",
                &format!("'{key}': placeholders are filled in values, not in keys"),
            );
        }
        let err = parse_provider("demo.yaml", &with("\n          \"{{curp}}\": 1"), &expect())
            .unwrap_err();
        assert_eq!(err.line, Some(17), "{err}");
        // In values, wherever they are, placeholders are what they are for.
        parse_provider("demo.yaml", &with("{a: [{b: \"{{curp}}\"}]}"), &expect()).unwrap();
    }

    #[test]
    fn a_bodiless_status_has_no_body() {
        for status in [204, 304] {
            let with = |body: &str| {
                OK.replace("status: 200", &format!("status: {status}"))
                    .replace("{curp: \"{{curp}}\"}", body)
            };
            refused(
                &with("{a: 1}"),
                &expect(),
                16,
                "endpoints.one.scenarios.success.body",
                &format!(
                    "a {status} {} answer has no body (HTTP sends none): remove it or use 200",
                    StatusCode::from_u16(status)
                        .unwrap()
                        .canonical_reason()
                        .unwrap()
                ),
            );
            // `null` is no body.
            parse_provider("demo.yaml", &with("null"), &expect()).unwrap();
        }
    }

    /// `check_yaml` walks the document only when the replay met what the
    /// walk looks for: the same answer as walking every document, for
    /// documents with and without it (a probe of 14,940 documents, the
    /// fuzz corpora and mutated scenario and fixture files, found none
    /// differing; tests/AUDITS.md).
    #[test]
    fn the_walk_is_skipped_only_where_it_has_nothing_to_find() {
        let cases = [
            ("a: 1\nb: [x, {c: 2.5}]\n", true),
            ("a: &x {b: 1}\nc: *x\n", true),
            ("a: 1\n<<: {b: 2}\n", false),
            ("'<<': 1\n", false),
            ("a: &x {b: 1}\nc:\n  <<: *x\n", false),
            ("a: .inf\n", false),
            ("a: [1, -.Inf]\n", false),
            ("a: &x .nan\nb: *x\n", false),
            // Read as its text by serde_yaml_ng, by both.
            ("a: !!binary aGVsbG8=\n", true),
            // Stopped short (a key that is not text, a syntax error).
            ("? [1]\n: 2\n", false),
            ("a: [1\n", false),
            ("a: !t 1\nb: .inf\n", false),
        ];
        for (text, whole_and_usual) in cases {
            assert_eq!(
                crate::yaml::replay(text).unwrap_or(false),
                whole_and_usual,
                "{text:?}"
            );
            assert_eq!(
                format!("{:?}", super::check_yaml("f.yaml", text)),
                format!("{:?}", super::check_yaml_walking("f.yaml", text, true)),
                "{text:?}"
            );
        }
        assert!(super::check_yaml("f.yaml", "a: .inf\n").is_err());
        assert!(super::check_yaml("f.yaml", "a: 1\n<<: {b: 2}\n").is_err());
    }
}
