//! Calendar dates, provider-day timestamps and duration strings.
//!
//! Every provider in the sandbox lives in America/Mexico_City, which has kept
//! UTC-6 all year since daylight saving time was abolished in October 2022, so
//! a fixed offset is exact for any date a test will use and needs no time-zone
//! database.

use std::fmt;
use std::time::Duration;

/// The providers' offset from UTC, in seconds.
pub const MX_OFFSET_SECS: i64 = -6 * 3600;

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A day of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// The date, if it exists in the calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        Date::new(
            digits(&b[0..4])? as i32,
            digits(&b[5..7])? as u8,
            digits(&b[8..10])? as u8,
        )
    }
}

/// How a date in the form that is none is told.
const NO_DAY: &str = "is no day of the calendar";

/// `YYYY-MM-DD`, as [`Date::parse_iso`] reads it.
impl std::str::FromStr for Date {
    type Err = String;

    fn from_str(s: &str) -> Result<Date, String> {
        Date::parse_iso(s).ok_or_else(|| {
            let quoted = crate::engine::quoted(s);
            // In the form, but no day of the calendar: say which part.
            let b = s.as_bytes();
            let form = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
            let part = |r: std::ops::Range<usize>| form.then(|| digits(&b[r])).flatten();
            match (part(0..4), part(5..7), part(8..10)) {
                (Some(y), Some(m), Some(_)) if (1..=12).contains(&m) => {
                    let days = days_in_month(y as i32, m as u8);
                    format!("'{quoted}' {NO_DAY}: {y:04}-{m:02} has {days} days")
                }
                (Some(_), Some(_), Some(_)) => {
                    format!("'{quoted}' {NO_DAY}: a month is 01 to 12")
                }
                _ => format!("'{quoted}' is not a date: expected YYYY-MM-DD"),
            }
        })
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if (0..=9999).contains(&self.year) {
            // Without the formatting machinery: answers print dates often.
            let mut b = *b"0000-00-00";
            put_digits(&mut b[0..4], u64::from(self.year.unsigned_abs()));
            put_digits(&mut b[5..7], u64::from(self.month));
            put_digits(&mut b[8..10], u64::from(self.day));
            f.write_str(std::str::from_utf8(&b).unwrap_or_default())
        } else {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// How many fraction digits [`Timestamp::write_mx`] writes.
#[derive(Clone, Copy)]
enum Fraction {
    /// Always six: microseconds.
    Micros,
    /// Up to six, without trailing zeros (none on a whole second).
    Trimmed,
    /// None: whole seconds.
    Whole,
}

/// An instant, in microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The last instant the providers' offset writes with a four-digit year:
    /// `9999-12-31T23:59:59.999999-06:00`, where the sandbox clock stops.
    pub const LAST_MX: Timestamp = Timestamp(253_402_322_400_000_000 - 1);

    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// The wall clock of this machine.
    pub fn system_now() -> Timestamp {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_micros() as i64)
    }

    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(d.as_micros().min(i64::MAX as u128) as i64),
        )
    }

    /// `self + d` as a sandbox instant: no later than [`Timestamp::LAST_MX`],
    /// where the sandbox clock stops (a time past it would be written with a
    /// five-digit year, and work due then would never fall due).
    pub fn plus_on_clock(self, d: Duration) -> Timestamp {
        self.plus(d).min(Timestamp::LAST_MX)
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0).max(0) as u64)
    }

    /// Whether the providers' offset writes this instant with a four-digit
    /// year (0001–9999), as RFC 3339 requires: the sandbox clock's range.
    pub fn in_rfc3339_range(self) -> bool {
        (1..=9999).contains(&self.mx_date().year)
    }

    /// The provider day (America/Mexico_City) this instant falls on.
    pub fn mx_date(self) -> Date {
        let local_secs = self.0.div_euclid(MICROS_PER_SEC) + MX_OFFSET_SECS;
        Date::from_days_since_epoch(local_secs.div_euclid(SECS_PER_DAY))
    }

    /// RFC 3339 in the providers' offset, always with six fraction digits
    /// (`2023-08-31T15:26:35.872883-06:00`): the admin API's, the journal's
    /// and async's times. nss writes Go's layout instead
    /// ([`Timestamp::to_mx_rfc3339_go`]).
    pub fn to_mx_rfc3339(self) -> String {
        let mut out = String::with_capacity(32);
        self.write_mx_rfc3339(&mut out);
        out
    }

    /// RFC 3339 in the providers' offset, whole seconds: `2023-08-31T15:26:35-06:00`.
    pub fn to_mx_rfc3339_secs(self) -> String {
        let mut out = String::with_capacity(25);
        self.write_mx_rfc3339_secs(&mut out);
        out
    }

    /// [`Timestamp::to_mx_rfc3339`], appended to `out`.
    pub fn write_mx_rfc3339(self, out: &mut String) {
        self.write_mx(out, Fraction::Micros);
    }

    /// [`Timestamp::to_mx_rfc3339_secs`], appended to `out`.
    pub fn write_mx_rfc3339_secs(self, out: &mut String) {
        self.write_mx(out, Fraction::Whole);
    }

    /// RFC 3339 in the providers' offset as Go writes a `time.Time` in JSON
    /// (`RFC3339Nano`): the fraction without its trailing zeros, none on a
    /// whole second (`…15:26:35.8728-06:00`, `…15:26:35-06:00`). Kiban's API
    /// is Go: its printed times are this layout's six-digit cases, and its
    /// zero time `0001-01-01T00:00:00Z` has no fraction.
    pub fn write_mx_rfc3339_go(self, out: &mut String) {
        self.write_mx(out, Fraction::Trimmed);
    }

    /// [`Timestamp::write_mx_rfc3339_go`] as a new string.
    pub fn to_mx_rfc3339_go(self) -> String {
        let mut out = String::with_capacity(32);
        self.write_mx_rfc3339_go(&mut out);
        out
    }

    fn write_mx(self, out: &mut String, fraction: Fraction) {
        // Written into a fixed layout and copied once: every provider answer
        // carries a time or two, and `format!` was a visible share of a
        // request's CPU. The offset's text is MX_OFFSET_SECS (the unit tests
        // read what is written back as the same instant).
        let local = self.0 + MX_OFFSET_SECS * MICROS_PER_SEC;
        let secs = local.div_euclid(MICROS_PER_SEC);
        let frac = local.rem_euclid(MICROS_PER_SEC);
        let date = Date::from_days_since_epoch(secs.div_euclid(SECS_PER_DAY));
        let sod = secs.rem_euclid(SECS_PER_DAY);
        // YYYY-MM-DDTHH:MM:SS.ffffff-06:00
        let mut b = *b"0000-00-00T00:00:00.000000-06:00";
        put_digits(&mut b[0..4], u64::from(date.year.unsigned_abs()));
        put_digits(&mut b[5..7], u64::from(date.month));
        put_digits(&mut b[8..10], u64::from(date.day));
        put_digits(&mut b[11..13], (sod / 3600) as u64);
        put_digits(&mut b[14..16], (sod % 3600 / 60) as u64);
        put_digits(&mut b[17..19], (sod % 60) as u64);
        put_digits(&mut b[20..26], frac as u64);
        let text = std::str::from_utf8(&b).unwrap_or_default();
        if (0..=9999).contains(&date.year) {
            out.push_str(&text[..4]);
        } else {
            out.push_str(&date.year.to_string());
        }
        let digits = match fraction {
            Fraction::Micros => 6,
            Fraction::Trimmed => {
                6 - text[20..26]
                    .bytes()
                    .rev()
                    .take_while(|&d| d == b'0')
                    .count()
            }
            Fraction::Whole => 0,
        };
        if digits == 0 {
            out.push_str(&text[4..19]);
        } else {
            out.push_str(&text[4..20 + digits]);
        }
        out.push_str(&text[26..]);
    }

    /// Parses RFC 3339 (`2024-01-02T03:04:05Z`, `…05.123-06:00`). A date alone
    /// (`2024-01-02`) means its midnight in the providers' offset.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, String> {
        let bad = || {
            let s = crate::engine::quoted(s);
            format!("'{s}' is not an RFC 3339 time such as 2024-01-02T09:30:00-06:00")
        };
        // A date in the form that is no day of the calendar says so.
        let day = |d: &str| {
            d.parse::<Date>()
                .map_err(|why| if why.contains(NO_DAY) { why } else { bad() })
        };
        let s = s.trim();
        if s.len() == 10 {
            let date = day(s)?;
            let secs = date.days_since_epoch() * SECS_PER_DAY - MX_OFFSET_SECS;
            return Ok(Timestamp(secs * MICROS_PER_SEC));
        }
        let b = s.as_bytes();
        if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return Err(bad());
        }
        let date = day(&s[..10])?;
        let h = digits(&b[11..13]).filter(|h| *h < 24).ok_or_else(bad)? as i64;
        let m = digits(&b[14..16]).filter(|m| *m < 60).ok_or_else(bad)? as i64;
        let sec = digits(&b[17..19]).filter(|s| *s < 61).ok_or_else(bad)? as i64;
        let mut rest = &s[19..];
        let mut frac_micros = 0i64;
        if let Some(after_dot) = rest.strip_prefix('.') {
            let n = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(bad());
            }
            let mut scale = 100_000i64;
            for d in after_dot[..n].bytes().take(6) {
                frac_micros += i64::from(d - b'0') * scale;
                scale /= 10;
            }
            rest = &after_dot[n..];
        }
        let offset_secs = match rest {
            "Z" | "z" => 0,
            _ => {
                let ob = rest.as_bytes();
                if ob.len() != 6 || !matches!(ob[0], b'+' | b'-') || ob[3] != b':' {
                    return Err(bad());
                }
                let oh = digits(&ob[1..3]).filter(|h| *h < 24).ok_or_else(bad)? as i64;
                let om = digits(&ob[4..6]).filter(|m| *m < 60).ok_or_else(bad)? as i64;
                let off = oh * 3600 + om * 60;
                if ob[0] == b'-' {
                    -off
                } else {
                    off
                }
            }
        };
        let secs = date.days_since_epoch() * SECS_PER_DAY + h * 3600 + m * 60 + sec - offset_secs;
        Ok(Timestamp(secs * MICROS_PER_SEC + frac_micros))
    }
}

