//! `DriftPolicy` (namespaced) and `ClusterDriftPolicy` (cluster-scoped): the desired state
//! a platform team declared, and how drift from it is handled.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{
    DURATION_PATTERN, ObjectRef, Owner, PATH_PATTERN, RemediationClass, SUBDOMAIN_PATTERN, SecretKeyRef,
    ServiceAccountRef, TIME_OF_DAY_PATTERN, TargetMatch, at_most_rule,
};
use super::finding::Evidence;
use super::labels::{LABEL_KEY_PATTERN, MAX_LABEL_KEY_LENGTH};
use crate::notification::NotificationType;

/// The most drifts listed in a policy's status; the counts are always complete.
pub const MAX_DRIFTS: usize = 50;
/// The most baselines in one policy.
pub const MAX_BASELINES: usize = 100;
/// The most ignore rules in one policy.
pub const MAX_IGNORE_RULES: usize = 100;
/// The most paths in one ignore rule or exception.
pub const MAX_PATHS: usize = 64;
/// The longest path, in characters.
pub const MAX_PATH_LENGTH: usize = 512;
/// The most full manifests one policy may declare in `resources`.
pub const MAX_RESOURCES: usize = 1000;
/// The most remediation windows one policy may declare.
pub const MAX_WINDOWS: usize = 100;
/// The highest `rateLimit.perMinute`.
pub const MAX_RATE_PER_MINUTE: u32 = 10_000;
/// The highest `flapping.maxFixes`.
pub const MAX_FLAPPING_FIXES: u32 = 1_000;
/// The longest `flapping.window`: one week.
pub const MAX_FLAPPING_WINDOW: &str = "168h";
/// The most field managers one policy may name as appliers.
pub const MAX_APPLIERS: usize = 32;
/// The longest field manager name.
pub const MAX_MANAGER_LENGTH: usize = 128;
/// The most escalation routes one policy may declare.
pub const MAX_ROUTES: usize = 32;
/// The most owners one escalation route may name.
pub const MAX_ROUTE_OWNERS: usize = 32;
/// The most recent fixes a policy's status keeps, with their evidence.
pub const MAX_POLICY_FIXES: usize = 20;
/// The most points of a policy's history; older ones are thinned out.
pub const MAX_POLICY_HISTORY: usize = 100;

/// What a DriftPolicy or ClusterDriftPolicy declares. Both kinds share this spec; a
/// DriftPolicy governs objects in its own namespace only.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    /// Full manifests that must exist and match, each with `apiVersion`, `kind` and
    /// `metadata.name`. A missing object is drift of class `Create`. In a DriftPolicy, a
    /// resource without a namespace belongs to the policy's namespace, and a resource in
    /// another namespace makes the policy invalid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "embedded_resources_schema")]
    pub resources: Vec<Value>,
    /// Partial objects whose fields must hold on every live object their `match` selects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_BASELINES))]
    pub baselines: Vec<Baseline>,
    /// Drift that is not drift: paths to leave alone, and field managers whose ownership
    /// of a field takes it out of this policy's hands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_IGNORE_RULES))]
    pub ignore: Vec<IgnoreRule>,
    /// How drift is fixed: mode, classes fixed without a person, and the guards around it.
    #[serde(default)]
    pub remediation: RemediationSpec,
    /// Who is told, and how, when drift cannot be fixed automatically.
    #[serde(default)]
    pub escalation: EscalationSpec,
    /// The same policy enforced by the API server before a drifting change is stored:
    /// a ValidatingAdmissionPolicy generated from the templates. Absent: nothing is
    /// generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<super::admission::AdmissionSpec>,
}

/// A partial object whose fields must hold on every selected live object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(
    validation = Rule::new("!has(self.template.apiVersion) || self.template.apiVersion == self.match.apiVersion")
        .message("template.apiVersion, when set, must equal match.apiVersion"),
    validation = Rule::new("!has(self.template.kind) || self.template.kind == self.match.kind")
        .message("template.kind, when set, must equal match.kind")
)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    /// A name for this baseline, shown in drift reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub name: Option<String>,
    /// The live objects this baseline applies to.
    #[serde(rename = "match")]
    pub target: TargetMatch,
    /// The fields that must hold, as a partial object of the matched kind, for example
    /// `{spec: {template: {spec: {automountServiceAccountToken: false}}}}`. Fields not set
    /// here are not governed. `apiVersion` and `kind` may be left out; when set they must
    /// equal the match's.
    #[schemars(schema_with = "template_schema")]
    pub template: Value,
}

