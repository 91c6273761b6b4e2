//! A reconciler on a frozen clock, and the objects the tests feed it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ApiResource;
use serde_json::{Value, json};

use super::super::{Effect, FixPart, Input, Outcome, Reconciler};
use crate::keys::{KindKey, ObjectKey};
use crate::operator::health::Readiness as Health;
use crate::operator::ledger::Pending;
use crate::operator::metrics::Metrics;
use crate::operator::remediate::{Fix, FixError, FixResult};
use crate::operator::settings::OperatorSettings;
use crate::operator::watch::{Change, Source, Watched};

/// A Monday morning, UTC.
pub const START: &str = "2026-03-02T10:00:00Z";

/// The reconciler, the time it is at, and the resourceVersions it has been shown.
pub struct Harness {
    pub reconciler: Reconciler,
    pub now: Timestamp,
    /// The metrics the reconciler counts into.
    pub metrics: Arc<Metrics>,
    version: u64,
}

/// A fix the reconciler asked for, with what the test answers it with.
pub struct AskedFix {
    pub fix: Fix,
    pub parts: Vec<FixPart>,
    pub attempt: u32,
    pub started: Timestamp,
}

/// The key the reconciler under test fingerprints Secret values with.
pub fn test_key() -> crate::engine::FingerprintKey {
    crate::engine::FingerprintKey::new(b"driftwarden test fingerprint key").expect("32 bytes make a key")
}

impl Harness {
    pub fn new() -> Self {
        Self::with_settings(OperatorSettings::default())
    }

    /// A harness whose reconciler runs with `settings`.
    pub fn with_settings(settings: OperatorSettings) -> Self {
        let now: Timestamp = START.parse().unwrap();
        let metrics = Arc::new(Metrics::new());
        let reconciler = Reconciler::new(settings, metrics.clone(), Health::new(), now, test_key());
        Harness { reconciler, now, metrics, version: 100 }
    }

    /// A reconciler taking up what `ledger` recorded, as after a restart.
    pub fn restored(ledger: crate::operator::ledger::Ledger) -> Self {
        let mut h = Harness::new();
        let reconciler = std::mem::replace(
            &mut h.reconciler,
            Reconciler::new(OperatorSettings::default(), h.metrics.clone(), Health::new(), h.now, test_key()),
        );
        h.reconciler = reconciler.with_ledger(ledger);
        h
    }

    pub fn input(&mut self, input: Input) -> Vec<Effect> {
        self.reconciler.handle(input, self.now)
    }

    pub fn watched(&mut self, source: Source, change: Change) -> Vec<Effect> {
        self.input(Input::Watched(Watched { source, change }))
    }

    /// A whole list of `source`: its start, every object, its end.
    pub fn list(&mut self, source: Source, objects: Vec<Value>) -> Vec<Effect> {
        let mut effects = self.watched(source.clone(), Change::Init);
        for object in objects {
            effects.extend(self.watched(source.clone(), Change::InitApply(object)));
        }
        effects.extend(self.watched(source, Change::InitDone));
        effects
    }

    /// Lists driftwarden's own kinds as the operator does at start.
    pub fn list_own(&mut self, own: Own) -> Vec<Effect> {
        let mut effects = self.list(Source::Namespaces, own.namespaces);
        effects.extend(self.list(Source::Policies, own.policies));
        effects.extend(self.list(Source::ClusterPolicies, own.cluster_policies));
        effects.extend(self.list(Source::Campaigns, own.campaigns));
        effects.extend(self.list(Source::Findings, own.findings));
        effects.extend(self.list(Source::Exceptions, own.exceptions));
        effects
    }

    /// Lists driftwarden's own kinds as the operator does at start, then answers every
    /// discovery it asks for with ConfigMaps (namespaced) and lists `configmaps`.
    pub fn start(&mut self, own: Own, configmaps: Vec<Value>) -> Vec<Effect> {
        let mut effects = self.list_own(own);
        let discovered = self.serve_discovery(&effects);
        assert!(discovered, "the policies name ConfigMaps, so the reconciler looks them up");
        let mut later = self.list(Source::Kind(configmaps_kind()), configmaps);
        effects.append(&mut later);
        effects
    }

