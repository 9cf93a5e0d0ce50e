//! Kiban Link — IMSS NSS by CURP (seed 000): `POST /api/v1/imss/nss` (and
//! v2), the test cases at `GET …/nss/test_case`, and the history of past
//! executions at `GET …/nss/{id}` and `GET …/nss?page=&itemsPerPage=`.
//!
//! Kiban answers every execution in one envelope (`id`, `createdAt`,
//! `finishedAt`, `duration`, `status`, `request`, `response`) and its
//! validation errors as `{"field": "CODE; detail"}`. Its sandbox answers the
//! documented test cases by `?testCase=NAME` or `?testCaseId=ID`; without
//! one, this sandbox takes the realistic path (the person's NSS, a per-CURP
//! daily counter) unless `--strict-sandbox` asks for Kiban's 400.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::HeaderName;

use rand::Rng;
use serde_json::{json, Map, Value};

use crate::curp::{self, Renapo};
use crate::engine::counters::Window;
use crate::engine::ledger::{Ledger, Share};
use crate::engine::model::{self, Scenario};
use crate::engine::provider::{Call, Provider, Selected};
use crate::engine::template::Vars;
use crate::request::{Field, Request};
use crate::time::Timestamp;

/// The credential header, parsed once.
const API_KEY: HeaderName = HeaderName::from_static("x-api-key");

pub struct Nss {
    /// The bytes every namespace's history holds together.
    kept: Arc<Ledger>,
}

impl Default for Nss {
    fn default() -> Nss {
        Nss {
            kept: Ledger::new(
                HISTORY_BYTES_IN_ALL,
                HISTORY_BYTES_KEPT_WHATEVER_ELSE,
                16 << 10,
            ),
        }
    }
}

/// Bytes every namespace's history holds together at most, beyond each
/// one's first [`HISTORY_BYTES_KEPT_WHATEVER_ELSE`]: a history keeps as
/// many executions as the journal (`--journal-limit`), a few hundred bytes
/// each, and 1,025 full ones would hold about a gigabyte. Past it, a
/// history lets its own oldest go, as at its own bound.
const HISTORY_BYTES_IN_ALL: usize = 64 << 20;

/// Bytes a namespace's history holds whatever the others hold: about a
/// hundred executions.
const HISTORY_BYTES_KEPT_WHATEVER_ELSE: usize = 64 << 10;

/// The CURP of the document's success example, for scenarios forced on a
/// request without a usable CURP and without one of their own in `data`.
const EXAMPLE_CURP: &str = "ABCD570805HYNHLC52";

/// Go's zero `time.Time`, which Kiban prints as `finishedAt` for an
/// execution that never finished.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The provider's id, which is also the key of its state in the namespace.
const ID: &str = "nss";

/// Queries of one CURP a day, as the document's "Attempts exceeded" says:
/// "maximum two per day" (`settings.attempts_per_day` in the file changes it).
const ATTEMPTS_PER_DAY: u64 = 2;

/// What `origin` the listed test cases carry (the document does not say).
const TEST_CASE_ORIGIN: &str = "api";

/// Paging errors, in Kiban's `"CODE; detail"` style (the curp messages of
/// the document, applied to the paging fields).
const REQUIRED: &str = "REQUIRED_FIELD_ERROR; EMPTY_ERROR; can't be empty";

/// A paging field that is not a whole number of 1 or more.
fn invalid_format(name: &str) -> String {
    format!("FORMAT_ERROR; invalid {name} format")
}

/// How long a live execution that reached IMSS takes, in microseconds: the
/// document's examples take 16 to 23 seconds; a sandbox answers faster.
const WORK_MICROS: std::ops::RangeInclusive<u64> = 1_500_000..=6_000_000;

/// Past executions of one namespace: each answered envelope as it was
/// sent, with its id, oldest first. Recording one is constant time (this
/// runs on every query); finding one by id scans from the newest (the
/// execution route, which a client calls once per id).
#[derive(Default)]
struct History {
    /// Ids and envelopes, oldest first: copies, not shares of the answers,
    /// so that the oldest one's buffers can carry the next.
    entries: VecDeque<(String, Vec<u8>)>,
    /// What the entries hold ([`held`]), and the history's part of what
    /// every namespace's may hold together, from its first execution on.
    held: usize,
    share: Option<Share>,
}

/// The largest buffer an execution pushed out of a history lends the next.
const KEEP_AT_MOST: usize = 4 * 1024;