/// Paths or field managers that are not governed by this policy. A rule needs at least one
/// path or one manager.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new(
    "(has(self.paths) && size(self.paths) > 0) || (has(self.managers) && size(self.managers) > 0)"
).message("an ignore rule needs at least one path or one manager"))]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// JSON pointers (RFC 6901) to fields that are never drift, each starting with `/`, for
    /// example `/spec/replicas`. `*` stands for any map key or list item; items of keyed lists
    /// are addressed by their key, for example `/spec/template/spec/containers/name=app/image`.
    /// In a map key, `~` is written `~0` and `/` is written `~1`, for example
    /// `/metadata/annotations/example.com~1owner`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_PATHS), inner(length(min = 1, max = MAX_PATH_LENGTH), regex(pattern = PATH_PATTERN)))]
    pub paths: Vec<String>,
    /// Field managers (from `metadata.managedFields`), for example `kube-controller-manager`
    /// or `argocd-controller`: a field whose live value is owned by one of them is not
    /// governed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 128)))]
    pub managers: Vec<String>,
    /// Only for these objects. Without a match the rule applies to every target.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetMatch>,
}

/// Whether drift is fixed or only reported: `Enforce` or `Audit`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Mode {
    /// Fix the classes in `autoRemediate`; escalate the rest.
    #[default]
    Enforce,
    /// Fix nothing: report and escalate every drift.
    Audit,
}

/// How drift is fixed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemediationSpec {
    /// `Enforce` fixes the classes in `autoRemediate` and escalates the rest; `Audit` fixes
    /// nothing.
    #[serde(default)]
    pub mode: Mode,
    /// The remediation classes fixed without a person. Defaults to `[Metadata, Spec]`.
    #[serde(default = "default_auto_remediate")]
    #[schemars(length(max = 7))]
    pub auto_remediate: Vec<RemediationClass>,
    /// The most remediations this policy may apply per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Stops auto-remediation when too many targets drift at once: a bad template or an
    /// incident must not trigger a mass change. Unset, the policy still has a breaker: it
    /// opens when more than 50% of its targets drift, once it governs at least 10 targets
    /// (a campaign's waves do without that default breaker). `maxDriftedPercent: 100` turns
    /// the breaker off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Detects another actor fighting back: the same field fixed too often in a window is
    /// escalated as `Conflict` instead of fixed again. Unset, the policy still has this
    /// guard: 5 fixes of the same field within 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flapping: Option<Flapping>,
    /// Time windows in which auto-remediation may run. Without windows it may run at any
    /// time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_WINDOWS))]
    pub windows: Vec<RemediationWindow>,
    /// The field managers that apply declared state (GitOps appliers) for this policy's
    /// targets: a drifted field last written by one of them is a `Conflict`, escalated to
    /// its owner and never fixed. Unset, the operator's `--appliers` apply (by default Argo
    /// CD's `argocd-controller` and `argocd-application-controller`, Flux's
    /// `kustomize-controller` and `helm-controller`, and Helm's `helm`); an empty list names
    /// no applier at all. Any other manager's write, a person's `kubectl` server-side apply
    /// included, is drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_APPLIERS), inner(length(min = 1, max = MAX_MANAGER_LENGTH)))]
    pub appliers: Option<Vec<String>>,
}

impl Default for RemediationSpec {
    fn default() -> Self {
        Self {
            mode: Mode::Enforce,
            auto_remediate: default_auto_remediate(),
            rate_limit: None,
            circuit_breaker: None,
            flapping: None,
            windows: Vec::new(),
            appliers: None,
        }
    }
}

fn default_auto_remediate() -> Vec<RemediationClass> {
    vec![RemediationClass::Metadata, RemediationClass::Spec]
}

/// A limit on how many fixes a policy applies.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// The most remediations per minute for this policy, from 1 to 10000.
    #[schemars(range(min = 1, max = MAX_RATE_PER_MINUTE))]
    pub per_minute: u32,
}

/// A guard against mass changes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// When more than this percentage (0 to 100) of the policy's targets drift at once,
    /// stop auto-remediation for the policy and escalate.
    #[schemars(range(max = 100))]
    pub max_drifted_percent: u8,
}

/// Detection of a tug-of-war with another actor.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Flapping {
    /// The most times the same field of the same object may be fixed within `window`, from 1
    /// to 1000.
    #[schemars(range(min = 1, max = MAX_FLAPPING_FIXES))]
    pub max_fixes: u32,
    /// The window, as a duration such as `10m`, `1h` or `1h30m` (units `ms`, `s`, `m`, `h`), at
    /// most `168h` (one week).
    #[schemars(length(min = 1, max = 32), regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new(at_most_rule(MAX_FLAPPING_WINDOW))
        .message("window may not exceed 168h (one week)"))]
    pub window: String,
}

/// A day of the week.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// A recurring time window in which auto-remediation may run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("self.start != self.end")
    .message("start and end must differ: the window would be empty"))]
