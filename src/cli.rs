//! Command-line flags, turned into a validated [`Config`] before anything
//! runs. Every `serve` flag has an `MXID_*` environment fallback, as the
//! folders of `scenarios` and `curp` do; `check` reads only its flags (the
//! folders it checks are the ones it is told, not a server's setting).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Source};
use crate::engine::clock::Start;
use crate::engine::latency::Latency;
use crate::time::{format_duration, parse_duration, Timestamp};

/// `--max-connections` at most: far past what one process's file
/// descriptors allow, and within what the connection cap can count.
pub const MAX_CONNECTIONS: usize = 1_000_000;

#[derive(Debug, Parser)]
#[command(
    name = "mxid-sandbox",
    version,
    about = "A local sandbox for five Mexican identity-verification APIs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line, or clap's error and exit (2). clap repeats a bad
    /// value or an unknown argument whole, newlines and escape sequences
    /// included: the error it prints repeats at most 256 bytes of it, made
    /// [`printable`](crate::stderr::printable), as every other error does.
    pub fn parse_or_exit() -> Cli {
        use clap::error::ContextValue;
        let mut e = match Cli::try_parse() {
            Ok(cli) => return cli,
            Err(e) => e,
        };
        // Every text the error carries (the value, the argument, the
        // subcommand) replaced before clap writes it: clap itself would
        // drop an escape sequence from it and leave its line breaks.
        let shown = |s: &String| crate::stderr::printable(&crate::engine::quoted(s)).into_owned();
        let texts: Vec<(String, String)> = e
            .context()
            .flat_map(|(_, value)| match value {
                ContextValue::String(s) => std::slice::from_ref(s),
                ContextValue::Strings(v) => v.as_slice(),
                _ => &[],
            })
            .map(|raw| (raw.clone(), shown(raw)))
            .filter(|(raw, shown)| raw != shown && !raw.is_empty())
            .collect();
        // A tip repeats the argument inside clap's own styled words ("to
        // pass '-x' as a value, use '-- -x'"): replaced there too.
        let tip = |s: &clap::builder::StyledStr| {
            let mut t = s.ansi().to_string();
            for (raw, shown) in &texts {
                t = t.replace(raw.as_str(), shown);
            }
            clap::builder::StyledStr::from(t)
        };
        let replaced: Vec<_> = e
            .context()
            .filter_map(|(kind, value)| match value {
                ContextValue::String(s) => Some((kind, ContextValue::String(shown(s)))),
                ContextValue::Strings(v) => {
                    Some((kind, ContextValue::Strings(v.iter().map(shown).collect())))
                }
                ContextValue::StyledStrs(v) => {
                    Some((kind, ContextValue::StyledStrs(v.iter().map(tip).collect())))
                }
                _ => None,
            })
            .collect();
        for (kind, value) in replaced {
            e.insert(kind, value);
        }
        // A value the environment gave: the flag clap names is not on the
        // command line, and the variable is where to look.
        let flag = e
            .get(clap::error::ContextKind::InvalidArg)
            .and_then(|arg| match arg {
                ContextValue::String(s) => s.split(' ').next().map(str::to_string),
                _ => None,
            });
        if let Some(var) = flag.as_deref().and_then(env_source) {
            let tip = format!("the value is {var}'s, from the environment");
            e.insert(
                clap::error::ContextKind::Suggested,
                ContextValue::StyledStrs(vec![tip.into()]),
            );
        }
        // clap names no argument for text that is not UTF-8: a variable a
        // flag reads, holding such text, is where to look, when the command
        // line does not give that flag.
        if e.kind() == clap::error::ErrorKind::InvalidUtf8 {
            use clap::CommandFactory;
            let cli = Cli::command();
            let mut vars: Vec<String> = std::iter::once(&cli)
                .chain(cli.get_subcommands())
                .flat_map(env_flags)
                .filter(|(long, var, _)| {
                    std::env::var_os(var).is_some_and(|v| v.to_str().is_none())
                        && !named_on_command_line(&format!("--{long}"))
                })
                .map(|(_, var, _)| var)
                .collect();
            vars.sort();
            vars.dedup();
            let tips: Vec<clap::builder::StyledStr> = vars
                .iter()
                .map(|var| format!("the value of {var}, from the environment, is not UTF-8").into())
                .collect();
            if !tips.is_empty() {
                e.insert(
                    clap::error::ContextKind::Suggested,
                    ContextValue::StyledStrs(tips),
                );
            }
        }
        e.exit()
    }
}

