//! Tu Identidad — CURPv5 (seed 003): `POST /api/curp/bycurp`.
//!
//! Tu Identidad's server matches paths and header names without regard to
//! case (`apikey`, `ApiKey`), takes JSON or form bodies, and answers errors
//! as `{"error": CODE, "message": TEXT}`.

use base64::Engine as _;
use hyper::header::HeaderName;

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;

use super::common::{write_dmy, write_sha256_hex};
use crate::curp::catalogs::Catalogs;
use crate::curp::{Renapo, Sex};
use crate::engine::fixtures::Fixtures;
use crate::engine::model::Scenario;
use crate::engine::provider::{Call, Provider};
use crate::engine::template::Vars;
use crate::request::{Field, Request};

pub struct Curpv5;

/// The credential header, parsed once.
const APIKEY: HeaderName = HeaderName::from_static("apikey");

/// The CURP a scenario renders with when the request has no usable one.
const EXAMPLE_CURP: &str = "PXNE660720HMCXTN06";

/// The CCB answer for a completed validation (seed 003, CCB table).
const CCB_OK: (&str, &str) = (
    "CRGEN000",
    "El proceso de validación se ha realizado exitosamente.",
);

/// A validation date (to the second) with its base64 (`timeStamp`) and
/// its digest (`timeStampDigest`).
#[derive(Default)]
struct Stamp {
    date: String,
    base64: String,
    digest: String,
}

impl Stamp {
    fn of(date: String) -> Stamp {
        let mut digest = String::with_capacity(64);
        write_sha256_hex(&mut digest, date.as_bytes());
        Stamp {
            base64: base64::engine::general_purpose::STANDARD.encode(date.as_bytes()),
            date,
            digest,
        }
    }
}

thread_local! {
    /// The last stamp this thread answered with: the date changes once a
    /// second, and the requests in that second share its digest.
    static STAMP: RefCell<Stamp> = RefCell::new(Stamp::default());
}

