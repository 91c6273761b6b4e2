//! The kinds policies name: each is looked up in discovery, watched, and cached with only
//! the fields some policy governs (the mask). A wider mask relists the kind; a kind no
//! policy names any more stops being watched.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use tracing::{debug, warn};

use super::cache::ObjectCache;
use super::{Effect, KindEntry, RECONCILE, Reconciler, checks};
use crate::api::reasons;
use crate::engine::evaluate::UnknownKinds;
use crate::engine::prune::FieldMask;
use crate::engine::scope::Scope;
use crate::keys::{KindKey, ObjectKey, PolicyKey};
use crate::operator::watch::{Change, KindWatch};

impl Reconciler {
    pub(super) fn ensure_kind(&mut self, kind: &KindKey) {
        if self.kinds.contains_key(kind) {
            return;
        }
        self.kinds.insert(kind.clone(), KindEntry::default());
        self.lookup(kind.clone());
    }

    /// The fields of `kind` that some policy governs.
    pub(super) fn mask_for(&self, kind: &KindKey) -> FieldMask {
        let governed = FieldMask::of(
            self.policies
                .values()
                .filter_map(|p| p.compiled.as_ref().ok())
                .flat_map(|c| c.templates_of_kind(&kind.api_version, &kind.kind)),
        );
        match self.has_check_campaigns() && checks::identity_kinds().contains(kind) {
            true => governed.union(checks::identity_mask(kind)),
            false => governed,
        }
    }

    /// When a policy governs fields of `kind` the cache does not keep, or needs objects its
    /// field selector leaves out, the kind is watched again with the wider mask or without
    /// the selector: its objects are relisted, and nothing is evaluated against the narrower
    /// cache meanwhile. A narrower mask or selector waits for the next relist.
    pub(super) fn widen_mask(&mut self, kind: &KindKey) {
        let mask = self.mask_for(kind);
        let fields = self.watch_fields(kind);
        let Some(entry) = self.kinds.get_mut(kind) else { return };
        let wider_selection = entry.fields.is_some() && entry.fields != fields;
        if entry.mask.covers(&mask) && !wider_selection {
            return;
        }
        if !entry.mask.covers(&mask) {
            entry.mask = Arc::new(mask);
        }
        if wider_selection {
            entry.fields = fields;
        }
        if let (true, Some((resource, namespaced))) = (entry.watching, entry.resource.as_ref()) {
            debug!(kind = %kind, "governed fields or objects widened: relisting");
            entry.synced = false;
            entry.relist = None;
            // The runtime replaces the running watch with one that keeps the wider mask.
            let spec = KindWatch {
                resource: resource.clone(),
                namespaced: *namespaced,
                mask: entry.mask.clone(),
                fields: entry.fields.clone(),
            };
            self.effects.push(Effect::Watch { kind: kind.clone(), spec });
        }
    }

    pub(super) fn lookup(&mut self, kind: KindKey) {
        self.effects.push(Effect::Discover(kind));
    }

    pub(super) fn forget_unused_kinds(&mut self) {
        let identity = if self.has_check_campaigns() { checks::identity_kinds() } else { Vec::new() };
        let used: BTreeSet<KindKey> = self
            .policies
            .values()
            .filter_map(|p| p.compiled.as_ref().ok())
            .flat_map(|c| c.kinds())
            .map(|(v, k)| KindKey::new(v, k))
            .chain(identity)
            .collect();
        let metrics = &self.metrics;
        let effects = &mut self.effects;
        self.kinds.retain(|kind, entry| {
            let keep = used.contains(kind);
            if !keep {
                if entry.watching {
                    effects.push(Effect::Unwatch(kind.clone()));
                }
                metrics.remove_watched_kind(&kind.to_string());
            }
            keep
        });
    }

