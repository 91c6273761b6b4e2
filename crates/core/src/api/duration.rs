//! Durations as the resources write them: Go's `time.ParseDuration` format (`90s`, `10m`,
//! `1h30m`, `1.5h`), read with checked arithmetic. A tenant writes these strings, so no
//! value may panic the reader or anything that adds the result to a date: a duration beyond
//! [`MAX_DURATION`] is refused, whatever its digits.

use std::time::Duration;

/// The longest duration any field may hold: one hundred years. Any date driftwarden adds it
/// to stays far inside what a timestamp can hold (the year 9999).
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A duration string that is not a positive Go duration of at most [`MAX_DURATION`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string does not follow the Go duration format.
    #[error("{value:?} is not a duration such as `10m` or `1h30m`: {reason}")]
    Malformed {
        /// The string that was read.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The duration is negative.
    #[error("{value:?} is negative; a duration here must be positive")]
    Negative {
        /// The string that was read.
        value: String,
    },
    /// The duration is longer than any field allows.
    #[error("{value:?} is longer than 100 years, the longest duration allowed")]
    TooLong {
        /// The string that was read.
        value: String,
    },
    /// The duration is longer than its field allows.
    #[error("{value:?} is longer than {max}, the longest this field allows")]
    AboveMaximum {
        /// The string that was read.
        value: String,
        /// The longest duration the field allows, as the CRD states it.
        max: &'static str,
    },
}

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// The units Go reads, longest first where one is a prefix of another, in nanoseconds.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SECOND),
    ("m", 60 * NANOS_PER_SECOND),
    ("h", 3_600 * NANOS_PER_SECOND),
];

/// Reads a duration written in the Go format (`90s`, `10m`, `1h30m`, `2160h`), the format of
/// every duration field of the driftwarden resources. Never panics.
pub fn parse_duration(value: &str) -> Result<Duration, DurationError> {
    let malformed = |reason| DurationError::Malformed { value: value.to_string(), reason };
    let too_long = || DurationError::TooLong { value: value.to_string() };
    let (negative, mut rest) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(malformed("it is empty"));
    }
    let max = MAX_DURATION.as_nanos();
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let whole_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = rest.split_at(whole_len);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => {
                let len = after.bytes().take_while(u8::is_ascii_digit).count();
                after.split_at(len)
            }
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(malformed("a number is missing"));
        }
        let Some(&(unit, scale)) = UNITS.iter().find(|(unit, _)| after.starts_with(unit)) else {
            return Err(malformed("each number needs a unit: ns, us, ms, s, m or h"));
        };
        // `ms` stands before `m` in UNITS, so `5ms` is five milliseconds.
        rest = &after[unit.len()..];
        let mut nanos: u128 = 0;
        for digit in whole.bytes() {
            nanos = nanos.checked_mul(10).and_then(|n| n.checked_add(u128::from(digit - b'0'))).ok_or_else(too_long)?;
            if nanos > max {
                return Err(too_long());
            }
        }
        nanos = nanos.checked_mul(scale).ok_or_else(too_long)?;
        // The fraction, digit by digit, to the nanosecond; further digits are dropped.
        let mut place = scale;
        for digit in fraction.bytes() {
            place /= 10;
            if place == 0 {
                break;
            }
            nanos += u128::from(digit - b'0') * place;
        }
        total = total.checked_add(nanos).filter(|total| *total <= max).ok_or_else(too_long)?;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative { value: value.to_string() });
    }
    let seconds = u64::try_from(total / NANOS_PER_SECOND).map_err(|_| too_long())?;
    let nanos = u32::try_from(total % NANOS_PER_SECOND).map_err(|_| too_long())?;
    Ok(Duration::new(seconds, nanos))
}

/// Reads a duration of a field that allows at most `max` (itself a duration, as the CRD's
/// rule [`at_most_rule`] states it): what the API server refuses, the operator refuses too.
/// Never panics.
pub fn parse_duration_at_most(value: &str, max: &'static str) -> Result<Duration, DurationError> {
    let duration = parse_duration(value)?;
    match parse_duration(max) {
        Ok(ceiling) if duration <= ceiling => Ok(duration),
        _ => Err(DurationError::AboveMaximum { value: value.to_string(), max }),
    }
}

/// The CEL rule that bounds a duration field (a string) to at most `max`.
pub fn at_most_rule(max: &str) -> String {
    format!("duration(self) <= duration('{max}')")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn units_fractions_and_sums_read_as_in_go() {
        let read = |text| parse_duration(text).unwrap();
        assert_eq!(read("0"), Duration::ZERO);
        assert_eq!(read("1h30m"), Duration::from_secs(5_400));
        assert_eq!(read("1.5h"), Duration::from_secs(5_400));
        assert_eq!(read("5ms"), Duration::from_millis(5));
        assert_eq!(read("5m"), Duration::from_secs(300));
        assert_eq!(read("1.25s"), Duration::from_millis(1_250));
        assert_eq!(read("300us"), Duration::from_micros(300));
        assert_eq!(read("300µs"), Duration::from_micros(300));
        assert_eq!(read("7ns"), Duration::from_nanos(7));
        assert_eq!(read(".5s"), Duration::from_millis(500));
        assert_eq!(read("+2m"), Duration::from_secs(120));
        assert_eq!(read("876000h"), MAX_DURATION);
    }

    #[test]
    fn what_a_tenant_could_write_to_crash_a_reader_is_refused() {
        let many_nines = format!("{}h", "9".repeat(400));
        for huge in ["9999999999999999h", "200000000h", "876000h1ns", "18446744073709551616s", &many_nines] {
            assert!(matches!(parse_duration(huge), Err(DurationError::TooLong { .. })), "{huge}");
        }
        for malformed in ["", "-", "10", "1d", "h", "1.h5", "1..5h", "ten minutes", "1h 30m", "1e3s"] {
            assert!(matches!(parse_duration(malformed), Err(DurationError::Malformed { .. })), "{malformed:?}");
        }
        assert!(matches!(parse_duration("-1h"), Err(DurationError::Negative { .. })));
        assert_eq!(parse_duration("-0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn a_field_maximum_is_held() {
        assert_eq!(parse_duration_at_most("168h", "168h").unwrap(), Duration::from_secs(168 * 3600));
        assert_eq!(parse_duration_at_most("90m", "168h").unwrap(), Duration::from_secs(5400));
        let refused = parse_duration_at_most("168h1s", "168h").unwrap_err();
        assert_eq!(refused, DurationError::AboveMaximum { value: "168h1s".into(), max: "168h" });
        assert_eq!(refused.to_string(), "\"168h1s\" is longer than 168h, the longest this field allows");
        assert!(matches!(parse_duration_at_most("9999999999999999h", "168h"), Err(DurationError::TooLong { .. })));
        assert!(matches!(parse_duration_at_most("soon", "168h"), Err(DurationError::Malformed { .. })));
        assert_eq!(at_most_rule("168h"), "duration(self) <= duration('168h')");
    }

    proptest! {
        #[test]
        fn no_string_panics_the_parser(text in "\\PC{0,40}") {
            let _ = parse_duration(&text);
        }

        #[test]
        fn whatever_is_read_is_at_most_the_ceiling(text in "[0-9.]{1,30}(ns|us|ms|s|m|h){1}([0-9]{1,20}(s|m|h))?") {
            if let Ok(duration) = parse_duration(&text) {
                prop_assert!(duration <= MAX_DURATION);
            }
        }
    }
}