/// The environment variable that gave `flag` (`--port`) its value, when
/// the command line does not name the flag: an error about the value then
/// says where it came from (a CI file's `MXID_PORT`, not the command).
pub fn env_source(flag: &str) -> Option<String> {
    use clap::CommandFactory;
    let long = flag.strip_prefix("--")?;
    if named_on_command_line(flag) {
        return None;
    }
    fn find(cmd: &clap::Command, long: &str) -> Option<String> {
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .or_else(|| cmd.get_subcommands().find_map(|sub| find(sub, long)))
    }
    let var = find(&Cli::command(), long)?;
    std::env::var_os(&var).is_some().then_some(var)
}

/// Whether the command line gives `flag` (`--port 0` or `--port=0`).
fn named_on_command_line(flag: &str) -> bool {
    std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == flag
            || a.strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('='))
    })
}

/// The line `serve` writes to stderr first when the environment holds
/// `MXID_*` variables, so that a CI's settings are read where its run's
/// output is: `from the environment: MXID_SEED=7, MXID_ADMIN_TOKEN=(hidden)`
/// (each flag the environment gave, in `--help`'s order, a value `--help`
/// hides hidden here too, any other cut at 256 bytes), then `; not read:`
/// and each variable that is not: its flag given on the command line
/// (`MXID_PORT (--port given)`), or no flag's at all (`MXID_TIMESCALE (no
/// such variable)`: a misspelt name is otherwise ignored without a word;
/// the first `UNKNOWN_LISTED`, then how many more). None without
/// `MXID_*` variables.
pub fn environment_line() -> Option<String> {
    use clap::CommandFactory;
    let mxid = |name: &std::ffi::OsStr| name.to_string_lossy().starts_with("MXID_");
    if !std::env::vars_os().any(|(name, _)| mxid(&name)) {
        return None;
    }
    let cli = Cli::command();
    let flags = env_flags(cli.find_subcommand("serve")?);
    let (mut read, mut not_read) = (Vec::new(), Vec::new());
    for (long, var, hidden) in &flags {
        let Some(value) = std::env::var_os(var) else {
            continue;
        };
        if named_on_command_line(&format!("--{long}")) {
            not_read.push(format!("{var} (--{long} given)"));
        } else if *hidden {
            read.push(format!("{var}=(hidden)"));
        } else {
            let value = value.to_string_lossy();
            read.push(format!("{var}={}", crate::engine::quoted(&value)));
        }
    }
    let mut unknown: Vec<String> = std::env::vars_os()
        .filter(|(name, _)| mxid(name))
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .filter(|name| !flags.iter().any(|(_, v, _)| v == name))
        .collect();
    unknown.sort();
    not_read.extend(
        unknown
            .iter()
            .take(UNKNOWN_LISTED)
            .map(|name| format!("{} (no such variable)", crate::engine::quoted(name))),
    );
    if unknown.len() > UNKNOWN_LISTED {
        let more = unknown.len() - UNKNOWN_LISTED;
        not_read.push(format!("{more} more of no flag's"));
    }
    let mut line = match read.is_empty() {
        true => "from the environment: none".to_string(),
        false => format!("from the environment: {}", read.join(", ")),
    };
    if !not_read.is_empty() {
        line.push_str(&format!("; not read: {}", not_read.join(", ")));
    }
    Some(line)
}

/// The flags of `cmd` that an environment variable gives: each one's long
/// name, variable, and whether `--help` hides the variable's value.
fn env_flags(cmd: &clap::Command) -> Vec<(&str, String, bool)> {
    cmd.get_arguments()
        .filter_map(|a| {
            let var = a.get_env()?.to_string_lossy().into_owned();
            Some((a.get_long()?, var, a.is_hide_env_values_set()))
        })
        .collect()
}

/// The variables of no flag's that [`environment_line`] names; the rest
/// are counted (a CI that exports thousands would make one line of
/// hundreds of KB).
const UNKNOWN_LISTED: usize = 20;

/// What an error about `flag`'s value adds when the environment gave it
/// ([`env_source`]): ` (the value is MXID_PORT's, from the environment)`.
pub fn env_note(flag: &str) -> String {
    env_source(flag)
        .map(|var| format!(" (the value is {var}'s, from the environment)"))
        .unwrap_or_default()
}

