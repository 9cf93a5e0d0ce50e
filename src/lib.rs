//! mxid-sandbox: a local sandbox that behaves like five Mexican
//! identity-verification APIs.
//!
//! - `cli`       — flags with environment fallbacks, turned into a validated `Config`
//! - `check`     — `check DIR`: a folder of user files loaded as `serve` would
//! - `export`    — `export DIR`: the embedded files written out, to be edited
//! - `config`    — the validated configuration
//! - `server`    — accept loop, connections, the body read under its limit, faults at
//!   the socket, graceful shutdown
//! - `request`   — the owned request, built once from the read body: JSON/form/multipart parsing
//! - `router`    — per-method matchit routers (and the paths their trees miss), 404 vs 405, case-insensitive providers
//! - `engine`    — provider-agnostic: YAML model, templates, scenario selection,
//!   overrides, counters, clock, latency and faults, journal, namespaces
//! - `admin`     — the `/__admin` routes
//! - `jobs`      — async verifications: timeline on the sandbox clock, webhook delivery with retries
//! - `providers` — one module per provider, same shape in each
//! - `curp`      — the CURP domain: rules, calculation, catalogs, synthetic people
//! - `stderr`    — stderr's lines: made printable, written off the workers while serving
//! - `time`      — dates, provider-day timestamps (UTC-6), durations
//! - `fnv`       — the hash of the sandbox's own short keys, and maps keyed with it
//! - `yaml`      — values converted while serde_yaml_ng still points at them (errors at their line)

pub mod admin;
pub mod check;
pub mod cli;
pub mod config;
pub mod curp;
pub mod engine;
pub mod export;
pub mod fnv;
pub mod jobs;
pub mod providers;
pub mod request;
pub mod router;
pub mod server;
pub mod stderr;
pub mod time;
pub mod yaml;

use std::future::Future;

/// The allocator of every binary built on this library: the server, the
/// benchmark's bare hyper (the same allocator, for a fair comparison) and
/// the tests. See `Cargo.toml` for why jemalloc.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub use config::{Config, Source};
pub use engine::Engine;

/// Builds the engine with every provider module and serves it on `listener`
/// until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    server::raise_open_files_limit();
    let engine = Engine::to_serve(config, providers::all())?;
    server::serve(listener, engine, shutdown).await?;
    Ok(())
}
