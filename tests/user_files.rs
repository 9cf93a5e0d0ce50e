//! What a user writes: their own scenario and fixture folders, reload, and
//! the binary's `check` and `curp` commands on unusual input. Every mistake
//! must be refused with file, line and field, never panic, never be ignored.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{config, folder, temp_dir, RemovedOnDrop, Resp, Sandbox, START};
use crate::engine::{run, run_with_env};
use mxid_sandbox::engine::model::LoadError;
use mxid_sandbox::engine::{self, Defs};
use mxid_sandbox::{providers, Config, Source};

mod fixture_files;
mod names;
mod personas;
mod yaml_bounds;
mod yaml_cost;
mod yaml_gotchas;

const BIN: &str = env!("CARGO_BIN_EXE_mxid-sandbox");
const CREDENTIALS: &str = include_str!("../fixtures/credentials.yaml");

/// The success scenario's first lines, where the edits below hook in.
const SUCCESS_HEAD: &str = "        status: 200\n        body: &person";

/// A folder holding `provider.yaml`: the shipped file after `edit`.
fn scenario_dir(tag: &str, provider: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let file = format!("{provider}.yaml");
    let shipped = shipped("scenarios", &file);
    let edited = edit(&shipped);
    assert_ne!(edited, shipped, "the edit must change the file");
    let dir = temp_dir(tag);
    std::fs::write(dir.join(file), edited).unwrap();
    dir
}

/// The shipped `file` of the crate's `folder` (`scenarios` or `fixtures`).
pub(crate) fn shipped(folder: &str, file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(folder)
            .join(file),
    )
    .unwrap()
}

/// A folder holding `curpv5.yaml`: the shipped file after `edit`.
pub(crate) fn curpv5_dir(tag: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    scenario_dir(tag, "curpv5", edit)
}

/// The success scenario of curpv5 with `extra` lines after its status.
fn with_success_lines(tag: &str, extra: &str) -> PathBuf {
    curpv5_dir(tag, |s| {
        s.replacen(
            SUCCESS_HEAD,
            &format!("        status: 200\n{extra}        body: &person"),
            1,
        )
    })
}

pub(crate) fn load(scenarios: &Path) -> Result<Defs, LoadError> {
    let config = Config {
        scenarios: Source::Dir(scenarios.to_path_buf()),
        ..Config::default()
    };
    engine::load(&config, &providers::all())
}

fn load_fixtures(fixtures: &Path) -> Result<Defs, LoadError> {
    let config = Config {
        fixtures: Source::Dir(fixtures.to_path_buf()),
        ..Config::default()
    };
    engine::load(&config, &providers::all())
}

pub(crate) fn refused(result: Result<Defs, LoadError>) -> LoadError {
    match result {
        Ok(_) => panic!("the files were accepted"),
        Err(e) => e,
    }
}

/// A folder holding the one fixture (or scenario) file `file`, with `text`.
fn folder_with(tag: &str, file: &str, text: &str) -> PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join(file), text).unwrap();
    dir
}

/// `mxid-sandbox check DIR`: whether it passed, and its stderr.
fn check(dir: &Path) -> (bool, String) {
    let out = run(&["check", dir.to_str().unwrap()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The number (from 1) of the line of `dir`'s curpv5.yaml that is `line`.
fn line_of(dir: &Path, line: &str) -> usize {
    let text = std::fs::read_to_string(dir.join("curpv5.yaml")).unwrap();
    text.lines()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line {line:?}"))
        + 1
}

/// The sandbox serving the scenarios in `dir`.
async fn serving(dir: &Path) -> Sandbox {
    Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.to_path_buf()),
        ..config()
    })
    .await
}

// --- calls shared by the submodules --------------------------------------------

/// The sandbox serving the fixtures in `dir`.
pub(crate) async fn serving_fixtures(dir: &Path) -> Sandbox {
    Sandbox::start_with(Config {
        fixtures: Source::Dir(dir.to_path_buf()),
        ..config()
    })
    .await
}

/// `curp` sent to `path` as its document sends it, with any credential.
async fn ask(sb: &Sandbox, path: &str, auth: &[(&str, &str)], field: &str, curp: &str) -> Resp {
    let mut body = serde_json::Map::new();
    body.insert(field.into(), curp.into());
    sb.post(path, auth, Value::Object(body)).await
}

async fn bycurp(sb: &Sandbox, curp: &str) -> Resp {
    ask(sb, "/api/curp/bycurp", &[("apikey", "k")], "curp", curp).await
}

async fn get_data(sb: &Sandbox, curp: &str) -> Resp {
    let auth = [("authorization", "Bearer t")];
    ask(sb, "/curp/getData", &auth, "curp", curp).await
}

async fn id_check(sb: &Sandbox, curp: &str) -> Resp {
    let auth = [("X-DF-API-ID", "i"), ("X-DF-API-SECRET", "s")];
    ask(sb, "/verify/id_check", &auth, "id_number", curp).await
}

/// nss's query, with `headers` beside the key.
async fn imss(sb: &Sandbox, curp: &str, headers: &[(&str, &str)]) -> Resp {
    let mut h = vec![("x-api-key", "k")];
    h.extend_from_slice(headers);
    ask(sb, "/api/v1/imss/nss", &h, "curp", curp).await
}

/// Creates an async verification: its id.
async fn create(sb: &Sandbox, path: &str, body: Value, headers: &[(&str, &str)]) -> String {
    let mut h = vec![("apikey", "ak")];
    h.extend_from_slice(headers);
    let r = sb.post(path, &h, body).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()["verificationId"].as_str().unwrap().to_string()
}

