//! The requests behind the effects: each takes the client and plain data, and answers what
//! the reconciler needs to know of how it went.

use k8s_openapi::api::admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding};
use k8s_openapi::api::authorization::v1::LocalSubjectAccessReview;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::api::campaign::{CampaignStatus, RemediationCampaign};
use crate::api::exception::{DriftException, ExceptionStatus};
use crate::api::finding::{Finding, FindingStatus};
use crate::api::policy::{ClusterDriftPolicy, DriftPolicy, PolicyStatus};
use crate::keys::{KindKey, ObjectKey, PolicyKey};
use crate::operator::ledger::{self, BucketWrite};
use crate::operator::reconciler::{
    AdmissionWrite, ApprovalReview, External, FindingWrite, ReportError, RequestError, Served, Written,
};
use crate::operator::watch;
use crate::reconcile::policy_report::{API_VERSION, MANAGED_BY, REPORT_NAME, ReportBody, report_kind};

/// Writes a policy's status.
pub(super) async fn write_policy_status(
    client: Client,
    key: &PolicyKey,
    manager: &str,
    status: &PolicyStatus,
) -> Result<(), RequestError> {
    match &key.namespace {
        Some(namespace) => patch_own_status::<DriftPolicy>(client, Some(namespace), &key.name, manager, status).await,
        None => patch_own_status::<ClusterDriftPolicy>(client, None, &key.name, manager, status).await,
    }
}

/// Writes the status of one of driftwarden's own kinds, cluster-scoped (`namespace` none)
/// or namespaced, with server-side apply under the status field manager.
async fn patch_own_status<K>(
    client: Client,
    namespace: Option<&str>,
    name: &str,
    manager: &str,
    status: &impl serde::Serialize,
) -> Result<(), RequestError>
where
    K: kube::Resource<DynamicType = ()>,
{
    let resource = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = match namespace {
        Some(namespace) => Api::namespaced_with(client, namespace, &resource),
        None => Api::all_with(client, &resource),
    };
    let body = json!({"apiVersion": resource.api_version, "kind": resource.kind, "status": status});
    api.patch_status(name, &PatchParams::apply(manager).force(), &Patch::Apply(&body))
        .await
        .map(|_| ())
        .map_err(|source| RequestError::StatusWrite { source })
}

/// Writes a campaign's status; answers what was written.
pub(super) async fn write_campaign_status(
    client: Client,
    name: &str,
    manager: &str,
    status: CampaignStatus,
) -> Result<CampaignStatus, RequestError> {
    patch_own_status::<RemediationCampaign>(client, None, name, manager, &status).await.map(|()| status)
}

/// Writes an exception's status; answers what was written.
pub(super) async fn write_exception_status(
    client: Client,
    (namespace, name): &(String, String),
    manager: &str,
    status: ExceptionStatus,
) -> Result<ExceptionStatus, RequestError> {
    patch_own_status::<DriftException>(client, Some(namespace), name, manager, &status).await.map(|()| status)
}

