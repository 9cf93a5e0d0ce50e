//! Tu Identidad — Async Verification (seed 004): `POST
//! /api/AsyncVerication/{IneNominalList,RfcByCurp,NssByCurp}` create a
//! verification and answer its id; `GET …/verificationStatus` reads it; the
//! result is delivered to the customer's webhook. The timeline and the
//! delivery live in [`crate::jobs`]; this module checks input, picks the
//! outcome, and owns the webhook and verification admin routes.
//!
//! Like CURPv5, Tu Identidad's server matches paths and header names without
//! regard to case and takes JSON or form bodies. Errors are
//! `{"code": CODE, "message": TEXT}`.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::HeaderName;
use hyper::{Method, StatusCode};
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::curp::{self, Renapo};
use crate::engine::counters::Window;
use crate::engine::fixtures::{check_webhook_url, Fixtures, MAX_WEBHOOK_FIELD_BYTES};
use crate::engine::ledger::Refused;
use crate::engine::model::{self, ProviderDef, Scenario};
use crate::engine::namespace::Namespace;
use crate::engine::provider::{AdminCall, AdminRoute, BoxFuture, Call, Provider};
use crate::engine::template::Vars;
use crate::engine::{quoted, Defs, Reply, MAX_CREDENTIAL};
use crate::jobs::{
    self, Kind, NewVerification, Outcome, RedeliverError, Settings, Target, Warning, MAX_WEBHOOKS,
    MAX_WEBHOOK_BYTES_IN_ALL, WEBHOOKS_KEPT_WHATEVER_ELSE,
};
use crate::request::{sendable_header_value, Body, Request};

/// The credential header, parsed once.
const APIKEY: HeaderName = HeaderName::from_static("apikey");

#[derive(Default)]
pub struct AsyncVerification {
    /// The verifications every namespace holds together.
    held: Arc<jobs::Held>,
}

/// The CURP of the seed's examples: forced scenarios without a usable CURP
/// render with it.
const EXAMPLE_CURP: &str = "XAXA010101XXXXXX01";

/// The SAT's generic RFC for a person without one: what a success forced on
/// a person the SAT has not registered states.
const GENERIC_RFC: &str = "XAXX010101000";

/// The RFC an answer states for `person`: theirs, or [`GENERIC_RFC`].
fn stated_rfc(person: &curp::Person) -> &str {
    if person.rfc.is_empty() {
        GENERIC_RFC
    } else {
        &person.rfc
    }
}

const INE: &str = "ine_nominal_list";
const RFC: &str = "rfc_by_curp";
const NSS: &str = "nss_by_curp";
const STATUS: &str = "verification_status";

/// The setting of the per-CURP daily NssByCurp limit, and its default: the
/// document's NSS008 comes past two a day.
const NSS_PER_CURP_PER_DAY: &str = "nss_per_curp_per_day";
const NSS_PER_CURP_PER_DAY_DEFAULT: u64 = 2;

/// The INE credential models the seed lists.
const INE_TYPES: [&str; 6] = ["C", "D", "E", "F", "G", "H"];

const ADMIN_WEBHOOKS: &str = "/__admin/webhooks";
const ADMIN_WEBHOOK: &str = "/__admin/webhooks/{apikey}";
const ADMIN_DELIVERIES: &str = "/__admin/webhooks/deliveries";
const ADMIN_REDELIVER: &str = "/__admin/webhooks/deliveries/{verificationId}/redeliver";
const ADMIN_VERIFICATIONS: &str = "/__admin/verifications";

