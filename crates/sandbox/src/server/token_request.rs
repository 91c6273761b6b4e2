//! `POST .../serviceaccounts/{name}/token` (`kubectl create token`): a TokenRequest that
//! mints a bearer token for the ServiceAccount's user, registered with the sandbox's
//! authenticator until it expires.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::auth::{Authenticator, UserInfo};
use crate::error::{ApiError, CauseType, FieldCause};

/// The group of TokenRequest.
const GROUP: &str = "authentication.k8s.io";
/// A token's lifetime when the request names none, as the API server defaults it.
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;
/// The shortest lifetime the API server grants: 10 minutes.
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// The longest lifetime the API server accepts: 2^32 seconds.
pub const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
/// The audience tokens are for when the request names none: the API server's own.
pub const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// The parts of a TokenRequest's spec the sandbox acts on.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    audiences: Option<Vec<String>>,
    expiration_seconds: Option<i64>,
    bound_object_ref: Option<Value>,
}

/// Answers a TokenRequest for ServiceAccount `account` (its stored object) in `namespace`:
/// the request with `spec` defaulted and `status` holding the token. A dry run mints none.
pub fn create(
    auth: &Authenticator,
    namespace: &str,
    account: &Value,
    request: &Value,
    dry_run: bool,
    now: Timestamp,
) -> Result<Value, ApiError> {
    let name = account.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let spec: Spec = match request.get("spec") {
        None | Some(Value::Null) => Spec::default(),
        Some(spec) => serde_json::from_value(spec.clone()).map_err(|e| {
            ApiError::bad_request(format!("unable to decode the TokenRequest spec: {e}")).with_source(e)
        })?,
    };
    let seconds = spec.expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
    validate_expiration(name, seconds)?;
    let audiences = spec.audiences.filter(|a| !a.is_empty()).unwrap_or_else(|| vec![API_AUDIENCE.to_string()]);
    let mut response = json!({
        "kind": "TokenRequest",
        "apiVersion": format!("{GROUP}/v1"),
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": null},
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": spec.bound_object_ref},
        "status": {"token": "", "expirationTimestamp": null},
    });
    if dry_run {
        return Ok(response);
    }
    let expires = now
        .checked_add(SignedDuration::from_secs(seconds))
        .map_err(|e| ApiError::internal(format!("the token's expiry is out of range: {e}")))?;
    let mut user = UserInfo::service_account(namespace, name);
    user.uid = account.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string);
    let identity = auth.register_until(user, expires);
    response["status"] =
        json!({"token": identity.token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()});
    Ok(response)
}

/// The API server's bounds on `spec.expirationSeconds`.
fn validate_expiration(name: &str, seconds: i64) -> Result<(), ApiError> {
    let why = if seconds < MIN_EXPIRATION_SECONDS {
        "may not specify a duration less than 10 minutes"
    } else if seconds > MAX_EXPIRATION_SECONDS {
        "may not specify a duration larger than 2^32 seconds"
    } else {
        return Ok(());
    };
    let cause = FieldCause::new(CauseType::FieldValueInvalid, "spec.expirationSeconds", format!("{seconds}: {why}"));
    Err(ApiError::invalid(GROUP, "TokenRequest", name, vec![cause]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use http::header::AUTHORIZATION;

    use crate::auth::Authenticated;

    fn account() -> Value {
        json!({"metadata": {"name": "builder", "namespace": "team-a", "uid": "u-1"}})
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
        headers
    }

    #[test]
    fn a_token_request_mints_a_token_for_the_service_account_for_an_hour_by_default() {
        let auth = Authenticator::new("root");
        let now = Timestamp::now();
        let request = json!({"spec": {"audiences": null}});
        let answer = create(&auth, "team-a", &account(), &request, false, now).expect("token");
        let in_an_hour = now.checked_add(SignedDuration::from_hours(1)).expect("in range");
        assert_eq!(answer["spec"]["expirationSeconds"], json!(3600));
        assert_eq!(answer["spec"]["audiences"], json!([API_AUDIENCE]));
        assert_eq!(
            answer["status"]["expirationTimestamp"],
            json!(in_an_hour.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        );
        let token = answer["status"]["token"].as_str().expect("token");
        let Ok(Authenticated::User(user)) = auth.authenticate(&bearer(token)) else { panic!("not authenticated") };
        assert_eq!(user.name, "system:serviceaccount:team-a:builder");
        assert_eq!(user.uid.as_deref(), Some("u-1"));
    }

    #[test]
    fn lifetimes_outside_the_api_servers_bounds_are_invalid_and_dry_runs_mint_nothing() {
        let auth = Authenticator::new("root");
        let now = Timestamp::now();
        let short = create(&auth, "team-a", &account(), &json!({"spec": {"expirationSeconds": 599}}), false, now)
            .expect_err("too short");
        assert_eq!(short.code(), 422);
        assert_eq!(
            short.message,
            "TokenRequest.authentication.k8s.io \"builder\" is invalid: spec.expirationSeconds: Invalid value: 599: \
             may not specify a duration less than 10 minutes"
        );
        let long = json!({"spec": {"expirationSeconds": MAX_EXPIRATION_SECONDS + 1}});
        assert!(create(&auth, "team-a", &account(), &long, false, now).is_err_and(|e| e.message.contains("2^32")));
        let dry = create(&auth, "team-a", &account(), &json!({"spec": {"expirationSeconds": 600}}), true, now)
            .expect("dry run");
        assert_eq!(dry["status"]["token"], json!(""));
    }

    #[test]
    fn expired_tokens_are_unauthorized() {
        let auth = Authenticator::new("root");
        let long_ago: Timestamp = "2020-01-01T00:00:00Z".parse().expect("time");
        let answer = create(&auth, "team-a", &account(), &json!({}), false, long_ago).expect("token");
        let token = answer["status"]["token"].as_str().expect("token");
        assert_eq!(auth.authenticate(&bearer(token)).expect_err("expired").code(), 401);
    }
}