/// The last digits of `n`, zero-padded, filling `dst`.
fn put_digits(dst: &mut [u8], mut n: u64) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// Parses a duration written as the admin API writes them: `250ms`, `2s`,
/// `20m`, `24h`, `1d`; a bare `0` is zero. Fractions are allowed (`1.5s`),
/// and the units `us` (or `µs`) and `min` (the README lists them all).
/// Parts add up, in any order, as Go's durations do: `19m58s`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    read_duration(s).map_err(|e| {
        let quoted = crate::engine::quoted(s);
        match e {
            Unread::NotADuration => format!("'{quoted}' {NOT_A_DURATION}"),
            Unread::TooLong => format!(
                "'{quoted}' is too long a duration (at most 1000000000000s, about 31,700 years)"
            ),
        }
    })
}

/// What is wrong with a text that is no duration, said of it.
const NOT_A_DURATION: &str = "is not a duration such as 250ms, 2s, 20m, 24h, 1d or 1h30m";

/// Why [`read_duration_at_most`] refused a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    NotADuration,
    /// Longer than the bound (however long: past what a duration can be
    /// too).
    MoreThan(Duration),
}

impl DurationError {
    /// What is wrong, said of the value without repeating it: "is not a
    /// duration such as …", "is more than 10m".
    pub fn said_of_it(self) -> String {
        match self {
            DurationError::NotADuration => NOT_A_DURATION.to_string(),
            DurationError::MoreThan(max) => format!("is more than {}", format_duration(max)),
        }
    }
}

