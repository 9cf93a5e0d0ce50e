//! YAML's classic gotchas in a user's hand-written `--scenarios` and
//! `--fixtures` folders (README "The scenario files", "The fixture files"):
//! every value is read as the user meant it or refused with
//! `file:line:column: field: message`, through `check` and `serve`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{temp_dir, RemovedOnDrop, Served};
use serde_json::{json, Value};

pub(super) fn shipped(folder: &str, file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(folder)
            .join(file),
    )
    .unwrap()
}

pub(super) fn folder_with(tag: &str, file: &str, text: &str) -> PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join(file), text).unwrap();
    dir
}

/// `mxid-sandbox ARGS` without the test's own `MXID_*` variables:
/// success, stdout, stderr.
pub(super) fn run(args: &[&str]) -> (bool, String, String) {
    let out = crate::engine::run(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `check DIR [extra…]`: success and stderr.
pub(super) fn check(dir: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["check", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (ok, _, err) = run(&args);
    (ok, err)
}

/// The shipped curpv5 file with one more bycurp scenario, `probe`, whose
/// lines (at 8 spaces) are `lines`.
pub(super) fn with_probe(lines: &str) -> String {
    let s = shipped("scenarios", "curpv5.yaml");
    let anchor = "    scenarios:\n      success:\n";
    assert!(s.contains(anchor));
    s.replacen(
        anchor,
        &format!("    scenarios:\n      probe:\n{lines}      success:\n"),
        1,
    )
}

/// Asserts `check`'s stderr names `file:LINE:` and `field`.
fn refused_at(stderr: &str, file: &str, line: usize, field: &str) {
    let at = format!("{file}:{line}:");
    assert!(
        stderr.contains(&at) && stderr.contains(&format!(": {field}: ")),
        "expected {at}COL: {field}: …, got {stderr}"
    );
}

/// curpv5's `probe` scenario (status 200) with `lines` after its status,
/// refused by `check` at the line that reads `at` and at `field`: its
/// stderr.
fn probe_refused_at(tag: &str, lines: &str, at: &str, field: &str) -> String {
    let text = with_probe(&format!(
        "        description: x\n        status: 200\n{lines}"
    ));
    let dir = folder_with(tag, "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(!ok, "accepted");
    let line = text.lines().position(|l| l == at).unwrap() + 1;
    refused_at(&err, "curpv5.yaml", line, field);
    err
}

// =============================================================================
// What the typed loaders alone would read wrong, or take too long to read
// =============================================================================

// README, The scenario files: "So is what would otherwise be dropped or
// sent out wrong without a word: a key written twice in one mapping (a
// scenario, an endpoint, a header …, a credential; in a user's files,
// scenario or fixture)". A key written once bare and once quoted (`1` and
// `"1"`, `true` and `"true"`, `404` and `"404"`, `12345` and `"12345"`) is
// the same key once read (the typed maps take every key as text): refused
// as a duplicate, where the first was dropped without a word (YAML itself
// takes a number and a string for two keys).
#[test]
fn a_key_written_bare_and_quoted_is_refused_as_written_twice() {
    let mut accepted = Vec::new();
    // A body: {1: a, "1": b} answers {"1":"b"}.
    let body = with_probe("        description: x\n        status: 200\n        body: {1: a, \"1\": b, true: c, \"true\": d}\n");
    // A scenario name: 404 and "404".
    let scenario = with_probe(
        "        description: first\n        status: 200\n      404:\n        description: a\n        status: 404\n      \"404\":\n        description: b\n        status: 200\n",
    );
    for (tag, text) in [("body", body), ("scenario", scenario)] {
        let dir = folder_with("dup-bare-quoted", "curpv5.yaml", &text);
        let _gone = RemovedOnDrop(dir.clone());
        let (ok, err) = check(&dir, &[]);
        if ok || !err.contains("duplicate") {
            accepted.push(format!("{tag}: {}", err.trim()));
        }
    }
    // A credential: a numeric API key written bare and quoted.
    let creds = shipped("fixtures", "credentials.yaml").replacen(
        "    invalid-apikey: invalid_credentials",
        "    invalid-apikey: invalid_credentials\n    12345: invalid_credentials\n    \"12345\": missing_credentials",
        1,
    );
    let dir = folder_with("dup-cred", "credentials.yaml", &creds);
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    if ok || !err.contains("duplicate") {
        accepted.push(format!("credential: {}", err.trim()));
    }
    assert!(
        accepted.is_empty(),
        "keys written twice (bare and quoted) were accepted: {accepted:#?}"
    );
}

// README, The scenario files: "description: one line, shown in the
// catalog"; and what a user writes must not be "dropped or sent out wrong
// without a word". `description: ~` (or `null`) is YAML's null: the user
// meant no description, and the catalog shows none (serde alone would
// read the text "~"); quoted, `"~"` is that text.
#[test]
fn a_null_description_is_not_shown_as_the_text_tilde() {
    for (written, shown) in [("~", ""), ("null", ""), ("\"~\"", "~")] {
        let text = with_probe(&format!(
            "        description: {written}\n        status: 200\n        body: {{}}\n"
        ));
        let dir = folder_with("null-desc", "curpv5.yaml", &text);
        let _gone = RemovedOnDrop(dir.clone());
        let (ok, out, err) = run(&["scenarios", "--scenarios", dir.to_str().unwrap(), "--json"]);
        assert!(ok, "{err}");
        let catalog: Value = serde_json::from_str(&out).unwrap();
        let probe = catalog
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "probe")
            .unwrap();
        assert_eq!(probe["description"], shown, "{written}: {probe}");
    }
}

// The classic templating gotcha: `curp: {{curp}}` unquoted is a YAML flow
// mapping, not a placeholder. It is refused at its line, and the message
// says what to write (serde's "invalid type: map, expected a string key"
// named neither the placeholder nor the fix), as the `<<` refusal does.
#[test]
fn an_unquoted_placeholder_is_refused_with_a_message_that_says_to_quote_it() {
    let err = probe_refused_at(
        "bare-placeholder",
        "        body:\n          curp: {{curp}}\n",
        "          curp: {{curp}}",
        "endpoints.bycurp.scenarios.probe.body.curp",
    );
    assert!(
        {
            // The message, past the folder's path.
            let msg = err.split("curpv5.yaml:").nth(1).unwrap_or(&err);
            msg.contains("{{curp}}") || msg.to_lowercase().contains("quote")
        },
        "the message does not say the placeholder must be quoted: {err}"
    );
}

// A body nested deeply in flow style (`[[[[…]]]]`): serde_yaml_ng refuses
// it past 128 levels ("recursion limit exceeded"), but only after the
// parser has read the whole file, in time quadratic in the depth
// (40,000 levels, an 80 KB file, took 15 s in a debug build, a 2 MB file
// more than ten minutes, during which `check`, `serve` (before it binds)
// and `POST /__admin/reload` hung). 100,000 levels (200 KB) are refused
// as quickly as 130 levels are, before the parser reads them.
#[test]
fn a_deeply_nested_flow_body_is_refused_without_hanging() {
    let n = 100_000;
    let text = with_probe(&format!(
        "        description: x\n        status: 200\n        body: {}1{}\n",
        "[".repeat(n),
        "]".repeat(n)
    ));
    let dir = folder_with("deep", "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let ended = super::yaml_cost::check_bounded(&dir, Duration::from_secs(5)).ended;
    assert_eq!(
        ended,
        Some(false),
        "check of a 200 KB file did not end within 5 s (None) or accepted it"
    );
}

// README, The scenario files: "YAML anchors are welcome for bodies that
// repeat". An alias is expanded where it is used: a 128 KB string referred
// to through three levels of ten aliases is a 128 MB body, and `check`
// peaked at about 430 MB (a 1 MB file: 3.2 GB and 27 s, and "ok"; one more
// level an out-of-memory kill): serde_yaml_ng's own repetition limit
// counts alias jumps against the file's number of events, not the bytes
// they copy. Refused, in little memory, once the replayed aliases pass
// 8 MB.
#[test]
fn an_alias_bomb_is_refused_not_expanded_into_hundreds_of_megabytes() {
    let big = "x".repeat(128 * 1024);
    let lines = format!(
        "        description: x\n        status: 200\n        body:\n          a: &a \"{big}\"\n          b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n          c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n          d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    );
    let dir = folder_with("bomb", "curpv5.yaml", &with_probe(&lines));
    let _gone = RemovedOnDrop(dir.clone());
    let run = super::yaml_cost::check_bounded(&dir, Duration::from_secs(30));
    let (ended, peak_kb) = (run.ended, run.peak_kb);
    assert!(
        ended == Some(false) && peak_kb < 150_000,
        "check ended {ended:?} (Some(true): accepted) with a peak of {peak_kb} KB for a 128 KB file"
    );
}

// YAML (1.1 and 1.2) takes a lone CR as a line break, as serde_yaml_ng's
// own errors do; the sandbox's post-parse checks count lines too (every
// error pointed at line 1 in a file saved with classic Mac line endings,
// a column far past the line's end). README, The scenario files: refused
// "with file, line and field". (CRLF: pinned below.)
#[test]
fn an_error_in_a_file_with_cr_line_endings_names_its_line() {
    let text = "- curp: MEGR380412MJCDRS07\r  names: A\r- curp: TALE710903HZSPRS06\r  status: ZZ\r";
    let dir = folder_with("cr", "personas.yaml", text);
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(!ok, "accepted");
    refused_at(&err, "personas.yaml", 4, "[1].status");
}

// =============================================================================
// What a user of YAML 1.1 habits gets, read as meant or refused at the line
// =============================================================================

/// `curp person CURP --fixtures DIR` as JSON.
fn person(dir: &Path, curp: &str) -> Value {
    let (ok, out, err) = run(&["curp", "person", curp, "--fixtures", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

const MEGR: &str = "MEGR380412MJCDRS07";

// The Norway problem where text is expected: a persona's names are the
// text written (yes/no/on/off/y/n/true, numbers, leading zeros), a birth
// date unquoted is the date, an NSS with its leading zero keeps it, and
// the nulls (`~`, `null`, `Null`, empty) leave the field to the synthetic
// person while `""` sets it empty.
#[test]
fn persona_text_fields_take_norway_words_numbers_and_dates_as_written() {
    let cases: [(&str, &[(&str, Value)]); 4] = [
        (
            "  names: no\n  first_surname: Yes\n  second_surname: off\n",
            &[("names", json!("no")), ("first_surname", json!("Yes")), ("second_surname", json!("off"))],
        ),
        (
            "  names: y\n  first_surname: 1e3\n  second_surname: 0x1F\n  nss: 08189782793\n  birth_date: 1938-04-12\n",
            &[
                ("names", json!("y")),
                ("first_surname", json!("1e3")),
                ("second_surname", json!("0x1F")),
                ("nss", json!("08189782793")),
                ("birth_date", json!("1938-04-12")),
            ],
        ),
        (
            "  names: ~\n  first_surname: Null\n  second_surname: \"\"\n  nss:\n",
            &[("second_surname", json!("")), ("nss", json!("58603823483"))],
        ),
        (
            "  registry: {act_number: 00985, municipality_code: 014} # a comment\n  # another\n  names: A#B\n  first_surname: 'X' #c\n",
            &[
                ("registry.act_number", json!("00985")),
                ("registry.municipality_code", json!("014")),
                ("names", json!("A#B")),
                ("first_surname", json!("X")),
            ],
        ),
    ];
    let synthetic_names = {
        let dir = folder_with("p0", "personas.yaml", &format!("- curp: {MEGR}\n"));
        let _g = RemovedOnDrop(dir.clone());
        person(&dir, MEGR)["names"].clone()
    };
    for (lines, want) in cases {
        let dir = folder_with("p", "personas.yaml", &format!("- curp: {MEGR}\n{lines}"));
        let _g = RemovedOnDrop(dir.clone());
        let p = person(&dir, MEGR);
        for (path, v) in want {
            let got = path.split('.').fold(&p, |v, k| &v[k]);
            assert_eq!(got, v, "{path} of {lines:?}");
        }
        if lines.contains("names: ~") {
            assert_eq!(
                p["names"], synthetic_names,
                "names: ~ leaves the synthetic name"
            );
        }
    }
}

// Refused at the line and field, never read as something else: a
// timestamp for a birth date, `01` (YAML 1.2 text) for a proof document,
// a quoted year, `1_000`-style numbers, `n` for a sex, a merge key.
#[test]
fn persona_values_of_the_wrong_kind_are_refused_at_their_line() {
    let cases = [
        ("  birth_date: 1938-04-12T00:00:00Z\n", "[0].birth_date"),
        ("  proof_document: 01\n", "[0].proof_document"),
        ("  registry: {year: \"1966\"}\n", "[0].registry.year"),
        ("  ine: {issue_year: 2_015}\n", "[0].ine.issue_year"),
        ("  sex: n\n", "[0].sex"),
        ("  scenarios: {nss: ~}\n", "[0].scenarios.nss"),
    ];
    for (lines, field) in cases {
        let dir = folder_with("pw", "personas.yaml", &format!("- curp: {MEGR}\n{lines}"));
        let _g = RemovedOnDrop(dir.clone());
        let (ok, err) = check(&dir, &[]);
        assert!(!ok, "{lines:?} accepted");
        refused_at(&err, "personas.yaml", 2, field);
    }
    let merged =
        format!("- &base\n  curp: {MEGR}\n  names: A\n- <<: *base\n  curp: TALE710903HZSPRS06\n");
    let dir = folder_with("pm", "personas.yaml", &merged);
    let _g = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(
        !ok && err.contains("personas.yaml:4:") && err.contains("merge keys"),
        "{err}"
    );
}

// Where a boolean, a status, a duration or a limit is expected: YAML 1.1
// words and number spellings are refused at their line (a limit's `off`,
// `~` and an empty value are the documented "no limit"; `+200` and `0xC8`
// are YAML 1.2's 200).
#[test]
fn scenario_values_of_the_wrong_kind_are_refused_at_their_line() {
    let curp = shipped("scenarios", "curpv5.yaml");
    let line_of =
        |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let success = "        status: 200\n        body: &person";
    let mut cases: Vec<(String, &str, &str, &str)> = vec![(
        curp.replacen("case_insensitive: true", "case_insensitive: yes", 1),
        "curpv5.yaml",
        "case_insensitive: yes",
        "case_insensitive",
    )];
    for (value, needle) in [
        ("status: \"200\"", "status: \"200\""),
        ("status: 200.0", "status: 200.0"),
        ("status: 2_00", "status: 2_00"),
        ("status: 200\n        latency: 2 s", "latency: 2 s"),
        ("status: 200\n        latency: 1_000ms", "latency: 1_000ms"),
        ("status: 200\n        latency: PT2S", "latency: PT2S"),
        ("status: 200\n        latency: 250", "latency: 250"),
        ("status: 200\n        headers: {X-Note: ~}", "X-Note: ~"),
    ] {
        let field = if needle.starts_with("status") {
            "endpoints.bycurp.scenarios.success.status"
        } else if needle.starts_with("latency") {
            "endpoints.bycurp.scenarios.success.latency"
        } else {
            "endpoints.bycurp.scenarios.success.headers.X-Note"
        };
        cases.push((
            curp.replacen(
                success,
                &format!("        {value}\n        body: &person"),
                1,
            ),
            "curpv5.yaml",
            needle,
            field,
        ));
    }
    let nss = shipped("scenarios", "nss.yaml");
    for v in ["no", "Off", "false", "2.0", "\"2\"", "010", "1e0"] {
        cases.push((
            nss.replacen(
                "  attempts_per_day: 2",
                &format!("  attempts_per_day: {v}"),
                1,
            ),
            "nss.yaml",
            "attempts_per_day:",
            "settings.attempts_per_day",
        ));
    }
    let asy = shipped("scenarios", "async.yaml");
    for v in ["2", "~", "2 s", "PT2S", "1_000ms"] {
        cases.push((
            asy.replacen(
                "  processing_delay: 2s",
                &format!("  processing_delay: {v}"),
                1,
            ),
            "async.yaml",
            "processing_delay:",
            "settings.processing_delay",
        ));
    }
    let tabbed = curp.replacen(success, "        status: 200\n\tbody: &person", 1);
    for (text, file, needle, field) in cases {
        let dir = folder_with("sw", file, &text);
        let _g = RemovedOnDrop(dir.clone());
        let (ok, err) = check(&dir, &[]);
        assert!(!ok, "{needle} accepted");
        refused_at(&err, file, line_of(&text, needle), field);
    }
    // A tab in the indentation: the parser's own message, at its line.
    let dir = folder_with("tab", "curpv5.yaml", &tabbed);
    let _g = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    let line = line_of(&tabbed, "\tbody:");
    assert!(
        !ok && err.contains(&format!("curpv5.yaml:{line}:1: ")) && err.contains("tab"),
        "{err}"
    );
    // The limits' documented "off": accepted.
    for v in ["off", "~", "", "null"] {
        let dir = folder_with(
            "off",
            "nss.yaml",
            &nss.replacen(
                "  attempts_per_day: 2",
                &format!("  attempts_per_day: {v}"),
                1,
            ),
        );
        let _g = RemovedOnDrop(dir.clone());
        let (ok, err) = check(&dir, &[]);
        assert!(ok, "attempts_per_day: {v:?} refused: {err}");
    }
}

// README, The scenario files: errors are refused "with file, line and
// field", `.inf` among them (JSON has neither it nor `.nan`). In a list's
// second entry it is named by its index, `list[1]`, at its own line, not
// at the quoted `".inf"` text the first entry holds.
#[test]
fn a_value_json_cannot_carry_is_named_by_its_lists_index() {
    probe_refused_at(
        "inf-index",
        "        body:\n          list:\n            - \".inf\"\n            - .inf\n",
        "            - .inf",
        "endpoints.bycurp.scenarios.probe.body.list[1]",
    );
}

// CRLF line endings (a Windows editor): read, and an error points at the
// right line.
#[test]
fn crlf_files_load_and_their_errors_name_the_line() {
    let text =
        format!("- curp: {MEGR}\r\n  names: A\r\n- curp: TALE710903HZSPRS06\r\n  status: ZZ\r\n");
    let dir = folder_with("crlf", "personas.yaml", &text);
    let _g = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(!ok);
    refused_at(&err, "personas.yaml", 4, "[1].status");
    let good = shipped("scenarios", "curpv5.yaml").replace('\n', "\r\n");
    let dir = folder_with("crlf-ok", "curpv5.yaml", &good);
    let _g2 = RemovedOnDrop(dir.clone());
    assert!(check(&dir, &[]).0);
}

// What a body answers, through the binary: YAML 1.2's reading of the
// Norway words (text), `True`/`FALSE` (booleans), dates (text), nulls,
// numbers (`0x1F` 31, `+200` 200, `010` and `1_000` text), single versus
// double quotes, block scalars with their trailing newline (`|`, `>`,
// `|-`, `|+`), anchors and aliases, flow style with a comment inside, a
// quoted "on" key.
#[test]
fn a_body_answers_what_yaml_1_2_reads() {
    let lines = concat!(
        "        description: x\n",
        "        status: 200\n",
        "        body:\n",
        "          norway: {a: no, b: yes, c: on, d: off, e: y, f: n, g: NO, h: True, i: FALSE}\n",
        "          numbers: {a: 010, b: 0x1F, c: 1_000, d: 1e3, e: +200, f: 0o17, g: -.nan}\n",
        "          dates: {a: 2026-01-01, b: 2026-01-01T00:00:00Z}\n",
        "          nulls: {a: ~, b: null, c: Null, d: , e: \"\"}\n",
        "          quotes: {single: '\\n', double: \"\\n\", esc: \"\\u00e9\\t\", apos: 'it''s', \"on\": 1}\n",
        "          lit: |\n",
        "            line1\n",
        "            line2\n",
        "          fold: >\n",
        "            a\n",
        "            b\n",
        "          strip: |-\n",
        "            z\n",
        "          keep: |+\n",
        "            k\n",
        "\n",
        "          anchor: &x {k: [1, {m: 2}]}\n",
        "          alias: *x\n",
        "          flow: {a: 1, # a comment\n",
        "            b: 2}\n",
    );
    let dir = folder_with("body", "curpv5.yaml", &with_probe(lines));
    let _g = RemovedOnDrop(dir.clone());
    assert!(check(&dir, &[]).0, "{}", check(&dir, &[]).1);
    let served = Served::start(&["--port", "0", "--scenarios", dir.to_str().unwrap()], &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(served.post(
        "/api/curp/bycurp",
        &[("apikey", "k"), ("X-Sandbox-Scenario", "probe")],
        json!({"curp": "PXNE660720HMCXTN06"}),
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({
            "norway": {"a": "no", "b": "yes", "c": "on", "d": "off", "e": "y", "f": "n", "g": "NO", "h": true, "i": false},
            "numbers": {"a": "010", "b": 31, "c": "1_000", "d": 1000.0, "e": 200, "f": 15, "g": "-.nan"},
            "dates": {"a": "2026-01-01", "b": "2026-01-01T00:00:00Z"},
            "nulls": {"a": null, "b": null, "c": null, "d": null, "e": ""},
            "quotes": {"single": "\\n", "double": "\n", "esc": "é\t", "apos": "it's", "on": 1},
            "lit": "line1\nline2\n",
            "fold": "a b\n",
            "strip": "z",
            "keep": "k\n\n",
            "anchor": {"k": [1, {"m": 2}]},
            "alias": {"k": [1, {"m": 2}]},
            "flow": {"a": 1, "b": 2}
        })
    );
}

// A header value from a block scalar keeps its newline, which no header
// can carry: refused at load, at the header, not dropped at answer time.
#[test]
fn a_block_scalar_header_with_its_newline_is_refused_at_its_line() {
    let text = with_probe("        description: x\n        status: 200\n        headers:\n          X-Note: |\n            hello\n        body: {}\n");
    let dir = folder_with("hdr-block", "curpv5.yaml", &text);
    let _g = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(!ok);
    let line = text.lines().position(|l| l.contains("X-Note: |")).unwrap() + 1;
    refused_at(
        &err,
        "curpv5.yaml",
        line,
        "endpoints.bycurp.scenarios.probe.headers.X-Note",
    );
    // … and `serve` refuses to start with the same line.
    let (ok, _, err) = run(&["serve", "--port", "0", "--scenarios", dir.to_str().unwrap()]);
    assert!(
        !ok && err.contains(&format!("curpv5.yaml:{line}:")),
        "{err}"
    );
}
