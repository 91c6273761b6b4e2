//! A sandbox with driftwarden's CRDs, a namespace, kubeconfigs for an administrator and for
//! test users, and the binary run as `driftwarden plugin …` with one of them.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use driftwarden_sandbox::testing::{Sandbox, TempNamespace, install_crds};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::chart;

/// How long one run of the binary may take.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Scene {
    pub sandbox: Sandbox,
    pub namespace: TempNamespace,
    dir: tempfile::TempDir,
}

/// What one run printed and how it ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Fails the test unless the run exited with `code`; returns standard output.
    pub fn expect_code(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "exit {:?}\nstdout:\n{}\nstderr:\n{}", self.code, self.stdout, self.stderr);
        &self.stdout
    }
}

impl Scene {
    pub async fn start() -> Self {
        let sandbox = Sandbox::start().await.expect("sandbox starts");
        install_crds(&sandbox.client(), &driftwarden::api::crds()).await.expect("CRDs installed");
        let namespace = sandbox.temp_namespace().await.expect("namespace");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let scene = Self { sandbox, namespace, dir };
        scene.write_kubeconfig("admin", scene.sandbox.admin_token());
        scene
    }

    pub fn ns(&self) -> &str {
        self.namespace.name()
    }

    pub fn client(&self) -> kube::Client {
        self.sandbox.client()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The kubeconfig of `who` (`admin`, or a user made with [`Scene::user`]).
    pub fn kubeconfig(&self, who: &str) -> PathBuf {
        self.dir.path().join(format!("{who}.kubeconfig"))
    }

    fn write_kubeconfig(&self, who: &str, token: &str) {
        let mut config = serde_json::to_value(self.sandbox.kubeconfig()).unwrap();
        config["users"][0]["user"] = json!({"token": token});
        std::fs::write(self.kubeconfig(who), serde_yaml::to_string(&config).unwrap()).unwrap();
    }

    /// Registers user `name` (a token, and a kubeconfig using it); RBAC decides what it may
    /// do. Returns the token.
    pub fn user(&self, name: &str) -> String {
        let identity = self.sandbox.add_user(name, &[]);
        self.write_kubeconfig(name, &identity.token);
        identity.token
    }

    /// A kubeconfig file `file` with one context per `(name, token)`, the first current.
    pub fn kubeconfig_with_contexts(&self, file: &str, contexts: &[(&str, &str)]) -> PathBuf {
        let mut config = serde_json::to_value(self.sandbox.kubeconfig()).unwrap();
        let cluster = config["clusters"][0]["name"].clone();
        config["users"] =
            contexts.iter().map(|(name, token)| json!({"name": name, "user": {"token": token}})).collect();
        config["contexts"] = contexts
            .iter()
            .map(|(name, _)| json!({"name": name, "context": {"cluster": cluster, "user": name}}))
            .collect();
        config["current-context"] = json!(contexts[0].0);
        let path = self.dir.path().join(file);
        std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
        path
    }

    /// Runs `driftwarden plugin ARGS` as `who`, in the scene's namespace unless `args` says
    /// otherwise.
    pub async fn plugin(&self, who: &str, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_driftwarden"));
        command.arg("plugin").args(args).env("KUBECONFIG", self.kubeconfig(who)).env_remove("NO_COLOR");
        if !args.iter().any(|a| *a == "-n" || *a == "-A") {
            command.args(["-n", self.ns()]);
        }
        run(command).await
    }

    /// Creates `object` as the administrator.
    pub async fn create(&self, object: Value) -> DynamicObject {
        let api = self.api_for(&object);
        let object: DynamicObject = serde_json::from_value(object).unwrap();
        api.create(&PostParams::default(), &object).await.unwrap_or_else(|e| panic!("creating {object:?}: {e}"))
    }

    /// Writes `status` on `object` (as the operator would).
    pub async fn set_status(&self, object: &Value, status: Value) {
        let api = self.api_for(object);
        let name = object["metadata"]["name"].as_str().unwrap();
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(json!({"status": status})))
            .await
            .unwrap_or_else(|e| panic!("status of {name}: {e}"));
    }

    fn api_for(&self, object: &Value) -> Api<DynamicObject> {
        let api_version = object["apiVersion"].as_str().unwrap();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
        let resource = ApiResource::from_gvk(&gvk);
        match object["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(self.client(), ns, &resource),
            None => Api::all_with(self.client(), &resource),
        }
    }

