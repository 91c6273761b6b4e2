//! The harness's HTTP controls, for tests that drive the sandbox from outside the process
//! (kubectl scripts, other languages). They live under `/_driftwarden/`, outside the
//! Kubernetes API, and only the admin token may use them:
//!
//! - `POST /_driftwarden/faults` with a [`FaultSpec`] injects a fault;
//!   `DELETE /_driftwarden/faults` removes every fault.
//! - `POST /_driftwarden/watches/drop` ends every open watch.
//! - `POST /_driftwarden/compact` forgets history (older resourceVersions get 410).

use std::time::Duration;

use http::{Method, Response, StatusCode};
use serde_json::json;

use super::handler::Context;
use super::response::{self, Body};
use crate::error::ApiError;
use crate::faults::{Effect, Fault, RequestMatch};

/// The path prefix of the controls.
pub const PREFIX: &str = "/_driftwarden/";

/// A fault as JSON: which requests (`verb`, `group`, `resource`, `namespace`, `name`; all
/// optional) and either `code` (with optional `retryAfterSeconds`) or `delayMillis`, for
/// the next `times` requests (unlimited when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// The request verb.
    pub verb: Option<String>,
    /// The API group.
    pub group: Option<String>,
    /// The resource, `resource/subresource` for a subresource.
    pub resource: Option<String>,
    /// The namespace.
    pub namespace: Option<String>,
    /// The object name.
    pub name: Option<String>,
    /// Fail with this HTTP code.
    pub code: Option<u16>,
    /// With `code`: the `Retry-After` seconds.
    pub retry_after_seconds: Option<u32>,
    /// Delay matching requests by this many milliseconds.
    pub delay_millis: Option<u64>,
    /// How many matching requests; unlimited when absent.
    pub times: Option<usize>,
}

impl FaultSpec {
    /// The fault this describes.
    pub fn to_fault(&self) -> Result<Fault, ApiError> {
        let mut matcher = RequestMatch::any();
        let parts = [&self.verb, &self.group, &self.resource, &self.namespace, &self.name];
        let setters: [fn(RequestMatch, &str) -> RequestMatch; 5] = [
            RequestMatch::verb,
            RequestMatch::group,
            RequestMatch::resource,
            RequestMatch::namespace,
            RequestMatch::name,
        ];
        for (value, set) in parts.into_iter().zip(setters) {
            if let Some(value) = value {
                matcher = set(matcher, value);
            }
        }
        let effect = match (self.code, self.delay_millis) {
            (Some(code), None) => Effect::Fail { code, retry_after: self.retry_after_seconds },
            (None, Some(ms)) => Effect::Delay(Duration::from_millis(ms)),
            _ => return Err(ApiError::bad_request("a fault needs exactly one of code and delayMillis")),
        };
        Ok(Fault { matcher, effect, remaining: self.times })
    }
}

/// Answers a request under [`PREFIX`]; the caller has checked the admin token.
pub fn handle(context: &Context, method: &Method, path: &str, body: &[u8]) -> Result<Response<Body>, ApiError> {
    let faults = &context.faults;
    match (method, path.strip_prefix(PREFIX).unwrap_or_default()) {
        (&Method::POST, "faults") => {
            let spec: FaultSpec = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid fault: {e}")).with_source(e))?;
            faults.inject(spec.to_fault()?).map_err(|e| ApiError::bad_request(e.to_string()).with_source(e))?;
            Ok(response::json(StatusCode::CREATED, &json!({"pending": faults.pending()})))
        }
        (&Method::DELETE, "faults") => {
            faults.clear();
            Ok(response::json(StatusCode::OK, &json!({"pending": 0})))
        }
        (&Method::POST, "watches/drop") => {
            faults.drop_watches();
            Ok(response::json(StatusCode::OK, &json!({})))
        }
        (&Method::POST, "compact") => {
            context.store.compact();
            Ok(response::json(StatusCode::OK, &json!({"compactedThrough": context.store.resource_version()})))
        }
        _ => Err(ApiError::resource_not_served(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_needs_one_effect() {
        let spec: FaultSpec =
            serde_json::from_value(json!({"verb": "create", "resource": "configmaps", "code": 503, "times": 2}))
                .expect("spec");
        let fault = spec.to_fault().expect("valid");
        assert_eq!(fault.remaining, Some(2));
        assert_eq!(fault.effect, Effect::Fail { code: 503, retry_after: None });
        assert!(FaultSpec::default().to_fault().is_err());
        assert!(serde_json::from_value::<FaultSpec>(json!({"cod": 1})).is_err(), "typos are refused");
    }
}
