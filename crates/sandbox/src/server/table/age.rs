//! Ages as kubectl shows them: `45s`, `3m12s`, `5h`, `12d`, `2y30d`.

use jiff::Timestamp;

/// A duration in seconds, in the short human form of Kubernetes tables.
pub fn human(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let y = d / 365;
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s % 60 != 0 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m % 60 != 0 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 24 * 8 && h % 24 != 0 => format!("{d}d{}h", h % 24),
        _ if d < 365 * 2 => format!("{d}d"),
        _ if y < 8 && d % 365 != 0 => format!("{y}y{}d", d % 365),
        _ => format!("{y}y"),
    }
}

/// The age of an RFC 3339 timestamp at `now`; `<unknown>` when it does not parse.
pub fn since(timestamp: &str, now: Timestamp) -> String {
    match timestamp.parse::<Timestamp>() {
        Ok(then) => human(now.as_second() - then.as_second()),
        Err(_) => "<unknown>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human(5), "5s");
        assert_eq!(human(119), "119s");
        assert_eq!(human(192), "3m12s");
        assert_eq!(human(600), "10m");
        assert_eq!(human(3 * 3600 + 60), "3h1m");
        assert_eq!(human(20 * 3600), "20h");
        assert_eq!(human(3 * 86_400 + 3600), "3d1h");
        assert_eq!(human(100 * 86_400), "100d");
        assert_eq!(human(-5), "<invalid>");
    }
}