impl Provider for AsyncVerification {
    fn id(&self) -> &'static str {
        crate::jobs::STATE
    }

    fn yaml(&self) -> &'static str {
        include_str!("../../scenarios/async.yaml")
    }

    fn endpoints(&self) -> &'static [&'static str] {
        &[INE, RFC, NSS, STATUS]
    }

    fn data_keys(&self) -> &'static [&'static str] {
        &["outcome", "code", "message", "down"]
    }

    fn check_data(
        &self,
        endpoint: &str,
        status: StatusCode,
        data: &Map<String, Value>,
        _fixtures: &Fixtures,
    ) -> Result<(), (String, String)> {
        let text = |key: &str| data.get(key).and_then(Value::as_str);
        let outcome = text("outcome");
        if let Some(o) = outcome {
            let why = match o {
                _ if endpoint == STATUS => Some("verificationStatus creates no verification: an outcome is read on IneNominalList, RfcByCurp and NssByCurp"),
                // `finish` makes a verification of a 2xx answer alone: the
                // id in another would be of none.
                _ if !status.is_success() => Some("an answer other than 2xx creates no verification: an outcome is read beside a status of 200 to 299"),
                "success" | "warning" | "unavailable" => None,
                "invalid" | "cannot_vote" if endpoint == INE => None,
                "invalid" => Some("invalid is IneNominalList's alone (valid and canVote false): a source that finds nothing here is a warning with its code and message"),
                "cannot_vote" => Some("cannot_vote is IneNominalList's alone (valid true, canVote false): RFC and NSS data have no vote"),
                _ => Some("unknown outcome; async reads success, invalid and cannot_vote (IneNominalList), warning or unavailable"),
            };
            let warns = matches!(o, "warning" | "unavailable");
            let why = why.or((warns && (text("code").is_none() || text("message").is_none())).then_some(
                "a warning states its code and message (the one warning the verification completes with): add code: and message:",
            ));
            if let Some(why) = why {
                return Err(("outcome".into(), format!("'{}': {why}", quoted(o))));
            }
        }
        // What `finish` reads beside each outcome: a warning's code and
        // message, and how often the source is down (`unavailable` is down
        // at every try).
        let reads: &[&str] = match outcome {
            Some("warning") => &["code", "message", "down"],
            Some("unavailable") => &["code", "message"],
            Some(_) => &["down"],
            None => &[],
        };
        match ["code", "message", "down"]
            .into_iter()
            .find(|k| data.contains_key(*k) && !reads.contains(k))
        {
            Some(k) => Err((
                k.into(),
                match outcome {
                    None => {
                        "read only beside an outcome (success, invalid, cannot_vote, warning or unavailable)"
                            .to_string()
                    }
                    Some(o) => format!("not read beside outcome {}", quoted(o)),
                },
            )),
            None => Ok(()),
        }
    }

    fn data_numbers(&self) -> &'static [&'static str] {
        &["down"]
    }

    fn variables(&self) -> &'static [&'static str] {
        &[
            "verification_id",
            "verification_type",
            "verification_status",
            "verification",
            "warnings",
        ]
    }

    fn required_scenarios(&self, endpoint: &str) -> Vec<&'static str> {
        let created = ["success", "not_found", "unavailable", "internal_error"];
        match endpoint {
            INE => [
                &created[..],
                &[
                    "invalid_type",
                    "invalid_id",
                    "invalid_ocr",
                    "invalid_issue_number",
                ],
            ]
            .concat(),
            RFC => [
                &created[..],
                &["not_found2", "invalid_format", "invalid_state"],
            ]
            .concat(),
            NSS => [&created[..], &["invalid_format", "attempts_exceeded"]].concat(),
            _ => vec!["success", "unknown_verification", "no_permission"],
        }
    }

    fn check_settings(&self, settings: &model::SettingsMap) -> Result<(), model::SettingsError> {
        model::check_limits(settings, &[NSS_PER_CURP_PER_DAY], &Settings::KEYS)?;
        Settings::from_map(settings).map(drop)
    }

    fn credential(&self, req: &Request) -> Option<String> {
        // HeaderMap lookups ignore case: `apikey`, `ApiKey` and `APIKEY` all match.
        req.header_lossy(&APIKEY).map(Cow::into_owned)
    }

    fn curp(&self, endpoint: &str, req: &Request) -> Option<String> {
        matches!(endpoint, RFC | NSS)
            .then(|| req.field_ignore_case("curp").text())
            .flatten()
    }

    fn holder(&self, call: &mut Call<'_>) -> Option<String> {
        if call.endpoint_id() != INE || check_ine(call.req).is_some() {
            return None;
        }
        let field = |name: &str| text(call.req, name);
        let (kind, id) = (field("type"), field("id"));
        let c = kind.eq_ignore_ascii_case("C");
        let person = holder(call, c, &id, &field("ocr"), &field("issueNumber"))?;
        let curp = person.curp.to_string();
        // Found once: the answer's data reads it back (`ine_data`).
        call.keep_found(HeldBy(person));
        Some(curp)
    }

    fn realistic(&self, call: &mut Call<'_>) -> Cow<'static, str> {
        match call.endpoint_id() {
            INE => check_ine(call.req).unwrap_or("success"),
            RFC => check_rfc(call).unwrap_or("success"),
            NSS => check_nss(call).unwrap_or("success"),
            _ => check_status(call),
        }
        .into()
    }

    fn vars(&self, call: &mut Call<'_>, _scenario: &Scenario, vars: &mut Vars) {
        if call.endpoint_id() != STATUS {
            let id = verification_id(call);
            vars.set("verification_id", &id);
            call.made_id = Some(id);
            return;
        }
        let id = requested_id(call.req);
        let found = call.take_found::<jobs::Found>().or_else(|| {
            id.as_deref()
                .and_then(|id| jobs::find(call.ns, id, None))
                .and_then(|lookup| match lookup {
                    jobs::Lookup::Mine(found) => Some(found),
                    jobs::Lookup::Others => None,
                })
        });
        let found = match found {
            Some(found) => found,
            // A forced `success` without a stored verification: a completed
            // RFC verification of the seed's example CURP.
            None => jobs::Found {
                id: id.unwrap_or_else(|| "00000000-0000-4000-8000-000000000000".into()),
                kind: Kind::RfcByCurp,
                status: jobs::Status::Completed,
                verification: Some(
                    json!({"rfc": stated_rfc(&call.person_or(EXAMPLE_CURP))}).to_string(),
                ),
                warnings: json!([]),
            },
        };
        vars.set("verification_id", &found.id)
            .set("verification_type", found.kind as u8)
            .set("verification_status", found.status as u8)
            .set("verification", found.verification.as_deref())
            .set("warnings", found.warnings);
    }

    fn finish(&self, call: &mut Call<'_>, scenario: &Scenario, status: u16, _body: &Bytes) {
        let kind = match call.endpoint_id() {
            INE => Kind::IneNominalList,
            RFC => Kind::RfcByCurp,
            NSS => Kind::NssByCurp,
            _ => return,
        };
        let Some(outcome) = scenario.data_str("outcome") else {
            return;
        };
        // Refused at load beside another status (`check_data`); a guard,
        // should an answer's status ever be other than its scenario's.
        if !(200..300).contains(&status) {
            return;
        }
        // Read at load by `check_settings`: a file whose settings do not
        // parse never loads.
        let settings = Settings::from_map(&call.provider.settings).unwrap_or_default();
        let warning = || {
            vec![Warning {
                code: scenario.data_str("code").unwrap_or_default().to_string(),
                message: scenario.data_str("message").unwrap_or_default().to_string(),
            }]
        };
        let (data, warnings) = match outcome {
            "success" => (Some(success_data(call, kind)), Vec::new()),
            "invalid" => (Some(not_on_the_register()), Vec::new()),
            // Valid as identification, not on the list of voters: the data
            // is the credential's, as on success.
            "cannot_vote" => {
                let mut data = success_data(call, kind);
                data["canVote"] = false.into();
                (Some(data), Vec::new())
            }
            _ => (None, warning()),
        };
        // `unavailable` is down at every try; `down: N` is down N times,
        // then answers (a source back at a retry).
        let source_down_for = match outcome {
            "unavailable" => u32::MAX,
            _ => scenario
                .data
                .get("down")
                .and_then(Value::as_u64)
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        };
        let apikey = call.credential.clone().unwrap_or_default();
        let default_target = default_target(
            call.fixtures,
            &call.provider.id,
            call.config.webhook_url.as_deref(),
            &apikey,
        );
        let new = NewVerification {
            // The id the answer stated.
            id: call.made_id.take().unwrap_or_else(|| verification_id(call)),
            kind,
            apikey,
            scenario: scenario.name.to_string(),
            outcome: Outcome { data, warnings },
            source_down_for,
            default_target,
            defs_generation: call.defs_generation,
            settings,
            log_attempts: call.config.log_requests,
        };
        jobs::create(call.ns, call.generation, call.now, new, &self.held);
    }

    fn reloaded(&self, ns: &Namespace, provider: &ProviderDef, defs: &Arc<Defs>, config: &Config) {
        let generation = defs.generation;
        let (defs, id, fallback) = (
            defs.clone(),
            provider.id.clone(),
            config.webhook_url.clone(),
        );
        let target =
            move |apikey: &str| default_target(&defs.fixtures, &id, fallback.as_deref(), apikey);
        jobs::retarget(
            ns,
            jobs::Retarget {
                generation,
                target: Arc::new(target),
            },
        );
    }

    fn delivers_webhooks(&self) -> bool {
        true
    }

    fn admin_routes(&self) -> &'static [AdminRoute] {
        const ROUTES: &[AdminRoute] = &[
            AdminRoute::new("GET", ADMIN_WEBHOOKS),
            AdminRoute::new("PUT", ADMIN_WEBHOOK),
            AdminRoute::new("DELETE", ADMIN_WEBHOOK),
            AdminRoute::new("GET", ADMIN_DELIVERIES).filtered_by(&["verificationId"]),
            AdminRoute::new("POST", ADMIN_REDELIVER).reading_no_body(),
            AdminRoute::new("GET", ADMIN_VERIFICATIONS),
        ];
        ROUTES
    }

    fn admin<'a>(&'a self, call: AdminCall<'a>) -> BoxFuture<'a, Reply> {
        Box::pin(async move {
            match call.route {
                ("GET", ADMIN_WEBHOOKS) => list_webhooks(&call),
                ("PUT", ADMIN_WEBHOOK) => put_webhook(&call, &self.held),
                ("DELETE", ADMIN_WEBHOOK) => delete_webhook(&call),
                ("GET", ADMIN_DELIVERIES) => {
                    // In either case, as the status route takes it.
                    let filter = call
                        .req
                        .query("verificationId")
                        .map(guid_key)
                        .filter(|v| !v.is_empty());
                    ok(json!(jobs::deliveries(&call.ns, filter.as_deref())))
                }
                ("POST", ADMIN_REDELIVER) => {
                    redeliver(&call.ns, call.param("verificationId")).await
                }
                ("GET", ADMIN_VERIFICATIONS) => ok(jobs::list(&call.ns)),
                _ => admin_error(StatusCode::NOT_FOUND, "no such admin route"),
            }
        })
    }
}

