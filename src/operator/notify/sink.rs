//! Where notifications go: a [`Sink`] (a `NotifySpec` in a namespace), resolved to a URL
//! and an optional `Authorization` value by reading its Secret when a delivery is attempted
//! (so a rotated Secret takes effect at the next delivery). Only a Secret labelled
//! `driftwarden.dev/notification-credentials: "true"` is read: a sink cannot name any other
//! Secret of its namespace and have its value sent to the URL.

use std::collections::BTreeMap;

use http::{HeaderValue, Uri};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::error::DeliveryError;
use crate::api::common::SecretKeyRef;
use crate::api::policy::CloudEventsMode;
use crate::notification::{NOTIFICATION_CREDENTIALS_LABEL, NOTIFICATION_CREDENTIALS_VALUE, Sink};

/// Reads the sink's Secret(s) and returns where and how to deliver.
pub(crate) async fn resolve(sink: &Sink, client: &kube::Client) -> Result<Endpoint, DeliveryError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &sink.namespace);
    let spec = &sink.spec;
    let url_secret = read(sink, &secrets, &spec.url_secret_ref.name).await?;
    let url = value(sink, &url_secret, &spec.url_secret_ref)?;
    let url = parse_url(&url).ok_or_else(|| DeliveryError::InvalidUrl {
        sink: sink.display_name(),
        secret: spec.url_secret_ref.name.clone(),
        key: spec.url_secret_ref.key.clone(),
    })?;

    let authorization = match &spec.auth_secret_ref {
        None => None,
        Some(reference) => {
            let value = if reference.name == spec.url_secret_ref.name {
                value(sink, &url_secret, reference)?
            } else {
                let auth_secret = read(sink, &secrets, &reference.name).await?;
                value(sink, &auth_secret, reference)?
            };
            let mut header = HeaderValue::from_str(value.trim())
                .map_err(|_| DeliveryError::InvalidAuthHeader { sink: sink.display_name() })?;
            header.set_sensitive(true);
            Some(header)
        }
    };
    Ok(Endpoint { url, authorization, mode: spec.mode })
}

async fn read(sink: &Sink, secrets: &Api<Secret>, name: &str) -> Result<BTreeMap<String, ByteString>, DeliveryError> {
    match secrets.get_opt(name).await {
        Ok(Some(secret)) if !is_labelled(&secret) => {
            Err(DeliveryError::SecretNotLabelled { sink: sink.display_name(), secret: name.to_string() })
        }
        Ok(Some(secret)) => {
            let mut data = secret.data.unwrap_or_default();
            for (key, value) in secret.string_data.unwrap_or_default() {
                data.entry(key).or_insert_with(|| ByteString(value.into_bytes()));
            }
            Ok(data)
        }
        Ok(None) => Err(DeliveryError::SecretNotFound { sink: sink.display_name(), secret: name.to_string() }),
        Err(source) => Err(DeliveryError::SecretRead { sink: sink.display_name(), secret: name.to_string(), source }),
    }
}

/// Whether `secret` is marked for notifications.
fn is_labelled(secret: &Secret) -> bool {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(NOTIFICATION_CREDENTIALS_LABEL))
        .is_some_and(|value| value == NOTIFICATION_CREDENTIALS_VALUE)
}

fn value(sink: &Sink, data: &BTreeMap<String, ByteString>, reference: &SecretKeyRef) -> Result<String, DeliveryError> {
    let missing = || DeliveryError::SecretKeyMissing {
        sink: sink.display_name(),
        secret: reference.name.clone(),
        key: reference.key.clone(),
    };
    let bytes = data.get(&reference.key).ok_or_else(missing)?;
    String::from_utf8(bytes.0.clone()).map_err(|_| missing())
}
/// A resolved sink: the values read from its Secret. Its `Debug` output hides both.
pub(crate) struct Endpoint {
    pub(crate) url: Uri,
    pub(crate) authorization: Option<HeaderValue>,
    pub(crate) mode: CloudEventsMode,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &"<redacted>")
            .field("authorization", &self.authorization.as_ref().map(|_| "<redacted>"))
            .field("mode", &self.mode)
            .finish()
    }
}

/// An absolute `http` or `https` URL, surrounding whitespace (such as a trailing newline in
/// the Secret) ignored.
fn parse_url(value: &str) -> Option<Uri> {
    let uri: Uri = value.trim().parse().ok()?;
    let scheme = uri.scheme_str()?;
    if (scheme == "http" || scheme == "https") && uri.authority().is_some() { Some(uri) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_or_https() {
        assert!(parse_url("https://hooks.example/abc?token=1\n").is_some());
        assert!(parse_url("http://127.0.0.1:8080/").is_some());
        assert!(parse_url("HTTPS://hooks.example/").is_some());
        assert!(parse_url("ftp://hooks.example/").is_none());
        assert!(parse_url("file:///var/run/secrets/kubernetes.io/serviceaccount/token").is_none());
        assert!(parse_url("gopher://127.0.0.1:6379/_FLUSHALL").is_none());
        assert!(parse_url("unix:///var/run/docker.sock").is_none());
        assert!(parse_url("ws://hooks.example/").is_none());
        assert!(parse_url("https:/hooks.example").is_none());
        assert!(parse_url("/relative").is_none());
        assert!(parse_url("not a url").is_none());
    }

    #[test]
    fn only_secrets_labelled_true_are_read() {
        let with = |labels: Option<&[(&str, &str)]>| {
            let mut secret = Secret::default();
            secret.metadata.labels =
                labels.map(|pairs| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
            is_labelled(&secret)
        };
        assert!(with(Some(&[(NOTIFICATION_CREDENTIALS_LABEL, "true")])));
        assert!(!with(None));
        assert!(!with(Some(&[])));
        assert!(!with(Some(&[(NOTIFICATION_CREDENTIALS_LABEL, "false")])));
        assert!(!with(Some(&[(NOTIFICATION_CREDENTIALS_LABEL, "True")])));
        assert!(!with(Some(&[("driftwarden.dev/notification", "true")])));
    }

    #[test]
    fn an_endpoint_never_shows_its_values() {
        let endpoint = Endpoint {
            url: "https://hooks.example/t0ken".parse().unwrap(),
            authorization: Some(HeaderValue::from_static("Bearer s3cr3t")),
            mode: CloudEventsMode::Binary,
        };
        let shown = format!("{endpoint:?}");
        assert!(!shown.contains("t0ken") && !shown.contains("s3cr3t"), "{shown}");
    }
}
