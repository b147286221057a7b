//! Virtual time: nanoseconds since the start of a run, and the duration syntax of scenario
//! files (`10ms`, `1.5s`, `200us`, `50ns`, `0`).

use std::fmt;
use std::time::Duration;

use crate::ScenarioError;

/// A virtual instant: nanoseconds since the start of the run. The simulator never reads a
/// real clock; everything it reports is in this unit.
pub type Nanos = u64;

/// One millisecond in [`Nanos`].
pub const NSEC_PER_MSEC: Nanos = 1_000_000;
/// One second in [`Nanos`].
pub const NSEC_PER_SEC: Nanos = 1_000_000_000;

/// Converts a duration to virtual nanoseconds, saturating at `u64::MAX`.
pub fn nanos(d: Duration) -> Nanos {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` microseconds.
pub const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Parses a duration written as a number and a unit: `ns`, `us`, `ms` or `s` (`0` alone is
/// allowed). Fractions are accepted (`1.5s`), rounded down to whole nanoseconds.
pub fn parse_duration(text: &str) -> Result<Duration, ScenarioError> {
    let bad = || ScenarioError::BadDuration(text.to_owned());
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "ns" => 1,
        "us" => 1_000,
        "ms" => NSEC_PER_MSEC,
        "s" => NSEC_PER_SEC,
        _ => return Err(bad()),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut total = int.checked_mul(scale).ok_or_else(bad)?;
    if !frac.is_empty() {
        if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
            return Err(bad());
        }
        let digits: u64 = frac.parse().map_err(|_| bad())?;
        let denom = 10u64.pow(u32::try_from(frac.len()).map_err(|_| bad())?);
        total = total
            .checked_add(
                u64::try_from(u128::from(digits) * u128::from(scale) / u128::from(denom))
                    .map_err(|_| bad())?,
            )
            .ok_or_else(bad)?;
    }
    Ok(Duration::from_nanos(total))
}

/// Writes a duration exactly, in the largest unit that divides it (`0`, `1500us`, `3s`):
/// [`parse_duration`] reads it back to the same value.
pub fn exact(d: Duration) -> String {
    let n = nanos(d);
    match n {
        0 => "0".to_owned(),
        n if n % NSEC_PER_SEC == 0 => format!("{}s", n / NSEC_PER_SEC),
        n if n % NSEC_PER_MSEC == 0 => format!("{}ms", n / NSEC_PER_MSEC),
        n if n % 1_000 == 0 => format!("{}us", n / 1_000),
        n => format!("{n}ns"),
    }
}

/// Displays virtual nanoseconds in the largest unit that keeps them readable
/// (`0`, `750us`, `12.5ms`, `3s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pretty(pub Nanos);

impl fmt::Display for Pretty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let (scale, unit) = if n == 0 {
            return f.write_str("0");
        } else if n >= NSEC_PER_SEC {
            (NSEC_PER_SEC, "s")
        } else if n >= NSEC_PER_MSEC {
            (NSEC_PER_MSEC, "ms")
        } else if n >= 1_000 {
            (1_000, "us")
        } else {
            (1, "ns")
        };
        let whole = n / scale;
        let rem = n % scale;
        if rem == 0 {
            write!(f, "{whole}{unit}")
        } else {
            // Up to three decimals, trailing zeros dropped.
            let millis = rem * 1000 / scale;
            let s = format!("{millis:03}");
            let s = s.trim_end_matches('0');
            if s.is_empty() {
                write!(f, "{whole}{unit}")
            } else {
                write!(f, "{whole}.{s}{unit}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit_with_fractions() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("50ns").unwrap(), Duration::from_nanos(50));
        assert_eq!(parse_duration("200us").unwrap(), us(200));
        assert_eq!(parse_duration("10ms").unwrap(), ms(10));
        assert_eq!(parse_duration("1.5s").unwrap(), ms(1500));
        assert_eq!(parse_duration(" 2 s ").unwrap(), secs(2));
        assert_eq!(parse_duration(".25ms").unwrap(), us(250));
    }

    #[test]
    fn malformed_durations_are_typed_errors() {
        for bad in [
            "",
            "ms",
            "10",
            "10min",
            "1.2.3s",
            "-1ms",
            "1.0000000001s",
            "99999999999999999999s",
        ] {
            assert!(
                matches!(parse_duration(bad), Err(ScenarioError::BadDuration(_))),
                "{bad:?} parsed"
            );
        }
    }

    #[test]
    fn exact_durations_read_back_to_the_same_value() {
        for n in [0, 1, 999, 1_000, 1_500_000, 2_000_000_000, 1_000_000_001] {
            let d = Duration::from_nanos(n);
            assert_eq!(parse_duration(&exact(d)).unwrap(), d, "{}", exact(d));
        }
        assert_eq!(exact(ms(1500)), "1500ms");
    }

    #[test]
    fn pretty_prints_in_the_largest_readable_unit() {
        assert_eq!(Pretty(0).to_string(), "0");
        assert_eq!(Pretty(750_000).to_string(), "750us");
        assert_eq!(Pretty(12_500_000).to_string(), "12.5ms");
        assert_eq!(Pretty(3 * NSEC_PER_SEC).to_string(), "3s");
        assert_eq!(Pretty(42).to_string(), "42ns");
    }
}