// ---- creation ---------------------------------------------------------------

/// Where an apikey's verifications go when no admin PUT names a target: the
/// fixtures' webhook for it, else `--webhook-url`.
fn default_target(
    fixtures: &Fixtures,
    provider: &str,
    fallback: Option<&str>,
    apikey: &str,
) -> Option<String> {
    fixtures
        .webhook(provider, apikey)
        .or(fallback)
        .map(str::to_string)
}

/// A UUID v4 from the call's seeded generator: the same on a replayed run.
fn verification_id(call: &Call<'_>) -> String {
    let mut bytes = [0u8; 16];
    call.rng("verificationId").fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, part) in [0..4, 4..6, 6..8, 8..10, 10..16].into_iter().enumerate() {
        if i > 0 {
            id.push('-');
        }
        super::common::push_hex(&mut id, &bytes[part]);
    }
    id
}

fn text(req: &Request, field: &str) -> String {
    req.field_ignore_case(field)
        .text()
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The seed's checks, in the order of the request's fields: type, id, ocr,
/// issueNumber (type C only).
fn check_ine(req: &Request) -> Option<&'static str> {
    let kind = text(req, "type").to_ascii_uppercase();
    if !INE_TYPES.contains(&kind.as_str()) {
        return Some("invalid_type");
    }
    let is_c = kind == "C";
    let id = text(req, "id");
    let id_form = if is_c {
        curp::ine::ELECTOR_CODE_FORM
    } else {
        curp::ine::CIC_FORM
    };
    if !(id_form.fits)(&id) {
        return Some("invalid_id");
    }
    // INENL006: "not numeric and has a length other than 9 or 13", for
    // every type.
    if !(curp::ine::OCR_FORM.fits)(&text(req, "ocr")) {
        return Some("invalid_ocr");
    }
    if is_c && !(curp::ine::ISSUE_NUMBER_FORM.fits)(&text(req, "issueNumber")) {
        return Some("invalid_issue_number");
    }
    None
}