/// Replaces the conditions of a Finding whose spec does not read (a merge patch of
/// `status.conditions`: the rest of its status, evidence included, stays as it is).
pub(super) async fn mark_finding_invalid(
    client: Client,
    namespace: &str,
    name: &str,
    manager: &str,
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> Result<(), RequestError> {
    let api: Api<Finding> = Api::namespaced(client, namespace);
    let patch = json!({"status": {"conditions": conditions}});
    let params = PatchParams { field_manager: Some(manager.to_string()), ..Default::default() };
    api.patch_status(name, &params, &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|source| RequestError::StatusWrite { source })
}

/// Applies a Finding's spec when it changed, then its status when it changed (or the spec
/// was written: a new Finding has no status yet). Answers what was written.
pub(super) async fn write_finding(
    client: Client,
    write: &FindingWrite,
    manager: &str,
    status_manager: &str,
) -> Result<(Value, FindingStatus), RequestError> {
    let api: Api<Finding> = Api::namespaced(client, &write.namespace);
    if write.spec_due {
        api.patch(&write.name, &PatchParams::apply(manager).force(), &Patch::Apply(&write.body))
            .await
            .map_err(|source| RequestError::FindingWrite { source })?;
    }
    if write.status_due || write.spec_due {
        let patch = json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding", "status": write.status});
        api.patch_status(&write.name, &PatchParams::apply(status_manager).force(), &Patch::Apply(&patch))
            .await
            .map_err(|source| RequestError::StatusWrite { source })?;
    }
    Ok((write.body.clone(), write.status.clone()))
}

/// Writes one bucket of the ledger: a ConfigMap in the operator's namespace, applied whole
/// under the ledger's own field manager.
pub(super) async fn write_ledger(client: Client, namespace: &str, write: &BucketWrite) -> Result<(), RequestError> {
    let api: Api<ConfigMap> = Api::namespaced(client, namespace);
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": write.name,
            "labels": {ledger::LABEL: "true", "app.kubernetes.io/managed-by": "driftwarden"},
        },
        "data": {ledger::DATA_KEY: write.data},
    });
    api.patch(&write.name, &PatchParams::apply(ledger::FIELD_MANAGER).force(), &Patch::Apply(&body))
        .await
        .map(|_| ())
        .map_err(|source| RequestError::LedgerWrite { source })
}

/// Reads the ledger's buckets: `(name, records)` of each ConfigMap labelled as one.
pub(super) async fn read_ledger(client: Client, namespace: &str) -> Result<Vec<(String, String)>, kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client, namespace);
    let listed = api.list(&ListParams::default().labels(&format!("{}=true", ledger::LABEL))).await?;
    Ok(listed
        .items
        .into_iter()
        .filter_map(|map| {
            let name = map.metadata.name?;
            let data = map.data?.remove(ledger::DATA_KEY)?;
            Some((name, data))
        })
        .collect())
}

/// Reads an asset afresh (only its metadata when `metadata_only`): `Ok(None)` when it no
/// longer exists.
pub(super) async fn read_asset(
    client: Client,
    key: &ObjectKey,
    resource: &ApiResource,
    namespaced: bool,
    metadata_only: bool,
) -> Result<Option<Value>, RequestError> {
    let api = crate::operator::scoped::object_api(client, key, resource, namespaced)
        .map_err(|mismatch| RequestError::Scope(mismatch.to_string()))?;
    if metadata_only {
        return match api.get_metadata_opt(&key.name).await {
            Ok(object) => Ok(object.map(|o| serde_json::to_value(o).unwrap_or(Value::Null))),
            Err(source) => Err(RequestError::FreshRead { source }),
        };
    }
    match api.get_opt(&key.name).await {
        Ok(object) => Ok(object.map(|o| serde_json::to_value(o).unwrap_or(Value::Null))),
        Err(source) => Err(RequestError::FreshRead { source }),
    }
}

/// Deletes a Finding; one already gone is fine.
pub(super) async fn delete_finding(client: Client, namespace: &str, name: &str) -> Result<(), kube::Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &ApiResource::erase::<Finding>(&()));
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(err) => Err(err),
    }
}

/// Asks discovery whether the report kinds are served and lists the reports driftwarden
/// wrote before, so that those of namespaces without results any more are deleted. Confined
/// to `watched` namespaces, it lists only there and publishes no ClusterPolicyReport.
pub(super) async fn discover_reports(client: &Client, watched: &[String]) -> Result<Served, ReportError> {
    let kind = |name: &str| KindKey::new(API_VERSION, name);
    let (namespaced, _) =
        watch::resolve(client, &kind(report_kind(true))).await.map_err(|source| ReportError::NotServed { source })?;
    let cluster = match watched.is_empty() {
        true => watch::resolve(client, &kind(report_kind(false))).await.ok().map(|(resource, _)| resource),
        false => None,
    };
    let selector = ListParams::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
    let apis: Vec<Api<DynamicObject>> = match watched {
        [] => vec![Api::all_with(client.clone(), &namespaced)],
        some => some.iter().map(|ns| Api::namespaced_with(client.clone(), ns, &namespaced)).collect(),
    };
    let mut existing = Vec::new();
    for api in apis {
        let listed =
            api.list(&selector).await.map_err(|source| ReportError::List { kind: report_kind(true), source })?;
        existing.extend(
            listed
                .items
                .iter()
                .filter(|report| report.metadata.name.as_deref() == Some(REPORT_NAME))
                .map(|report| report.metadata.namespace.clone()),
        );
    }
    if let Some(cluster) = &cluster {
        let listed = Api::<DynamicObject>::all_with(client.clone(), cluster)
            .list(&selector)
            .await
            .map_err(|source| ReportError::List { kind: report_kind(false), source })?;
        if listed.items.iter().any(|report| report.metadata.name.as_deref() == Some(REPORT_NAME)) {
            existing.push(None);
        }
    }
    Ok(Served { namespaced, cluster, existing })
}

