//! RFC 3339 datetimes in UTC, as seconds since the Unix epoch.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, whole seconds since 1970-01-01T00:00:00Z (RFC 8460 §4.4 datetimes).
///
/// Written as RFC 3339 in UTC (`2016-04-01T00:00:00Z`). Read from RFC 3339 with `Z` or a
/// numeric offset, with or without fractional seconds (dropped), a space or `T` between date
/// and time, and, as some senders write it, without a zone (read as UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(i64);

/// A datetime string that is not RFC 3339 (or RFC 3339 without the zone).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid datetime {0:?} (want RFC 3339, e.g. 2016-04-01T00:00:00Z)")]
pub struct InvalidDateTime(String);

impl DateTime {
    /// The datetime `secs` seconds after the Unix epoch.
    pub const fn from_unix(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// `t`, to the second (before the epoch: negative).
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(e) => Self(-i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX)),
        }
    }

    /// Now, from the system clock.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Reads an RFC 3339 datetime (see the type's documentation for what is accepted).
    pub fn parse(s: &str) -> Result<Self, InvalidDateTime> {
        parse(s.trim()).ok_or_else(|| InvalidDateTime(s.to_owned()))
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl std::str::FromStr for DateTime {
    type Err = InvalidDateTime;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, c| n * 10 + i64::from(c - b'0')))
}

fn parse(s: &str) -> Option<DateTime> {
    let b = s.as_bytes();
    // YYYY-MM-DD, then T/t/space, then HH:MM:SS.
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute) = (digits(&b[11..13])?, digits(&b[14..16])?);
    // RFC 3339 §5.6 allows a leap second (60); it is read as 59.
    let second = digits(&b[17..19])?.min(59);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [] | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(DateTime(local - offset))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_utc_written_and_read() {
        let t = DateTime::parse("2016-04-01T00:00:00Z").unwrap();
        assert_eq!(t.unix(), 1_459_468_800);
        assert_eq!(t.to_string(), "2016-04-01T00:00:00Z");
        assert_eq!(DateTime::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(DateTime::from_unix(-1).to_string(), "1969-12-31T23:59:59Z");
        assert_eq!(
            DateTime::from_unix(951_825_599).to_string(),
            "2000-02-29T11:59:59Z"
        );
    }

    #[test]
    fn variations_senders_emit() {
        let z = DateTime::parse("2016-04-01T23:59:59Z").unwrap();
        for s in [
            "2016-04-01T23:59:59",
            "2016-04-01 23:59:59",
            "2016-04-01t23:59:59z",
            "2016-04-01T23:59:59.999Z",
            "2016-04-02T01:59:59+02:00",
            "2016-04-01T20:59:59-03:00",
            "2016-04-01T23:59:60Z",
            " 2016-04-01T23:59:59Z ",
        ] {
            assert_eq!(DateTime::parse(s), Ok(z), "{s}");
        }
        for s in [
            "",
            "2016-04-01",
            "2016-13-01T00:00:00Z",
            "2015-02-29T00:00:00Z",
            "2016-04-01T24:00:00Z",
            "2016-04-01T00:00:00.Z",
            "2016-04-01T00:00:00+0200",
            "2016-04-01X00:00:00Z",
            "+016-04-01T00:00:00Z",
        ] {
            assert!(DateTime::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn days_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
