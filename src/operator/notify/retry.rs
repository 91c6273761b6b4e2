//! When to try a delivery again, and after how long. Pure: the delivery loop asks, this
//! module answers.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::engine::backoff::Backoff;

/// The longest `Retry-After` that is honoured; a sink asking for more is retried after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// What a response status means for the delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered.
    Delivered,
    /// Worth another attempt (5xx, 408, 429).
    Retry,
    /// Retrying cannot help (other 4xx, unexpected 1xx/3xx).
    GiveUp,
}

/// Classifies a response status.
pub fn verdict(status: StatusCode) -> Verdict {
    if status.is_success() {
        Verdict::Delivered
    } else if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Verdict::Retry
    } else {
        Verdict::GiveUp
    }
}

/// The delay before attempt `attempt + 1`, given that `attempt` (1-based) just failed:
/// [`Backoff::jittered`] with a random jitter, raised to `retry_after` (capped at
/// [`MAX_RETRY_AFTER`]) when the sink asked for it.
pub fn next_delay(backoff: &Backoff, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let delay = backoff.jittered(attempt, rand::random::<f64>());
    match retry_after {
        Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER)),
        None => delay,
    }
}

/// Reads a `Retry-After` header: delay-seconds or an HTTP date (relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: jiff::Timestamp) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = date.duration_since(now);
    Some(if wait.is_negative() { Duration::ZERO } else { Duration::try_from(wait).unwrap_or(Duration::ZERO) })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(verdict(StatusCode::OK), Verdict::Delivered);
        assert_eq!(verdict(StatusCode::ACCEPTED), Verdict::Delivered);
        assert_eq!(verdict(StatusCode::SERVICE_UNAVAILABLE), Verdict::Retry);
        assert_eq!(verdict(StatusCode::INTERNAL_SERVER_ERROR), Verdict::Retry);
        assert_eq!(verdict(StatusCode::TOO_MANY_REQUESTS), Verdict::Retry);
        assert_eq!(verdict(StatusCode::REQUEST_TIMEOUT), Verdict::Retry);
        assert_eq!(verdict(StatusCode::BAD_REQUEST), Verdict::GiveUp);
        assert_eq!(verdict(StatusCode::UNAUTHORIZED), Verdict::GiveUp);
        assert_eq!(verdict(StatusCode::NOT_FOUND), Verdict::GiveUp);
        assert_eq!(verdict(StatusCode::MOVED_PERMANENTLY), Verdict::GiveUp);
    }

    #[test]
    fn deliveries_back_off_within_the_jitter_and_stop_at_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 1..12 {
            let delay = next_delay(&backoff, attempt, None);
            assert!(delay >= backoff.jittered(attempt, 0.0) && delay <= backoff.jittered(attempt, 1.0));
            assert!(delay <= backoff.max);
        }
    }

    #[test]
    fn retry_after_raises_the_delay_up_to_a_cap() {
        let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(20));
        assert_eq!(next_delay(&backoff, 1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(next_delay(&backoff, 1, Some(Duration::from_secs(86_400))), MAX_RETRY_AFTER);
        assert!(next_delay(&backoff, 1, Some(Duration::ZERO)) <= Duration::from_millis(10));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("Sun, 01 Mar 2026 10:00:30 GMT"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("Sun, 01 Mar 2026 09:00:00 GMT"));
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
