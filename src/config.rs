//! The validated configuration the library runs with (built by `cli` from
//! flags and environment, or directly by tests).

use std::path::PathBuf;
use std::time::Duration;

use crate::engine::clock::Start;
use crate::engine::latency::Latency;

/// Where YAML comes from: the copy embedded in the binary, or a folder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Source {
    #[default]
    Embedded,
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Seeds every random choice (synthetic people, ids, a delay drawn from
    /// a latency range) so runs replay.
    pub seed: u64,
    /// Accept only the credentials listed in the fixtures.
    pub strict_auth: bool,
    /// Answer as the providers' own sandboxes do (nss: 400 without testCase).
    pub strict_sandbox: bool,
    /// Latency for every provider response unless something closer sets one.
    pub latency: Option<Latency>,
    pub clock: Start,
    /// Entries the journal keeps per namespace.
    pub journal_limit: usize,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    pub scenarios: Source,
    pub fixtures: Source,
    /// Default webhook target for every apikey.
    pub webhook_url: Option<String>,
    /// When set, `/__admin` requires `Authorization: Bearer TOKEN`.
    pub admin_token: Option<String>,
    /// Connections served at once; more are refused with 503.
    pub max_connections: usize,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Print one line per request to stderr.
    pub log_requests: bool,
    /// Bytes of admin listings being sent at once (one always goes); a
    /// listing past it is refused with 503 until clients read theirs.
    pub listings_in_flight: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 0,
            strict_auth: false,
            strict_sandbox: false,
            latency: None,
            clock: Start {
                at: None,
                scale: 1.0,
            },
            journal_limit: 1000,
            body_limit: 1024 * 1024,
            scenarios: Source::Embedded,
            fixtures: Source::Embedded,
            webhook_url: None,
            admin_token: None,
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
            log_requests: false,
            listings_in_flight: 64 << 20,
        }
    }
}