async fn status_of(sb: &Sandbox, id: &str) -> Value {
    let r = sb
        .get(
            &format!("/api/AsyncVerication/verificationStatus?verificationId={id}"),
            &[("apikey", "ak")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// An async verification created and the sandbox clock moved 2 s: its status.
async fn verified(sb: &Sandbox, path: &str, body: Value) -> Value {
    let id = create(sb, path, body, &[]).await;
    sb.advance("2s").await;
    status_of(sb, &id).await
}

/// The `verification` string of a status, parsed.
fn verification(status: &Value) -> Value {
    serde_json::from_str(status["verification"].as_str().unwrap_or("null")).unwrap()
}

/// A JSON value as text (strings without their quotes).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// --- what works as documented ----------------------------------------------

#[test]
fn an_unknown_placeholder_is_refused_with_file_line_and_field() {
    let dir = curpv5_dir("typo", |s| {
        s.replacen("curp: \"{{curp}}\"", "curp: \"{{curpp}}\"", 1)
    });
    let err = refused(load(&dir));
    let file = dir.join("curpv5.yaml").display().to_string();
    assert_eq!(err.file, file, "{err}");
    assert_eq!(err.line, Some(44), "{err}");
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.scenarios.success.body"),
        "{err}"
    );
    assert!(
        err.message.contains("unknown placeholder {{curpp}}"),
        "{err}"
    );
}

// The same in an `errors:` entry, which the engine fills with its own
// placeholders (`message`, `scenario`, `now`) and the module's error ones:
// the request's CURP is not among them, and the message says where it is.
#[test]
fn an_unknown_placeholder_in_an_errors_entry_is_refused_naming_the_entry() {
    let dir = curpv5_dir("errors-typo", |s| {
        s.replacen(
            "body: {error: NOT_FOUND, message: \"{{message}}\"}",
            "body: {error: NOT_FOUND, message: \"{{curp}}\"}",
            1,
        )
    });
    let err = refused(load(&dir));
    assert_eq!(err.field.as_deref(), Some("errors.not_found.body"), "{err}");
    assert!(
        err.message.contains(
            "unknown placeholder {{curp}}; curpv5 fills message, scenario, now in an errors: entry"
        ),
        "{err}"
    );
}

// README "The scenario files": a placeholder written wrong (a name that
// is none, an empty one, one left open, three braces) would be sent as its
// text without a word; it is refused where it stands, in a body or a
// header. Braces around words and spaces, as RENAPO's messages name a
// field (`{{Nombre Campo}}`), are text.
#[test]
fn a_placeholder_written_wrong_is_refused_and_words_in_braces_are_text() {
    for (i, (written, found)) in [
        ("{{first-name}}", "{{first-name}}"),
        ("{{}}", "{{}}"),
        ("{{first_name}", "{{first_name}"),
        ("{{{first_name}}}", "{{{first_name}}}"),
        // Each also the start of the `{{curp}}` three lines above: the
        // error points at this one.
        ("{{curp}", "{{curp}"),
        ("{{curp", "{{curp"),
        ("{{ first-name\t}}", "{{ first-name\t}}"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = curpv5_dir(&format!("misspelled-{i}"), |s| {
            s.replacen(
                "firstName: \"{{first_name}}\"",
                &format!("firstName: \"{written}\""),
                1,
            )
        });
        let err = refused(load(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((err.line, err.column), (Some(47), Some(23)), "{err}");
        assert_eq!(
            err.field.as_deref(),
            Some("endpoints.bycurp.scenarios.success.body"),
            "{err}"
        );
        let said = format!("'{found}' is no placeholder, and would be sent as written: a placeholder is a name in two braces ({{{{curp}}}}); curpv5 fills ");
        assert!(err.message.starts_with(&said), "{err}");
    }
    let dir = curpv5_dir("misspelled-header", |s| {
        s.replacen(
            "        body: &person",
            "        headers: {X-Name: \"{{first-name}}\"}\n        body: &person",
            1,
        )
    });
    let err = refused(load(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.scenarios.success.headers.X-Name"),
        "{err}"
    );
    let dir = curpv5_dir("words-in-braces", |s| {
        s.replacen(
            "firstName: \"{{first_name}}\"",
            "firstName: \"{{Nombre Campo}} {{first_name}}\"",
            1,
        )
    });
    let loaded = load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}

// The same, pointed at where the placeholder stands: not at a comment that
// quotes it above, and in a block scalar (an HTML page's text body) at
// its own line, not at `body:`.
#[test]
fn a_placeholder_written_wrong_is_pointed_at_past_comments_and_in_blocks() {
    for (tag, lines, at) in [
        (
            "comment",
            "        body:\n          # b: \"{{curp}\"\n          a: \"{{curp}\"\n",
            "          a: \"{{curp}\"",
        ),
        (
            "block",
            "        headers: {Content-Type: text/html}\n        body: |\n          <p>\n          <p>x {{curp\n",
            "          <p>x {{curp",
        ),
    ] {
        let dir = curpv5_dir(&format!("misspelled-{tag}"), |s| {
            s.replacen(
                "    scenarios:\n      success:\n",
                &format!("    scenarios:\n      zz:\n        description: x\n        status: 200\n{lines}      success:\n"),
                1,
            )
        });
        let text = std::fs::read_to_string(dir.join("curpv5.yaml")).unwrap();
        let err = refused(load(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        let (l, col) = pos(&text, at, "{{curp");
        assert_eq!((err.line, err.column), (Some(l), Some(col)), "{tag}: {err}");
        assert!(err.message.starts_with("'{{curp"), "{tag}: {err}");
        assert!(!err.message.starts_with("'{{curp\n"), "{tag}: {err}");
    }
}

#[test]
fn a_removed_required_scenario_is_named() {
    let dir = curpv5_dir("required", |s| {
        s.replacen("      missing_credentials:", "      missing_credential:", 1)
    });
    let err = refused(load(&dir));
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.scenarios"),
        "{err}"
    );
    assert!(
        err.message
            .contains("missing scenario 'missing_credentials'"),
        "{err}"
    );
}

#[test]
fn a_duplicate_field_is_refused_at_its_line_and_column() {
    let dir = with_success_lines("dupfield", "        status: 201\n");
    // At the second writing, where the user looks.
    let second = line_of(&dir, "        status: 201");
    let err = refused(load(&dir));
    assert_eq!((err.line, err.column), (Some(second), Some(9)), "{err}");
    assert!(
        err.message.contains("duplicate entry with key \"status\""),
        "{err}"
    );
}

#[test]
fn bad_latencies_and_faults_are_refused_with_their_field() {
    for (extra, needle) in [
        ("        latency: fast\n", "latency 'fast'"),
        ("        latency: 20m\n", "more than 10m"),
        ("        latency: 250\n", "latency '250'"),
        ("        fault: explode\n", "unknown fault 'explode'"),
        // A list or a map is no text to read a latency or a fault from.
        (
            "        latency: [100ms, 200ms]\n",
            "invalid type: sequence, expected a string",
        ),
        (
            "        fault: {kind: hang}\n",
            "invalid type: map, expected a string",
        ),
    ] {
        let dir = with_success_lines("latfault", extra);
        let line = line_of(&dir, extra.trim_end());
        let err = refused(load(&dir));
        let key = extra.trim().split(':').next().unwrap();
        assert_eq!(
            err.field,
            Some(format!("endpoints.bycurp.scenarios.success.{key}")),
            "{extra}: {err}"
        );
        assert_eq!(err.line, Some(line), "the value's own line: {extra}: {err}");
        assert!(err.message.contains(needle), "{extra}: {err}");
    }
    load(&with_success_lines(
        "latok",
        "        latency: 10ms..20ms\n        fault: null\n",
    ))
    .unwrap();
}

// README, The scenario files: a body is sent as JSON unless the scenario
// writes its own `Content-Type` (then that one alone), whatever other
// headers it writes; an answer without a body has no content type.
#[tokio::test]
async fn a_scenario_body_has_one_content_type_its_own_or_json() {
    // curpv5's success forced, in the sandbox serving `dir`.
    async fn success_in(dir: PathBuf) -> Resp {
        let _gone = RemovedOnDrop(dir.clone());
        let sb = serving(&dir).await;
        let forced = [("apikey", "k"), ("x-sandbox-scenario", "success")];
        sb.post(
            "/api/curp/bycurp",
            &forced,
            json!({"curp": "PXNE660720HMCXTN06"}),
        )
        .await
    }
    for (tag, extra, expected) in [
        (
            "ctype-other",
            "        headers: {X-Trace: a}\n",
            Some("application/json; charset=utf-8"),
        ),
        (
            "ctype-own",
            "        headers: {Content-Type: text/plain, X-Trace: a}\n",
            Some("text/plain"),
        ),
    ] {
        let r = success_in(with_success_lines(tag, extra)).await;
        assert_eq!(r.status, 200, "{tag}: {}", r.text());
        let types: Vec<_> = r.headers.get_all("content-type").iter().collect();
        assert_eq!(types.len(), 1, "{tag}: {types:?}");
        assert_eq!(r.header("content-type"), expected, "{tag}");
        assert_eq!(r.header("x-trace"), Some("a"), "{tag}");
    }
    // A scenario without a body: no content type.
    let r = success_in(curpv5_dir("ctype-empty", |s| {
        s.replacen(SUCCESS_HEAD, "        status: 200\n      ctype_probe:\n        description: x\n        status: 200\n        body: &person", 1)
    }))
    .await;
    assert_eq!((r.status, r.body.len()), (200, 0), "{}", r.text());
    assert_eq!(r.header("content-type"), None);
}

// async's `settings:` (README table): a bare 0 is a zero duration, as in
// `latency:`; `webhook_attempts` is 1 to 100 (with a `0s` interval every
// attempt falls due at once, and a clock move would run them all).
#[test]
fn async_settings_take_a_bare_zero_and_at_most_a_hundred_webhook_attempts() {
    load(&scenario_dir("async-zero", "async", |s| {
        s.replace("processing_delay: 2s", "processing_delay: 0")
            .replace("webhook_retry_interval: 15m", "webhook_retry_interval: 0")
    }))
    .unwrap();
    load(&scenario_dir("async-100", "async", |s| {
        s.replace("webhook_attempts: 5", "webhook_attempts: 100")
    }))
    .unwrap();
    let dir = scenario_dir("async-timeout", "async", |s| {
        s.replace("webhook_timeout: 10s", "webhook_timeout: 0s")
    });
    let err = refused(load(&dir));
    assert!(
        err.to_string()
            .contains("settings.webhook_timeout: write more than 0"),
        "{err}"
    );
    for n in ["0", "101", "4294967296"] {
        let dir = scenario_dir("async-attempts", "async", |s| {
            s.replace("webhook_attempts: 5", &format!("webhook_attempts: {n}"))
        });
        let err = refused(load(&dir));
        assert!(
            err.to_string()
                .contains("settings.webhook_attempts: write a whole number from 1 to 100"),
            "{n}: {err}"
        );
    }
}

// README, The scenario files: a setting a provider does not read, or a value
// it cannot, is refused (a limit of `abc` would otherwise read as no limit).
// Every setting of every shipped file, and a key none reads.
#[test]
fn every_providers_settings_refuse_an_unread_key_and_a_value_of_words() {
    let mut seen = 0;
    for provider in crate::common::provider_ids() {
        let file = shipped("scenarios", &format!("{provider}.yaml"));
        let Some(block) = file.split("\nsettings:\n").nth(1) else {
            continue;
        };
        let keys: Vec<&str> = block
            .lines()
            .take_while(|l| l.starts_with("  ") || l.is_empty())
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k))
            .collect();
        assert!(!keys.is_empty(), "{provider}");
        for key in &keys {
            let dir = scenario_dir("settings-words", provider, |s| {
                let at = s.find(&format!("\n  {key}: ")).unwrap() + key.len() + 5;
                let end = at + s[at..].find('\n').unwrap();
                format!("{}abc{}", &s[..at], &s[end..])
            });
            let err = refused(load(&dir)).to_string();
            assert!(
                err.contains(&format!("settings.{key}")),
                "{provider} {key}: {err}"
            );
            seen += 1;
        }
        let dir = scenario_dir("settings-unread", provider, |s| {
            s.replacen("\nsettings:\n", "\nsettings:\n  colour: 1\n", 1)
        });
        let err = refused(load(&dir)).to_string();
        assert!(
            err.contains("settings.colour: unknown setting"),
            "{provider}: {err}"
        );
    }
    // nss 1, accuauth 3, validacurp 1, async 6.
    assert_eq!(seen, 11);
    // curpv5 reads no setting: a block of its own is refused by name.
    let dir = scenario_dir("settings-none-read", "curpv5", |s| {
        s.replacen("\nerrors:\n", "\nsettings:\n  colour: 1\nerrors:\n", 1)
    });
    let err = refused(load(&dir)).to_string();
    assert!(
        err.contains("settings.colour: unknown setting; this provider has none"),
        "curpv5: {err}"
    );
    // Written as a flow mapping, the error points at the key inside it.
    let dir = scenario_dir("settings-flow", "curpv5", |s| {
        s.replacen("\nerrors:\n", "\nsettings: {colour: 1}\nerrors:\n", 1)
    });
    let err = refused(load(&dir));
    let text = std::fs::read_to_string(dir.join("curpv5.yaml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("settings: {"))
        .unwrap()
        + 1;
    assert_eq!(err.field.as_deref(), Some("settings.colour"), "{err}");
    assert_eq!((err.line, err.column), (Some(line), Some(12)), "{err}");
}

// SPEC §8: "`mxid-sandbox check DIR` validates YAML and exits non-zero with
// file, line and field on error"; README: it "prints
// `file:line:column: field: message`". A bad provider-level `latency:` (the
// per-provider latency of SPEC §6) is reported at its own line, under the
// field `latency`, not at the file's first key with no field.
#[test]
fn check_names_the_line_and_field_of_a_bad_provider_latency() {
    let dir = curpv5_dir("provider-latency", |s| {
        s.replacen(
            "prefixes: [/api/curp/]\n",
            "prefixes: [/api/curp/]\nlatency: soon\n",
            1,
        )
    });
    let line = line_of(&dir, "latency: soon");
    let (ok, stderr) = check(&dir);
    assert!(!ok, "check passed a bad latency: {stderr}");
    assert!(
        stderr.contains(&format!("curpv5.yaml:{line}:")),
        "the error names line {line}, where `latency: soon` is: {stderr}"
    );
    assert!(
        stderr.contains(": latency: "),
        "the error names the field `latency` (file:line:column: field: message): {stderr}"
    );
}

// README, The scenario files: every file is validated "at startup, on
// reload and by `check`: … refused with file, line and field"; SPEC §8:
// "`mxid-sandbox check DIR` validates YAML and exits non-zero with file,
// line and field on error". An error found after parsing is reported at the
// line where it is: `data: BD` (not a mapping) in the `deceased` scenario at
// its own line, not at the file's first `data:`, and a prefix without its
// leading `/` at the `prefixes:` line, not at a comment that mentions the path.
#[test]
fn check_reports_a_post_parse_error_at_the_line_where_it_is() {
    // A data value that is not a mapping, in the sixth scenario with data.
    let dir = curpv5_dir("data-line", |s| {
        s.replacen("data: {status: BD}", "data: BD", 1)
    });
    let want = line_of(&dir, "        data: BD");
    let (ok, stderr) = check(&dir);
    assert!(!ok, "check passed `data: BD`: {stderr}");
    assert!(
        stderr.contains("scenarios.deceased.data"),
        "the field is named: {stderr}"
    );
    assert!(
        stderr.contains(&format!("curpv5.yaml:{want}:")),
        "the error names line {want}, where `data: BD` is: {stderr}"
    );

    // A prefix without its leading slash.
    let dir = curpv5_dir("prefix-line", |s| {
        s.replacen("prefixes: [/api/curp/]", "prefixes: [api/curp/]", 1)
    });
    let want = line_of(&dir, "prefixes: [api/curp/]");
    let (ok, stderr) = check(&dir);
    assert!(!ok, "check passed a prefix without /: {stderr}");
    assert!(
        stderr.contains(&format!("curpv5.yaml:{want}:")),
        "the error names line {want}, where the prefix is (not a comment line): {stderr}"
    );
}

// README, Command line: `check DIR` "else prints `DIR: ok (N providers, M
// scenarios)` (every provider's, the embedded file standing for each one
// `DIR` has none of)": a folder of one file counts the whole catalog, as
// `scenarios` lists it.
#[test]
fn check_counts_every_provider_with_the_embedded_files_standing_in() {
    let dir = folder_with(
        "count-one",
        "curpv5.yaml",
        &shipped("scenarios", "curpv5.yaml"),
    );
    let _gone = RemovedOnDrop(dir.clone());
    let listed = run(&["scenarios", "--json"]);
    let catalog: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rows = catalog.as_array().cloned().unwrap_or_default();
    let ids: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r["provider"].as_str()).collect();
    let (n, scenarios) = (ids.len(), rows.len());
    assert_eq!(n, providers::all().len());
    let out = run(&["check", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{}: ok ({n} providers, {scenarios} scenarios)\n",
            dir.display()
        )
    );
}

// README, Command line: "`mxid-sandbox check DIR` — … writes
// `mxid-sandbox: file:line:column: field: message` to stderr": an error
// found after parsing (here a reserved header) has its column too, on a
// line of its own that starts with the program's name and the file.
#[test]
fn check_prints_file_line_column_field_message_for_a_post_parse_error() {
    let header = "        headers: {Content-Length: \"3\"}";
    let dir = with_success_lines("column", &format!("{header}\n"));
    let at = format!("curpv5.yaml:{}:", line_of(&dir, header));
    let (ok, stderr) = check(&dir);
    assert!(!ok, "check passed a reserved header: {stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("mxid-sandbox: {}", dir.display())) && first.contains(&at),
        "the first line is `mxid-sandbox: DIR/curpv5.yaml:…`: {stderr}"
    );
    let rest = stderr
        .split(&at)
        .nth(1)
        .unwrap_or_else(|| panic!("no {at} in {stderr}"));
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    assert!(
        !column.is_empty() && rest[column.len()..].starts_with(": "),
        "`file:line:column: field: message` as the README prints it: {stderr}"
    );
}

/// The README's annotated scenario file ("The scenario files"): the
/// ```yaml block that starts with `provider: curpv5`, read at test time.
fn readme_scenario_file() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n### The scenario files\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README has the section \"The scenario files\"");
    section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("\n```").next())
        .find(|block| block.starts_with("provider: curpv5"))
        .expect("a ```yaml block that starts with `provider: curpv5`")
        .to_string()
}

/// The lines of `block` that set one of `keys` at the indentation of its
/// line `at_line` (trimmed), one for each key, in `keys`' order, trimmed.
fn keyed_lines<'a>(block: &'a str, at_line: &str, keys: &[&str]) -> Vec<&'a str> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let depth = block
        .lines()
        .find(|l| l.trim_start().starts_with(at_line))
        .map(indent)
        .unwrap_or_else(|| panic!("no `{at_line}` line in {block}"));
    keys.iter()
        .map(|key| {
            block
                .lines()
                .find(|l| indent(l) == depth && l.trim_start().starts_with(&format!("{key}:")))
                .unwrap_or_else(|| panic!("no `{key}:` beside `{at_line}` in {block}"))
                .trim_start()
        })
        .collect()
}

// README, The scenario files: the annotated file printed there, with its
// optional lines (the provider's `latency:` and `settings:`; a scenario's
// `headers:`, `latency:`, `fault:` and `data:`), is a file the sandbox
// loads. Those lines, as the README prints them now, pasted into the shipped
// curpv5.yaml (which has everything else curpv5 requires) pass `check`.
#[test]
fn the_readme_scenario_file_snippet_loads_in_a_scenarios_folder() {
    let snippet = readme_scenario_file();
    let top = keyed_lines(&snippet, "provider:", &["latency", "settings"]);
    let scenario = keyed_lines(
        &snippet,
        "status:",
        &["headers", "latency", "fault", "data"],
    );
    let dir = curpv5_dir("snippet", |s| {
        let prefixes = "prefixes: [/api/curp/]\n";
        assert!(s.contains(prefixes), "{prefixes}");
        let top: String = top.iter().map(|l| format!("{l}\n")).collect();
        let scenario: String = scenario.iter().map(|l| format!("        {l}\n")).collect();
        s.replacen(prefixes, &format!("{prefixes}{top}"), 1)
            .replacen(
                SUCCESS_HEAD,
                &format!("        status: 200\n{scenario}        body: &person"),
                1,
            )
    });
    let text = std::fs::read_to_string(dir.join("curpv5.yaml")).unwrap();
    for line in top.iter().chain(&scenario) {
        assert!(text.contains(line), "{line} was not pasted");
    }
    let (ok, stderr) = check(&dir);
    assert!(
        ok,
        "the README's scenario-file snippet does not load: {stderr}"
    );
}

// README, The scenario files: the annotated file itself, its `…` filled in
// as `not_found`'s is, is refused naming every scenario curpv5 answers with
// that it lacks, in one error: a file written from nothing had taken a run
// of `check` for each.
#[test]
fn the_readme_scenario_file_alone_is_told_every_scenario_it_lacks_at_once() {
    let text = readme_scenario_file()
        .replace(
            "{…}",
            "{description: x, status: 404, body: {error: NOT_FOUND}}",
        )
        .replace("description: …", "description: x");
    assert!(!text.contains('…'), "{text}");
    let stderr = refusal("readme-alone", "curpv5.yaml", &text);
    let said = "endpoints.bycurp.scenarios: missing scenarios 'missing_field', 'invalid_format', \
                'not_found', 'missing_credentials', 'invalid_credentials', which curpv5 answers with";
    assert!(stderr.contains(said), "{stderr}");
}

// And every endpoint's in the same error: an async file whose four
// endpoints each lack `missing_credentials` is told so once.
#[test]
fn every_endpoints_missing_scenarios_are_named_in_one_error() {
    let text = shipped("scenarios", "async.yaml")
        .replace("      missing_credentials:", "      no_credentials:");
    let stderr = refusal("missing-everywhere", "async.yaml", &text);
    let said = "endpoints.ine_nominal_list.scenarios: missing scenarios ine_nominal_list 'missing_credentials'; \
                rfc_by_curp 'missing_credentials'; nss_by_curp 'missing_credentials'; \
                verification_status 'missing_credentials', which async answers with";
    assert!(stderr.contains(said), "{stderr}");
}

// README, The scenario files: "The engine fills `scenario` and `now`
// everywhere and `message` in the `errors:` entries": `{{now}}` in an
// `errors:` entry is the sandbox time, as in any other template.
#[tokio::test]
async fn now_is_filled_in_an_engine_errors_template_too() {
    let dir = curpv5_dir("now-in-errors", |s| {
        s.replacen(
            "body: {error: NOT_FOUND, message: \"{{message}}\"}",
            "body: {error: NOT_FOUND, message: \"{{message}}\", at: \"{{now}}\"}",
            1,
        )
    });
    let sb = serving(&dir).await;
    let r = sb
        .post("/api/curp/nothing-here", &[("apikey", "k")], json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let b = r.json();
    assert_eq!(b["error"], "NOT_FOUND", "{b}");
    let at = b["at"].as_str().unwrap_or_default();
    assert!(
        at.starts_with(&START[..19]) && at.ends_with("-06:00"),
        "{{{{now}}}} in an errors: entry is the sandbox time ({START}): {b}"
    );
    // On a running clock it is the request's one reading, the journal's.
    let r = sb.admin_post("/__admin/clock", json!({"scale": 1e6})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    for _ in 0..5 {
        let r = sb
            .post("/api/curp/nothing-here", &[("apikey", "k")], json!({}))
            .await;
        sb.journaled(1).await;
        let entries = sb.admin_get("/__admin/requests?limit=1").await;
        let time = entries[0]["time"].as_str().unwrap_or_default().to_string();
        assert_eq!(r.json()["at"].as_str(), Some(time.as_str()), "{}", r.text());
    }
    sb.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Per provider: its endpoint ids, the placeholders its module fills (with
/// the engine's `scenario` and `now`), and a templated header.
const OWN_SCENARIO_ON: [(&str, &[&str], &str, &str); 5] = [
    (
        "curpv5",
        &["bycurp"],
        "curp, first_name, last_name, second_last_name, gender, birth_date, birth_state, nationality, proof_document_type, curp_status, input_digest, output_digest, time_stamp, time_stamp_digest, validation_date, ccb_code, ccb_description, renapo_code, renapo_description, scenario, now",
        "{{scenario}}|{{first_name}}|{{now}}",
    ),
    (
        "nss",
        &["query", "test_cases", "execution", "history"],
        "id, created_at, finished_at, duration, curp, nss, attempts_per_day, test_cases, execution, current_page, has_next_page, items, errors, scenario, now",
        "{{scenario}}|{{curp}}|{{id}}",
    ),
    (
        "accuauth",
        &["id_check"],
        "request_id, codigo_validacion, curp, nombre, apellido_paterno, apellido_materno, sexo, fecha_nacimiento, pais_nacimiento, estado_nacimiento, doc_probatorio, entidad_registro, tomo, clave_municipio_registro, anio_reg, clave_entidad_registro, foja, num_acta, libro, municipio_registro, estatus_curp, documento, scenario, now",
        "{{scenario}}|{{nombre}}|{{request_id}}",
    ),
    (
        "validacurp",
        &["validateCurpStructure", "getData", "calculateCURP", "getEntities"],
        "curp, names, last_name, second_last_name, gender_key, gender, date_of_birth, nacionality, code_entity_birth, entity_birth, key_evidentiary_document, evidentiary_document, curp_status_key, status_key, year_registration, key_issuing_entity, key_municipality_registration, municipality_registration, foja, folio_letter, book, certificate_number, registrant_number, registration_entity, foreign_registration_number, volume, entities, detail, scenario, now",
        "{{scenario}}|{{names}}|{{detail}}",
    ),
    (
        "async",
        &["ine_nominal_list", "rfc_by_curp", "nss_by_curp", "verification_status"],
        "verification_id, verification_type, verification_status, verification, warnings, scenario, now",
        "{{scenario}}|{{verification_id}}",
    ),
];

fn placeholders(provider: &str) -> Vec<&'static str> {
    let (_, _, names, _) = OWN_SCENARIO_ON
        .iter()
        .find(|(p, ..)| *p == provider)
        .unwrap();
    names.split(", ").collect()
}

/// `mine`, a scenario whose body holds every placeholder of `provider`
/// whole (`{{p}}`) and in text (`<{{p}}>`), and the template edge cases.
fn own_scenario(provider: &str, header: &str) -> String {
    let names = placeholders(provider);
    let whole: serde_json::Map<_, _> = names
        .iter()
        .map(|p| (p.to_string(), json!(format!("{{{{{p}}}}}"))))
        .collect();
    let text: serde_json::Map<_, _> = names
        .iter()
        .map(|p| (p.to_string(), json!(format!("<{{{{{p}}}}}>"))))
        .collect();
    let body = json!({
        "whole": whole,
        "text": text,
        "nested": [[{"deep": ["{{scenario}}", {"x": "{{now}}"}]}]],
        "repeated": "{{scenario}}{{scenario}} {{ scenario }}",
        "glued": "a{{scenario}}b",
        "braces": "{{ not a name }} }}{{ {{Nombre Campo}}",
    });
    format!(
        "      mine:\n        description: \"my own\"\n        status: 200\n        headers: {{X-Mine: \"{header}\"}}\n        body: {body}\n"
    )
}

/// Puts `scenario` (its lines) first in `endpoint`'s list of `yaml`.
fn insert_scenario(yaml: &mut String, endpoint: &str, scenario: &str) {
    let at = yaml.find(&format!("\n  {endpoint}:\n")).unwrap();
    let list = "\n    scenarios:\n";
    let at = at + yaml[at..].find(list).unwrap() + list.len();
    yaml.insert_str(at, scenario);
}

/// What `mine` must render: the whole values, each as text, and the edge
/// cases interpolated or left as written.
fn own_scenario_rendered(provider: &str, got: &Value) -> Value {
    let whole = &got["whole"];
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let text: serde_json::Map<_, _> = placeholders(provider)
        .into_iter()
        .map(|p| (p.to_string(), json!(format!("<{}>", as_text(&whole[p])))))
        .collect();
    json!({
        "whole": whole,
        "text": text,
        "nested": [[{"deep": ["mine", {"x": whole["now"]}]}]],
        "repeated": "minemine mine",
        "glued": "amineb",
        "braces": "{{ not a name }} }}{{ {{Nombre Campo}}",
    })
}

/// A request to one endpoint: provider, path, headers, body (`null`: a GET).
type Call = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Value,
);

/// A request to every endpoint, for this CURP where one is read.
fn every_endpoint(curp: &str) -> Vec<Call> {
    let (apikey, x_api_key, bearer) = (
        ("apikey", "k"),
        ("x-api-key", "k"),
        ("authorization", "Bearer t"),
    );
    let accuauth = vec![("X-DF-API-ID", "i"), ("X-DF-API-SECRET", "s")];
    let calc = json!({"names": "A\"b", "lastName": "C", "secondLastName": "D", "birthday": "01", "birthMonth": "02", "yearBirth": "1990", "gender": "H", "entity": "09"});
    let ine = json!({"type": "D", "id": "115568150", "ocr": "4855115346145"});
    vec![
        (
            "curpv5",
            "/api/curp/bycurp",
            vec![apikey],
            json!({"curp": curp}),
        ),
        (
            "nss",
            "/api/v1/imss/nss",
            vec![x_api_key],
            json!({"curp": curp}),
        ),
        (
            "nss",
            "/api/v1/imss/nss/test_case",
            vec![x_api_key],
            Value::Null,
        ),
        ("nss", "/api/v1/imss/nss/abc", vec![x_api_key], Value::Null),
        ("nss", "/api/v1/imss/nss", vec![x_api_key], Value::Null),
        (
            "accuauth",
            "/verify/id_check",
            accuauth,
            json!({"id_number": curp}),
        ),
        (
            "validacurp",
            "/curp/validateCurpStructure",
            vec![bearer],
            json!({"curp": curp}),
        ),
        (
            "validacurp",
            "/curp/getData",
            vec![bearer],
            json!({"curp": curp}),
        ),
        ("validacurp", "/curp/calculateCURP", vec![bearer], calc),
        ("validacurp", "/curp/getEntities", vec![bearer], json!({})),
        (
            "async",
            "/api/AsyncVerication/IneNominalList",
            vec![apikey],
            ine,
        ),
        (
            "async",
            "/api/AsyncVerication/RfcByCurp",
            vec![apikey],
            json!({"curp": curp}),
        ),
        (
            "async",
            "/api/AsyncVerication/NssByCurp",
            vec![apikey],
            json!({"curp": curp}),
        ),
        (
            "async",
            "/api/AsyncVerication/verificationStatus?verificationId=x",
            vec![apikey],
            Value::Null,
        ),
    ]
}

/// Why `r` is not `mine` rendered right, if it is not.
fn own_scenario_problem(provider: &str, r: &Resp, with_header: bool) -> Option<String> {
    if (r.status, r.scenario()) != (200, "mine") {
        return Some(format!(
            "status {} scenario {:?}: {}",
            r.status,
            r.scenario(),
            r.text()
        ));
    }
    let got: Value = match serde_json::from_slice(&r.body) {
        Ok(v) => v,
        Err(e) => return Some(format!("not JSON ({e}): {}", r.text())),
    };
    let want = own_scenario_rendered(provider, &got);
    if got != want {
        return Some(format!("rendered {got}\nwanted {want}"));
    }
    let header = r.header("x-mine");
    (with_header && !header.is_some_and(|h| h.starts_with("mine|")))
        .then(|| format!("X-Mine: {header:?}"))
}

// README "The scenario files": `{{name}}` alone is the whole value, in text interpolated,
// headers too: forced by header, persona (a hostile name) or override, on every endpoint.
#[tokio::test]
async fn a_users_own_scenario_renders_every_placeholder_on_every_provider() {
    const CURP: &str = "GOMC850312HJCNRR05";
    const NAME: &str = "Quo\"te \\ back\u{1}\u{7f}\nline\ttab </script> ñ 漢 😀\u{2028}x";
    let s = temp_dir("own-everywhere-s");
    let _gone_s = RemovedOnDrop(s.clone());
    crate::common::assert_every_provider("OWN_SCENARIO_ON", OWN_SCENARIO_ON.iter().map(|o| o.0));
    for (provider, endpoints, _, header) in OWN_SCENARIO_ON {
        let mut yaml = shipped("scenarios", &format!("{provider}.yaml"));
        for endpoint in endpoints {
            insert_scenario(&mut yaml, endpoint, &own_scenario(provider, header));
        }
        std::fs::write(s.join(format!("{provider}.yaml")), yaml).unwrap();
    }
    let name = serde_json::to_string(NAME)
        .unwrap()
        .replace('\u{7f}', "\\x7F");
    let persona = format!(
        "- curp: {CURP}\n  names: {name}\n  first_surname: {name}\n  second_surname: {name}\n  scenario: mine\n"
    );
    let f = folder_with("own-everywhere-f", "personas.yaml", &persona);
    let _gone_f = RemovedOnDrop(f.clone());
    let config = Config {
        scenarios: Source::Dir(s.clone()),
        fixtures: Source::Dir(f.clone()),
        ..config()
    };
    if let Err(e) = engine::load(&config, &providers::all()) {
        panic!("the files do not load: {e}");
    }
    let sb = Sandbox::start_with(config).await;
    let send = |path: &'static str, headers: Vec<(&'static str, &'static str)>, body: Value| {
        let sb = &sb;
        async move {
            if body.is_null() {
                sb.get(path, &headers).await
            } else {
                sb.post(path, &headers, body).await
            }
        }
    };

    let mut problems = Vec::new();
    for (provider, path, mut headers, body) in every_endpoint("PXNE660720HMCXTN06") {
        headers.push(("X-Sandbox-Scenario", "mine"));
        let r = send(path, headers, body).await;
        problems.extend(
            own_scenario_problem(provider, &r, true).map(|p| format!("header {path}: {p}")),
        );
    }
    let calls = every_endpoint(CURP);
    crate::common::assert_every_provider("every_endpoint", calls.iter().map(|c| c.0));
    for (provider, path, headers, body) in calls {
        if body.get("curp").is_none() && body.get("id_number").is_none() {
            continue;
        }
        let r = send(path, headers, body).await;
        problems.extend(
            own_scenario_problem(provider, &r, false).map(|p| format!("persona {path}: {p}")),
        );
        if provider == "curpv5" {
            assert_eq!(r.json()["whole"]["first_name"], NAME, "{}", r.text());
        }
    }
    for (provider, ..) in OWN_SCENARIO_ON {
        let r = sb
            .admin_post(
                "/__admin/overrides",
                json!({"provider": provider, "scenario": "mine"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    for (provider, path, headers, body) in every_endpoint("PXNE660720HMCXTN06") {
        let r = send(path, headers, body).await;
        problems.extend(
            own_scenario_problem(provider, &r, true).map(|p| format!("override {path}: {p}")),
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");

    let catalog = sb.admin_get("/__admin/scenarios").await;
    let mine: Vec<_> = catalog
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "mine")
        .collect();
    let endpoints: usize = OWN_SCENARIO_ON.iter().map(|(_, e, ..)| e.len()).sum();
    assert_eq!(mine.len(), endpoints, "{catalog}");
    assert!(
        mine.iter().all(|e| e["description"] == "my own"),
        "{catalog}"
    );
    let journal = sb.admin_get("/__admin/requests").await;
    assert!(
        journal
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["scenario"] == "mine"),
        "{journal}"
    );
    sb.stop().await;
}

// A module works out only the values a scenario uses (accuauth's person
// and constancia, nss's daily limit): one used without the others that
// usually come with it is filled all the same.
#[tokio::test]
async fn a_placeholder_used_alone_is_filled() {
    const PXNE: &str = "PXNE660720HMCXTN06";
    let s = temp_dir("alone");
    let _gone = RemovedOnDrop(s.clone());
    let alone = |body: &str| {
        format!("      alone:\n        description: one value\n        status: 200\n        body: {body}\n")
    };
    for (provider, endpoint, body) in [
        (
            "accuauth",
            "id_check",
            r#"{nombre: "{{nombre}}", curp: "{{curp}}"}"#,
        ),
        ("nss", "query", r#"{limit: "{{attempts_per_day}}"}"#),
    ] {
        let mut yaml = shipped("scenarios", &format!("{provider}.yaml"));
        insert_scenario(&mut yaml, endpoint, &alone(body));
        std::fs::write(s.join(format!("{provider}.yaml")), yaml).unwrap();
    }
    let sb = serving(&s).await;
    let forced = [("X-Sandbox-Scenario", "alone")];
    let auth = [("X-DF-API-ID", "i"), ("X-DF-API-SECRET", "s"), forced[0]];
    let r = ask(&sb, "/verify/id_check", &auth, "id_number", PXNE).await;
    assert_eq!(r.scenario(), "alone", "{}", r.text());
    assert_eq!(r.json(), json!({"nombre": "ENRIQUE", "curp": PXNE}));
    let r = imss(&sb, PXNE, &forced).await;
    assert_eq!(r.scenario(), "alone", "{}", r.text());
    assert_eq!(r.json(), json!({"limit": 2}));
    sb.stop().await;
}

// README, The scenario files: "bad statuses (an answer's is 200–599: a 1xx
// is not final, and hyper would turn it into a bare 500 …) … are refused
// with file, line and field"; SPEC §8: a request "never gets a bare 500".
#[test]
fn an_informational_status_is_refused_at_load_not_answered_as_a_bare_500() {
    // And any number that is no answer's status, negative ones too.
    for status in [100, 101, 199, -1, 600] {
        let line = format!("        status: {status}");
        let dir = curpv5_dir("status-1xx", |s| {
            s.replacen(SUCCESS_HEAD, &format!("{line}\n        body: &person"), 1)
        });
        let err = refused(load(&dir));
        assert_eq!(
            err.field.as_deref(),
            Some("endpoints.bycurp.scenarios.success.status"),
            "{err}"
        );
        assert_eq!(err.line, Some(line_of(&dir, &line)), "{err}");
        let said =
            format!("{status} is not the status of an answer, 200 to 599 (a 1xx is not final)");
        assert!(err.message.contains(&said), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Scenarios a module's realistic path answers with, each renamed in its
/// shipped file: (provider, the scenario's line, the line renamed). nss
/// answers `not_found2` for a CURP RENAPO never issued; validacurp's getData
/// answers `not_found` (code 300) for a wrong check digit.
const ANSWERED_BY_THE_REALISTIC_PATH: [(&str, &str, &str); 3] = [
    // The test case stays, under another name.
    ("nss", "      not_found2:\n", "      renapo_not_found:\n"),
    // RfcByCurp's RFC008 for a person the SAT has not registered (its
    // not_found2 comes first in the file).
    ("async", "      not_found2:\n", "      sat_not_found:\n"),
    // Renamed, not removed: its body is an anchor renapo_error uses.
    ("validacurp", "      not_found:\n", "      lookup_failed:\n"),
];

/// A folder holding `provider.yaml` with the scenario `from` renamed `to`.
fn without_scenario(provider: &str, from: &str, to: &str) -> PathBuf {
    scenario_dir(&format!("required-{provider}"), provider, |s| {
        s.replacen(from, to, 1)
    })
}

// README (The scenario files): every file is validated "at startup, on
// reload and by `check`: … missing scenarios that the module answers with …
// are refused with file, line and field"; SPEC §8: "Bad input never …
// gets a bare 500". A scenario the module's realistic path answers with is
// required like any other.
#[test]
fn check_refuses_a_file_without_a_scenario_the_realistic_path_answers() {
    for (provider, from, to) in ANSWERED_BY_THE_REALISTIC_PATH {
        let dir = without_scenario(provider, from, to);
        let out = run(&["check", dir.to_str().unwrap()]);
        let name = from.trim().trim_end_matches(':');
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "check passed {provider}.yaml without `{name}`, which its realistic path answers: {err}",
        );
        assert!(
            err.contains(&format!("{provider}.yaml")) && err.contains(&format!("'{name}'")),
            "{err}"
        );
    }
}

// The same files are refused at startup and on reload, naming the missing
// scenario: a server never starts with a file its realistic path would
// answer with a 500 ("nss chose scenario 'not_found2', which nss query does
// not define").
#[test]
fn a_file_without_a_scenario_the_realistic_path_answers_does_not_load() {
    for (provider, from, to) in ANSWERED_BY_THE_REALISTIC_PATH {
        let err = refused(load(&without_scenario(provider, from, to)));
        let name = from.trim().trim_end_matches(':');
        assert!(
            err.to_string().contains(&format!("'{name}'")),
            "{provider}: {err}"
        );
    }
}

#[test]
fn empty_and_comment_only_files_are_refused() {
    for text in ["", "# only a comment\n"] {
        let dir = temp_dir("empty");
        std::fs::write(dir.join("curpv5.yaml"), text).unwrap();
        let err = refused(load(&dir));
        assert!(err.message.contains("missing field `provider`"), "{err}");
        assert!(err.line.is_some(), "{err}");
    }
}

#[test]
fn a_reject_credential_naming_an_unknown_scenario_is_refused() {
    let dir = temp_dir("reject");
    std::fs::write(
        dir.join("credentials.yaml"),
        CREDENTIALS.replacen(
            "invalid-apikey: invalid_credentials",
            "invalid-apikey: invalid_credentialz",
            1,
        ),
    )
    .unwrap();
    let err = refused(load_fixtures(&dir));
    assert_eq!(err.line, Some(10), "{err}");
    assert_eq!(
        err.field.as_deref(),
        Some("curpv5.reject.invalid-apikey"),
        "{err}"
    );
    assert!(err.message.contains("'invalid_credentialz'"), "{err}");
}

#[tokio::test]
async fn reload_after_deleting_a_file_goes_back_to_the_embedded_one() {
    let dir = curpv5_dir("reload-del", |s| {
        s.replacen(
            "description: the CURP is valid; the person's data, with the person's own CURP status",
            "description: mine",
            1,
        )
    });
    let sb = serving(&dir).await;
    let success = |rows: Vec<serde_json::Value>| {
        rows.into_iter()
            .find(|r| r["name"] == "success")
            .map(|r| r["description"].clone())
    };
    assert_eq!(success(sb.catalog_of("curpv5").await), Some(json!("mine")));
    std::fs::remove_file(dir.join("curpv5.yaml")).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_ne!(success(sb.catalog_of("curpv5").await), Some(json!("mine")));
    sb.stop().await;
}

// README, Admin API, `POST /__admin/overrides`: a reload that keeps the
// endpoint's scenario keeps the override on that endpoint, under its new
// first path.
#[tokio::test]
async fn a_reload_that_moves_an_endpoints_path_keeps_its_path_override() {
    let dir = temp_dir("reload-moved-path");
    let _gone = RemovedOnDrop(dir.clone());
    let original = shipped("scenarios", "curpv5.yaml");
    std::fs::write(dir.join("curpv5.yaml"), &original).unwrap();
    let sb = serving(&dir).await;
    let r = sb
        .admin_post(
            "/__admin/overrides",
            json!({"provider": "curpv5", "path": "/api/curp/bycurp", "scenario": "deceased"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    let moved = edit(
        &original,
        "paths: [/api/curp/bycurp]",
        "paths: [/api/curp/v2/bycurp]",
    );
    std::fs::write(dir.join("curpv5.yaml"), moved).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["dropped_overrides"], json!([]), "{}", r.text());
    let answer = sb
        .post(
            "/api/curp/v2/bycurp",
            &[("apikey", "k")],
            json!({ "curp": "PXNE660720HMCXTN06" }),
        )
        .await;
    assert_eq!(answer.scenario(), "deceased", "{}", answer.text());
    let listed = sb.admin_get("/__admin/overrides").await;
    assert_eq!(listed[0]["path"], "/api/curp/v2/bycurp", "{listed}");
    sb.stop().await;
}

// README, Admin API: `GET /__admin/counters` lists each counter's "limit":
// the one the provider applies, so the reloaded one once a reload changes
// it (the count goes on).
#[tokio::test]
async fn a_reload_that_changes_a_limit_lists_the_new_one() {
    let dir = temp_dir("reload-limit");
    let _gone = RemovedOnDrop(dir.clone());
    let original = shipped("scenarios", "accuauth.yaml");
    std::fs::write(dir.join("accuauth.yaml"), &original).unwrap();
    let sb = serving(&dir).await;
    let check = || async {
        sb.post(
            "/verify/id_check",
            &[("X-DF-API-ID", "any"), ("X-DF-API-SECRET", "any")],
            json!({ "id_number": "RAZR811011HVZMPB01" }),
        )
        .await
    };
    let limits = || async {
        let listed = sb.admin_get("/__admin/counters").await;
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["key"].as_str().unwrap().contains("RAZR811011HVZMPB01"))
            .map(|c| (c["count"].as_u64().unwrap(), c["limit"].as_u64().unwrap()))
            .collect::<Vec<_>>()
    };
    for _ in 0..2 {
        assert_eq!(check().await.status, 200);
    }
    assert_eq!(limits().await, [(2, 10)]);
    let lower = edit(&original, "same_id_per_day: 10", "same_id_per_day: 2");
    std::fs::write(dir.join("accuauth.yaml"), lower).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let third = check().await;
    assert_eq!(third.status, 400, "{}", third.text());
    assert_eq!(limits().await, [(3, 2)]);
    sb.stop().await;
}

// README, Admin API, overrides: "without `path` it answers on every
// endpoint of the provider (of that `method`, if one is given) that has the
// scenario": after a reload too, on an endpoint that gained the scenario.
#[tokio::test]
async fn a_reload_gives_a_method_override_the_endpoints_that_gained_its_scenario() {
    let dir = temp_dir("reload-method-override");
    let _gone = RemovedOnDrop(dir.clone());
    let original = shipped("scenarios", "validacurp.yaml");
    std::fs::write(dir.join("validacurp.yaml"), &original).unwrap();
    let sb = serving(&dir).await;
    let set = json!({"provider": "validacurp", "method": "POST", "scenario": "internal_error"});
    let r = sb.admin_post("/__admin/overrides", set).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let entities = || async {
        sb.post(
            "/curp/getEntities",
            &[("authorization", "Bearer any")],
            json!({}),
        )
        .await
    };
    assert_eq!(entities().await.scenario(), "success");
    let pruebas = "        body: *entities\n      blocked: *blocked";
    let gained = edit(
        &original,
        pruebas,
        "        body: *entities\n      internal_error:\n        description: code 417\n        \
         status: 400\n        body: {error: true, code_error: 417, error_message: x, msn: x, \
         response: null}\n      blocked: *blocked",
    );
    std::fs::write(dir.join("validacurp.yaml"), gained).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["dropped_overrides"], json!([]), "{}", r.text());
    let answer = entities().await;
    assert_eq!(
        (answer.status, answer.scenario()),
        (400, "internal_error"),
        "{}",
        answer.text()
    );
    let journal = sb.admin_get("/__admin/requests?limit=1").await;
    assert_eq!(journal[0]["selected_by"], "override", "{journal}");
    sb.stop().await;
}

// README, Admin API, `POST /__admin/reload`: "on error keep the old configuration and
// answer 400 with why": good files beside the bad one take no effect, in any namespace.
#[tokio::test]
async fn a_refused_reload_changes_nothing_of_the_good_files_beside_the_bad_one() {
    const CURP: &str = "LUMV521107MHGNCL04";
    let (s, f) = (temp_dir("refused-reload-s"), temp_dir("refused-reload-f"));
    let (_gone_s, _gone_f) = (RemovedOnDrop(s.clone()), RemovedOnDrop(f.clone()));
    let (nss, accuauth) = (
        shipped("scenarios", "nss.yaml"),
        shipped("scenarios", "accuauth.yaml"),
    );
    std::fs::write(s.join("nss.yaml"), &nss).unwrap();
    std::fs::write(s.join("accuauth.yaml"), &accuauth).unwrap();
    std::fs::write(f.join("credentials.yaml"), CREDENTIALS).unwrap();
    let persona = format!("- curp: {CURP}\n  scenarios: {{curpv5: deceased}}\n");
    std::fs::write(f.join("personas.yaml"), persona).unwrap();
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(s.clone()),
        fixtures: Source::Dir(f.clone()),
        ..config()
    })
    .await;
    for ns in ["default", "b"] {
        let path = format!("/__admin/overrides?namespace={ns}");
        let r = sb
            .admin_post(&path, json!({"provider": "curpv5", "scenario": "timeout"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let catalog = sb.admin_get("/__admin/scenarios").await;

    // A moved path and a lower limit, no `timeout`, no persona, `k` rejected;
    // and accuauth's quota not a number.
    let nss = edit(&nss, "  attempts_per_day: 2\n", "  attempts_per_day: 1\n");
    let nss = edit(
        &nss,
        "paths: [/api/v1/imss/nss, /api/v2/imss/nss]\n    scenarios:\n      success:",
        "paths: [/api/v1/imss/nssx, /api/v2/imss/nss]\n    scenarios:\n      success:",
    );
    std::fs::write(s.join("nss.yaml"), nss).unwrap();
    let curpv5 = edit(
        &shipped("scenarios", "curpv5.yaml"),
        "      timeout:\n",
        "      timeout_gone:\n",
    );
    std::fs::write(s.join("curpv5.yaml"), curpv5).unwrap();
    std::fs::write(f.join("personas.yaml"), "[]\n").unwrap();
    let rejected = "    invalid-api-key: invalid_credentials\n    k: invalid_credentials\n";
    let credentials = edit(
        CREDENTIALS,
        "    invalid-api-key: invalid_credentials\n",
        rejected,
    );
    std::fs::write(f.join("credentials.yaml"), credentials).unwrap();
    let accuauth = edit(&accuauth, "  quota: null\n", "  quota: abc\n");
    std::fs::write(s.join("accuauth.yaml"), accuauth).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let why = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        why.contains("accuauth.yaml") && why.contains("quota"),
        "{why}"
    );

    assert_eq!(sb.admin_get("/__admin/scenarios").await, catalog);
    for ns in ["default", "b"] {
        let o = sb
            .admin_get(&format!("/__admin/overrides?namespace={ns}"))
            .await;
        assert_eq!(o.as_array().map(Vec::len), Some(1), "{ns}: {o}");
    }
    sb.admin_delete("/__admin/overrides").await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "a")],
            json!({"curp": CURP}),
        )
        .await;
    assert_eq!(r.scenario(), "deceased", "{}", r.text());
    for ns in ["default", "b"] {
        let headers = [("x-api-key", "k"), ("x-sandbox-namespace", ns)];
        for want in ["success", "success", "attempts_exceeded"] {
            let r = sb
                .post("/api/v1/imss/nss", &headers, json!({"curp": CURP}))
                .await;
            assert_eq!(r.scenario(), want, "{ns}: {}", r.text());
        }
    }
    sb.stop().await;
}

#[test]
fn check_on_a_file_says_it_is_not_a_folder() {
    let out = run(&["check", "scenarios/curpv5.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a folder"), "{stderr}");
}

// README "Command line": `check DIR` checks a fixture folder with the embedded
// scenario files and says so, or with the user's given by `--scenarios DIR2`.
#[tokio::test]
async fn check_of_a_fixture_folder_naming_a_users_scenario_passes_with_its_scenarios() {
    let s = curpv5_dir("own-scenario", |t| {
        t.replacen(
            "      invalid_credentials:\n",
            "      revoked_key:\n        description: \"the apikey was revoked\"\n        status: 401\n        body: {error: CURPSV002, message: \"Access Denied. Invalid ApiKey.\"}\n      invalid_credentials:\n",
            1,
        )
    });
    let _gone_s = RemovedOnDrop(s.clone());
    let creds = CREDENTIALS.replacen(
        "    invalid-apikey: invalid_credentials\n",
        "    invalid-apikey: invalid_credentials\n    revoked-apikey: revoked_key\n",
        1,
    );
    assert_ne!(creds, CREDENTIALS);
    let f = folder_with("own-credentials", "credentials.yaml", &creds);
    let _gone_f = RemovedOnDrop(f.clone());

    // The pair serves: the magic credential answers the user's scenario.
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(s.clone()),
        fixtures: Source::Dir(f.clone()),
        ..config()
    })
    .await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "revoked-apikey")],
            json!({"curp": "LUMV521107MHGNCL04"}),
        )
        .await;
    assert_eq!(
        (r.status, r.scenario()),
        (401, "revoked_key"),
        "{}",
        r.text()
    );
    sb.stop().await;

    let (s_path, f_path) = (s.to_str().unwrap(), f.to_str().unwrap());
    let out = run(&["check", f_path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("'revoked_key'"), "{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some("(checked with the embedded scenario files; check DIR --scenarios DIR2 checks with yours)"),
        "{stderr}"
    );

    // With scenarios the user gave that lack it, the error is the last
    // line: no note about the embedded files, which were not read.
    let without = folder_with(
        "own-scenario-without",
        "curpv5.yaml",
        &shipped("scenarios", "curpv5.yaml"),
    );
    let _gone_w = RemovedOnDrop(without.clone());
    let out = run(&["check", f_path, "--scenarios", without.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .unwrap_or("")
            .contains("'revoked_key'"),
        "{stderr}"
    );
    assert!(!stderr.contains("embedded"), "{stderr}");

    // With its scenarios, it is the folder `check S` counts.
    let alone = run(&["check", s_path]);
    assert!(alone.status.success());
    let counts = String::from_utf8_lossy(&alone.stdout)
        .strip_prefix(&format!("{s_path}: ok ("))
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&alone.stdout)))
        .to_string();
    let out = run(&["check", f_path, "--scenarios", s_path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{f_path}: ok (fixture files, with the --scenarios files: {counts}")
    );
}

// README "Command line": a fixture folder passes with the count of the
// scenario files it was checked with, and says whose they are.
#[test]
fn check_of_a_fixture_folder_names_the_scenario_files_it_counts() {
    let scenarios = run(&["check", "scenarios"]);
    let counts = String::from_utf8_lossy(&scenarios.stdout)
        .strip_prefix("scenarios: ok (")
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&scenarios.stdout)))
        .to_string();
    let out = run(&["check", "fixtures"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("fixtures: ok (fixture files, with the embedded scenario files: {counts}")
    );
}

#[test]
fn curp_random_takes_zero_and_refuses_too_many() {
    let out = run(&["curp", "random", "--n", "0"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, json!([]));
    let out = run(&["curp", "random", "--n", "100001"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 100000"));
}

#[test]
fn curp_calc_applies_particles_n_tilde_and_common_first_names() {
    for (args, curp) in [
        (
            ["MARÍA JOSÉ", "DE LA O", "1990-05-01", "M", "15"],
            "OXXJ900501MMCXXS08",
        ),
        (
            ["JOSÉ", "ÑÚÑEZ", "1990-05-01", "H", "MC"],
            "XUXJ900501HMCXXS07",
        ),
    ] {
        let [names, surname, birth, sex, state] = args;
        let out = run(&[
            "curp",
            "calc",
            "--names",
            names,
            "--first-surname",
            surname,
            "--birth",
            birth,
            "--sex",
            sex,
            "--state",
            state,
        ]);
        assert!(out.status.success(), "{args:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["curp"], curp, "{args:?}");
    }
    let out = run(&[
        "curp",
        "calc",
        "--names",
        "JUAN",
        "--first-surname",
        "PEREZ",
        "--birth",
        "1990-02-30",
        "--sex",
        "H",
        "--state",
        "15",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1990-02-30"));
}

/// What a fresh sandbox answers a POST of `{"curp": curp}` to `path` with
/// the `auth` header: the providers' word, for the `curp` commands to agree
/// with.
async fn answer_for(path: &str, auth: (&str, &str), curp: &str) -> Resp {
    let sb = Sandbox::start().await;
    let r = sb.post(path, &[auth], json!({ "curp": curp })).await;
    sb.stop().await;
    r
}

// README "Command line": `curp check CURP` is "the strict RENAPO verdict
// …; the CURP read as the providers read it, trimmed and upper-cased";
// README validacurp: `validateCurpStructure` answers `{"valido": true}`
// "when the CURP passes RENAPO's strict rules". `curp check` gives a
// lower-case CURP the verdict `validateCurpStructure` gives it.
#[tokio::test]
async fn curp_check_gives_the_verdict_validate_curp_structure_gives() {
    let lower = "pxne660720hmcxtn06";
    let auth = ("authorization", "Bearer t");
    let r = answer_for("/curp/validateCurpStructure", auth, lower).await;
    assert_eq!(r.json()["response"]["valido"], true, "{}", r.text());

    let out = run(&["curp", "check", lower]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the sandbox's own strict check says valid, `curp check` says: {stderr}"
    );
}

// README "Command line": `curp person CURP` is "the person every provider
// answers with"; README Decisions: nss reads the CURP "upper-cased and
// trimmed", accuauth "Lower-case input is accepted and upper-cased", and
// curpv5 and validacurp answer the person for it too. `curp person` reads a
// lower-case CURP the same way and prints the person curpv5 answers.
#[tokio::test]
async fn curp_person_reads_a_lower_case_curp_as_the_providers_do() {
    let upper = "LUMV521107MHGNCL04";
    let lower = upper.to_lowercase();
    let r = answer_for("/api/curp/bycurp", ("apikey", "k"), &lower).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let first_name = r.json()["firstName"].clone();

    let out = run(&["curp", "person", &lower]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "curpv5 answers {first_name}; {stderr}"
    );
    let person: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(person["names"], first_name);
}

// `curp person` reads MXID_SEED as `serve` does: with the variable a CI job
// sets for the server, it prints the server's person, as `--seed` does.
#[test]
fn curp_person_reads_mxid_seed_as_serve_does() {
    let curp = "LUMV521107MHGNCL04";
    let person = |args: &[&str], env: &[(&str, &str)]| -> serde_json::Value {
        let out = run_with_env(args, env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let seeded = person(&["curp", "person", curp, "--seed", "7"], &[]);
    assert_eq!(
        person(&["curp", "person", curp], &[("MXID_SEED", "7")]),
        seeded
    );
    assert_ne!(
        person(&["curp", "person", curp], &[]),
        seeded,
        "seed 7 is not seed 0"
    );
}

// README "Command line": `curp person CURP` is "the person every provider
// answers with"; "The people behind the CURPs": "birth date, sex and birth
// state decoded from the CURP". For a CURP whose date cannot exist (month
// 13, day 99) no provider answers a person (curpv5 invalid_format, nss
// not_found2, accuauth result code 3, validacurp 101), and `curp person`
// prints none either: "exit 1 with the reason for a CURP RENAPO never
// issued".
#[tokio::test]
async fn curp_person_does_not_invent_a_person_no_provider_answers() {
    let curp = "LUMV521399MHGNCL04";
    let r = answer_for("/api/curp/bycurp", ("apikey", "k"), curp).await;
    assert_ne!(r.status, 200, "{}", r.text());

    let out = run(&["curp", "person", curp]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "curpv5 answers {} {}; `curp person` prints {}",
        r.status,
        r.scenario(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("RENAPO never issued it"), "{stderr}");
}

// README, personas table: GAPA950819HGTLRR07 is "not found anywhere"; `curp
// person` exits 1 for a CURP no provider answers a person for (README,
// Command line).
#[tokio::test]
async fn curp_person_refuses_the_persona_every_provider_answers_not_found() {
    const GAPA: &str = "GAPA950819HGTLRR07";
    let sb = Sandbox::start().await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "k")],
            json!({ "curp": GAPA }),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (404, json!("CURPSV009"))
    );
    let r = sb
        .post(
            "/curp/getData",
            &[("Authorization", "Bearer t")],
            json!({ "curp": GAPA }),
        )
        .await;
    assert_eq!(r.json()["code_error"], 300, "{}", r.text());
    let r = sb
        .post(
            "/verify/id_check",
            &[("X-DF-API-ID", "i"), ("X-DF-API-SECRET", "s")],
            json!({ "id_number": GAPA }),
        )
        .await;
    assert_eq!(
        r.json()["result_code"].to_string().trim_matches('"'),
        "1",
        "{}",
        r.text()
    );
    let r = sb
        .post(
            "/api/v1/imss/nss",
            &[("x-api-key", "k")],
            json!({ "curp": GAPA }),
        )
        .await;
    assert_eq!(r.json()["response"]["status"], "NOT_FOUND", "{}", r.text());
    sb.stop().await;

    let out = run(&["curp", "person", GAPA]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "`curp person` prints {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&format!("no provider answers a person for {GAPA}")),
        "{stderr}"
    );
}

// README "The people behind the CURPs": a persona's `scenarios` map wins over its
// `scenario`; `curp person` prints the person the one provider answering it answers.
#[tokio::test]
async fn curp_person_prints_a_persona_its_scenarios_map_lets_one_provider_answer() {
    const CURP: &str = "LUMV521107MHGNCL04";
    let dir = folder_with(
        "persona-one-provider",
        "personas.yaml",
        &format!("- curp: {CURP}\n  scenario: not_found\n  scenarios: {{curpv5: success}}\n"),
    );
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "k")],
            json!({ "curp": CURP }),
        )
        .await;
    assert_eq!((r.status, r.scenario()), (200, "success"), "{}", r.text());
    let first_name = r.json()["firstName"].clone();
    sb.stop().await;

    let out = run(&["curp", "--fixtures", dir.to_str().unwrap(), "person", CURP]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "curpv5 answers {first_name}; {stderr}"
    );
    let person: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(person["names"], first_name);
}

// README "Command line": `curp person` exits 1 with the reason for a persona
// every provider answers not found, here by its `scenarios` map.
#[tokio::test]
async fn curp_person_refuses_a_persona_its_scenarios_map_makes_not_found_everywhere() {
    const CURP: &str = "LUMV521107MHGNCL04";
    let dir = folder_with(
        "persona-not-found-everywhere",
        "personas.yaml",
        &format!(
            "- curp: {CURP}\n  scenarios: {{{}}}\n",
            crate::common::provider_ids()
                .iter()
                .map(|id| format!("{id}: not_found"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        fixtures: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "k")],
            json!({ "curp": CURP }),
        )
        .await;
    assert_eq!(r.scenario(), "not_found", "{}", r.text());
    let r = sb
        .post(
            "/api/v1/imss/nss",
            &[("x-api-key", "k")],
            json!({ "curp": CURP }),
        )
        .await;
    assert_eq!(r.scenario(), "not_found", "{}", r.text());
    sb.stop().await;

    let out = run(&["curp", "--fixtures", dir.to_str().unwrap(), "person", CURP]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "`curp person` prints {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "mxid-sandbox: no provider answers a person for {CURP}: its persona's scenarios are not found for every provider\n"
        )
    );
}

// README "Command line": `MXID_FIXTURES` and `MXID_SCENARIOS` stand for their
// flags; one set but empty (a templated CI file) is unset, not a flag without its value.
#[test]
fn an_empty_mxid_fixtures_or_scenarios_variable_is_read_as_unset() {
    for (args, var) in [
        (
            &["curp", "check", "PXNE660720HMCXTN06"][..],
            "MXID_FIXTURES",
        ),
        (
            &["curp", "person", "PXNE660720HMCXTN06"][..],
            "MXID_FIXTURES",
        ),
        (&["scenarios"][..], "MXID_SCENARIOS"),
    ] {
        let out = run_with_env(args, &[(var, "")]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} with {var}=\"\": {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, run(args).stdout, "{args:?} with {var}=\"\"");
    }
}

// README "Command line": the three switches "take `true`/`false`, `1`/`0`,
// `yes`/`no` or `on`/`off` from the environment"; another value is refused
// before the server binds, with the forms to write.
#[test]
fn a_switch_variable_of_another_value_is_refused_with_the_forms_to_write() {
    for var in [
        "MXID_STRICT_AUTH",
        "MXID_STRICT_SANDBOX",
        "MXID_LOG_REQUESTS",
    ] {
        let out = run_with_env(&["serve", "--port", "0"], &[(var, "bogus")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}: {stderr}");
        assert!(
            stderr.contains("write true or false, 1 or 0, yes or no, on or off"),
            "{var}: {stderr}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    }
}

// --- bugs ------------------------------------------------------------------

#[test]
fn a_duplicate_scenario_name_is_refused() {
    let dir = curpv5_dir("dupname", |s| {
        s.replacen(
            "      active:\n",
            "      success:\n        description: again\n        status: 201\n      active:\n",
            1,
        )
    });
    let err = refused(load(&dir));
    assert!(err.to_string().contains("success"), "{err}");
}

#[test]
fn a_credential_no_request_can_present_is_refused() {
    let long = "k".repeat(257);
    // What the error repeats of a credential: its first 256 bytes.
    let shown = |cred: &str| match cred.len() {
        0..=256 => cred.to_string(),
        n => format!("{}… ({n} bytes)", &cred[..256]),
    };
    for (edit, list, cred) in [
        (
            "accept: [sandbox-apikey]",
            "accept: [sandbox-apikey, \"  \"]",
            "  ",
        ),
        (
            "invalid-apikey: invalid_credentials",
            "clé: invalid_credentials",
            "clé",
        ),
        (
            "invalid-apikey: invalid_credentials",
            &format!("{long}: invalid_credentials"),
            long.as_str(),
        ),
        // HTTP strips the spaces around a header value.
        (
            "accept: [sandbox-apikey]",
            "accept: [sandbox-apikey, \" k\"]",
            " k",
        ),
        (
            "invalid-apikey: invalid_credentials",
            "\"k\\n\": invalid_credentials",
            "k\n",
        ),
        (
            "invalid-apikey: invalid_credentials",
            "\"k\\rk\": invalid_credentials",
            "k\rk",
        ),
    ] {
        let err = refused(load_credentials(edit, list));
        let field = if list.starts_with("accept") {
            "curpv5.accept"
        } else {
            "curpv5.reject"
        };
        assert_eq!(err.field.as_deref(), Some(field), "{err}");
        assert!(err.line.is_some(), "{err}");
        assert_eq!(
            err.message,
            format!("{} can never be presented: a credential is 1 to 256 ASCII characters, with no space or tab around it (HTTP strips them) and, in a header, no control character but a tab (a blank one is missing, a longer or non-ASCII one invalid)", serde_json::Value::from(shown(cred)))
        );
    }
    // validacurp's token may come in a JSON body, which carries a control
    // character; a tab inside a header is a header's byte.
    for (edit, list) in [
        (
            "accept: [pruebas, sandbox-token]",
            "accept: [pruebas, sandbox-token, \"k\\u0001k\"]",
        ),
        (
            "accept: [sandbox-apikey]",
            "accept: [sandbox-apikey, \"k\\tk\"]",
        ),
    ] {
        assert!(load_credentials(edit, list).is_ok(), "{list}");
    }
    // 256 characters: the longest a request can present.
    let longest = format!("{}: invalid_credentials", "k".repeat(256));
    assert!(load_credentials("invalid-apikey: invalid_credentials", &longest).is_ok());
    // A body's token is trimmed as a header's value is, and is ASCII: one
    // framed by a space, not ASCII or blank is refused there too.
    for cred in [" k", "k ", "clé", ""] {
        let list = format!(
            "accept: [pruebas, sandbox-token, {}]",
            serde_json::Value::from(cred)
        );
        let err = refused(load_credentials("accept: [pruebas, sandbox-token]", &list));
        assert_eq!(err.field.as_deref(), Some("validacurp.accept"), "{err}");
        assert!(err.message.contains("can never be presented"), "{err}");
    }
}

/// Loads the shipped credentials.yaml with `edit` replaced by `list`.
fn load_credentials(edit: &str, list: &str) -> Result<Defs, LoadError> {
    let dir = temp_dir("credentials");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(
        dir.join("credentials.yaml"),
        CREDENTIALS.replacen(edit, list, 1),
    )
    .unwrap();
    load_fixtures(&dir)
}

#[test]
fn infinity_in_a_body_is_refused_at_its_line() {
    let dir = curpv5_dir("inf", |s| {
        s.replacen(
            "        data: {status: AN}",
            "        data: {status: AN}\n        headers: {x-score: '1'}",
            1,
        )
    });
    let _gone = RemovedOnDrop(dir.clone());
    load(&dir).expect("the edited file loads");
    let dir = curpv5_dir("inf", |s| {
        s.replacen(
            "        data: {status: AN}",
            "        data: {status: AN}\n      scored:\n        description: x\n        status: 200\n        body: {score: .inf}",
            1,
        )
    });
    let _gone = RemovedOnDrop(dir.clone());
    let err = refused(load(&dir));
    assert!(
        err.message.starts_with("JSON has no infinity or NaN"),
        "{err}"
    );
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.scenarios.scored.body.score"),
        "{err}"
    );
    assert!(err.line.is_some(), "{err}");
}

#[test]
fn a_duplicate_reject_credential_is_refused() {
    let dir = temp_dir("dupreject");
    std::fs::write(
        dir.join("credentials.yaml"),
        CREDENTIALS.replacen(
            "invalid-apikey: invalid_credentials",
            "invalid-apikey: invalid_credentials\n    invalid-apikey: missing_credentials",
            1,
        ),
    )
    .unwrap();
    let err = refused(load_fixtures(&dir));
    assert!(err.to_string().contains("invalid-apikey"), "{err}");
}

#[test]
fn a_merge_key_in_a_body_is_merged_or_refused() {
    let dir = curpv5_dir("merge", |s| {
        s.replacen(
            "        data: {status: AN}",
            "        data: {status: AN}\n      merged:\n        description: x\n        status: 200\n        body: {<<: *person, extra: 1}",
            1,
        )
    });
    // Refused, with where: serde would leave the key in the body as text.
    let err = refused(load(&dir));
    assert!(
        err.message.starts_with("merge keys (<<) are not supported"),
        "{err}"
    );
    assert!(err.line.is_some(), "{err}");
}

#[test]
fn a_placeholder_in_a_body_key_is_checked() {
    let dir = curpv5_dir("keyvar", |s| {
        s.replacen("          warning: []", "          \"{{curpp}}\": []", 1)
    });
    let err = refused(load(&dir));
    assert!(err.message.contains("{{curpp}}"), "{err}");
}

#[test]
fn an_unknown_placeholder_in_a_header_names_the_header() {
    let dir = with_success_lines("hdrvar", "        headers: {X-A: \"{{curpp}}\"}\n");
    let err = refused(load(&dir));
    // Header names are case-insensitive: named as HTTP writes them.
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.scenarios.success.headers.x-a"),
        "{err}"
    );
}

#[test]
fn an_empty_method_list_is_refused() {
    let dir = curpv5_dir("nomethod", |s| {
        s.replacen("    method: POST\n", "    method: []\n", 1)
    });
    let err = refused(load(&dir));
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.method"),
        "{err}"
    );
}

// README, The scenario files: a header is sent as written, a templated one
// as rendered, "left out of the answer" only when it cannot be a header
// value (a line break). Letters past ASCII can: written and rendered
// (PEÑA's Ñ) they are sent as their UTF-8 bytes, as before http 1.6, whose
// `&str` conversion took ASCII alone and would have left both out.
#[tokio::test]
async fn a_header_with_letters_past_ascii_is_sent_as_written_and_as_rendered() {
    let dir = with_success_lines(
        "obs-text",
        "        headers: {X-Apellido: \"{{last_name}}\", X-Nota: \"Añadido por QA\"}\n",
    );
    let sb = serving(&dir).await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("apikey", "k")],
            json!({"curp": "PXNE660720HMCXTN06"}),
        )
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["lastName"], "PEÑA");
    let bytes = |name: &str| r.headers.get(name).map(|v| v.as_bytes().to_vec());
    assert_eq!(bytes("x-apellido"), Some("PEÑA".as_bytes().to_vec()));
    assert_eq!(bytes("x-nota"), Some("Añadido por QA".as_bytes().to_vec()));
}

#[test]
fn a_framing_header_in_a_scenario_is_refused() {
    let dir = with_success_lines("framing", "        headers: {Content-Length: \"3\"}\n");
    let err = refused(load(&dir));
    assert!(err.to_string().contains("headers"), "{err}");
}

#[test]
fn a_path_clash_names_the_users_file() {
    let dir = curpv5_dir("clash", |s| {
        s.replacen(
            "paths: [/api/curp/bycurp]",
            "paths: [/api/curp/bycurp, /verify/id_check]",
            1,
        )
    });
    let err = refused(load(&dir));
    let file = dir.join("curpv5.yaml").display().to_string();
    assert_eq!(err.file, file, "{err}");
    assert!(err.line.is_some(), "{err}");
    assert!(
        err.message
            .starts_with("POST /verify/id_check: conflicts with the route /verify/id_check ("),
        "{err}"
    );
    // matchit's other refusals in its words, lower-cased as every error.
    let dir = curpv5_dir("two-params", |s| {
        s.replacen(
            "paths: [/api/curp/bycurp]",
            "paths: [/api/curp/bycurp, \"/api/curp/{a}{b}\"]",
            1,
        )
    });
    let err = refused(load(&dir));
    assert!(
        err.message
            .ends_with(": only one parameter is allowed per path segment"),
        "{err}"
    );
}

#[test]
fn a_path_with_a_query_is_refused() {
    let dir = curpv5_dir("query", |s| {
        s.replacen(
            "paths: [/api/curp/bycurp]",
            "paths: [\"/api/curp/bycurp?x=1\"]",
            1,
        )
    });
    let err = refused(load(&dir));
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.paths"),
        "{err}"
    );
}

/// curpv5's `bycurp` with one more path of `n` route parameters.
fn curpv5_with_params(tag: &str, n: usize) -> PathBuf {
    let params: String = (1..=n).map(|i| format!("/{{p{i}}}")).collect();
    curpv5_dir(tag, |s| {
        s.replacen(
            "paths: [/api/curp/bycurp]",
            &format!("paths: [/api/curp/bycurp, \"/api/curp/many{params}\"]"),
            1,
        )
    })
}

// The router (matchit) panics past 25 parameters a path: a path with more
// than 16 is refused at its line, by `check` and by a reload (which keeps
// the old set answering), before the router sees it.
#[tokio::test]
async fn a_path_with_too_many_parameters_is_refused() {
    let dir = curpv5_with_params("params16", 16);
    let _gone = RemovedOnDrop(dir.clone());
    let sb = serving(&dir).await;
    let many: String = (1..=16).map(|i| format!("/{i}")).collect();
    let many = format!("/api/curp/many{many}");
    let ask_many = || {
        sb.post(
            &many,
            &[("apikey", "k")],
            json!({"curp": "PXNE660720HMCXTN06"}),
        )
    };
    let r = ask_many().await;
    assert_eq!(r.status, 200, "{}", r.text());

    for n in [17, 26] {
        let bad = curpv5_with_params("params-bad", n);
        let _gone = RemovedOnDrop(bad.clone());
        let (ok, stderr) = check(&bad);
        assert!(!ok, "{stderr}");
        let text = std::fs::read_to_string(bad.join("curpv5.yaml")).unwrap();
        let line = 1 + text
            .lines()
            .position(|l| l.contains("\"/api/curp/many/"))
            .unwrap();
        assert!(stderr.contains(&format!("curpv5.yaml:{line}:")), "{stderr}");
        assert!(
            stderr.contains("endpoints.bycurp.paths: '/api/curp/many/{p1}"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("has {n} parameters: a path takes at most 16")),
            "{stderr}"
        );
    }

    let bad = curpv5_with_params("params-reload", 26);
    let _gone = RemovedOnDrop(bad.clone());
    std::fs::copy(bad.join("curpv5.yaml"), dir.join("curpv5.yaml")).unwrap();
    let r = sb.admin_post("/__admin/reload", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("has 26 parameters"), "{}", r.text());
    let r = ask_many().await;
    assert_eq!(r.status, 200, "the old set answers: {}", r.text());
    sb.stop().await;
}

#[test]
fn a_misnamed_fixture_file_is_refused() {
    let dir = temp_dir("fixtypo");
    std::fs::write(
        dir.join("persona.yaml"),
        "- curp: PXNE660720HMCXTN06\n  names: FOO\n",
    )
    .unwrap();
    let err = refused(load_fixtures(&dir));
    assert!(err.to_string().contains("persona.yaml"), "{err}");
}

// README "The scenario files": a fixture folder's file of another name is
// refused; `check` and `serve` name it as the fixtures loader does.
#[test]
fn check_and_serve_name_a_misnamed_file_in_a_fixture_folder() {
    let dir = folder_with(
        "fixtures-typo",
        "names.yaml",
        &shipped("fixtures", "names.yaml"),
    );
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(
        dir.join("persona.yaml"),
        shipped("fixtures", "personas.yaml"),
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let refusal = format!(
        "{d}/persona.yaml: no fixture file 'persona'; fixture files are named \
         credentials.yaml, catalogs.yaml, names.yaml, personas.yaml\n"
    );
    for args in [
        &["check", d][..],
        &["serve", "--port", "0", "--fixtures", d],
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(&refusal), "{args:?}: {stderr}");
    }
}

// README, Decisions: "a trailing slash on a path reaches the same
// endpoint"; a file's path written with one would load and answer nothing,
// so it is refused at its line (README, The scenario files).
#[test]
fn a_path_written_with_a_trailing_slash_is_refused_at_its_line() {
    let dir = curpv5_dir("trailing-slash", |s| {
        edit(s, "paths: [/api/curp/bycurp]", "paths: [/api/curp/bycurp/]")
    });
    let _gone = RemovedOnDrop(dir.clone());
    let err = refused(load(&dir));
    assert_eq!(
        err.line,
        Some(line_of(&dir, "    paths: [/api/curp/bycurp/]")),
        "{err}"
    );
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.paths"),
        "{err}"
    );
    assert!(err.message.contains("ends with /"), "{err}");
}