    /// Answers every `Discover` among `effects`: ConfigMaps are served.
    pub fn serve_discovery(&mut self, effects: &[Effect]) -> bool {
        let kinds: Vec<KindKey> = effects
            .iter()
            .filter_map(|e| if let Effect::Discover(kind) = e { Some(kind.clone()) } else { None })
            .collect();
        for kind in &kinds {
            assert_eq!(kind, &configmaps_kind(), "only ConfigMaps are served here");
            let effects = self.input(Input::Outcome(Outcome::Resolved(
                kind.clone(),
                Ok((ApiResource::erase::<ConfigMap>(&()), true)),
            )));
            assert!(
                effects.iter().any(|e| matches!(e, Effect::Watch { kind: watched, .. } if watched == kind)),
                "a served kind is watched"
            );
        }
        !kinds.is_empty()
    }

    pub fn tick(&mut self) -> Vec<Effect> {
        self.input(Input::Tick)
    }

    /// A tick whose writes (statuses, Findings, reports) all succeed: their outcomes are
    /// fed back until no write is left. Answers every effect, the writes included.
    pub fn settled_tick(&mut self) -> Vec<Effect> {
        let effects = self.tick();
        self.settle(effects)
    }

    /// Answers every write among `effects` as done, and those its outcome asks for, until
    /// none is left. Answers every effect seen.
    pub fn settle(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let mut all = Vec::new();
        let mut pending = effects;
        while !pending.is_empty() {
            let mut next = Vec::new();
            for effect in &pending {
                if let Some(outcome) = written(effect) {
                    next.extend(self.input(Input::Outcome(outcome)));
                }
            }
            all.append(&mut pending);
            pending = next;
        }
        all
    }

    /// The Events among `effects`, and those the ledger delivers once it has recorded
    /// what was announced (its writes answered as done), without the rest of a tick.
    pub fn announced(&mut self, effects: &[Effect]) -> Vec<(&'static str, String)> {
        let mut seen = events(effects);
        self.reconciler.flush_ledger(self.now);
        let flushed = std::mem::take(&mut self.reconciler.effects);
        let delivered = self.settle(flushed);
        seen.extend(events(&delivered));
        seen
    }

    /// A tick whose ledger writes succeed: the effects of both.
    pub fn tick_recorded(&mut self) -> Vec<Effect> {
        let mut effects = self.tick();
        let writes: Vec<Outcome> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::WriteLedger(w) => {
                    Some(Outcome::LedgerWritten { index: w.index, serial: w.serial, result: Ok(()) })
                }
                _ => None,
            })
            .collect();
        for outcome in writes {
            effects.extend(self.input(Input::Outcome(outcome)));
        }
        effects
    }

    pub fn advance(&mut self, by: SignedDuration) {
        self.now += by;
    }

    /// Shows the reconciler a new version of a ConfigMap.
    pub fn changed(&mut self, mut object: Value) -> Vec<Effect> {
        self.version += 1;
        object["metadata"]["resourceVersion"] = json!(self.version.to_string());
        self.watched(Source::Kind(configmaps_kind()), Change::Apply(object))
    }

    /// Answers a fix: verified, with the object as `fresh` reads it.
    pub fn verified(&mut self, fix: AskedFix, fresh: Value) -> Vec<Effect> {
        self.version += 1;
        let mut fresh = fresh;
        fresh["metadata"]["resourceVersion"] = json!(self.version.to_string());
        let result = FixResult::Verified { resource_version: Some(self.version.to_string()), fresh: Box::new(fresh) };
        self.fixed(fix, result)
    }

    /// Answers a fix: the apply failed with a 500.
    pub fn failed(&mut self, fix: AskedFix) -> Vec<Effect> {
        let status = kube::core::Status::failure("etcd is unavailable", "InternalError").with_code(500);
        let result = FixResult::ApplyFailed { error: FixError::Apply { source: kube::Error::Api(Box::new(status)) } };
        self.fixed(fix, result)
    }

    fn fixed(&mut self, fix: AskedFix, result: FixResult) -> Vec<Effect> {
        let AskedFix { fix, parts, started, attempt } = fix;
        let outcome = Outcome::Fixed { key: fix.key, fixed: parts, result, denied: None, started, attempt };
        self.input(Input::Outcome(outcome))
    }
}