    pub(super) fn on_kind(&mut self, kind: KindKey, change: Change) {
        if !matches!(change, Change::Init | Change::InitApply(_)) && checks::identity_kinds().contains(&kind) {
            self.identity_dirty = true;
        }
        let own = |object: &Value| is_ledger(&ObjectKey::of(object), &self.settings.namespace);
        if matches!(&change, Change::InitApply(o) | Change::Apply(o) | Change::Delete(o) if own(o)) {
            return;
        }
        let Some(entry) = self.kinds.get_mut(&kind) else { return };
        match change {
            Change::Init => entry.relist = Some(ObjectCache::new()),
            Change::InitApply(object) => {
                let key = ObjectKey::of(&object);
                entry.relist.get_or_insert_default().insert(key, &object);
            }
            Change::InitDone => {
                entry.cache = entry.relist.take().unwrap_or_default();
                debug!(kind = %kind, objects = entry.cache.len(), "listed");
                entry.synced = true;
                entry.problem = None;
                self.count_watched(&kind);
                // The policies naming the kind are ready now, even when it has no object
                // for them to evaluate: their status is written again.
                self.mark_status_of(&kind);
                self.reevaluate_kind(&kind);
            }
            Change::Apply(object) => {
                entry.problem = None;
                let key = ObjectKey::of(&object);
                let version = object.pointer("/metadata/resourceVersion").and_then(Value::as_str);
                let unchanged = version.is_some() && entry.cache.resource_version(&key).as_deref() == version;
                entry.cache.insert(key.clone(), &object);
                let synced = entry.synced;
                self.count_watched(&kind);
                if !unchanged && synced {
                    self.reconcile(&key);
                }
            }
            Change::Delete(object) => {
                let key = ObjectKey::of(&object);
                // A recreated object's deletion may be watched after its replacement was
                // cached: only the object deleted leaves the cache.
                let uid = object.pointer("/metadata/uid").and_then(Value::as_str);
                if entry.cache.uid(&key).is_some_and(|cached| Some(cached.as_str()) != uid) {
                    return;
                }
                entry.cache.remove(&key);
                let synced = entry.synced;
                self.count_watched(&kind);
                if synced {
                    self.reconcile(&key);
                }
            }
            Change::Failed(error) => {
                warn!(kind = %kind, category = error.category(), "watch failed, retrying: {error}");
                self.metrics.reconcile_error(RECONCILE, error.category());
                entry.problem = Some((error.is_forbidden(), error.to_string()));
                self.mark_policies_of(&kind);
            }
        }
    }

    pub(super) fn count_watched(&self, kind: &KindKey) {
        if let Some(entry) = self.kinds.get(kind) {
            self.metrics.set_watched_objects(&kind.to_string(), entry.cache.len() as u64);
        }
    }

    /// The scope of each kind as discovery reported it; `None` before it did.
    fn discovered_scope(&self, api_version: &str, kind: &str) -> Option<Scope> {
        let entry = self.kinds.get(&KindKey::new(api_version, kind))?;
        entry.resource.as_ref().map(|(_, namespaced)| Scope::of_namespaced(*namespaced))
    }

    /// Makes every policy that names a kind against its scope, as discovery reported it,
    /// invalid (`Ready=False`, saying which field): a DriftPolicy naming a cluster-scoped
    /// kind, or a resource template whose namespace does not fit its kind. Such a policy
    /// never reaches an object; it is compiled again when its spec changes (a kind's scope
    /// cannot change while its CRD exists). Checks the policies naming `kind`, whose scope
    /// discovery just reported or already knew.
    pub(super) fn refuse_out_of_scope(&mut self, kind: &KindKey) {
        let named = (kind.api_version.clone(), kind.kind.clone());
        let refused: Vec<(PolicyKey, String)> = self
            .policies
            .iter()
            .filter_map(|(key, policy)| {
                let compiled = policy.compiled.as_ref().ok().filter(|c| c.kinds().contains(&named))?;
                let problems = compiled.scope_problems(&|v, k| self.discovered_scope(v, k), UnknownKinds::Later);
                (!problems.is_empty())
                    .then(|| (key.clone(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))
            })
            .collect();
        if refused.is_empty() {
            return;
        }
        for (key, problem) in refused {
            warn!(policy = %key, "invalid policy: {problem}");
            let Some(policy) = self.policies.get_mut(&key) else { continue };
            policy.compiled = Err(problem);
            policy.invalid_reason = reasons::INVALID_SPEC;
            policy.clear_targets();
            policy.dirty = true;
        }
        self.forget_unused_kinds();
    }

    /// Marks the status of every policy naming `kind` for writing, and has their admission
    /// objects looked at again (the kind's plural and scope go into them).
    pub(super) fn mark_policies_of(&mut self, kind: &KindKey) {
        for key in self.mark_status_of(kind) {
            self.admission.touch_one(&key);
        }
    }

    /// Marks the status of every policy naming `kind` for writing; returns them.
    fn mark_status_of(&mut self, kind: &KindKey) -> Vec<PolicyKey> {
        let names = (kind.api_version.clone(), kind.kind.clone());
        let mut marked = Vec::new();
        for (key, policy) in self.policies.iter_mut() {
            if policy.compiled.as_ref().is_ok_and(|c| c.kinds().contains(&names)) {
                policy.dirty = true;
                marked.push(key.clone());
            }
        }
        marked
    }
}

/// Whether `key` is one of the ConfigMaps of the operator's own ledger (in `namespace`, the
/// operator's): no policy governs them, whatever it matches, so the ledger is never fixed,
/// escalated or recreated.
pub(super) fn is_ledger(key: &ObjectKey, namespace: &str) -> bool {
    key.kind.api_version == "v1"
        && key.kind.kind == "ConfigMap"
        && key.namespace.as_deref() == Some(namespace)
        && crate::operator::ledger::bucket_index(&key.name).is_some()
}
