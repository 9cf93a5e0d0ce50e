//! Injected latency and faults (SPEC §6).
//!
//! Latency is only ever decided here; the server awaits it as a tokio timer
//! after every lock is released, so a thousand delayed requests cost a
//! thousand timer entries and no threads.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;

use crate::time::{format_duration, read_duration_at_most};

/// How long to wait before answering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// `250ms`
    Fixed(Duration),
    /// `100ms..300ms`: uniform between the two.
    Uniform(Duration, Duration),
    /// `lognormal(200ms, 0.5)`: median and sigma of the underlying normal.
    LogNormal { median: Duration, sigma: f64 },
}

/// The longest latency a request may ask for; longer would only tie up a
/// connection, and `hang` exists for that.
pub const MAX_LATENCY: Duration = Duration::from_secs(600);

impl Latency {
    /// The delay to wait: a fixed one as it is, a range drawn from the
    /// generator `rng` makes (only then made: it is seeded per request).
    pub fn sample<R: Rng>(&self, rng: impl FnOnce() -> R) -> Duration {
        let d = match *self {
            Latency::Fixed(d) => d,
            _ => self.draw(&mut rng()),
        };
        d.min(MAX_LATENCY)
    }

    fn draw(&self, rng: &mut impl Rng) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform(lo, hi) => {
                if hi <= lo {
                    lo
                } else {
                    Duration::from_secs_f64(rng.random_range(lo.as_secs_f64()..=hi.as_secs_f64()))
                }
            }
            Latency::LogNormal { median, sigma } => {
                // Box–Muller: one standard normal from two uniforms.
                let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let secs = median.as_secs_f64() * (sigma * z).exp();
                Duration::from_secs_f64(secs.clamp(0.0, MAX_LATENCY.as_secs_f64()))
            }
        }
    }
}

impl FromStr for Latency {
    type Err = String;

    fn from_str(s: &str) -> Result<Latency, String> {
        let t = s.trim();
        let bad = |why: String| {
            let s = super::quoted(s);
            format!("latency '{s}': {why}; write 250ms, 100ms..300ms or lognormal(200ms, 0.5)")
        };
        // A part that is no duration is named by its role, not echoed
        // after the whole value: a long one would be echoed twice over its
        // bound.
        let duration = |part: &str, role: &str| {
            read_duration_at_most(part, MAX_LATENCY)
                .map_err(|why| bad(format!("{role} {}", why.said_of_it())))
        };
        if let Some(inner) = t
            .strip_prefix("lognormal(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (median, sigma) = inner
                .split_once(',')
                .ok_or_else(|| bad("lognormal takes a median and a sigma".into()))?;
            let median = duration(median, "the median")?;
            let sigma: f64 = sigma
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s <= 10.0)
                .ok_or_else(|| bad("sigma must be a number from 0 to 10".into()))?;
            return Ok(Latency::LogNormal { median, sigma });
        }
        if let Some((lo, hi)) = t.split_once("..") {
            let lo = duration(lo, "the range's start")?;
            let hi = duration(hi, "the range's end")?;
            if hi < lo {
                return Err(bad("the range ends before it starts".into()));
            }
            return Ok(Latency::Uniform(lo, hi));
        }
        Ok(Latency::Fixed(duration(t, "it")?))
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Fixed(d) => write!(f, "{}", format_duration(*d)),
            Latency::Uniform(lo, hi) => {
                write!(f, "{}..{}", format_duration(*lo), format_duration(*hi))
            }
            Latency::LogNormal { median, sigma } => {
                write!(f, "lognormal({}, {sigma})", format_duration(*median))
            }
        }
    }
}

