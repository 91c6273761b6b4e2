//! The faults in force, consulted once per request, and the signal that ends every open
//! watch.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::fault::{Effect, Fault, FaultError, failure};
use crate::auth::RequestAttributes;
use crate::error::ApiError;

/// What the faults decided for one request.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Answer with this error instead of serving the request.
    pub failure: Option<ApiError>,
}

/// The faults of one sandbox.
#[derive(Debug)]
pub struct Faults {
    rules: Mutex<Vec<Fault>>,
    watch_generation: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults { rules: Mutex::new(Vec::new()), watch_generation: watch::Sender::new(0) }
    }
}

impl Faults {
    /// Adds a fault; faults apply in the order they were added, each request taking at most
    /// one failure and one delay.
    pub fn inject(&self, fault: Fault) -> Result<(), FaultError> {
        fault.validate()?;
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).push(fault);
        Ok(())
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// How many faults are still in force (an exhausted fault is gone).
    pub fn pending(&self) -> usize {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Ends every watch open now, as a restarting apiserver or a broken connection would;
    /// clients resume from their last resourceVersion.
    pub fn drop_watches(&self) {
        self.watch_generation.send_modify(|g| *g += 1);
    }

    /// A receiver that changes when open watches must end.
    pub fn watch_drops(&self) -> watch::Receiver<u64> {
        self.watch_generation.subscribe()
    }

    /// Decides the fate of one request, using up one application of each fault that
    /// takes effect.
    pub fn decide(&self, attrs: &RequestAttributes) -> Verdict {
        let mut verdict = Verdict::default();
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        for rule in rules.iter_mut().filter(|r| r.matcher.matches(attrs)) {
            let applied = match rule.effect {
                Effect::Fail { code, retry_after } if verdict.failure.is_none() => {
                    verdict.failure = Some(failure(code, retry_after, &attrs.verb, &attrs.path));
                    true
                }
                Effect::Delay(delay) if verdict.delay.is_none() => {
                    verdict.delay = Some(delay);
                    true
                }
                _ => false,
            };
            if applied && let Some(remaining) = rule.remaining.as_mut() {
                *remaining = remaining.saturating_sub(1);
            }
        }
        rules.retain(|r| r.remaining != Some(0));
        verdict
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::faults::RequestMatch;

    #[test]
    fn a_fault_applies_to_the_next_n_matching_requests_only() {
        let faults = Faults::default();
        faults.inject(Fault::fail(RequestMatch::new("create", "configmaps"), 503, 2)).expect("valid");
        let create = RequestAttributes::new(&Method::POST, "/api/v1/namespaces/a/configmaps", false);
        let get = RequestAttributes::new(&Method::GET, "/api/v1/namespaces/a/configmaps/x", false);
        assert!(faults.decide(&get).failure.is_none());
        assert_eq!(faults.decide(&create).failure.map(|e| e.code()), Some(503));
        assert_eq!(faults.decide(&create).failure.map(|e| e.code()), Some(503));
        assert!(faults.decide(&create).failure.is_none());
        assert_eq!(faults.pending(), 0);
    }

    #[test]
    fn unknown_codes_are_refused() {
        let faults = Faults::default();
        assert_eq!(faults.inject(Fault::fail(RequestMatch::any(), 299, 1)), Err(FaultError::UnknownCode(299)));
    }
}
