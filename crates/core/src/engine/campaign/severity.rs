//! How severe a finding is, from the remediation class of its drift: what fixing it
//! touches. PolicyReports show the same severities.

use crate::api::RemediationClass;
use crate::api::finding::Severity;

/// How severe a policy drift is, by what fixing it touches: privilege-bearing fields are
/// critical (the ticket path), Secret data high, workload restarts and recreations medium,
/// spec and metadata low.
pub fn drift_severity(class: RemediationClass) -> Severity {
    match class {
        RemediationClass::Access => Severity::Critical,
        RemediationClass::SecretData => Severity::High,
        RemediationClass::Rollout | RemediationClass::Recreate | RemediationClass::Create => Severity::Medium,
        RemediationClass::Spec | RemediationClass::Metadata => Severity::Low,
    }
}

/// A finding's severity after a drift of `class` is seen: it only rises while the finding
/// is open (`Severity` sorts the most severe first).
pub fn raised(current: Severity, class: RemediationClass) -> Severity {
    current.min(drift_severity(class))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_what_the_fix_touches() {
        assert_eq!(drift_severity(RemediationClass::Access), Severity::Critical);
        assert_eq!(drift_severity(RemediationClass::SecretData), Severity::High);
        assert_eq!(drift_severity(RemediationClass::Rollout), Severity::Medium);
        assert_eq!(drift_severity(RemediationClass::Metadata), Severity::Low);
        assert_eq!(raised(Severity::Low, RemediationClass::Access), Severity::Critical, "a riskier drift raises it");
        assert_eq!(raised(Severity::High, RemediationClass::Metadata), Severity::High, "never lowered");
    }
}
