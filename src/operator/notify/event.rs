//! The notification itself and its CloudEvents 1.0 HTTP encoding (binary and structured
//! content modes). Pure: no client, no Secret.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use serde::Serialize;

use crate::api::policy::CloudEventsMode;
pub use crate::notification::NotificationType;

/// The CloudEvents version driftwarden emits.
pub const SPEC_VERSION: &str = "1.0";

/// The content type of a structured-mode request.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";

/// One notification: a CloudEvent before it is encoded for a sink.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The CloudEvents `id`: stable for one occurrence (the same drift seen twice gives the
    /// same id), so it is also the key that keeps a sink from receiving it twice.
    pub id: String,
    /// What happened.
    pub kind: NotificationType,
    /// The CloudEvents `source`: the resource that produced it, such as
    /// `/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web`.
    pub source: String,
    /// The CloudEvents `subject`: what it is about within the source, such as the drifted
    /// object.
    pub subject: Option<String>,
    /// When it happened.
    pub time: jiff::Timestamp,
    /// The event's data (JSON). Must never hold a Secret value.
    pub data: serde_json::Value,
}

/// The structured-mode JSON form of an event.
#[derive(Serialize)]
struct StructuredEvent<'a> {
    specversion: &'static str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    time: String,
    datacontenttype: &'static str,
    data: &'a serde_json::Value,
}

impl Notification {
    /// The event as the JSON object a structured-mode request carries.
    pub fn to_structured_json(&self) -> serde_json::Value {
        serde_json::to_value(self.structured()).unwrap_or(serde_json::Value::Null)
    }

    fn structured(&self) -> StructuredEvent<'_> {
        StructuredEvent {
            specversion: SPEC_VERSION,
            id: &self.id,
            source: &self.source,
            kind: self.kind.event_type(),
            subject: self.subject.as_deref(),
            time: self.time.to_string(),
            datacontenttype: "application/json",
            data: &self.data,
        }
    }

    /// Builds the POST request that delivers this event to `url` in `mode`, with
    /// `authorization` as the `Authorization` header when given.
    pub fn to_request(
        &self,
        url: &Uri,
        authorization: Option<&HeaderValue>,
        mode: CloudEventsMode,
    ) -> Request<Full<Bytes>> {
        let mut builder = Request::builder().method(Method::POST).uri(url.clone());
        if let Some(value) = authorization {
            let mut value = value.clone();
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        let body = match mode {
            CloudEventsMode::Binary => {
                builder = builder
                    .header(CONTENT_TYPE, "application/json")
                    .header("ce-specversion", SPEC_VERSION)
                    .header("ce-id", header_value(&self.id))
                    .header("ce-type", self.kind.event_type())
                    .header("ce-source", header_value(&self.source))
                    .header("ce-time", header_value(&self.time.to_string()));
                if let Some(subject) = &self.subject {
                    builder = builder.header("ce-subject", header_value(subject));
                }
                serde_json::to_vec(&self.data)
            }
            CloudEventsMode::Structured => {
                builder = builder.header(CONTENT_TYPE, STRUCTURED_CONTENT_TYPE);
                serde_json::to_vec(&self.structured())
            }
        };
        // Serializing a `Value` (or a struct of strings and a `Value`) cannot fail.
        let body = body.unwrap_or_default();
        // Every header value above is valid by construction (percent-encoded or static), so
        // the builder cannot fail; fall back to a bare request rather than panic.
        builder.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
    }
}

/// Percent-encodes what an HTTP header cannot carry, as the CloudEvents HTTP binding asks:
/// everything outside printable ASCII, plus `%` and `"`.
pub fn header_value(value: &str) -> HeaderValue {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' && byte != b'"' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {

    use http_body_util::BodyExt;
    use serde_json::json;

    use super::*;

    fn notification() -> Notification {
        Notification {
            id: "web-7f3a".to_string(),
            kind: NotificationType::DriftRemediated,
            source: "/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web".to_string(),
            subject: Some("apps/v1/Deployment/shop/frontend".to_string()),
            time: "2026-03-01T10:42:00Z".parse().unwrap(),
            data: json!({"paths": ["/metadata/labels/tier"], "class": "Metadata"}),
        }
    }

    async fn body(request: Request<Full<Bytes>>) -> serde_json::Value {
        let bytes = request.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn binary_mode_puts_attributes_in_headers_and_data_in_the_body() {
        let url: Uri = "http://sink.example:8080/events".parse().unwrap();
        let auth = HeaderValue::from_static("Bearer s3cr3t");
        let request = notification().to_request(&url, Some(&auth), CloudEventsMode::Binary);
        let headers = request.headers();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(headers["ce-specversion"], "1.0");
        assert_eq!(headers["ce-id"], "web-7f3a");
        assert_eq!(headers["ce-type"], "dev.driftwarden.drift.remediated");
        assert_eq!(headers["ce-source"], "/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web");
        assert_eq!(headers["ce-subject"], "apps/v1/Deployment/shop/frontend");
        assert_eq!(headers["ce-time"], "2026-03-01T10:42:00Z");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(body(request).await, notification().data);
    }

    #[tokio::test]
    async fn structured_mode_sends_the_whole_event_as_json() {
        let url: Uri = "http://sink.example/events".parse().unwrap();
        let mut event = notification();
        event.subject = None;
        let request = event.to_request(&url, None, CloudEventsMode::Structured);
        assert_eq!(request.headers()[CONTENT_TYPE], STRUCTURED_CONTENT_TYPE);
        assert!(request.headers().get("ce-id").is_none());
        assert!(request.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            body(request).await,
            json!({
                "specversion": "1.0",
                "id": "web-7f3a",
                "source": "/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web",
                "type": "dev.driftwarden.drift.remediated",
                "time": "2026-03-01T10:42:00Z",
                "datacontenttype": "application/json",
                "data": {"paths": ["/metadata/labels/tier"], "class": "Metadata"},
            })
        );
    }

    #[test]
    fn header_values_percent_encode_what_http_cannot_carry() {
        assert_eq!(header_value("plain/value-1"), "plain/value-1");
        assert_eq!(header_value("caf\u{e9} 100%\""), "caf%C3%A9 100%25%22");
        assert_eq!(header_value("line\nbreak"), "line%0Abreak");
    }
}
