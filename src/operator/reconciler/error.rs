//! Why a request the loop sent for itself failed: a status, Finding or ledger write, or a
//! fresh read of an asset. The API server's answer is kept as the error's source; its text is in
//! the message too, as in kube's own errors, so that a log line reads whole.

/// A failed request of the loop's own. Each is tried again after a backoff.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Writing the status of a policy, a campaign, an exception or a Finding.
    #[error("{source}")]
    StatusWrite {
        #[source]
        source: kube::Error,
    },
    /// Applying the part of a Finding the operator owns.
    #[error("{source}")]
    FindingWrite {
        #[source]
        source: kube::Error,
    },
    /// Reading an asset again to verify its finding.
    #[error("{source}")]
    FreshRead {
        #[source]
        source: kube::Error,
    },
    /// Writing a bucket of the ledger (a ConfigMap in the operator's namespace).
    #[error("{source}")]
    LedgerWrite {
        #[source]
        source: kube::Error,
    },
    /// Asking the API server whether an approver may approve, or reading whether the
    /// approvals admission policy is installed.
    #[error("{source}")]
    AccessReview {
        #[source]
        source: kube::Error,
    },
    /// Writing, reading or deleting the admission objects generated from a policy.
    #[error("{source}")]
    AdmissionWrite {
        #[source]
        source: kube::Error,
    },
    /// The object's namespace does not fit its kind's scope: refused before any request.
    #[error("{0}")]
    Scope(String),
    /// The task sending the request panicked (a bug, caught); it is retried as a failure.
    #[error("the request failed inside driftwarden: {0}")]
    Internal(String),
}

impl RequestError {
    /// A stable PascalCase label for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Self::StatusWrite { .. } => "StatusWriteFailed",
            Self::FindingWrite { .. } => "FindingWriteFailed",
            Self::FreshRead { .. } => "FreshReadFailed",
            Self::LedgerWrite { .. } => "LedgerWriteFailed",
            Self::AccessReview { .. } => "AccessReviewFailed",
            Self::AdmissionWrite { .. } => "AdmissionWriteFailed",
            Self::Scope(_) => "ScopeMismatch",
            Self::Internal(_) => "InternalError",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn conflict() -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure("the object has been modified", "Conflict").with_code(409),
        ))
    }

    #[test]
    fn the_answer_is_kept_and_shown() {
        let error = RequestError::StatusWrite { source: conflict() };
        assert_eq!(error.category(), "StatusWriteFailed");
        assert!(error.to_string().contains("the object has been modified"), "{error}");
        let source = error.source().and_then(|s| s.downcast_ref::<kube::Error>());
        assert!(matches!(source, Some(kube::Error::Api(status)) if status.code == 409), "{source:?}");
    }
}
