//! Fixtures: credentials, and the CURP domain's catalogs, names and personas.
//! Embedded in the binary; a folder given with `--fixtures` replaces the
//! files it has.

use serde::Deserialize;

use super::model::LoadError;
use crate::config::Source;
use crate::curp::Domain;
use crate::fnv::{FnvIndexMap, FnvIndexSet, FnvMap};

/// The embedded fixture files, by name.
pub const EMBEDDED: [(&str, &str); 4] = [
    (
        "credentials.yaml",
        include_str!("../../fixtures/credentials.yaml"),
    ),
    (
        "catalogs.yaml",
        include_str!("../../fixtures/catalogs.yaml"),
    ),
    ("names.yaml", include_str!("../../fixtures/names.yaml")),
    (
        "personas.yaml",
        include_str!("../../fixtures/personas.yaml"),
    ),
];

/// The fixture files' names, as errors list them: `credentials.yaml, …`.
pub fn file_names() -> String {
    EMBEDDED.map(|(n, _)| n).join(", ")
}

pub struct Fixtures {
    pub domain: Domain,
    pub credentials: FnvMap<String, ProviderCredentials>,
    // The texts of the two files that are checked against the scenario
    // files after parsing, kept so that such an error can still name the
    // file and line it is about.
    credentials_source: SourceText,
    personas_source: SourceText,
    /// The people behind CURPs, built once each (bounded; see `people`).
    pub people: super::people::People,
}

/// A fixture file as it was read: its name (a path when it came from a
/// folder) and its text.
struct SourceText {
    file: String,
    text: String,
}

impl SourceText {
    /// An error at `needle` in the block `field` names
    /// ([`crate::yaml::locate`]).
    fn error(&self, needle: &str, field: String, message: String) -> LoadError {
        LoadError::at(&self.file, &self.text, needle, &field, message)
    }
}

/// `accept:`, read by [`crate::yaml::texts`], as a set: looked up on every
/// request under `--strict-auth`, and against `reject:` at load (ten
/// thousand of each, scanned as a list, took two seconds to start).
fn accept_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FnvIndexSet<String>, D::Error> {
    Ok(crate::yaml::texts(d, "accept")?.into_iter().collect())
}

/// One provider's magic and accepted credentials.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderCredentials {
    /// Accepted under `--strict-auth` (any non-empty one is accepted otherwise).
    #[serde(default, deserialize_with = "accept_list")]
    pub accept: FnvIndexSet<String>,
    /// Credential → the auth-error scenario it triggers.
    #[serde(default, deserialize_with = "crate::yaml::text_keys")]
    pub reject: FnvIndexMap<String, String>,
    /// Credential → the URL its webhooks are delivered to (providers that
    /// call the customer back).
    #[serde(default, deserialize_with = "crate::yaml::text_keys")]
    pub webhooks: FnvIndexMap<String, String>,
}

impl Fixtures {
    /// The scenario a magic credential triggers.
    pub fn rejected(&self, provider: &str, credential: &str) -> Option<&str> {
        self.credentials
            .get(provider)?
            .reject
            .get(credential)
            .map(String::as_str)
    }

    /// The webhook URL the fixtures give a credential.
    pub fn webhook(&self, provider: &str, credential: &str) -> Option<&str> {
        self.credentials
            .get(provider)?
            .webhooks
            .get(credential)
            .map(String::as_str)
    }

    /// An error about credentials.yaml, at `needle` in `field`'s block.
    pub fn credentials_error(&self, needle: &str, field: String, message: String) -> LoadError {
        self.credentials_source.error(needle, field, message)
    }

    /// An error about personas.yaml, at `needle` in `field`'s block.
    pub fn personas_error(&self, needle: &str, field: String, message: String) -> LoadError {
        self.personas_source.error(needle, field, message)
    }

    pub fn accepted(&self, provider: &str, credential: &str) -> bool {
        self.credentials
            .get(provider)
            .is_some_and(|c| c.accept.contains(credential))
    }