/// The outcome of a write that succeeded; `None` for other effects.
fn written(effect: &Effect) -> Option<Outcome> {
    Some(match effect {
        Effect::WritePolicyStatus { policy, status } => Outcome::StatusWritten(policy.clone(), Ok(status.clone())),
        Effect::WriteCampaignStatus { name, status } => Outcome::CampaignWritten(name.clone(), Ok(status.clone())),
        Effect::WriteExceptionStatus { key, status } => Outcome::ExceptionWritten(key.clone(), Ok(status.clone())),
        Effect::WriteLedger(write) => {
            Outcome::LedgerWritten { index: write.index, serial: write.serial, result: Ok(()) }
        }
        Effect::WriteFinding(write) => Outcome::FindingWritten {
            campaign: write.campaign.clone(),
            key: write.key.clone(),
            written: Ok((write.body.clone(), write.status.clone())),
        },
        _ => return None,
    })
}

/// driftwarden's own objects as listed at start.
#[derive(Default)]
pub struct Own {
    pub namespaces: Vec<Value>,
    pub policies: Vec<Value>,
    pub cluster_policies: Vec<Value>,
    pub campaigns: Vec<Value>,
    pub findings: Vec<Value>,
    pub exceptions: Vec<Value>,
}

impl Own {
    pub fn policy(policy: Value) -> Self {
        Own { namespaces: vec![namespace("shop")], policies: vec![policy], ..Own::default() }
    }
}

pub fn configmaps_kind() -> KindKey {
    KindKey::new("v1", "ConfigMap")
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}})
}

/// A DriftPolicy of namespace `shop` that wants `team: shop` on every ConfigMap labelled
/// `app: web`, with `remediation` as given.
pub fn policy(remediation: Value) -> Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1",
        "kind": "DriftPolicy",
        "metadata": {"name": "labels", "namespace": "shop", "generation": 1, "uid": "policy-uid"},
        "spec": {
            "baselines": [{
                "name": "team-label",
                "match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "web"}}},
                "template": {"metadata": {"labels": {"team": "shop"}}}
            }],
            "remediation": remediation
        }
    })
}

/// A cluster policy that reports every web ConfigMap without `team: shop`, and fixes none.
pub fn audit_policy() -> Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1",
        "kind": "ClusterDriftPolicy",
        "metadata": {"name": "team-label", "generation": 1},
        "spec": {
            "baselines": [{
                "name": "team-label",
                "match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "web"}}},
                "template": {"metadata": {"labels": {"team": "shop"}}}
            }],
            "remediation": {"mode": "Audit"}
        }
    })
}

/// An Auto or Manual campaign (as `strategy` says) over what [`audit_policy`] reports.
pub fn campaign(strategy: Value) -> Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1",
        "kind": "RemediationCampaign",
        "metadata": {"name": "label-everything", "generation": 1, "uid": "campaign-uid"},
        "spec": {
            "objective": "Every web ConfigMap names its team",
            "owner": {"team": "platform", "contact": "platform@example.com"},
            "control": {"policyRef": {"kind": "ClusterDriftPolicy", "name": "team-label"}},
            "successCriteria": {"compliantPercent": 100},
            "deadline": "2027-03-31T00:00:00Z",
            "strategy": strategy
        }
    })
}

/// A ConfigMap of `shop` labelled `app: web`, with `team` as given (absent: drifted).
pub fn configmap(name: &str, team: Option<&str>) -> Value {
    let mut labels = json!({"app": "web"});
    if let Some(team) = team {
        labels["team"] = json!(team);
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "resourceVersion": "1", "labels": labels},
        "data": {"k": "v"}
    })
}

pub fn key(name: &str) -> ObjectKey {
    ObjectKey::of(&configmap(name, None))
}

/// The fixes among `effects`.
pub fn fixes(effects: Vec<Effect>) -> Vec<AskedFix> {
    effects
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::Fix { fix, parts, attempt, started, .. } => Some(AskedFix { fix, parts, attempt, started }),
            _ => None,
        })
        .collect()
}

/// The reasons of the Events among `effects`, with their messages.
pub fn events(effects: &[Effect]) -> Vec<(&'static str, String)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Publish(announcement) | Effect::Deliver { pending: Pending::Event(announcement), .. } => {
                Some((announcement.reason, announcement.message.clone()))
            }
            _ => None,
        })
        .collect()
}

/// How many policy status writes are among `effects`.
pub fn status_writes(effects: &[Effect]) -> usize {
    effects.iter().filter(|e| matches!(e, Effect::WritePolicyStatus { .. })).count()
}

pub fn ms(millis: i64) -> SignedDuration {
    SignedDuration::from_millis(millis)
}