impl Provider for Curpv5 {
    fn id(&self) -> &'static str {
        "curpv5"
    }

    fn yaml(&self) -> &'static str {
        include_str!("../../scenarios/curpv5.yaml")
    }

    fn endpoints(&self) -> &'static [&'static str] {
        &["bycurp"]
    }

    fn data_keys(&self) -> &'static [&'static str] {
        &[
            "status",
            "renapo",
            "renapo_description",
            "ccb",
            "ccb_description",
        ]
    }

    fn data_statuses(&self) -> &'static [&'static str] {
        &["status"]
    }

    fn check_data(
        &self,
        _endpoint: &str,
        _status: hyper::StatusCode,
        data: &serde_json::Map<String, serde_json::Value>,
        fixtures: &Fixtures,
    ) -> Result<(), (String, String)> {
        let catalogs = &fixtures.domain.catalogs;
        let text = |key: &str| data.get(key).and_then(|v| v.as_str());
        type Listed = fn(&Catalogs, &str) -> Result<(), String>;
        let checks: [(&str, Listed); 2] = [
            ("renapo", Catalogs::check_renapo_code),
            ("ccb", Catalogs::check_ccb_code),
        ];
        for (key, listed) in checks {
            let described = format!("{key}_description");
            match (text(key), text(&described)) {
                // Its description is the catalogs' (`vars`): a code they
                // lack would have none.
                (Some(code), None) => listed(catalogs, code)
                    .map_err(|why| (key.to_string(), format!("{why}; or write its {described}")))?,
                (None, Some(_)) => {
                    return Err((
                        described,
                        format!("describes a {key} code the scenario does not give: add {key}"),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn variables(&self) -> &'static [&'static str] {
        &[
            "curp",
            "first_name",
            "last_name",
            "second_last_name",
            "gender",
            "birth_date",
            "birth_state",
            "nationality",
            "proof_document_type",
            "curp_status",
            "input_digest",
            "output_digest",
            "time_stamp",
            "time_stamp_digest",
            "validation_date",
            "ccb_code",
            "ccb_description",
            "renapo_code",
            "renapo_description",
        ]
    }

    fn required_scenarios(&self, _endpoint: &str) -> Vec<&'static str> {
        vec!["success", "missing_field", "invalid_format", "not_found"]
    }

    fn credential(&self, req: &Request) -> Option<String> {
        // HeaderMap lookups ignore case: `apikey`, `ApiKey` and `APIKEY` all match.
        req.header_lossy(&APIKEY).map(Cow::into_owned)
    }

    fn curp(&self, _endpoint: &str, req: &Request) -> Option<String> {
        req.field_ignore_case("curp").text()
    }

    fn realistic(&self, call: &mut Call<'_>) -> Cow<'static, str> {
        let Some(curp) = call.curp.as_deref() else {
            // A bool, an array or an object is there, just not a CURP.
            return match call.req.field_ignore_case("curp") {
                Field::Other(_) => "invalid_format",
                _ => "missing_field",
            }
            .into();
        };
        // RENAPO's pattern covers the date, the state and the letters; a CURP
        // that fits it but fails the check digit, or states a birth after
        // 2025, cannot exist in RENAPO.
        match call.fixtures.domain.renapo(curp) {
            Renapo::Found => "success".into(),
            Renapo::NotIssued => "not_found".into(),
            Renapo::Malformed => "invalid_format".into(),
        }
    }

    fn vars(&self, call: &mut Call<'_>, scenario: &Scenario, vars: &mut Vars) {
        let now = call.now;
        let person = call.person_or(EXAMPLE_CURP);
        // A scenario may force a CURP status (`deceased` → BD); otherwise the
        // person's own status answers.
        let status = scenario.data_str("status").unwrap_or(&person.status);
        let gender = match person.sex {
            Sex::H => "M",
            Sex::M => "F",
            Sex::X => "X",
        };
        let mut birth_date = String::with_capacity(10);
        write_dmy(&mut birth_date, person.birth_date);
        let proof = person.proof_document;
        // The output digest covers the person data the response states, in
        // document order, so it changes exactly when the answer does. A
        // RENAPO or CCB error (`data.renapo` / `data.ccb`) states no person:
        // its fields are blank and its proof document 0.
        let states_person =
            scenario.data.get("renapo").is_none() && scenario.data.get("ccb").is_none();
        let mut stated = String::with_capacity(128);
        if states_person {
            for field in [
                person.curp.as_str(),
                &person.first_surname,
                &person.second_surname,
                &person.names,
                gender,
                &birth_date,
                &person.birth_state,
                &person.nationality,
            ] {
                stated.push_str(field);
                stated.push('|');
            }
            let _ = write!(stated, "{proof}|{status}");
        } else {
            stated.push_str(&person.curp);
            stated.push_str("||||||||0|");
        }
        let mut validation_date = String::with_capacity(25);
        now.write_mx_rfc3339_secs(&mut validation_date);
        // A code without its description has the catalogs' (checked at
        // load: they list it).
        let catalogs = &call.fixtures.domain.catalogs;
        let (ccb_code, ccb_description) = match scenario.data_str("ccb") {
            Some(c) => (
                c,
                (scenario.data_str("ccb_description"))
                    .or_else(|| catalogs.ccb_code(c).map(|k| k.es.as_str()))
                    .unwrap_or(""),
            ),
            None => CCB_OK,
        };
        let renapo_code = scenario.data_str("renapo");
        let renapo_description = (scenario.data_str("renapo_description"))
            .or_else(|| {
                renapo_code
                    .and_then(|c| catalogs.renapo_code(c))
                    .map(|k| k.es.as_str())
            })
            .unwrap_or("");
        STAMP.with_borrow_mut(|stamp| {
            if stamp.date != validation_date {
                *stamp = Stamp::of(validation_date.clone());
            }
            vars.set("time_stamp", stamp.base64.as_str())
                .set("time_stamp_digest", stamp.digest.as_str());
        });
        vars.set("curp", person.curp.as_str())
            .set("first_name", person.names.as_str())
            .set("last_name", person.first_surname.as_str())
            .set("second_last_name", person.second_surname.as_str())
            .set("gender", gender)
            .set("birth_date", birth_date.as_str())
            .set("birth_state", person.birth_state.as_str())
            .set("nationality", person.nationality.as_str())
            .set("proof_document_type", proof)
            .set("curp_status", status)
            .set_with("input_digest", |out| {
                write_sha256_hex(out, &call.req.raw_body)
            })
            .set_with("output_digest", |out| {
                write_sha256_hex(out, stated.as_bytes())
            })
            .set("validation_date", validation_date.as_str())
            .set("ccb_code", ccb_code)
            .set("ccb_description", ccb_description)
            .set("renapo_code", renapo_code.unwrap_or(""))
            .set("renapo_description", renapo_description);
    }
}

#[cfg(test)]
mod tests {
    use super::CCB_OK;
    use crate::{Config, Engine};

    /// The RENAPO and CCB wording the scenario file states (and `CCB_OK`)
    /// is the seed's table as `fixtures/catalogs.yaml` lists it, word for
    /// word: the two are written apart, and must not drift. (The catalog's
    /// columns no answer reads are the seeds' reference: README, "The
    /// fixture files".)
    #[test]
    fn the_scenarios_renapo_and_ccb_wording_is_the_catalogs() {
        let engine = Engine::new(Config::default(), crate::providers::all()).unwrap();
        let defs = engine.defs();
        let catalogs = &defs.fixtures.domain.catalogs;
        let curpv5 = defs.providers.iter().find(|p| p.id == "curpv5").unwrap();
        let mut stated = 0;
        for (name, s) in curpv5.endpoints.iter().flat_map(|e| &e.scenarios) {
            if let Some(code) = s.data_str("renapo") {
                // The table's one placeholder, filled with the field
                // curpv5 checks.
                let listed = catalogs
                    .renapo_code(code)
                    .map(|c| c.es.replace("{{Nombre Campo}}", "CURP"));
                assert_eq!(
                    s.data_str("renapo_description"),
                    listed.as_deref(),
                    "{name}"
                );
                stated += 1;
            }
            if let Some(code) = s.data_str("ccb") {
                let listed = catalogs.ccb_code(code).map(|c| c.es.as_str());
                assert_eq!(s.data_str("ccb_description"), listed, "{name}");
                stated += 1;
            }
        }
        assert!(stated >= 12, "{stated} codes stated");
        let ok = catalogs.ccb_code(CCB_OK.0).map(|c| c.es.as_str());
        assert_eq!(ok, Some(CCB_OK.1));
    }
}