    pub fn load(source: &Source) -> Result<Fixtures, LoadError> {
        // A folder that is not there is a typo, not a request for the
        // embedded files; so is a file the sandbox would not read
        // (persona.yaml), not a file to skip: the embedded one would answer
        // instead. `check_folder` refuses both.
        if let Source::Dir(dir) = source {
            let known: Vec<&str> = EMBEDDED
                .iter()
                .map(|(n, _)| n.trim_end_matches(".yaml"))
                .collect();
            super::check_folder(dir, &known, |stem| {
                format!(
                    "no fixture file '{stem}'; fixture files are named {}",
                    file_names()
                )
            })?;
        }
        let text = |name: &str| -> Result<(String, String), LoadError> {
            let embedded = EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.to_string())
                .unwrap_or_default();
            let from_dir = match source {
                Source::Embedded => None,
                Source::Dir(dir) => {
                    let stem = name.strip_suffix(".yaml").unwrap_or(name);
                    super::read_yaml(dir, stem)?
                }
            };
            // An error in a file the user did not write, which their files
            // caused (their catalog drops a status an embedded persona uses,
            // their scenarios one an embedded credential names), says whose
            // file it is.
            Ok(from_dir.unwrap_or((format!("embedded {name}"), embedded)))
        };
        let (cred_file, cred_text) = text("credentials.yaml")?;
        let credentials: FnvMap<String, ProviderCredentials> = serde_yaml_ng::from_str(&cred_text)
            .map_err(|e| LoadError::from_yaml(&cred_file, &e))?;
        for (pid, creds) in &credentials {
            for (cred, url) in &creds.webhooks {
                if let Err(why) = check_webhook_url(url) {
                    return Err(LoadError::at(
                        &cred_file,
                        &cred_text,
                        url,
                        &format!("{pid}.webhooks.{cred}"),
                        why,
                    ));
                }
            }
        }
        let (cat_file, catalogs) = text("catalogs.yaml")?;
        let (names_file, names) = text("names.yaml")?;
        let (per_file, personas) = text("personas.yaml")?;
        let domain = Domain::from_yaml(&catalogs, &names, &personas).map_err(|(which, e)| {
            // `which` is the embedded name; the user's file may be `.yml`.
            let file = match which.as_str() {
                "catalogs.yaml" => cat_file.clone(),
                "names.yaml" => names_file.clone(),
                "personas.yaml" => per_file.clone(),
                _ => which,
            };
            LoadError {
                file,
                line: e.line,
                column: e.column,
                field: e.field,
                message: e.message,
            }
        })?;
        Ok(Fixtures {
            domain,
            credentials,
            credentials_source: SourceText {
                file: cred_file,
                text: cred_text,
            },
            personas_source: SourceText {
                file: per_file,
                text: personas,
            },
            people: super::people::People::default(),
        })
    }
}

/// What a webhook URL's user info is sent as, `Authorization: Basic` of
/// these octets (RFC 7617): the user and the password, split at the first
/// `:` as written and each percent-decoded, UTF-8 or not, as curl sends
/// them (an encoded `%3A` is part of the user; no `:` is an empty
/// password). Neither may hold a control character (RFC 7617).
pub fn basic_credentials(user_info: &str) -> Result<Vec<u8>, String> {
    let (user, password) = user_info.split_once(':').unwrap_or((user_info, ""));
    let mut octets = crate::request::percent_decode_bytes(user);
    octets.push(b':');
    octets.extend(crate::request::percent_decode_bytes(password));
    if octets.iter().any(|b| b.is_ascii_control()) {
        return Err("its user info holds a control character (RFC 7617)".into());
    }
    Ok(octets)
}

/// The longest webhook URL, and apikey given through the admin API, kept.
pub const MAX_WEBHOOK_FIELD_BYTES: usize = 2048;

