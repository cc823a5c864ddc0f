//! Durations and byte sizes as compose files write them (`1m30s`, `256m`), and as
//! `rcompose config` prints them (Go's `time.Duration` text, bytes as a quoted number),
//! which is what `docker compose config` prints.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a duration or a size could not be read. The text names the input and says what
/// was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("{0:?} is not a duration: use a number and a unit (ns, us, ms, s, m, h), e.g. 1m30s")]
    NotADuration(String),
    #[error("{0:?} is negative: a duration is 0 or more, e.g. 1m30s")]
    NegativeDuration(String),
    #[error("{0:?} is too long: the longest duration is {max}", max = Duration::MAX)]
    DurationTooLong(String),
    #[error(
        "{0:?} is not a size: use a number and an optional unit (b, k, m, g, t, p; \
         multiples of 1024), e.g. 256m"
    )]
    NotASize(String),
    #[error("{0:?} is too large: the largest size is {max} bytes", max = ByteSize::MAX.0)]
    SizeTooLarge(String),
}

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// A length of time, kept in nanoseconds and bounded like Go's `time.Duration`
/// (at most `i64::MAX` ns, about 292 years), so every value prints as compose does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    nanos: u64,
}

impl Duration {
    /// No time at all, printed `0s`.
    pub const ZERO: Duration = Duration { nanos: 0 };
    /// The longest duration Go (and so compose) can represent.
    pub const MAX: Duration = Duration {
        nanos: i64::MAX as u64,
    };

    /// `None` when `nanos` is beyond [`Duration::MAX`].
    pub fn from_nanos(nanos: u64) -> Option<Duration> {
        (nanos <= Self::MAX.nanos).then_some(Duration { nanos })
    }

    /// `None` when `secs` is beyond [`Duration::MAX`].
    pub fn from_secs(secs: u64) -> Option<Duration> {
        secs.checked_mul(NANOS_PER_SECOND)
            .and_then(Duration::from_nanos)
    }

    /// The length in nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// The same length as a `std::time::Duration`.
    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.nanos)
    }

    /// Reads a duration as compose does (compose-go uses `str2duration`): a sequence of
    /// decimal numbers, each with an optional fraction and a unit (`ns`, `us`/`µs`, `ms`,
    /// `s`, `m`, `h`, and also `d` and `w`), e.g. `1m30s`, `1.5s`, `300ms`. A bare `0`
    /// is zero; any other number needs a unit.
    pub fn parse(text: &str) -> Result<Duration, UnitError> {
        let not_a_duration = || UnitError::NotADuration(text.to_string());
        let (negative, mut rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if rest == "0" {
            return Ok(Duration::ZERO);
        }
        if rest.is_empty() {
            return Err(not_a_duration());
        }
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (int_digits, after_int) = rest.split_at(int_len);
            let (frac_digits, after_number) = match after_int.strip_prefix('.') {
                Some(after_dot) => {
                    let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                    after_dot.split_at(frac_len)
                }
                None => ("", after_int),
            };
            if int_digits.is_empty() && frac_digits.is_empty() {
                return Err(not_a_duration());
            }
            let unit_len = after_number
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after_number.len());
            let (unit, after_unit) = after_number.split_at(unit_len);
            let unit_nanos = duration_unit(unit).ok_or_else(not_a_duration)?;
            total += decimal_times(int_digits, frac_digits, unit_nanos)
                .ok_or_else(|| UnitError::DurationTooLong(text.to_string()))?;
            if total > u128::from(Self::MAX.nanos) {
                return Err(UnitError::DurationTooLong(text.to_string()));
            }
            rest = after_unit;
        }
        if negative && total > 0 {
            return Err(UnitError::NegativeDuration(text.to_string()));
        }
        // `total` was checked against MAX above.
        Ok(Duration {
            nanos: total as u64,
        })
    }
}

/// Nanoseconds in one of str2duration's units.
fn duration_unit(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SECOND,
        "m" => 60 * NANOS_PER_SECOND,
        "h" => 3_600 * NANOS_PER_SECOND,
        "d" => 86_400 * NANOS_PER_SECOND,
        "w" => 604_800 * NANOS_PER_SECOND,
        _ => return None,
    })
}

/// `int.frac * multiplier`, truncated towards zero; `None` when the integer part alone
/// overflows. Fraction digits past the 18th are ignored (they are below a nanosecond or
/// a byte for every unit we have).
fn decimal_times(int_digits: &str, frac_digits: &str, multiplier: u64) -> Option<u128> {
    let int: u128 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse::<u64>().ok()?.into()
    };
    let frac_digits = frac_digits.get(..18).unwrap_or(frac_digits);
    let frac: u128 = if frac_digits.is_empty() {
        0
    } else {
        frac_digits.parse::<u64>().ok()?.into()
    };
    let scale = 10u128.pow(frac_digits.len() as u32);
    let multiplier = u128::from(multiplier);
    Some(int * multiplier + frac * multiplier / scale)
}

