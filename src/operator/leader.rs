//! Leader election on a `coordination.k8s.io/v1` Lease, with `kube-lease-manager`.
//!
//! A [`LeaderElector`] publishes whether this replica leads on a watch channel. The leader
//! renews the Lease well before it expires (every `lease_duration - renew_margin`); a
//! standby takes over when the Lease expires (a crashed leader) or, thanks to a watch on
//! the Lease, as soon as the leader releases it ([`LeaderElector::step_down`] on graceful
//! shutdown) instead of waiting for the old term to run out.
//!
//! RBAC: `get`, `create`, `patch`, `list` and `watch` on `leases` in the Lease's namespace.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseManagerError, LeaseParams};
use rand::distr::Alphanumeric;
use rand::{RngExt, rng};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::engine::backoff::Backoff;

/// The Lease duration used in production: a crashed leader is replaced within it.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// How long before expiry the leader renews by default (so it renews every 5 s).
pub const DEFAULT_RENEW_MARGIN: Duration = Duration::from_secs(10);

/// How long to wait after API errors in a row: 100 ms doubling up to 5 s.
const RETRY_BACKOFF: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// How to elect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderSettings {
    /// The namespace of the Lease (the operator's own).
    pub namespace: String,
    /// The Lease's name.
    pub lease_name: String,
    /// This replica's identity, unique among replicas (see [`default_identity`]).
    pub identity: String,
    /// How long a term lasts without renewal. Whole seconds (the Lease API's unit).
    pub lease_duration: Duration,
    /// How long before the term ends the leader renews. Whole seconds, less than
    /// `lease_duration`; it also bounds the clock skew tolerated between nodes.
    pub renew_margin: Duration,
}

impl LeaderSettings {
    /// Production settings for `lease_name` in `namespace`: a 15 s Lease renewed every
    /// 5 s, and [`default_identity`].
    pub fn new(namespace: impl Into<String>, lease_name: impl Into<String>) -> Self {
        LeaderSettings {
            namespace: namespace.into(),
            lease_name: lease_name.into(),
            identity: default_identity(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_margin: DEFAULT_RENEW_MARGIN,
        }
    }

    /// The Lease parameters, or why the settings are invalid.
    fn params(&self) -> Result<LeaseParams, LeaderError> {
        let whole = |d: Duration| d.subsec_nanos() == 0 && d.as_secs() > 0;
        if !whole(self.lease_duration) || !whole(self.renew_margin) || self.renew_margin >= self.lease_duration {
            return Err(LeaderError::InvalidTiming {
                lease_duration: self.lease_duration,
                renew_margin: self.renew_margin,
            });
        }
        if self.identity.is_empty() || self.lease_name.is_empty() || self.namespace.is_empty() {
            return Err(LeaderError::MissingName);
        }
        Ok(LeaseParams::new(self.identity.clone(), self.lease_duration.as_secs(), self.renew_margin.as_secs())
            .with_field_manager(format!("driftwarden-leader-{}", self.identity)))
    }
}

/// A unique identity for this replica: the pod name (`POD_NAME`, from the downward API),
/// else the host name, followed by a random suffix so that a restarted pod with the same
/// name is a new candidate.
pub fn default_identity() -> String {
    let base = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "driftwarden".to_string());
    identity_with_suffix(&base)
}

/// `base` followed by `-` and six random lowercase letters or digits.
pub fn identity_with_suffix(base: &str) -> String {
    let suffix: String = rng().sample_iter(&Alphanumeric).take(6).map(|b| char::from(b).to_ascii_lowercase()).collect();
    format!("{base}-{suffix}")
}

/// Leader election failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The durations are not whole seconds with `renew_margin < lease_duration`.
    #[error(
        "invalid lease timing: duration {lease_duration:?} and renew margin {renew_margin:?} must be whole seconds, the margin shorter"
    )]
    InvalidTiming {
        /// The configured lease duration.
        lease_duration: Duration,
        /// The configured renew margin.
        renew_margin: Duration,
    },
    /// The namespace, Lease name or identity is empty.
    #[error("the lease namespace, name and identity must not be empty")]
    MissingName,
    /// The Lease could not be created, read or changed.
    #[error("the leader Lease could not be managed")]
    Lease(#[source] LeaseManagerError),
    /// The election task ended abnormally.
    #[error("the leader election task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl LeaderError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidTiming { .. } => "InvalidTiming",
            Self::MissingName => "MissingName",
            Self::Lease(_) => "Lease",
            Self::Task(_) => "Task",
        }
    }
}

