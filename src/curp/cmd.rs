//! `mxid-sandbox curp …`: the CURP domain from the command line, for QA.
//! Each command answers JSON, or a clear message on bad input.

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use super::persona::ProviderScenarios;
use super::{calculate, check_strict, loose_error, person, CalcInput, Domain, Sex};
use crate::engine::quoted;
use crate::time::Date;

/// The most CURPs `random` prints at once; enough for any test data set,
/// small enough that a typo cannot exhaust memory.
const MAX_RANDOM: usize = 100_000;

#[derive(clap::Subcommand, Clone, Debug, PartialEq, Eq)]
pub enum CurpCommand {
    /// Check a CURP by the strict RENAPO rules and say why it fails
    Check {
        /// The CURP, 18 characters
        curp: String,
    },
    /// Calculate a CURP from personal data by the RENAPO rules
    Calc {
        /// First name(s), as on the birth certificate
        #[arg(long)]
        names: String,
        /// First surname (the father's, by custom)
        #[arg(long)]
        first_surname: String,
        /// Omit for a person with one surname
        #[arg(long)]
        second_surname: Option<String>,
        /// Birth date, YYYY-MM-DD
        #[arg(long)]
        birth: String,
        /// H, M or X
        #[arg(long)]
        sex: String,
        /// Birth state: INE code (01-32, as validacurp's `entity`) or RENAPO
        /// code (MC, NE for born abroad)
        #[arg(long)]
        state: String,
    },
    /// Print the person every provider answers with for a CURP
    Person {
        /// The CURP, 18 characters: whose person to print
        curp: String,
        /// The server's --seed (0 when the server runs without one; read
        /// from MXID_SEED as `serve` reads it)
        #[arg(
            long,
            allow_negative_numbers = true,
            env = "MXID_SEED",
            default_value_t = 0
        )]
        seed: u64,
    },
    /// Print valid random CURPs
    Random {
        /// How many, printed as a JSON array (at most 100,000)
        #[arg(long, allow_negative_numbers = true, default_value_t = 1)]
        n: usize,
        /// Makes the output replayable; without it every run differs
        #[arg(long, allow_negative_numbers = true)]
        seed: Option<u64>,
    },
}

