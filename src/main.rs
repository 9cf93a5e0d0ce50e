//! The `mxid-sandbox` binary: parse the command line, load, bind, serve.

use std::io::Write;
use std::process::ExitCode;

use mxid_sandbox::cli::{Cli, Command};
use mxid_sandbox::config::Source;
use mxid_sandbox::engine::model::LoadError;
use mxid_sandbox::engine::Engine;
use mxid_sandbox::stderr::{printable, warn};
use mxid_sandbox::{providers, Config};

fn main() -> ExitCode {
    ignore_file_size_signal();
    // An empty MXID_ variable is no variable, as an empty sandbox header is
    // no header: a CI file that templates `MXID_SEED=$SEED` may leave it
    // unset (clap would report the flag given without its value). Before
    // any thread starts.
    for (name, value) in std::env::vars_os() {
        if value.is_empty() && name.to_string_lossy().starts_with("MXID_") {
            std::env::remove_var(name);
        }
    }
    let cli = Cli::parse_or_exit();
    match cli.command {
        Command::Serve(args) => {
            if let Some(line) = mxid_sandbox::cli::environment_line() {
                warn(format_args!("{line}"));
            }
            let config = match args.config() {
                Ok(c) => c,
                Err(e) => return fail(&mxid_sandbox::cli::naming_env_source(e)),
            };
            serve(&args.host, args.port, config)
        }
        Command::Scenarios(args) => {
            let config = Config {
                scenarios: args.scenarios.map(Source::Dir).unwrap_or_default(),
                ..Config::default()
            };
            let folders = Folders::of(&config);
            let engine = match Engine::new(config, providers::all()) {
                Ok(e) => e,
                Err(e) => return fail(&folders.naming_flag(e).to_string()),
            };
            let catalog = engine.catalog();
            if args.json {
                out(&serde_json::to_string_pretty(&catalog).unwrap_or_default());
            } else {
                for row in catalog {
                    // A description is one line (README): a file's line
                    // breaks and control characters are shown as escapes.
                    out(&printable(&format!(
                        "{:<11} {:<8} {:<42} {:<28} {}",
                        row.provider, row.method, row.path, row.name, row.description
                    )));
                }
            }
            ExitCode::SUCCESS
        }
        Command::Export { dir } => match mxid_sandbox::export::run(&dir) {
            Ok(line) => {
                out(&line);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Check {
            dir,
            scenarios,
            fixtures,
            strict_auth,
        } => match mxid_sandbox::check::run(&dir, scenarios, fixtures, strict_auth) {
            Ok(line) => {
                out(&line);
                ExitCode::SUCCESS
            }
            Err(refusal) => match refusal.note {
                Some(note) => fail_with_note(&refusal.message, &note),
                None => fail(&refusal.message),
            },
        },
        Command::Curp {
            fixtures,
            scenarios,
            command,
        } => {
            // The people and the scenarios as `serve` would read them, with
            // the same checks: a persona's scenario a provider lacks is not
            // what it answers.
            let embedded_scenarios = scenarios.is_none();
            let config = Config {
                fixtures: fixtures.map(Source::Dir).unwrap_or_default(),
                scenarios: scenarios.map(Source::Dir).unwrap_or_default(),
                ..Config::default()
            };
            let folders = Folders::of(&config);
            let engine = match Engine::new(config, providers::all()) {
                Ok(e) => e,
                // A folder named on the command line that cannot be read is
                // no matter of the scenario files.
                Err(e) if embedded_scenarios && folders.named(&e).is_none() => {
                    return fail_with_note(
                        &e,
                        "(read with the embedded scenario files; --scenarios DIR reads yours)",
                    )
                }
                Err(e) => return fail(&folders.naming_flag(e).to_string()),
            };
            let scenarios = engine.scenarios_by_provider();
            let defs = engine.defs();
            match mxid_sandbox::curp::cmd::run(&command, &defs.fixtures.domain, &scenarios) {
                Ok(value) => {
                    out(&serde_json::to_string_pretty(&value).unwrap_or_default());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}

fn serve(host: &str, port: u16, config: Config) -> ExitCode {
    // Looked up, an empty host fails as a name that does not resolve.
    if host.trim().is_empty() {
        return fail(&mxid_sandbox::cli::naming_env_source(
            "--host: empty: name an address to bind (127.0.0.1, 0.0.0.0, ::1) or a host name"
                .into(),
        ));
    }
    // Before the ready line: a client may connect as soon as it reads it.
    mxid_sandbox::server::raise_open_files_limit();
    let folders = Folders::of(&config);
    let engine = match Engine::to_serve(config, providers::all()) {
        Ok(e) => e,
        Err(e) => {
            let e = folders.naming_flag(e);
            return fail(&format!("configuration refused: {e}"));
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK)
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let code = runtime.block_on(async move {
        let listener = match mxid_sandbox::server::bind(host, port).await {
            Ok(l) => l,
            Err(e) => {
                // A host is a value: at most 256 bytes of it.
                let at = mxid_sandbox::server::host_port(host, port);
                return fail(&format!(
                    "cannot bind {}: {e}",
                    mxid_sandbox::engine::quoted(&at)
                ));
            }
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => return fail(&e.to_string()),
        };
        // `::ffff:127.0.0.1` is the loopback too, written as IPv6.
        if !addr.ip().to_canonical().is_loopback() && engine.config().admin_token.is_none() {
            warn(format_args!("warning: bound to {addr}, reachable from other machines, and /__admin has no --admin-token"));
        }
        // The handlers are in place before the ready line: a supervisor that
        // signals as soon as it reads it gets a graceful exit, not a kill.
        let shutdown = match shutdown_signal() {
            Ok(s) => s,
            Err(e) => return fail(&format!("cannot listen for signals: {e}")),
        };
        // The server's own threads too: one that cannot start (a limit on
        // processes) stops the start before the ready line, not after it.
        let watch = match mxid_sandbox::server::HeaderWatch::start(engine.config()) {
            Ok(w) => w,
            Err(e) => return fail(&e.to_string()),
        };
        // From here stderr's lines are written off the workers: a reader
        // that stops reading holds that thread, not the server. The lines
        // before (a refusal, the warning) are written when they are made.
        mxid_sandbox::stderr::start();
        // A closed stdout (`serve | head -1` once head is gone) loses the
        // line; the server serves on. Any other failure (a full disk) is
        // said on stderr, where a user looking for the line may look next.
        let mut stdout = std::io::stdout().lock();
        let ready = writeln!(stdout, "mxid-sandbox listening on http://{addr}")
            .and_then(|()| stdout.flush());
        drop(stdout);
        match ready {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => warn(format_args!(
                "cannot write the ready line (listening on http://{addr}): {e}"
            )),
            _ => {}
        }
        match mxid_sandbox::server::serve_watched(listener, engine, watch, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e.to_string()),
        }
    });
    // A worker stuck in a read that never returns (a reload's file on a
    // stalled network mount) would hold the exit forever: the runtime's
    // drop waits for its threads.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    mxid_sandbox::stderr::flush(STDERR_FLUSH);
    code
}

/// A worker's stack, tokio's default, set: a small `RUST_MIN_STACK` in the
/// environment would otherwise size it (at 64 KB, a JSON body nested as
/// deep as serde_json reads overflowed it and aborted the server).
const WORKER_STACK: usize = 2 << 20;

/// How long the exit waits for stderr's last lines to be written.
const STDERR_FLUSH: std::time::Duration = std::time::Duration::from_secs(1);

/// Registers for SIGINT and SIGTERM now; the future completes on either.
/// A second one, during the wait for requests in flight, ends the process
/// at once (status 1): a user who presses Ctrl-C twice means it. One that
/// comes with the first (within [`SIGNALS_TOGETHER`]: a terminal's Ctrl-C
/// and a supervisor's SIGTERM to the same process group) is the same
/// request to stop.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        let first = tokio::time::Instant::now();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                if first.elapsed() >= SIGNALS_TOGETHER {
                    break;
                }
            }
            warn(format_args!(
                "second signal: exiting without waiting for requests in flight"
            ));
            mxid_sandbox::stderr::flush(STDERR_FLUSH);
            std::process::exit(1);
        });
    })
}

