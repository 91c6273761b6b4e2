//! A sandbox with driftwarden's CRDs installed and the operator running against it.

use std::time::Duration;

use driftwarden::notification::SinkAddressPolicy;
use driftwarden::operator::notify::NotifySettings;
use driftwarden::operator::settings::Clock;
use driftwarden::operator::{self, OperatorSettings};
use driftwarden_sandbox::testing::{Sandbox, Skipped, TempNamespace, TestCluster, install_crds};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// How long a test waits for something the operator should do within about a second.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The operator running against a sandbox, or against the real cluster of
/// `DRIFTWARDEN_TEST_KUBECONFIG` (see [`TestCluster`]).
pub struct Harness {
    pub cluster: TestCluster,
    pub namespace: TempNamespace,
    /// The operator's campaign clock: tests advance it instead of waiting for dates.
    pub clock: Clock,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The running operator's metrics, readiness and notifier.
    services: Option<operator::Services>,
}

impl Harness {
    /// Starts a sandbox, installs the CRDs, makes a namespace and starts the operator.
    pub async fn start() -> Self {
        let mut harness = Self::prepare().await;
        harness.start_operator();
        harness
    }

    /// Starts a sandbox, installs the CRDs and makes a namespace, without the operator:
    /// for tests that set the scene first.
    pub async fn prepare() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let cluster = TestCluster::start().await.expect("a sandbox starts, or the test cluster answers");
        install_crds(&cluster.client(), &driftwarden::api::crds()).await.expect("CRDs installed");
        let namespace = cluster.temp_namespace().await.expect("namespace");
        Self { cluster, namespace, clock: Clock::default(), stop: None, task: None, services: None }
    }

    /// Starts the operator.
    pub fn start_operator(&mut self) {
        let client = self.cluster.client();
        self.start_operator_as(client);
    }

    /// Starts the operator with `client`'s identity.
    pub fn start_operator_as(&mut self, client: Client) {
        self.start_operator_inner(client, local_sinks(), |_| {});
    }

    /// Starts the operator with `client`'s identity and the settings `tweak` leaves.
    pub fn start_operator_tweaked(&mut self, client: Client, tweak: impl FnOnce(&mut OperatorSettings)) {
        self.start_operator_inner(client, local_sinks(), tweak);
    }

    fn start_operator_inner(
        &mut self,
        client: Client,
        notify: NotifySettings,
        tweak: impl FnOnce(&mut OperatorSettings),
    ) {
        let (stop, stopped) = oneshot::channel::<()>();
        // The test namespace is the operator's: campaign sinks and cluster-wide exceptions
        // live there.
        let settings = OperatorSettings {
            namespace: self.ns().to_string(),
            status_interval: Duration::from_millis(50),
            discovery_retry: Duration::from_millis(500),
            clock: self.clock.clone(),
            ..OperatorSettings::default()
        };
        let mut settings = settings;
        tweak(&mut settings);
        let services = operator::Services::with_notify(client.clone(), notify);
        self.services = Some(services.clone());
        self.task = Some(tokio::spawn(async move {
            operator::run_with(client, settings, services, async move {
                let _ = stopped.await;
            })
            .await;
        }));
        self.stop = Some(stop);
    }

    /// Starts the operator with `notify` as its notification settings (the other starts
    /// allow sinks on loopback addresses, where the tests' receivers listen).
    pub fn start_operator_with_notify(&mut self, notify: NotifySettings) {
        let client = self.cluster.client();
        self.start_operator_inner(client, notify, |_| {});
    }

    /// The metrics of the operator started last.
    pub fn metrics(&self) -> std::sync::Arc<driftwarden::operator::metrics::Metrics> {
        self.services.as_ref().expect("the operator was started").metrics.clone()
    }

    /// Whether the operator started last is ready, or why not.
    pub fn readiness(&self) -> Result<(), String> {
        self.services.as_ref().expect("the operator was started").health.check()
    }

    pub fn client(&self) -> Client {
        self.cluster.client()
    }

    /// The sandbox, for what only it can do (faults, test identities).
    pub fn sandbox(&self) -> Result<&Sandbox, Skipped> {
        self.cluster.sandbox()
    }

    pub fn ns(&self) -> &str {
        self.namespace.name()
    }

    /// Stops the operator and starts a new one, as a restart or a new leader would.
    pub async fn restart_operator(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the operator ends cleanly");
        }
        self.start_operator();
    }

    /// Stops the operator, waits for it to end, and deletes the cluster-scoped policies and
    /// campaigns the test made (named after its namespace), then the namespace with what it
    /// holds: on a shared cluster, the next test's operator must not find them.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the operator ends cleanly");
        }
        let ns = self.ns().to_string();
        for resource in [
            ApiResource::erase::<driftwarden::api::policy::ClusterDriftPolicy>(&()),
            ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()),
        ] {
            let api: Api<DynamicObject> = Api::all_with(self.client(), &resource);
            let listed = api.list(&Default::default()).await.expect("cluster-scoped objects listed");
            for object in listed.items.iter().filter_map(|o| o.metadata.name.as_deref()).filter(|n| n.starts_with(&ns))
            {
                let _ = api.delete(object, &Default::default()).await;
            }
        }
        // Now, while the test's runtime still runs: a deletion left to the drop would be
        // spawned on a runtime that is ending, and never sent.
        let _ = self.namespace.delete().await;
    }
}