// README, The scenario files: "a path with a query or a fragment (`?`,
// `#`)" is refused at its line: no request's path holds either.
#[test]
fn a_path_written_with_a_query_or_a_fragment_is_refused_at_its_line() {
    for written in ["/api/curp/bycurp?v=2", "/api/curp/bycurp#top"] {
        let line = format!("    paths: [\"{written}\"]");
        let dir = curpv5_dir("path-query", |s| {
            edit(s, "    paths: [/api/curp/bycurp]", &line)
        });
        let _gone = RemovedOnDrop(dir.clone());
        let err = refused(load(&dir));
        assert_eq!(err.line, Some(line_of(&dir, &line)), "{err}");
        assert_eq!(
            err.field.as_deref(),
            Some("endpoints.bycurp.paths"),
            "{err}"
        );
        assert!(err.message.contains("a query or a fragment"), "{err}");
    }
}

// README, The scenario files: a file saved with a UTF-8 byte-order mark (as
// Windows editors write it) is read, not taken for a second document.
#[test]
fn a_byte_order_mark_before_the_first_key_is_read() {
    // The shipped file without its leading comments: `provider:` first.
    let dir = curpv5_dir("bom", |s| {
        format!("\u{feff}{}", &s[s.find("provider: curpv5").unwrap()..])
    });
    let _gone = RemovedOnDrop(dir.clone());
    let defs = load(&dir).unwrap_or_else(|e| panic!("refused: {e}"));
    let curpv5 = defs.providers.iter().find(|p| p.id == "curpv5").unwrap();
    assert_eq!(curpv5.file, dir.join("curpv5.yaml").display().to_string());
}