/// Runs a `curp` command; `scenarios` are every provider's id with each
/// endpoint's scenario names (what a persona's scenario selects).
pub fn run(
    cmd: &CurpCommand,
    domain: &Domain,
    scenarios: &[ProviderScenarios],
) -> Result<Value, String> {
    match cmd {
        CurpCommand::Check { curp } => {
            // As the providers read one: trimmed and upper-cased.
            let curp = curp.trim().to_ascii_uppercase();
            let d = check_strict(&curp)
                .map_err(|e| format!("invalid curp '{}': {e}", quoted(&curp)))?;
            Ok(json!({
                "curp": curp,
                "valid": true,
                "birth_date": d.birth_date.to_string(),
                "sex": d.sex,
                "state": d.state,
            }))
        }
        CurpCommand::Calc {
            names,
            first_surname,
            second_surname,
            birth,
            sex,
            state,
        } => {
            let birth_date = Date::parse_iso(birth.trim()).ok_or_else(|| {
                format!(
                    "bad birth date '{}': expected a real date as YYYY-MM-DD",
                    quoted(birth)
                )
            })?;
            let sex: Sex = sex.parse()?;
            let code = state.trim().to_uppercase();
            let entity = if code.bytes().all(|b| b.is_ascii_digit()) {
                domain.catalogs.entity_by_ine(&format!("{code:0>2}"))
            } else {
                domain.catalogs.entity_by_renapo(&code)
            };
            let state = entity
                .map(|e| e.renapo.clone())
                .ok_or_else(|| format!("unknown state '{}': expected an INE code 01-32 or a RENAPO code such as MC or NE", quoted(state)))?;
            let input = CalcInput {
                names: names.clone(),
                first_surname: first_surname.clone(),
                second_surname: second_surname.clone().unwrap_or_default(),
                birth_date,
                sex,
                state,
            };
            let curp = calculate(&input).map_err(|e| e.to_string())?;
            Ok(json!({ "curp": curp }))
        }
        CurpCommand::Person { curp, seed } => {
            let curp = curp.trim().to_ascii_uppercase();
            if let Some(why) = loose_error(&curp) {
                return Err(format!("not a CURP: '{}': {why}", quoted(&curp)));
            }
            // The providers answer a person for a CURP someone holds (see
            // `Domain::renapo`); for another they answer not found or a
            // format error (a scenario forced by header aside).
            if let Some(why) = domain.not_issued_why(&curp) {
                return Err(format!(
                    "no provider answers a person for {curp} ({why}): RENAPO never issued it"
                ));
            }
            // A persona every provider answers not found for has no person
            // either, whatever its CURP would make.
            if domain
                .persona(&curp)
                .is_some_and(|p| p.found_nowhere(scenarios))
            {
                return Err(format!(
                    "no provider answers a person for {curp}: its persona's scenarios are not found for every provider"
                ));
            }
            serde_json::to_value(domain.person(&curp, *seed)).map_err(|e| e.to_string())
        }
        CurpCommand::Random { n, seed } => {
            if *n > MAX_RANDOM {
                return Err(format!("--n: too many curps: {n}, at most {MAX_RANDOM}"));
            }
            let mut rng = match seed {
                Some(s) => StdRng::seed_from_u64(*s),
                None => StdRng::from_rng(&mut rand::rng()),
            };
            let curps: Vec<Value> = (0..*n)
                .map(|_| Value::String(person::random_curp(&mut rng, &domain.names)))
                .collect();
            Ok(Value::Array(curps))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::domain;
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: CurpCommand,
    }

    fn run_args(args: &[&str]) -> Result<Value, String> {
        let cli = Cli::try_parse_from(std::iter::once("curp").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let engine = crate::engine::Engine::new(Default::default(), crate::providers::all());
        run(&cli.cmd, domain(), &engine.unwrap().scenarios_by_provider())
    }

    #[test]
    fn check() {
        let v = run_args(&["check", "PXNE660720HMCXTN06"]).unwrap();
        assert_eq!(
            v,
            json!({"curp": "PXNE660720HMCXTN06", "valid": true, "birth_date": "1966-07-20", "sex": "H", "state": "MC"})
        );
        let e = run_args(&["check", "PXNE660720HMCXTN05"]).unwrap_err();
        assert_eq!(
            e,
            "invalid curp 'PXNE660720HMCXTN05': wrong check digit: expected 6 got 5"
        );
    }

    #[test]
    fn calc() {
        let base = [
            "calc",
            "--names",
            "enrique",
            "--first-surname",
            "peña",
            "--birth",
            "1966-07-20",
            "--sex",
            "H",
        ];
        let mut args = base.to_vec();
        args.extend(["--second-surname", "nieto", "--state", "15"]);
        assert_eq!(
            run_args(&args).unwrap(),
            json!({"curp": "PXNE660720HMCXTN06"})
        );
        let mut args = base.to_vec();
        args.extend(["--second-surname", "nieto", "--state", "mc"]);
        assert_eq!(
            run_args(&args).unwrap(),
            json!({"curp": "PXNE660720HMCXTN06"})
        );
        let mut args = base.to_vec();
        args.extend(["--state", "NE"]);
        assert!(run_args(&args).unwrap()["curp"]
            .as_str()
            .unwrap()
            .starts_with("PEXE660720HNE"));
        let mut args = base.to_vec();
        args.extend(["--state", "33"]);
        assert!(run_args(&args)
            .unwrap_err()
            .starts_with("unknown state '33'"));
        let mut args = base.to_vec();
        args[6] = "1966-02-30";
        args.extend(["--state", "15"]);
        assert!(run_args(&args).unwrap_err().starts_with("bad birth date"));
        let mut args = base.to_vec();
        args[8] = "F";
        args.extend(["--state", "15"]);
        assert_eq!(
            run_args(&args).unwrap_err(),
            "bad sex 'F': expected H, M or X"
        );
    }

    #[test]
    fn person_and_random() {
        let v = run_args(&["person", "LOOA531113HTCPBN07", "--seed", "5"]).unwrap();
        assert_eq!(v["curp"], "LOOA531113HTCPBN07");
        assert_eq!(v["birth_state"], "TC");
        assert!(run_args(&["person", "nope"])
            .unwrap_err()
            .starts_with("not a CURP"));
        // The not-found persona's CURP passes every rule, and no provider
        // answers a person for it.
        assert_eq!(
            run_args(&["person", "GAPA950819HGTLRR07"]).unwrap_err(),
            "no provider answers a person for GAPA950819HGTLRR07: its persona's scenarios are not found for every provider"
        );
        let a = run_args(&["random", "--n", "5", "--seed", "9"]).unwrap();
        assert_eq!(a, run_args(&["random", "--n", "5", "--seed", "9"]).unwrap());
        let list = a.as_array().unwrap();
        assert_eq!(list.len(), 5);
        for c in list {
            assert!(check_strict(c.as_str().unwrap()).is_ok(), "{c}");
        }
        assert_eq!(run_args(&["random"]).unwrap().as_array().unwrap().len(), 1);
        assert!(run_args(&["random", "--n", "1000001"])
            .unwrap_err()
            .starts_with("--n: too many"));
        // The limit itself is given; one more is not.
        let most = MAX_RANDOM.to_string();
        let all = run_args(&["random", "--n", &most, "--seed", "1"]).unwrap();
        assert_eq!(all.as_array().unwrap().len(), MAX_RANDOM);
        let over = (MAX_RANDOM + 1).to_string();
        assert_eq!(
            run_args(&["random", "--n", &over]).unwrap_err(),
            format!("--n: too many curps: {over}, at most {MAX_RANDOM}")
        );
    }
}