/// Applies `body` as the report of `namespace` (`None`: the ClusterPolicyReport), or
/// deletes that report when `body` is `None`.
pub(super) async fn write_report(
    client: Client,
    resource: ApiResource,
    namespace: Option<&str>,
    manager: &str,
    body: Option<ReportBody>,
) -> Written {
    let api: Api<DynamicObject> = match namespace {
        Some(namespace) => Api::namespaced_with(client, namespace, &resource),
        None => Api::all_with(client, &resource),
    };
    let report = format!("{} {}{REPORT_NAME}", resource.kind, namespace.map(|ns| format!("{ns}/")).unwrap_or_default());
    match body {
        Some(body) => api
            .patch(REPORT_NAME, &PatchParams::apply(manager).force(), &Patch::Apply(&body.to_object(namespace)))
            .await
            .map(|_| Some(body))
            .map_err(|source| ReportError::Apply { report, source }),
        None => match api.delete(REPORT_NAME, &DeleteParams::default()).await {
            Ok(_) => Ok(None),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(source) => Err(ReportError::Delete { report, source }),
        },
    }
}

/// Whether `review.user` holds `review.verb` on the Finding it names, as the API server
/// answers a LocalSubjectAccessReview (namespaced: a Role in that namespace grants asking).
/// The approver's groups are not known to the operator: those every authenticated user and
/// every ServiceAccount have are included, others are not.
pub(super) async fn review_approval(client: Client, review: &ApprovalReview) -> Result<bool, RequestError> {
    let mut groups = vec!["system:authenticated".to_string()];
    if let Some(account) = review.user.strip_prefix("system:serviceaccount:")
        && let Some((namespace, _)) = account.split_once(':')
    {
        groups.push("system:serviceaccounts".to_string());
        groups.push(format!("system:serviceaccounts:{namespace}"));
    }
    let request: LocalSubjectAccessReview = serde_json::from_value(json!({
        "metadata": {"namespace": review.namespace},
        "spec": {
            "user": review.user,
            "groups": groups,
            "resourceAttributes": {
                "group": "driftwarden.dev", "resource": "findings", "verb": review.verb,
                "namespace": review.namespace, "name": review.name,
            },
        },
    }))
    .map_err(|err| RequestError::Internal(err.to_string()))?;
    let api: Api<LocalSubjectAccessReview> = Api::namespaced(client, &review.namespace);
    match api.create(&PostParams::default(), &request).await {
        Ok(answer) => Ok(answer.status.is_some_and(|status| status.allowed)),
        Err(source) => Err(RequestError::AccessReview { source }),
    }
}

/// Whether the ValidatingAdmissionPolicy `name` and its binding of the same name are
/// installed.
pub(super) async fn approval_policy_installed(client: Client, name: &str) -> Result<bool, RequestError> {
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(client.clone());
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(client);
    let read = |source| RequestError::AccessReview { source };
    let policy = policies.get_opt(name).await.map_err(read)?;
    let binding = bindings.get_opt(name).await.map_err(read)?;
    Ok(policy.is_some() && binding.is_some())
}

/// The APIs of generated admission policies and their bindings.
fn admission_apis(client: Client) -> (Api<DynamicObject>, Api<DynamicObject>) {
    let policies = ApiResource::erase::<ValidatingAdmissionPolicy>(&());
    let bindings = ApiResource::erase::<ValidatingAdmissionPolicyBinding>(&());
    (Api::all_with(client.clone(), &policies), Api::all_with(client, &bindings))
}