#[serde(rename_all = "camelCase")]
pub struct RemediationWindow {
    /// The days the window opens on. Empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 7))]
    pub days: Vec<Weekday>,
    /// When the window opens, as `HH:MM` (24-hour clock).
    #[schemars(length(max = 5), regex(pattern = TIME_OF_DAY_PATTERN))]
    pub start: String,
    /// When the window closes, as `HH:MM` (24-hour clock). An end before the start closes
    /// the window on the next day.
    #[schemars(length(max = 5), regex(pattern = TIME_OF_DAY_PATTERN))]
    pub end: String,
    /// The IANA time zone of `start` and `end`, for example `Europe/Paris`. Defaults to `UTC`.
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
}

fn default_time_zone() -> String {
    "UTC".to_string()
}

/// Who is told, and how, when drift cannot be fixed automatically.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationSpec {
    /// The owner when no owner label is found on the target or its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Label keys read from the target, then from its namespace, to find its accountable
    /// owner. Defaults to `driftwarden.dev/owner`, `app.kubernetes.io/owner` and `team`.
    #[serde(default = "default_owner_labels")]
    #[schemars(length(max = 16), inner(length(min = 1, max = MAX_LABEL_KEY_LENGTH), regex(pattern = LABEL_KEY_PATTERN)))]
    pub owner_labels: Vec<String>,
    /// Where CloudEvents notifications are sent: every notification of the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,
    /// Sinks of their own for some owners: each route also receives the notifications about
    /// the targets those owners are accountable for, so each team hears of its own drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_ROUTES))]
    pub routes: Vec<EscalationRoute>,
}

impl Default for EscalationSpec {
    fn default() -> Self {
        Self { owner: None, owner_labels: default_owner_labels(), notify: None, routes: Vec::new() }
    }
}

/// A sink for the notifications about some owners' targets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationRoute {
    /// The owners (teams, as resolved from the owner labels or `escalation.owner`, or
    /// `unowned`) whose notifications this route receives.
    #[schemars(length(min = 1, max = MAX_ROUTE_OWNERS), inner(length(min = 1, max = 253)))]
    pub owners: Vec<String>,
    /// Where they are sent. Its Secrets live in the policy's namespace.
    pub notify: NotifySpec,
}

/// The label keys read by default to find an owner.
pub fn default_owner_labels() -> Vec<String> {
    vec!["driftwarden.dev/owner".to_string(), "app.kubernetes.io/owner".to_string(), "team".to_string()]
}

/// How CloudEvents are delivered.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CloudEventsMode {
    /// Event attributes in `ce-` HTTP headers, the data as the body.
    #[default]
    Binary,
    /// The whole event as a JSON body (`application/cloudevents+json`).
    Structured,
}

/// A CloudEvents sink: an `http` or `https` URL. Its Secrets must be labelled
/// `driftwarden.dev/notification-credentials: "true"`, and its host may not resolve to a
/// loopback, link-local, private or unique-local address unless the operator's
/// `--notification-allowed-cidrs` allows it; the condition `NotificationSinkReady` says when
/// a delivery was refused and why.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifySpec {
    /// The Secret key holding the sink's URL (`http` or `https`). The Secret must be labelled
    /// `driftwarden.dev/notification-credentials: "true"`.
    pub url_secret_ref: SecretKeyRef,
    /// The Secret key holding the value of the `Authorization` header, if the sink needs one.
    /// The Secret must be labelled `driftwarden.dev/notification-credentials: "true"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<SecretKeyRef>,
    /// The CloudEvents HTTP content mode.
    #[serde(default)]
    pub mode: CloudEventsMode,
    /// The event types sent, such as `drift.detected` or `campaign.at_risk` (the CloudEvents
    /// type without its `dev.driftwarden.` prefix). Empty sends every type but
    /// `drift.detected` and `drift.recurred`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub types: Vec<NotificationType>,
}

impl NotifySpec {
    /// Whether this sink is sent notifications of type `kind`.
    pub fn sends(&self, kind: NotificationType) -> bool {
        if self.types.is_empty() { kind.sent_by_default() } else { self.types.contains(&kind) }
    }
}

/// One drift the policy currently sees, as shown in its status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftStatus {
    /// The drifted object.
    pub target: ObjectRef,
    /// The drifted fields, as JSON pointers.
    pub paths: Vec<String>,
    /// The riskiest remediation class among the drifted fields.
    pub class: Option<RemediationClass>,
    /// What driftwarden does about it: `Remediate`, `Escalate`, `Excepted` or `Audit`.
    pub action: String,
    /// Why, when the drift is escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the drift was first seen (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// How many fixes were attempted.
    #[serde(default)]
    pub attempts: u32,
    /// The field manager that last wrote a drifted field, when `managedFields` tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    /// When that field manager wrote it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    /// The accountable owner (team): from the target's owner labels, then its namespace's,
    /// then `escalation.owner`, else `unowned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// One recent fix of a policy and what proved it: the record of its verification (or of