/// Waits until `condition` holds for the named object.
pub async fn wait_for<K>(api: &Api<K>, name: &str, what: &str, condition: impl Fn(&K) -> bool) -> K
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned + Send + 'static,
{
    wait_for_within(PATIENCE, api, name, what, condition).await
}

/// Waits up to `patience` until `condition` holds for the named object: for scenarios
/// whose work takes a while on a loaded machine (hundreds of objects, waves one second
/// apart).
pub async fn wait_for_within<K>(
    patience: Duration,
    api: &Api<K>,
    name: &str,
    what: &str,
    condition: impl Fn(&K) -> bool,
) -> K
where
    K: Resource + Clone + std::fmt::Debug + DeserializeOwned + Send + 'static,
{
    let found = tokio::time::timeout(
        patience,
        await_condition(api.clone(), name, move |o: Option<&K>| o.is_some_and(&condition)),
    )
    .await;
    match found {
        Ok(found) => found.expect("watch").expect("object exists"),
        // What the object was when the patience ran out says why.
        Err(_) => panic!("timed out waiting for {name}: {what}; it is now {:#?}", api.get_opt(name).await),
    }
}

/// The notification settings of the tests: sinks may use loopback addresses
/// (`--notification-allowed-cidrs 127.0.0.0/8`), where the tests' receivers listen.
pub fn local_sinks() -> NotifySettings {
    let loopback = "127.0.0.0/8".parse().expect("a CIDR block");
    NotifySettings { addresses: SinkAddressPolicy::allowing(vec![loopback]), ..NotifySettings::default() }
}

/// Reads a field of a dynamic object's status as a number.
pub fn status_number(object: &DynamicObject, field: &str) -> i64 {
    object.data.pointer(&format!("/status/{field}")).and_then(serde_json::Value::as_i64).unwrap_or(0)
}

/// The status of a condition of a dynamic object.
pub fn condition(object: &DynamicObject, type_: &str) -> Option<(String, String)> {
    object.data.pointer("/status/conditions")?.as_array()?.iter().find(|c| c["type"] == type_).map(|c| {
        (c["status"].as_str().unwrap_or_default().to_string(), c["reason"].as_str().unwrap_or_default().to_string())
    })
}

pub fn policies(harness: &Harness) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&());
    Api::namespaced_with(harness.client(), harness.ns(), &resource)
}

pub async fn create_policy(harness: &Harness, body: Value) {
    let object: DynamicObject = serde_json::from_value(body).unwrap();
    policies(harness).create(&PostParams::default(), &object).await.expect("policy created");
}

pub fn config_map(ns: &str, name: &str, team: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": team, "app": "shop"}},
        "data": {"mode": "fast"}
    }))
    .unwrap()
}

/// A change by someone else, as `kubectl edit` would make it.
pub async fn edit<K>(api: &Api<K>, name: &str, patch: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams { field_manager: Some("kubectl-edit".into()), ..Default::default() },
        &Patch::Merge(&patch),
    )
    .await
    .expect("edit applied");
}

/// Runs `future` with the test's patience.
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A DriftPolicy named `name` in `ns` with `spec`.
pub fn drift_policy(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// The policy most tests use: ConfigMaps labelled `app: shop` carry `team: shop`.
pub fn owners_policy(ns: &str, remediation: Value) -> Value {
    drift_policy(
        ns,
        "owners",
        json!({
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                           "template": {"metadata": {"labels": {"team": "shop"}}}}],
            "remediation": remediation
        }),
    )
}

/// Whether a ConfigMap's `team` label is `team`.
pub fn team_is(cm: &ConfigMap, team: &str) -> bool {
    cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == team)
}

