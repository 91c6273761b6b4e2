//! How a replica takes part in sharding, and what can go wrong.

use std::time::Duration;

use crate::operator::leader::default_identity;

/// The most shards a set may have.
pub const MAX_SHARDS: u32 = 1024;

/// The shard Lease duration used in production: a dead replica's shards are free again
/// 10 s after its last renewal.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(10);

/// How often a replica renews its Leases in production (five tries per term).
pub const DEFAULT_RENEW_PERIOD: Duration = Duration::from_secs(2);

/// How long before its Lease could expire a replica stops acting on a shard, in
/// production: it acts at most 7 s after the start of its last successful renewal.
pub const DEFAULT_SAFETY_MARGIN: Duration = Duration::from_secs(3);

/// How long a shard given up when rebalancing stays out of the acting set before its
/// Lease is released, in production.
pub const DEFAULT_HANDOFF_DELAY: Duration = Duration::from_secs(2);

/// The shortest Lease duration allowed.
const MIN_LEASE_DURATION: Duration = Duration::from_secs(2);
/// The longest Lease duration allowed.
const MAX_LEASE_DURATION: Duration = Duration::from_secs(300);
/// The shortest renew period allowed (it also sets the retry pace after errors).
const MIN_RENEW_PERIOD: Duration = Duration::from_millis(100);
/// The shortest safety margin allowed.
const MIN_SAFETY_MARGIN: Duration = Duration::from_millis(500);
/// The longest base name: `<base>-shard-1023` and `<base>-member-` must stay short, and
/// the base is a label value.
const MAX_BASE_NAME: usize = 40;
/// The longest object name.
const MAX_NAME: usize = 253;

/// How one replica takes part in a shard set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSettings {
    /// The namespace of the Leases (the operator's own).
    pub namespace: String,
    /// The Leases' common prefix: shard `i` is held through `<base>-shard-<i>`, and each
    /// replica keeps `<base>-member-<identity>`. A DNS label of at most 40 characters.
    pub base_name: String,
    /// This replica's identity, unique among replicas and a valid part of an object name
    /// (lowercase letters, digits, `-` and `.`), as [`default_identity`] gives on
    /// Kubernetes.
    pub identity: String,
    /// How many shards the governed objects are divided into, from 1 to [`MAX_SHARDS`]. Every
    /// replica must use the same number: a replica pauses while it sees a live replica that
    /// uses another.
    pub shards: u32,
    /// How long a Lease holds without renewal: whole seconds from 2 to 300.
    pub lease_duration: Duration,
    /// How often Leases are renewed: at least 100 ms, and short enough that a renewal is
    /// tried before `lease_duration - safety_margin` runs out.
    pub renew_period: Duration,
    /// How long before its Lease could expire a replica stops acting on a shard: at least
    /// 500 ms and at most half the Lease duration. It covers clock rate differences
    /// between nodes and actions still under way when acting stops.
    pub safety_margin: Duration,
    /// How long a shard given up when rebalancing stays out of the acting set before its
    /// Lease is released, so that actions started on it end first. At most the safety
    /// margin. [`step_down`](super::ShardManager::step_down) does not wait: call it once
    /// the work has stopped.
    pub handoff_delay: Duration,
}

impl ShardSettings {
    /// Production settings for `shards` shards of Leases named after `base_name` in
    /// `namespace`: [`default_identity`], a 10 s Lease renewed every 2 s, acting for at most
    /// 7 s after a renewal, and a 2 s handoff.
    pub fn new(namespace: impl Into<String>, base_name: impl Into<String>, shards: u32) -> Self {
        ShardSettings {
            namespace: namespace.into(),
            base_name: base_name.into(),
            identity: default_identity(),
            shards,
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_period: DEFAULT_RENEW_PERIOD,
            safety_margin: DEFAULT_SAFETY_MARGIN,
            handoff_delay: DEFAULT_HANDOFF_DELAY,
        }
    }

    /// The longest a shard stays unheld after its holder dies, while another replica
    /// lives and reaches the API server: the Lease runs out, then a replica takes it at
    /// once, or within one renew period when it already holds its fair share.
    pub fn failover_bound(&self) -> Duration {
        self.lease_duration + self.renew_period
    }

    /// The name of shard `shard`'s Lease.
    pub fn shard_lease(&self, shard: u32) -> String {
        format!("{}-shard-{shard}", self.base_name)
    }