    /// The objects of driftwarden's `kind` in the scene's namespace.
    pub async fn list(&self, kind: &str) -> Vec<DynamicObject> {
        let gvk = GroupVersionKind::gvk("driftwarden.dev", "v1alpha1", kind);
        let resource = ApiResource::from_gvk(&gvk);
        Api::<DynamicObject>::namespaced_with(self.client(), self.ns(), &resource)
            .list(&Default::default())
            .await
            .unwrap()
            .items
    }

    /// Grants `user` the RBAC `rules` in the scene's namespace.
    pub async fn grant(&self, user: &str, purpose: &str, rules: Value) {
        let name = format!("{purpose}-{user}");
        let role: Role = serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap();
        Api::<Role>::namespaced(self.client(), self.ns()).create(&PostParams::default(), &role).await.unwrap();
        self.bind(user, "Role", &name).await;
    }

    /// Binds `user` to the role `kind`/`name` in the scene's namespace.
    pub async fn bind(&self, user: &str, kind: &str, name: &str) {
        let binding: RoleBinding = serde_json::from_value(json!({
            "metadata": {"name": format!("{name}-{user}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }))
        .unwrap();
        Api::<RoleBinding>::namespaced(self.client(), self.ns())
            .create(&PostParams::default(), &binding)
            .await
            .unwrap();
    }

    /// A tenant who reads driftwarden's namespaced objects and writes findings and
    /// exceptions in the namespace, as a team that keeps its own exceptions would be
    /// granted; nothing cluster-wide.
    pub async fn tenant(&self, user: &str) {
        self.user(user);
        let rules = json!([
            {"apiGroups": ["driftwarden.dev"], "resources": ["driftpolicies", "findings", "driftexceptions"],
             "verbs": ["get", "list"]},
            {"apiGroups": ["driftwarden.dev"], "resources": ["findings", "driftexceptions"],
             "verbs": ["create", "update", "patch"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}
        ]);
        self.grant(user, "tenant", rules).await;
    }

    /// Installs the chart's approvals ValidatingAdmissionPolicy, its binding and the
    /// approver ClusterRoles; `None` when the chart tests are skipped.
    pub async fn install_approvals(&self) -> Option<()> {
        let rendered = chart::render(json!({}), "driftwarden-system")?.expect("the chart renders");
        for kind in ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"] {
            self.create(rendered.named(kind, "driftwarden-approvals")).await;
        }
        for role in rendered.of_kind("ClusterRole").into_iter().filter(chart::for_approvers) {
            let role: ClusterRole = serde_json::from_value(role).unwrap();
            match Api::<ClusterRole>::all(self.client()).create(&PostParams::default(), &role).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(e) => panic!("approver role: {e}"),
            }
        }
        Some(())
    }
}

/// Runs `command` to its end, within [`PATIENCE`].
pub async fn run(mut command: Command) -> Run {
    command.kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the command ends in time")
        .expect("the command runs");
    Run::from(output)
}

/// Waits until `check` holds, for at most 20 seconds.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting: {what}");
}

/// A Ready condition.
pub fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!({"type": "Ready", "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2026-04-01T00:00:00Z"})
}

/// A Finding of campaign `campaign` about ConfigMap or Deployment `asset` of `ns`, as the
/// operator writes one (create it before the approvals policy is installed: only the
/// operator may create Findings then).
pub fn finding(ns: &str, name: &str, campaign: &str, kind: &str, asset: &str) -> Value {
    let api_version = if kind == "Deployment" { "apps/v1" } else { "v1" };
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"campaign": campaign, "control": format!("{ns}/owners"), "severity": "High",
                 "owner": {"team": "storefront", "contact": "#storefront"},
                 "asset": {"apiVersion": api_version, "kind": kind, "namespace": ns, "name": asset}}
    })
}

/// A DriftPolicy `owners` of `ns` that labels ConfigMaps and pins a Deployment's image.
pub fn policy(ns: &str) -> Value {
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
        "metadata": {"name": "owners", "namespace": ns},
        "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"},
                                "template": {"metadata": {"labels": {"team": "shop"}}}}]}
    })
}