fn check_rfc(call: &Call<'_>) -> Option<&'static str> {
    let verdict = match looked_up(call) {
        Ok(verdict) => verdict,
        Err(answer) => return Some(answer),
    };
    // `"state": 01` (the seed's own example) reads as 1; "01" as text too.
    let state = text(call.req, "state").parse::<u32>().ok();
    let known = state
        .and_then(|n| u8::try_from(n).ok())
        .is_some_and(|id| call.fixtures.domain.catalogs.rfc_state(id).is_some());
    if !known {
        return Some("invalid_state");
    }
    // A person the SAT has not registered (under 16, or a persona with
    // `rfc: ""`): RFC008, the information associated to the RFC not found.
    let curp = call.curp.as_deref().unwrap_or_default();
    if verdict == Renapo::Found && call.cached_person(curp).rfc.is_empty() {
        return Some("not_found2");
    }
    not_issued(verdict)
}

fn check_nss(call: &Call<'_>) -> Option<&'static str> {
    let verdict = match looked_up(call) {
        Ok(verdict) => verdict,
        Err(answer) => return Some(answer),
    };
    let curp = call.curp.as_deref().unwrap_or_default();
    let limit = (NSS_PER_CURP_PER_DAY, Some(NSS_PER_CURP_PER_DAY_DEFAULT));
    if call.over_limit(limit, Window::Day, || format!("async:NssByCurp:{curp}")) {
        return Some("attempts_exceeded");
    }
    // A person IMSS has not registered (under 16, or a persona without
    // one) is not found at the source, as on the nss provider.
    if verdict == Renapo::Found && call.cached_person(curp).nss.is_empty() {
        return Some("not_found");
    }
    not_issued(verdict)
}

/// The RFC and NSS requests' CURP as RENAPO reads it; `Err` holds the
/// answer when it does not even have the CURP's format (RFC006, NSS006).
/// The document's own placeholder `XAXA010101XXXXXX01` is a persona.
fn looked_up(call: &Call<'_>) -> Result<Renapo, &'static str> {
    match call.curp.as_deref().map(|c| call.fixtures.domain.renapo(c)) {
        Some(Renapo::Malformed) | None => Err("invalid_format"),
        Some(verdict) => Ok(verdict),
    }
}

/// A CURP with the format that no registry issued (a wrong check digit) is
/// accepted, and the source does not find it (RFC005, NSS005).
fn not_issued(verdict: Renapo) -> Option<&'static str> {
    (verdict == Renapo::NotIssued).then_some("not_found")
}

/// The type's data when the source finds it.
fn success_data(call: &mut Call<'_>, kind: Kind) -> Value {
    match kind {
        Kind::RfcByCurp => json!({"rfc": stated_rfc(&call.person_or(EXAMPLE_CURP))}),
        Kind::NssByCurp => json!({"nss": super::common::stated_nss(&call.person_or(EXAMPLE_CURP))}),
        Kind::IneNominalList => ine_data(call),
    }
}

/// The document's example request of type C.
const INE_EXAMPLE: [(&str, &str); 4] = [
    ("type", "C"),
    ("id", "TSVREL72100209M100"),
    ("ocr", "3854006556540"),
    ("issueNumber", "03"),
];

/// INE data: what the request states, and the rest from the person behind
/// the credential: the person whose credential it is (a persona's, or one
/// the sandbox made up for a CURP: see [`holder`]), or else a synthetic
/// person seeded by the credential's fields, the same on every run.
fn ine_data(call: &mut Call<'_>) -> Value {
    // A success forced on a request that fails the checks states the
    // document's type C example, as RFC and NSS fall back to its CURP.
    let documented = check_ine(call.req).is_some();
    let field = |name: &str| match (documented, INE_EXAMPLE.iter().find(|(n, _)| *n == name)) {
        (true, Some((_, value))) => (*value).to_string(),
        _ => text(call.req, name),
    };
    // Echoed as INE writes them, in capitals, however they were sent.
    let kind = field("type").to_ascii_uppercase();
    let id = field("id").to_ascii_uppercase();
    let ocr = field("ocr");
    let issue_number = field("issueNumber");
    let c = kind == "C";
    let held = call.take_found::<HeldBy>().map(|h| h.0);
    if let Some(p) = held.or_else(|| holder(call, c, &id, &ocr, &issue_number)) {
        // The INE takes the dead off its register: their credential is
        // known, and in force no more.
        if p.deceased() {
            return not_on_the_register();
        }
        let ine = &p.ine;
        let (elector_code, cic) = codes(c, id, ine);
        return ine_answer(Credential {
            kind,
            elector_code,
            cic,
            issue_number: ine.issue_number.to_string(),
            issue_year: ine.issue_year,
            registration_year: ine.registration_year,
            ocr,
            expiry_year: ine.expiry_year,
        });
    }
    let mut h = Sha256::new();
    h.update(call.config.seed.to_le_bytes());
    // One credential however its letters are cased (both in capitals by
    // now): the same holder (the OCR is digits).
    for part in [&kind, &id, &ocr] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let mut rng = rand::rngs::StdRng::from_seed(h.finalize().into());
    // A type C credential states its holder's birth date in the elector
    // code, when its six date places are digits.
    let replacement = c && issue_number != "00";
    let stated = c
        .then(|| curp::ine::elector_birth(&id, curp::person::REFERENCE_YEAR, replacement))
        .flatten();
    // A credential that votes has an adult holder (of age by the year the
    // synthetic data is computed as of; a replacement's by the year before
    // when the code states no birth date, as it was issued after its
    // registration): drawn until one is, the same draws for the same
    // request and seed.
    let of_age_by = curp::person::REFERENCE_YEAR - i32::from(replacement && stated.is_none());
    let adult = |c: &str| curp::check_strict(c).is_ok_and(|d| d.birth_date.year + 18 <= of_age_by);
    // And a voter: a Mexican, alive (a CURP the fixtures make a deceased
    // persona may be drawn). Asked after `adult`, which reads the CURP
    // alone, so that no person is made for a minor's.
    let voter = |c: &str| {
        let p = call.cached_person(c);
        p.mexican() && !p.deceased()
    };
    let curp = (0..64)
        .map(|_| curp::random_curp(&mut rng, &call.fixtures.domain.names))
        .find(|c| adult(c) && voter(c))
        .unwrap_or_else(|| EXAMPLE_CURP.to_string());
    let person = call.cached_person(&curp);
    let ine = &person.ine;
    let (mut issue_year, mut registration_year) = (ine.issue_year, ine.registration_year);
    let (elector_code, cic) = codes(c, id, ine);
    let issue_number = if c {
        // The years of a model C credential agree with the birth date its
        // code states and with the issue number sent ("00": issued the year
        // of registration).
        let birth = stated.unwrap_or(person.birth_date);
        let (registration, issue) = curp::ine::years(
            &mut rng,
            birth.year,
            curp::person::REFERENCE_YEAR,
            Some(!replacement),
        );
        let year = |y: i32| u16::try_from(y).unwrap_or(0);
        (issue_year, registration_year) = (year(issue), year(registration));
        issue_number
    } else {
        ine.issue_number.to_string()
    };
    let expiry_year = issue_year.saturating_add(curp::ine::VALID_YEARS);
    ine_answer(Credential {
        kind,
        elector_code,
        cic,
        issue_number,
        issue_year,
        registration_year,
        ocr,
        expiry_year,
    })
}

/// The elector code and the CIC of a credential whose id the request
/// states: model C credentials carry no CIC, and their elector code is the
/// id; the others' id is the CIC, and the elector code the holder's.
fn codes(c: bool, id: String, ine: &curp::ine::Ine) -> (String, String) {
    if c {
        (id, String::new())
    } else {
        (ine.elector_code.to_string(), id)
    }
}

/// The person whose INE credential the request states: a persona holding
/// it, or the person behind the CURP the sandbox wrote in its numbers
/// ([`curp::ine::numbers_of`]); the whole credential must be theirs (the
/// OCR, and for type C the issue number: an older credential of theirs is
/// not in force), and they a voter: of age and Mexican (a foreigner's
/// credential, as `curp person` prints it, is nobody's, as a minor's is,
/// unless a persona writes it out).
fn holder(
    call: &Call<'_>,
    c: bool,
    id: &str,
    ocr: &str,
    issue_number: &str,
) -> Option<Arc<curp::Person>> {
    let seed = call.config.seed;
    let domain = &call.fixtures.domain;
    let state_of = |ine: &str| {
        domain
            .catalogs
            .entity_by_ine(ine)
            .map(|e| e.renapo.clone())
            .or_else(|| (ine == curp::ine::BORN_ABROAD_INE).then(|| "NE".to_string()))
    };
    let personas = call.fixtures.people.personas_holding(domain, id, seed);
    // Numbers made up elsewhere may read as a CURP too, one RENAPO never
    // issued (an impossible date, a vowel for a consonant): nobody's.
    let written = curp::ine::curp_in(c, id, ocr, seed, state_of)
        .filter(|curp| domain.renapo(curp) == curp::Renapo::Found);
    personas
        .iter()
        .map(|t| t.as_str())
        .chain(written.as_deref())
        .map(|curp| call.cached_person(curp))
        .find(|p| {
            let ine = &p.ine;
            let same = if c {
                ine.elector_code.eq_ignore_ascii_case(id) && ine.issue_number == issue_number
            } else {
                ine.cic == id
            };
            // A persona that writes its credential out holds it whatever
            // its nationality: the fixtures' word.
            let written = || {
                (domain.persona(&p.curp).and_then(|q| q.ine.as_ref()))
                    .is_some_and(|i| i.elector_code.is_some() || i.cic.is_some())
            };
            let of_age = p.birth_date.year + 18 <= curp::person::REFERENCE_YEAR;
            same && ine.ocr == ocr && of_age && (p.mexican() || written())
        })
}

/// The holder of the request's INE credential, as the persona step found
/// it ([`Provider::holder`]).
struct HeldBy(Arc<curp::Person>);

/// What IneNominalList states of a credential in force.
struct Credential {
    kind: String,
    elector_code: String,
    cic: String,
    issue_number: String,
    issue_year: u16,
    registration_year: u16,
    ocr: String,
    expiry_year: u16,
}

/// What IneNominalList states of a credential not in force: `outcome:
/// invalid`'s answer, and a deceased holder's.
fn not_on_the_register() -> Value {
    json!({"valid": false, "canVote": false, "data": null})
}

fn ine_answer(c: Credential) -> Value {
    json!({
        "valid": true,
        "canVote": true,
        "data": {
            "type": c.kind,
            "electorCode": c.elector_code,
            "cicNumber": c.cic,
            "issueNumber": c.issue_number,
            "issueYear": c.issue_year.to_string(),
            "registrationYear": c.registration_year.to_string(),
            "ocrNumber": c.ocr,
            "expDate": format!("31/12/{}", c.expiry_year),
        }
    })
}

// ---- status -------------------------------------------------------------------

/// `verificationId` from the query (any case), or from the body of a POST,
/// lower-cased: the ids are GUIDs, which .NET reads in either case.
fn requested_id(req: &Request) -> Option<String> {
    match req.query_ignore_case("verificationId") {
        Some(q) => Some(guid_key(q)),
        // A GET's (and a HEAD's) body is not read.
        None if req.method != Method::POST => None,
        None => req
            .field_ignore_case("verificationId")
            .text()
            .map(|s| guid_key(&s)),
    }
    .filter(|s| !s.is_empty())
}

/// A verification id as the ids are kept: a GUID in any of the forms .NET's
/// `Guid.Parse` reads (`D`: dashed, `N`: 32 digits, `B`: dashed in braces,
/// `P`: dashed in parentheses), in either case, as the dashed lower-case
/// form; anything else trimmed and lower-cased (no verification has it).
fn guid_key(id: &str) -> String {
    let id = id.trim();
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let dashed = |s: &str| {
        let b = s.as_bytes();
        s.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') && hex(&s.replace('-', ""))
    };
    let enclosed = [('{', '}'), ('(', ')')]
        .iter()
        .find_map(|&(open, close)| id.strip_prefix(open)?.strip_suffix(close))
        .filter(|inner| dashed(inner));
    let guid = match enclosed {
        Some(inner) => inner.to_string(),
        None if id.len() == 32 && hex(id) => {
            let p = |a: usize, b: usize| &id[a..b];
            format!(
                "{}-{}-{}-{}-{}",
                p(0, 8),
                p(8, 12),
                p(12, 16),
                p(16, 20),
                p(20, 32)
            )
        }
        None => id.to_string(),
    };
    guid.to_ascii_lowercase()
}

fn check_status(call: &mut Call<'_>) -> &'static str {
    let credential = call.credential.as_deref().unwrap_or("");
    let found = requested_id(call.req).and_then(|id| jobs::find(call.ns, &id, Some(credential)));
    match found {
        None => "unknown_verification",
        Some(jobs::Lookup::Others) => "no_permission",
        Some(jobs::Lookup::Mine(found)) => {
            call.keep_found(found);
            "success"
        }
    }
}

// ---- admin routes ---------------------------------------------------------------

fn ok(body: Value) -> Reply {
    Reply::json(StatusCode::OK, &body)
}

fn admin_error(status: StatusCode, message: &str) -> Reply {
    Reply::sandbox_error(status, message)
}

/// Every target: those set through the admin API, those the fixtures give,
/// and the `--webhook-url` default for every other apikey.
fn list_webhooks(call: &AdminCall<'_>) -> Reply {
    let set = jobs::webhooks(&call.ns);
    let mut out: Vec<Value> = set
        .iter()
        .map(|(key, t)| {
            json!({
                "apikey": key,
                "url": t.url,
                "headerApikey": t.apikey.clone().unwrap_or_else(|| key.clone()),
                "source": "admin",
            })
        })
        .collect();
    if let Some(creds) = call.fixtures.credentials.get(&call.provider.id) {
        for (key, url) in &creds.webhooks {
            if !set.iter().any(|(k, _)| k == key) {
                out.push(
                    json!({"apikey": key, "url": url, "headerApikey": key, "source": "fixtures"}),
                );
            }
        }
    }
    if let Some(url) = &call.config.webhook_url {
        out.push(
            json!({"apikey": "*", "url": url, "headerApikey": "*", "source": "--webhook-url"}),
        );
    }
    ok(Value::Array(out))
}

/// The `{apikey}` of a webhook route, or the 400 for one no client could
/// send: the apikey a verification is created with is a header value, in
/// ASCII, of at most [`MAX_CREDENTIAL`] bytes (any other credential is
/// refused as invalid before it gets here).
fn route_apikey(call: &AdminCall<'_>) -> Result<String, Reply> {
    let apikey = call.param("apikey").unwrap_or_default().to_string();
    if apikey.len() > MAX_CREDENTIAL {
        return Err(admin_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "an apikey of {} bytes: a credential is at most {MAX_CREDENTIAL} bytes, so no verification is made with a longer one",
                apikey.len()
            ),
        ));
    }
    // `GET /__admin/webhooks/deliveries` is the listing: a PUT or DELETE
    // at that address would set a target its GET cannot show.
    if apikey == "deliveries" {
        return Err(admin_error(
            StatusCode::BAD_REQUEST,
            "the apikey 'deliveries' cannot be set or removed through the admin API: /__admin/webhooks/deliveries is the deliveries listing (give that apikey its target in fixtures/credentials.yaml, or use --webhook-url)",
        ));
    }
    if !sendable_header_value(&apikey) {
        return Err(admin_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "no client can send the apikey {}: it must be ASCII, with no space or tab around it (HTTP strips them) and no control character but a tab inside",
                serde_json::Value::from(apikey.as_str())
            ),
        ));
    }
    Ok(apikey)
}

