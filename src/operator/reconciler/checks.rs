//! Campaigns over built-in identity checks. While one exists, the loop watches what the
//! identity analysis reads (ServiceAccounts, Secrets without their data, RBAC, Pods and
//! workloads, Services, Ingresses) through the same shared watches as policies, and after
//! a change (gathered for a moment) runs each check over a snapshot of those caches. An
//! asset the check reports is a finding; one it stops reporting is read again before its
//! finding closes. Only fixes the check marks automatic are ever applied, in waves.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{debug, warn};

use super::effect::CampaignFix;
use super::{Effect, Reconciler};
use crate::api::RemediationClass;
use crate::api::campaign::{CampaignMode, CheckName, ControlSource};
use crate::api::finding::FindingState;
use crate::engine::campaign::in_scope;
use crate::engine::campaign::{Observation, resolve_owner};
use crate::engine::drift::CompareRules;
use crate::engine::prune::FieldMask;
use crate::identity::snapshot::SERVICE_ACCOUNT_TOKEN_TYPE;
use crate::identity::{ControlFinding, ControlFix, Snapshot, run_control};
use crate::keys::{KindKey, ObjectKey};
use crate::operator::remediate::{Expectation, Fix, FixResult};
use crate::reconcile::campaigns::DEFAULT_OWNER_LABELS;
use crate::reconcile::findings::{finding_name, finding_namespace, new_finding};

