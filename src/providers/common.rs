//! Small helpers more than one provider module uses.

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// `DD/MM/YYYY`, the way RENAPO writes dates.
pub fn dmy(date: crate::time::Date) -> String {
    format!("{:02}/{:02}/{:04}", date.day, date.month, date.year)
}