impl std::fmt::Display for DurationError {
    /// As [`DurationError::said_of_it`]: "is not a duration such as …".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said_of_it())
    }
}

impl std::error::Error for DurationError {}

/// A duration of at most `max`: a longer one, however long (past what a
/// duration can be too), is [`DurationError::MoreThan`] `max`.
pub fn read_duration_at_most(s: &str, max: Duration) -> Result<Duration, DurationError> {
    match read_duration(s) {
        Ok(d) if d <= max => Ok(d),
        Ok(_) | Err(Unread::TooLong) => Err(DurationError::MoreThan(max)),
        Err(Unread::NotADuration) => Err(DurationError::NotADuration),
    }
}

/// Why a text is no duration.
enum Unread {
    NotADuration,
    /// A number of units past 10^12 seconds, about 31,700 years.
    TooLong,
}

fn read_duration(s: &str) -> Result<Duration, Unread> {
    let t = s.trim();
    let bad = || Unread::NotADuration;
    let too_long = || Unread::TooLong;
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(bad());
    }
    // Whole nanoseconds, as Go adds them up: a part too small for a float
    // beside a large one still counts.
    const MAX_NANOS: u128 = 1_000_000_000_000 * 1_000_000_000;
    let mut rest = t;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, after) = rest.split_at(split);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            _ => return Err(bad()),
        };
        let part = nanos_of(num, unit_nanos).ok_or_else(|| match number_shaped(num) {
            true => too_long(),
            false => bad(),
        })?;
        total = total
            .checked_add(part)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(too_long)?;
        rest = next;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| bad())?;
    // Below a nanosecond is dropped, as Go drops it.
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// `num` (digits with at most one `.`, and at least one digit) units of
/// `unit_nanos` nanoseconds each, in whole nanoseconds; `None` past 10^12
/// seconds' worth.
fn nanos_of(num: &str, unit_nanos: u128) -> Option<u128> {
    const LIMIT: u128 = 1_000_000_000_000 * 1_000_000_000;
    if !number_shaped(num) {
        return None;
    }
    let (whole, fraction) = num.split_once('.').unwrap_or((num, ""));
    let mut nanos: u128 = 0;
    for d in whole.bytes() {
        nanos = nanos.checked_mul(10)?.checked_add(u128::from(d - b'0'))?;
        if nanos.checked_mul(unit_nanos)? > LIMIT {
            return None;
        }
    }
    nanos = nanos.checked_mul(unit_nanos)?;
    // A unit is at most 8.64e13 ns: 20 places of a fraction reach below a
    // nanosecond of any unit and keep the product within u128.
    let places = &fraction[..fraction.len().min(20)];
    let mut numerator: u128 = 0;
    for d in places.bytes() {
        numerator = numerator * 10 + u128::from(d - b'0');
    }
    let scale = 10u128.pow(places.len() as u32);
    nanos.checked_add(numerator * unit_nanos / scale)
}