/// Go's `time.Duration.String()`: `1h0m0s`, `1m30s`, `1.5s`, `300ms`, `2µs`, `0s`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.nanos;
        if nanos == 0 {
            return f.write_str("0s");
        }
        if nanos < NANOS_PER_SECOND {
            let (per_unit, unit) = match nanos {
                0..1_000 => (1, "ns"),
                1_000..1_000_000 => (1_000, "\u{b5}s"),
                _ => (1_000_000, "ms"),
            };
            write!(f, "{}", nanos / per_unit)?;
            write_fraction(f, nanos % per_unit, per_unit)?;
            return f.write_str(unit);
        }
        let secs = nanos / NANOS_PER_SECOND;
        let (hours, minutes, seconds) = (secs / 3_600, secs / 60 % 60, secs % 60);
        if hours > 0 {
            write!(f, "{hours}h{minutes}m")?;
        } else if minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        write!(f, "{seconds}")?;
        write_fraction(f, nanos % NANOS_PER_SECOND, NANOS_PER_SECOND)?;
        f.write_str("s")
    }
}

/// Writes `.ddd` for `part / whole` (whole a power of ten) without trailing zeros, or
/// nothing when `part` is zero.
fn write_fraction(f: &mut fmt::Formatter<'_>, part: u64, whole: u64) -> fmt::Result {
    if part == 0 {
        return Ok(());
    }
    let width = whole.ilog10() as usize;
    let digits = format!("{part:0width$}");
    write!(f, ".{}", digits.trim_end_matches('0'))
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Duration::parse(&text).map_err(de::Error::custom)
    }
}

/// An amount of memory or storage in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The largest size compose (Go's `int64`) can hold.
    pub const MAX: ByteSize = ByteSize(i64::MAX as u64);

    /// Reads a size as docker's `RAMInBytes` does: a number (a fraction allowed), an
    /// optional space, then an optional unit `k`, `m`, `g`, `t` or `p` (powers of 1024),
    /// optionally followed by `i` and/or `b`; case does not matter: `256m`, `1.5g`,
    /// `2MiB`, `1gb`, `100b`, `1024`. Fractions of a byte are dropped.
    pub fn parse(text: &str) -> Result<ByteSize, UnitError> {
        let not_a_size = || UnitError::NotASize(text.to_string());
        let int_len = text.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, rest) = text.split_at(int_len);
        if int_digits.is_empty() {
            return Err(not_a_size());
        }
        let (frac_digits, rest) = match rest.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                if frac_len == 0 {
                    return Err(not_a_size());
                }
                after_dot.split_at(frac_len)
            }
            None => ("", rest),
        };
        let unit = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
        let (prefix, suffix) = match unit.as_bytes().first() {
            Some(b'k') => (1u64 << 10, &unit[1..]),
            Some(b'm') => (1 << 20, &unit[1..]),
            Some(b'g') => (1 << 30, &unit[1..]),
            Some(b't') => (1 << 40, &unit[1..]),
            Some(b'p') => (1 << 50, &unit[1..]),
            _ => (1, unit.as_str()),
        };
        let suffix_ok = match suffix {
            "" | "b" => true,
            "i" | "ib" => prefix > 1,
            _ => false,
        };
        if !suffix_ok {
            return Err(not_a_size());
        }
        let too_large = || UnitError::SizeTooLarge(text.to_string());
        let bytes = decimal_times(int_digits, frac_digits, prefix).ok_or_else(too_large)?;
        if bytes > u128::from(Self::MAX.0) {
            return Err(too_large());
        }
        // Checked against MAX just above.
        Ok(ByteSize(bytes as u64))
    }
}

/// The number of bytes, as `docker compose config` prints sizes (`268435456`).
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// As a string of the byte count (`"268435456"`): compose-go's `UnitBytes` marshals so.
impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(SizeVisitor)
            .and_then(|size| match size {
                SwapLimit::Limited(size) => Ok(size),
                SwapLimit::Unlimited => Err(de::Error::custom(UnitError::NotASize("-1".into()))),
            })
    }
}

/// `memswap_limit`: a size, or `-1` for unlimited swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SwapLimit {
    Unlimited,
    Limited(ByteSize),
}

impl SwapLimit {
    /// `-1` is [`SwapLimit::Unlimited`]; anything else is read by [`ByteSize::parse`].
    pub fn parse(text: &str) -> Result<SwapLimit, UnitError> {
        if text == "-1" {
            return Ok(SwapLimit::Unlimited);
        }
        ByteSize::parse(text).map(SwapLimit::Limited)
    }
}