/// Signals this close after the first are the same request to stop.
#[cfg(unix)]
const SIGNALS_TOGETHER: std::time::Duration = std::time::Duration::from_millis(250);

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Prints a line of a command's output. A closed pipe (`… | head`) ends
/// the output quietly instead of panicking as `println!` does; any other
/// failed write (a full disk, a file-size limit) ends it with the reason,
/// exit 1: the output is cut, and a script must not take it for whole.
fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            warn(format_args!("cannot write the output: {e}"));
            std::process::exit(1);
        }
    }
}

/// SIGXFSZ ignored, as Rust's runtime ignores SIGPIPE: a write past the
/// file-size limit (`ulimit -f`: a log file's, an exported file's) then
/// fails as a write, which loses a line or refuses a command with the
/// reason, instead of killing the process, the server with it.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: before any thread starts; SIG_IGN is a disposition, not a
    // handler, so nothing runs in signal context.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// The folders the command line names, for an error about one of them.
struct Folders {
    scenarios: Source,
    fixtures: Source,
}

impl Folders {
    fn of(config: &Config) -> Folders {
        Folders {
            scenarios: config.scenarios.clone(),
            fixtures: config.fixtures.clone(),
        }
    }

    /// The flag that named the folder `e` is about, when it is about a
    /// folder itself (one that cannot be read) rather than a file in it.
    fn named(&self, e: &LoadError) -> Option<&'static str> {
        [
            ("--scenarios", &self.scenarios),
            ("--fixtures", &self.fixtures),
        ]
        .into_iter()
        .find_map(|(flag, source)| match source {
            Source::Dir(dir) if dir.display().to_string() == e.file => Some(flag),
            _ => None,
        })
    }

    /// `e` with the flag that named its folder before the folder
    /// (`--scenarios /x: cannot read folder: …`): the environment's
    /// `MXID_SCENARIOS` or a typo in a CI file is then found by its name.
    fn naming_flag(&self, mut e: LoadError) -> LoadError {
        if let Some(flag) = self.named(&e) {
            e.file = format!("{flag} {}", e.file);
            e.message.push_str(&mxid_sandbox::cli::env_note(flag));
        }
        e
    }
}

fn fail(message: &str) -> ExitCode {
    warn(format_args!("{message}"));
    ExitCode::FAILURE
}

/// An error, made printable as [`fail`] makes it, and a line of our own
/// under it.
fn fail_with_note(error: &dyn std::fmt::Display, note: &str) -> ExitCode {
    warn(format_args!("{error}"));
    mxid_sandbox::stderr::line(note.to_string());
    ExitCode::FAILURE
}