// README, The people behind the CURPs: `provider_data` is by provider id;
// one for a provider that does not exist is refused at its line, as a
// persona's `scenarios:` for one is.
#[test]
fn provider_data_for_an_unknown_provider_is_refused_at_its_line() {
    for provider in ["sixth", "validacrup"] {
        let dir = temp_dir("provider-data");
        let _gone = RemovedOnDrop(dir.clone());
        std::fs::write(
            dir.join("personas.yaml"),
            format!(
                "- curp: PXNE660720HMCXTN06\n  names: ENRIQUE\n  provider_data:\n    {provider}:\n      Applicant: {{StatusKey: X}}\n"
            ),
        )
        .unwrap();
        let err = refused(load_fixtures(&dir));
        assert_eq!(err.line, Some(4), "at the `{provider}:` line: {err}");
        assert!(
            err.message
                .contains(&format!("unknown provider '{provider}'")),
            "{err}"
        );
    }
}

// README, The fixture files: `webhooks` in `credentials.yaml` are async's;
// under a provider that calls no one back they would be dropped without a
// word, so they are refused.
#[test]
fn webhooks_under_a_provider_that_calls_no_one_back_are_refused() {
    let webhooks = "  webhooks: {sandbox-apikey: \"http://127.0.0.1:9/hook\"}";
    let dir = temp_dir("curpv5-webhooks");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(
        dir.join("credentials.yaml"),
        edit(
            CREDENTIALS,
            "curpv5:\n  accept: [sandbox-apikey]\n",
            &format!("curpv5:\n  accept: [sandbox-apikey]\n{webhooks}\n"),
        ),
    )
    .unwrap();
    let err = refused(load_fixtures(&dir));
    let line = CREDENTIALS.lines().position(|l| l == "curpv5:").unwrap() + 3;
    assert_eq!(err.line, Some(line), "{err}");
    assert_eq!(
        err.field.as_deref(),
        Some("curpv5.webhooks.sandbox-apikey"),
        "{err}"
    );
    assert!(err.message.contains("curpv5 calls no one back"), "{err}");
}

