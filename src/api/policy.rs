//! `DriftPolicy` (namespaced) and `ClusterDriftPolicy` (cluster-scoped): the desired state
//! a platform team declared, and how drift from it is handled.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{
    DURATION_PATTERN, ObjectRef, Owner, RemediationClass, SecretKeyRef, TIME_OF_DAY_PATTERN, TargetMatch,
};

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_PATHS), inner(length(min = 1, max = MAX_PATH_LENGTH)))]
    #[x_kube(validation = Rule::new("self.all(p, p.startsWith('/'))")
        .message("each path must be a JSON pointer starting with '/'"))]
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
    /// incident must not trigger a mass change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Detects another actor fighting back: the same field fixed too often in a window is
    /// escalated as `Conflict` instead of fixed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flapping: Option<Flapping>,
    /// Time windows in which auto-remediation may run. Without windows it may run at any
    /// time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<RemediationWindow>,
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
    /// The most remediations per minute for this policy, at least 1.
    #[schemars(range(min = 1))]
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
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Flapping {
    /// The most times the same field of the same object may be fixed within `window`, at
    /// least 1.
    #[schemars(range(min = 1))]
    pub max_fixes: u32,
    /// The window, as a duration such as `10m`, `1h` or `1h30m` (units `ms`, `s`, `m`, `h`).
    #[schemars(regex(pattern = DURATION_PATTERN))]
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
    #[schemars(regex(pattern = TIME_OF_DAY_PATTERN))]
    pub start: String,
    /// When the window closes, as `HH:MM` (24-hour clock). An end before the start closes
    /// the window on the next day.
    #[schemars(regex(pattern = TIME_OF_DAY_PATTERN))]
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
    #[schemars(length(max = 16), inner(length(min = 1, max = 317)))]
    pub owner_labels: Vec<String>,
    /// Where CloudEvents notifications are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,
}

impl Default for EscalationSpec {
    fn default() -> Self {
        Self { owner: None, owner_labels: default_owner_labels(), notify: None }
    }
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

/// A CloudEvents sink.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifySpec {
    /// The Secret key holding the sink's URL.
    pub url_secret_ref: SecretKeyRef,
    /// The Secret key holding the value of the `Authorization` header, if the sink needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<SecretKeyRef>,
    /// The CloudEvents HTTP content mode.
    #[serde(default)]
    pub mode: CloudEventsMode,
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
}

/// The schema of `resources`: a list of complete Kubernetes objects, each kept as written.
fn embedded_resources_schema(_: &mut SchemaGenerator) -> Schema {
    let schema = json!({
        "type": "array",
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
            },
            "kind": {
                "description": "The kind of the template; must equal the match's when set.",
                "type": "string",
            },
        },
    });
    Schema::try_from(schema).expect("a JSON object is a schema")
}
