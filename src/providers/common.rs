//! Small helpers more than one provider module uses.

use sha2::{Digest, Sha256};

use crate::curp::Person;

/// The nss document's example NSS (of `ABCD570805HYNHLC52`).
const DOCUMENT_NSS: &str = "08189782793";

/// The NSS an answer states for `person`: theirs, or for a success forced
/// on a person IMSS has not registered, the document's example (whatever
/// personas a user's fixtures list).
pub(crate) fn stated_nss(person: &Person) -> &str {
    if person.nss.is_empty() {
        DOCUMENT_NSS
    } else {
        &person.nss
    }
}

/// Lowercase hex SHA-256, appended to `out`.
pub fn write_sha256_hex(out: &mut String, bytes: &[u8]) {
    push_hex(out, &Sha256::digest(bytes));
}

/// `bytes` in lowercase hex, appended to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Written on the stack and appended a run at a time: a push per digit
    // checked the capacity at every digit.
    for run in bytes.chunks(32) {
        let mut hex = [0u8; 64];
        for (pair, b) in hex.chunks_exact_mut(2).zip(run) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        out.push_str(std::str::from_utf8(&hex[..run.len() * 2]).unwrap_or_default());
    }
}

/// `DD/MM/YYYY`, the way RENAPO writes dates.
pub fn dmy(date: crate::time::Date) -> String {
    let mut out = String::with_capacity(10);
    write_dmy(&mut out, date);
    out
}

/// [`dmy`], appended to `out`.
pub fn write_dmy(out: &mut String, date: crate::time::Date) {
    use std::fmt::Write;
    let two = |n: u32| {
        [
            char::from(b'0' + (n / 10 % 10) as u8),
            char::from(b'0' + (n % 10) as u8),
        ]
    };
    out.extend(two(date.day.into()));
    out.push('/');
    out.extend(two(date.month.into()));
    out.push('/');
    if (0..=9999).contains(&date.year) {
        let y = date.year as u32;
        out.extend(two(y / 100));
        out.extend(two(y % 100));
    } else {
        let _ = write!(out, "{:04}", date.year);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Date;

    #[test]
    fn digests_and_dates_as_the_documents_write_them() {
        let mut hex = String::from("sha256:");
        write_sha256_hex(&mut hex, b"abc");
        assert_eq!(
            hex,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let date = |year, month, day| Date { year, month, day };
        assert_eq!(dmy(date(1966, 7, 20)), "20/07/1966");
        assert_eq!(dmy(date(905, 1, 2)), "02/01/0905");
        assert_eq!(dmy(date(12345, 12, 31)), "31/12/12345");
    }
}
