//! Times written in documents (RFC 3339), as Unix seconds. The core reads no clock: every time
//! it compares comes from the evidence or the policy.

use alloc::format;
/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to Unix seconds (the fraction is dropped,
/// so a time is never rounded up past a boundary). `None` for anything else.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: core::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        core::str::from_utf8(digits).ok()?.parse().ok()
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = rest.as_bytes();
            if zone.len() != 6 || zone[3] != b':' {
                return None;
            }
            let parse = |r: core::ops::Range<usize>| -> Option<i64> {
                let d = zone.get(r)?;
                if !d.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                core::str::from_utf8(d).ok()?.parse().ok()
            };
            let (h, m) = (parse(1..3)?, parse(4..6)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// A validity window in Unix seconds, either end open.
pub(crate) type Window = (Option<i64>, Option<i64>);

/// Whether `time` is within `window`, both ends included.
pub(crate) fn within(window: Window, time: i64) -> bool {
    window.0.is_none_or(|start| start <= time) && window.1.is_none_or(|end| time <= end)
}

/// A trusted root's `validFor` (`{"start": RFC 3339, "end": RFC 3339}`, either absent or null)
/// found at `pointer` in `entry`; `field` names it in errors.
pub(crate) fn valid_for(
    entry: &serde_json::Value,
    pointer: &str,
    field: &str,
) -> Result<Window, alloc::string::String> {
    let end = |name: &str| match entry.pointer(&format!("{pointer}/{name}")) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(parse_rfc3339)
            .map(Some)
            .ok_or_else(|| format!("{field}.{name} is not an RFC 3339 time")),
    };
    Ok((end("start")?, end("end")?))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`, for messages.
pub(crate) fn format_rfc3339(time: i64) -> alloc::string::String {
    let days = time.div_euclid(86_400);
    let second = time.rem_euclid(86_400);
    // The inverse of days_from_civil (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_times_read_back() {
        for time in [0, 951_782_400, 1_749_729_740, 4_102_444_799, -86_401] {
            assert_eq!(parse_rfc3339(&format_rfc3339(time)), Some(time), "{time}");
        }
        assert_eq!(format_rfc3339(1_749_729_740), "2025-06-12T12:02:20Z");
    }

    #[test]
    fn rfc3339_times_are_unix_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2021-01-12T11:53:27Z"), Some(1_610_452_407));
        assert_eq!(
            parse_rfc3339("2021-01-12T11:53:27.123Z"),
            Some(1_610_452_407)
        );
        assert_eq!(
            parse_rfc3339("2021-01-12T12:53:27+01:00"),
            Some(1_610_452_407)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "2021-01-12",
            "2021-13-12T11:53:27Z",
            "2021-02-29T11:53:27Z",
            "2021-01-12T11:53:27",
            "2021-01-12T11:53:27.Z",
            "2021-01-12T11:53:27+0100",
            "２021-01-12T11:53:27Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }
}
