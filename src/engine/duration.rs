//! Durations as written in driftwarden resources: `90s`, `10m`, `1h30m`, `2160h`, `7d`.

use std::time::Duration;

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("duration {0:?} is empty")]
    Empty(String),
    #[error("duration {0:?} must be numbers followed by units (d, h, m, s), for example 10m or 1h30m")]
    Malformed(String),
    #[error("duration {0:?} is too long")]
    Overflow(String),
}

/// Parses a duration made of `<number><unit>` parts, units `d`, `h`, `m` and `s`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty(text.to_string()));
    }
    let malformed = || DurationError::Malformed(text.to_string());
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(malformed()),
        };
        let amount: u64 = digits.parse().map_err(|_| malformed())?;
        digits.clear();
        total = amount
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(|| DurationError::Overflow(text.to_string()))?;
    }
    if !digits.is_empty() {
        return Err(malformed());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("2160h"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty(String::new())));
        assert!(matches!(parse_duration("10"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse_duration("ten minutes"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse_duration("5w"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse_duration("99999999999999999999d"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse_duration("999999999999999999d"), Err(DurationError::Overflow(_))));
    }
}