/// `message` (`--latency: …`), with [`env_note`] for its flag.
pub fn naming_env_source(message: String) -> String {
    let flag = message.split(':').next().unwrap_or_default();
    let note = env_note(flag);
    message + &note
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server.
    Serve(Box<ServeArgs>),
    /// Print the scenario catalog.
    Scenarios(CatalogArgs),
    /// Validate a folder of scenario or fixture YAML; exits non-zero on error.
    Check {
        /// A folder of scenario files (`<provider>.yaml`) or fixture files.
        dir: PathBuf,
        /// For a folder of fixture files: the scenario files they go with
        /// (the embedded ones without it).
        #[arg(long)]
        scenarios: Option<PathBuf>,
        /// For a folder of scenario files: the fixture files they go with
        /// (the embedded ones without it).
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Check as `serve --strict-auth` loads: every provider needs an
        /// accept list.
        #[arg(long)]
        strict_auth: bool,
    },
    /// Write the embedded scenario and fixture files to DIR/scenarios and
    /// DIR/fixtures, to edit (a file there replaces the embedded one whole).
    Export {
        /// A folder to write them in (made if missing); no file is written over.
        dir: PathBuf,
    },
    /// CURP tools for QA: check, calculate, show the person, make random ones.
    Curp {
        /// Fixture files replacing the embedded ones (names, catalogs, personas).
        #[arg(long, env = "MXID_FIXTURES", global = true)]
        fixtures: Option<PathBuf>,
        /// Scenario files replacing the embedded ones: the scenarios a
        /// persona's `scenario` names, as `serve` reads them.
        #[arg(long, env = "MXID_SCENARIOS", global = true)]
        scenarios: Option<PathBuf>,
        #[command(subcommand)]
        command: crate::curp::cmd::CurpCommand,
    },
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Scenario files to list instead of the embedded ones.
    #[arg(long, env = "MXID_SCENARIOS")]
    pub scenarios: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, env = "MXID_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind; 0 takes a free one.
    #[arg(
        long,
        allow_negative_numbers = true,
        env = "MXID_PORT",
        default_value_t = 8080
    )]
    pub port: u16,
    /// Folder of scenario files replacing the embedded ones it has.
    #[arg(long, env = "MXID_SCENARIOS")]
    pub scenarios: Option<PathBuf>,
    /// Folder of fixture files replacing the embedded ones it has.
    #[arg(long, env = "MXID_FIXTURES")]
    pub fixtures: Option<PathBuf>,
    /// Seed for synthetic people, ids and delays drawn from a latency range.
    #[arg(
        long,
        allow_negative_numbers = true,
        env = "MXID_SEED",
        default_value_t = 0
    )]
    pub seed: u64,
    /// Accept only the credentials listed in the fixtures.
    #[arg(long, env = "MXID_STRICT_AUTH", value_parser = switch)]
    pub strict_auth: bool,
    /// Answer as the providers' own sandboxes do (nss: 400 without testCase).
    #[arg(long, env = "MXID_STRICT_SANDBOX", value_parser = switch)]
    pub strict_sandbox: bool,
    /// Latency for every provider response (not the admin API): 250ms,
    /// 100ms..300ms or lognormal(200ms, 0.5); at most 10m.
    #[arg(long, env = "MXID_LATENCY")]
    pub latency: Option<String>,
    /// Sandbox clock speed: 1 is real time, 0 frozen, 60 a minute a second;
    /// at most 1000000.
    #[arg(long, allow_negative_numbers = true, env = "MXID_TIME_SCALE", default_value_t = Config::default().clock.scale)]
    pub time_scale: f64,
    /// Start the sandbox clock at this RFC 3339 time instead of now.
    #[arg(long, env = "MXID_START_TIME")]
    pub start_time: Option<String>,
    /// Journal entries kept per namespace (oldest dropped first).
    #[arg(long, allow_negative_numbers = true, env = "MXID_JOURNAL_LIMIT", default_value_t = Config::default().journal_limit)]
    pub journal_limit: usize,
    /// Largest request body in bytes; larger gets 413.
    #[arg(long, allow_negative_numbers = true, env = "MXID_BODY_LIMIT", default_value_t = Config::default().body_limit)]
    pub body_limit: usize,
    /// Default webhook target for every apikey of the async provider.
    // `--help` does not show the environment's value: a URL may carry a
    // password, as the admin token is a secret.
    #[arg(long, env = "MXID_WEBHOOK_URL", hide_env_values = true)]
    pub webhook_url: Option<String>,
    /// Require `Authorization: Bearer TOKEN` on /__admin.
    #[arg(long, env = "MXID_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Connections served at once (1 to 1000000); more are refused with 503.
    #[arg(long, allow_negative_numbers = true, env = "MXID_MAX_CONNECTIONS", default_value_t = Config::default().max_connections)]
    pub max_connections: usize,
    /// How long a client may take to send its request headers, then its
    /// body; an idle keep-alive or HTTP/2 connection is closed after it.
    #[arg(long, env = "MXID_HEADER_TIMEOUT", default_value_t = format_duration(Config::default().header_timeout))]
    pub header_timeout: String,
    /// How long shutdown waits for requests in flight.
    #[arg(long, env = "MXID_SHUTDOWN_TIMEOUT", default_value_t = format_duration(Config::default().shutdown_timeout))]
    pub shutdown_timeout: String,
    /// Print one line per request to stderr.
    #[arg(long, env = "MXID_LOG_REQUESTS", value_parser = switch)]
    pub log_requests: bool,
}