/// A way for the answer to go wrong at the connection level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer nothing: held until the client leaves, the hang limit or the
    /// shutdown (`server.rs`, `HANG_LIMIT`).
    Hang,
    /// Abort the TCP connection (RST).
    ConnectionReset,
    /// Close the connection without a byte of response.
    EmptyResponse,
    /// Answer with the scenario's status and a body cut in half.
    MalformedBody,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::Hang,
        Fault::ConnectionReset,
        Fault::EmptyResponse,
        Fault::MalformedBody,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Hang => "hang",
            Fault::ConnectionReset => "connection_reset",
            Fault::EmptyResponse => "empty_response",
            Fault::MalformedBody => "malformed_body",
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Fault, String> {
        let s = s.trim();
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown fault '{}'; valid faults: {}",
                    super::quoted(s),
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            "250ms".parse::<Latency>().unwrap(),
            Latency::Fixed(Duration::from_millis(250))
        );
        assert_eq!(
            "100ms..300ms".parse::<Latency>().unwrap(),
            Latency::Uniform(Duration::from_millis(100), Duration::from_millis(300))
        );
        assert_eq!(
            "lognormal(200ms, 0.5)".parse::<Latency>().unwrap(),
            Latency::LogNormal {
                median: Duration::from_millis(200),
                sigma: 0.5
            }
        );
        // Each refusal names the value, says what is wrong, and shows the forms.
        for (bad, why) in [
            ("", "it is not a duration such as 250ms"),
            ("fast", "it is not a duration such as 250ms"),
            ("300ms..100ms", "the range ends before it starts"),
            ("100ms..fast", "the range's end is not a duration"),
            ("fast..1s", "the range's start is not a duration"),
            ("lognormal(1s)", "lognormal takes a median and a sigma"),
            ("lognormal(1s, -1)", "sigma must be a number from 0 to 10"),
            ("lognormal(1s, 11)", "sigma must be a number from 0 to 10"),
            ("lognormal(1s, NaN)", "sigma must be a number from 0 to 10"),
            ("lognormal(1s, x)", "sigma must be a number from 0 to 10"),
            ("lognormal(fast, 0.5)", "the median is not a duration"),
            ("lognormal(11m, 0.5)", "more than 10m"),
            ("2h", "more than 10m"),
            // Past what a duration can be is more than 10m too.
            ("2000000000000s", "more than 10m"),
            ("1s..99999999999999999999d", "more than 10m"),
            ("1s..11m", "the range's end is more than 10m"),
            ("2h", "it is more than 10m"),
        ] {
            let err = bad.parse::<Latency>().unwrap_err();
            // The value named once, its parts by their role.
            assert!(
                err.starts_with(&format!("latency '{bad}': ")),
                "{bad}: {err}"
            );
            let quotes = err.replace("range's", "range").matches('\'').count();
            assert_eq!(quotes, 2, "{err}");
            assert!(err.contains(why), "{bad}: {err}");
            assert!(
                err.ends_with("; write 250ms, 100ms..300ms or lognormal(200ms, 0.5)"),
                "{bad}: {err}"
            );
        }
        // A value past the echo's bound is echoed once, cut: its bad part
        // is named by its role, not echoed again.
        let long = format!("1s..{}", "f".repeat(300));
        let err = long.parse::<Latency>().unwrap_err();
        assert!(err.len() < 256 + 200, "{} bytes: {err}", err.len());
        assert!(err.contains("the range's end is not a duration"), "{err}");
        // The limits themselves are allowed: a range whose ends meet, a
        // sigma of 0 or 10, ten minutes.
        assert_eq!(
            "10m".parse::<Latency>().unwrap(),
            Latency::Fixed(MAX_LATENCY)
        );
        assert_eq!(
            "100ms..100ms".parse::<Latency>().unwrap(),
            Latency::Uniform(Duration::from_millis(100), Duration::from_millis(100))
        );
        for sigma in [0.0, 10.0] {
            assert_eq!(
                format!("lognormal(200ms, {sigma})").parse::<Latency>(),
                Ok(Latency::LogNormal {
                    median: Duration::from_millis(200),
                    sigma
                })
            );
        }
    }

    #[test]
    fn samples_stay_in_range() {
        // Seeded: the same samples on every run, so a failure reproduces.
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let u = Latency::Uniform(Duration::from_millis(10), Duration::from_millis(20));
        let ln = Latency::LogNormal {
            median: Duration::from_millis(50),
            sigma: 0.3,
        };
        let mut ln_samples = Vec::new();
        for _ in 0..2000 {
            let d = u.sample(|| &mut rng);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
            ln_samples.push(ln.sample(|| &mut rng));
        }
        ln_samples.sort();
        let median = ln_samples[1000].as_secs_f64();
        assert!((0.04..0.06).contains(&median), "median {median}");
    }

    // lognormal(median, sigma) is e^N(ln median, sigma²): one and two
    // sigmas either side of the median are at the normal's quantiles (a
    // mutation run found the shape untested: only the median was).
    #[test]
    fn lognormal_samples_spread_by_sigma() {
        let mut rng = StdRng::seed_from_u64(0x10_9a);
        let (median, sigma) = (0.2, 0.5);
        let ln = Latency::LogNormal {
            median: Duration::from_secs_f64(median),
            sigma,
        };
        let n = 20_000;
        let mut samples: Vec<f64> = (0..n)
            .map(|_| ln.sample(|| &mut rng).as_secs_f64())
            .collect();
        samples.sort_by(f64::total_cmp);
        // Φ(-2), Φ(-1), Φ(0), Φ(1), Φ(2).
        for (p, sigmas) in [
            (0.02275, -2.0),
            (0.15866, -1.0),
            (0.5, 0.0),
            (0.84134, 1.0),
            (0.97725, 2.0),
        ] {
            let got = samples[(p * n as f64) as usize];
            let want = median * f64::exp(sigma * sigmas);
            assert!(
                (got / want - 1.0).abs() < 0.05,
                "quantile {p}: {got} s, expected about {want} s"
            );
        }
    }

    #[test]
    fn faults_round_trip() {
        // The names the README and SPEC give, each read back as its fault.
        let names = Fault::ALL.map(Fault::name);
        assert_eq!(
            names,
            [
                "hang",
                "connection_reset",
                "empty_response",
                "malformed_body"
            ]
        );
        for (fault, name) in Fault::ALL.into_iter().zip(names) {
            assert_eq!(name.parse::<Fault>(), Ok(fault));
            assert_eq!(format!(" {name}\t").parse::<Fault>(), Ok(fault));
        }
        assert!("explode".parse::<Fault>().unwrap_err().contains("hang"));
    }
}