/// The kinds the identity checks read.
pub(super) fn identity_kinds() -> Vec<KindKey> {
    [
        ("v1", "ServiceAccount"),
        ("v1", "Secret"),
        ("v1", "Pod"),
        ("v1", "Service"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ReplicaSet"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("networking.k8s.io/v1", "Ingress"),
    ]
    .into_iter()
    .map(|(api_version, kind)| KindKey::new(api_version, kind))
    .collect()
}

/// What the identity checks keep of an object of `kind`: Secrets only their metadata and
/// type (never their data), everything else whole.
pub(super) fn identity_mask(kind: &KindKey) -> FieldMask {
    match (kind.api_version.as_str(), kind.kind.as_str()) {
        ("v1", "Secret") => FieldMask::Fields([("type".to_string(), FieldMask::Whole)].into()),
        _ => FieldMask::Whole,
    }
}

/// The field selector that narrows the watch of `kind` to what identity checks read, when
/// only they read it: Secrets of type `kubernetes.io/service-account-token`, the legacy
/// tokens the inventory and `LegacyServiceAccountTokens` look at. A policy naming Secrets,
/// or a `SecretRotation` check (which looks at every other Secret), needs them all.
fn token_selector(kind: &KindKey, identity_only: bool) -> Option<String> {
    let secrets = kind.api_version == "v1" && kind.kind == "Secret";
    (secrets && identity_only).then(|| format!("type={SERVICE_ACCOUNT_TOKEN_TYPE}"))
}

fn typed<K: DeserializeOwned>(objects: Option<&super::cache::ObjectCache>) -> Vec<K> {
    objects
        .into_iter()
        .flat_map(|cache| cache.values())
        .filter_map(|object| serde_json::from_value(object).ok())
        .collect()
}

impl Reconciler {
    /// Whether some campaign runs a built-in check.
    pub(super) fn has_check_campaigns(&self) -> bool {
        self.campaigns
            .values()
            .any(|c| c.spec.as_ref().is_ok_and(|s| matches!(s.control.source(), Some(ControlSource::Check(_)))))
    }

    /// The field selector `kind` is watched with (see [`token_selector`]).
    pub(super) fn watch_fields(&self, kind: &KindKey) -> Option<String> {
        let named_by_policy = || {
            self.policies
                .values()
                .filter_map(|p| p.compiled.as_ref().ok())
                .any(|c| c.kinds().iter().any(|(v, k)| *v == kind.api_version && *k == kind.kind))
        };
        let rotation = || {
            self.campaigns.values().any(|c| {
                c.spec
                    .as_ref()
                    .is_ok_and(|s| s.control.check.as_ref().is_some_and(|c| c.name == CheckName::SecretRotation))
            })
        };
        token_selector(kind, self.has_check_campaigns() && !named_by_policy() && !rotation())
    }

    /// Watches what the checks read while a check campaign exists.
    pub(super) fn ensure_identity_kinds(&mut self) {
        if !self.has_check_campaigns() {
            return;
        }
        for kind in identity_kinds() {
            self.ensure_kind(&kind);
            self.widen_mask(&kind);
        }
        self.identity_dirty = true;
    }

    /// A snapshot of the cached identity kinds.
    fn identity_snapshot(&self) -> Snapshot {
        let cache = |api_version: &str, kind: &str| self.kinds.get(&KindKey::new(api_version, kind)).map(|k| &k.cache);
        let mut snapshot = Snapshot {
            namespaces: self
                .namespaces
                .iter()
                .map(|(name, labels)| Namespace {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        labels: Some(labels.clone()),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .collect(),
            service_accounts: typed(cache("v1", "ServiceAccount")),
            pods: typed(cache("v1", "Pod")),
            services: typed(cache("v1", "Service")),
            roles: typed(cache("rbac.authorization.k8s.io/v1", "Role")),
            cluster_roles: typed(cache("rbac.authorization.k8s.io/v1", "ClusterRole")),
            role_bindings: typed(cache("rbac.authorization.k8s.io/v1", "RoleBinding")),
            cluster_role_bindings: typed(cache("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")),
            deployments: typed(cache("apps/v1", "Deployment")),
            stateful_sets: typed(cache("apps/v1", "StatefulSet")),
            daemon_sets: typed(cache("apps/v1", "DaemonSet")),
            replica_sets: typed(cache("apps/v1", "ReplicaSet")),
            jobs: typed(cache("batch/v1", "Job")),
            cron_jobs: typed(cache("batch/v1", "CronJob")),
            ingresses: typed(cache("networking.k8s.io/v1", "Ingress")),
            ..Snapshot::default()
        };
        let secrets: Vec<k8s_openapi::api::core::v1::Secret> = typed(cache("v1", "Secret"));
        snapshot.add_secrets(&secrets);
        snapshot
    }

    /// Whether every identity kind is listed, or cannot be (not served, forbidden): the
    /// checks then see the whole picture they can have.
    fn identity_listed(&self) -> bool {
        identity_kinds().iter().all(|kind| self.kinds.get(kind).is_some_and(|k| k.synced || k.problem.is_some()))
    }

    /// Why the checks cannot see everything, when they cannot: a forbidden kind.
    pub(super) fn identity_problem(&self) -> Option<String> {
        identity_kinds()
            .iter()
            .filter_map(|kind| self.kinds.get(kind))
            .find_map(|k| k.problem.as_ref().filter(|(forbidden, _)| *forbidden).map(|(_, message)| message.clone()))
    }

    /// Runs every check campaign's control when the watched state changed, at most once per
    /// `identity_interval`.
    pub(super) fn run_checks(&mut self, now: Timestamp) {
        if !self.identity_dirty || !self.campaigns_listed() || !self.identity_listed() {
            return;
        }
        if self.last_checks.is_some_and(|at| now.duration_since(at).unsigned_abs() < self.settings.identity_interval) {
            return;
        }
        self.identity_dirty = false;
        self.last_checks = Some(now);
        let snapshot = self.identity_snapshot();
        let names: Vec<String> = self.campaigns.keys().cloned().collect();
        for name in names {
            let Some(campaign) = self.campaigns.get_mut(&name) else { continue };
            let Ok(spec) = &campaign.spec else { continue };
            let Some(check) = spec.control.check.clone() else { continue };
            let findings = match run_control(&check, &snapshot, now) {
                Ok(findings) => findings,
                Err(err) => {
                    warn!(campaign = %name, "check cannot run: {err}");
                    campaign.control_problem = Some(format!("spec.control.check: {err}"));
                    continue;
                }
            };
            campaign.control_problem = None;
            campaign.evaluated = true;
            let scope = spec.scope.clone();
            let mut reported = BTreeMap::new();
            for finding in findings {
                let key = ObjectKey::from_ref(&finding.asset);
                let namespace_labels = key.namespace.as_ref().and_then(|ns| self.namespaces.get(ns));
                if in_scope(&scope, &key, &finding.asset_labels, namespace_labels) {
                    reported.insert(key, finding);
                }
            }
            let gone: Vec<ObjectKey> = self.campaigns[&name]
                .findings
                .iter()
                .filter(|(key, f)| !reported.contains_key(*key) && f.status.state != FindingState::Closed)
                .map(|(key, _)| key.clone())
                .collect();
            if let Some(campaign) = self.campaigns.get_mut(&name) {
                campaign.reported = reported.keys().cloned().collect();
            }
            for (key, finding) in reported {
                self.observe_check(&name, &key, finding, now);
            }
            for key in gone {
                if !self.in_flight.contains(&key) {
                    self.step_finding(&name, &key, Observation::LooksClean, now);
                }
            }
        }
    }

    /// One asset a check reports: its finding is opened or kept, and routed to its owner
    /// unless the check's fix is automatic and the campaign applies it.
    fn observe_check(&mut self, name: &str, key: &ObjectKey, reported: ControlFinding, now: Timestamp) {
        let Some(campaign) = self.campaigns.get(name) else { return };
        let Ok(spec) = &campaign.spec else { return };
        let namespace_labels = key.namespace.as_ref().and_then(|ns| self.namespaces.get(ns));
        let (paths, desired, class) = match &reported.fix {
            ControlFix::Automatic { apply, .. } => {
                let fields = applied_fields(apply);
                (fields.iter().map(|(p, _)| p.clone()).collect(), fields, RemediationClass::Access)
            }
            // The owner's fix may delete or rewrite the asset: never one driftwarden applies.
            ControlFix::Owner { .. } => (Vec::new(), Vec::new(), RemediationClass::Recreate),
        };
        if !campaign.findings.contains_key(key) {
            let keys: Vec<String> = match spec.owner_labels.is_empty() {
                true => DEFAULT_OWNER_LABELS.iter().map(|k| k.to_string()).collect(),
                false => spec.owner_labels.clone(),
            };
            let owner = resolve_owner(&keys, &reported.asset_labels, namespace_labels, spec.default_owner.as_ref());
            let mut finding = new_finding(
                finding_name(name, key),
                finding_namespace(key, &self.settings.namespace),
                reported.severity,
                owner,
                now,
            );
            finding.control = super::campaigns::control_name(campaign);
            if let Some(campaign) = self.campaigns.get_mut(name) {
                campaign.findings.insert(key.clone(), finding);
            }
            self.notify_finding(name, key, None);
        }
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        campaign.unwritten.insert(key.clone());
        let Some(finding) = campaign.findings.get_mut(key) else { return };
        finding.asset_uid = reported.asset.uid.clone().or(finding.asset_uid.take());
        finding.severity = reported.severity;
        finding.desired = desired;
        finding.control_fix = Some(reported.fix.clone());
        finding.summary = Some(reported.summary.clone());
        let observation = Observation::Drifted { paths, class, changed_by: None };
        self.step_finding(name, key, observation, now);
        self.route_finding(name, key, now);
    }

    /// Applies a check's automatic fix: server-side dry-run and apply of exactly the fields
    /// the check named, then a fresh read that must show them.
    /// A paused campaign applies nothing.
    pub(super) fn start_check_fix(
        &mut self,
        name: &str,
        key: &ObjectKey,
        approved_by: Option<String>,
        wave: Option<u32>,
    ) -> bool {
        if self.in_flight.contains(key) || self.campaign_paused(name) {
            return false;
        }
        let Some(finding) = self.campaigns.get(name).and_then(|c| c.findings.get(key)) else { return false };
        let Some(ControlFix::Automatic { apply, .. }) = &finding.control_fix else { return false };
        let Some((resource, namespaced)) = self.kinds.get(&key.kind).and_then(|k| k.resource.clone()) else {
            return false;
        };
        let fix = Fix {
            key: key.clone(),
            resource,
            namespaced,
            body: apply.clone(),
            expectations: vec![Expectation {
                template: apply.clone(),
                rules: CompareRules::new(self.fingerprints.clone()),
                paths: None,
            }],
            field_manager: self.settings.field_manager.clone(),
            creates: false,
            acting_as: self.campaigns.get(name).and_then(|c| c.spec.as_ref().ok()?.service_account_ref.clone()),
        };
        self.in_flight.insert(key.clone());
        let campaign = CampaignFix { campaign: name.to_string(), approved_by, wave };
        self.effects.push(Effect::CheckFix { fix, campaign });
        true
    }

    pub(super) fn on_check_fixed(
        &mut self,
        campaign: CampaignFix,
        key: ObjectKey,
        result: FixResult,
        denied: Option<String>,
    ) {
        self.in_flight.remove(&key);
        if let Some(entry) = self.campaigns.get_mut(&campaign.campaign)
            && entry.write_denied != denied
        {
            if let Some(message) = &denied {
                warn!(campaign = %campaign.campaign, "a fix was forbidden: {message}");
            }
            entry.write_denied = denied.clone();
        }
        if let FixResult::Verified { fresh, .. } = &result
            && let Some(kind) = self.kinds.get_mut(&key.kind)
            && kind.cache.resource_version(&key).is_none_or(|cached| super::fixes::older(&cached, fresh))
        {
            kind.cache.insert(key.clone(), &kind.mask.prune(fresh.as_ref().clone()));
        }
        debug!(campaign = %campaign.campaign, asset = %key, result = result.category(), "check fix done");
        if denied.is_some() {
            // The operator's permissions are at fault, not the asset: the finding stays as it
            // was, for the next wave to try again, and the campaign says what is forbidden.
            self.end_wave_part(&campaign.campaign, &key, None);
            return;
        }
        self.on_campaign_fixed(&campaign, &key, &result);
        self.identity_dirty = true;
    }

    /// Closes or keeps a check finding after a fresh read: gone is closed; otherwise the
    /// read must be the state the last check run saw, in which the asset was no longer
    /// reported. A newer object is checked again on the next run.
    pub(super) fn verify_check(&mut self, name: &str, key: &ObjectKey, fresh: Value, now: Timestamp) {
        let cached_version = self.kinds.get(&key.kind).and_then(|k| k.cache.resource_version(key));
        let resource_version = fresh.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string);
        let Some(campaign) = self.campaigns.get_mut(name) else { return };
        let still_reported = campaign.reported.contains(key);
        let Some(finding) = campaign.findings.get_mut(key) else { return };
        if still_reported {
            let desired: Vec<(String, Option<Value>)> =
                finding.desired.iter().map(|(p, v)| (p.clone(), Some(v.clone()))).collect();
            let hash = crate::engine::campaign::hash_fields(&desired);
            let failed = Observation::VerifyFailed {
                resource_version,
                desired_hash: hash.clone(),
                live_hash: crate::engine::campaign::hash_fields(&[]),
                message: "the check still reports the asset".to_string(),
            };
            self.step_finding(name, key, failed, now);
            return;
        }
        if resource_version.is_none() || cached_version != resource_version {
            // The asset moved on since the checks ran: look again after the next run.
            let wait = jiff::SignedDuration::try_from(self.settings.identity_interval).unwrap_or_default();
            finding.verify_retry_at = Some(now + wait);
            self.identity_dirty = true;
            return;
        }
        let ours =
            finding.status.evidence.last().is_some_and(|e| e.action == crate::api::finding::EvidenceAction::Applied);
        let actor = if ours {
            crate::engine::campaign::lifecycle::OPERATOR_ACTOR.to_string()
        } else {
            super::campaigns::latest_writer(&fresh)
                .unwrap_or_else(|| crate::engine::campaign::lifecycle::EXTERNAL_ACTOR.to_string())
        };
        let desired: Vec<(String, Option<Value>)> =
            finding.desired.iter().map(|(p, v)| (p.clone(), Some(v.clone()))).collect();
        let hash = crate::engine::campaign::hash_fields(&desired);
        let verified = Observation::Verified { resource_version, desired_hash: hash.clone(), live_hash: hash, actor };
        self.step_finding(name, key, verified, now);
    }

    /// Why a check campaign's finding goes to its owner, or `None` when the campaign fixes it.
    pub(super) fn check_escalation(&self, name: &str, key: &ObjectKey) -> Option<String> {
        let campaign = self.campaigns.get(name)?;
        let spec = campaign.spec.as_ref().ok()?;
        let finding = campaign.findings.get(key)?;
        match finding.control_fix.as_ref()? {
            ControlFix::Owner { action, why } => Some(format!("{action}: {why}")),
            ControlFix::Automatic { .. } if spec.strategy.mode == CampaignMode::Manual => Some(
                "the campaign is Manual: the owner applies the fix (or approves it), and driftwarden verifies"
                    .to_string(),
            ),
            ControlFix::Automatic { .. } => {
                let classes = self.campaign_classes_of(campaign);
                (!classes.contains(&RemediationClass::Access))
                    .then(|| "the campaign does not fix Access by itself; approve the finding to apply it".to_string())
            }
        }
    }
}

/// The fields an apply body sets, as JSON pointers with their values (its identity —
/// `apiVersion`, `kind`, `metadata.name` and `metadata.namespace` — left out).
fn applied_fields(apply: &Value) -> Vec<(String, Value)> {
    fn walk(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(fields) if !fields.is_empty() => {
                for (name, child) in fields {
                    let token = name.replace('~', "~0").replace('/', "~1");
                    walk(child, format!("{path}/{token}"), out);
                }
            }
            _ => out.push((path, value.clone())),
        }
    }
    let mut out = Vec::new();
    walk(apply, String::new(), &mut out);
    out.retain(|(path, _)| {
        !matches!(path.as_str(), "/apiVersion" | "/kind" | "/metadata/name" | "/metadata/namespace")
    });
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn applied_fields_are_the_body_less_its_identity() {
        let body = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "web", "namespace": "shop", "labels": {"a/b": "c"}},
                          "automountServiceAccountToken": false});
        assert_eq!(
            applied_fields(&body),
            vec![
                ("/automountServiceAccountToken".to_string(), json!(false)),
                ("/metadata/labels/a~1b".to_string(), json!("c"))
            ]
        );
    }

    #[test]
    fn secrets_are_watched_without_their_data() {
        let mask = identity_mask(&KindKey::new("v1", "Secret"));
        let pruned =
            mask.prune(json!({"kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}}));
        assert!(pruned.get("data").is_none());
        assert_eq!(pruned["type"], "Opaque");
        assert_eq!(identity_mask(&KindKey::new("v1", "Pod")), FieldMask::Whole);
        assert_eq!(identity_kinds().len(), 15);
    }

    #[test]
    fn only_secrets_read_for_identity_alone_are_watched_by_type() {
        let secrets = KindKey::new("v1", "Secret");
        assert_eq!(token_selector(&secrets, true).as_deref(), Some("type=kubernetes.io/service-account-token"));
        assert_eq!(token_selector(&secrets, false), None, "a policy or SecretRotation needs every Secret");
        assert_eq!(token_selector(&KindKey::new("v1", "ServiceAccount"), true), None);
    }
}