/// the failure that stopped it), as a campaign Finding keeps it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyFix {
    /// The object fixed.
    pub target: ObjectRef,
    /// The fields the fix restored, as JSON pointers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_PATHS), inner(length(max = MAX_PATH_LENGTH)))]
    pub paths: Vec<String>,
    /// Who the drift was escalated to, or who owns the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What was done and proven.
    #[serde(flatten)]
    pub evidence: Evidence,
}

impl crate::engine::history::Point for PolicyHistoryPoint {
    fn time(&self) -> jiff::Timestamp {
        self.time.0
    }

    fn counts_as(&self, other: &Self) -> bool {
        (self.targets, self.drifted, self.escalated, self.remediated)
            == (other.targets, other.drifted, other.escalated, other.remediated)
    }
}

/// A policy's counts at one time, for its history.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyHistoryPoint {
    /// When the counts were taken.
    pub time: Time,
    /// How many targets the policy governed.
    pub targets: u32,
    /// How many of them drifted.
    pub drifted: u32,
    /// How many drifts were escalated.
    pub escalated: u32,
    /// How many fixes had been verified since the policy was created (a running total).
    pub remediated: u32,
}

/// What a DriftPolicy or ClusterDriftPolicy observed and did.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The policy's conditions: `Ready`, `Reconciling`, `Stalled`, `Compliant` and
    /// `Escalated`.
    #[serde(default)]
    #[schemars(schema_with = "super::conditions::schema")]
    pub conditions: Vec<Condition>,
    /// How many live objects the policy governs.
    #[serde(default)]
    pub targets: u32,
    /// How many targets match their templates.
    #[serde(default)]
    pub compliant: u32,
    /// How many targets currently drift.
    #[serde(default)]
    pub drifted: u32,
    /// How many fixes were applied and verified.
    #[serde(default)]
    pub remediated: u32,
    /// How many drifts are escalated to an owner.
    #[serde(default)]
    pub escalated: u32,
    /// How many drifts are covered by an active DriftException.
    #[serde(default)]
    pub excepted: u32,
    /// How many targets opted out with `driftwarden.dev/enforce: disabled`.
    #[serde(default)]
    pub opted_out: u32,
    /// The current drifts (at most 50; the counts above are complete).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_DRIFTS))]
    pub drifts: Vec<DriftStatus>,
    /// When the last fix was verified (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_remediation_time: Option<String>,
    /// The most recent fixes (at most 20, oldest first), with the evidence that proved each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_POLICY_FIXES))]
    pub fixes: Vec<PolicyFix>,
    /// The counts over time, a point an hour at most (at most 100 points; older ones are
    /// thinned out so the whole life of the policy stays visible).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_POLICY_HISTORY))]
    pub history: Vec<PolicyHistoryPoint>,
}

/// A DriftPolicy declares the desired state of objects in its own namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "driftwarden.dev",
    version = "v1alpha1",
    kind = "DriftPolicy",
    doc = "A DriftPolicy keeps objects in its own namespace at their declared state: it fixes low-risk drift and escalates the rest to an accountable owner.",
    namespaced,
    cel,
    derive = "PartialEq",
    validation = Rule::new(
        "!has(self.spec.baselines) || self.spec.baselines.all(b, !has(b.match.namespaces) && !has(b.match.namespaceSelector))"
    )
    .message("a DriftPolicy governs its own namespace only: remove namespaces and namespaceSelector from its baselines, or use a ClusterDriftPolicy")
    .reason(Reason::FieldValueForbidden),
    validation = Rule::new(
        "!has(self.spec.ignore) || self.spec.ignore.all(i, !has(i.match) || (!has(i.match.namespaces) && !has(i.match.namespaceSelector)))"
    )
    .message("a DriftPolicy governs its own namespace only: remove namespaces and namespaceSelector from its ignore rules, or use a ClusterDriftPolicy")
    .reason(Reason::FieldValueForbidden),
    status = "PolicyStatus",
    shortname = "dp",
    category = "driftwarden",
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.remediation.mode"}"#,
    printcolumn = r#"{"name":"Targets","type":"integer","jsonPath":".status.targets"}"#,
    printcolumn = r#"{"name":"Drifted","type":"integer","jsonPath":".status.drifted"}"#,
    printcolumn = r#"{"name":"Escalated","type":"integer","jsonPath":".status.escalated"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DriftPolicySpec {
    #[serde(flatten)]
    pub policy: PolicySpec,
    /// The ServiceAccount of the policy's namespace that its fixes are made as: every
    /// request of a fix (dry-run, apply, verifying read, delete and create) impersonates it,
    /// so the policy fixes only what that ServiceAccount may write. Empty: the operator's
    /// `--default-service-account`; with neither, the policy is `Ready=False` when the
    /// operator runs with `--require-service-account`, and fixes as the operator otherwise.
    /// A DriftPolicy only: a ClusterDriftPolicy names `serviceAccountRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = SUBDOMAIN_PATTERN))]
    pub service_account_name: Option<String>,
}