    /// The name of the membership Lease of the replica `identity`.
    pub fn member_lease(&self, identity: &str) -> String {
        format!("{}-member-{identity}", self.base_name)
    }

    /// Checks every setting, saying which is wrong and why.
    pub fn validate(&self) -> Result<(), ShardError> {
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            return Err(ShardError::InvalidShardCount { shards: self.shards });
        }
        check_label("namespace", &self.namespace, 63, "it must have 1 to 63 characters")?;
        check_label("base name", &self.base_name, MAX_BASE_NAME, "it must have 1 to 40 characters")?;
        check_name_part("identity", &self.identity)?;
        let member = self.member_lease(&self.identity);
        if member.len() > MAX_NAME {
            return Err(ShardError::InvalidName {
                what: "identity",
                value: self.identity.clone(),
                reason: "the membership Lease name `<base>-member-<identity>` would be longer than 253 characters",
            });
        }
        self.check_timing()
    }

    fn check_timing(&self) -> Result<(), ShardError> {
        let invalid = |reason| ShardError::InvalidTiming {
            reason,
            lease_duration: self.lease_duration,
            renew_period: self.renew_period,
            safety_margin: self.safety_margin,
            handoff_delay: self.handoff_delay,
        };
        let duration = self.lease_duration;
        if duration.subsec_nanos() != 0 || !(MIN_LEASE_DURATION..=MAX_LEASE_DURATION).contains(&duration) {
            return Err(invalid("the lease duration must be whole seconds from 2 s to 300 s"));
        }
        if self.safety_margin < MIN_SAFETY_MARGIN || self.safety_margin > duration / 2 {
            return Err(invalid("the safety margin must be at least 500 ms and at most half the lease duration"));
        }
        if self.renew_period < MIN_RENEW_PERIOD || self.renew_period >= duration - self.safety_margin {
            return Err(invalid(
                "the renew period must be at least 100 ms and shorter than the lease duration less the safety margin",
            ));
        }
        if self.handoff_delay > self.safety_margin {
            return Err(invalid("the handoff delay must not be longer than the safety margin"));
        }
        Ok(())
    }
}

