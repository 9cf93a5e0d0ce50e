//! The CURP domain: the loose and strict checks, the check digit, the
//! calculation from personal data, and the synthetic person behind any
//! loose CURP. Besides "never panics", it holds the rules to each other:
//! a strictly valid CURP is loosely valid, and a calculated CURP is valid.
//!
//! Input: UTF-8 lines, so that the seeds are the documents' examples:
//! `CURP`, then optionally `names`, `first surname`, `second surname`,
//! `YYYY-MM-DD`, `sex (H|M|X)`, `RENAPO state`, `seed`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mxid_sandbox::curp::{self, CalcInput, Domain, Sex};
use mxid_sandbox::time::Date;

fn domain() -> &'static Domain {
    static DOMAIN: OnceLock<Domain> = OnceLock::new();
    DOMAIN.get_or_init(|| {
        Domain::from_yaml(
            include_str!("../../fixtures/catalogs.yaml"),
            include_str!("../../fixtures/names.yaml"),
            include_str!("../../fixtures/personas.yaml"),
        )
        .unwrap_or_else(|(file, e)| panic!("{file}: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let code = lines.next().unwrap_or("");
    let strict = curp::check_strict(code);
    let loose = curp::is_loose(code);
    if strict.is_ok() {
        assert!(loose, "strictly valid but not loose: {code:?}");
    }
    if let Some(first17) = code.get(..17) {
        let _ = curp::check_digit(first17);
    }
    let rest: Vec<&str> = lines.collect();
    let seed = rest
        .get(6)
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if loose {
        let person = domain().person(code, seed);
        assert_eq!(person.curp, code);
    }

    let [names, first, second, birth, sex, state, ..] = rest[..] else {
        return;
    };
    let Some(birth_date) = Date::parse_iso(birth.trim()) else {
        return;
    };
    let sex = match sex.trim() {
        "H" => Sex::H,
        "M" => Sex::M,
        "X" => Sex::X,
        _ => return,
    };
    let calc = CalcInput {
        names: names.to_string(),
        first_surname: first.to_string(),
        second_surname: second.to_string(),
        birth_date,
        sex,
        state: state.trim().to_string(),
    };
    if let Ok(c) = curp::calculate(&calc) {
        assert!(
            curp::is_loose(&c),
            "calculated {c:?} is not loose from {calc:?}"
        );
        assert!(
            curp::check_strict(&c).is_ok(),
            "calculated {c:?} fails the strict check ({:?}) from {calc:?}",
            curp::check_strict(&c)
        );
    }
});