/// The memory an execution holds in a history: its place and its buffers.
fn held((id, body): &(String, Vec<u8>)) -> usize {
    std::mem::size_of::<(String, Vec<u8>)>() + id.capacity() + body.capacity()
}

impl History {
    /// Keeps an answered envelope. A `fresh` id was just made and cannot be
    /// kept already; the test cases answer with the document's fixed ids,
    /// and the same id is the same execution, so the newest answer replaces
    /// the one kept (a rare case, and the only one that scans). A full
    /// history writes the newest into the oldest's buffers: it allocates
    /// nothing, and no worker frees what the other allocated.
    /// Past what its share of `ledger` (every namespace's histories) lets
    /// this one hold, its own oldest go too (the newest is kept whatever
    /// its size).
    fn record(&mut self, id: &str, body: &[u8], fresh: bool, limit: usize, ledger: &Arc<Ledger>) {
        if !fresh {
            self.entries.retain(|(kept, _)| kept != id);
            self.held = self.entries.iter().map(held).sum();
        }
        if limit == 0 {
            // `--journal-limit 0`: nothing is kept, the history neither.
            self.entries.clear();
            self.held = 0;
            return;
        }
        let mut oldest = None;
        while self.entries.len() >= limit {
            oldest = self.pop_front();
        }
        // Buffers over 4 KB are freed instead: one large execution must not
        // make every later one as large.
        let (mut kept_id, mut kept_body) = oldest
            .filter(|(_, body)| body.capacity() <= KEEP_AT_MOST)
            .unwrap_or_default();
        kept_id.clear();
        kept_id.push_str(id);
        kept_body.clear();
        kept_body.extend_from_slice(body);
        let entry = (kept_id, kept_body);
        self.held += held(&entry);
        self.entries.push_back(entry);
        let entries = &mut self.entries;
        let share = self.share.get_or_insert_with(|| ledger.share());
        share.fit(&mut self.held, entries.len(), || {
            entries.pop_front().as_ref().map_or(0, held)
        });
    }

    fn pop_front(&mut self) -> Option<(String, Vec<u8>)> {
        let e = self.entries.pop_front()?;
        self.held -= held(&e);
        Some(e)
    }

    fn envelope(&self, id: &str) -> Option<Value> {
        self.entries
            .iter()
            .rev()
            .find(|(kept, _)| same_object_id(kept, id))
            .and_then(|(_, b)| serde_json::from_slice(b).ok())
    }
}

