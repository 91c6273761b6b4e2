//! What the reconciler asks the runtime to do. Each effect is plain data: the runtime
//! executes it (bounded in how many requests are under way) and, for those whose outcome
//! matters, feeds an [`Outcome`](super::Outcome) back as an input.
//!
//! Every request to the API server is one effect, so whatever applies to all requests (the
//! identity it is made as, a record of what was announced, which shard governs an object)
//! has one place to go: a field of the effect, read by the one runtime function that
//! executes it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::ApiResource;
use serde_json::Value;

use super::FixPart;
use crate::api::campaign::CampaignStatus;
use crate::api::exception::ExceptionStatus;
use crate::api::finding::FindingStatus;
use crate::api::policy::PolicyStatus;
use crate::keys::{KindKey, ObjectKey, PolicyKey};
use crate::operator::ledger::{BucketWrite, Pending};
use crate::operator::recreation_runner::{RecreateError, Recreation};
use crate::operator::remediate::Fix;
use crate::reconcile::policy_report::ReportBody;

/// One thing to do.
pub enum Effect {
    /// Look `kind` up in discovery: answered by [`Outcome::Resolved`](super::Outcome::Resolved).
    Discover(KindKey),
    /// Watch `kind`, keeping `mask` of each object; a running watch of the kind is replaced
    /// (and its objects listed again). Answered by watch events.
    Watch { kind: KindKey, spec: crate::operator::watch::KindWatch },
    /// Stop watching `kind`.
    Unwatch(KindKey),
    /// Fix one object: a server-side-apply dry-run, the apply and a verifying read, or a
    /// recreation (or its refusal, without a request). Answered by
    /// [`Outcome::Fixed`](super::Outcome::Fixed).
    Fix {
        fix: Fix,
        parts: Vec<FixPart>,
        recreation: Option<Result<Recreation, RecreateError>>,
        /// Which attempt at fixing this object this is (1 for the first).
        attempt: u32,
        started: jiff::Timestamp,
    },
    /// A campaign control's automatic fix. Answered by
    /// [`Outcome::CheckFixed`](super::Outcome::CheckFixed).
    CheckFix { fix: Fix, campaign: CampaignFix },
    /// Write a policy's status. Answered by [`Outcome::StatusWritten`](super::Outcome::StatusWritten).
    WritePolicyStatus { policy: PolicyKey, status: PolicyStatus },
    /// Read a campaign's asset afresh, never from the cache; only its metadata when
    /// `metadata_only` (a Secret an identity check reported: its data is never fetched).
    /// Answered by [`Outcome::FindingRead`](super::Outcome::FindingRead).
    ReadAsset { campaign: String, key: ObjectKey, resource: ApiResource, namespaced: bool, metadata_only: bool },
    /// Ask the API server (a LocalSubjectAccessReview) whether `user` holds `verb` on the
    /// Finding `namespace/name`, before an approval in that user's name is acted on.
    /// Answered by [`Outcome::ApprovalReviewed`](super::Outcome::ApprovalReviewed).
    ReviewApproval { campaign: String, key: ObjectKey, review: ApprovalReview },
    /// Read whether the approvals admission policy and its binding (both named as given)
    /// are installed. Answered by
    /// [`Outcome::ApprovalPolicyChecked`](super::Outcome::ApprovalPolicyChecked).
    CheckApprovalPolicy(String),
    /// Write a Finding. Answered by [`Outcome::FindingWritten`](super::Outcome::FindingWritten).
    WriteFinding(FindingWrite),
    /// Marks a Finding whose spec does not read: its status conditions (Ready=False and
    /// Stalled=True, reason InvalidSpec) are replaced, the rest of its status kept.
    MarkFindingInvalid { namespace: String, name: String, conditions: Vec<Condition> },
    /// Delete a Finding that left its campaign's scope (a missing one is fine).
    DeleteFinding { campaign: String, namespace: String, name: String },
    /// Write a campaign's status. Answered by
    /// [`Outcome::CampaignWritten`](super::Outcome::CampaignWritten).
    WriteCampaignStatus { name: String, status: CampaignStatus },
    /// Write an exception's status. Answered by
    /// [`Outcome::ExceptionWritten`](super::Outcome::ExceptionWritten).
    WriteExceptionStatus { key: (String, String), status: ExceptionStatus },
    /// Ask whether PolicyReports are served. Answered by
    /// [`Outcome::PolicyReportsServed`](super::Outcome::PolicyReportsServed).
    DiscoverPolicyReports,
    /// Apply (or, with no body, delete) the PolicyReport of a namespace (`None`: the
    /// ClusterPolicyReport). Answered by
    /// [`Outcome::PolicyReportWritten`](super::Outcome::PolicyReportWritten).
    WritePolicyReport { namespace: Option<String>, resource: ApiResource, body: Option<ReportBody> },
    /// Publish an Event on an object and on its policy.
    Publish(Announcement),
    /// Publish an Event on one of driftwarden's own resources (about it, not one object).
    PublishOn { resource: OwnResource, uid: Option<String>, type_: EventType, reason: &'static str, message: String },
    /// Write one bucket of the ledger (a ConfigMap in the operator's namespace). Answered
    /// by [`Outcome::LedgerWritten`](super::Outcome::LedgerWritten).
    WriteLedger(BucketWrite),
    /// Deliver an announcement the ledger recorded: Events on an object and its policy, or
    /// a notification to a sink (with the notifier's retries). Answered by
    /// [`Outcome::Delivered`](super::Outcome::Delivered).
    Deliver { id: String, pending: Pending },
    /// Apply (or, without objects, delete) a policy's generated ValidatingAdmissionPolicy
    /// and binding. Answered by [`Outcome::AdmissionWritten`](super::Outcome::AdmissionWritten).
    WriteAdmission(super::admission::AdmissionWrite),
    /// Read whether externally managed admission objects exist and match. Answered by
    /// [`Outcome::AdmissionChecked`](super::Outcome::AdmissionChecked).
    CheckAdmission(super::admission::AdmissionWrite),
    /// Delete generated admission objects (found by their label) whose name is not among
    /// `keep`: their policy is gone. Answered by
    /// [`Outcome::AdmissionSwept`](super::Outcome::AdmissionSwept).
    SweepAdmission { keep: std::collections::BTreeSet<String> },
    /// Forget what was sent to sinks other than these, which policies and campaigns name.
    RetainSinks(std::collections::HashSet<crate::notification::SinkKey>),
}

/// One of driftwarden's own resources, that an Event can be about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnResource {
    Policy(PolicyKey),
    /// A RemediationCampaign, by name.
    Campaign(String),
    /// A DriftException, by namespace and name.
    Exception(String, String),
    /// A Finding, by namespace and name.
    Finding(String, String),
}

