//! The bounds a user's YAML meets before it is parsed (flow depth, alias
//! expansion, keys as the loaders read them) and the readings of `~` and
//! of line endings: what they refuse, and what they must not.

use std::path::Path;
use std::time::Duration;

use super::yaml_gotchas::{check, folder_with, shipped, with_probe};
use crate::common::{temp_dir, RemovedOnDrop, Resp, Sandbox};
use mxid_sandbox::config::Source;
use mxid_sandbox::Config;
use serde_json::{json, Value};

/// A probe scenario answering 200 with `body` (written on its line).
fn probe_body(body: &str) -> String {
    with_probe(&format!(
        "        description: x\n        status: 200\n        body: {body}\n"
    ))
}

/// `check` of a folder whose curpv5.yaml holds `probe_body(body)`.
fn check_body(tag: &str, body: &str) -> (bool, String) {
    let dir = folder_with(tag, "curpv5.yaml", &probe_body(body));
    let _gone = RemovedOnDrop(dir.clone());
    check(&dir, &[])
}

/// What the `probe` scenario answers, served from `dir`: its JSON, a 200.
async fn probe_answer(dir: &Path) -> Value {
    let r = probe_response(dir).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The `probe` scenario's answer, served from `dir`.
async fn probe_response(dir: &Path) -> Resp {
    let sb = Sandbox::start_with(Config {
        scenarios: Source::Dir(dir.to_path_buf()),
        ..crate::common::config()
    })
    .await;
    let r = sb
        .post(
            "/api/curp/bycurp",
            &[("ApiKey", "k"), ("X-Sandbox-Scenario", "probe")],
            json!({"curp": "PXNE660720HMCXTN06"}),
        )
        .await;
    sb.stop().await;
    r
}

/// The shipped credentials file with `from` replaced by `to`.
fn credentials_with(from: &str, to: &str) -> String {
    let s = shipped("fixtures", "credentials.yaml");
    assert!(s.contains(from), "{from}");
    s.replacen(from, to, 1)
}

// =============================================================================
// The bounds, and what they must not refuse
// =============================================================================

// README, The scenario files: flow collections "may nest at most 128
// deep" before the file is parsed. A quote inside a plain scalar
// (`description: it 's`, valid YAML) is text, not the start of a quoted
// scalar: the brackets after it are counted (taken for a quote, it hid
// every bracket to the end of the file, and 40,000 levels took the parser
// 18 s).
#[test]
fn a_quote_inside_a_plain_scalar_hides_deep_brackets_from_the_depth_bound() {
    let n = 40_000;
    for (tag, description) in [("apos", "it 's a probe"), ("dquote", "say \"hi")] {
        let text = with_probe(&format!(
            "        description: {description}\n        status: 200\n        body: {}1{}\n",
            "[".repeat(n),
            "]".repeat(n)
        ));
        let dir = folder_with(&format!("r2-hidden-{tag}"), "curpv5.yaml", &text);
        let _gone = RemovedOnDrop(dir.clone());
        let run = super::yaml_cost::check_bounded(&dir, Duration::from_secs(5));
        let (ended, took) = (run.ended, run.cpu);
        assert_eq!(
            ended,
            Some(false),
            "{tag}: check of an 80 KB file of {n} nested brackets after a plain scalar with a quote: ended {ended:?} after {took:?} of CPU time (None: killed at 5 s)"
        );
    }
}

// README, The scenario files: "its aliases may expand it to at most 8 MB
// of values (or twice its own size, when that is more) and 262,144 values
// (or as many as it has bytes, when that is more)", at those numbers: just
// within each bound passes, just past it is refused.
#[test]
fn the_alias_bounds_are_262144_values_and_8_mb_or_twice_the_file() {
    use mxid_sandbox::yaml::{replay, EXPANDS_TOO_FAR};
    let refused = |t: &str| replay(t).is_err_and(|e| e.to_string().contains(EXPANDS_TOO_FAR));
    let aliases = |k: usize| vec!["*a"; k].join(",");
    // Values: an anchored list of 1,000 ones (1,001 values a copy):
    // 4 + 1,001 × 259 = 259,263 values; 4 + 1,001 × 263 = 263,267.
    let list = format!("[{}1]", "1,".repeat(999));
    let values = |k: usize| format!("a: &a {list}\nb: [{}]\n", aliases(k));
    assert!(!refused(&values(258)), "259,263 values refused");
    assert!(refused(&values(262)), "263,267 values taken");
    // Bytes: a 100,000-byte string, copied: 8,300,002 and 8,500,002 bytes.
    let big = "x".repeat(100_000);
    let bytes = |k: usize| format!("a: &a \"{big}\"\nb: [{}]\n", aliases(k));
    assert!(!refused(&bytes(82)), "8,300,002 bytes refused");
    assert!(refused(&bytes(84)), "8,500,002 bytes taken");
    // Twice the file's own size, when that is more than 8 MB: a 4.5 MB
    // string used once more is 9 MB (within 2 × 4.5 MB), twice more 13.5 MB.
    let huge = "y".repeat(4_500_000);
    let once = format!("a: &a \"{huge}\"\nb: *a\n");
    assert!(!refused(&once), "a file's own size twice refused");
    let twice = format!("a: &a \"{huge}\"\nb: [*a, *a]\n");
    assert!(refused(&twice), "three times the file's size taken");
}

// Every value counts toward the aliases' bound, every byte too: 600
// aliases of a list of 600 empty lists, empty mappings or nulls are
// 360,000 values; 100 aliases of a mapping whose one key is 100 KB are
// 10 MB of keys; a tagged value is a value (100 aliases of a tagged
// 128 KB string are 12.8 MB), refused by the bound, not once built.
#[test]
fn empty_collections_nulls_keys_and_tagged_values_count_toward_the_alias_bound() {
    use mxid_sandbox::yaml::{replay, EXPANDS_TOO_FAR};
    let refused = |t: &str| replay(t).is_err_and(|e| e.to_string().contains(EXPANDS_TOO_FAR));
    for leaf in ["[]", "{}", "~"] {
        let text = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec![leaf; 600].join(", "),
            vec!["*a"; 600].join(", ")
        );
        assert!(refused(&text), "600 × 600 of {leaf} taken");
    }
    let long_key = format!(
        "a: &a\n  ? {}\n  : 0\nb: [{}]\n",
        "k".repeat(100_000),
        vec!["*a"; 100].join(", ")
    );
    assert!(refused(&long_key), "100 aliases of a 100 KB key taken");
    let tagged = format!(
        "a: &a !t \"{}\"\nb: &b [{}]\nc: [{}]\n",
        "x".repeat(128 * 1024),
        ["*a"; 10].join(", "),
        ["*b"; 10].join(", ")
    );
    assert!(
        refused(&tagged),
        "100 aliases of a tagged 128 KB string taken"
    );
}

