//! How a bucket is written in its ConfigMap: one JSON document under
//! [`DATA_KEY`](super::DATA_KEY), readable with `kubectl get configmap -o yaml`. Policies are
//! written `namespace/name` (a ClusterDriftPolicy: `name`), objects `apiVersion kind
//! namespace name` (space-separated; the namespace empty when cluster-scoped), times as
//! Unix milliseconds.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::outbox::Pending;
use super::{Bucket, Trimmed};
use crate::api::policy::NotifySpec;
use crate::api::reasons;
use crate::keys::{KindKey, ObjectKey, PolicyKey};
use crate::operator::notify::{Notification, NotificationType, Sink};
use crate::operator::reconciler::{Announcement, EventType};

/// A record of the ledger that could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger {bucket}: {problem}")]
pub struct DecodeError {
    /// The ConfigMap it was in (empty until known).
    pub bucket: String,
    pub problem: String,
}

impl DecodeError {
    fn new(problem: impl Into<String>) -> Self {
        DecodeError { bucket: String::new(), problem: problem.into() }
    }

    pub(super) fn in_bucket(mut self, name: &str) -> Self {
        self.bucket = name.to_string();
        self
    }
}

/// A bucket's records as written.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BucketDoc {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    escalations: Vec<EscalationDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<FixDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rates: Vec<RateDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outbox: Vec<OutboxDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EscalationDoc {
    policy: String,
    object: String,
    drifts: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FixDoc {
    policy: String,
    object: String,
    path: String,
    at: Vec<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RateDoc {
    policy: String,
    /// `[unix second, fixes in it]` pairs.
    seconds: Vec<(i64, u32)>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutboxDoc {
    id: String,
    since: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<EventDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notification: Option<NotificationDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventDoc {
    object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object_uid: Option<String>,
    policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy_uid: Option<String>,
    warning: bool,
    reason: String,
    message: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationDoc {
    /// The CloudEvent `id`.
    id: String,
    sink_namespace: String,
    sink: NotifySpec,
    #[serde(rename = "type")]
    kind: String,
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    time: i64,
    data: Value,
}

/// A bucket's records, read back and typed.
#[derive(Default)]
pub(super) struct Records {
    pub escalations: Vec<(PolicyKey, ObjectKey, BTreeSet<String>)>,
    pub fixes: Vec<(PolicyKey, ObjectKey, BTreeMap<String, Vec<Timestamp>>)>,
    pub rates: Vec<(PolicyKey, BTreeMap<i64, u32>)>,
    pub outbox: Vec<(String, Pending)>,
    /// The records skipped, and why.
    pub problems: Vec<DecodeError>,
}

/// `namespace/name`, or `name` for a ClusterDriftPolicy.
pub(super) fn policy_text(key: &PolicyKey) -> String {
    key.to_string()
}

fn parse_policy(text: &str) -> Result<PolicyKey, DecodeError> {
    let key = match text.split_once('/') {
        Some((namespace, name)) => PolicyKey { namespace: Some(namespace.to_string()), name: name.to_string() },
        None => PolicyKey { namespace: None, name: text.to_string() },
    };
    if key.name.is_empty() || key.name.contains('/') || key.namespace.as_deref() == Some("") {
        return Err(DecodeError::new(format!("{text:?} is not a policy (namespace/name or name)")));
    }
    Ok(key)
}

/// `apiVersion kind namespace name`; none of the four can hold a space.
pub(super) fn object_text(key: &ObjectKey) -> String {
    format!("{} {} {} {}", key.kind.api_version, key.kind.kind, key.namespace.as_deref().unwrap_or(""), key.name)
}

fn parse_object(text: &str) -> Result<ObjectKey, DecodeError> {
    let parts: Vec<&str> = text.split(' ').collect();
    match parts.as_slice() {
        [api_version, kind, namespace, name] if !api_version.is_empty() && !kind.is_empty() && !name.is_empty() => {
            Ok(ObjectKey::new(
                KindKey::new(*api_version, *kind),
                (!namespace.is_empty()).then(|| namespace.to_string()),
                *name,
            ))
        }
        _ => Err(DecodeError::new(format!("{text:?} is not an object (apiVersion kind namespace name)"))),
    }
}

fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

fn timestamp(ms: i64) -> Result<Timestamp, DecodeError> {
    Timestamp::from_millisecond(ms).map_err(|e| DecodeError::new(format!("time {ms}: {e}")))
}

fn times(list: &[i64]) -> Result<Vec<Timestamp>, DecodeError> {
    list.iter().map(|ms| timestamp(*ms)).collect()
}

/// Reads a bucket's document.
pub(super) fn decode(data: &str) -> Result<BucketDoc, DecodeError> {
    serde_json::from_str(data).map_err(|e| DecodeError::new(format!("{DATA_KEY_NAME}: {e}")))
}

const DATA_KEY_NAME: &str = super::DATA_KEY;

impl BucketDoc {
    /// The typed records; a record that does not read is skipped and said why.
    pub(super) fn records(self) -> Records {
        let mut records = Records::default();
        let mut problems = Vec::new();
        for doc in self.escalations {
            let read = (|| Ok((parse_policy(&doc.policy)?, parse_object(&doc.object)?)))();
            match read {
                Ok((policy, object)) => records.escalations.push((policy, object, doc.drifts.into_iter().collect())),
                Err(problem) => problems.push(problem),
            }
        }
        let mut fixes: BTreeMap<(PolicyKey, ObjectKey), BTreeMap<String, Vec<Timestamp>>> = BTreeMap::new();
        for doc in self.fixes {
            let read = (|| Ok((parse_policy(&doc.policy)?, parse_object(&doc.object)?, times(&doc.at)?)))();
            match read {
                Ok((policy, object, at)) => {
                    fixes.entry((policy, object)).or_default().insert(doc.path, at);
                }
                Err(problem) => problems.push(problem),
            }
        }
        records.fixes = fixes.into_iter().map(|((policy, object), fields)| (policy, object, fields)).collect();
        for doc in self.rates {
            match parse_policy(&doc.policy) {
                Ok(policy) => records.rates.push((policy, doc.seconds.into_iter().collect())),
                Err(problem) => problems.push(problem),
            }
        }
        for doc in self.outbox {
            let id = doc.id.clone();
            match read_pending(doc) {
                Ok(pending) => records.outbox.push((id, pending)),
                Err(problem) => problems.push(DecodeError::new(format!("outbox entry {id:?}: {}", problem.problem))),
            }
        }
        records.problems = problems;
        records
    }
}

fn read_pending(doc: OutboxDoc) -> Result<Pending, DecodeError> {
    match (doc.event, doc.notification) {
        (Some(event), None) => {
            let reason = reasons::ALL
                .iter()
                .copied()
                .find(|known| *known == event.reason)
                .ok_or_else(|| DecodeError::new(format!("unknown Event reason {:?}", event.reason)))?;
            Ok(Pending::Event(Announcement {
                object: parse_object(&event.object)?,
                object_uid: event.object_uid,
                policy: parse_policy(&event.policy)?,
                policy_uid: event.policy_uid,
                type_: if event.warning { EventType::Warning } else { EventType::Normal },
                reason,
                message: event.message,
            }))
        }
        (None, Some(notification)) => {
            let kind = NotificationType::from_event_type(&notification.kind)
                .ok_or_else(|| DecodeError::new(format!("unknown notification type {:?}", notification.kind)))?;
            Ok(Pending::Notification {
                sink: Sink { namespace: notification.sink_namespace, spec: notification.sink },
                notification: Notification {
                    id: notification.id,
                    kind,
                    source: notification.source,
                    subject: notification.subject,
                    time: timestamp(notification.time)?,
                    data: notification.data,
                },
            })
        }
        _ => Err(DecodeError::new("holds neither one event nor one notification")),
    }
}

fn write_pending(id: &str, since: Timestamp, pending: &Pending) -> OutboxDoc {
    let mut doc = OutboxDoc { id: id.to_string(), since: millis(since), event: None, notification: None };
    match pending {
        Pending::Event(a) => {
            doc.event = Some(EventDoc {
                object: object_text(&a.object),
                object_uid: a.object_uid.clone(),
                policy: policy_text(&a.policy),
                policy_uid: a.policy_uid.clone(),
                warning: a.type_ == EventType::Warning,
                reason: a.reason.to_string(),
                message: a.message.clone(),
            })
        }
        Pending::Notification { sink, notification } => {
            doc.notification = Some(NotificationDoc {
                id: notification.id.clone(),
                sink_namespace: sink.namespace.clone(),
                sink: sink.spec.clone(),
                kind: notification.kind.event_type().to_string(),
                source: notification.source.clone(),
                subject: notification.subject.clone(),
                time: millis(notification.time),
                data: notification.data.clone(),
            })
        }
    }
    doc
}

fn document(bucket: &Bucket) -> BucketDoc {
    BucketDoc {
        escalations: bucket
            .escalations
            .iter()
            .flat_map(|(object, by_policy)| by_policy.iter().map(move |(policy, drifts)| (object, policy, drifts)))
            .map(|(object, policy, drifts)| EscalationDoc {
                policy: policy_text(policy),
                object: object_text(object),
                drifts: drifts.iter().cloned().collect(),
            })
            .collect(),
        fixes: bucket
            .fixes
            .iter()
            .flat_map(|(object, by_policy)| by_policy.iter().map(move |(policy, fields)| (object, policy, fields)))
            .flat_map(|(object, policy, fields)| {
                fields.iter().map(move |(path, at)| FixDoc {
                    policy: policy_text(policy),
                    object: object_text(object),
                    path: path.clone(),
                    at: at.iter().copied().map(millis).collect(),
                })
            })
            .collect(),
        rates: bucket
            .rates
            .iter()
            .map(|(policy, seconds)| RateDoc {
                policy: policy_text(policy),
                seconds: seconds.iter().map(|(second, count)| (*second, *count)).collect(),
            })
            .collect(),
        outbox: bucket.outbox.iter().map(|(id, entry)| write_pending(id, entry.since, &entry.pending)).collect(),
    }
}

/// Encodes `bucket` within `max` bytes, dropping from it what does not fit: the oldest
/// fix history first, then the oldest undelivered announcements, then escalation records.
pub(super) fn encode_bounded(bucket: &mut Bucket, max: usize) -> (String, Trimmed) {
    let mut trimmed = Trimmed::default();
    loop {
        let data = serde_json::to_string(&document(bucket)).unwrap_or_default();
        if data.len() <= max {
            return (data, trimmed);
        }
        // Drop an eighth of the records of the first sort that has any (at least one).
        if !bucket.fixes.is_empty() {
            let newest = |by_policy: &BTreeMap<PolicyKey, super::Fields>| {
                by_policy.values().flat_map(BTreeMap::values).flatten().max().copied().unwrap_or(Timestamp::MIN)
            };
            let mut by_age: Vec<(Timestamp, ObjectKey)> =
                bucket.fixes.iter().map(|(object, by_policy)| (newest(by_policy), object.clone())).collect();
            by_age.sort();
            for (_, object) in by_age.into_iter().take(bucket.fixes.len().div_ceil(8)) {
                bucket.fixes.remove(&object);
                trimmed.fixes += 1;
            }
        } else if !bucket.outbox.is_empty() {
            let mut by_age: Vec<(Timestamp, String)> =
                bucket.outbox.iter().map(|(id, entry)| (entry.since, id.clone())).collect();
            by_age.sort();
            for (_, id) in by_age.into_iter().take(bucket.outbox.len().div_ceil(8)) {
                bucket.outbox.remove(&id);
                trimmed.announcements.push(id);
            }
        } else if !bucket.escalations.is_empty() {
            let drop: Vec<_> = bucket.escalations.keys().take(bucket.escalations.len().div_ceil(8)).cloned().collect();
            for key in drop {
                bucket.escalations.remove(&key);
                trimmed.escalations += 1;
            }
        } else {
            return (data, trimmed);
        }
    }
}
