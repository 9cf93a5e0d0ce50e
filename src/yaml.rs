//! Values converted while serde_yaml_ng still points at them.
//!
//! A conversion that runs after the value is read (`#[serde(try_from)]`, a
//! `deserialize_with` that parses a `String`) fails outside the value, and
//! serde_yaml_ng then reports the enclosing mapping: its first line and its
//! path, without the key. Converting inside the visitor reports the value's
//! own line, column and path (`endpoints.query.scenarios.slow.latency`).

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A string in the file, parsed by `T::from_str`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed<T>(pub T);

impl<'de, T> Deserialize<'de> for Parsed<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text<T>(PhantomData<T>);

        impl<T> Visitor<'_> for Text<T>
        where
            T: FromStr,
            T::Err: fmt::Display,
        {
            type Value = Parsed<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Parsed<T>, E> {
                v.parse().map(Parsed).map_err(E::custom)
            }
        }

        d.deserialize_str(Text(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[allow(dead_code)]
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        n: Parsed<u8>,
    }

    #[test]
    fn a_bad_value_is_reported_at_its_own_line_and_path() {
        let e = serde_yaml_ng::from_str::<File>("name: x\ninner:\n  n: 300\n").unwrap_err();
        let loc = e.location().unwrap();
        assert_eq!((loc.line(), loc.column()), (3, 6), "{e}");
        assert!(e.to_string().starts_with("inner.n: "), "{e}");
        let ok = serde_yaml_ng::from_str::<File>("name: x\ninner:\n  n: '7'\n").unwrap();
        assert_eq!(ok.inner.n, Parsed(7));
    }
}
