//! The defaults the API server fills in when a field is absent, so that a live object
//! without the field (a manifest file in `check`, or an object written before a default
//! existed) equals one with the default spelled out.
//!
//! A focused table taken from the defaulting functions of `k8s.io/kubernetes`
//! (`pkg/apis/{core,apps,batch,rbac,networking}/v1/defaults.go`): only defaults that are
//! unconditional or depend on a sibling field are listed. Defaults that depend on
//! feature gates, on other objects or on admission plugins (`serviceAccountName`,
//! `externalTrafficPolicy` of load balancers, Job `completions` when `parallelism` is set,
//! `podReplacementPolicy`) are deliberately absent: the engine never assumes them.

use serde_json::{Map, Number, Value};

use super::scalar::{numbers_eq, scalar_eq};
use crate::engine::schema::{NodeId, Scalar};

/// The value a default takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultValue {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    /// An empty structure, itself filled by its own defaults.
    EmptyObject,
    /// The value of a sibling field (`targetPort` defaults to `port`).
    SameAs(&'static str),
    /// `Always` for an image tagged `latest` or not tagged, else `IfNotPresent`.
    ImagePullPolicy,
}

/// One default: `field` takes `value` when absent, provided the sibling `when.0` (itself
/// defaulted) is one of `when.1`.
#[derive(Clone, Copy, Debug)]
pub struct DefaultRule {
    pub field: &'static str,
    pub value: DefaultValue,
    pub when: Option<(&'static str, &'static [&'static str])>,
}

const fn always(field: &'static str, value: DefaultValue) -> DefaultRule {
    DefaultRule { field, value, when: None }
}

const fn when(
    field: &'static str,
    value: DefaultValue,
    sibling: &'static str,
    one_of: &'static [&'static str],
) -> DefaultRule {
    DefaultRule { field, value, when: Some((sibling, one_of)) }
}

use DefaultValue::{Bool, EmptyObject, ImagePullPolicy, Int, SameAs, Str};

/// The host namespaces are plain booleans in the API: absent is their zero value, `false`,
/// so a baseline requiring `hostNetwork: false` holds on a pod that does not mention it.
const POD_SPEC_COMMON: [DefaultRule; 7] = [
    always("dnsPolicy", Str("ClusterFirst")),
    always("schedulerName", Str("default-scheduler")),
    always("terminationGracePeriodSeconds", Int(30)),
    always("enableServiceLinks", Bool(true)),
    always("hostNetwork", Bool(false)),
    always("hostPID", Bool(false)),
    always("hostIPC", Bool(false)),
];
const POD_SPEC: [DefaultRule; 8] = [
    always("restartPolicy", Str("Always")),
    POD_SPEC_COMMON[0],
    POD_SPEC_COMMON[1],
    POD_SPEC_COMMON[2],
    POD_SPEC_COMMON[3],
    POD_SPEC_COMMON[4],
    POD_SPEC_COMMON[5],
    POD_SPEC_COMMON[6],
];
const ROLLING: &[&str] = &["RollingUpdate"];
const DEFAULT_MODE: [DefaultRule; 1] = [always("defaultMode", Int(0o644))];

/// The defaults of the structure `node`, in the order they are applied (a rule may
/// depend on a sibling defaulted before it).
pub fn rules(node: NodeId) -> &'static [DefaultRule] {
    match node {
        NodeId::PodSpec => &POD_SPEC,
        NodeId::JobPodSpec => &POD_SPEC_COMMON,
        NodeId::Container => {
            const {
                &[
                    always("terminationMessagePath", Str("/dev/termination-log")),
                    always("terminationMessagePolicy", Str("File")),
                    always("imagePullPolicy", ImagePullPolicy),
                ]
            }
        }
        NodeId::ContainerPort | NodeId::NetworkPolicyPort => const { &[always("protocol", Str("TCP"))] },
        NodeId::Probe => {
            const {
                &[
                    always("timeoutSeconds", Int(1)),
                    always("periodSeconds", Int(10)),
                    always("successThreshold", Int(1)),
                    always("failureThreshold", Int(3)),
                ]
            }
        }
        NodeId::HttpGetAction => const { &[always("path", Str("/")), always("scheme", Str("HTTP"))] },
        NodeId::ConfigMapVolumeSource
        | NodeId::SecretVolumeSource
        | NodeId::ProjectedVolumeSource
        | NodeId::DownwardApiVolumeSource => &DEFAULT_MODE,
        NodeId::ServiceSpec => {
            const {
                &[
                    always("type", Str("ClusterIP")),
                    always("sessionAffinity", Str("None")),
                    when("internalTrafficPolicy", Str("Cluster"), "type", &["ClusterIP", "NodePort", "LoadBalancer"]),
                ]
            }
        }
        NodeId::ServicePort => const { &[always("protocol", Str("TCP")), always("targetPort", SameAs("port"))] },
        NodeId::Secret => const { &[always("type", Str("Opaque"))] },
        NodeId::PersistentVolumeClaimSpec => const { &[always("volumeMode", Str("Filesystem"))] },
        NodeId::DeploymentSpec => {
            const {
                &[
                    always("replicas", Int(1)),
                    always("revisionHistoryLimit", Int(10)),
                    always("progressDeadlineSeconds", Int(600)),
                    always("strategy", EmptyObject),
                ]
            }
        }
        NodeId::DeploymentStrategy => {
            const { &[always("type", Str("RollingUpdate")), when("rollingUpdate", EmptyObject, "type", ROLLING)] }
        }
        NodeId::RollingUpdateDeployment => {
            const { &[always("maxSurge", Str("25%")), always("maxUnavailable", Str("25%"))] }
        }
        NodeId::StatefulSetSpec => {
            const {
                &[
                    always("replicas", Int(1)),
                    always("podManagementPolicy", Str("OrderedReady")),
                    always("revisionHistoryLimit", Int(10)),
                    always("updateStrategy", EmptyObject),
                    always("persistentVolumeClaimRetentionPolicy", EmptyObject),
                ]
            }
        }
        NodeId::StatefulSetUpdateStrategy => {
            const { &[always("type", Str("RollingUpdate")), when("rollingUpdate", EmptyObject, "type", ROLLING)] }
        }
        NodeId::RollingUpdateStatefulSetStrategy => const { &[always("partition", Int(0))] },
        NodeId::PersistentVolumeClaimRetentionPolicy => {
            const { &[always("whenDeleted", Str("Retain")), always("whenScaled", Str("Retain"))] }
        }
        NodeId::DaemonSetSpec => {
            const { &[always("revisionHistoryLimit", Int(10)), always("updateStrategy", EmptyObject)] }
        }
        NodeId::DaemonSetUpdateStrategy => {
            const { &[always("type", Str("RollingUpdate")), when("rollingUpdate", EmptyObject, "type", ROLLING)] }
        }
        NodeId::RollingUpdateDaemonSet => const { &[always("maxUnavailable", Int(1)), always("maxSurge", Int(0))] },
        NodeId::ReplicaSetSpec | NodeId::ReplicationControllerSpec => const { &[always("replicas", Int(1))] },
        NodeId::JobSpec => {
            const {
                &[
                    always("parallelism", Int(1)),
                    always("backoffLimit", Int(6)),
                    always("completionMode", Str("NonIndexed")),
                    always("suspend", Bool(false)),
                ]
            }
        }
        NodeId::CronJobSpec => {
            const {
                &[
                    always("concurrencyPolicy", Str("Allow")),
                    always("suspend", Bool(false)),
                    always("successfulJobsHistoryLimit", Int(3)),
                    always("failedJobsHistoryLimit", Int(1)),
                ]
            }
        }
        NodeId::Subject => {
            const {
                &[
                    when("apiGroup", Str("rbac.authorization.k8s.io"), "kind", &["User", "Group"]),
                    when("apiGroup", Str(""), "kind", &["ServiceAccount"]),
                ]
            }
        }
        _ => const { &[] },
    }
}

