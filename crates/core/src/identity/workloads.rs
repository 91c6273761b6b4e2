//! The workloads that run as each ServiceAccount: top-level owners (pods mapped up their
//! controller `ownerReferences`), their pod template, whether they run, and whether a
//! LoadBalancer or NodePort Service, or an Ingress, exposes them.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::snapshot::Snapshot;
use crate::api::ObjectRef;

/// One top-level workload and how it uses its ServiceAccount.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    /// The Deployment, StatefulSet, DaemonSet, CronJob, ReplicaSet or Job that owns the pods
    /// (the top of the `ownerReferences` chain), or the Pod itself when nothing owns it.
    pub workload: ObjectRef,
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
    /// The ServiceAccount its pods run as (`default` when the template names none).
    pub service_account: String,
    /// The pod template's own `automountServiceAccountToken`; `None` leaves it to the
    /// ServiceAccount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automount: Option<bool>,
    /// Pods that are not finished (phase other than Succeeded and Failed).
    pub live_pods: usize,
    /// Whether it runs: live pods, or a status that counts replicas or active jobs.
    pub running: bool,
    /// What exposes it outside the cluster: `Service ns/name (LoadBalancer)`, `Ingress ns/name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exposed_by: Vec<String>,
}

impl Workload {
    /// Whether a Service of type LoadBalancer or NodePort, or an Ingress, exposes it.
    pub fn internet_facing(&self) -> bool {
        !self.exposed_by.is_empty()
    }

    /// Whether its pods mount the API token, given the ServiceAccount's own setting: the
    /// pod spec's value wins; unset on both means mounted.
    pub fn mounts_token(&self, account_automount: Option<bool>) -> bool {
        self.automount.or(account_automount).unwrap_or(true)
    }
}

type Key = (&'static str, String, String);

fn key(kind: &'static str, meta: &ObjectMeta) -> Key {
    (kind, meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default())
}

fn static_kind(kind: &str) -> Option<&'static str> {
    ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"].into_iter().find(|k| *k == kind)
}

fn controller_of(meta: &ObjectMeta) -> Option<(&'static str, String)> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .and_then(|r| static_kind(&r.kind).map(|kind| (kind, r.name.clone())))
}

struct Candidate<'a> {
    api_version: &'static str,
    meta: &'a ObjectMeta,
    spec: Option<&'a PodSpec>,
    labels: Option<&'a BTreeMap<String, String>>,
    status_running: bool,
}

fn template(template: &PodTemplateSpec) -> (Option<&PodSpec>, Option<&BTreeMap<String, String>>) {
    (template.spec.as_ref(), template.metadata.as_ref().and_then(|m| m.labels.as_ref()))
}

