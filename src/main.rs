//! The `mxid-sandbox` binary: parse the command line, load, bind, serve.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use mxid_sandbox::cli::{Cli, Command};
use mxid_sandbox::config::Source;
use mxid_sandbox::engine::{self, Engine};
use mxid_sandbox::{providers, Config};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let config = match args.config() {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            serve(&args.host, args.port, config)
        }
        Command::Scenarios(args) => {
            let config = Config {
                scenarios: args.scenarios.map(Source::Dir).unwrap_or_default(),
                ..Config::default()
            };
            let engine = match Engine::new(config, providers::all()) {
                Ok(e) => e,
                Err(e) => return fail(&e.to_string()),
            };
            let catalog = engine.catalog();
            if args.json {
                out(&serde_json::to_string_pretty(&catalog).unwrap_or_default());
            } else {
                for row in catalog {
                    out(&format!(
                        "{:<11} {:<6} {:<42} {:<28} {}",
                        row.provider, row.method, row.path, row.name, row.description
                    ));
                }
            }
            ExitCode::SUCCESS
        }
        Command::Check { dir } => check(dir),
        Command::Curp { fixtures, command } => {
            let source = fixtures.map(Source::Dir).unwrap_or_default();
            let fixtures = match engine::fixtures::Fixtures::load(&source) {
                Ok(f) => f,
                Err(e) => return fail(&e.to_string()),
            };
            match mxid_sandbox::curp::cmd::run(&command, &fixtures.domain) {
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
    let engine = match Engine::new(config, providers::all()) {
        Ok(e) => e,
        Err(e) => return fail(&format!("configuration refused: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        let listener = match mxid_sandbox::server::bind(host, port).await {
            Ok(l) => l,
            Err(e) => return fail(&format!("cannot bind {host}:{port}: {e}")),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => return fail(&e.to_string()),
        };
        if !addr.ip().is_loopback() && engine.config().admin_token.is_none() {
            let _ = writeln!(std::io::stderr(), "mxid-sandbox: warning: bound to {addr}, reachable from other machines, and /__admin has no --admin-token");
        }
        // The handlers are in place before the ready line: a supervisor that
        // signals as soon as it reads it gets a graceful exit, not a kill.
        let shutdown = match shutdown_signal() {
            Ok(s) => s,
            Err(e) => return fail(&format!("cannot listen for signals: {e}")),
        };
        // A closed stdout (`serve | head -1` once head is gone) loses the
        // line; the server serves on.
        let _ = writeln!(
            std::io::stdout().lock(),
            "mxid-sandbox listening on http://{addr}"
        );
        match mxid_sandbox::server::serve(listener, engine, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e.to_string()),
        }
    })
}

/// Registers for SIGINT and SIGTERM now; the future completes on either.
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
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Validates a folder: fixture files by their names, the rest as scenarios.
fn check(dir: std::path::PathBuf) -> ExitCode {
    let fixture_stems: Vec<&str> = engine::fixtures::EMBEDDED
        .iter()
        .map(|(n, _)| n.trim_end_matches(".yaml"))
        .collect();
    // Each YAML file's name without its extension (`.yaml` or `.yml`).
    let stems: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let stem = n.strip_suffix(".yaml").or_else(|| n.strip_suffix(".yml"));
                    stem.map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let has_fixtures = stems.iter().any(|s| fixture_stems.contains(&s.as_str()));
    let has_scenarios = stems.iter().any(|s| !fixture_stems.contains(&s.as_str()));
    if !dir.is_dir() {
        return fail(&format!("{}: not a folder", dir.display()));
    }
    let config = Config {
        scenarios: if has_scenarios {
            Source::Dir(dir.clone())
        } else {
            Source::Embedded
        },
        fixtures: if has_fixtures {
            Source::Dir(dir.clone())
        } else {
            Source::Embedded
        },
        ..Config::default()
    };
    if !has_scenarios && !has_fixtures {
        return fail(&format!(
            "{}: no scenario or fixture files (*.yaml) to check",
            dir.display()
        ));
    }
    if has_scenarios && has_fixtures {
        return fail(&format!(
            "{}: holds both scenario and fixture files; check them in separate folders",
            dir.display()
        ));
    }
    match engine::load(&config, &providers::all()) {
        Ok(defs) => {
            let scenarios: usize = defs
                .providers
                .iter()
                .flat_map(|p| &p.endpoints)
                .map(|e| e.scenarios.len())
                .sum();
            out(&format!(
                "{}: ok ({} providers, {scenarios} scenarios)",
                dir.display(),
                defs.providers.len()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Prints a line of a command's output. A closed pipe (`… | head`) ends
/// the output quietly instead of panicking as `println!` does.
fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}").is_err() {
        std::process::exit(0);
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "mxid-sandbox: {message}");
    ExitCode::FAILURE
}