/// Whether two ObjectIds in hex are one: Kiban reads them in either case.
fn same_object_id(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The one field `finish` needs from an answered envelope.
#[derive(serde::Deserialize)]
struct IdOnly {
    id: String,
}

impl Provider for Nss {
    fn id(&self) -> &'static str {
        ID
    }

    fn yaml(&self) -> &'static str {
        include_str!("../../scenarios/nss.yaml")
    }

    fn endpoints(&self) -> &'static [&'static str] {
        &["query", "test_cases", "execution", "history"]
    }

    fn data_keys(&self) -> &'static [&'static str] {
        &[
            "test_case_id",
            "test_case_created_at",
            "id",
            "created_at",
            "finished_at",
            "duration",
            "curp",
            "nss",
        ]
    }

    fn data_numbers(&self) -> &'static [&'static str] {
        &["duration"]
    }

    fn variables(&self) -> &'static [&'static str] {
        &[
            "id",
            "created_at",
            "finished_at",
            "duration",
            "curp",
            "nss",
            "attempts_per_day",
            "test_cases",
            "execution",
            "current_page",
            "has_next_page",
            "items",
            "errors",
        ]
    }

    fn required_scenarios(&self, endpoint: &str) -> Vec<&'static str> {
        match endpoint {
            "query" => vec![
                "success",
                "not_found",
                "not_found2",
                "attempts_exceeded",
                "missing_field",
                "invalid_format",
                "test_case_not_found",
            ],
            "test_cases" => vec!["test_cases"],
            "execution" => vec!["found", "unknown_id"],
            "history" => vec!["page", "invalid_paging"],
            _ => Vec::new(),
        }
    }

    fn check_settings(&self, settings: &model::SettingsMap) -> Result<(), model::SettingsError> {
        model::check_limits(settings, &["attempts_per_day"], &[])
    }

    fn credential(&self, req: &Request) -> Option<String> {
        req.header_lossy(&API_KEY).map(Cow::into_owned)
    }

    fn curp(&self, endpoint: &str, req: &Request) -> Option<String> {
        // Kiban is written in Go, whose JSON decoder matches field names
        // without regard to case.
        (endpoint == "query")
            .then(|| req.field_ignore_case("curp").text())
            .flatten()
    }

    /// `?testCase=NAME` or `?testCaseId=ID`: step 2 of SPEC §3. The
    /// document's input checks come first: Kiban's sandbox answers nothing
    /// without a test case, so its documented 400s for a missing or
    /// malformed CURP are answers to requests that carry one (and a test
    /// run then catches a client that sends no CURP). A test case then
    /// answers with its canned execution, echoing the request's CURP.
    fn test_switch(&self, call: &mut Call<'_>) -> Option<Cow<'static, str>> {
        if call.endpoint_id() != "query" {
            return None;
        }
        let by_id = call.req.query("testCaseId");
        let by_name = call.req.query("testCase");
        if by_id.is_none() && by_name.is_none() {
            return None;
        }
        if let Some(failed) = input_check(call) {
            return Some(failed.into());
        }
        let found = match by_id {
            Some(id) => {
                let id = id.trim();
                test_cases(call)
                    .find(|(_, s)| {
                        s.data_str("test_case_id")
                            .is_some_and(|t| same_object_id(t, id))
                    })
                    .map(|(name, _)| name)
            }
            None => by_name.and_then(|n| {
                test_cases(call)
                    .find(|(name, _)| *name == n.trim())
                    .map(|(name, _)| name)
            }),
        };
        Some(found.map_or(Cow::Borrowed("test_case_not_found"), |name| {
            Cow::Owned(name.to_string())
        }))
    }

    fn realistic(&self, call: &mut Call<'_>) -> Cow<'static, str> {
        match call.endpoint_id() {
            "test_cases" => "test_cases".into(),
            "execution" => {
                let id = call.param("id").unwrap_or("").to_string();
                match execution(call, &id) {
                    Some(envelope) => {
                        call.keep_found(envelope);
                        "found".into()
                    }
                    None => "unknown_id".into(),
                }
            }
            "history" => {
                let paged = paging(call.req);
                let scenario = if paged.is_ok() {
                    "page"
                } else {
                    "invalid_paging"
                };
                call.keep_found(paged);
                scenario.into()
            }
            _ => query_outcome(call),
        }
    }

    fn vars(&self, call: &mut Call<'_>, scenario: &Scenario, vars: &mut Vars) {
        match call.endpoint_id() {
            "test_cases" => {
                let list: Vec<Value> = test_cases(call)
                    .map(|(name, s)| {
                        let at = s.data_str("test_case_created_at").unwrap_or("");
                        json!({
                            "id": s.data_str("test_case_id").unwrap_or(""),
                            "name": name,
                            "service": "imss",
                            "subService": "nss",
                            "origin": TEST_CASE_ORIGIN,
                            "createdAt": at,
                            "modifiedAt": at,
                        })
                    })
                    .collect();
                vars.set("test_cases", Value::Array(list));
            }
            "execution" => {
                let id = call.param("id").unwrap_or("").to_string();
                // Forced on an unknown id, `found` shows the document's
                // success example, so that the scenario still renders.
                let envelope = call
                    .take_found::<Value>()
                    .or_else(|| execution(call, &id))
                    .unwrap_or_else(|| documented_success(call));
                vars.set("execution", envelope);
            }
            "history" => history_vars(call, vars),
            _ => query_vars(call, scenario, vars),
        }
    }

    /// Keeps every execution envelope the query endpoint answered, so that
    /// the history routes can serve it.
    fn finish(&self, call: &mut Call<'_>, _scenario: &Scenario, status: u16, body: &Bytes) {
        if call.endpoint_id() != "query" || status != 200 {
            return;
        }
        // The id `vars` made, or the one the envelope states.
        let (id, fresh) = match call.made_id.take() {
            Some(id) => (id, true),
            None => match serde_json::from_slice::<IdOnly>(body) {
                Ok(IdOnly { id }) => (id, false),
                Err(_) => return,
            },
        };
        let limit = call.config.journal_limit;
        let (ns, generation) = (call.ns, call.generation);
        // Checked under the state lock, which a reset's clearing takes too:
        // an execution answered before a reset is not kept after it.
        ns.with_state::<History, _>(ID, |h| {
            if ns.is_current(generation) {
                h.record(&id, body, fresh, limit, &self.kept);
            }
        });
    }
}

/// The documented 400s on the CURP, in the document's order: missing (or
/// empty), then malformed. The format check is loose: the document's own
/// example `ABCD570805HYNHLC52` fails the strict CURP rules.
fn input_check(call: &Call<'_>) -> Option<&'static str> {
    let field = call.req.field_ignore_case("curp");
    match (&field, call.curp.as_deref()) {
        (Field::Missing | Field::Null, _) | (Field::Str(_), None) => Some("missing_field"),
        (_, Some(c)) if curp::is_loose(c) => None,
        _ => Some("invalid_format"),
    }
}

/// The realistic path of the query: input checks, Kiban's sandbox rule under
/// `--strict-sandbox`, the per-CURP daily counter, then the person's NSS.
fn query_outcome(call: &mut Call<'_>) -> Cow<'static, str> {
    if let Some(failed) = input_check(call) {
        return failed.into();
    }
    if call.config.strict_sandbox {
        return "test_case_not_found".into();
    }
    let limit = ("attempts_per_day", Some(ATTEMPTS_PER_DAY));
    if call.over_limit(limit, Window::Day, || {
        let curp = call.curp.as_deref().unwrap_or_default();
        format!("nss:curp:{curp}")
    }) {
        return "attempts_exceeded".into();
    }
    // A CURP RENAPO never issued (past Kiban's loose format check: a wrong
    // check digit, an impossible date) is the document's `not_found2`: "not
    // found in RENAPO". A person RENAPO knows without an NSS is `not_found`.
    let issued = call.curp.as_deref().map(|c| call.fixtures.domain.renapo(c));
    if issued != Some(Renapo::Found) {
        return "not_found2".into();
    }
    if call.person_or(EXAMPLE_CURP).nss.is_empty() {
        return "not_found".into();
    }
    "success".into()
}

/// The query endpoint's scenarios that are Kiban test cases, in file order.
fn test_cases<'c>(call: &'c Call<'_>) -> impl Iterator<Item = (&'c str, &'c Scenario)> {
    call.provider
        .endpoint("query")
        .into_iter()
        .flat_map(|e| e.scenarios.iter())
        .filter(|(_, s)| s.data_str("test_case_id").is_some())
        .map(|(name, s)| (name.as_str(), s))
}

fn query_vars(call: &mut Call<'_>, scenario: &Scenario, vars: &mut Vars) {
    let documented_curp = scenario.data_str("curp").unwrap_or(EXAMPLE_CURP);
    // The request's CURP is echoed in `request.curp`, test cases included:
    // a client can match the answer to what it sent.
    let curp = call
        .curp
        .clone()
        .filter(|c| curp::is_loose(c))
        .unwrap_or_else(|| documented_curp.to_string());
    vars.set("curp", curp.as_str());
    // The attempts-exceeded message states the daily limit: the document's
    // 2 unless the file sets another (off, it is the document's again).
    if scenario.uses(|v| v == "attempts_per_day") {
        // A test case is canned: the document's 2 whatever the file sets.
        let limit = match call.selected {
            Selected::TestSwitch => None,
            _ => call
                .provider
                .limit("attempts_per_day", Some(ATTEMPTS_PER_DAY)),
        };
        vars.set("attempts_per_day", limit.unwrap_or(ATTEMPTS_PER_DAY));
    }
    let documented_duration = scenario.data.get("duration").and_then(Value::as_u64);
    let documented_finish = scenario.data_str("finished_at");

    if call.selected == Selected::TestSwitch {
        // Kiban's test cases are canned: the document's ids, times and NSS.
        vars.set("id", scenario.data_str("id").unwrap_or(""))
            .set("created_at", scenario.data_str("created_at").unwrap_or(""))
            .set("finished_at", documented_finish.unwrap_or(GO_ZERO_TIME))
            .set("duration", documented_duration.unwrap_or(0))
            .set("nss", scenario.data_str("nss").unwrap_or(""));
        return;
    }

    // A live execution: a fresh ObjectId whose first 8 hex digits are the
    // creation time's Unix seconds (as in every id of the document), the
    // sandbox clock, and the document's Go zero `finishedAt` and zero
    // `duration` kept where the example has them.
    let created = call.now;
    let drawn = if documented_duration == Some(0) {
        0
    } else {
        call.rng("nss-duration").random_range(WORK_MICROS)
    };
    // At the clock's last second the work ends with it.
    let end = created.plus_on_clock(Duration::from_micros(drawn));
    let work = u64::try_from(end.since(created).as_micros()).unwrap_or(drawn);
    let finished = match documented_finish {
        Some(GO_ZERO_TIME) => GO_ZERO_TIME.to_string(),
        _ => end.to_mx_rfc3339_go(),
    };
    let id = object_id(call, created);
    vars.set("id", &id)
        .set_with("created_at", |out| created.write_mx_rfc3339_go(out))
        .set("finished_at", finished)
        .set("duration", work / 1000)
        .set(
            "nss",
            super::common::stated_nss(&call.person_or(documented_curp)),
        );
    call.made_id = Some(id);
}

/// A MongoDB ObjectId: 4 bytes of Unix seconds, 8 random bytes (replayable
/// with `--seed`).
fn object_id(call: &Call<'_>, at: Timestamp) -> String {
    let secs = at
        .micros()
        .div_euclid(1_000_000)
        .clamp(0, i64::from(u32::MAX)) as u32;
    let mut id = format!("{secs:08x}");
    call.write_hex("nss-id", 16, &mut id);
    id
}

/// The document's success example, as a full envelope.
fn documented_success(call: &Call<'_>) -> Value {
    let Some(s) = call
        .provider
        .endpoint("query")
        .and_then(|e| e.scenario("success"))
    else {
        return Value::Null;
    };
    let text = |k: &str| s.data_str(k).unwrap_or("");
    json!({
        "id": text("id"),
        "createdAt": text("created_at"),
        "finishedAt": text("finished_at"),
        "duration": s.data.get("duration").cloned().unwrap_or(Value::from(0)),
        "status": "SUCCESS",
        "request": {"curp": text("curp")},
        "response": {"status": "FOUND", "nss": text("nss")},
    })
}

/// The newest execution with this id in the namespace's history.
fn execution(call: &Call<'_>, id: &str) -> Option<Value> {
    call.ns.with_state::<History, _>(ID, |h| h.envelope(id))
}

/// The page and its size, or the 400's body.
type Paging = Result<(u64, u64), Map<String, Value>>;

/// `page` and `itemsPerPage`, both required positive integers; otherwise
/// the body of the 400, one entry per field at fault.
fn paging(req: &Request) -> Paging {
    let mut errors = Map::new();
    let mut read = |name: &str| -> Option<u64> {
        match req.query(name).map(str::trim) {
            None | Some("") => {
                errors.insert(name.into(), REQUIRED.into());
                None
            }
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    errors.insert(name.into(), invalid_format(name).into());
                    None
                }
            },
        }
    };
    let page = read("page");
    let per_page = read("itemsPerPage");
    match (page, per_page) {
        (Some(p), Some(n)) => Ok((p, n)),
        _ => Err(errors),
    }
}