fn put_webhook(call: &AdminCall<'_>, held: &jobs::Held) -> Reply {
    let apikey = match route_apikey(call) {
        Ok(k) => k,
        Err(refused) => return refused,
    };
    let empty = Map::new();
    let body = match &call.req.body {
        Body::Json(Value::Object(m)) => m,
        Body::Empty => &empty,
        _ => return admin_error(StatusCode::BAD_REQUEST, "send a JSON object as the body"),
    };
    if let Some(refused) = crate::admin::unknown_keys(body, &["url", "apikey"]) {
        return refused;
    }
    let Some(url) = body.get("url").and_then(Value::as_str) else {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "a webhook needs 'url', such as http://127.0.0.1:9000/hook",
        );
    };
    if let Err(why) = check_webhook_url(url) {
        return admin_error(StatusCode::BAD_REQUEST, &why);
    }
    let header = match body.get("apikey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if sendable_header_value(s) && s.len() <= MAX_WEBHOOK_FIELD_BYTES => {
            Some(s.clone())
        }
        Some(_) => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                &format!("'apikey' must be a non-empty string a header can carry as it is (ASCII, no space or tab around it, no control character but a tab), of at most {MAX_WEBHOOK_FIELD_BYTES} bytes: the apikey header sent with the webhook"),
            )
        }
    };
    let target = Target {
        url: url.to_string(),
        apikey: header,
    };
    let ns = match call.kept() {
        Ok(ns) => ns,
        Err(why) => return admin_error(StatusCode::BAD_REQUEST, &why),
    };
    match jobs::set_webhook(&ns, held, &apikey, target.clone()) {
        Ok(()) => {}
        Err(Refused::Own) => return admin_error(
            StatusCode::BAD_REQUEST,
            &format!("too many webhook targets in this namespace (at most {MAX_WEBHOOKS}); delete some with DELETE /__admin/webhooks/{{apikey}}"),
        ),
        Err(Refused::InAll) => return admin_error(
            StatusCode::INSUFFICIENT_STORAGE,
            &format!("no room for this target in what the webhook targets of every namespace may hold together ({} MB beyond the first {} KB of each); delete some with DELETE /__admin/webhooks/{{apikey}}, or free a namespace with POST /__admin/reset?namespace=NAME", MAX_WEBHOOK_BYTES_IN_ALL >> 20, WEBHOOKS_KEPT_WHATEVER_ELSE >> 10),
        ),
    }
    ok(json!({
        "apikey": apikey,
        "url": target.url,
        "headerApikey": target.apikey.unwrap_or_else(|| apikey.clone()),
        "source": "admin",
    }))
}