/// A ClusterDriftPolicy declares the desired state of objects in any namespace and of
/// cluster-scoped objects.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "driftwarden.dev",
    version = "v1alpha1",
    kind = "ClusterDriftPolicy",
    doc = "A ClusterDriftPolicy keeps objects in any namespace, and cluster-scoped objects, at their declared state: it fixes low-risk drift and escalates the rest to an accountable owner.",
    cel,
    derive = "PartialEq",
    status = "PolicyStatus",
    shortname = "cdp",
    category = "driftwarden",
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.remediation.mode"}"#,
    printcolumn = r#"{"name":"Targets","type":"integer","jsonPath":".status.targets"}"#,
    printcolumn = r#"{"name":"Drifted","type":"integer","jsonPath":".status.drifted"}"#,
    printcolumn = r#"{"name":"Escalated","type":"integer","jsonPath":".status.escalated"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDriftPolicySpec {
    #[serde(flatten)]
    pub policy: PolicySpec,
    /// Which DriftExceptions may cover the drift this policy finds. A ClusterDriftPolicy
    /// only: a DriftPolicy's drift may be covered by exceptions in its own namespace.
    #[serde(default, skip_serializing_if = "ClusterExceptions::is_default")]
    pub exceptions: ClusterExceptions,
    /// The ServiceAccount the policy's fixes are made as (impersonated for every request of
    /// a fix). Without it, the operator makes them as itself. A ClusterDriftPolicy only: a
    /// DriftPolicy names `serviceAccountName`, in its own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountRef>,
}

/// Which DriftExceptions may cover a ClusterDriftPolicy's drift.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExceptions {
    /// Whether a DriftException outside the operator's namespace (one a namespace's own
    /// team may write) may cover this policy's drift in that namespace. Off by default:
    /// only exceptions in the operator's namespace, which the platform team controls, do.
    #[serde(default)]
    pub allow_namespaced: bool,
}

impl ClusterExceptions {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The schema of `resources`: a list of complete Kubernetes objects, each kept as written.
fn embedded_resources_schema(_: &mut SchemaGenerator) -> Schema {
    let schema = json!({
        "type": "array",
        "maxItems": MAX_RESOURCES,
        "items": {
            "type": "object",
            "x-kubernetes-embedded-resource": true,
            "x-kubernetes-preserve-unknown-fields": true,
            "x-kubernetes-validations": [{
                "rule": "self.apiVersion != '' && self.kind != '' && has(self.metadata.name) && self.metadata.name != ''",
                "message": "each resource needs apiVersion, kind and metadata.name",
            }],
        },
    });
    Schema::try_from(schema).expect("a JSON object is a schema")
}

/// The schema of a baseline's `template`: any object, with `apiVersion` and `kind` visible to
/// validation rules.
fn template_schema(_: &mut SchemaGenerator) -> Schema {
    let schema = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "apiVersion": {
                "description": "The API version of the template; must equal the match's when set.",
                "type": "string",
                "maxLength": 253,
            },
            "kind": {
                "description": "The kind of the template; must equal the match's when set.",
                "type": "string",
                "maxLength": 63,
            },
        },
    });
    Schema::try_from(schema).expect("a JSON object is a schema")
}

#[cfg(test)]
mod tests {
    use kube::core::cel::apply_defaults;
    use serde_json::json;

    use super::*;
    use crate::api::testing::{admit, admit_value, assert_rejected, schema_of};