/// Every top-level workload of `snapshot`, sorted by kind, namespace and name.
pub fn workloads<'a>(snapshot: &'a Snapshot) -> Vec<Workload> {
    let mut candidates: HashMap<Key, Candidate<'_>> = HashMap::new();
    let mut owners: HashMap<Key, Key> = HashMap::new();
    let mut add = |kind: &'static str, candidate: Candidate<'a>| {
        let k = key(kind, candidate.meta);
        if let Some((owner_kind, owner_name)) = controller_of(candidate.meta) {
            owners.insert(k.clone(), (owner_kind, k.1.clone(), owner_name));
        }
        candidates.insert(k, candidate);
    };
    for d in &snapshot.deployments {
        let (spec, labels) = template(&d.spec.template);
        let running = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0) > 0;
        add(
            "Deployment",
            Candidate { api_version: "apps/v1", meta: &d.metadata, spec, labels, status_running: running },
        );
    }
    for s in &snapshot.stateful_sets {
        let (spec, labels) = template(&s.spec.template);
        let running = s.status.as_ref().is_some_and(|s| s.replicas > 0);
        add(
            "StatefulSet",
            Candidate { api_version: "apps/v1", meta: &s.metadata, spec, labels, status_running: running },
        );
    }
    for d in &snapshot.daemon_sets {
        let (spec, labels) = template(&d.spec.template);
        let running = d.status.as_ref().is_some_and(|s| s.current_number_scheduled > 0);
        add(
            "DaemonSet",
            Candidate { api_version: "apps/v1", meta: &d.metadata, spec, labels, status_running: running },
        );
    }
    for r in &snapshot.replica_sets {
        let (spec, labels) = r.spec.template.as_ref().map_or((None, None), template);
        let running = r.status.as_ref().is_some_and(|s| s.replicas > 0);
        add(
            "ReplicaSet",
            Candidate { api_version: "apps/v1", meta: &r.metadata, spec, labels, status_running: running },
        );
    }
    for j in &snapshot.jobs {
        let (spec, labels) = j.spec.as_ref().map_or((None, None), |s| template(&s.template));
        let running = j.status.as_ref().and_then(|s| s.active).unwrap_or(0) > 0;
        add("Job", Candidate { api_version: "batch/v1", meta: &j.metadata, spec, labels, status_running: running });
    }
    for c in &snapshot.cron_jobs {
        let (spec, labels) = c.spec.job_template.spec.as_ref().map_or((None, None), |s| template(&s.template));
        let running = c.status.as_ref().and_then(|s| s.active.as_ref()).is_some_and(|a| !a.is_empty());
        add("CronJob", Candidate { api_version: "batch/v1", meta: &c.metadata, spec, labels, status_running: running });
    }
    let top = |mut k: Key, candidates: &HashMap<Key, Candidate<'a>>| {
        for _ in 0..8 {
            match owners.get(&k) {
                Some(owner) if candidates.contains_key(owner) => k = owner.clone(),
                _ => break,
            }
        }
        k
    };
    let mut live: HashMap<Key, usize> = HashMap::new();
    let mut bare = Vec::new();
    for pod in &snapshot.pods {
        let finished =
            pod.status.as_ref().and_then(|s| s.phase.as_deref()).is_some_and(|p| p == "Succeeded" || p == "Failed");
        match controller_of(&pod.metadata) {
            Some((kind, name))
                if candidates.contains_key(&(
                    kind,
                    pod.metadata.namespace.clone().unwrap_or_default(),
                    name.clone(),
                )) =>
            {
                let owner = top((kind, pod.metadata.namespace.clone().unwrap_or_default(), name), &candidates);
                *live.entry(owner).or_default() += usize::from(!finished);
            }
            _ => {
                let k = key("Pod", &pod.metadata);
                *live.entry(k.clone()).or_default() += usize::from(!finished);
                bare.push((
                    k,
                    Candidate {
                        api_version: "v1",
                        meta: &pod.metadata,
                        spec: pod.spec.as_ref(),
                        labels: pod.metadata.labels.as_ref(),
                        status_running: false,
                    },
                ));
            }
        }
    }
    candidates.extend(bare);
    let exposure = Exposure::new(snapshot);
    let mut out: Vec<Workload> = candidates
        .iter()
        .filter(|(k, _)| !owners.get(*k).is_some_and(|owner| candidates.contains_key(owner)))
        .map(|(k, c)| {
            let live_pods = live.get(k).copied().unwrap_or(0);
            let empty = BTreeMap::new();
            let template_labels = c.labels.unwrap_or(&empty);
            Workload {
                workload: ObjectRef {
                    api_version: c.api_version.to_string(),
                    kind: k.0.to_string(),
                    namespace: Some(k.1.clone()),
                    name: k.2.clone(),
                    uid: c.meta.uid.clone(),
                },
                labels: c.meta.labels.clone().unwrap_or_default(),
                service_account: c
                    .spec
                    .and_then(|s| s.service_account_name.clone().or_else(|| s.service_account.clone()))
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| "default".to_string()),
                automount: c.spec.and_then(|s| s.automount_service_account_token),
                live_pods,
                running: live_pods > 0 || c.status_running,
                exposed_by: exposure.exposing(&k.1, template_labels),
            }
        })
        .collect();
    out.sort_by(|a, b| a.workload.cmp(&b.workload));
    out
}

/// The selector of a Service that exposes pods, and what exposes it.
type Exposer<'a> = (&'a BTreeMap<String, String>, String);

/// The Services and Ingresses that expose pods, per namespace.
struct Exposure<'a> {
    by_namespace: HashMap<&'a str, Vec<Exposer<'a>>>,
}