/// Whether `value` is a DNS label (lowercase letters, digits and `-`, starting and ending
/// with a letter or digit) of at most `max` characters; `length` says so.
fn check_label(what: &'static str, value: &str, max: usize, length: &'static str) -> Result<(), ShardError> {
    let invalid = |reason| ShardError::InvalidName { what, value: value.to_string(), reason };
    if value.is_empty() || value.len() > max {
        return Err(invalid(length));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if !value.chars().all(allowed) || value.starts_with('-') || value.ends_with('-') {
        return Err(invalid(
            "it must be lowercase letters, digits and '-', starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// Whether `value` can end an object name: lowercase letters, digits, `-` and `.`, ending
/// with a letter or digit.
fn check_name_part(what: &'static str, value: &str) -> Result<(), ShardError> {
    let invalid = |reason| ShardError::InvalidName { what, value: value.to_string(), reason };
    if value.is_empty() {
        return Err(invalid("it must not be empty"));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let ends_well = value.chars().last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !value.chars().all(allowed) || !ends_well {
        return Err(invalid("it must be lowercase letters, digits, '-' and '.', ending with a letter or digit"));
    }
    Ok(())
}

/// Sharding could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The shard count is out of range.
    #[error("invalid shard count {shards}: it must be from 1 to {MAX_SHARDS}")]
    InvalidShardCount {
        /// The configured count.
        shards: u32,
    },
    /// The durations do not fit together.
    #[error(
        "invalid shard lease timing: {reason} (lease duration {lease_duration:?}, renew period {renew_period:?}, \
         safety margin {safety_margin:?}, handoff delay {handoff_delay:?})"
    )]
    InvalidTiming {
        /// What is wrong.
        reason: &'static str,
        /// The configured Lease duration.
        lease_duration: Duration,
        /// The configured renew period.
        renew_period: Duration,
        /// The configured safety margin.
        safety_margin: Duration,
        /// The configured handoff delay.
        handoff_delay: Duration,
    },
    /// The namespace, base name or identity cannot name the Leases.
    #[error("invalid shard {what} {value:?}: {reason}")]
    InvalidName {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A request about the Leases failed.
    #[error("could not {action} the shard Leases in namespace {namespace}")]
    Api {
        /// What was being done (`list`, `release`, ...).
        action: &'static str,
        /// The Leases' namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The manager's task ended abnormally.
    #[error("the shard manager task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl ShardError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidShardCount { .. } => "InvalidShardCount",
            Self::InvalidTiming { .. } => "InvalidTiming",
            Self::InvalidName { .. } => "InvalidName",
            Self::Api { .. } => "Api",
            Self::Task(_) => "Task",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ShardSettings {
        ShardSettings {
            identity: "pod-a-x1y2z3".to_string(),
            ..ShardSettings::new("driftwarden-system", "driftwarden", 4)
        }
    }

    fn category(settings: ShardSettings) -> Result<(), &'static str> {
        settings.validate().map_err(|error| error.category())
    }

    #[test]
    fn production_settings_fail_over_within_fifteen_seconds() {
        let defaults = ShardSettings::new("driftwarden-system", "driftwarden", 8);
        assert_eq!(category(defaults.clone()), Ok(()));
        assert!(defaults.failover_bound() <= Duration::from_secs(15), "{:?}", defaults.failover_bound());
        assert_eq!(defaults.shard_lease(3), "driftwarden-shard-3");
        assert_eq!(defaults.member_lease("pod-a"), "driftwarden-member-pod-a");
    }

    #[test]
    fn shard_counts_are_bounded() {
        assert_eq!(category(ShardSettings { shards: 1, ..settings() }), Ok(()));
        assert_eq!(category(ShardSettings { shards: 1024, ..settings() }), Ok(()));
        assert_eq!(category(ShardSettings { shards: 0, ..settings() }), Err("InvalidShardCount"));
        let error = ShardSettings { shards: 1025, ..settings() }.validate().unwrap_err();
        assert_eq!(error.to_string(), "invalid shard count 1025: it must be from 1 to 1024");
    }

    #[test]
    fn timings_must_fit_together() {
        let secs = Duration::from_secs;
        let millis = Duration::from_millis;
        let timed = |lease_duration, renew_period, safety_margin, handoff_delay| {
            category(ShardSettings { lease_duration, renew_period, safety_margin, handoff_delay, ..settings() })
        };
        assert_eq!(timed(secs(2), millis(500), secs(1), millis(500)), Ok(()));
        assert_eq!(timed(secs(3), millis(500), secs(1), Duration::ZERO), Ok(()));
        assert_eq!(timed(millis(2500), millis(500), secs(1), Duration::ZERO), Err("InvalidTiming"));
        assert_eq!(timed(secs(1), millis(200), millis(500), Duration::ZERO), Err("InvalidTiming"));
        assert_eq!(timed(secs(301), secs(2), secs(3), Duration::ZERO), Err("InvalidTiming"));
        assert_eq!(timed(secs(10), secs(2), secs(6), Duration::ZERO), Err("InvalidTiming"), "margin over half");
        assert_eq!(timed(secs(10), secs(2), millis(100), Duration::ZERO), Err("InvalidTiming"), "margin too short");
        assert_eq!(timed(secs(10), secs(7), secs(3), Duration::ZERO), Err("InvalidTiming"), "no renewal in time");
        assert_eq!(timed(secs(10), millis(50), secs(3), Duration::ZERO), Err("InvalidTiming"));
        assert_eq!(timed(secs(10), secs(2), secs(3), secs(4)), Err("InvalidTiming"), "handoff over the margin");
        let error = ShardSettings { renew_period: secs(8), ..settings() }.validate().unwrap_err();
        assert!(error.to_string().contains("the renew period must be"), "{error}");
    }

    #[test]
    fn names_must_make_valid_lease_names() {
        assert_eq!(category(ShardSettings { namespace: String::new(), ..settings() }), Err("InvalidName"));
        assert_eq!(category(ShardSettings { base_name: "Driftwarden".into(), ..settings() }), Err("InvalidName"));
        assert_eq!(category(ShardSettings { base_name: "a".repeat(41), ..settings() }), Err("InvalidName"));
        assert_eq!(category(ShardSettings { identity: "pod_a".into(), ..settings() }), Err("InvalidName"));
        assert_eq!(category(ShardSettings { identity: "pod-a.".into(), ..settings() }), Err("InvalidName"));
        assert_eq!(category(ShardSettings { identity: "x".repeat(240), ..settings() }), Err("InvalidName"));
        assert_eq!(category(ShardSettings { identity: "pod-a.node-1".into(), ..settings() }), Ok(()));
        let error = ShardSettings { identity: "Pod".into(), ..settings() }.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid shard identity \"Pod\": it must be lowercase letters, digits, '-' and '.', ending with a letter or digit"
        );
    }
}
