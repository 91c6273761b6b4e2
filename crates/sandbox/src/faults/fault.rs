//! One injected fault: which requests, what happens to them, and how many times.

use std::time::Duration;

use super::matcher::RequestMatch;
use crate::error::{ApiError, Reason};

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Answer with a `Status` of this HTTP code (and reason) instead of serving it;
    /// with `Retry-After` when `retry_after` is set.
    Fail {
        /// The HTTP code: 409, 429, 500, 503, ...
        code: u16,
        /// Seconds for the `Retry-After` header and `details.retryAfterSeconds`.
        retry_after: Option<u32>,
    },
    /// Serve the request after this delay.
    Delay(Duration),
}

/// A fault that could not be injected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultError {
    /// The code has no Kubernetes reason the sandbox knows.
    #[error("HTTP code {0} has no Kubernetes Status reason the sandbox knows")]
    UnknownCode(u16),
}

impl FaultError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            FaultError::UnknownCode(_) => "UnknownCode",
        }
    }
}

/// A fault: the requests it matches, its effect, and how many more requests it applies
/// to (`None`: until cleared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The requests it applies to.
    pub matcher: RequestMatch,
    /// What happens to them.
    pub effect: Effect,
    /// How many more matching requests it applies to; `None` is unlimited.
    pub remaining: Option<usize>,
}

impl Fault {
    /// Fail the next `times` matching requests with HTTP `code`.
    pub fn fail(matcher: RequestMatch, code: u16, times: usize) -> Self {
        Fault { matcher, effect: Effect::Fail { code, retry_after: None }, remaining: Some(times) }
    }

    /// Fail the next `times` matching requests with 429 TooManyRequests and
    /// `Retry-After: seconds`.
    pub fn throttle(matcher: RequestMatch, seconds: u32, times: usize) -> Self {
        Fault { matcher, effect: Effect::Fail { code: 429, retry_after: Some(seconds) }, remaining: Some(times) }
    }

    /// Delay every matching request by `delay`, until cleared.
    pub fn delay(matcher: RequestMatch, delay: Duration) -> Self {
        Fault { matcher, effect: Effect::Delay(delay), remaining: None }
    }

    /// The same fault, applied to the next `times` matching requests only.
    pub fn times(mut self, times: usize) -> Self {
        self.remaining = Some(times);
        self
    }

    /// Checks the fault can be answered.
    pub fn validate(&self) -> Result<(), FaultError> {
        match self.effect {
            Effect::Fail { code, .. } if Reason::from_code(code).is_none() => Err(FaultError::UnknownCode(code)),
            _ => Ok(()),
        }
    }
}

/// The `Status` error a failing fault answers with.
pub fn failure(code: u16, retry_after: Option<u32>, verb: &str, path: &str) -> ApiError {
    let reason = Reason::from_code(code).unwrap_or(Reason::InternalError);
    let error = ApiError::new(reason, format!("injected fault: {verb} {path} failed with {code} {}", reason.as_str()));
    match retry_after {
        Some(seconds) => error.with_retry_after(seconds),
        None => error,
    }
}