/// Whether `url` is a webhook target the sandbox can call: `http://` with a
/// host (there is no TLS client), at most [`MAX_WEBHOOK_FIELD_BYTES`] bytes, and
/// not an admin route (a sandbox's own `redeliver` as its target would
/// deliver to itself without end).
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    // Every attempt lists its URL: 10,000 attempts a namespace keep.
    if url.len() > MAX_WEBHOOK_FIELD_BYTES {
        return Err(format!(
            "a webhook URL of {} bytes: at most {MAX_WEBHOOK_FIELD_BYTES}",
            url.len()
        ));
    }
    // `Uri` takes bytes past ASCII, and the attempt would send them as
    // written; a client's URL library (and a provider's) sends `ñ` as
    // `%C3%B1`, which the receiver decodes. (A `%` before no two hex digits
    // is sent as written, as curl sends it: see `basic_credentials`.)
    if let Some((at, c)) = url.char_indices().find(|(_, c)| !c.is_ascii()) {
        // In the host, past any user info: a name is written in ASCII as
        // its punycode (`xn--…`), which percent-encoding is not.
        let authority = url.find("://").map(|s| s + 3).map(|start| {
            let end = url[start..]
                .find(['/', '?', '#'])
                .map_or(url.len(), |e| start + e);
            let host = url[start..end].rfind('@').map_or(start, |u| start + u + 1);
            host..end
        });
        if authority.is_some_and(|host| host.contains(&at)) {
            return Err(format!(
                "'{}' holds '{c}' in its host: a host name is written in ASCII, as its punycode (xn--…)",
                super::quoted(url)
            ));
        }
        let mut utf8 = [0; 4];
        let encoded: String = c
            .encode_utf8(&mut utf8)
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        return Err(format!(
            "'{}' holds '{c}': a URL writes it percent-encoded, as {encoded}",
            super::quoted(url)
        ));
    }
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("'{}' is not a URL: {e}", super::quoted(url)))?;
    // `Uri` reads `http://:8080/` as an empty host.
    if uri.scheme_str() != Some("http") || uri.host().is_none_or(str::is_empty) {
        return Err(format!(
            "'{}' must be an http:// URL with a host (the sandbox has no TLS client)",
            super::quoted(url)
        ));
    }
    // `Uri` takes any digits after the host, a sign before them, and
    // anything after an IPv6 literal's `]`; a port is digits, 1 to 65535
    // (RFC 3986), and it alone follows the host.
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    // After the user info (`user:pw@`, sent as Basic credentials) if any.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let after_host = match host_port.split_once(']') {
        Some((_, rest)) if !rest.is_empty() && !rest.starts_with(':') => {
            return Err(format!(
                "'{}' has text after its IPv6 address's ']'",
                super::quoted(url)
            ));
        }
        // Brackets hold an IPv6 address (RFC 3986's IP-literal): not a
        // name, not an IPv4 address, not nothing; a zone (`%25eth0`) is
        // not one the sandbox can connect to by name.
        Some((literal, _))
            if literal
                .strip_prefix('[')
                .is_none_or(|ip| ip.parse::<std::net::Ipv6Addr>().is_err()) =>
        {
            return Err(format!(
                "'{}' has brackets that hold no IPv6 address (as [::1])",
                super::quoted(url)
            ));
        }
        Some((_, rest)) => rest,
        None => host_port,
    };
    if let Some((user_info, _)) = authority.rsplit_once('@') {
        basic_credentials(user_info).map_err(|e| format!("'{}': {e}", super::quoted(url)))?;
    }
    if let Some((_, port)) = after_host.rsplit_once(':') {
        let digits = port.bytes().all(|b| b.is_ascii_digit());
        if !port.is_empty() && (!digits || port.parse::<u16>().map_or(true, |p| p == 0)) {
            return Err(format!(
                "'{}' has no valid port (1 to 65535)",
                super::quoted(url)
            ));
        }
    }
    if uri
        .path()
        .to_ascii_lowercase()
        .starts_with(crate::admin::PREFIX)
    {
        return Err(format!(
            "'{}' is an admin route: a webhook target must be the client's own endpoint",
            super::quoted(url)
        ));
    }
    Ok(())
}