/// A running election. Dropping it stops campaigning *without* releasing the Lease (as a
/// crash would); call [`step_down`](Self::step_down) on graceful shutdown.
#[derive(Debug)]
pub struct LeaderElector {
    identity: String,
    leader: watch::Receiver<bool>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), LeaderError>>>,
}

impl LeaderElector {
    /// Ensures the Lease exists (creating it if needed) and starts campaigning.
    pub async fn start(client: kube::Client, settings: LeaderSettings) -> Result<Self, LeaderError> {
        let params = settings.params()?;
        let manager = new_manager(&client, &settings, &params).await?;
        let (publish, leader) = watch::channel(false);
        let (stop, stopped) = oneshot::channel();
        let identity = settings.identity.clone();
        tracing::info!(identity = %identity, lease = %settings.lease_name, "campaigning for leadership");
        let task = tokio::spawn(campaign(client, settings, params, manager, publish, stopped));
        Ok(LeaderElector { identity, leader, stop: Some(stop), task: Some(task) })
    }

    /// This replica's identity in the Lease.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// A receiver that sees every change of leadership (`true`: this replica leads).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// Stops campaigning and, if leading, releases the Lease so a standby takes over at
    /// once. Publishes `false` before returning.
    pub async fn step_down(mut self) -> Result<(), LeaderError> {
        if let Some(stop) = self.stop.take() {
            // The task may have ended already; then there is nothing to release.
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(LeaderError::Task)?,
            None => Ok(()),
        }
    }
}

impl Drop for LeaderElector {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn new_manager(
    client: &kube::Client,
    settings: &LeaderSettings,
    params: &LeaseParams,
) -> Result<LeaseManager, LeaderError> {
    LeaseManager::new(
        client.clone(),
        settings.lease_name.clone(),
        settings.namespace.clone(),
        params.clone(),
        LeaseCreateMode::AutoCreate,
    )
    .await
    .map_err(LeaderError::Lease)
}

/// Whether a Lease event shows the Lease free (released or never held).
fn is_free(event: &watcher::Event<Lease>) -> bool {
    let free =
        |lease: &Lease| lease.spec.as_ref().and_then(|spec| spec.holder_identity.as_deref()).is_none_or(str::is_empty);
    match event {
        watcher::Event::Apply(lease) | watcher::Event::InitApply(lease) => free(lease),
        watcher::Event::Delete(_) => true,
        watcher::Event::Init | watcher::Event::InitDone => false,
    }
}

/// Runs the election until asked to stop.
async fn campaign(
    client: kube::Client,
    settings: LeaderSettings,
    params: LeaseParams,
    manager: LeaseManager,
    publish: watch::Sender<bool>,
    mut stopped: oneshot::Receiver<()>,
) -> Result<(), LeaderError> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={}", settings.lease_name));
    let mut events = watcher(leases, config).default_backoff().boxed();
    let mut manager = Some(manager);
    // API errors in a row, for the backoff.
    let mut failures = 0;
    let identity = settings.identity.as_str();