// The check for a key written twice keeps a mapping's keys in a set: a
// flat mapping of 80,000 keys checks in about the time the parse takes
// (comparing each key with every one before it took 39 s; 1.5 s before
// that check was added).
#[test]
fn the_bare_and_quoted_key_check_is_not_quadratic_in_a_mappings_keys() {
    let keys: String = (0..80_000)
        .map(|i| format!("            k{i:05}: 1\n"))
        .collect();
    let text = with_probe(&format!(
        "        description: x\n        status: 200\n        body:\n          m:\n{keys}"
    ));
    let dir = folder_with("r2-keys-flat", "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let run = super::yaml_cost::check_bounded(&dir, Duration::from_secs(15));
    let (ended, took) = (run.ended, run.cpu);
    assert_eq!(
        ended,
        Some(true),
        "check of a 2 MB file of 80,000 keys in one mapping: {ended:?} after {took:?} of CPU time"
    );
}

// README, The scenario files: "`1:` and `"1":`, or `~:` and `"~":`, are
// one key, as the loaders read every key as the text it is written with;
// `True:` and `"true":`, or `True:` and `true:`, are two". `True` is the
// text "True", `0x1` "0x1", `+1` "+1", `1.50` "1.50": keys the loaders
// keep apart are not refused, whether one is quoted or both are bare
// spellings of one YAML value (`~` and `null`, `0x10` and `16`, `1e3` and
// `1000.0`).
#[test]
fn keys_the_loaders_read_apart_are_not_refused_as_written_twice() {
    let mut refused = Vec::new();
    for body in [
        r#"{True: a, "true": b}"#,
        r#"{False: a, "false": b}"#,
        r#"{0x1: a, "1": b}"#,
        r#"{+1: a, "1": b}"#,
        r#"{0o7: a, "7": b}"#,
        r#"{1.50: a, "1.5": b}"#,
        "{True: a, true: b}",
        "{~: a, null: b}",
        "{null: a, Null: b}",
        "{0x10: a, 16: b}",
        "{1e3: a, 1000.0: b}",
    ] {
        let (ok, err) = check_body("r2-keys-apart", body);
        if !ok {
            refused.push(format!("{body}: {}", err.lines().next().unwrap_or("")));
        }
    }
    assert!(
        refused.is_empty(),
        "two keys the loaders read apart, refused as one: {refused:#?}"
    );
}

// The same reading, served: bare `~`, `True`, `true`, `0x10`, `1e3`, a
// date and `+1` are keys of that text in the answer.
#[tokio::test]
async fn a_body_answers_each_key_as_the_text_it_is_written_with() {
    let dir = folder_with(
        "r2-keys-text",
        "curpv5.yaml",
        &probe_body(r#"{~: a, True: b, true: c, 0x10: d, 1e3: e, 2024-01-01: f, +1: g, "1": h}"#),
    );
    let _gone = RemovedOnDrop(dir.clone());
    assert_eq!(
        probe_answer(&dir).await,
        json!({"~": "a", "True": "b", "true": "c", "0x10": "d", "1e3": "e", "2024-01-01": "f", "+1": "g", "1": "h"})
    );
}

// The other side: `null:`/`"null":`, `~:`/`"~":` and `1e3:`/`"1e3":` are
// one key to the loaders, and refused (compared as YAML values, a null key
// was never compared and `1e3` read "1000.0": the first was dropped
// without a word).
#[test]
fn null_and_float_keys_written_bare_and_quoted_are_refused() {
    let mut accepted = Vec::new();
    for body in [
        r#"{null: a, "null": b}"#,
        r#"{~: a, "~": b}"#,
        r#"{1e3: a, "1e3": b}"#,
    ] {
        let (ok, err) = check_body("r2-keys-one", body);
        if ok || !err.contains("duplicate") {
            accepted.push(format!("{body}: {}", err.trim()));
        }
    }
    assert!(
        accepted.is_empty(),
        "one key written bare and quoted, accepted (the first dropped): {accepted:#?}"
    );
}

// Served: the first value is dropped without a word.
#[tokio::test]
async fn a_null_key_written_bare_and_quoted_does_not_drop_a_value() {
    let dir = folder_with(
        "r2-null-key-served",
        "curpv5.yaml",
        &probe_body(r#"{null: a, "null": b}"#),
    );
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, _) = check(&dir, &[]);
    if ok {
        let body = probe_answer(&dir).await;
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(2),
            "accepted, and answered {body}: a value dropped"
        );
    }
}

// README, The scenario files: refused is "a credential written `~` or
// `null`, in `accept` or as a key of `reject` or `webhooks` (serde would
// read the text "~"; quoted, it is that text)": in every provider's
// `accept`, as a key of `reject`, as a key of `webhooks` in flow or block
// style; each with a message that says to quote it.
#[test]
fn a_credential_written_tilde_or_null_is_refused_and_told_to_quote_it() {
    let mut edits: Vec<(String, String)> = [
        "  accept: [sandbox-apikey]",
        "  accept: [sandbox-api-id]",
        "  accept: [sandbox-api-key]",
        "  accept: [pruebas, sandbox-token]",
    ]
    .iter()
    .map(|a| (a.to_string(), a.replace('[', "[null, ")))
    .collect();
    for (from, to) in [
        (
            "    invalid-apikey: invalid_credentials\n",
            "    invalid-apikey: invalid_credentials\n    ~: invalid_credentials\n",
        ),
        (
            "    invalid-apikey: invalid_credentials\n",
            "    invalid-apikey: invalid_credentials\n    null: invalid_credentials\n",
        ),
        (
            "  webhooks: {}",
            "  webhooks: {~: \"http://127.0.0.1:9/hook\"}",
        ),
        (
            "  webhooks: {}",
            "  webhooks: {null: \"http://127.0.0.1:9/hook\"}",
        ),
        (
            "  webhooks: {}",
            "  webhooks:\n    ~: \"http://127.0.0.1:9/hook\"\n    k: \"http://127.0.0.1:9/hook\"",
        ),
    ] {
        edits.push((from.to_string(), to.to_string()));
    }
    let mut accepted = Vec::new();
    for (from, to) in &edits {
        let dir = folder_with(
            "r2-cred-null",
            "credentials.yaml",
            &credentials_with(from, to),
        );
        let _gone = RemovedOnDrop(dir.clone());
        let (ok, err) = check(&dir, &[]);
        if ok {
            accepted.push(to.trim().to_string());
        } else if !err.contains("quote it") {
            accepted.push(format!("{}: refused without saying why: {err}", to.trim()));
        }
    }
    assert!(
        accepted.is_empty(),
        "credentials written ~ or null, accepted as the text: {accepted:#?}"
    );
}

// README, The scenario files: "the parser takes time that grows with the
// square of the depth". Nests at the bound cost the parser little: 500 of
// them, each deeper than serde's 128, are refused at once (at a bound of
// 1,000 they took 11 s), and serde refuses deeper ones anyway.
#[test]
fn many_nests_at_the_depth_bound_are_refused_quickly() {
    let nest = format!("          - {}1{}\n", "[".repeat(1000), "]".repeat(1000));
    let text = with_probe(&format!(
        "        description: x\n        status: 200\n        body:\n{}",
        nest.repeat(500)
    ));
    let dir = folder_with("r2-many-nests", "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let run = super::yaml_cost::check_bounded(&dir, Duration::from_secs(5));
    let (ended, took) = (run.ended, run.cpu);
    assert_eq!(
        ended,
        Some(false),
        "a 1 MB file of 1,000-deep nests: ended {ended:?} after {took:?} of CPU time (None: killed at 5 s)"
    );
}

// Brackets that are text nest nothing: a block scalar of 1,001 lines that
// each open a bracket (a log, `[WARN] …`, intervals `[0, 10)`), a list of
// 1,001 plain strings `range [0, 10)`, and a quote inside a plain scalar
// (`era: the '90s`) before a quoted scalar of brackets, all answer as
// written (counted as nesting, they were refused); so do 129 brackets
// after `''` in a quoted scalar, after a comma in a block plain scalar and
// in a plain scalar that starts `-` or `?`.
#[test]
fn brackets_in_block_and_plain_scalars_are_text_not_nesting() {
    let mut refused = Vec::new();
    let log: String = (0..1001)
        .map(|i| format!("            step {i} in [0, 10)\n"))
        .collect();
    let plain: String = (0..1001)
        .map(|i| format!("            - range {i} in [0, 10)\n"))
        .collect();
    for (tag, body) in [
        ("block", format!("          log: |\n{log}")),
        ("plain", format!("          ranges:\n{plain}")),
        // A quote in a plain scalar (`the '90s`) is taken for an opening
        // one: the quoted scalar after it is read as outside quotes.
        (
            "flipped",
            format!(
                "          era: the '90s\n          quoted: '{}'\n",
                "[".repeat(1001)
            ),
        ),
        // `''` inside a single-quoted scalar is a quote, not its end; a
        // `,` outside a flow collection is no separator; `-` or `?` before
        // a non-space starts a plain scalar, not an entry or a key.
        (
            "doubled-quote",
            format!("          k: ['it''s {}']\n", "[".repeat(129)),
        ),
        ("comma", format!("          k: x, {}\n", "[".repeat(129))),
        ("dash", format!("          k: -{}\n", "[".repeat(129))),
        ("question", format!("          k: ?{}\n", "[".repeat(129))),
    ] {
        let text = with_probe(&format!(
            "        description: x\n        status: 200\n        body:\n{body}"
        ));
        let dir = folder_with(&format!("r2-text-{tag}"), "curpv5.yaml", &text);
        let _gone = RemovedOnDrop(dir.clone());
        let (ok, err) = check(&dir, &[]);
        if !ok {
            refused.push(format!("{tag}: {}", err.lines().next().unwrap_or("")));
        }
    }
    assert!(
        refused.is_empty(),
        "brackets that are text refused as nesting: {refused:#?}"
    );
}

// README, The scenario files: "A placeholder written unquoted (`curp:
// {{curp}}`, a flow mapping to YAML, or `{{curp}}-001`) is refused with a
// message that says to quote it with the text around it": beside a
// quoted one on the same line, followed by text (block or flow), and
// wherever else it is written: a header value, a body list, a block list
// item, a whole body, a key, a value over several lines of a flow mapping.
#[test]
fn an_unquoted_placeholder_anywhere_is_told_to_quote_it() {
    let mut silent = Vec::new();
    for lines in [
        "        body: {a: \"{{curp}}\", b: {{curp}}}\n",
        "        body:\n          fullName: {{names}} {{first_surname}}\n",
        "        body:\n          reference: {{curp}}-001\n",
        "        body: {reference: {{curp}}-001}\n",
        "        headers:\n          X-Curp: {{curp}}\n        body: {}\n",
        "        body: [{{curp}}]\n",
        "        body:\n          - {{curp}}\n",
        "        body: {{curp}}\n",
        "        body:\n          {{curp}}: x\n",
        "        body: {\n          id:\n            {{curp}}\n        }\n",
    ] {
        let text = with_probe(&format!(
            "        description: x\n        status: 200\n{lines}"
        ));
        let dir = folder_with("r2-placeholder", "curpv5.yaml", &text);
        let _gone = RemovedOnDrop(dir.clone());
        let (ok, err) = check(&dir, &[]);
        assert!(!ok, "accepted: {lines}");
        // The message, past the folder's path.
        let msg = err.split("curpv5.yaml:").nth(1).unwrap_or(&err);
        if !msg.to_lowercase().contains("quote") {
            silent.push(format!(
                "{}: {}",
                lines.trim(),
                err.lines().next().unwrap_or("")
            ));
        }
    }
    assert!(silent.is_empty(), "no advice to quote: {silent:#?}");
}

// The advice is given only where it applies: a mapping where text belongs
// whose placeholder is quoted (`description: {a: "{{curp}}"}`) is refused
// without it, the mapping being the mistake.
#[test]
fn a_quoted_placeholder_in_a_misplaced_mapping_gets_no_quote_hint() {
    let text = with_probe("        description: {a: \"{{curp}}\"}\n        status: 200\n");
    let dir = folder_with("r2-no-hint", "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(!ok, "accepted");
    assert!(err.contains("invalid type: map"), "{err}");
    assert!(
        !err.contains("a placeholder is text"),
        "the placeholder is quoted, yet: {err}"
    );
}

// =============================================================================
// Files as users write them
// =============================================================================

// Every shipped file, copied into a user's folder, passes `check` (alone
// and all together): the pre-scans refuse none of them.
#[test]
fn every_shipped_file_copied_into_a_users_folder_passes_check() {
    for (folder, files) in [
        (
            "scenarios",
            &[
                "accuauth.yaml",
                "async.yaml",
                "curpv5.yaml",
                "nss.yaml",
                "validacurp.yaml",
            ][..],
        ),
        (
            "fixtures",
            &[
                "catalogs.yaml",
                "credentials.yaml",
                "names.yaml",
                "personas.yaml",
            ][..],
        ),
    ] {
        let all = temp_dir("r2-shipped-all");
        let _gone_all = RemovedOnDrop(all.clone());
        for file in files {
            let text = shipped(folder, file);
            std::fs::write(all.join(file), &text).unwrap();
            let dir = folder_with("r2-shipped", file, &text);
            let _gone = RemovedOnDrop(dir.clone());
            let (ok, err) = check(&dir, &[]);
            assert!(ok, "{folder}/{file}: {err}");
        }
        let (ok, err) = check(&all, &[]);
        assert!(ok, "{folder}: {err}");
    }
}

// Brackets and quotes where they are text: in quoted scalars, comments,
// URLs with a fragment, plain scalars with an apostrophe, quoted keys of a
// flow mapping, block scalars (short). Served as written.
#[tokio::test]
async fn brackets_and_quotes_that_are_text_are_read_as_written() {
    let deep = "[".repeat(1200);
    let text = with_probe(&format!(
        "        description: it's [x] — see http://x/#a {{b}}\n        status: 200\n        body:\n          lit: |\n            [[[ {{\n            it's open\n          folded: >\n            ]] [\n          quoted: \"{deep}\"\n          single: '{deep} it''s'\n          url: http://x/#a[b\n          flow: {{\"a[\": 1, 'b{{': [\"]]\", '}}']}}\n          # a comment {deep}\n"
    ));
    let dir = folder_with("r2-text-brackets", "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(ok, "{err}");
    let body = probe_answer(&dir).await;
    assert_eq!(body["lit"], "[[[ {\nit's open\n");
    assert_eq!(body["folded"], "]] [\n");
    assert_eq!(body["quoted"], deep.as_str());
    assert_eq!(body["single"], format!("{deep} it's"));
    assert_eq!(body["url"], "http://x/#a[b");
    assert_eq!(body["flow"], json!({"a[": 1, "b{": ["]]", "}"]}));
}

// An anchor used legitimately many times (1,000 aliases of a small body)
// is within the bounds.
#[test]
fn an_anchor_used_a_thousand_times_passes() {
    let uses: String = (0..1000).map(|i| format!("          u{i}: *p\n")).collect();
    let text = with_probe(&format!(
        "        description: x\n        status: 200\n        body:\n          p: &p {{curp: \"{{{{curp}}}}\", ok: true, list: [1, 2, 3]}}\n{uses}"
    ));
    let dir = folder_with("r2-many-aliases", "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(ok, "{err}");
}

// The same key text in different mappings, or in a sequence's mappings,
// is no duplicate; `1` and `1.0` are two keys.
#[tokio::test]
async fn keys_in_different_mappings_are_not_duplicates() {
    let dir = folder_with(
        "r2-keys-diff",
        "curpv5.yaml",
        &probe_body(r#"{a: {1: x}, b: {"1": y}, c: [{1: x}, {"1": y}], d: {1: x, 1.0: y}}"#),
    );
    let _gone = RemovedOnDrop(dir.clone());
    let (ok, err) = check(&dir, &[]);
    assert!(ok, "{err}");
    let body = probe_answer(&dir).await;
    assert_eq!(body["d"], json!({"1": "x", "1.0": "y"}));
    assert_eq!(body["c"], json!([{"1": "x"}, {"1": "y"}]));
}

// `accept: ["~"]` accepts the credential `~` under --strict-auth; a bare
// `~` is refused.
#[tokio::test]
async fn a_quoted_tilde_credential_is_accepted_under_strict_auth() {
    let dir = folder_with(
        "r2-accept-tilde",
        "credentials.yaml",
        &credentials_with("  accept: [sandbox-apikey]", "  accept: [\"~\"]"),
    );
    let _gone = RemovedOnDrop(dir.clone());
    let sb = Sandbox::start_with(Config {
        fixtures: Source::Dir(dir.clone()),
        strict_auth: true,
        ..crate::common::config()
    })
    .await;
    let curp = "PXNE660720HMCXTN06";
    let ok = sb
        .post(
            "/api/curp/bycurp",
            &[("ApiKey", "~")],
            json!({"curp": curp}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let other = sb
        .post(
            "/api/curp/bycurp",
            &[("ApiKey", "x")],
            json!({"curp": curp}),
        )
        .await;
    assert_ne!(other.status, 200, "{}", other.text());
    sb.stop().await;
    let bare = folder_with(
        "r2-accept-bare",
        "credentials.yaml",
        &credentials_with("  accept: [sandbox-apikey]", "  accept: [~]"),
    );
    let _gone2 = RemovedOnDrop(bare.clone());
    let (passed, stderr) = check(&bare, &[]);
    assert!(!passed);
    // The error names the list: serde's path ends at the provider.
    let said = "an entry of accept is null (~): quote it if it is that text";
    assert!(stderr.contains(said), "{stderr}");
}

// A lone CR or CRLF inside a quoted or block scalar reads as the LF file
// does: the body is unchanged.
#[tokio::test]
async fn cr_line_endings_leave_scalars_as_the_lf_file_reads_them() {
    let lf = with_probe(
        "        description: x\n        status: 200\n        body:\n          lit: |\n            one\n            two\n          dq: \"a\n            b\"\n          sq: 'c\n\n            d'\n          esc: \"x\\ry\"\n",
    );
    let mut answers = Vec::new();
    for (tag, text) in [
        ("lf", lf.clone()),
        ("cr", lf.replace('\n', "\r")),
        ("crlf", lf.replace('\n', "\r\n")),
    ] {
        let dir = folder_with(&format!("r2-cr-{tag}"), "curpv5.yaml", &text);
        let _gone = RemovedOnDrop(dir.clone());
        answers.push(probe_answer(&dir).await);
    }
    assert_eq!(answers[0]["lit"], "one\ntwo\n");
    assert_eq!(answers[0]["esc"], "x\ry");
    assert_eq!(answers[1], answers[0]);
    assert_eq!(answers[2], answers[0]);
}

// The alias bomb through mappings (not strings) is refused too.
#[test]
fn an_alias_bomb_of_mappings_is_refused() {
    let ten = |a: &str| {
        (0..10)
            .map(|i| format!("k{i}: *{a}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = with_probe(&format!(
        "        description: x\n        status: 200\n        body:\n          a: &a {{x: 1, y: 2, z: 3}}\n          b: &b {{{}}}\n          c: &c {{{}}}\n          d: &d {{{}}}\n          e: &e {{{}}}\n          f: &f {{{}}}\n          g: {{{}}}\n",
        ten("a"),
        ten("b"),
        ten("c"),
        ten("d"),
        ten("e"),
        ten("f")
    ));
    let dir = folder_with("r2-map-bomb", "curpv5.yaml", &text);
    let _gone = RemovedOnDrop(dir.clone());
    let run = super::yaml_cost::check_bounded(&dir, Duration::from_secs(20));
    let (ended, took) = (run.ended, run.cpu);
    assert_eq!(ended, Some(false), "after {took:?} of CPU time");
    // serde's own repetition limit or the expansion's bound.
    let (_, err) = check(&dir, &[]);
    assert!(
        err.contains("8 MB or 262,144") || err.contains("repetition limit"),
        "{err}"
    );
}

// --- HTTP ---------------------------------------------------------------------

// README "The scenario files": a body written as one string under a
// Content-Type of the scenario's own that is not JSON is sent as that text,
// its placeholders written as text (a gateway's HTML error page); the same
// string under no Content-Type, and an object under text/plain, are JSON.
#[tokio::test]
async fn a_string_body_under_a_content_type_of_its_own_is_sent_as_text() {
    let scenario = |ty: &str, body: &str| {
        with_probe(&format!(
            "        description: x\n        status: 502\n{ty}        body: {body}\n"
        ))
    };
    let html = "'<html><b>{{curp}}</b> \"502\" \\ {{scenario}}</html>'";
    let cases = [
        (
            scenario(
                "        headers: {Content-Type: text/html; charset=utf-8}\n",
                html,
            ),
            "text/html; charset=utf-8",
            r#"<html><b>PXNE660720HMCXTN06</b> "502" \ probe</html>"#,
        ),
        (
            scenario("", html),
            "application/json; charset=utf-8",
            r#""<html><b>PXNE660720HMCXTN06</b> \"502\" \\ probe</html>""#,
        ),
        (
            scenario(
                "        headers: {Content-Type: text/plain}\n",
                "{a: \"{{curp}}\"}",
            ),
            "text/plain",
            r#"{"a":"PXNE660720HMCXTN06"}"#,
        ),
        // The type's essence decides, not a "json" anywhere in it.
        (
            scenario(
                "        headers: {Content-Type: \"text/plain; profile=jsonish\"}\n",
                "'hi {{curp}}'",
            ),
            "text/plain; profile=jsonish",
            "hi PXNE660720HMCXTN06",
        ),
        (
            scenario(
                "        headers: {Content-Type: application/problem+json}\n",
                "'hi {{curp}}'",
            ),
            "application/problem+json",
            r#""hi PXNE660720HMCXTN06""#,
        ),
    ];
    for (i, (text, ty, body)) in cases.into_iter().enumerate() {
        let dir = folder_with(&format!("text-body-{i}"), "curpv5.yaml", &text);
        let _gone = RemovedOnDrop(dir.clone());
        let r = probe_response(&dir).await;
        assert_eq!(r.status, 502, "{}", r.text());
        assert_eq!(r.header("content-type"), Some(ty), "{i}");
        assert_eq!(r.text(), body, "{i}");
    }
}
