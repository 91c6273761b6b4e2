//! Intake of driftwarden's own kinds: DriftPolicies, ClusterDriftPolicies and
//! DriftExceptions as they are listed, changed and deleted (a relist removes what it no
//! longer holds), and the labels of namespaces, which selectors read.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tracing::{error, info, warn};

use super::contain::{Step, contained};
use super::effect::{EventType, OwnResource};
use super::{Effect, OWN_KINDS, RECONCILE, Reconciler, name_of};
use crate::api::policy::{ClusterExceptions, NotifySpec, PolicySpec, PolicyStatus};
use crate::api::reasons;
use crate::engine::evaluate::compile;
use crate::keys::{KindKey, PolicyKey};
use crate::operator::metrics::InternalErrorKind;
use crate::operator::notify::Sink;
use crate::operator::watch::{self, Change, Source, Watched};
use crate::reconcile::exceptions;
use crate::reconcile::policies::{PolicyEntry, Route, acting_account};

/// The key of the namespaces' relist in [`Reconciler::relisting`](super::Reconciler).
const NAMESPACES: &str = "namespaces";

impl Reconciler {
    pub(super) fn on_watched(&mut self, watched: Watched) {
        match watched.source {
            Source::Policies | Source::ClusterPolicies => {
                let label = if watched.source == Source::Policies { "policies" } else { "cluster-policies" };
                let namespaced = watched.source == Source::Policies;
                self.on_own(
                    label,
                    watched.change,
                    |this, object| this.upsert_policy(object),
                    |this, (ns, name)| {
                        if namespaced == ns.is_some() {
                            this.remove_policy(&PolicyKey { namespace: ns, name });
                        }
                    },
                    move |(ns, _)| namespaced == ns.is_some(),
                    |this| this.policies.keys().map(|k| (k.namespace.clone(), k.name.clone())).collect(),
                );
            }
            Source::Exceptions => {
                let listed = matches!(watched.change, Change::InitDone);
                self.on_exceptions(watched.change);
                if listed && !self.exceptions_synced {
                    self.exceptions_synced = true;
                    self.reevaluate_all();
                }
            }
            Source::Campaigns => self.on_campaigns(watched.change),
            Source::Findings => self.on_findings(watched.change),
            Source::Namespaces => self.on_namespace(watched.change),
            Source::Kind(kind) => self.on_kind(kind, watched.change),
        }
    }

    pub(super) fn on_exceptions(&mut self, change: Change) {
        self.on_own(
            "exceptions",
            change,
            |this, object| this.upsert_exception(object),
            |this, (ns, name)| this.remove_exception(ns.unwrap_or_default(), name),
            |_| true,
            |this| this.exceptions.keys().map(|(ns, name)| (Some(ns.clone()), name.clone())).collect(),
        );
    }

    /// Handles a change of one of driftwarden's own kinds, including relists, which remove
    /// what was not listed again.
    pub(super) fn on_own(
        &mut self,
        label: &'static str,
        change: Change,
        upsert: impl Fn(&mut Self, Value),
        remove: impl Fn(&mut Self, (Option<String>, String)),
        mine: impl Fn(&(Option<String>, String)) -> bool,
        known: impl Fn(&Self) -> Vec<(Option<String>, String)>,
    ) {
        match change {
            Change::Init => {
                self.relisting.insert(label, BTreeSet::new());
            }
            Change::InitApply(object) => {
                if let Some(seen) = self.relisting.get_mut(label) {
                    seen.insert(name_of(&object));
                }
                upsert(self, object);
            }
            Change::InitDone => {
                self.listed.insert(label);
                if self.listed.len() == OWN_KINDS {
                    self.health.set_ready();
                }
                let seen = self.relisting.remove(label).unwrap_or_default();
                for name in known(self).into_iter().filter(|n| mine(n) && !seen.contains(n)) {
                    remove(self, name);
                }
            }
            Change::Apply(object) => upsert(self, object),
            Change::Delete(object) => remove(self, name_of(&object)),
            Change::Failed(error) => {
                warn!(watch = label, category = error.category(), "watch failed, retrying: {error}");
                self.metrics.reconcile_error(RECONCILE, error.category());
            }
        }
    }