impl<'a> Exposure<'a> {
    fn new(snapshot: &'a Snapshot) -> Self {
        let mut ingress_backends: HashMap<(&str, &str), Vec<String>> = HashMap::new();
        for ingress in &snapshot.ingresses {
            let ns = ingress.metadata.namespace.as_deref().unwrap_or_default();
            let name = format!("Ingress {ns}/{}", ingress.metadata.name.as_deref().unwrap_or_default());
            let Some(spec) = &ingress.spec else { continue };
            let default = spec.default_backend.iter();
            let paths = spec
                .rules
                .iter()
                .flatten()
                .filter_map(|r| r.http.as_ref())
                .flat_map(|http| http.paths.iter().map(|p| &p.backend));
            for backend in default.chain(paths) {
                if let Some(service) = &backend.service {
                    ingress_backends.entry((ns, service.name.as_str())).or_default().push(name.clone());
                }
            }
        }
        let mut by_namespace: HashMap<&str, Vec<_>> = HashMap::new();
        for service in &snapshot.services {
            let Some(spec) = &service.spec else { continue };
            let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { continue };
            let ns = service.metadata.namespace.as_deref().unwrap_or_default();
            let name = service.metadata.name.as_deref().unwrap_or_default();
            let type_ = spec.type_.as_deref().unwrap_or("ClusterIP");
            if type_ == "LoadBalancer" || type_ == "NodePort" {
                by_namespace.entry(ns).or_default().push((selector, format!("Service {ns}/{name} ({type_})")));
            }
            for ingress in ingress_backends.get(&(ns, name)).into_iter().flatten() {
                by_namespace.entry(ns).or_default().push((selector, ingress.clone()));
            }
        }
        Self { by_namespace }
    }

    fn exposing(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Vec<String> {
        let mut out: Vec<String> = self
            .by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .filter(|(selector, _)| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
            .map(|(_, what)| what.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::testing::snapshot;

    const FIXTURE: &str = r#"
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: web, containers: [{name: app, image: web}]}
---
kind: ReplicaSet
metadata:
  name: web-6f9
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d1, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: web, containers: [{name: app, image: web}]}
---
kind: Pod
metadata:
  name: web-6f9-abc
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-6f9, uid: r1, controller: true}]
spec: {serviceAccountName: web, containers: [{name: app, image: web}]}
status: {phase: Running}
---
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec: {automountServiceAccountToken: false, restartPolicy: Never, containers: [{name: r, image: r}]}
---
kind: Job
metadata:
  name: report-1
  namespace: shop
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: report, uid: c1, controller: true}]
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: r, image: r}]}
---
kind: Pod
metadata: {name: debug, namespace: shop}
spec: {serviceAccountName: debugger, containers: [{name: sh, image: busybox}]}
status: {phase: Succeeded}
---
kind: Service
metadata: {name: web-lb, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
---
kind: Service
metadata: {name: internal, namespace: shop}
spec: {selector: {app: report}, ports: [{port: 80}]}
"#;

    #[test]
    fn pods_map_to_their_top_owner_with_exposure_and_automount() {
        let found = workloads(&snapshot(FIXTURE));
        let names: Vec<String> = found.iter().map(|w| format!("{} {}", w.workload.kind, w.workload.name)).collect();
        assert_eq!(names, ["Deployment web", "CronJob report", "Pod debug"], "sorted by apiVersion, kind, name");
        let web = &found[0];
        assert_eq!((web.service_account.as_str(), web.live_pods, web.running), ("web", 1, true));
        assert_eq!(web.exposed_by, ["Service shop/web-lb (LoadBalancer)"]);
        assert!(web.mounts_token(None));
        assert!(!web.mounts_token(Some(false)));
        let report = &found[1];
        assert_eq!(
            (report.service_account.as_str(), report.automount, report.running),
            ("default", Some(false), false)
        );
        assert!(!report.mounts_token(Some(true)), "the pod spec overrides the account");
        let debug = &found[2];
        assert_eq!((debug.live_pods, debug.running), (0, false), "a finished pod does not run");
    }

    #[test]
    fn an_ingress_backend_exposes_what_its_service_selects() {
        let text = format!(
            "{FIXTURE}---\n{}",
            r#"
kind: Ingress
metadata: {name: public, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: internal, port: {number: 80}}}}
---
kind: Deployment
metadata: {name: reporter, namespace: shop}
spec:
  selector: {matchLabels: {app: report}}
  template:
    metadata: {labels: {app: report}}
    spec: {containers: [{name: app, image: x}]}
"#
        );
        let found = workloads(&snapshot(&text));
        let reporter = found.iter().find(|w| w.workload.name == "reporter").unwrap();
        assert_eq!(reporter.exposed_by, ["Ingress shop/public"]);
    }
}