/// Whether a user may approve a Finding: what a LocalSubjectAccessReview asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalReview {
    /// The approver the approval names.
    pub user: String,
    /// `approve`, or `approve-privileged` for an Access or SecretData fix.
    pub verb: &'static str,
    /// The Finding.
    pub namespace: String,
    pub name: String,
}

/// Whether an Event reports something normal or something that needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// An Event about a governed object, published on the object and on its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub object: ObjectKey,
    /// The object's uid, when known: `kubectl describe` selects an object's Events by it.
    pub object_uid: Option<String>,
    pub policy: PolicyKey,
    pub policy_uid: Option<String>,
    pub type_: EventType,
    /// A constant of [`crate::api::reasons`].
    pub reason: &'static str,
    pub message: String,
}

/// A Finding to write: its spec when it changed since it was last written, and its status.
#[derive(Debug, Clone)]
pub struct FindingWrite {
    pub campaign: String,
    pub key: ObjectKey,
    pub namespace: String,
    pub name: String,
    /// The whole spec body, kept to record what was written.
    pub body: Value,
    /// Whether the spec differs from what was last written.
    pub spec_due: bool,
    pub status: FindingStatus,
    /// Whether the status differs from what was last written.
    pub status_due: bool,
}

/// A campaign's share of a fix: which campaign asked, and on whose approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignFix {
    pub campaign: String,
    pub approved_by: Option<String>,
    /// The wave the fix is part of, when it is.
    pub wave: Option<u32>,
}
