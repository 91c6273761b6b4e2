//! Connecting as kubectl does, and asking the API server who the caller is and what they
//! may do.

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use super::{GlobalArgs, PluginError};

/// The API group of driftwarden's kinds.
pub const GROUP: &str = "driftwarden.dev";

/// A client and the namespace the caller works in.
pub struct Cluster {
    pub client: Client,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
}

/// Loads the configuration kubectl would: `--kubeconfig`, else `KUBECONFIG` (a list of
/// files, merged), else `~/.kube/config`, else the in-cluster configuration; with
/// `--context` or the current context.
pub async fn connect(global: &GlobalArgs) -> Result<Cluster, PluginError> {
    let options = KubeConfigOptions { context: global.context.clone(), cluster: None, user: None };
    let config = match &global.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| PluginError::Config(format!("cannot read --kubeconfig {}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| PluginError::Config(format!("{}: {e}", path.display())))?
        }
        None => match kube::Config::from_kubeconfig(&options).await {
            Ok(config) => config,
            // Without a kubeconfig, inside a pod: its ServiceAccount, as kubectl does. A
            // context named on the command line needs a kubeconfig.
            Err(kubeconfig) if global.context.is_none() => kube::Config::incluster().map_err(|in_cluster| {
                PluginError::Config(format!("{kubeconfig}; not in a cluster either: {in_cluster}"))
            })?,
            Err(kubeconfig) => return Err(PluginError::Config(kubeconfig.to_string())),
        },
    };
    let namespace = global.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config)
        .map_err(|source| PluginError::Cluster { what: "cannot build a client".into(), source })?;
    Ok(Cluster { client, namespace })
}

/// The caller's user name, as `kubectl auth whoami` reports it (a SelfSubjectReview).
pub async fn whoami(client: &Client) -> Result<String, PluginError> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = match api.create(&PostParams::default(), &SelfSubjectReview::default()).await {
        Ok(review) => review,
        Err(kube::Error::Api(status)) if status.code == 404 => {
            return Err(PluginError::Refused(
                "cannot tell who you are: the API server does not serve SelfSubjectReview (authentication.k8s.io/v1, \
                 Kubernetes 1.28 or later)"
                    .into(),
            ));
        }
        Err(source) => {
            return Err(PluginError::Cluster { what: "cannot tell who you are (SelfSubjectReview)".into(), source });
        }
    };
    review.status.and_then(|s| s.user_info).and_then(|u| u.username).filter(|name| !name.is_empty()).ok_or_else(|| {
        PluginError::Refused("cannot tell who you are: the API server's SelfSubjectReview names no user".into())
    })
}

/// Whether the caller may `verb` driftwarden's `resource` in `namespace` (named `name`, or
/// any): a SelfSubjectAccessReview, what `kubectl auth can-i` asks.
pub async fn may(
    client: &Client,
    verb: &str,
    resource: &str,
    namespace: &str,
    name: Option<&str>,
) -> Result<bool, PluginError> {
    let mut attributes = json!({"group": GROUP, "resource": resource, "verb": verb, "namespace": namespace});
    if let Some(name) = name {
        attributes["name"] = json!(name);
    }
    let review: SelfSubjectAccessReview = serde_json::from_value(json!({"spec": {"resourceAttributes": attributes}}))
        .expect("a SelfSubjectAccessReview is well formed");
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &review).await.map_err(|source| PluginError::Cluster {
        what: format!("cannot ask whether you may {verb} {resource} (SelfSubjectAccessReview)"),
        source,
    })?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// The error of a request about `what`: not found, refused (403, or 422 from admission),
/// or anything else. `hint` is added to a refusal: what to do about it.
pub fn request_error(what: &str, source: kube::Error, hint: &str) -> PluginError {
    match &source {
        kube::Error::Api(status) if status.code == 404 => PluginError::NotFound(format!("{what}: not found")),
        kube::Error::Api(status) if status.code == 403 || status.code == 422 => {
            let hint = if hint.is_empty() { String::new() } else { format!("\n{hint}") };
            PluginError::Refused(format!("{what}: the API server refused: {}{hint}", status.message))
        }
        _ => PluginError::Cluster { what: what.to_string(), source },
    }
}

/// An error as a person reads it: the API server's reason, code and message, else the
/// client's own words.
pub fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() { "Error" } else { status.reason.as_str() };
            format!("{reason} ({}): {}", status.code, status.message)
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure(message, reason).with_code(code)))
    }

    #[test]
    fn refusals_carry_the_server_s_message_and_the_hint() {
        let refused = request_error(
            "cannot approve finding shop/web",
            api_error(403, "Forbidden", "bob may not approve findings in namespace shop"),
            "ask for the ClusterRole driftwarden-finding-approver",
        );
        assert_eq!(refused.exit_code(), 1);
        let text = refused.to_string();
        assert!(text.contains("bob may not approve findings in namespace shop"), "{text}");
        assert!(text.ends_with("\nask for the ClusterRole driftwarden-finding-approver"), "{text}");
        assert_eq!(request_error("finding shop/x", api_error(404, "NotFound", "gone"), "").exit_code(), 2);
        let failed = request_error("finding shop/x", api_error(500, "InternalError", "etcd is down"), "hint");
        assert_eq!(failed.exit_code(), 3);
        assert_eq!(failed.to_string(), "finding shop/x: InternalError (500): etcd is down");
    }
}