/// Whether digits and dots make a number: a digit at least, one dot at most.
fn number_shaped(num: &str) -> bool {
    let (whole, fraction) = num.split_once('.').unwrap_or((num, ""));
    (!whole.is_empty() || !fraction.is_empty()) && !fraction.contains('.')
}

/// Writes a duration the way [`parse_duration`] reads it back.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let below_ms = d.subsec_nanos() % 1_000_000;
    if below_ms != 0 {
        // `0.5ms`, as it was written: whole milliseconds would say `0`.
        let fraction = format!("{below_ms:06}");
        return format!("{ms}.{}ms", fraction.trim_end_matches('0'));
    }
    if ms == 0 {
        "0".into()
    } else if ms.is_multiple_of(86_400_000) {
        format!("{}d", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_that_is_not_one_says_why() {
        let why = |s: &str| s.parse::<Date>().unwrap_err();
        assert_eq!(
            why("2007-02-30"),
            "'2007-02-30' is no day of the calendar: 2007-02 has 28 days"
        );
        assert_eq!(
            why("2008-02-30"),
            "'2008-02-30' is no day of the calendar: 2008-02 has 29 days"
        );
        assert_eq!(
            why("2007-13-01"),
            "'2007-13-01' is no day of the calendar: a month is 01 to 12"
        );
        assert_eq!(
            why("2007/02/03"),
            "'2007/02/03' is not a date: expected YYYY-MM-DD"
        );
        assert_eq!(
            why("07-02-03"),
            "'07-02-03' is not a date: expected YYYY-MM-DD"
        );
        assert_eq!(
            "2007-02-28".parse::<Date>(),
            Ok(Date::new(2007, 2, 28).unwrap())
        );
        // The clock's times say so too, a date alone or a whole time.
        for t in ["2007-02-30", "2007-02-30T10:00:00-06:00"] {
            let why = Timestamp::parse_rfc3339(t).unwrap_err();
            assert_eq!(
                why, "'2007-02-30' is no day of the calendar: 2007-02 has 28 days",
                "{t}"
            );
        }
        let why = Timestamp::parse_rfc3339("2007/02/30").unwrap_err();
        assert!(why.contains("is not an RFC 3339 time"), "{why}");
    }

    #[test]
    fn civil_round_trip() {
        for days in -800_000..800_000i64 {
            if days % 997 != 0 {
                continue;
            }
            let d = Date::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days, "{d}");
        }
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Date::new(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
    }

    /// The last day of a 400-year era (a 29 February of a year divisible by
    /// 400) and the days beside it, which the sampled round trip skips.
    #[test]
    fn civil_round_trip_at_the_ends_of_eras() {
        for year in [-400, 0, 1600, 2000, 2400] {
            for (month, day) in [(2, 28), (2, 29), (3, 1)] {
                let d = Date::new(year, month, day).unwrap();
                assert_eq!(Date::from_days_since_epoch(d.days_since_epoch()), d);
            }
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2024, 13, 1).is_none());
        assert!(Date::parse_iso("2024-04-31").is_none());
    }

    /// Ten bytes with a dash at each of the two places: nothing shorter or
    /// otherwise punctuated, and no panic on a short text.
    #[test]
    fn parse_iso_reads_only_its_one_shape() {
        assert_eq!(Date::parse_iso("2024-01-02"), Date::new(2024, 1, 2));
        for s in [
            "2024x01-02",
            "2024-01x02",
            "2024/01/02",
            "2024-01-0",
            "2024-01-",
            "2024",
            "",
            "2024-01-022",
            "+024-01-02",
            "2024-ab-02",
            "20x4-01-02",
        ] {
            assert_eq!(Date::parse_iso(s), None, "{s}");
        }
    }

    #[test]
    fn formats_like_kiban() {
        let t = Timestamp::parse_rfc3339("2023-08-31T15:26:35.872883-06:00").unwrap();
        assert_eq!(t.to_mx_rfc3339(), "2023-08-31T15:26:35.872883-06:00");
        let z = Timestamp::parse_rfc3339("2023-09-01T03:00:00Z").unwrap();
        assert_eq!(z.to_mx_rfc3339_secs(), "2023-08-31T21:00:00-06:00");
        assert_eq!(z.mx_date(), Date::new(2023, 8, 31).unwrap());
        let early = Timestamp::parse_rfc3339("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(early.to_mx_rfc3339(), "0000-12-31T18:00:00.000000-06:00");
        let late = Timestamp::parse_rfc3339("9999-12-31T23:59:59.000001-06:00").unwrap();
        assert_eq!(late.to_mx_rfc3339(), "9999-12-31T23:59:59.000001-06:00");
        let last = Timestamp::LAST_MX;
        assert_eq!(last.to_mx_rfc3339(), "9999-12-31T23:59:59.999999-06:00");
        assert!(last.in_rfc3339_range());
        assert!(!last.plus(Duration::from_micros(1)).in_rfc3339_range());
        assert_eq!(last.plus_on_clock(Duration::from_secs(5)), last);
    }

    /// Go's `RFC3339Nano` drops the fraction's trailing zeros, and the
    /// fraction itself on a whole second.
    #[test]
    fn formats_like_go() {
        let go = |s: &str| Timestamp::parse_rfc3339(s).unwrap().to_mx_rfc3339_go();
        assert_eq!(
            go("2023-08-31T15:26:35.872883-06:00"),
            "2023-08-31T15:26:35.872883-06:00"
        );
        assert_eq!(
            go("2026-12-05T16:10:13.5797-06:00"),
            "2026-12-05T16:10:13.5797-06:00"
        );
        assert_eq!(
            go("2026-12-05T16:10:13.579700-06:00"),
            "2026-12-05T16:10:13.5797-06:00"
        );
        assert_eq!(
            go("2025-01-01T10:00:00.100000-06:00"),
            "2025-01-01T10:00:00.1-06:00"
        );
        assert_eq!(
            go("2025-01-01T10:00:00.000001-06:00"),
            "2025-01-01T10:00:00.000001-06:00"
        );
        assert_eq!(
            go("2025-01-01T10:00:00.000000-06:00"),
            "2025-01-01T10:00:00-06:00"
        );
        assert_eq!(go("2025-01-01T16:00:00Z"), "2025-01-01T10:00:00-06:00");
    }

    #[test]
    fn rejects_bad_times() {
        for s in [
            "",
            "yesterday",
            "2024-01-02T25:00:00Z",
            "2024-01-02T10:00:00",
            "2024-01-02T10:00:00+6",
            // Each field one past its last value.
            "2024-01-02T24:00:00Z",
            "2024-01-02T10:60:00Z",
            "2024-01-02T10:00:61Z",
            "2024-01-02T10:00:00+24:00",
            "2024-01-02T10:00:00+00:60",
            // Each separator wrong on its own.
            "2024-01-02X10:00:00Z",
            "2024-01-02T10-00:00Z",
            "2024-01-02T10:00-00Z",
            "2024-01-02T10:00:00*06:00",
            "2024-01-02T10:00:00+06-00",
            "2024-01-02T10:00:00+06:000",
            "2024-01-02T10:00:00.Z",
        ] {
            assert!(Timestamp::parse_rfc3339(s).is_err(), "{s}");
        }
        // The last value of each field, and a leap second, are read.
        for s in [
            "2024-01-02T23:59:60Z",
            "2024-01-02T10:00:00+23:59",
            "2024-01-02 10:00:00z",
        ] {
            assert!(Timestamp::parse_rfc3339(s).is_ok(), "{s}");
        }
    }

    /// Offsets and fractions move the instant by what they say; a date
    /// alone is its midnight in the providers' offset.
    #[test]
    fn parses_offsets_fractions_and_bare_dates() {
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let utc = at("2024-01-02T10:00:00Z");
        assert_eq!(utc, Timestamp(1_704_189_600 * MICROS_PER_SEC));
        assert_eq!(at("2024-01-02T15:30:00+05:30"), utc);
        assert_eq!(at("2024-01-02T04:00:00-06:00"), utc);
        assert_eq!(
            at("2024-01-02T10:00:00.25Z"),
            utc.plus(Duration::from_millis(250))
        );
        // Past six digits, the fraction is cut, not rounded.
        assert_eq!(
            at("2024-01-02T10:00:00.0000019Z"),
            utc.plus(Duration::from_micros(1))
        );
        assert_eq!(at("2024-01-02"), at("2024-01-02T00:00:00-06:00"));
        assert_eq!(at(" 2024-01-02 "), at("2024-01-02T06:00:00Z"));
    }

    #[test]
    fn instants_add_subtract_and_write_themselves() {
        let t = Timestamp::from_micros(1_704_189_600_123_456);
        assert_eq!(t.micros(), 1_704_189_600_123_456);
        let later = t.plus(Duration::from_secs(5));
        assert_eq!(later.since(t), Duration::from_secs(5));
        assert_eq!(t.since(later), Duration::ZERO);
        assert_eq!(
            Timestamp(i64::MAX - 1).plus(Duration::MAX),
            Timestamp(i64::MAX)
        );
        // Written after what `out` holds already.
        let mut out = String::from("at ");
        t.write_mx_rfc3339(&mut out);
        assert_eq!(out, "at 2024-01-02T04:00:00.123456-06:00");
        out.truncate(3);
        t.write_mx_rfc3339_secs(&mut out);
        assert_eq!(out, "at 2024-01-02T04:00:00-06:00");
        assert_eq!(t.to_mx_rfc3339_secs(), "2024-01-02T04:00:00-06:00");
        // What is written reads back as the same instant.
        assert_eq!(Timestamp::parse_rfc3339(&t.to_mx_rfc3339()), Ok(t));
        // This machine's clock is past the day this was written.
        let written = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert!(Timestamp::system_now() > written);
    }

    #[test]
    fn dates_write_themselves_with_four_digit_years() {
        let d = |y, m, d| Date::new(y, m, d).unwrap().to_string();
        assert_eq!(d(2024, 1, 2), "2024-01-02");
        assert_eq!(d(7, 11, 30), "0007-11-30");
        assert_eq!(d(10_000, 4, 30), "10000-04-30");
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 9), 30);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 13), 0);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("20m").unwrap(), Duration::from_secs(1200));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(
            parse_duration("1500us").unwrap(),
            Duration::from_micros(1500)
        );
        assert_eq!(parse_duration("2µs").unwrap(), Duration::from_micros(2));
        assert_eq!(parse_duration("2min").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_duration("1000000000000s").unwrap(),
            Duration::from_secs(1_000_000_000_000)
        );
        // Parts add up, in any order.
        for (s, secs) in [
            ("19m58s", 1198),
            ("1h30m", 5400),
            ("1d2h", 93_600),
            ("1s1h", 3601),
        ] {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_secs(secs), "{s}");
        }
        assert_eq!(
            parse_duration("1m0.5s").unwrap(),
            Duration::from_millis(60_500)
        );
        assert_eq!(
            parse_duration("1m0.001s").unwrap(),
            Duration::from_millis(60_001)
        );
        // Added up in whole nanoseconds: past the bound by a microsecond is
        // past it; below a nanosecond is dropped.
        assert!(parse_duration("1000000000000s1us").is_err());
        assert!(parse_duration("16666666667m").is_err());
        assert_eq!(parse_duration("0.1s").unwrap(), Duration::from_millis(100));
        assert_eq!(
            parse_duration("0.0000000019s").unwrap(),
            Duration::from_nanos(1)
        );
        assert_eq!(
            parse_duration(".5s1.s").unwrap(),
            Duration::from_millis(1500)
        );
        for s in ["1h30", "h30m", "1h 30m", "1h-30m", "1h30m-", "1.2.3s", ".s"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
        // Past 10^12 seconds (about 31,700 years), or written past f64.
        let huge = format!("{}s", "9".repeat(400));
        for s in [
            "",
            "ms",
            "10",
            "-1s",
            "3 weeks",
            "1e400s",
            "2000000000000s",
            &huge,
        ] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
        // A number too large says so, and not that it is no duration.
        for (s, said) in [
            (
                "2000000000000s",
                "too long a duration (at most 1000000000000s",
            ),
            ("1000000000000s1us", "too long"),
            ("16666666667m", "too long"),
            ("99999999999999999999d", "too long"),
            (&huge, "too long"),
            ("1.2.3s", "is not a duration"),
            ("99999999999999999999x", "is not a duration"),
        ] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.contains(said), "{s}: {e}");
        }
        assert_eq!(format_duration(Duration::from_secs(1200)), "20m");
        // What is written reads back as the same duration.
        for s in ["0.5ms", "1.25ms", "0.001ms", "250ms", "1.5s", "2h"] {
            let d = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{s}");
        }
        assert_eq!(format_duration(Duration::from_micros(500)), "0.5ms");
        assert_eq!(format_duration(Duration::from_micros(1250)), "1.25ms");
    }
}