    pub(super) fn upsert_policy(&mut self, object: Value) {
        let (namespace, name) = name_of(&object);
        let cluster = object.get("kind").and_then(Value::as_str) == Some("ClusterDriftPolicy");
        let key = PolicyKey { namespace: if cluster { None } else { namespace }, name };
        let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
        if self.policies.get(&key).is_some_and(|p| p.generation == generation && generation.is_some()) {
            return;
        }
        let spec = serde_json::from_value::<PolicySpec>(object.get("spec").cloned().unwrap_or(json!({})))
            .map_err(|err| format!("spec: {err}"));
        let notify: Option<NotifySpec> = spec.as_ref().ok().and_then(|spec| spec.escalation.notify.clone());
        let owner_labels = spec.as_ref().map(|spec| spec.escalation.owner_labels.clone()).unwrap_or_default();
        let default_owner = spec.as_ref().ok().and_then(|spec| spec.escalation.owner.clone());
        let routes = spec.as_ref().map(|spec| spec.escalation.routes.clone()).unwrap_or_default();
        let mut invalid_reason = reasons::INVALID_SPEC;
        let compiled = spec.and_then(|spec| {
            let compiled = contained(Step::Compile, &key.to_string(), || {
                compile(&key.to_string(), key.namespace.as_deref(), &spec, &self.fingerprints)
            });
            match compiled {
                Ok(compiled) => compiled.map_err(|problems| {
                    invalid_reason = problems.first().map_or(invalid_reason, |p| p.reason);
                    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                }),
                Err(panic) => {
                    // Stalled until its spec changes: the same generation is not compiled again.
                    error!(policy = %key, "compiling the policy panicked; the others are served: {panic}");
                    self.metrics.internal_error(InternalErrorKind::Policy);
                    invalid_reason = reasons::INTERNAL_ERROR;
                    let message = format!("compiling the policy failed inside driftwarden: {panic}");
                    self.effects.push(Effect::PublishOn {
                        resource: OwnResource::Policy(key.clone()),
                        uid: object.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string),
                        type_: EventType::Warning,
                        reason: reasons::INTERNAL_ERROR,
                        message: message.clone(),
                    });
                    Err(message)
                }
            }
        });
        // A ClusterDriftPolicy's own field: which exceptions may cover its drift.
        let exceptions = match object.pointer("/spec/exceptions") {
            Some(value) if cluster => serde_json::from_value::<ClusterExceptions>(value.clone())
                .map_err(|err| format!("spec.exceptions: {err}")),
            _ => Ok(ClusterExceptions::default()),
        };
        let compiled = match &exceptions {
            Ok(_) => compiled,
            Err(problem) => {
                invalid_reason = reasons::INVALID_SPEC;
                Err(problem.clone())
            }
        };
        // Who the policy's fixes are made as.
        let acts_as = acting_account(
            &object,
            key.namespace.as_deref(),
            self.settings.default_service_account.as_deref(),
            self.settings.require_service_account,
        );
        let compiled = match (compiled, acts_as) {
            (Err(problem), _) => Err(problem),
            (Ok(compiled), Ok(acts_as)) => Ok((compiled, acts_as)),
            (Ok(_), Err((reason, problem))) => {
                invalid_reason = reason;
                Err(problem)
            }
        };
        let (compiled, acts_as) = match compiled {
            Ok((compiled, acts_as)) => (Ok(compiled), acts_as),
            Err(problem) => (Err(problem), None),
        };
        if let Err(problem) = &compiled {
            warn!(policy = %key, "invalid policy: {problem}");
        }
        let mut entry = PolicyEntry::new(key.clone(), generation, compiled);
        entry.invalid_reason = invalid_reason;
        entry.acts_as = acts_as;
        if cluster {
            entry.namespaced_exceptions = exceptions.is_ok_and(|e| e.allow_namespaced);
        }
        entry.uid = object.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string);
        // A cluster policy's notification Secret lives in the operator's namespace.
        let sink_namespace = key.namespace.clone().unwrap_or_else(|| self.settings.namespace.clone());
        entry.routes = routes
            .into_iter()
            .map(|route| Route {
                owners: route.owners,
                sink: Sink { namespace: sink_namespace.clone(), spec: route.notify },
            })
            .collect();
        entry.sink = notify.map(|spec| Sink { namespace: sink_namespace, spec });
        entry.owner_labels = owner_labels;
        entry.owner = default_owner;
        if let Some(previous) = self.policies.remove(&key) {
            entry.rate = previous.rate;
            entry.history = previous.history;
            entry.remediated = previous.remediated;
            entry.last_remediation = previous.last_remediation;
            entry.fixes = previous.fixes;
            entry.history_points = previous.history_points;
            entry.conditions = previous.conditions;
            entry.written = previous.written;
        } else {
            // First seen since the operator started: the fix history and rate window the
            // ledger kept carry on, and so does the status it wrote before (counts,
            // conditions with their transition times), not written again unless something
            // changed.
            let guard = entry.rules().map_or(crate::engine::decide::DEFAULT_FLAPPING, |r| r.flapping);
            (entry.history, entry.rate) = self.ledger.history_of(&key, guard);
            if let Some(listed) = object.get("status").cloned().and_then(|s| serde_json::from_value(s).ok()) {
                resume(&mut entry, listed);
            }
        }
        let kinds_of = |entry: &PolicyEntry| -> Vec<KindKey> {
            let compiled = entry.compiled.as_ref();
            compiled.map(|c| c.kinds().into_iter().map(|(v, k)| KindKey::new(v, k)).collect()).unwrap_or_default()
        };
        let named = kinds_of(&entry);
        self.policies.insert(key.clone(), entry);
        self.admission.touch_one(&key);
        // Kinds discovered before: their scope is known now.
        for kind in &named {
            if self.kinds.get(kind).is_some_and(|e| e.resource.is_some()) {
                self.refuse_out_of_scope(kind);
            }
        }
        let kinds = self.policies.get(&key).map(kinds_of).unwrap_or_default();
        for kind in &kinds {
            self.ensure_kind(kind);
            self.widen_mask(kind);
        }
        self.forget_unused_kinds();
        for kind in kinds {
            self.reevaluate_kind(&kind);
        }
    }

    pub(super) fn remove_policy(&mut self, key: &PolicyKey) {
        if self.policies.remove(key).is_some() {
            info!(policy = %key, "policy deleted");
            self.admission.touch_one(key);
            self.ledger.forget_policy(key, self.now);
            self.forget_unused_kinds();
        }
    }

    pub(super) fn upsert_exception(&mut self, object: Value) {
        let (namespace, name) = name_of(&object);
        let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
        let state = self.exception_status.entry((namespace.clone().unwrap_or_default(), name.clone())).or_default();
        if state.generation != generation {
            // A changed spec is handled afresh, even after an internal error.
            state.internal_error = None;
        }
        state.generation = generation;
        state.uid = object.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string);
        let entry = exceptions::read(&object, self.settings.max_exception_duration);
        if let Err(problem) = &entry {
            warn!(exception = %format!("{}/{name}", namespace.clone().unwrap_or_default()), "invalid exception: {problem}");
        }
        self.exceptions.insert((namespace.unwrap_or_default(), name), entry);
        self.admission.touch();
        self.reevaluate_all();
    }

    pub(super) fn remove_exception(&mut self, namespace: String, name: String) {
        self.exception_status.remove(&(namespace.clone(), name.clone()));
        if self.exceptions.remove(&(namespace, name)).is_some() {
            self.admission.touch();
            self.reevaluate_all();
        }
    }

    pub(super) fn on_namespace(&mut self, change: Change) {
        match change {
            Change::InitApply(object) | Change::Apply(object) => {
                let (_, name) = name_of(&object);
                if let Some(seen) = self.relisting.get_mut(NAMESPACES) {
                    seen.insert((None, name.clone()));
                }
                let labels = watch::labels(&object);
                if self.namespaces.get(&name) != Some(&labels) {
                    self.namespaces.insert(name.clone(), labels);
                    self.reevaluate_namespace(&name);
                }
            }
            Change::Delete(object) => {
                let (_, name) = name_of(&object);
                self.namespaces.remove(&name);
            }
            Change::Init => {
                self.relisting.insert(NAMESPACES, BTreeSet::new());
            }
            Change::InitDone => {
                // A namespace deleted while the watch was down is not listed again.
                let seen = self.relisting.remove(NAMESPACES).unwrap_or_default();
                self.namespaces.retain(|name, _| seen.contains(&(None, name.clone())));
            }
            Change::Failed(error) => {
                warn!(category = error.category(), "namespace watch failed, retrying: {error}");
                self.metrics.reconcile_error(RECONCILE, error.category());
            }
        }
    }
}

/// Takes up a policy's status as an earlier run of the operator wrote it.
fn resume(entry: &mut PolicyEntry, listed: PolicyStatus) {
    entry.remediated = listed.remediated;
    entry.fixes = listed.fixes.iter().cloned().collect();
    entry.history_points = listed.history.clone();
    entry.last_remediation = listed.last_remediation_time.as_deref().and_then(|t| t.parse().ok());
    entry.conditions = listed.conditions.clone();
    entry.written = Some(listed);
}