fn delete_webhook(call: &AdminCall<'_>) -> Reply {
    let apikey = match route_apikey(call) {
        Ok(k) => k,
        Err(refused) => return refused,
    };
    let apikey = apikey.as_str();
    if jobs::remove_webhook(&call.ns, apikey) {
        ok(json!({"deleted": apikey}))
    } else {
        admin_error(
            StatusCode::NOT_FOUND,
            &format!(
                "no webhook set through the admin API for apikey '{}'",
                quoted(apikey)
            ),
        )
    }
}

async fn redeliver(ns: &Arc<Namespace>, id: Option<&str>) -> Reply {
    let sent = id.unwrap_or_default();
    // In either case, as the status route takes it.
    let id = guid_key(sent);
    let id = id.as_str();
    match jobs::redeliver(ns, id).await {
        Ok(d) => ok(json!(d)),
        // Named as sent, as every admin refusal names a value.
        Err(RedeliverError::Unknown) => admin_error(
            StatusCode::NOT_FOUND,
            &format!("no verification '{}' in this namespace", quoted(sent)),
        ),
        Err(RedeliverError::NoResult(s)) => admin_error(
            StatusCode::CONFLICT,
            &format!(
                "verification '{id}' has no result to deliver yet (status {} {})",
                s as u8,
                s.name()
            ),
        ),
        Err(RedeliverError::NoTarget) => admin_error(
            StatusCode::CONFLICT,
            &format!(
                "verification '{id}' has no webhook target: PUT /__admin/webhooks/{{apikey}} first"
            ),
        ),
        Err(RedeliverError::Dropped) => admin_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the attempt to redeliver '{}' was dropped: the namespace was reset or the sandbox is shutting down", quoted(id)),
        ),
    }
}