    const POLICY: &str = r##"
apiVersion: driftwarden.dev/v1alpha1
kind: DriftPolicy
metadata:
  name: web-hardening
  namespace: shop
spec:
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: shop-settings
      data:
        LOG_LEVEL: info
  baselines:
    - name: no-token-automount
      match:
        apiVersion: apps/v1
        kind: Deployment
        selector:
          matchLabels:
            tier: web
      template:
        spec:
          template:
            spec:
              automountServiceAccountToken: false
  ignore:
    - paths: ["/spec/replicas", "/spec/template/spec/containers/*/resources"]
      managers: ["kube-controller-manager"]
      match:
        apiVersion: apps/v1
        kind: Deployment
  remediation:
    mode: Enforce
    autoRemediate: [Metadata, Spec, Rollout]
    rateLimit:
      perMinute: 30
    circuitBreaker:
      maxDriftedPercent: 20
    flapping:
      maxFixes: 3
      window: 10m
    windows:
      - days: [Monday, Tuesday]
        start: "22:00"
        end: "06:00"
        timeZone: Europe/Paris
  escalation:
    owner:
      team: shop-platform
      contact: "#shop-oncall"
    ownerLabels: [team]
    notify:
      urlSecretRef:
        name: sink
        key: url
      mode: Structured
status:
  observedGeneration: 4
  conditions:
    - type: Ready
      status: "True"
      reason: Reconciled
      message: ""
      observedGeneration: 4
      lastTransitionTime: "2026-01-05T10:00:00Z"
  targets: 12
  compliant: 11
  drifted: 1
  remediated: 7
  escalated: 1
  excepted: 0
  optedOut: 0
  drifts:
    - target:
        apiVersion: apps/v1
        kind: Deployment
        namespace: shop
        name: checkout
      paths: ["/spec/template/spec/automountServiceAccountToken"]
      class: Rollout
      action: Escalate
      reason: Rollout is not auto-remediated
      firstSeen: "2026-01-05T09:58:00Z"
      attempts: 0
      changedBy: kubectl-edit
      changedAt: "2026-01-05T09:57:00Z"
  lastRemediationTime: "2026-01-05T09:00:00Z"
"##;

    fn policy() -> serde_json::Value {
        serde_yaml::from_str(POLICY).unwrap()
    }

    fn as_cluster_policy(mut value: serde_json::Value) -> serde_json::Value {
        value["kind"] = json!("ClusterDriftPolicy");
        value["metadata"].as_object_mut().unwrap().remove("namespace");
        value
    }