/// A switch's value from the environment (`MXID_STRICT_AUTH=yes`): the
/// forms clap's boolish parser takes, refused with the ones to write.
fn switch(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" | "on" => Ok(true),
        "false" | "f" | "0" | "no" | "n" | "off" => Ok(false),
        _ => Err("write true or false, 1 or 0, yes or no, on or off".into()),
    }
}

impl ServeArgs {
    /// The validated configuration, or a message saying which flag is wrong.
    pub fn config(&self) -> Result<Config, String> {
        let latency = self
            .latency
            .as_deref()
            .map(str::parse::<Latency>)
            .transpose()
            .map_err(|e| format!("--latency: {e}"))?;
        if !self.time_scale.is_finite() || self.time_scale < 0.0 || self.time_scale > 1e6 {
            return Err("--time-scale: must be a number from 0 to 1000000".into());
        }
        let start = self
            .start_time
            .as_deref()
            .map(Timestamp::parse_rfc3339)
            .transpose()
            .map_err(|e| format!("--start-time: {e}"))?;
        if start.is_some_and(|t| !t.in_rfc3339_range()) {
            return Err("--start-time: the sandbox clock runs from year 0001 to 9999".into());
        }
        let dur = |flag: &str, v: &str| -> Result<Duration, String> {
            parse_duration(v).map_err(|e| format!("--{flag}: {e}"))
        };
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(format!(
                "--max-connections: must be from 1 to {MAX_CONNECTIONS}"
            ));
        }
        let header_timeout = dur("header-timeout", &self.header_timeout)?;
        // The watch counts whole milliseconds: less would be 0.
        if header_timeout < Duration::from_millis(1) {
            return Err(
                "--header-timeout: must be 1ms or more (every client would be cut off at once)"
                    .into(),
            );
        }
        if let Some(url) = &self.webhook_url {
            crate::engine::fixtures::check_webhook_url(url)
                .map_err(|e| format!("--webhook-url: {e}"))?;
        }
        if let Some(t) = self.admin_token.as_deref() {
            if t.trim().is_empty() {
                return Err("--admin-token: must not be empty".into());
            }
            // It travels in a header, whose value HTTP trims and which
            // carries ASCII: any other token could never be presented.
            if !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(
                    "--admin-token: only visible ASCII, no spaces (it is sent in an Authorization header)"
                        .into(),
                );
            }
        }
        Ok(Config {
            seed: self.seed,
            strict_auth: self.strict_auth,
            strict_sandbox: self.strict_sandbox,
            latency,
            clock: Start {
                at: start,
                scale: self.time_scale,
            },
            journal_limit: self.journal_limit,
            body_limit: self.body_limit,
            scenarios: self.scenarios.clone().map(Source::Dir).unwrap_or_default(),
            fixtures: self.fixtures.clone().map(Source::Dir).unwrap_or_default(),
            webhook_url: self.webhook_url.clone(),
            admin_token: self.admin_token.clone(),
            max_connections: self.max_connections,
            header_timeout,
            shutdown_timeout: dur("shutdown-timeout", &self.shutdown_timeout)?,
            log_requests: self.log_requests,
            ..Config::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::switch;

    /// README, Command line: "The three switches … take `true`/`false`,
    /// `1`/`0`, `yes`/`no` or `on`/`off` from the environment", in any case.
    #[test]
    fn a_switch_takes_the_readmes_words_either_way() {
        for (words, on) in [
            (["true", "1", "yes", "on"], true),
            (["false", "0", "no", "off"], false),
        ] {
            for word in words {
                assert_eq!(switch(word), Ok(on), "{word}");
                assert_eq!(switch(&word.to_ascii_uppercase()), Ok(on), "{word}");
            }
        }
        for word in ["", "2", "enabled", "onn"] {
            assert!(switch(word).is_err(), "{word}");
        }
    }
}
