//! Output as docker prints it: aligned tables, sizes (`4.26MB`), ages (`2 hours ago`),
//! times, and JSON indented by four spaces. Pure functions.

use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// Rows aligned in columns as docker's tables are (Go's tabwriter with a minimum width
/// of 10 and a padding of 3): each column is as wide as its widest cell plus 3, at
/// least 10; the last cell of a row is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    const MIN_WIDTH: usize = 10;
    const PADDING: usize = 3;
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        let aligned = row.len().saturating_sub(1);
        for (column, cell) in row.iter().take(aligned).enumerate() {
            let width = (cell.chars().count() + PADDING).max(MIN_WIDTH);
            match widths.get_mut(column) {
                Some(known) => *known = (*known).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut text = String::new();
    for row in rows {
        let aligned = row.len().saturating_sub(1);
        for (column, cell) in row.iter().enumerate() {
            text.push_str(cell);
            if column < aligned {
                let width = widths.get(column).copied().unwrap_or(MIN_WIDTH);
                let pad = width.saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text.push('\n');
    }
    text
}

/// A size as docker shows it: decimal units, three significant digits (`4.26MB`,
/// `512B`, `1e+03kB` as Go's `%.3g` gives for 999.9 kB).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", three_significant(size), UNITS[unit])
}

/// Go's `%.3g` for a non-negative number below 10^21.
fn three_significant(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    // The exponent of the value rounded to three digits.
    let scientific = format!("{value:.2e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..3).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{}e{sign}{:02}",
            trim_fraction(mantissa),
            exponent.unsigned_abs()
        );
    }
    let decimals = usize::try_from(2 - exponent).unwrap_or(0);
    trim_fraction(&format!("{value:.decimals$}")).to_string()
}

/// `4.20` -> `4.2`, `1.00` -> `1`, `100` -> `100`.
fn trim_fraction(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// How long ago `then` (RFC 3339) was, as docker says it (`About an hour ago`); `N/A`
/// when unknown.
pub fn ago(then: Option<&str>, now: SystemTime) -> String {
    match since(then, now) {
        Some(duration) => format!("{duration} ago"),
        None => "N/A".to_string(),
    }
}

/// How long it has been since `then` (RFC 3339), as docker says it (`5 seconds`,
/// `About an hour`); `None` when unknown.
pub fn since(then: Option<&str>, now: SystemTime) -> Option<String> {
    let then = then.and_then(parse_rfc3339)?;
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    Some(human_duration((now - then).max(0)))
}

/// Go's `units.HumanDuration`.
fn human_duration(nanos: i128) -> String {
    const SECOND: i128 = 1_000_000_000;
    const HOUR: i128 = 3_600 * SECOND;
    let seconds = nanos / SECOND;
    let minutes = nanos / (60 * SECOND);
    // Rounded to the nearest hour, halves away from zero.
    let hours = (nanos + HOUR / 2) / HOUR;
    match () {
        _ if seconds < 1 => "Less than a second".to_string(),
        _ if seconds == 1 => "1 second".to_string(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", nanos / HOUR / 24 / 365),
    }
}

/// An RFC 3339 time (`2024-01-02T03:04:05.5Z`, `…+01:00`) as nanoseconds since the
/// epoch; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i128> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
        digits.parse().ok()
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators
        .iter()
        .any(|&(at, byte)| text.as_bytes().get(at) != Some(&byte))
        || !matches!(text.as_bytes().get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut nanos: i128 = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, byte) in fraction.bytes().take(digits).enumerate() {
            if i < 9 {
                nanos = nanos * 10 + i128::from(byte - b'0');
            }
        }
        nanos *= 10i128.pow(9u32.saturating_sub(digits as u32));
        rest = fraction.get(digits..)?;
    }
    let offset_seconds = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let (hours, minutes) = rest.get(1..)?.split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            sign * (hours.parse::<i64>().ok()? * 3_600 + minutes.parse::<i64>().ok()? * 60)
        }
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_seconds;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// An RFC 3339 time as docker's JSON output writes it, in UTC
/// (`2024-01-02 03:04:05 +0000 UTC`); the text as it is when it doesn't parse.
pub fn docker_time(text: &str) -> String {
    let Some(nanos) = parse_rfc3339(text) else {
        return text.to_string();
    };
    let seconds = i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(0);
    let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +0000 UTC",
        in_day / 3_600,
        in_day % 3_600 / 60,
        in_day % 60
    )
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// JSON indented by four spaces, as docker's `inspect` prints it, with a final newline.
pub fn json_pretty(value: &impl Serialize) -> String {
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    // Serializing a JSON value (or a derived Serialize of strings and numbers) into a
    // Vec can't fail.
    if value.serialize(&mut serializer).is_err() {
        return "null\n".to_string();
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn tables_align_like_docker() {
        let text = table(&[
            row(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]),
            row(&["bb", "latest", "0123456789ab", "2 hours ago", "1.2MB"]),
            row(&[
                "registry.example/x",
                "v1.2.3-long-tag",
                "ba9876543210",
                "N/A",
                "0B",
            ]),
        ]);
        assert_eq!(
            text,
            "REPOSITORY           TAG               IMAGE ID       CREATED       SIZE\n\
             bb                   latest            0123456789ab   2 hours ago   1.2MB\n\
             registry.example/x   v1.2.3-long-tag   ba9876543210   N/A           0B\n"
        );
        assert_eq!(
            table(&[
                row(&["DRIVER", "VOLUME NAME"]),
                row(&["local", "demo_data"])
            ]),
            "DRIVER    VOLUME NAME\nlocal     demo_data\n"
        );
        assert_eq!(table(&[]), "");
    }

    #[test]
    fn sizes_have_three_significant_digits() {
        for (bytes, expected) in [
            (0, "0B"),
            (7, "7B"),
            (999, "999B"),
            (1_000, "1kB"),
            (1_234, "1.23kB"),
            (4_261_234, "4.26MB"),
            (42_600_000, "42.6MB"),
            (426_000_000, "426MB"),
            (1_500_000_000, "1.5GB"),
            (999_999, "1e+03kB"),
        ] {
            assert_eq!(human_size(bytes), expected, "{bytes}");
        }
    }

    #[test]
    fn ages_read_like_docker() {
        let created = "2024-01-01T00:00:00Z";
        let base = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        let at = |secs: u64| ago(Some(created), base + Duration::from_secs(secs));
        assert_eq!(at(0), "Less than a second ago");
        assert_eq!(at(1), "1 second ago");
        assert_eq!(at(59), "59 seconds ago");
        assert_eq!(at(60), "About a minute ago");
        assert_eq!(at(119), "About a minute ago");
        assert_eq!(at(120), "2 minutes ago");
        assert_eq!(at(3_599), "59 minutes ago");
        assert_eq!(at(3_600), "About an hour ago");
        assert_eq!(at(5_399), "About an hour ago");
        assert_eq!(at(5_400), "2 hours ago");
        assert_eq!(at(47 * 3_600), "47 hours ago");
        assert_eq!(at(48 * 3_600), "2 days ago");
        assert_eq!(at(14 * 86_400), "2 weeks ago");
        assert_eq!(at(60 * 86_400), "2 months ago");
        assert_eq!(at(730 * 86_400), "2 years ago");
        // The future and the unknown.
        assert_eq!(
            ago(Some(created), base - Duration::from_secs(5)),
            "Less than a second ago"
        );
        assert_eq!(ago(None, base), "N/A");
        assert_eq!(ago(Some("yesterday"), base), "N/A");
    }

    #[test]
    fn rfc3339_times_parse() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2024-01-02T03:04:05.000000007Z"),
            Some(1_704_164_645_000_000_007)
        );
        assert_eq!(
            parse_rfc3339("2024-01-02T04:04:05.5+01:00"),
            Some(1_704_164_645_500_000_000)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T23:59:59-00:30"),
            Some((951_868_799 + 1_800) * 1_000_000_000)
        );
        for bad in [
            "",
            "2024-01-02",
            "2024-01-02T03:04:05",
            "2024-13-02T03:04:05Z",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05+0100",
            "2024-01-02X03:04:05Z",
            "2024-01-02T03:04:5Z",
            "२०२४-01-02T03:04:05Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn docker_times_are_utc() {
        assert_eq!(
            docker_time("2024-01-02T04:04:05.5+01:00"),
            "2024-01-02 03:04:05 +0000 UTC"
        );
        assert_eq!(
            docker_time("1999-12-31T23:59:59Z"),
            "1999-12-31 23:59:59 +0000 UTC"
        );
        assert_eq!(docker_time("not a time"), "not a time");
    }

    #[test]
    fn json_is_indented_by_four_spaces() {
        assert_eq!(
            json_pretty(&serde_json::json!([{"Id": "x", "Tags": []}])),
            "[\n    {\n        \"Id\": \"x\",\n        \"Tags\": []\n    }\n]\n"
        );
    }
}