// README, The scenario files / SPEC §8: a file written as JSON (YAML reads
// it) loads, and its mistakes found after parsing are refused at a line.
#[test]
fn a_scenario_file_written_as_json_is_refused_at_a_line() {
    let file: serde_json::Value =
        serde_yaml_ng::from_str(&shipped("scenarios", "curpv5.yaml")).unwrap();
    let as_json = |tag: &str, file: &serde_json::Value| {
        let text = serde_json::to_string_pretty(file).unwrap();
        let dir = curpv5_dir(tag, |_| text.clone());
        let gone = RemovedOnDrop(dir.clone());
        (load(&dir), gone)
    };
    let (loaded, _gone) = as_json("json-ok", &file);
    loaded.expect("the shipped file written as JSON loads");

    type Change = fn(&mut serde_json::Value);
    let cases: [(&str, Change); 4] = [
        ("data: \"BD\"", |f| {
            f["endpoints"]["bycurp"]["scenarios"]["deceased"]["data"] = json!("BD");
        }),
        ("provider: nss", |f| f["provider"] = json!("nss")),
        ("no not_found scenario", |f| {
            if let Some(m) = f["endpoints"]["bycurp"]["scenarios"].as_object_mut() {
                m.shift_remove("not_found");
            }
        }),
        ("paths: []", |f| {
            f["endpoints"]["bycurp"]["paths"] = json!([])
        }),
    ];
    for (what, change) in cases {
        let mut bad = file.clone();
        change(&mut bad);
        let (loaded, _gone) = as_json("json-bad", &bad);
        match loaded {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => assert!(e.line.is_some(), "{what}: refused without a line: {e}"),
        }
    }
}

