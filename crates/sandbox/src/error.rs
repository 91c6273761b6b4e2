//! API errors in the shape the Kubernetes API returns them: a `Status` object with an HTTP
//! code, a machine-readable reason and, where it helps, details naming the object and the
//! fields at fault.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

use super::resources::GroupResource;
pub use driftwarden_core::openapi::{CauseType, FieldCause};

/// The machine-readable `reason` of a failed request, each with its HTTP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// 400: the request itself is malformed (bad selector, undecodable body, mismatched names).
    BadRequest,
    /// 401: the request carries no credentials, or unknown ones.
    Unauthorized,
    /// 403: the request is understood but refused (for example, a namespace is terminating).
    Forbidden,
    /// 404: the object or the resource type does not exist.
    NotFound,
    /// 405: the verb is not supported on this path.
    MethodNotAllowed,
    /// 406: none of the accepted media types can be produced.
    NotAcceptable,
    /// 409: an object with this name already exists.
    AlreadyExists,
    /// 409: the write was based on a stale resourceVersion or failed a precondition.
    Conflict,
    /// 410: the requested resourceVersion is older than the retained history.
    Expired,
    /// 413: the request is too large (also an admission policy's `RequestEntityTooLarge`).
    RequestEntityTooLarge,
    /// 415: the request body's media type is not supported for this verb.
    UnsupportedMediaType,
    /// 422: the object fails validation.
    Invalid,
    /// 429: the client must slow down and retry after the given delay.
    TooManyRequests,
    /// 500: the server failed to do what it should have been able to do.
    InternalError,
    /// 503: the server cannot serve the request right now.
    ServiceUnavailable,
    /// 504: the request did not complete in time.
    Timeout,
}

impl Reason {
    /// The HTTP status code that goes with this reason.
    pub fn code(self) -> u16 {
        match self {
            Reason::BadRequest => 400,
            Reason::Unauthorized => 401,
            Reason::Forbidden => 403,
            Reason::NotFound => 404,
            Reason::MethodNotAllowed => 405,
            Reason::NotAcceptable => 406,
            Reason::AlreadyExists | Reason::Conflict => 409,
            Reason::Expired => 410,
            Reason::RequestEntityTooLarge => 413,
            Reason::UnsupportedMediaType => 415,
            Reason::Invalid => 422,
            Reason::TooManyRequests => 429,
            Reason::InternalError => 500,
            Reason::ServiceUnavailable => 503,
            Reason::Timeout => 504,
        }
    }

    /// The reason as Kubernetes spells it in `Status.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadRequest => "BadRequest",
            Reason::Unauthorized => "Unauthorized",
            Reason::Forbidden => "Forbidden",
            Reason::NotFound => "NotFound",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::NotAcceptable => "NotAcceptable",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Expired => "Expired",
            Reason::RequestEntityTooLarge => "RequestEntityTooLarge",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::Invalid => "Invalid",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::InternalError => "InternalError",
            Reason::ServiceUnavailable => "ServiceUnavailable",
            Reason::Timeout => "Timeout",
        }
    }

    /// Every reason, for looking one up by its code.
    pub const ALL: [Reason; 16] = [
        Reason::BadRequest,
        Reason::Unauthorized,
        Reason::Forbidden,
        Reason::NotFound,
        Reason::MethodNotAllowed,
        Reason::NotAcceptable,
        Reason::Conflict,
        Reason::AlreadyExists,
        Reason::Expired,
        Reason::RequestEntityTooLarge,
        Reason::UnsupportedMediaType,
        Reason::Invalid,
        Reason::TooManyRequests,
        Reason::InternalError,
        Reason::ServiceUnavailable,
        Reason::Timeout,
    ];

    /// The reason the apiserver gives with an HTTP code (409 is `Conflict`), if the
    /// sandbox knows one.
    pub fn from_code(code: u16) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What an error is about: the object's name, its group, its kind (or resource) and the
/// fields at fault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// The object's name, when the error is about one object.
    pub name: String,
    /// The API group of the resource.
    pub group: String,
    /// The resource (for NotFound, AlreadyExists, Conflict) or kind (for Invalid).
    pub kind: String,
    /// The fields at fault.
    pub causes: Vec<FieldCause>,
    /// How long the client should wait before retrying (429, 503).
    pub retry_after_seconds: Option<u32>,
}