/// `-1` or the number of bytes, as compose prints it.
impl fmt::Display for SwapLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwapLimit::Unlimited => f.write_str("-1"),
            SwapLimit::Limited(size) => size.fmt(f),
        }
    }
}

impl Serialize for SwapLimit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SwapLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Reads a size from a string or an integer (`-1` meaning unlimited).
struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = SwapLimit;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a size such as 256m or a number of bytes")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SwapLimit, E> {
        SwapLimit::parse(text).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<SwapLimit, E> {
        if bytes > ByteSize::MAX.0 {
            return Err(E::custom(UnitError::SizeTooLarge(bytes.to_string())));
        }
        Ok(SwapLimit::Limited(ByteSize(bytes)))
    }

    fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<SwapLimit, E> {
        match u64::try_from(bytes) {
            Ok(bytes) => self.visit_u64(bytes),
            Err(_) => SwapLimit::parse(&bytes.to_string()).map_err(E::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NANOS_PER_SECOND;

    #[test]
    fn parses_durations() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("0s", 0),
            ("-0", 0),
            ("+10s", 10 * S),
            ("10s", 10 * S),
            ("1m30s", 90 * S),
            ("300ms", 300_000_000),
            ("1h", 3_600 * S),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("1.s", S),
            ("2us", 2_000),
            ("2\u{b5}s", 2_000),
            ("2\u{3bc}s", 2_000),
            ("100ns", 100),
            ("1h2m3s", 3_723 * S),
            ("1h30m", 5_400 * S),
            ("1.5h", 5_400 * S),
            ("2d", 172_800 * S),
            ("1w", 604_800 * S),
            ("0.000000001s", 1),
            ("0.0000000019s", 1),
            ("1s500ms", 1_500_000_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(
                Duration::parse(text).map(Duration::as_nanos),
                Ok(*nanos),
                "{text}"
            );
        }
        assert_eq!(
            Duration::parse("2562047h47m16.854775807s"),
            Ok(Duration::MAX)
        );
    }

    #[test]
    fn rejects_bad_durations() {
        let not = |t: &str| Err(UnitError::NotADuration(t.to_string()));
        for text in [
            "", "1x", "10", "s", "1", "1.5", ".s", "-", "1 s", "1s ", "1S", "ms1",
        ] {
            assert_eq!(Duration::parse(text), not(text), "{text:?}");
        }
        assert_eq!(
            Duration::parse("-5s"),
            Err(UnitError::NegativeDuration("-5s".into()))
        );
        assert_eq!(
            Duration::parse("2562047h47m16.854775808s"),
            Err(UnitError::DurationTooLong(
                "2562047h47m16.854775808s".into()
            ))
        );
        assert_eq!(
            Duration::parse("99999999999999999999s"),
            Err(UnitError::DurationTooLong("99999999999999999999s".into()))
        );
    }

    #[test]
    fn duration_errors_read_well() {
        assert_eq!(
            Duration::parse("1x").unwrap_err().to_string(),
            "\"1x\" is not a duration: use a number and a unit (ns, us, ms, s, m, h), e.g. 1m30s"
        );
        assert_eq!(
            Duration::parse("-5s").unwrap_err().to_string(),
            "\"-5s\" is negative: a duration is 0 or more, e.g. 1m30s"
        );
        assert_eq!(
            Duration::parse("3000000h").unwrap_err().to_string(),
            "\"3000000h\" is too long: the longest duration is 2562047h47m16.854775807s"
        );
    }

    #[test]
    fn displays_durations_like_go() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (100, "100ns"),
            (1_500, "1.5\u{b5}s"),
            (2_000, "2\u{b5}s"),
            (300_000_000, "300ms"),
            (1_234_567, "1.234567ms"),
            (S, "1s"),
            (1_500_000_000, "1.5s"),
            (90 * S, "1m30s"),
            (60 * S, "1m0s"),
            (3_600 * S, "1h0m0s"),
            (3_723 * S, "1h2m3s"),
            (3_600 * S + 1, "1h0m0.000000001s"),
            (172_800 * S, "48h0m0s"),
        ];
        for (nanos, text) in cases {
            let duration = Duration::from_nanos(*nanos).unwrap();
            assert_eq!(duration.to_string(), *text);
            assert_eq!(Duration::parse(text), Ok(duration), "round trip of {text}");
        }
    }

    #[test]
    fn duration_constructors_respect_the_bound() {
        assert_eq!(
            Duration::from_secs(10).map(Duration::as_nanos),
            Some(10 * S)
        );
        assert_eq!(Duration::from_nanos(i64::MAX as u64 + 1), None);
        assert_eq!(Duration::from_secs(u64::MAX), None);
        assert_eq!(
            Duration::from_secs(2).unwrap().as_std(),
            std::time::Duration::from_secs(2)
        );
    }

    #[test]
    fn serializes_durations_as_go_text() {
        let duration = Duration::parse("90s").unwrap();
        assert_eq!(serde_json::to_string(&duration).unwrap(), "\"1m30s\"");
        assert_eq!(
            serde_json::from_str::<Duration>("\"1m30s\"").unwrap(),
            duration
        );
        assert_eq!(
            serde_json::from_str::<Duration>("\"1x\"")
                .unwrap_err()
                .to_string(),
            "\"1x\" is not a duration: use a number and a unit (ns, us, ms, s, m, h), e.g. 1m30s"
        );
    }

    #[test]
    fn parses_sizes() {
        const K: u64 = 1024;
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("1024", 1024),
            ("100b", 100),
            ("100B", 100),
            ("512k", 512 * K),
            ("512K", 512 * K),
            ("512kb", 512 * K),
            ("256m", 256 * K * K),
            ("256M", 256 * K * K),
            ("1g", K * K * K),
            ("1gb", K * K * K),
            ("1GB", K * K * K),
            ("2MiB", 2 * K * K),
            ("2mi", 2 * K * K),
            ("2 MiB", 2 * K * K),
            ("2 ", 2),
            ("1.5g", 1_610_612_736),
            ("0.5k", 512),
            ("1.0001k", 1024),
            ("1t", K * K * K * K),
            ("2p", 2 * K * K * K * K * K),
        ];
        for (text, bytes) in cases {
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(*bytes)), "{text}");
        }
        assert_eq!(ByteSize::parse("9223372036854775807"), Ok(ByteSize::MAX));
    }

    #[test]
    fn rejects_bad_sizes() {
        let not = |t: &str| Err(UnitError::NotASize(t.to_string()));
        for text in [
            "", "1x", "m", "-1", "1.5.5g", ".5g", "1.g", " 1", "1  m", "1e3", "1i", "1ib", "1bb",
            "1kk", "1gi b",
        ] {
            assert_eq!(ByteSize::parse(text), not(text), "{text:?}");
        }
        assert_eq!(
            ByteSize::parse("8192p"),
            Err(UnitError::SizeTooLarge("8192p".into()))
        );
        assert_eq!(
            ByteSize::parse("99999999999999999999"),
            Err(UnitError::SizeTooLarge("99999999999999999999".into()))
        );
        assert_eq!(
            ByteSize::parse("1x").unwrap_err().to_string(),
            "\"1x\" is not a size: use a number and an optional unit (b, k, m, g, t, p; \
             multiples of 1024), e.g. 256m"
        );
        assert_eq!(
            ByteSize::parse("8192p").unwrap_err().to_string(),
            "\"8192p\" is too large: the largest size is 9223372036854775807 bytes"
        );
    }

    #[test]
    fn serializes_sizes_as_a_string_of_bytes() {
        let size = ByteSize::parse("256m").unwrap();
        assert_eq!(size.to_string(), "268435456");
        assert_eq!(serde_json::to_string(&size).unwrap(), "\"268435456\"");
        assert_eq!(yaml_serde::to_string(&size).unwrap(), "'268435456'\n");
        for json in ["\"268435456\"", "268435456", "\"256m\""] {
            assert_eq!(
                serde_json::from_str::<ByteSize>(json).unwrap(),
                size,
                "{json}"
            );
        }
        assert!(serde_json::from_str::<ByteSize>("-1").is_err());
        assert!(serde_json::from_str::<ByteSize>("\"1x\"").is_err());
    }

    #[test]
    fn swap_limits_allow_minus_one() {
        assert_eq!(SwapLimit::parse("-1"), Ok(SwapLimit::Unlimited));
        assert_eq!(
            SwapLimit::parse("1g"),
            Ok(SwapLimit::Limited(ByteSize(1 << 30)))
        );
        assert_eq!(
            SwapLimit::parse("-2"),
            Err(UnitError::NotASize("-2".into()))
        );
        assert_eq!(SwapLimit::Unlimited.to_string(), "-1");
        assert_eq!(
            serde_json::to_string(&SwapLimit::Limited(ByteSize(5))).unwrap(),
            "\"5\""
        );
        for (json, limit) in [
            ("-1", SwapLimit::Unlimited),
            ("\"-1\"", SwapLimit::Unlimited),
            ("\"2k\"", SwapLimit::Limited(ByteSize(2048))),
            ("7", SwapLimit::Limited(ByteSize(7))),
        ] {
            assert_eq!(serde_json::from_str::<SwapLimit>(json).unwrap(), limit);
        }
        assert!(serde_json::from_str::<SwapLimit>("-3").is_err());
    }
}