    #[test]
    fn example_round_trips_unchanged_and_is_admitted() {
        let parsed: DriftPolicy = serde_yaml::from_str(POLICY).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), policy());
        let spec = &parsed.spec.policy;
        assert_eq!(spec.baselines[0].target.kind, "Deployment");
        assert_eq!(spec.baselines[0].template["spec"]["template"]["spec"]["automountServiceAccountToken"], false);
        assert_eq!(spec.remediation.flapping.as_ref().unwrap().window, "10m");
        assert_eq!(spec.escalation.notify.as_ref().unwrap().mode, CloudEventsMode::Structured);
        assert_eq!(parsed.status.as_ref().unwrap().drifts[0].class, Some(RemediationClass::Rollout));
        assert_eq!(admit::<DriftPolicy>(POLICY), Ok(()));
        assert_eq!(admit_value::<ClusterDriftPolicy>(&as_cluster_policy(policy()), None), Ok(()));
        parsed.validate_cel().unwrap();
    }

    #[test]
    fn defaults_in_code_and_in_schema_agree() {
        let minimal = json!({
            "apiVersion": "driftwarden.dev/v1alpha1",
            "kind": "ClusterDriftPolicy",
            "metadata": {"name": "minimal"},
            "spec": {"baselines": [{
                "match": {"apiVersion": "v1", "kind": "ServiceAccount"},
                "template": {"automountServiceAccountToken": false},
            }]},
        });
        let from_code: ClusterDriftPolicy = serde_json::from_value(minimal.clone()).unwrap();
        let remediation = &from_code.spec.policy.remediation;
        assert_eq!(remediation.mode, Mode::Enforce);
        assert_eq!(remediation.auto_remediate, [RemediationClass::Metadata, RemediationClass::Spec]);
        assert_eq!(from_code.spec.policy.escalation.owner_labels, default_owner_labels());

        let defaulted = apply_defaults(&schema_of::<ClusterDriftPolicy>(), &minimal);
        assert_eq!(defaulted["spec"]["remediation"]["mode"], "Enforce");
        assert_eq!(defaulted["spec"]["remediation"]["autoRemediate"], json!(["Metadata", "Spec"]));
        let from_server: ClusterDriftPolicy = serde_json::from_value(defaulted).unwrap();
        assert_eq!(from_server, from_code);

        let window: RemediationWindow = serde_json::from_value(json!({"start": "01:00", "end": "02:00"})).unwrap();
        assert_eq!(window.time_zone, "UTC");
    }

    #[test]
    fn baseline_template_must_agree_with_its_match() {
        let mut value = policy();
        value["spec"]["baselines"][0]["template"]["apiVersion"] = json!("apps/v1");
        value["spec"]["baselines"][0]["template"]["kind"] = json!("Deployment");
        assert_eq!(admit_value::<DriftPolicy>(&value, None), Ok(()));

        value["spec"]["baselines"][0]["template"]["kind"] = json!("StatefulSet");
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "template.kind, when set, must equal match.kind");

        let mut value = policy();
        value["spec"]["baselines"][0]["template"]["apiVersion"] = json!("apps/v1beta1");
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "template.apiVersion, when set");
    }

    #[test]
    fn baseline_needs_a_match_with_api_version_and_kind_and_an_object_template() {
        let mut value = policy();
        value["spec"]["baselines"][0]["match"]["kind"] = json!("");
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "match.kind in body should be at least 1 chars long");

        let mut value = policy();
        value["spec"]["baselines"][0]["match"].as_object_mut().unwrap().remove("apiVersion");
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "spec.baselines[0].match.apiVersion: Required value");

        let mut value = policy();
        value["spec"]["baselines"][0].as_object_mut().unwrap().remove("match");
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "spec.baselines[0].match: Required value");

        let mut value = policy();
        value["spec"]["baselines"][0]["template"] = json!("automountServiceAccountToken: false");
        assert_rejected(
            admit_value::<DriftPolicy>(&value, None),
            "spec.baselines[0].template in body must be of type object",
        );
    }

    #[test]
    fn ignore_rule_needs_paths_or_managers() {
        for rule in [json!({}), json!({"paths": [], "managers": []})] {
            let mut value = policy();
            value["spec"]["ignore"][0] = rule;
            assert_rejected(admit_value::<DriftPolicy>(&value, None), "needs at least one path or one manager");
        }
        let mut value = policy();
        value["spec"]["ignore"][0] = json!({"managers": ["argocd-controller"]});
        assert_eq!(admit_value::<DriftPolicy>(&value, None), Ok(()));
        value["spec"]["ignore"][0] = json!({"paths": ["/metadata/annotations/deployment.kubernetes.io~1revision"]});
        assert_eq!(admit_value::<DriftPolicy>(&value, None), Ok(()));
    }

    #[test]
    fn ignore_paths_are_json_pointers() {
        let mut value = policy();
        value["spec"]["ignore"][0]["paths"] = json!(["/spec/replicas", "spec/paused"]);
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "spec.ignore[0].paths[1] in body should match");
        for bad in ["/metadata/annotations/a~2b", "/spec//replicas", "/", "/labels/x~"] {
            value["spec"]["ignore"][0]["paths"] = json!([bad]);
            assert_rejected(admit_value::<DriftPolicy>(&value, None), "spec.ignore[0].paths[0] in body should match");
        }
        value["spec"]["ignore"][0]["paths"] = json!(["/metadata/annotations/example.com~1owner", "/a~0b/*"]);
        assert_eq!(admit_value::<DriftPolicy>(&value, None), Ok(()));
    }

    #[test]
    fn remediation_bounds() {
        let cases = [
            ("circuitBreaker", json!({"maxDriftedPercent": 101}), "should be less than or equal to 100"),
            ("rateLimit", json!({"perMinute": 0}), "should be greater than or equal to 1"),
            ("flapping", json!({"maxFixes": 0, "window": "10m"}), "should be greater than or equal to 1"),
            ("flapping", json!({"maxFixes": 3, "window": "10 minutes"}), "should match"),
            ("flapping", json!({"maxFixes": 3, "window": "1d"}), "should match"),
            ("flapping", json!({"maxFixes": 3, "window": "168h1s"}), "window may not exceed 168h"),
            ("flapping", json!({"maxFixes": 3, "window": "99999999999999999999h"}), "window may not exceed 168h"),
            ("flapping", json!({"maxFixes": 1001, "window": "10m"}), "should be less than or equal to 1000"),
            ("rateLimit", json!({"perMinute": 10001}), "should be less than or equal to 10000"),
            ("autoRemediate", json!(["Metadata", "Everything"]), "Unsupported value"),
            ("mode", json!("Fix"), "Unsupported value"),
        ];
        for (field, bad, expected) in cases {
            let mut value = policy();
            value["spec"]["remediation"][field] = bad;
            assert_rejected(admit_value::<DriftPolicy>(&value, None), expected);
        }
        let mut value = policy();
        value["spec"]["remediation"]["circuitBreaker"]["maxDriftedPercent"] = json!(100);
        value["spec"]["remediation"]["flapping"]["window"] = json!("1h30m");
        assert_eq!(admit_value::<DriftPolicy>(&value, None), Ok(()));
    }

    #[test]
    fn selectors_are_checked_as_the_api_server_checks_them() {
        let cases = [
            (json!({"matchLabels": {"bad key": "web"}}), "every key must be a label key"),
            (json!({"matchLabels": {"tier": "web server"}}), "matchLabels[tier] in body should match"),
            (json!({"matchLabels": {format!("{}/x", "a".repeat(254)): "web"}}), "every key must be a label key"),
            (
                json!({"matchExpressions": [{"key": "Example.com/tier", "operator": "Exists"}]}),
                "key in body should match",
            ),
            (
                json!({"matchExpressions": [{"key": format!("{}/x", "a".repeat(254)), "operator": "Exists"}]}),
                "key in body should match",
            ),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["-web"]}]}),
                "values[0] in body should match",
            ),
            (json!({"matchExpressions": [{"key": "tier", "operator": "In"}]}), "In and NotIn need at least one value"),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["web"]}]}),
                "Exists and DoesNotExist take none",
            ),
            (
                json!({"matchExpressions": [{"key": "tier", "operator": "Like", "values": ["web"]}]}),
                "Unsupported value: \"Like\"",
            ),
        ];
        for (selector, expected) in cases {
            let mut value = policy();
            value["spec"]["baselines"][0]["match"]["selector"] = selector.clone();
            assert_rejected(admit_value::<DriftPolicy>(&value, None), expected);
            let mut value = as_cluster_policy(policy());
            value["spec"]["ignore"][0]["match"]["namespaceSelector"] = selector;
            assert_rejected(admit_value::<ClusterDriftPolicy>(&value, None), "spec.ignore[0].match.namespaceSelector.");
        }
        let mut value = policy();
        value["spec"]["baselines"][0]["match"]["selector"] = json!({
            "matchLabels": {"app.kubernetes.io/name": "web", "tier": ""},
            "matchExpressions": [
                {"key": "example.com/team", "operator": "NotIn", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        });
        assert_eq!(admit_value::<DriftPolicy>(&value, None), Ok(()));
    }

    #[test]
    fn windows_use_hh_mm_and_are_not_empty() {
        for (start, end, expected) in [
            ("25:00", "06:00", "should match"),
            ("9:00", "17:00", "should match"),
            ("09:00", "17:60", "should match"),
            ("22:00", "22:00", "start and end must differ"),
        ] {
            let mut value = policy();
            value["spec"]["remediation"]["windows"][0]["start"] = json!(start);
            value["spec"]["remediation"]["windows"][0]["end"] = json!(end);
            assert_rejected(admit_value::<DriftPolicy>(&value, None), expected);
        }
        let mut value = policy();
        value["spec"]["remediation"]["windows"][0]["start"] = json!("00:00");
        value["spec"]["remediation"]["windows"][0]["end"] = json!("23:59");
        assert_eq!(admit_value::<DriftPolicy>(&value, None), Ok(()));
    }

    #[test]
    fn resources_are_complete_named_objects() {
        let mut value = policy();
        value["spec"]["resources"][0]["metadata"].as_object_mut().unwrap().remove("name");
        assert_rejected(
            admit_value::<DriftPolicy>(&value, None),
            "each resource needs apiVersion, kind and metadata.name",
        );

        let mut value = policy();
        value["spec"]["resources"][0].as_object_mut().unwrap().remove("kind");
        assert_rejected(
            admit_value::<DriftPolicy>(&value, None),
            "each resource needs apiVersion, kind and metadata.name",
        );

        let mut value = policy();
        value["spec"]["resources"][0] = json!("kind: ConfigMap");
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "spec.resources[0] in body must be of type object");
    }

    #[test]
    fn a_drift_policy_may_not_select_other_namespaces() {
        let cases = [
            ("baselines", "namespaces", json!(["payments"]), "from its baselines"),
            ("baselines", "namespaceSelector", json!({"matchLabels": {"env": "prod"}}), "from its baselines"),
            ("ignore", "namespaces", json!(["payments"]), "from its ignore rules"),
            ("ignore", "namespaceSelector", json!({"matchLabels": {"env": "prod"}}), "from its ignore rules"),
        ];
        for (list, field, selection, expected) in cases {
            let mut value = policy();
            value["spec"][list][0]["match"][field] = selection;
            assert_rejected(admit_value::<DriftPolicy>(&value, None), expected);
            assert_eq!(admit_value::<ClusterDriftPolicy>(&as_cluster_policy(value), None), Ok(()), "{list}.{field}");
        }

        let mut typed: DriftPolicy = serde_yaml::from_str(POLICY).unwrap();
        typed.spec.policy.baselines[0].target.namespaces = vec!["payments".to_string()];
        let errors = typed.validate_cel().unwrap_err();
        assert!(errors.iter().any(|e| e.message.contains("governs its own namespace only")), "{errors}");
    }

    #[test]
    fn unknown_fields_and_bad_status_values_are_rejected() {
        let mut value = policy();
        value["spec"]["remediation"]["autoRemediates"] = json!(["Metadata"]);
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "spec.remediation.autoRemediates: unknown field");

        let mut value = policy();
        let ready = value["status"]["conditions"][0].clone();
        value["status"]["conditions"].as_array_mut().unwrap().push(ready);
        assert_rejected(admit_value::<DriftPolicy>(&value, None), "Duplicate value");
    }
}
