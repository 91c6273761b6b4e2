//! Why one delivery attempt failed. Messages name the sink as `namespace/secretName` and
//! never carry the URL or the `Authorization` value, which may be secret.

use std::time::Duration;

use http::StatusCode;

use crate::api::reasons;

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
    /// The Secret does not carry the label `driftwarden.dev/notification-credentials: "true"`,
    /// so nothing is read from it.
    #[error(
        "sink {sink}: Secret {secret} is not labelled {label}: \"true\", so it is not read; label it to use it for notifications",
        label = crate::notification::NOTIFICATION_CREDENTIALS_LABEL
    )]
    SecretNotLabelled {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The Secret's name.
        secret: String,
    },
    /// The URL in the Secret is not an absolute `http` or `https` URL.
    #[error("sink {sink}: key {key} of Secret {secret} is not an absolute http or https URL")]
    InvalidUrl {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The Secret's name.
        secret: String,
        /// The key that holds the URL.
        key: String,
    },
    /// The sink's host resolves only to addresses sinks may not use (loopback, link-local,
    /// private, unique-local and the like) outside `--notification-allowed-cidrs`: no
    /// connection was made.
    #[error("sink {sink}: not connected: {refused}")]
    AddressRefused {
        /// The sink, as `namespace/secretName`.
        sink: String,
        /// The first address refused, and its range.
        refused: crate::notification::AddressRefused,
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
            Self::SecretNotFound { .. } => reasons::SECRET_NOT_FOUND,
            Self::SecretKeyMissing { .. } => reasons::SECRET_KEY_MISSING,
            Self::SecretRead { .. } => "SecretRead",
            Self::SecretNotLabelled { .. } => reasons::SECRET_NOT_LABELLED,
            Self::InvalidUrl { .. } => reasons::INVALID_URL,
            Self::AddressRefused { .. } => reasons::ADDRESS_REFUSED,
            Self::InvalidAuthHeader { .. } => reasons::INVALID_AUTH_HEADER,
            Self::Transport { .. } => "Transport",
            Self::Timeout { .. } => "Timeout",
            Self::Status { .. } => "HttpStatus",
        }
    }

    /// Whether another attempt may succeed: connection problems, timeouts, Secret reads
    /// that failed for a reason other than absence, and 5xx/408/429 responses. A refused
    /// address is not retried: it stays refused until the Secret or the allowed blocks
    /// change.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::SecretRead { .. } | Self::Transport { .. } | Self::Timeout { .. } => true,
            Self::Status { status, .. } => super::retry::verdict(*status) == super::retry::Verdict::Retry,
            Self::SecretNotFound { .. }
            | Self::SecretKeyMissing { .. }
            | Self::SecretNotLabelled { .. }
            | Self::InvalidUrl { .. }
            | Self::AddressRefused { .. }
            | Self::InvalidAuthHeader { .. } => false,
        }
    }

    /// Whether the sink's configuration (its Secret, or where its URL points) is at fault
    /// rather than the sink.
    pub fn is_misconfiguration(&self) -> bool {
        matches!(
            self,
            Self::SecretNotFound { .. }
                | Self::SecretKeyMissing { .. }
                | Self::SecretNotLabelled { .. }
                | Self::InvalidUrl { .. }
                | Self::AddressRefused { .. }
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
        let invalid =
            DeliveryError::InvalidUrl { sink: "shop/hook".to_string(), secret: "hook".into(), key: "url".into() };
        assert!(!invalid.is_retryable() && invalid.is_misconfiguration());
        assert_eq!(invalid.to_string(), "sink shop/hook: key url of Secret hook is not an absolute http or https URL");
    }

    #[test]
    fn refusals_are_misconfigurations_that_are_not_retried() {
        let refused = DeliveryError::AddressRefused {
            sink: "shop/hook".to_string(),
            refused: crate::notification::AddressRefused {
                address: "169.254.169.254".parse().unwrap(),
                range: crate::notification::RestrictedRange::LinkLocal,
            },
        };
        assert!(!refused.is_retryable() && refused.is_misconfiguration());
        assert_eq!(refused.category(), "AddressRefused");
        assert!(refused.to_string().starts_with("sink shop/hook: not connected: 169.254.169.254 is a link-local"));
        let unlabelled = DeliveryError::SecretNotLabelled { sink: "shop/hook".to_string(), secret: "token".into() };
        assert!(!unlabelled.is_retryable() && unlabelled.is_misconfiguration());
        assert_eq!(
            unlabelled.to_string(),
            "sink shop/hook: Secret token is not labelled driftwarden.dev/notification-credentials: \"true\", so it \
             is not read; label it to use it for notifications"
        );
    }
}
