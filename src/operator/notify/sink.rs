//! Where notifications go: a [`NotifySpec`] in a namespace, resolved to a URL and an
//! optional `Authorization` value by reading its Secret when a delivery is attempted (so a
//! rotated Secret takes effect at the next delivery).

use std::collections::BTreeMap;

use http::{HeaderValue, Uri};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::error::DeliveryError;
use crate::api::common::SecretKeyRef;
use crate::api::policy::{CloudEventsMode, NotifySpec};

/// A CloudEvents sink configured in a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sink {
    /// The namespace of the resource that configures it, where its Secrets live.
    pub namespace: String,
    /// The sink's configuration.
    pub spec: NotifySpec,
}

/// What identifies a sink for ordering and de-duplication: the same Secret references and
/// mode in the same namespace are the same sink.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SinkKey {
    namespace: String,
    url: (String, String),
    auth: Option<(String, String)>,
    structured: bool,
}

impl Sink {
    /// The name used in logs and errors: `namespace/secretName` of the URL Secret. Never
    /// the URL itself.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.namespace, self.spec.url_secret_ref.name)
    }

    pub(crate) fn key(&self) -> SinkKey {
        let pair = |reference: &SecretKeyRef| (reference.name.clone(), reference.key.clone());
        SinkKey {
            namespace: self.namespace.clone(),
            url: pair(&self.spec.url_secret_ref),
            auth: self.spec.auth_secret_ref.as_ref().map(pair),
            structured: self.spec.mode == CloudEventsMode::Structured,
        }
    }

    /// Reads the Secret(s) and returns where and how to deliver.
    pub(crate) async fn resolve(&self, client: &kube::Client) -> Result<Endpoint, DeliveryError> {
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &self.namespace);
        let url_secret = self.read(&secrets, &self.spec.url_secret_ref.name).await?;
        let url = self.value(&url_secret, &self.spec.url_secret_ref)?;
        let url = parse_url(&url).ok_or_else(|| DeliveryError::InvalidUrl { sink: self.display_name() })?;

        let authorization = match &self.spec.auth_secret_ref {
            None => None,
            Some(reference) => {
                let value = if reference.name == self.spec.url_secret_ref.name {
                    self.value(&url_secret, reference)?
                } else {
                    let auth_secret = self.read(&secrets, &reference.name).await?;
                    self.value(&auth_secret, reference)?
                };
                let mut header = HeaderValue::from_str(value.trim())
                    .map_err(|_| DeliveryError::InvalidAuthHeader { sink: self.display_name() })?;
                header.set_sensitive(true);
                Some(header)
            }
        };
        Ok(Endpoint { url, authorization, mode: self.spec.mode })
    }

    async fn read(&self, secrets: &Api<Secret>, name: &str) -> Result<BTreeMap<String, ByteString>, DeliveryError> {
        match secrets.get_opt(name).await {
            Ok(Some(secret)) => {
                let mut data = secret.data.unwrap_or_default();
                for (key, value) in secret.string_data.unwrap_or_default() {
                    data.entry(key).or_insert_with(|| ByteString(value.into_bytes()));
                }
                Ok(data)
            }
            Ok(None) => Err(DeliveryError::SecretNotFound { sink: self.display_name(), secret: name.to_string() }),
            Err(source) => {
                Err(DeliveryError::SecretRead { sink: self.display_name(), secret: name.to_string(), source })
            }
        }
    }

    fn value(&self, data: &BTreeMap<String, ByteString>, reference: &SecretKeyRef) -> Result<String, DeliveryError> {
        let missing = || DeliveryError::SecretKeyMissing {
            sink: self.display_name(),
            secret: reference.name.clone(),
            key: reference.key.clone(),
        };
        let bytes = data.get(&reference.key).ok_or_else(missing)?;
        String::from_utf8(bytes.0.clone()).map_err(|_| missing())
    }
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

    fn sink(mode: CloudEventsMode, auth: Option<&str>) -> Sink {
        Sink {
            namespace: "shop".to_string(),
            spec: NotifySpec {
                url_secret_ref: SecretKeyRef { name: "hook".to_string(), key: "url".to_string() },
                auth_secret_ref: auth.map(|name| SecretKeyRef { name: name.to_string(), key: "auth".to_string() }),
                mode,
            },
        }
    }

    #[test]
    fn urls_must_be_absolute_http_or_https() {
        assert!(parse_url("https://hooks.example/abc?token=1\n").is_some());
        assert!(parse_url("http://127.0.0.1:8080/").is_some());
        assert!(parse_url("ftp://hooks.example/").is_none());
        assert!(parse_url("/relative").is_none());
        assert!(parse_url("not a url").is_none());
    }

    #[test]
    fn sinks_differ_by_secret_references_and_mode() {
        let binary = sink(CloudEventsMode::Binary, None);
        assert_eq!(binary.key(), sink(CloudEventsMode::Binary, None).key());
        assert_ne!(binary.key(), sink(CloudEventsMode::Structured, None).key());
        assert_ne!(binary.key(), sink(CloudEventsMode::Binary, Some("auth")).key());
        assert_eq!(binary.display_name(), "shop/hook");
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