    loop {
        let current = match manager.take() {
            Some(current) => current,
            None => {
                let built = tokio::select! {
                    biased;
                    _ = &mut stopped => return Ok(()),
                    built = new_manager(&client, &settings, &params) => built,
                };
                match built {
                    Ok(built) => built,
                    Err(error) => {
                        failures += 1;
                        let retry_delay = RETRY_BACKOFF.delay(failures);
                        tracing::warn!(identity, error = %error, retry_in = ?retry_delay, "the leader Lease is unavailable");
                        tokio::select! {
                            biased;
                            _ = &mut stopped => return Ok(()),
                            () = tokio::time::sleep(retry_delay) => {}
                        }
                        continue;
                    }
                }
            }
        };

        // Follow the Lease with `current` until it fails, the Lease is freed while we wait
        // (rebuild to re-read it at once), or we are asked to stop. The `changed` future is
        // kept across Lease events so that a renewal in progress is never cut short.
        let mut changed = std::pin::pin!(current.changed());
        loop {
            let leading = *publish.borrow();
            tokio::select! {
                biased;
                _ = &mut stopped => {
                    return step_down(&current, &publish, identity).await;
                }
                result = &mut changed => {
                    match result {
                        Ok(now_leading) => {
                            failures = 0;
                            if now_leading != leading {
                                tracing::info!(identity, leading = now_leading, "leadership changed");
                            }
                            publish.send_replace(now_leading);
                        }
                        Err(error) => {
                            // Unsure whether we still hold the Lease: stop acting as leader now,
                            // and start again from a fresh read (a held Lease is found again).
                            tracing::warn!(identity, error = %error, "the leader Lease could not be renewed or read");
                            publish.send_replace(false);
                            if leading {
                                let _ = current.release().await;
                            }
                            failures += 1;
                            tokio::select! {
                                biased;
                                _ = &mut stopped => return Ok(()),
                                () = tokio::time::sleep(RETRY_BACKOFF.delay(failures)) => {}
                            }
                            break;
                        }
                    }
                    changed.set(current.changed());
                }
                Some(event) = events.next() => match event {
                    Ok(event) if !leading && is_free(&event) => {
                        tracing::debug!(identity, "the Lease was freed; trying to acquire it");
                        break;
                    }
                    Ok(_) => {}
                    Err(error) => tracing::debug!(identity, error = %error, "the Lease watch failed; retrying"),
                },
            }
        }
    }
}

/// Releases the Lease if held and publishes `false`.
async fn step_down(manager: &LeaseManager, publish: &watch::Sender<bool>, identity: &str) -> Result<(), LeaderError> {
    let leading = *publish.borrow();
    publish.send_replace(false);
    if leading {
        manager.release().await.map_err(LeaderError::Lease)?;
        tracing::info!(identity, "stepped down and released the Lease");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LeaderSettings {
        LeaderSettings {
            namespace: "driftwarden-system".to_string(),
            lease_name: "driftwarden-leader".to_string(),
            identity: "pod-a-x1y2z3".to_string(),
            lease_duration: Duration::from_secs(15),
            renew_margin: Duration::from_secs(10),
        }
    }

    #[test]
    fn production_settings_renew_every_five_seconds_of_a_fifteen_second_lease() {
        let defaults = LeaderSettings::new("driftwarden-system", "driftwarden-leader");
        assert_eq!(defaults.lease_duration, Duration::from_secs(15));
        assert_eq!(defaults.lease_duration - defaults.renew_margin, Duration::from_secs(5));
        assert!(defaults.params().is_ok());
    }

    #[test]
    fn timing_must_be_whole_seconds_with_a_shorter_margin() {
        let invalid = |lease_duration, renew_margin| {
            let settings = LeaderSettings { lease_duration, renew_margin, ..settings() };
            settings.params().map(|_| ()).map_err(|e| e.category())
        };
        assert_eq!(invalid(Duration::from_secs(2), Duration::from_secs(1)), Ok(()));
        assert_eq!(invalid(Duration::from_secs(2), Duration::from_secs(2)), Err("InvalidTiming"));
        assert_eq!(invalid(Duration::from_millis(1500), Duration::from_secs(1)), Err("InvalidTiming"));
        assert_eq!(invalid(Duration::from_secs(2), Duration::ZERO), Err("InvalidTiming"));
        let nameless = LeaderSettings { identity: String::new(), ..settings() };
        assert_eq!(nameless.params().map(|_| ()).map_err(|e| e.category()), Err("MissingName"));
    }

    #[test]
    fn identities_are_the_base_name_with_a_random_suffix() {
        let a = identity_with_suffix("driftwarden-7d9f");
        let b = identity_with_suffix("driftwarden-7d9f");
        assert_ne!(a, b);
        let suffix = a.strip_prefix("driftwarden-7d9f-").expect("the base name comes first");
        assert_eq!(suffix.len(), 6);
        assert!(suffix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{a}");
        assert!(!default_identity().is_empty());
    }

    #[test]
    fn a_lease_without_holder_is_free() {
        let held = Lease {
            spec: Some(k8s_openapi::api::coordination::v1::LeaseSpec {
                holder_identity: Some("pod-a".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(!is_free(&watcher::Event::Apply(held.clone())));
        assert!(is_free(&watcher::Event::Apply(Lease::default())));
        assert!(is_free(&watcher::Event::Delete(held)));
        assert!(!is_free(&watcher::Event::InitDone));
    }
}