fn history_vars(call: &mut Call<'_>, vars: &mut Vars) {
    let paged = call.take_found::<Paging>();
    let (page, per_page) = match paged.unwrap_or_else(|| paging(call.req)) {
        Ok(p) => {
            // Forced on good paging, `invalid_paging` names both fields.
            let mut all = Map::new();
            all.insert("page".into(), REQUIRED.into());
            all.insert("itemsPerPage".into(), REQUIRED.into());
            vars.set("errors", Value::Object(all));
            p
        }
        Err(errors) => {
            vars.set("errors", Value::Object(errors));
            // Forced `page` on bad paging shows the first page of ten.
            (1, 10)
        }
    };
    // The page's envelopes are copied under the namespace's lock, which
    // every nss query takes to keep its answer, and parsed after it.
    let (bodies, has_next) = call.ns.with_state::<History, _>(ID, |h| {
        let skip = (page - 1).saturating_mul(per_page);
        let bodies: Vec<Vec<u8>> = h
            .entries
            .iter()
            .rev()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(per_page).unwrap_or(usize::MAX))
            .map(|(_, body)| body.clone())
            .collect();
        let shown = skip.saturating_add(per_page);
        (bodies, (h.entries.len() as u64) > shown)
    });
    let items: Vec<Value> = bodies
        .iter()
        .filter_map(|body| serde_json::from_slice::<Value>(body).ok())
        .map(|mut item| {
            if let Some(o) = item.as_object_mut() {
                o.shift_remove("request");
            }
            item
        })
        .collect();
    vars.set("current_page", page)
        .set("has_next_page", has_next)
        .set("items", Value::Array(items));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger that never makes a history let go.
    fn unbounded() -> Arc<Ledger> {
        Ledger::new(usize::MAX, 0, 1)
    }

    fn body(n: u32) -> Vec<u8> {
        format!(r#"{{"n":{n}}}"#).into_bytes()
    }

    #[test]
    fn a_full_history_reuses_the_oldest_buffers_for_the_newest() {
        let mut h = History::default();
        h.record(
            "a-long-id-of-the-first",
            br#"{"long":"xxxxxxxxxxxxxxxx"}"#,
            true,
            1,
            &unbounded(),
        );
        h.record("b", &body(1), true, 1, &unbounded());
        assert_eq!(h.entries.len(), 1);
        assert_eq!(h.entries[0].0, "b");
        assert_eq!(h.envelope("b"), Some(serde_json::json!({"n": 1})));
        assert_eq!(h.envelope("a-long-id-of-the-first"), None);
    }

    #[test]
    fn history_is_bounded_and_a_fixed_id_is_replaced() {
        let mut h = History::default();
        for n in 0..5 {
            h.record(&format!("live{n}"), &body(n), true, 3, &unbounded());
        }
        let ids: Vec<&str> = h.entries.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["live2", "live3", "live4"], "the oldest went first");
        assert_eq!(h.envelope("live0"), None);
        // The document's fixed id answered twice is one execution, the newest.
        h.record("64f1058b902dd88975d011f4", &body(7), false, 3, &unbounded());
        h.record("64f1058b902dd88975d011f4", &body(8), false, 3, &unbounded());
        let ids: Vec<&str> = h.entries.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["live3", "live4", "64f1058b902dd88975d011f4"]);
        assert_eq!(
            h.envelope("64f1058b902dd88975d011f4"),
            Some(serde_json::json!({"n": 8}))
        );
    }

    #[test]
    fn every_namespace_s_histories_together_are_bounded_too() {
        let mut one = History::default();
        one.record("x0", &body(0), true, 1, &unbounded());
        let size = one.held;
        // Room for 10 in all, 3 each whatever the others hold.
        let ledger = Ledger::new(10 * size, 3 * size, 1);
        let (mut full, mut other) = (History::default(), History::default());
        for n in 0..10 {
            full.record(&format!("x{n}"), &body(n), true, 100, &ledger);
        }
        assert_eq!(full.entries.len(), 10);
        for n in 0..5 {
            other.record(&format!("y{n}"), &body(n), true, 100, &ledger);
        }
        let ids = |h: &History| {
            h.entries
                .iter()
                .map(|(id, _)| id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&other), ["y2", "y3", "y4"], "its floor, the newest");
        // The full one, past its floor, lets its own oldest go as well.
        full.record("x0", &body(0), true, 100, &ledger);
        assert_eq!((full.entries.len(), ids(&full)[0].as_str()), (10, "x1"));
        // An execution larger than the floor is kept alone, the newest.
        other.record("big", &vec![b' '; 10 * size], true, 100, &ledger);
        assert_eq!(ids(&other), ["big"]);
        assert_eq!(other.envelope("y4"), None);
        // A fixed id answered again, and --journal-limit 0, count right.
        other.record("y5", &body(5), false, 100, &ledger);
        assert_eq!(ids(&other), ["y5"], "big was past the room");
        other.record("y5", &body(7), false, 100, &ledger);
        assert_eq!((ids(&other), other.held), (vec!["y5".to_string()], size));
        other.record("y6", &body(6), true, 0, &ledger);
        assert_eq!((other.entries.len(), other.held), (0, 0));
        drop((full, other));
        assert_eq!(
            ledger.taken(),
            0,
            "dropped (a reset), every share given back"
        );
        // A history whose executions shrink leaves the room to the others.
        // (Buffers over 4 KB are not carried over to the next execution.)
        let roomy = unbounded();
        let mut shrinking = History::default();
        for n in 0..3 {
            shrinking.record(&format!("z{n}"), &[b' '; 5_000], true, 3, &roomy);
        }
        assert!(roomy.taken() > 15_000);
        for n in 0..3 {
            shrinking.record(&format!("z{n}"), &body(n), true, 3, &roomy);
        }
        assert_eq!(shrinking.held, 3 * size);
        assert_eq!(roomy.taken(), 3 * size + 1, "what it holds and one more");
    }
}
