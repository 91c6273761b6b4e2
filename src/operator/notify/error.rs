//! Why one delivery attempt failed. Messages name the sink as `namespace/secretName` and
//! never carry the URL or the `Authorization` value, which may be secret.

use std::time::Duration;

use http::StatusCode;

/// A failed delivery attempt.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The Secret that holds the sink's URL or auth header does not exist.
    #[error("sink {sink}: Secret {secret} not found")]
    SecretNotFound {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The missing Secret's name.
        secret: String,
    },
    /// The Secret exists but lacks the key.
    #[error("sink {sink}: Secret {secret} has no key {key}")]
    SecretKeyMissing {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The Secret's name.
        secret: String,
        /// The missing key.
        key: String,
    },
    /// The Secret could not be read (transient or permission).
    #[error("sink {sink}: Secret {secret} could not be read")]
    SecretRead {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The Secret's name.
        secret: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The URL in the Secret is not an absolute `http` or `https` URL.
    #[error("sink {sink}: the URL in the Secret is not an absolute http(s) URL")]
    InvalidUrl {
        /// The sink, as `namespace/secretName`.
        sink: String,
    },
    /// The auth value in the Secret cannot be an HTTP header value.
    #[error("sink {sink}: the Authorization value in the Secret is not a valid header value")]
    InvalidAuthHeader {
        /// The sink, as `namespace/secretName`.
        sink: String,
    },
    /// The request could not be sent or the response not read (connection refused, reset,
    /// TLS failure).
    #[error("sink {sink}: the request failed")]
    Transport {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The client error.
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// No response within the timeout.
    #[error("sink {sink}: no response within {after:?}")]
    Timeout {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The timeout.
        after: Duration,
    },
    /// The sink answered with a non-2xx status.
    #[error("sink {sink}: responded {status}")]
    Status {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The status.
        status: StatusCode,
        /// The delay the sink asked for with `Retry-After`.
        retry_after: Option<Duration>,
    },
}

impl DeliveryError {
    /// A stable PascalCase label for logs, Events and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::SecretNotFound { .. } => "SecretNotFound",
            Self::SecretKeyMissing { .. } => "SecretKeyMissing",
            Self::SecretRead { .. } => "SecretRead",
            Self::InvalidUrl { .. } => "InvalidUrl",
            Self::InvalidAuthHeader { .. } => "InvalidAuthHeader",
            Self::Transport { .. } => "Transport",
            Self::Timeout { .. } => "Timeout",
            Self::Status { .. } => "HttpStatus",
        }
    }

    /// Whether another attempt may succeed: connection problems, timeouts, Secret reads
    /// that failed for a reason other than absence, and 5xx/408/429 responses.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::SecretRead { .. } | Self::Transport { .. } | Self::Timeout { .. } => true,
            Self::Status { status, .. } => super::retry::verdict(*status) == super::retry::Verdict::Retry,
            Self::SecretNotFound { .. }
            | Self::SecretKeyMissing { .. }
            | Self::InvalidUrl { .. }
            | Self::InvalidAuthHeader { .. } => false,
        }
    }

    /// Whether the sink's configuration (its Secret) is at fault rather than the sink.
    pub fn is_misconfiguration(&self) -> bool {
        matches!(
            self,
            Self::SecretNotFound { .. }
                | Self::SecretKeyMissing { .. }
                | Self::InvalidUrl { .. }
                | Self::InvalidAuthHeader { .. }
        )
    }

    /// The delay the sink asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decide_retrying_and_messages_name_only_the_sink() {
        let error = |status| DeliveryError::Status { sink: "shop/hook".to_string(), status, retry_after: None };
        assert!(error(StatusCode::SERVICE_UNAVAILABLE).is_retryable());
        assert!(error(StatusCode::TOO_MANY_REQUESTS).is_retryable());
        assert!(!error(StatusCode::BAD_REQUEST).is_retryable());
        assert_eq!(error(StatusCode::BAD_REQUEST).category(), "HttpStatus");
        assert_eq!(error(StatusCode::BAD_REQUEST).to_string(), "sink shop/hook: responded 400 Bad Request");
        let invalid = DeliveryError::InvalidUrl { sink: "shop/hook".to_string() };
        assert!(!invalid.is_retryable() && invalid.is_misconfiguration());
    }
}
