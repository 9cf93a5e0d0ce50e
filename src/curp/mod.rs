//! TEMPORARY stub of the CURP domain, replaced by the real module.
use std::collections::BTreeMap;

use serde::Serialize;

use crate::time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sex {
    H,
    M,
    X,
}

pub fn is_loose(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 18
        && b[..4].iter().all(u8::is_ascii_uppercase)
        && b[4..10].iter().all(u8::is_ascii_digit)
        && matches!(b[10], b'H' | b'M' | b'X')
        && b[11..16].iter().all(u8::is_ascii_uppercase)
        && b[16].is_ascii_alphanumeric()
        && b[17].is_ascii_digit()
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Registry {
    pub entity_ine: String,
    pub entity_name: String,
    pub municipality_code: String,
    pub municipality_name: String,
    pub year: u16,
    pub act_number: String,
    pub book: String,
    pub volume: String,
    pub page: String,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub curp: String,
    pub names: String,
    pub first_surname: String,
    pub second_surname: String,
    pub sex: Sex,
    pub birth_date: Date,
    pub birth_state: String,
    pub nationality: String,
    pub status: String,
    pub proof_document: u8,
    pub registry: Registry,
    pub nss: String,
    pub rfc: String,
}

#[derive(Debug, Clone, Default)]
pub struct Persona {
    pub scenario: Option<String>,
    pub scenarios: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct LoadError {
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

pub struct Domain;

impl Domain {
    pub fn from_yaml(_c: &str, _n: &str, _p: &str) -> Result<Domain, (String, LoadError)> {
        Ok(Domain)
    }
    pub fn persona(&self, _curp: &str) -> Option<&Persona> {
        None
    }
    pub fn person(&self, curp: &str, _seed: u64) -> Person {
        let b = curp.as_bytes();
        let n = |r: std::ops::Range<usize>| {
            curp.get(r).and_then(|s| s.parse::<u32>().ok()).unwrap_or(1)
        };
        let yy = n(4..6) as i32;
        let year = if b.get(16).is_some_and(u8::is_ascii_digit) {
            1900 + yy
        } else {
            2000 + yy
        };
        Person {
            curp: curp.into(),
            names: "JUAN".into(),
            first_surname: "PEREZ".into(),
            second_surname: "LOPEZ".into(),
            sex: if b.get(10) == Some(&b'M') {
                Sex::M
            } else {
                Sex::H
            },
            birth_date: Date::new(year, n(6..8) as u8, n(8..10) as u8).unwrap_or(Date {
                year,
                month: 1,
                day: 1,
            }),
            birth_state: curp.get(11..13).unwrap_or("DF").into(),
            nationality: "MEX".into(),
            status: "AN".into(),
            proof_document: 1,
            registry: Registry::default(),
            nss: "00000000000".into(),
            rfc: "XAXX010101000".into(),
        }
    }
}
