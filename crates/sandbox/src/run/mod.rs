//! `driftwarden sandbox`: a sandbox API server for people, not tests. It listens on
//! 127.0.0.1, writes a kubeconfig with the admin token, installs CRDs, optionally keeps
//! its store in a data file across restarts, and serves until told to stop.
//!
//! - [`persistence`]: the data file (snapshot, atomic replace).
//! - [`crds`]: installing CustomResourceDefinitions at start.
//!
//! kubectl works against it (HTTPS with the kubeconfig's CA data and admin token):
//! `get` (server-side tables with printer columns), `get -w`, `describe`, `create -f`,
//! `replace`, `apply` of custom resources, `patch --type=merge|json` (also
//! `--subresource=status`), `wait --for=condition=...`, `delete`, `api-resources`.
//! Not yet: `apply` of built-in kinds and `apply --server-side` (strategic merge patch and
//! server-side apply), `create <generator>` of built-in kinds (kubectl sends those as
//! protobuf), `auth can-i`, and `explain` (no schemas are published).

pub mod crds;
pub mod persistence;

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::error::ApiError;
use crate::store::{Store, StoreConfig};
use crate::{Sandbox, SandboxError, SandboxOptions};
use persistence::PersistenceError;

/// How `driftwarden sandbox` runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where to write the kubeconfig.
    pub kubeconfig_out: PathBuf,
    /// The data file: loaded at start when present, written every `snapshot_interval`
    /// (when something changed) and at shutdown.
    pub data: Option<PathBuf>,
    /// How often the data file is brought up to date.
    pub snapshot_interval: Duration,
    /// The CRDs installed at start (driftwarden's own kinds).
    pub crds: Vec<CustomResourceDefinition>,
    /// The admin token; random when `None`.
    pub admin_token: Option<String>,
}

/// A failure of `driftwarden sandbox`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The data file could not be read or written.
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
    /// The data file could not be turned back into a store, or the CRDs not installed.
    #[error("the sandbox store could not be prepared")]
    Store(#[source] ApiError),
    /// The server could not start.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The kubeconfig could not be encoded.
    #[error("the kubeconfig could not be encoded")]
    Kubeconfig(#[source] serde_yaml::Error),
}

impl RunError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            RunError::Persistence(e) => e.category(),
            RunError::Store(_) => "Store",
            RunError::Sandbox(e) => e.category(),
            RunError::Kubeconfig(_) => "Kubeconfig",
        }
    }
}

/// A started `driftwarden sandbox`.
pub struct Running {
    sandbox: Sandbox,
    options: RunOptions,
    restored: bool,
}

/// Starts the server: restores the data file if there is one, installs the CRDs and
/// writes the kubeconfig.
pub async fn start(options: RunOptions) -> Result<Running, RunError> {
    let snapshot = match &options.data {
        Some(path) => persistence::load(path)?,
        None => None,
    };
    let restored = snapshot.is_some();
    let store = match snapshot {
        Some(snapshot) => Store::restore(StoreConfig::default(), snapshot).map_err(RunError::Store)?,
        None => Store::new(StoreConfig::default()).map_err(RunError::Store)?,
    };
    let store = Arc::new(store);
    crds::install(&store, &options.crds).map_err(RunError::Store)?;
    let sandbox_options = SandboxOptions {
        port: options.port,
        admin_token: options.admin_token.clone(),
        // Nobody reads the request log of a long-running sandbox.
        request_log_capacity: 0,
        ..Default::default()
    };
    let sandbox = Sandbox::start_on(store, sandbox_options).await?;
    let kubeconfig = serde_yaml::to_string(&sandbox.kubeconfig()).map_err(RunError::Kubeconfig)?;
    persistence::write_atomically(&options.kubeconfig_out, kubeconfig.as_bytes())?;
    Ok(Running { sandbox, options, restored })
}

impl Running {
    /// The running sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// What to tell the person who started it: where it listens, the kubeconfig, and
    /// commands to try.
    pub fn banner(&self) -> String {
        let kubeconfig = self.options.kubeconfig_out.display();
        let data = match (&self.options.data, self.restored) {
            (Some(path), true) => format!("data:       {} (restored)\n", path.display()),
            (Some(path), false) => format!("data:       {} (new)\n", path.display()),
            (None, _) => "data:       in memory only (use --data FILE to keep it)\n".to_string(),
        };
        format!(
            "driftwarden sandbox is serving the Kubernetes API at {url}\n\
             kubeconfig: {kubeconfig}\n\
             {data}\n\
             Try:\n  \
             kubectl --kubeconfig {kubeconfig} get namespaces\n  \
             kubectl --kubeconfig {kubeconfig} api-resources\n  \
             kubectl --kubeconfig {kubeconfig} apply -f my-custom-resource.yaml\n  \
             export KUBECONFIG={kubeconfig}\n\n\
             Press Ctrl-C to stop.\n",
            url = self.sandbox.url(),
        )
    }

    fn save(&self, path: &Path) -> Result<(), RunError> {
        Ok(persistence::save(path, &self.sandbox.store().snapshot())?)
    }

    /// Serves until `shutdown` completes, keeping the data file up to date; then stops
    /// the server and writes the final snapshot.
    pub async fn serve_until(self, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut saved_rv = self.sandbox.store().resource_version();
        let mut ticker = tokio::time::interval(self.options.snapshot_interval.max(Duration::from_millis(10)));
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticker.tick() => {
                    let rv = self.sandbox.store().resource_version();
                    if let Some(path) = &self.options.data && rv != saved_rv {
                        self.save(path)?;
                        saved_rv = rv;
                    }
                }
            }
        }
        let Running { sandbox, options, .. } = self;
        let store = sandbox.store().clone();
        sandbox.shutdown().await;
        if let Some(path) = &options.data {
            persistence::save(path, &store.snapshot())?;
        }
        Ok(())
    }
}

/// `driftwarden sandbox`: starts, prints the banner to `out`, serves until Ctrl-C.
pub async fn run(options: RunOptions, out: &mut impl Write) -> Result<(), RunError> {
    let running = start(options).await?;
    // The banner is informational; a closed stdout must not stop the server.
    let _ = out.write_all(running.banner().as_bytes());
    let _ = out.flush();
    let data = running.options.data.clone();
    running
        .serve_until(async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::warn!(error = %e, "cannot listen for Ctrl-C; stopping");
            }
        })
        .await?;
    let saved = data.map(|path| format!(" (saved to {})", path.display())).unwrap_or_default();
    let _ = writeln!(out, "\ndriftwarden sandbox stopped{saved}");
    Ok(())
}