// README, The scenario files: "a key written twice in one mapping (… a
// header …)" is refused; header names ignore case, so `X-Note` and `x-note`
// are one header written twice.
#[test]
fn a_header_written_twice_in_two_cases_is_refused_at_its_line() {
    let header = "        headers: {X-Note: a, x-note: b}";
    let dir = with_success_lines("header-twice", &format!("{header}\n"));
    let _gone = RemovedOnDrop(dir.clone());
    let err = refused(load(&dir));
    assert_eq!(err.line, Some(line_of(&dir, header)), "{err}");
    assert_eq!(
        err.field.as_deref(),
        Some("endpoints.bycurp.scenarios.success.headers.x-note"),
        "{err}"
    );
    assert!(err.message.starts_with("written twice"), "{err}");
}

// README, The scenario files: a file in a user's folder the sandbox would
// not read is refused; files are read by their lower-case extension, so
// `personas.YAML` is refused, not skipped for the embedded personas.
#[test]
fn a_fixture_file_with_an_upper_case_extension_is_refused() {
    let dir = temp_dir("upper-ext");
    let _gone = RemovedOnDrop(dir.clone());
    std::fs::write(
        dir.join("personas.YAML"),
        "- curp: PXNE660720HMCXTN06\n  names: JUANITO\n",
    )
    .unwrap();
    let err = refused(load_fixtures(&dir));
    assert_eq!(
        err.file,
        dir.join("personas.YAML").display().to_string(),
        "{err}"
    );
    assert!(
        err.message
            .contains("write the extension in lower case (personas.yaml)"),
        "{err}"
    );
}

// The same for a name in another case: `CURPV5.yaml` and `Personas.yaml`
// are told to write the name in lower case, not that there is no such
// provider or fixture file.
#[test]
fn a_file_name_in_upper_case_is_told_to_write_it_in_lower_case() {
    for (file, lower, load_it) in [
        ("CURPV5.yaml", "curpv5.yaml", true),
        ("Personas.yaml", "personas.yaml", false),
    ] {
        let dir = temp_dir("upper-name");
        let _gone = RemovedOnDrop(dir.clone());
        let text = if load_it {
            shipped("scenarios", "curpv5.yaml")
        } else {
            "- curp: PXNE660720HMCXTN06\n".to_string()
        };
        std::fs::write(dir.join(file), text).unwrap();
        let err = if load_it {
            let config = Config {
                scenarios: Source::Dir(dir.clone()),
                ..config()
            };
            refused(engine::load(&config, &providers::all()))
        } else {
            refused(load_fixtures(&dir))
        };
        assert_eq!(err.file, dir.join(file).display().to_string(), "{err}");
        let said = format!("write the name in lower case ({lower}): files are read by that name");
        assert_eq!(err.message, said);
        // `check` of the folder alone says the same.
        let out = run(&["check", dir.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("{file}: {said}")), "{stderr}");
    }
}

// --- where `check` points ----------------------------------------------------
//
// README "Command line": `check DIR` "prints `file:line:column: field:
// message` and exits 1 on error"; SPEC §8: "`mxid-sandbox check DIR`
// validates YAML and exits non-zero with file, line and field on error";
// README "The scenario files": every mistake is "refused with file, line
// and field". The location is the line and column of the offending key or
// value, where a person would put the cursor to fix it.

/// `text` with `from` replaced by `to` once; the edit must apply.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "no {from:?} to edit");
    text.replacen(from, to, 1)
}

/// `mxid-sandbox check` on a folder holding only `file` with `text`: its
/// stderr, which must be a refusal.
fn refusal(tag: &str, file: &str, text: &str) -> String {
    let dir = folder_with(tag, file, text);
    let (passed, stderr) = check(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!passed, "check passed {file}: {stderr}");
    stderr
}

/// The 1-based line of the first line of `text` that contains `line`, and
/// the 1-based column of `needle` in it.
fn pos(text: &str, line: &str, needle: &str) -> (usize, usize) {
    let (i, l) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(line))
        .unwrap_or_else(|| panic!("no line with {line:?}"));
    let at = l
        .find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in {l:?}"));
    (i + 1, l[..at].chars().count() + 1)
}

/// `check` refuses `file` holding `text` at `needle` in the first line
/// holding `line`: `file:line:column: field: `.
fn refused_at(tag: &str, file: &str, text: &str, line: &str, needle: &str, field: &str) {
    let (l, col) = pos(text, line, needle);
    let stderr = refusal(tag, file, text);
    assert_at(&stderr, file, l, &[col], field);
}

/// `stderr` reports `file:line:column: field: ` with one of `columns`.
fn assert_at(stderr: &str, file: &str, line: usize, columns: &[usize], field: &str) {
    let ok = columns
        .iter()
        .any(|c| stderr.contains(&format!("{file}:{line}:{c}: {field}: ")));
    assert!(
        ok,
        "expected {file}:{line}:{columns:?}: {field}: …, got: {stderr}"
    );
}

