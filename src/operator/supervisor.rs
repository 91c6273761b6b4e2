//! `driftwarden run` around the loop: health and metrics endpoints, and leader election,
//! so that of several replicas exactly one reconciles and a standby takes over within
//! seconds when the leader goes.
//!
//! Readiness and leadership are separate. A standby is ready once it takes part in the
//! election (it reached the API server and the Lease): it is healthy and able to take
//! over, so a PodDisruptionBudget counts it and rollouts proceed. A leader is ready once
//! its caches are synced. Which replica leads is the `driftwarden_leader` gauge.

use std::net::SocketAddr;

use kube::Client;
use tokio::sync::watch;
use tracing::{info, warn};

use super::health::{self, NOT_SYNCED};
use super::leader::{LeaderElector, LeaderError, LeaderSettings};
use super::metrics::counting_client;
use super::runtime::{Services, run_with};
use super::settings::OperatorSettings;

/// How the operator process runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub settings: OperatorSettings,
    /// Where `/metrics`, `/healthz` and `/readyz` are served; `None` serves nothing.
    pub health_address: Option<SocketAddr>,
    /// The Lease to elect a leader on; `None` runs without election (one replica only).
    pub leader: Option<LeaderSettings>,
}

/// Why the operator process stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error("health endpoints: {0}")]
    Health(#[from] health::HealthError),
    #[error("leader election: {0}")]
    Leader(#[from] LeaderError),
}

impl SuperviseError {
    /// A PascalCase name for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Health(err) => err.category(),
            Self::Leader(err) => err.category(),
        }
    }
}

/// Runs until `shutdown` turns true: serves health, takes part in the election, and runs
/// the loop while (and only while) this replica leads. On shutdown a leader steps down,
/// releasing the Lease so a standby takes over at once.
pub async fn supervise(
    client: Client,
    options: RunOptions,
    services: Services,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SuperviseError> {
    if let Some(address) = options.health_address {
        let mut stop = shutdown.clone();
        let (bound, _) = health::serve(address, services.metrics.clone(), services.health.clone(), async move {
            let _ = stop.wait_for(|stop| *stop).await;
        })
        .await?;
        info!(address = %bound, "health endpoints ready");
    }
    let Some(leader) = options.leader else {
        services.metrics.set_leader(true);
        run_with(client, options.settings, services.clone(), wait(shutdown)).await;
        services.metrics.set_leader(false);
        return Ok(());
    };
    let elector = LeaderElector::start(counting_client(client.clone(), services.metrics.clone()), leader).await?;
    let mut leading = elector.subscribe();
    info!(identity = elector.identity(), "waiting to lead");
    loop {
        services.health.set_ready();
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = leading.wait_for(|leads| *leads) => {}
        }
        info!(identity = elector.identity(), "leading: reconciling");
        services.metrics.set_leader(true);
        // A new leader is ready again once its own caches are synced.
        services.health.set_not_ready(NOT_SYNCED);
        let mut lost = leading.clone();
        let stop = shutdown.clone();
        run_with(client.clone(), options.settings.clone(), services.clone(), async move {
            tokio::select! {
                _ = wait(stop) => {}
                _ = lost.wait_for(|leads| !*leads) => warn!("leadership lost: stopping reconciliation"),
            }
        })
        .await;
        services.metrics.set_leader(false);
        if *shutdown.borrow() {
            break;
        }
    }
    services.health.set_not_ready("shutting down");
    elector.step_down().await?;
    info!("stepped down");
    Ok(())
}

async fn wait(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
