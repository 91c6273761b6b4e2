//! Exponential backoff: how long to wait after failures in a row. One type serves every
//! retry of the operator (fixes, status and Finding writes, fresh reads, reports, the
//! leader Lease, notification deliveries). Pure: the delay is a function of the attempt,
//! so a caller that keeps its failure count in plain data, and a test with a frozen clock,
//! both know when the next try is due.
//!
//! The delay sequence is `backon`'s [`ExponentialBuilder`] (factor 2, capped, without its
//! jitter); [`Backoff::jittered`] adds a jitter chosen by the caller.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use jiff::{SignedDuration, Timestamp};

/// After this many doublings every delay of at least a nanosecond has reached any cap a
/// `Duration` can hold (2^128 ns is far beyond `Duration::MAX`), so later attempts wait
/// the same: the sequence is never walked further.
const MAX_DOUBLINGS: u32 = 128;

/// Exponential backoff: `initial` after the first failure, twice as long after each further
/// one, never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub initial: Duration,
    /// The cap on any delay.
    pub max: Duration,
}

impl Backoff {
    /// A backoff from `initial` doubling up to `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The delay after `attempt` failures in a row (1-based; 0 counts as 1):
    /// `min(initial * 2^(attempt - 1), max)`, to the millisecond.
    pub fn delay(&self, attempt: u32) -> Duration {
        let steps = attempt.clamp(1, MAX_DOUBLINGS) as usize;
        let mut delays = ExponentialBuilder::new()
            .with_min_delay(self.initial)
            .with_max_delay(self.max)
            .with_factor(2.0)
            .without_max_times()
            .build();
        let mut delay = self.initial.min(self.max);
        for _ in 0..steps {
            match delays.next() {
                Some(next) => delay = next,
                None => break,
            }
            if delay >= self.max {
                break;
            }
        }
        // backon multiplies in `f32`, which is a few nanoseconds off after a doubling of
        // 200 ms; every delay here is a whole number of milliseconds.
        whole_millis(delay.min(self.max))
    }

    /// [`delay`](Self::delay) with a jitter picked by `unit` in `[0, 1)`: the delay lies in
    /// `[delay / 2, delay)`, so it never exceeds the cap. The caller draws `unit` (a test
    /// fixes it). backon's own jitter cannot serve here: it adds up to a whole delay on top
    /// (past the cap), and draws from its own generator, so no caller can choose the value.
    pub fn jittered(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_nan() { 0.0 } else { unit.clamp(0.0, 1.0) };
        let delay = self.delay(attempt);
        Duration::try_from_secs_f64(delay.as_secs_f64() * (0.5 + unit / 2.0)).map_or(delay, |d| d.min(delay))
    }

    /// When to try again after `attempt` failures in a row, the last at `now`.
    pub fn retry_at(&self, attempt: u32, now: Timestamp) -> Timestamp {
        let wait = SignedDuration::try_from(self.delay(attempt)).unwrap_or(SignedDuration::MAX);
        now.checked_add(wait).unwrap_or(Timestamp::MAX)
    }
}

fn whole_millis(delay: Duration) -> Duration {
    let nanos = delay.as_nanos();
    let millis = (nanos + 500_000) / 1_000_000;
    match u64::try_from(millis) {
        Ok(millis) if millis > 0 || nanos == 0 => Duration::from_millis(millis),
        // Below half a millisecond: kept as it is rather than rounded to nothing.
        Ok(_) => delay,
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn delays_double_from_the_initial_delay_up_to_the_cap() {
        let backoff = Backoff::new(MS(500), Duration::from_secs(300));
        let delays: Vec<Duration> = (1..=12).map(|n| backoff.delay(n)).collect();
        let expected = [500, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000];
        assert_eq!(delays, expected.map(MS));
        assert_eq!(backoff.delay(0), MS(500), "no failure counts as the first");
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn delays_are_whole_milliseconds_however_the_initial_delay_doubles() {
        let backoff = Backoff::new(MS(200), Duration::from_secs(30));
        let delays: Vec<Duration> = (1..=10).map(|n| backoff.delay(n)).collect();
        let expected = [200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000];
        assert_eq!(delays, expected.map(MS));
    }

    #[test]
    fn the_same_attempt_always_waits_the_same() {
        let backoff = Backoff::new(MS(100), Duration::from_secs(1));
        for attempt in 0..20 {
            assert_eq!(backoff.delay(attempt), backoff.delay(attempt));
        }
    }

    #[test]
    fn degenerate_settings_neither_loop_nor_exceed_the_cap() {
        assert_eq!(Backoff::new(Duration::ZERO, MS(10)).delay(u32::MAX), Duration::ZERO);
        assert_eq!(Backoff::new(MS(50), MS(20)).delay(1), MS(20), "an initial delay over the cap is capped");
        let huge = Backoff::new(Duration::from_secs(1), Duration::MAX);
        assert!(huge.delay(u32::MAX) >= Duration::from_secs(1 << 40));
        assert_eq!(Backoff::new(Duration::from_nanos(300), MS(1)).delay(1), Duration::from_nanos(300));
    }

    #[test]
    fn jitter_keeps_the_delay_within_half_and_all_of_it() {
        let backoff = Backoff::new(MS(100), Duration::from_secs(1));
        assert_eq!(backoff.jittered(1, 0.0), MS(50));
        assert_eq!(backoff.jittered(1, 1.0), MS(100));
        assert_eq!(backoff.jittered(2, 0.0), MS(100));
        assert_eq!(backoff.jittered(3, 1.0), MS(400));
        assert_eq!(backoff.jittered(10, 1.0), Duration::from_secs(1));
        assert_eq!(backoff.jittered(u32::MAX, 1.0), Duration::from_secs(1));
        assert_eq!(backoff.jittered(1, f64::NAN), MS(50));
        assert_eq!(backoff.jittered(1, 7.0), MS(100), "out of range is clamped");
        assert_eq!(Backoff::new(Duration::MAX, Duration::MAX).jittered(1, 1.0), Duration::MAX);
    }

    #[test]
    fn retries_are_due_after_the_delay() {
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let backoff = Backoff::new(MS(500), Duration::from_secs(300));
        assert_eq!(backoff.retry_at(1, now), "2026-03-01T10:00:00.5Z".parse().unwrap());
        assert_eq!(backoff.retry_at(3, now), "2026-03-01T10:00:02Z".parse().unwrap());
        assert_eq!(backoff.retry_at(40, now), "2026-03-01T10:05:00Z".parse().unwrap());
        assert_eq!(Backoff::new(MS(1), Duration::MAX).retry_at(u32::MAX, now), Timestamp::MAX);
    }
}