// A key of the field path is looked for among the direct children of the
// key before it, never deeper: a body's own `data:` or `headers:` key,
// written before the scenario's, is not the scenario's.
#[test]
fn a_data_or_headers_key_inside_a_body_is_not_the_scenarios_own() {
    let c = shipped("scenarios", "curpv5.yaml");
    let head = "        body: *person\n        data: {status: AN}";
    let mut wrong = Vec::new();
    for (tag, to, line, needle, field) in [
        (
            "body-data",
            "        body:\n          data: {curp: \"{{curp}}\"}\n        data: {sttus: AN}",
            "        data: {sttus: AN}",
            "sttus",
            "endpoints.bycurp.scenarios.active.data",
        ),
        (
            "body-headers",
            "        body:\n          headers: {accept: json}\n        headers:\n          Connection: close\n        data: {status: AN}",
            "          Connection: close",
            "Connection",
            "endpoints.bycurp.scenarios.active.headers.Connection",
        ),
    ] {
        let text = edit(&c, head, to);
        let (l, col) = pos(&text, line, needle);
        let stderr = refusal(tag, "curpv5.yaml", &text);
        let want = format!("curpv5.yaml:{l}:{col}: {field}: ");
        if !stderr.contains(&want) {
            wrong.push(format!("{tag}: expected {want}…, got: {stderr}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// The same at the top level: in a file that lists `endpoints:` before
// `errors:` (any order is YAML) and whose body has an `errors: []` key, an
// unknown error kind is reported at the top-level `errors:` entry.
#[test]
fn an_errors_key_in_a_body_is_not_the_top_level_errors() {
    let c = shipped("scenarios", "curpv5.yaml");
    let c = edit(
        &c,
        "          warning: []\n",
        "          warning: []\n          errors: []\n",
    );
    let start = c.find("errors:\n  not_found:").unwrap();
    let end = c.find("endpoints:\n").unwrap();
    let moved = format!("{}{}\n{}", &c[..start], &c[end..], &c[start..end]);
    let text = edit(
        &moved,
        "errors:\n  not_found:",
        "errors:\n  teapot: {description: x, status: 418}\n  not_found:",
    );
    refused_at(
        "errors-last",
        "curpv5.yaml",
        &text,
        "  teapot:",
        "teapot",
        "errors.teapot",
    );
}

// The same for a scenario name: an error answer written before `success`
// whose body says `success: false` (a common JSON shape) does not stand in
// for the scenario `success` when an error in `success` is located.
#[test]
fn a_body_key_named_like_a_later_scenario_is_not_that_scenario() {
    let c = shipped("scenarios", "curpv5.yaml");
    let text = edit(
        &c,
        "      success:\n",
        "      failed:\n        description: an error answer\n        status: 200\n        body:\n          success: false\n      success:\n",
    );
    let text = edit(
        &text,
        "        body: &person",
        "        headers:\n          Connection: close\n        body: &person",
    );
    refused_at(
        "success-key",
        "curpv5.yaml",
        &text,
        "          Connection: close",
        "Connection",
        "endpoints.bycurp.scenarios.success.headers.Connection",
    );
}

// A `---` document start (the YAML marker many editors and tools write) is
// no list item: a personas file that starts with one has its errors
// reported at the persona they are in.
#[test]
fn a_document_start_marker_does_not_shift_the_personas() {
    let two = "---\n- curp: PXNE660720HMCXTN06\n  status: RCN\n- curp: GAPA950819HGTLRR07\n  status: ZZ\n";
    refused_at(
        "docstart-1",
        "personas.yaml",
        two,
        "  status: ZZ",
        "ZZ",
        "[1].status",
    );

    let one = "--- # personas\n- curp: PXNE660720HMCXTN06\n  status: ZZ\n";
    refused_at(
        "docstart-0",
        "personas.yaml",
        one,
        "  status: ZZ",
        "ZZ",
        "[0].status",
    );
}

// SPEC §8: "file, line and field". An empty scenario name under a persona's
// `scenarios:` map is reported at its own line, under the field
// `[0].scenarios.curpv5`.
#[test]
fn an_empty_scenario_name_under_scenarios_is_reported_where_it_is() {
    let text = "- curp: PXNE660720HMCXTN06\n  scenarios:\n    nss: not_found\n    curpv5: \"\"\n";
    let (l, _) = pos(text, "    curpv5: \"\"", "curpv5");
    let stderr = refusal("empty-scenario", "personas.yaml", text);
    assert!(
        stderr.contains(&format!("personas.yaml:{l}:"))
            && stderr.contains(": [0].scenarios.curpv5: "),
        "expected personas.yaml:{l}:…: [0].scenarios.curpv5: …, got: {stderr}"
    );
}

// README "Command line": `file:line:column`. An unknown `entity_ine` in the
// shipped catalogs' flow style (`- { entity_ine: "99", code: …, name: … }`)
// is reported at the column of the "99", not of the municipality's name.
#[test]
fn an_unknown_municipality_entity_is_pointed_at_not_the_name() {
    let cat = shipped("fixtures", "catalogs.yaml");
    let text = edit(
        &cat,
        "{ entity_ine: \"02\", code: \"004\"",
        "{ entity_ine: \"99\", code: \"004\"",
    );
    let (l, col) = pos(&text, "entity_ine: \"99\"", "\"99\"");
    let stderr = refusal("muni", "catalogs.yaml", &text);
    assert_at(
        &stderr,
        "catalogs.yaml",
        l,
        &[col, col + 1],
        "municipalities[2].entity_ine",
    );
}

// README "The scenario files": "a placeholder in a body's key … refused with
// file, line and field". A placeholder written as a body key
// (`"{{curp}}": []`) is reported at that key, not at the body's first value
// that holds the same text (`curp: "{{curp}}"`, nothing wrong there).
#[test]
fn a_placeholder_written_as_a_key_is_pointed_at_not_at_a_value() {
    let c = shipped("scenarios", "curpv5.yaml");
    let text = edit(&c, "          warning: []", "          \"{{curp}}\": []");
    let (l, col) = pos(&text, "          \"{{curp}}\": []", "\"{{curp}}\"");
    let stderr = refusal("key-placeholder", "curpv5.yaml", &text);
    assert_at(
        &stderr,
        "curpv5.yaml",
        l,
        &[col, col + 1],
        "endpoints.bycurp.scenarios.success.body",
    );
}

// README "The scenario files" / SPEC §8. An unknown `data:` key that is the
// tail of a known key written above it (`description` under
// `renapo_description`) is reported at its own line: a key is matched as a
// whole word.
#[test]
fn an_unknown_data_key_is_pointed_at_not_a_known_key_containing_it() {
    let c = shipped("scenarios", "curpv5.yaml");
    let text = edit(
        &c,
        "        data: {status: BD}",
        "        data:\n          renapo_description: registered\n          description: registered",
    );
    refused_at(
        "data-tail",
        "curpv5.yaml",
        &text,
        "          description: registered",
        "description",
        "endpoints.bycurp.scenarios.deceased.data",
    );
}

// README "The scenario files": a `data:` value the module cannot answer
// with is refused at load, at the value: a CURP status, a RENAPO or a CCB
// code the catalogs do not list (it went out as written, with blank
// descriptions), and async's outcome written wrong, `invalid` outside
// IneNominalList, a warning without its code or message, an outcome on
// verificationStatus or beside a status other than 2xx (which create
// nothing: the client was given an id of no verification), and `down`, `code` or
// `message` without an outcome (read only beside one).
#[test]
fn a_data_value_the_module_cannot_answer_with_is_refused_at_the_value() {
    let cases = [
        ("curpv5", "        data: {status: BD}", "        data: {status: ZZ}", "ZZ",
         "endpoints.bycurp.scenarios.deceased.data.status", "unknown status \"ZZ\"; the catalogs list AN, AH, RCN, RCC, "),
        ("curpv5", "data: {renapo: \"01-06\", renapo_description: \"La CURP no se encuentra en la base de datos\",", "data: {renapo: \"01-99\",", "01-99",
         "endpoints.bycurp.scenarios.renapo_01_06.data.renapo", "unknown renapo code \"01-99\"; the catalogs list "),
        ("curpv5", "ccb: CRGEN000, ccb_description: \"El proceso de validación se ha realizado exitosamente.\"}", "ccb: CRGEN999}", "CRGEN999",
         "endpoints.bycurp.scenarios.renapo_01_06.data.ccb", "unknown ccb code \"CRGEN999\"; the catalogs list "),
        ("curpv5", "        data: {status: BD}", "        data: {status: BD, ccb_description: sin código}", "sin código",
         "endpoints.bycurp.scenarios.deceased.data.ccb_description", "describes a ccb code the scenario does not give: add ccb"),
        ("accuauth", "        data: {status: AN}", "        data: {status: an}", "an",
         "endpoints.id_check.scenarios.active.data.status", "unknown status \"an\""),
        ("validacurp", "        data: {status: AN}", "        data: {status: XX}", "XX",
         "endpoints.getData.scenarios.active.data.status", "unknown status \"XX\""),
        ("async", "        data: {outcome: success}\n      not_found:", "        data: {outcome: sucess}\n      not_found:", "sucess",
         "endpoints.ine_nominal_list.scenarios.success.data.outcome", "'sucess': unknown outcome; async reads success, invalid and cannot_vote (IneNominalList), warning or unavailable"),
        ("async", "        data: {outcome: success}\n      not_found:\n        description: accepted; completes with RFC005", "        data: {outcome: invalid }\n      not_found:\n        description: accepted; completes with RFC005", "invalid",
         "endpoints.rfc_by_curp.scenarios.success.data.outcome", "'invalid': invalid is IneNominalList's alone"),
        ("async", "        data: {outcome: success}\n      not_found:\n        description: accepted; completes with NSS005", "        data: {outcome: cannot_vote }\n      not_found:\n        description: accepted; completes with NSS005", "cannot_vote",
         "endpoints.nss_by_curp.scenarios.success.data.outcome", "'cannot_vote': cannot_vote is IneNominalList's alone"),
        ("async", "{outcome: warning, code: RFC005, message: \"CURP does not match with source\"}", "{outcome: warning, code: RFC005}", "warning",
         "endpoints.rfc_by_curp.scenarios.not_found.data.outcome", "'warning': a warning states its code and message"),
        ("async", "        data: {outcome: success}\n      not_found:", "        data: {down: 1}\n      not_found:", "down",
         "endpoints.ine_nominal_list.scenarios.success.data.down", "read only beside an outcome (success, invalid, cannot_vote, warning or unavailable)"),
        ("async", "        data: {outcome: success}\n      not_found:", "        data: {outcome: success, code: X1}\n      not_found:", "X1",
         "endpoints.ine_nominal_list.scenarios.success.data.code", "not read beside outcome success"),
        ("async", "{outcome: unavailable, code: RFC010, message: \"SAT source unavailable.\"}", "{outcome: unavailable, code: RFC010, message: \"SAT source unavailable.\", down: 1}", "down",
         "endpoints.rfc_by_curp.scenarios.unavailable.data.down", "not read beside outcome unavailable"),
        ("async", "          warnings: \"{{warnings}}\"\n", "          warnings: \"{{warnings}}\"\n        data: {outcome: success }\n", "success",
         "endpoints.verification_status.scenarios.success.data.outcome", "'success': verificationStatus creates no verification"),
        ("async", "        status: 200\n        body: *created\n        data: {outcome: invalid}", "        status: 503\n        body: *created\n        data: {outcome: invalid }", "invalid",
         "endpoints.ine_nominal_list.scenarios.not_found.data.outcome", "'invalid': an answer other than 2xx creates no verification: an outcome is read beside a status of 200 to 299"),
    ];
    for (i, (provider, from, to, needle, field, said)) in cases.into_iter().enumerate() {
        let file = format!("{provider}.yaml");
        let text = edit(&shipped("scenarios", &file), from, to);
        let line = to.lines().find(|l| l.contains(needle)).unwrap();
        let (l, col) = pos(&text, line, needle);
        let stderr = refusal(&format!("data-value-{i}"), &file, &text);
        assert_at(&stderr, &file, l, &[col], field);
        assert!(stderr.contains(said), "{said}: {stderr}");
    }
    // A persona's status is told the same way.
    let persona = "- curp: PXNE660720HMCXTN06\n  status: ZZ\n";
    let stderr = refusal("persona-status", "personas.yaml", persona);
    let said = "[0].status: PXNE660720HMCXTN06: unknown status \"ZZ\"; the catalogs list AN, AH, ";
    assert!(stderr.contains(said), "{stderr}");
}

// The same rule's other side: a RENAPO or CCB code the catalogs list may
// leave its description out (it answers with the catalogs'), and one they
// do not list loads with a description of its own (RENAPO may add codes).
#[tokio::test]
async fn a_curpv5_code_answers_with_the_catalogs_description_or_its_own() {
    let dir = curpv5_dir("codes", |s| {
        s.replacen(
            "        data: {status: BD}",
            "        data: {ccb: CRCPR001, renapo: \"06-01\", renapo_description: Nuevo código}",
            1,
        )
    });
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.clone()),
        ..config()
    })
    .await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("ApiKey", "k"), ("X-Sandbox-Scenario", "deceased")],
            json!({"curp": "PXNE660720HMCXTN06"}),
        )
        .await;
    let v = r.json();
    let ccb = shipped("fixtures", "catalogs.yaml")
        .lines()
        .find(|l| l.contains("CRCPR001"))
        .map(str::to_string)
        .unwrap();
    let described = v["ccbResponseDescription"].as_str().unwrap_or_default();
    assert!(
        !described.is_empty() && ccb.contains(described),
        "{v} / {ccb}"
    );
    assert_eq!(v["ccbResponseCode"], "CRCPR001", "{v}");
    assert_eq!(v["renapoResponseCode"], "06-01", "{v}");
    assert_eq!(v["renapoResponseDescription"], "Nuevo código", "{v}");
    sb.stop().await;
}

// A persona's CURP out of the format is told what is out of place: an
// 18-character one in lower case had been told it needs 18 characters.
#[test]
fn a_personas_curp_out_of_the_format_is_told_where() {
    for (curp, why) in [
        (
            "xaxa010101xxxxxx01",
            "'x' at position 1: expected a letter A-Z (a CURP is written in capitals)",
        ),
        (
            "PXNE660720HMCXTN0",
            "17 characters: a CURP has 18, like PXNE660720HMCXTN06",
        ),
        // The differentiator, the one place of either kind.
        (
            "PXNE660720HMCXTN-6",
            "'-' at position 17: expected a letter A-Z or a digit",
        ),
    ] {
        let stderr = refusal(
            "persona-curp",
            "personas.yaml",
            &format!("- curp: {curp}\n"),
        );
        let said = format!("[0].curp: {curp}: not a CURP: {why}");
        assert!(stderr.contains(&said), "{said}: {stderr}");
    }
}

// README "Command line": `file:line:column: field`. A reject credential with
// dots in it (tokens often have them) is located as one key, not split at
// its dots, and not at another credential that merely contains it.
#[test]
fn a_reject_credential_with_dots_is_pointed_at() {
    let cred = shipped("fixtures", "credentials.yaml");
    let text = edit(
        &cred,
        "    invalid-apikey: invalid_credentials",
        "    test.key.old: invalid_credentials\n    test.key: invalid_credentialz",
    );
    refused_at(
        "dotted",
        "credentials.yaml",
        &text,
        "    test.key: invalid_credentialz",
        "test.key",
        "curpv5.reject.test.key",
    );
}

// README "The scenario files": "a key written twice in one mapping (a
// scenario, …) … refused with file, line and field"; SPEC §8. A scenario
// name written twice in one endpoint is refused at its second writing, as
// a duplicate field is (`a_duplicate_field_is_refused_at_its_line_and_column`).
#[test]
fn a_duplicate_scenario_name_is_pointed_at_its_second_definition() {
    let c = shipped("scenarios", "curpv5.yaml");
    let text = edit(
        &c,
        "      unused:\n",
        "      deceased:\n        description: again\n        status: 200\n      unused:\n",
    );
    let (l, col) = pos(&text, "        description: again", "description");
    let l = l - 1; // the `deceased:` line above it
    assert_eq!(text.lines().nth(l - 1), Some("      deceased:"));
    let stderr = refusal("dup-scenario", "curpv5.yaml", &text);
    assert!(
        stderr.contains(&format!("curpv5.yaml:{l}:{}: ", col - 2)),
        "expected curpv5.yaml:{l}:{}: (the second `deceased:`), got: {stderr}",
        col - 2
    );
}

// The same inside a mapping under an anchor (`body: &person`), which
// serde reports at the anchor: the error points at the second writing.
#[test]
fn a_key_written_twice_under_an_anchor_is_pointed_at_its_second_writing() {
    // And under an anchor with a tag after it, and a comment.
    for anchor in ["body: &person", "body: &person !!map # the person"] {
        let c = edit(
            &shipped("scenarios", "curpv5.yaml"),
            "body: &person",
            anchor,
        );
        let twice = "          curp: \"{{curp}}\"\n";
        let text = edit(&c, twice, &format!("{twice}          other: x\n{twice}"));
        let first = pos(&text, twice.trim_end(), "curp").0;
        let l = first + 2;
        assert_eq!(text.lines().nth(l - 1), Some(twice.trim_end()));
        let stderr = refusal("dup-anchored", "curpv5.yaml", &text);
        assert!(
            stderr.contains(&format!("curpv5.yaml:{l}:11: endpoints.bycurp.scenarios.success.body: duplicate entry with key \"curp\"")),
            "{anchor}: {stderr}"
        );
    }
}

// README "The scenario files": "A path two providers claim is reported in
// the user's file, naming the other", with file, line and field; SPEC §8
// the same. A user's curpv5 path "/api/v1/imss/nss/{x}" under GET clashes
// with nss's "/api/v1/imss/nss/{id}": it is reported at the user's path,
// field `endpoints.bycurp.paths`.
#[test]
fn a_path_clash_is_reported_at_the_users_path() {
    let c = shipped("scenarios", "curpv5.yaml");
    let text = edit(
        &c,
        "    method: POST\n    paths: [/api/curp/bycurp]",
        "    method: [POST, GET]\n    paths: [/api/curp/bycurp, \"/api/v1/imss/nss/{x}\"]",
    );
    let (l, col) = pos(&text, "/api/v1/imss/nss/{x}", "\"/api/v1/imss/nss/{x}\"");
    let stderr = refusal("clash", "curpv5.yaml", &text);
    assert_at(
        &stderr,
        "curpv5.yaml",
        l,
        &[col, col + 1],
        "endpoints.bycurp.paths",
    );
}