/// A failed API request, carrying everything needed to answer it with a `Status`.
#[derive(Debug, thiserror::Error)]
#[error("{reason:?}: {message}")]
pub struct ApiError {
    /// The machine-readable reason, which fixes the HTTP code.
    pub reason: Reason,
    /// The human-readable message.
    pub message: String,
    /// The object and fields the error is about.
    pub details: Option<Box<ErrorDetails>>,
    /// The underlying error, when one caused this.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error with a reason and a message and nothing else.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        ApiError { reason, message: message.into(), details: None, source: None }
    }

    /// Attaches the error that caused this one.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    fn about(reason: Reason, resource: &GroupResource, name: &str, message: String) -> Self {
        ApiError {
            reason,
            message,
            details: Some(Box::new(ErrorDetails {
                name: name.to_string(),
                group: resource.group.clone(),
                kind: resource.resource.clone(),
                causes: Vec::new(),
                retry_after_seconds: None,
            })),
            source: None,
        }
    }

    /// `404 NotFound` for one object: `configmaps "x" not found`.
    pub fn not_found(resource: &GroupResource, name: &str) -> Self {
        Self::about(Reason::NotFound, resource, name, format!("{resource} \"{name}\" not found"))
    }

    /// `404 NotFound` for a path that names no served resource type.
    pub fn resource_not_served(path: &str) -> Self {
        ApiError::new(Reason::NotFound, format!("the server could not find the requested resource ({path})"))
    }

    /// `409 AlreadyExists`: `configmaps "x" already exists`.
    pub fn already_exists(resource: &GroupResource, name: &str) -> Self {
        Self::about(Reason::AlreadyExists, resource, name, format!("{resource} \"{name}\" already exists"))
    }

    /// `409 Conflict` for a write that lost a race or failed a precondition.
    pub fn conflict(resource: &GroupResource, name: &str, why: &str) -> Self {
        Self::about(
            Reason::Conflict,
            resource,
            name,
            format!("Operation cannot be fulfilled on {resource} \"{name}\": {why}"),
        )
    }

    /// `409 Conflict` for an update whose resourceVersion is not the stored one.
    pub fn stale(resource: &GroupResource, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// `409 Conflict` for a server-side apply that would change fields other managers own:
    /// no object details, one `FieldManagerConflict` cause per field.
    pub fn apply_conflict(message: impl Into<String>, causes: Vec<FieldCause>) -> Self {
        ApiError {
            reason: Reason::Conflict,
            message: message.into(),
            details: Some(Box::new(ErrorDetails { causes, ..ErrorDetails::default() })),
            source: None,
        }
    }

    /// `410 Expired`: the requested resourceVersion is no longer in the retained history.
    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(Reason::Expired, message)
    }

    /// `400 BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(Reason::BadRequest, message)
    }

    /// `403 Forbidden` about one object.
    pub fn forbidden(resource: &GroupResource, name: &str, why: &str) -> Self {
        Self::about(Reason::Forbidden, resource, name, format!("{resource} \"{name}\" is forbidden: {why}"))
    }

    /// `401 Unauthorized`: no credentials, or credentials the server does not know.
    pub fn unauthorized() -> Self {
        ApiError::new(Reason::Unauthorized, "Unauthorized")
    }

    /// The same error, telling the client to retry after `seconds`.
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        let details = self.details.get_or_insert_with(Default::default);
        details.retry_after_seconds = Some(seconds);
        self
    }

    /// How long the client should wait before retrying, if the error says.
    pub fn retry_after(&self) -> Option<u32> {
        self.details.as_ref().and_then(|d| d.retry_after_seconds)
    }

    /// `405 MethodNotAllowed`.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(Reason::MethodNotAllowed, message)
    }

    /// `422 Invalid`: `ConfigMap "x" is invalid: metadata.name: Invalid value: ...`, the
    /// kind qualified by its group outside the core group (`Deployment.apps "x"`), and
    /// several causes listed in brackets, as the apiserver writes it.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<FieldCause>) -> Self {
        let listed: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.full_message())).collect();
        let summary = if listed.len() == 1 { listed[0].clone() } else { format!("[{}]", listed.join(", ")) };
        let qualified = if group.is_empty() { kind.to_string() } else { format!("{kind}.{group}") };
        ApiError {
            reason: Reason::Invalid,
            message: format!("{qualified} \"{name}\" is invalid: {summary}"),
            details: Some(Box::new(ErrorDetails {
                name: name.to_string(),
                group: group.to_string(),
                kind: kind.to_string(),
                causes,
                retry_after_seconds: None,
            })),
            source: None,
        }
    }

    /// `500 InternalError`.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(Reason::InternalError, message)
    }

    /// The HTTP status code of this error.
    pub fn code(&self) -> u16 {
        self.reason.code()
    }

    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        self.reason.as_str()
    }

    /// The `Status` object that answers the request.
    pub fn to_status(&self) -> Status {
        Status {
            code: Some(i32::from(self.code())),
            message: Some(self.message.clone()),
            reason: Some(self.reason.as_str().to_string()),
            status: Some("Failure".to_string()),
            details: self.details.as_ref().map(|d| StatusDetails {
                name: Some(d.name.clone()).filter(|n| !n.is_empty()),
                group: Some(d.group.clone()).filter(|g| !g.is_empty()),
                kind: Some(d.kind.clone()).filter(|k| !k.is_empty()),
                causes: (!d.causes.is_empty()).then(|| {
                    d.causes
                        .iter()
                        .map(|c| StatusCause {
                            field: Some(c.field.clone()).filter(|f| !f.is_empty()),
                            message: Some(c.full_message()),
                            reason: Some(c.kind.as_str().to_string()).filter(|r| !r.is_empty()),
                        })
                        .collect()
                }),
                retry_after_seconds: d.retry_after_seconds.and_then(|s| i32::try_from(s).ok()),
                uid: None,
            }),
            metadata: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_the_grouped_resource_like_the_apiserver() {
        let err = ApiError::not_found(&GroupResource::new("apps", "deployments"), "web");
        let status = err.to_status();
        assert_eq!(status.code, Some(404));
        assert_eq!(status.message.as_deref(), Some("deployments.apps \"web\" not found"));
        let details = status.details.expect("details");
        assert_eq!(details.kind.as_deref(), Some("deployments"));
        assert_eq!(details.group.as_deref(), Some("apps"));
    }

    #[test]
    fn invalid_lists_every_cause() {
        let err = ApiError::invalid(
            "",
            "ConfigMap",
            "Bad",
            vec![FieldCause::new(CauseType::FieldValueInvalid, "metadata.name", "\"Bad\": must be lowercase")],
        );
        assert_eq!(err.code(), 422);
        assert_eq!(
            err.message,
            "ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\": must be lowercase"
        );
        let causes = err.to_status().details.and_then(|d| d.causes).expect("causes");
        assert_eq!(causes[0].reason.as_deref(), Some("FieldValueInvalid"));
    }
}
