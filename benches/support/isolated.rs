//! The operator on a runtime of its own, whose threads carry the operator's allocation tag
//! (see `tagged.rs`): the benchmark then reports the operator's heap apart from the
//! sandbox's, though both live in one process.

use std::sync::Arc;

use driftwarden::operator::metrics::Metrics;
use driftwarden::operator::{OperatorSettings, Services, run_with};
use tokio::sync::oneshot;

use super::tagged;

/// The operator, running.
pub struct Isolated {
    runtime: tokio::runtime::Runtime,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
    pub metrics: Arc<Metrics>,
}

impl Isolated {
    /// Starts the operator with `config` (a client is built on the operator's own threads).
    pub async fn start(
        config: kube::Config,
        settings: OperatorSettings,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("operator")
            .on_thread_start(|| tagged::tag_thread(tagged::OPERATOR))
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (done_tx, done) = oneshot::channel::<()>();
        let (metrics_tx, metrics) = oneshot::channel();
        runtime.spawn(async move {
            let client = kube::Client::try_from(config).expect("the sandbox's config makes a client");
            let services = Services::new(client.clone());
            let _ = metrics_tx.send(services.metrics.clone());
            run_with(client, settings, services, async move {
                let _ = stopped.await;
            })
            .await;
            let _ = done_tx.send(());
        });
        let metrics = metrics.await?;
        Ok(Self { runtime, stop: Some(stop), done: Some(done), metrics })
    }

    /// Live heap bytes the operator holds now, in MiB.
    pub fn heap_mib(&self) -> f64 {
        tagged::live_bytes(tagged::OPERATOR) as f64 / (1024.0 * 1024.0)
    }

    /// Stops the operator and waits for it to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
        self.runtime.shutdown_background();
    }
}