/// The default of `field` in the structure `node` whose present fields are `siblings`
/// (`None` when the structure itself is absent), or `None` when there is none.
pub fn default_for(node: NodeId, field: &str, siblings: Option<&Map<String, Value>>) -> Option<Value> {
    rules(node)
        .iter()
        .filter(|rule| rule.field == field)
        .find(|rule| condition_holds(node, rule, siblings))
        .and_then(|rule| value_of(rule.value, siblings))
}

/// Whether the default of `field` in the structure `node` (whose present fields are
/// `siblings`) is `value`, compared as a scalar of kind `scalar`; false when there is no
/// default. Allocates nothing.
pub fn default_equals(
    node: NodeId,
    field: &str,
    siblings: Option<&Map<String, Value>>,
    value: &Value,
    scalar: Scalar,
) -> bool {
    let Some(rule) =
        rules(node).iter().filter(|rule| rule.field == field).find(|rule| condition_holds(node, rule, siblings))
    else {
        return false;
    };
    match rule.value {
        Str(text) => value.as_str() == Some(text),
        Int(number) => value.as_number().is_some_and(|value| numbers_eq(value, &Number::from(number))),
        Bool(flag) => value.as_bool() == Some(flag),
        EmptyObject => value.as_object().is_some_and(Map::is_empty),
        SameAs(sibling) => siblings
            .and_then(|map| map.get(sibling))
            .filter(|default| !default.is_null())
            .is_some_and(|default| scalar_eq(scalar, value, default)),
        ImagePullPolicy => siblings
            .and_then(|map| map.get("image"))
            .and_then(Value::as_str)
            .is_some_and(|image| value.as_str() == Some(image_pull_policy(image))),
    }
}

fn condition_holds(node: NodeId, rule: &DefaultRule, siblings: Option<&Map<String, Value>>) -> bool {
    let Some((sibling, one_of)) = rule.when else { return true };
    let present = siblings.and_then(|map| map.get(sibling)).filter(|value| !value.is_null());
    let value =
        match present {
            Some(value) => value.as_str().map(str::to_string),
            None => rules(node).iter().find(|other| other.field == sibling && other.when.is_none()).and_then(|other| {
                match other.value {
                    Str(text) => Some(text.to_string()),
                    _ => None,
                }
            }),
        };
    value.is_some_and(|value| one_of.contains(&value.as_str()))
}

