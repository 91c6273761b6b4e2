//! Policy status: each policy's readiness (invalid, forbidden, kind not served, syncing,
//! ready) and counts, written on the tick when something changed, and not at all when the
//! status equals what was last written.

use jiff::Timestamp;
use tracing::debug;

use super::{Effect, Reconciler};
use crate::keys::{KindKey, PolicyKey};
use crate::reconcile::policies::{PolicyEntry, Readiness};
use crate::reconcile::sinks::set_sink_condition;

impl Reconciler {
    pub(super) fn readiness(&self, policy: &PolicyEntry) -> Readiness {
        let compiled = match &policy.compiled {
            Ok(compiled) => compiled,
            Err(problem) => return Readiness::Invalid(problem.clone()),
        };
        if let Some(message) = &policy.write_denied {
            return Readiness::Forbidden(message.clone());
        }
        if let Some(message) = policy.internal_error() {
            return Readiness::InternalError(message);
        }
        let mut readiness = Readiness::Ready;
        for (api_version, kind) in compiled.kinds() {
            let Some(entry) = self.kinds.get(&KindKey::new(api_version, kind)) else { return Readiness::Syncing };
            match &entry.problem {
                Some((true, message)) => return Readiness::Forbidden(message.clone()),
                Some((false, message)) if entry.resource.is_none() => readiness = Readiness::NotServed(message.clone()),
                _ if !entry.synced && readiness == Readiness::Ready => readiness = Readiness::Syncing,
                _ => {}
            }
        }
        readiness
    }

    pub(super) fn flush_status(&mut self, now: Timestamp) {
        let keys: Vec<PolicyKey> = self
            .policies
            .iter()
            .filter(|(k, p)| {
                p.dirty && !self.writing_status.contains(*k) && p.status_retry_at.is_none_or(|at| at <= now)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let (readiness, sink) = match self.policies.get(&key) {
                Some(policy) => (self.readiness(policy), self.policy_sink_health(policy).cloned()),
                None => continue,
            };
            let Some(policy) = self.policies.get_mut(&key) else { continue };
            policy.dirty = false;
            set_sink_condition(&mut policy.conditions, sink.as_ref(), policy.generation, now);
            let status = policy.status(&readiness, now);
            if policy.written.as_ref() == Some(&status) {
                continue;
            }
            debug!(policy = %key, "writing status");
            self.writing_status.insert(key.clone());
            self.effects.push(Effect::WritePolicyStatus { policy: key, status });
        }
    }
}
