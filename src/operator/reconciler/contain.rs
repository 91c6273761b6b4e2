//! Containment: a panic while handling one resource (compiling one policy, evaluating one
//! object against one policy) is caught at that resource's boundary, so a bug that one
//! tenant's resource triggers never stops the operator serving everyone else.
//!
//! Each step runs on locals and commits only when it returns, so a caught panic leaves
//! nothing half-updated. The resource is then `Stalled` with reason `InternalError`: a
//! policy until its spec changes; an object (shown in its policy's status) until a retry,
//! after a backoff, evaluates it without panicking. Each catch is logged, counted in
//! `driftwarden_internal_errors_total` and published as an Event.
//!
//! Tests make a step panic on purpose through [`inject`], which exists in test builds only.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crate::engine::backoff::Backoff;

/// How long an object whose evaluation panicked is left alone before it is evaluated
/// again: 10 s, then twice as long each time, up to 10 min.
pub(super) const PANIC_BACKOFF: Backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(600));

/// The step a panic interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Compiling a policy.
    Compile,
    /// Evaluating one object against one policy.
    Evaluate,
}

/// Runs `step` for the resource named `name`, and turns a panic into its message.
pub(super) fn contained<T>(step: Step, name: &str, run: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(|| {
        #[cfg(test)]
        injected::check(step, name);
        #[cfg(not(test))]
        let _ = (step, name);
        run()
    }))
    .map_err(panic_message)
}

/// The message a panic was raised with.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => {
            payload.downcast_ref::<&str>().map_or_else(|| "a panic without a message".to_string(), |m| (*m).to_string())
        }
    }
}

#[cfg(test)]
pub(super) use injected::inject;

/// A panic planted for a test, on this thread only (tests run in parallel).
#[cfg(test)]
mod injected {
    use std::cell::RefCell;

    use super::Step;

    thread_local! {
        static PLANTED: RefCell<Vec<(Step, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// Makes every `step` for the resource whose name contains `name` panic, on this
    /// thread, until the returned guard is dropped.
    pub(in crate::operator::reconciler) fn inject(step: Step, name: &str) -> Planted {
        PLANTED.with(|planted| planted.borrow_mut().push((step, name.to_string())));
        Planted
    }

    /// Removes the planted panics when dropped.
    pub(in crate::operator::reconciler) struct Planted;

    impl Drop for Planted {
        fn drop(&mut self) {
            PLANTED.with(|planted| planted.borrow_mut().clear());
        }
    }

    pub(super) fn check(step: Step, name: &str) {
        let hit = PLANTED.with(|planted| planted.borrow().iter().any(|(s, n)| *s == step && name.contains(n.as_str())));
        if hit {
            panic!("injected panic in {step:?} of {name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_a_value_passes_through() {
        assert_eq!(contained(Step::Evaluate, "a", || 7), Ok(7));
        let index = std::hint::black_box(3);
        let caught = contained(Step::Evaluate, "a", || [1, 2][index]).unwrap_err();
        assert!(caught.contains("index out of bounds"), "{caught}");
        let caught = contained(Step::Compile, "a", || -> u8 { panic!("plain") }).unwrap_err();
        assert_eq!(caught, "plain");
        let _planted = inject(Step::Compile, "shop/bad");
        assert!(contained(Step::Compile, "shop/bad", || 1).unwrap_err().contains("injected panic"));
        assert_eq!(contained(Step::Compile, "shop/good", || 1), Ok(1));
        assert_eq!(contained(Step::Evaluate, "shop/bad", || 1), Ok(1));
    }
}
