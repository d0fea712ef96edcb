//! Graph timestamps (`2015-01-29T09:21:55.523Z`, 0-7 fractional digits, `Z` or an offset)
//! to and from Unix milliseconds, without a date library (keeps the wasm bundle small).

use crate::error::CoreError;
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;

/// Parses an RFC 3339 timestamp as Graph writes it into Unix milliseconds.
pub fn parse_millis(s: &str) -> Result<i64, CoreError> {
    let err = || CoreError::Timestamp(s.to_owned());
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let num = |r: core::ops::Range<usize>| -> Result<i64, CoreError> {
        let part = s.get(r).ok_or_else(err)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        part.parse().map_err(|_| err())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(err());
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        // wasm-size: `get`, not indexing: no panicking str slice (indexing: +47 B gzipped wasm).
        let digits = s.get(start..i).ok_or_else(err)?;
        if digits.is_empty() || digits.len() > 9 {
            return Err(err());
        }
        let mut ms = String::from(digits.get(..digits.len().min(3)).ok_or_else(err)?);
        while ms.len() < 3 {
            ms.push('0');
        }
        millis = ms.parse().map_err(|_| err())?;
    }
    let offset_min = match s.get(i..).ok_or_else(err)? {
        "Z" | "z" => 0,
        o if o.len() == 6 && matches!(o.as_bytes()[0], b'+' | b'-') && o.as_bytes()[3] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return Err(err());
            }
            let sign = if o.as_bytes()[0] == b'-' { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return Err(err()),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Ok(secs * 1000 + millis)
}

/// Formats Unix milliseconds as Graph does: `YYYY-MM-DDTHH:MM:SS.fffZ`.
pub fn format_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:03}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok: &[(&str, i64)] = &[
            ("1970-01-01T00:00:00Z", 0),
            ("2015-01-29T09:21:55.523Z", 1_422_523_315_523),
            ("2015-01-29T09:21:55Z", 1_422_523_315_000),
            ("2015-01-29T09:21:55.5Z", 1_422_523_315_500),
            ("2015-01-29T09:21:55.5239999Z", 1_422_523_315_523),
            ("2015-01-29T10:21:55.523+01:00", 1_422_523_315_523),
            ("2015-01-29T08:21:55.523-01:00", 1_422_523_315_523),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ];
        for (s, want) in ok {
            assert_eq!(parse_millis(s), Ok(*want), "{s}");
        }
        for s in [
            "",
            "2015-01-29",
            "2015-01-29T09:21:55",
            "2015-13-01T00:00:00Z",
            "2015-02-29T00:00:00Z",
            "2015-01-29T24:00:00Z",
            "2015-01-29T09:21:55.Z",
            "2015-01-29T09:21:55.1234567890Z",
            "2015-01-29T09:21:55+0100",
            "20x5-01-29T09:21:55Z",
            "2015-01-29T09:21:55.523ZZ",
            "２015-01-29T09:21:55Z",
        ] {
            assert!(parse_millis(s).is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn format_round_trips() {
        for ms in [0, 1_422_523_315_523, 1_709_164_800_000, 4_102_444_799_999] {
            assert_eq!(parse_millis(&format_millis(ms)), Ok(ms));
        }
        assert_eq!(format_millis(1_422_523_315_523), "2015-01-29T09:21:55.523Z");
    }
}