fn value_of(value: DefaultValue, siblings: Option<&Map<String, Value>>) -> Option<Value> {
    match value {
        Str(text) => Some(Value::from(text)),
        Int(number) => Some(Value::from(number)),
        Bool(flag) => Some(Value::Bool(flag)),
        EmptyObject => Some(Value::Object(Map::new())),
        SameAs(sibling) => siblings?.get(sibling).filter(|value| !value.is_null()).cloned(),
        ImagePullPolicy => {
            let image = siblings?.get("image")?.as_str()?;
            Some(Value::from(image_pull_policy(image)))
        }
    }
}

/// The pull policy the API server gives a container image: `Always` when the image is
/// tagged `latest` or has no tag nor digest, `IfNotPresent` otherwise.
pub fn image_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// Fills the absent defaults of the structure `node` into `map`, in table order, and
/// says whether anything was added.
pub fn fill(node: NodeId, map: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    for rule in rules(node) {
        let absent = map.get(rule.field).is_none_or(Value::is_null);
        if absent
            && condition_holds(node, rule, Some(map))
            && let Some(value) = value_of(rule.value, Some(map))
        {
            map.insert(rule.field.to_string(), value);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:latest"), "Always");
        assert_eq!(image_pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(image_pull_policy("registry:5000/team/app"), "Always");
        assert_eq!(image_pull_policy("registry:5000/team/app:v2"), "IfNotPresent");
        assert_eq!(image_pull_policy("nginx@sha256:0123abcd"), "IfNotPresent");
    }

    #[test]
    fn defaults_that_read_siblings() {
        let port = object(json!({"port": 443}));
        assert_eq!(default_for(NodeId::ServicePort, "targetPort", Some(&port)), Some(json!(443)));
        assert_eq!(default_for(NodeId::ServicePort, "protocol", None), Some(json!("TCP")));
        let container = object(json!({"name": "app", "image": "nginx:1.27"}));
        assert_eq!(default_for(NodeId::Container, "imagePullPolicy", Some(&container)), Some(json!("IfNotPresent")));
        assert_eq!(default_for(NodeId::Container, "imagePullPolicy", None), None);
        assert_eq!(default_for(NodeId::PodSpec, "restartPolicy", None), Some(json!("Always")));
        assert_eq!(default_for(NodeId::JobPodSpec, "restartPolicy", None), None);
    }

    #[test]
    fn conditional_defaults() {
        let recreate = object(json!({"type": "Recreate"}));
        assert_eq!(default_for(NodeId::DeploymentStrategy, "rollingUpdate", Some(&recreate)), None);
        assert_eq!(default_for(NodeId::DeploymentStrategy, "rollingUpdate", None), Some(json!({})));
        let external = object(json!({"type": "ExternalName"}));
        assert_eq!(default_for(NodeId::ServiceSpec, "internalTrafficPolicy", Some(&external)), None);
        assert_eq!(default_for(NodeId::ServiceSpec, "internalTrafficPolicy", None), Some(json!("Cluster")));
        let user = object(json!({"kind": "User", "name": "jane"}));
        assert_eq!(default_for(NodeId::Subject, "apiGroup", Some(&user)), Some(json!("rbac.authorization.k8s.io")));
        let account = object(json!({"kind": "ServiceAccount", "name": "app"}));
        assert_eq!(default_for(NodeId::Subject, "apiGroup", Some(&account)), Some(json!("")));
    }

    #[test]
    fn default_equals_matches_default_for() {
        let container = object(json!({"name": "app", "image": "nginx"}));
        let port = object(json!({"port": 443}));
        for (node, field, siblings) in [
            (NodeId::Container, "imagePullPolicy", Some(&container)),
            (NodeId::ContainerPort, "protocol", None),
            (NodeId::ServicePort, "targetPort", Some(&port)),
            (NodeId::DeploymentSpec, "replicas", None),
            (NodeId::JobSpec, "suspend", None),
            (NodeId::DeploymentSpec, "strategy", None),
        ] {
            let default = default_for(node, field, siblings).unwrap();
            assert!(default_equals(node, field, siblings, &default, Scalar::Plain), "{field}");
            assert!(!default_equals(node, field, siblings, &json!("other"), Scalar::Plain), "{field}");
        }
        assert!(default_equals(
            NodeId::ServicePort,
            "targetPort",
            Some(&port),
            &json!("443"),
            Scalar::PortNumberOrName
        ));
        assert!(!default_equals(NodeId::Container, "name", None, &json!("x"), Scalar::Plain));
    }

    #[test]
    fn fill_is_idempotent() {
        let mut strategy = Map::new();
        assert!(fill(NodeId::DeploymentStrategy, &mut strategy));
        assert_eq!(Value::Object(strategy.clone()), json!({"type": "RollingUpdate", "rollingUpdate": {}}));
        assert!(!fill(NodeId::DeploymentStrategy, &mut strategy));
    }
}