/// Waits until `check` holds, looking again every 50 ms: for conditions over many objects,
/// which no single watch answers.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    within(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// How a replica named `name` runs under leader election on the harness's namespace, with
/// a Lease of `lease` renewed `renew_margin` before it ends.
pub fn replica_options(
    harness: &Harness,
    name: &str,
    lease: Duration,
    renew_margin: Duration,
) -> driftwarden::operator::RunOptions {
    let mut leader = driftwarden::operator::leader::LeaderSettings::new(harness.ns(), "driftwarden-leader");
    leader.identity = name.to_string();
    leader.lease_duration = lease;
    leader.renew_margin = renew_margin;
    driftwarden::operator::RunOptions {
        settings: OperatorSettings {
            namespace: harness.ns().to_string(),
            status_interval: Duration::from_millis(50),
            ..OperatorSettings::default()
        },
        health_address: None,
        leader: Some(leader),
    }
}

/// Lets `user` approve findings in `ns` (the verb `approve`, and `approve-privileged` too
/// when `privileged`), as binding the chart's approver ClusterRoles would: the operator asks
/// the API server before it acts on an approval. Granting twice is fine.
pub async fn grant_approve(harness: &Harness, ns: &str, user: &str, privileged: bool) {
    let verbs = if privileged { json!(["approve", "approve-privileged"]) } else { json!(["approve"]) };
    let rules = json!([{"apiGroups": ["driftwarden.dev"], "resources": ["findings"], "verbs": verbs}]);
    grant(harness, ns, user, "approver", rules).await;
}

/// Grants `user` the RBAC `rules` in `ns` with a Role and RoleBinding named after `purpose`
/// and the user. Granting twice is fine.
pub async fn grant(harness: &Harness, ns: &str, user: &str, purpose: &str, rules: Value) {
    let subject = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user});
    grant_to(harness, ns, subject, &format!("{purpose}-{user}"), rules).await;
}

/// Makes ServiceAccount `name` in `ns` (if missing) and grants it the RBAC `rules` there.
pub async fn grant_service_account(harness: &Harness, ns: &str, name: &str, rules: Value) {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let account: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    match Api::<ServiceAccount>::namespaced(harness.client(), ns).create(&PostParams::default(), &account).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("creating ServiceAccount {ns}/{name}: {error}"),
    }
    let subject = json!({"kind": "ServiceAccount", "name": name, "namespace": ns});
    grant_to(harness, ns, subject, &format!("sa-{name}"), rules).await;
}

/// Grants `subject` the RBAC `rules` in `ns` with a Role and RoleBinding named `name`
/// (made a valid name).
async fn grant_to(harness: &Harness, ns: &str, subject: Value, name: &str, rules: Value) {
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let role: Role = serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap();
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [subject]
    }))
    .unwrap();
    let client = harness.client();
    for result in [
        Api::<Role>::namespaced(client.clone(), ns).create(&PostParams::default(), &role).await.map(drop),
        Api::<RoleBinding>::namespaced(client, ns).create(&PostParams::default(), &binding).await.map(drop),
    ] {
        match result {
            Ok(()) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => panic!("granting {name} in {ns}: {error}"),
        }
    }
}

/// A replica under leader election: how to stop it, its task, and its metrics and
/// readiness.
pub type Replica = (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>, operator::Services);

/// Starts a replica named `name` on the harness's namespace, with a Lease of 2 s renewed
/// 1 s before it ends.
pub fn replica(harness: &Harness, name: &str) -> Replica {
    let options = replica_options(harness, name, Duration::from_secs(2), Duration::from_secs(1));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let client = harness.client();
    let services = operator::Services::with_notify(client.clone(), local_sinks());
    let shared = services.clone();
    let task = tokio::spawn(async move {
        operator::supervise(client, options, services, stopped).await.expect("the replica runs and steps down cleanly");
    });
    (stop, task, shared)
}

/// Waits until the DriftPolicy `name` of the harness's namespace is `Ready=False` with reason
/// `InvalidSpec`, and checks that its message names every problem of `problems`.
pub async fn wait_invalid<S: AsRef<str>>(harness: &Harness, name: &str, problems: &[S]) {
    let refused = wait_for(&policies(harness), name, "refused", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "InvalidSpec")
    })
    .await;
    let message = refused.data["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    for why in problems {
        assert!(message.contains(why.as_ref()), "{:?} not in {message:?}", why.as_ref());
    }
}