/// Deletes `name` from `api`; a missing object is fine.
async fn delete_if_there(api: &Api<DynamicObject>, name: &str) -> Result<(), kube::Error> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}

/// Applies a policy's generated ValidatingAdmissionPolicy, then its binding (server-side
/// apply under `manager`); without objects, deletes the binding, then the policy.
pub(super) async fn write_admission(client: Client, write: &AdmissionWrite, manager: &str) -> Result<(), RequestError> {
    let (policies, bindings) = admission_apis(client);
    let failed = |source| RequestError::AdmissionWrite { source };
    let Some((policy, binding)) = &write.objects else {
        delete_if_there(&bindings, &write.name).await.map_err(failed)?;
        return delete_if_there(&policies, &write.name).await.map_err(failed);
    };
    let params = PatchParams::apply(manager).force();
    policies.patch(&write.name, &params, &Patch::Apply(policy)).await.map_err(failed)?;
    bindings.patch(&write.name, &params, &Patch::Apply(binding)).await.map_err(failed)?;
    Ok(())
}

/// Whether `live` holds everything `wanted` says (fields the API server defaults may be
/// there besides); lists item by item, of the same length.
fn holds(live: &Value, wanted: &Value) -> bool {
    match (live, wanted) {
        (Value::Object(live), Value::Object(wanted)) => {
            wanted.iter().all(|(field, value)| live.get(field).is_some_and(|l| holds(l, value)))
        }
        (Value::Array(live), Value::Array(wanted)) => {
            live.len() == wanted.len() && live.iter().zip(wanted).all(|(l, w)| holds(l, w))
        }
        (live, wanted) => live == wanted,
    }
}

/// Reads externally managed admission objects and compares them with what the policy
/// generates.
pub(super) async fn check_admission(client: Client, write: &AdmissionWrite) -> Result<External, RequestError> {
    let (policies, bindings) = admission_apis(client);
    let failed = |source| RequestError::AdmissionWrite { source };
    let Some((policy, binding)) = &write.objects else { return Ok(External::Matches) };
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    for (api, wanted, kind) in
        [(&policies, policy, "ValidatingAdmissionPolicy"), (&bindings, binding, "ValidatingAdmissionPolicyBinding")]
    {
        match api.get_opt(&write.name).await.map_err(failed)? {
            None => missing.push(format!("{kind} {}", write.name)),
            Some(live) => {
                let live = serde_json::to_value(&live).unwrap_or_default();
                let spec = |o: &Value| o.get("spec").cloned().unwrap_or(Value::Null);
                if !holds(&spec(&live), &spec(wanted)) {
                    differ.push(format!("{kind} {}", write.name));
                }
            }
        }
    }
    Ok(match (missing.is_empty(), differ.is_empty()) {
        (false, _) => External::Missing(format!("missing: {}", missing.join(", "))),
        (true, false) => External::Differs(format!("the spec of {} differs from the policy's", differ.join(", "))),
        (true, true) => External::Matches,
    })
}

/// Deletes the generated admission objects (found by their label) not named in `keep`;
/// answers how many pairs went.
pub(super) async fn sweep_admission(
    client: Client,
    keep: &std::collections::BTreeSet<String>,
) -> Result<usize, RequestError> {
    let (policies, bindings) = admission_apis(client);
    let failed = |source| RequestError::AdmissionWrite { source };
    let selector = ListParams::default().labels(crate::admission::GENERATED_LABEL);
    let mut names = std::collections::BTreeSet::new();
    for api in [&policies, &bindings] {
        let listed = api.list_metadata(&selector).await.map_err(failed)?;
        names.extend(listed.items.into_iter().filter_map(|o| o.metadata.name).filter(|n| !keep.contains(n)));
    }
    for name in &names {
        delete_if_there(&bindings, name).await.map_err(failed)?;
        delete_if_there(&policies, name).await.map_err(failed)?;
    }
    Ok(names.len())
}