// README "The scenario files" (paths): a path one endpoint declares
// reaches it, beside another whose parameter has text after it. matchit's
// tree goes into `{tenant}.mx` for `/gw/acme.mx/nss/…` and does not come
// back out; the sandbox then matches the declared routes itself.
#[tokio::test]
async fn a_path_beside_a_parameter_with_a_suffix_reaches_its_endpoint() {
    let dir = scenario_dir("route-suffix", "nss", |s| {
        edit(
            &edit(
                s,
                "paths: [/api/v1/imss/nss/test_case, /api/v2/imss/nss/test_case]",
                "paths: [/api/v1/imss/nss/test_case, /api/v2/imss/nss/test_case, \"/gw/{tenant}.mx/test_case\"]",
            ),
            "paths: [\"/api/v1/imss/nss/{id}\", \"/api/v2/imss/nss/{id}\"]",
            "paths: [\"/api/v1/imss/nss/{id}\", \"/api/v2/imss/nss/{id}\", \"/gw/{tenant}/nss/{id}\"]",
        )
    });
    let sb = serving(&dir).await;
    let key = [("x-api-key", "k")];
    let answer = sb
        .post(
            "/api/v1/imss/nss",
            &key,
            json!({ "curp": "ABCD570805HYNHLC52" }),
        )
        .await
        .json();
    let id = answer["id"].as_str().unwrap();
    for tenant in ["acme", "acme.mx"] {
        let kept = sb.get(&format!("/gw/{tenant}/nss/{id}"), &key).await;
        assert_eq!(kept.status, 200, "{tenant}: {}", kept.text());
        assert_eq!(kept.json(), answer, "{tenant}");
    }
    let unknown = sb.get("/gw/acme.mx/nss/nope", &key).await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (
            404,
            json!({"id": "NOT_FOUND_ERROR; query not found with given id"})
        )
    );
    let cases = sb.get("/gw/acme.mx/test_case", &key).await;
    assert_eq!(cases.status, 200, "{}", cases.text());
    assert!(
        cases.json().as_array().is_some_and(|c| c.len() == 6),
        "{}",
        cases.text()
    );
    sb.stop().await;
}

// README "Command line": `file:line:column: …`. A file with a second YAML
// document (`---` then more) is refused at the `---` that starts it.
#[test]
fn a_second_yaml_document_is_refused_with_its_line() {
    let c = shipped("scenarios", "curpv5.yaml");
    let text = format!("{c}---\nprovider: curpv5\n");
    let l = text.lines().position(|l| l == "---").unwrap() + 1;
    let stderr = refusal("two-docs", "curpv5.yaml", &text);
    assert!(
        stderr.contains(&format!("curpv5.yaml:{l}:")),
        "expected curpv5.yaml:{l}: (the second document's `---`), got: {stderr}"
    );
}

// SPEC §8: "file, line and field". A `method:` that is neither a name nor a
// list (`method: 5`, `method: {POST: 1}`) is reported under the field
// `endpoints.bycurp.method`.
#[test]
fn a_method_of_the_wrong_shape_names_the_method_field() {
    let c = shipped("scenarios", "curpv5.yaml");
    for bad in ["method: 5", "method: {POST: 1}"] {
        let text = edit(&c, "method: POST", bad);
        let stderr = refusal("method-shape", "curpv5.yaml", &text);
        assert!(
            stderr.contains(": endpoints.bycurp.method: "),
            "{bad}: expected the field endpoints.bycurp.method, got: {stderr}"
        );
    }
}

// README "The scenario files" / SPEC §8. In a block list of paths, a path
// without its leading `/` that is the tail of the path above it is reported
// at its own item, not at the valid path above.
#[test]
fn a_bad_path_in_a_list_is_pointed_at_not_the_item_above() {
    let c = shipped("scenarios", "curpv5.yaml");
    let text = edit(
        &c,
        "    paths: [/api/curp/bycurp]",
        "    paths:\n      - /api/curp/bycurp\n      - api/curp/bycurp",
    );
    refused_at(
        "path-item",
        "curpv5.yaml",
        &text,
        "      - api/curp/bycurp",
        "api/curp/bycurp",
        "endpoints.bycurp.paths",
    );
}

/// The 1-based line of `text`'s first line containing `needle`.
fn line_with(text: &str, needle: &str) -> usize {
    pos(text, needle, needle).0
}

/// A clash refused by `load` on `files`: the error, which must be at
/// `needle` in `file` (in the folder; the column of its quote, if quoted),
/// under `field`, and must name `other`.
fn clash_at(tag: &str, files: &[(&str, &str)], file: &str, field: &str, needle: &str, other: &str) {
    let (dir, _gone) = folder(tag, files);
    let err = refused(load(&dir));
    let text = files.iter().find(|(f, _)| *f == file).unwrap().1;
    assert_eq!(err.file, dir.join(file).display().to_string(), "{err}");
    let (l, col) = pos(text, needle, needle);
    assert_eq!(err.line, Some(l), "{err}");
    assert!(
        err.column == Some(col) || err.column == Some(col - 1),
        "expected column {col}: {err}"
    );
    assert_eq!(err.field.as_deref(), Some(field), "{err}");
    let other = other.replace("{dir}", &dir.display().to_string());
    assert!(err.message.contains(&other), "expected {other:?} in: {err}");
}

/// nss.yaml whose `query` claims curpv5's path too.
fn nss_claiming_bycurp() -> String {
    edit(
        &shipped("scenarios", "nss.yaml"),
        "paths: [/api/v1/imss/nss, /api/v2/imss/nss]",
        "paths: [/api/v1/imss/nss, /api/v2/imss/nss, /api/curp/bycurp]",
    )
}

// The user's file is the later one (nss after curpv5): the clash is
// reported there, naming the embedded file and the endpoint that has the
// path first.
#[test]
fn a_clash_in_a_later_users_file_names_the_embedded_endpoint() {
    let nss = nss_claiming_bycurp();
    clash_at(
        "clash-later",
        &[("nss.yaml", &nss)],
        "nss.yaml",
        "endpoints.query.paths",
        "/api/curp/bycurp]",
        "(also claimed by curpv5's endpoint bycurp, scenarios/curpv5.yaml)",
    );
}

// A long path claimed twice is named by its first 256 bytes, in the
// router's words too (they repeat the route it clashes with).
#[test]
fn a_clash_of_a_long_path_repeats_at_most_256_bytes_of_it() {
    let long = format!("/{}", "k".repeat(600));
    let nss = edit(
        &shipped("scenarios", "nss.yaml"),
        "paths: [/api/v1/imss/nss, /api/v2/imss/nss]",
        &format!("paths: [/api/v1/imss/nss, /api/v2/imss/nss, {long}, {long}]"),
    );
    let (dir, _gone) = folder("clash-long", &[("nss.yaml", &nss)]);
    let err = refused(load(&dir)).to_string();
    // The path, and the route it clashes with (matchit's words), each
    // counted as itself.
    assert_eq!(err.matches("… (601 bytes)").count(), 2, "{err}");
    assert!(!err.contains(&"k".repeat(257)), "{err}");
}

// Both files the user's: the one that claims the path last is blamed, and
// the other is named by its own path in the folder.
#[test]
fn a_clash_between_two_users_files_is_reported_in_the_later() {
    let nss = nss_claiming_bycurp();
    let curpv5 = shipped("scenarios", "curpv5.yaml");
    clash_at(
        "clash-both",
        &[("curpv5.yaml", &curpv5), ("nss.yaml", &nss)],
        "nss.yaml",
        "endpoints.query.paths",
        "/api/curp/bycurp]",
        "(also claimed by curpv5's endpoint bycurp, {dir}/curpv5.yaml)",
    );
}

// A user's async path clashing with embedded nss's (not the first file's
// path): nss is named.
#[test]
fn a_clash_names_the_provider_that_has_the_path() {
    let text = edit(
        &shipped("scenarios", "async.yaml"),
        "paths: [/api/AsyncVerication/verificationStatus]",
        "paths: [/api/AsyncVerication/verificationStatus, \"/api/v2/imss/nss/{x}\"]",
    );
    clash_at(
        "clash-nss",
        &[("async.yaml", &text)],
        "async.yaml",
        "endpoints.verification_status.paths",
        "/api/v2/imss/nss/{x}",
        "(also claimed by nss's endpoint execution, scenarios/nss.yaml)",
    );
}

// Two endpoints of one file: reported at the later one's path, naming the
// earlier endpoint of the same file; two paths of one endpoint: at the
// second path.
#[test]
fn a_clash_within_one_file_is_reported_at_its_later_path() {
    let nss = shipped("scenarios", "nss.yaml");
    let history = "    method: GET\n    paths: [/api/v1/imss/nss, /api/v2/imss/nss]";
    let text = edit(
        &nss,
        history,
        "    method: GET\n    paths: [/api/v1/imss/nss, /api/v2/imss/nss, \"/api/v1/imss/nss/{x}\"]",
    );
    clash_at(
        "clash-one-file",
        &[("nss.yaml", &text)],
        "nss.yaml",
        "endpoints.history.paths",
        "/api/v1/imss/nss/{x}",
        "(also claimed by its endpoint execution)",
    );
    let text = edit(
        &nss,
        history,
        "    method: GET\n    paths: [/api/v1/imss/nss, /api/v2/imss/nss, \"/h/{a}\", \"/h/{b}\"]",
    );
    clash_at(
        "clash-one-endpoint",
        &[("nss.yaml", &text)],
        "nss.yaml",
        "endpoints.history.paths",
        "/h/{b}",
        "(also claimed by its endpoint history)",
    );
}

// curpv5 and async both ignore path case: a user's curpv5 path that is
// async's in other letter case clashes in the lower-cased routes. The
// user's file (the earlier) is blamed, at that path, naming async's
// endpoint.
#[test]
fn a_clash_in_letter_case_only_is_reported_in_the_users_file() {
    let text = edit(
        &shipped("scenarios", "curpv5.yaml"),
        "paths: [/api/curp/bycurp]",
        "paths: [/api/curp/bycurp, /API/asyncverication/RFCBYCURP]",
    );
    clash_at(
        "clash-case",
        &[("curpv5.yaml", &text)],
        "curpv5.yaml",
        "endpoints.bycurp.paths",
        "/API/asyncverication/RFCBYCURP",
        "(also claimed by async's endpoint rfc_by_curp, scenarios/async.yaml)",
    );
}

// A user's folder may well be called `scenarios`, named relative to where
// the sandbox runs: its files are the user's all the same. A user's
// curpv5 path that is accuauth's is reported in the user's curpv5.yaml,
// not in the embedded accuauth.yaml.
#[test]
fn a_users_folder_named_scenarios_is_still_the_users() {
    let text = edit(
        &shipped("scenarios", "curpv5.yaml"),
        "paths: [/api/curp/bycurp]",
        "paths: [/api/curp/bycurp, /verify/id_check]",
    );
    let (dir, _gone) = folder("clash-relative", &[]);
    std::fs::create_dir(dir.join("scenarios")).unwrap();
    std::fs::write(dir.join("scenarios/curpv5.yaml"), &text).unwrap();
    let out = Command::new(BIN)
        .args(["check", "scenarios"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "check passed: {stderr}");
    let l = line_with(&text, "/verify/id_check");
    assert!(
        stderr.contains(&format!("scenarios/curpv5.yaml:{l}:"))
            && stderr.contains("endpoints.bycurp.paths"),
        "expected scenarios/curpv5.yaml:{l}: … endpoints.bycurp.paths, got: {stderr}"
    );
}

// README, Other commands: `export DIR` writes the embedded scenario and
// fixture files, as they are in the repository, to DIR/scenarios and
// DIR/fixtures, which `serve` then reads; it writes over nothing, and
// when any file (or its `.yml` spelling) is there, it writes nothing.
#[test]
fn export_writes_the_embedded_files_to_edit_and_writes_over_nothing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = temp_dir("export").join("mine");
    let out = run(&["export", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let served = crate::common::provider_ids().len();
    assert!(
        stdout.starts_with(&format!("wrote {served} scenario files to ")),
        "{stdout}"
    );
    for kind in ["scenarios", "fixtures"] {
        let names = file_names(&root.join(kind));
        assert_eq!(names.len(), if kind == "scenarios" { served } else { 4 });
        for name in names {
            let ours = std::fs::read(root.join(kind).join(&name)).unwrap();
            let written = std::fs::read(dir.join(kind).join(&name)).unwrap();
            assert!(ours == written, "{kind}/{name:?}");
        }
    }
    let config = Config {
        scenarios: Source::Dir(dir.join("scenarios")),
        fixtures: Source::Dir(dir.join("fixtures")),
        ..config()
    };
    assert!(engine::load(&config, &providers::all()).is_ok());

    // A second export writes over nothing: an edit stays.
    let nss = dir.join("scenarios/nss.yaml");
    std::fs::write(&nss, "# mine\n").unwrap();
    let out = run(&["export", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("curpv5.yaml: is there already; export writes over nothing"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&nss).unwrap(), "# mine\n");

    // A `.yml` file of the same name is there too: nothing is written.
    let other = temp_dir("export-yml");
    std::fs::create_dir_all(other.join("fixtures")).unwrap();
    std::fs::write(other.join("fixtures/personas.yml"), "").unwrap();
    let out = run(&["export", other.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("personas.yml: is there already"),
        "{stderr}"
    );
    assert!(!other.join("scenarios").exists());
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    let _ = std::fs::remove_dir_all(other);
}

// README, Command line: export "exits 1 naming the file it could not write
// (a full disk, a file-size limit), and takes back what it wrote and the
// folders it made": a cut file left behind would refuse the export that
// follows as being there already. Under `ulimit -f`, the write fails
// (SIGXFSZ is ignored) instead of killing the process.
#[test]
fn an_export_that_cannot_write_leaves_nothing_and_can_be_run_again() {
    let base = temp_dir("export-cut");
    std::fs::create_dir_all(&base).unwrap();
    let dir = base.join("a/b");
    // 15,000 bytes a file: curpv5.yaml (11,121) is written whole, and
    // validacurp.yaml (17,996), the next, is cut.
    let limited = |dir: &Path| {
        Command::new("prlimit")
            .arg("--fsize=15000")
            .arg(env!("CARGO_BIN_EXE_mxid-sandbox"))
            .arg("export")
            .arg(dir)
            .output()
            .unwrap()
    };
    let out = limited(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("scenarios/validacurp.yaml: cannot write: File too large")
            && stderr.contains("(nothing written is left)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&base).unwrap().count(), 0, "{stderr}");
    // A folder that was there stays, emptied of what the export wrote.
    std::fs::create_dir_all(dir.join("fixtures")).unwrap();
    let out = limited(&dir);
    assert_eq!(out.status.code(), Some(1));
    let left = file_names(&dir);
    assert_eq!(left, ["fixtures"]);
    assert_eq!(std::fs::read_dir(dir.join("fixtures")).unwrap().count(), 0);
    let out = run(&["export", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(base);
}

// README, Other commands: `export` takes back "the folders it made" when
// it cannot go on, and a folder it cannot make is exit 1 naming it: under
// a regular file (not a directory), and one whose name is past the file
// system's bound, after making the folder above it (taken back).
#[test]
fn an_export_that_cannot_make_its_folder_leaves_nothing() {
    let base = temp_dir("export-no-folder");
    std::fs::create_dir_all(&base).unwrap();
    let _gone = RemovedOnDrop(base.clone());
    std::fs::write(base.join("afile"), "").unwrap();
    let long = "n".repeat(300);
    for (dir, why) in [
        (
            base.join("afile/sub"),
            "afile/sub: cannot make the folder: Not a directory",
        ),
        (
            base.join("made").join(&long),
            "cannot make the folder: File name too long",
        ),
    ] {
        let out = run(&["export", dir.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        let left = file_names(&base);
        assert_eq!(left, ["afile"], "{stderr}");
    }
    // A file where its fixtures folder goes: the scenario files written
    // first are taken back, with the folders made for them.
    let dir = base.join("made");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fixtures"), "").unwrap();
    let out = run(&["export", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("fixtures/credentials.yaml: cannot write: Not a directory")
            && stderr.contains("(nothing written is left)"),
        "{stderr}"
    );
    let left = file_names(&dir);
    assert_eq!(left, ["fixtures"], "{stderr}");
}

/// The names of the entries of `dir`, sorted.
fn file_names(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    names
}
