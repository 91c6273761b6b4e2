//! A sandbox API server started for one test (or one `driftwarden sandbox` run).

use std::net::SocketAddr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::config::{AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};

use super::temp_namespace::TempNamespace;
use crate::sandbox::error::ApiError;
use crate::sandbox::server::{RunningServer, ServerConfig, ServerError, serve};
use crate::sandbox::store::{Store, StoreConfig};

/// The name of the cluster, user and context in the generated kubeconfig.
pub const CONTEXT_NAME: &str = "driftwarden-sandbox";

/// How to start a sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxOptions {
    /// The port on 127.0.0.1; 0 (the default) picks a free one.
    pub port: u16,
    /// The store's tunables (history size, bookmark interval, watch timeout).
    pub store: StoreConfig,
}

/// A failure of the test support.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The store could not be initialised.
    #[error("the sandbox store could not be initialised")]
    Store(#[source] ApiError),
    /// The server could not start.
    #[error("the sandbox server could not start")]
    Server(#[from] ServerError),
    /// The server's URL did not parse.
    #[error("the sandbox URL {url} is not a valid URI")]
    Url {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// The client could not be built or a request failed.
    #[error("a request to the sandbox failed")]
    Client(#[from] kube::Error),
}

impl SandboxError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            SandboxError::Store(_) => "Store",
            SandboxError::Server(_) => "Server",
            SandboxError::Url { .. } => "Url",
            SandboxError::Client(_) => "Client",
        }
    }
}

/// A running sandbox API server with a client for it. Dropping it stops the server.
pub struct Sandbox {
    store: Arc<Store>,
    server: RunningServer,
    config: kube::Config,
    client: kube::Client,
}

impl Sandbox {
    /// Starts a sandbox on a free port with default settings.
    pub async fn start() -> Result<Self, SandboxError> {
        Self::start_with(SandboxOptions::default()).await
    }

    /// Starts a sandbox with `options`.
    pub async fn start_with(options: SandboxOptions) -> Result<Self, SandboxError> {
        let store = Arc::new(Store::new(options.store).map_err(SandboxError::Store)?);
        let server = serve(store.clone(), ServerConfig { port: options.port }).await?;
        let url = server.url();
        let uri = url.parse().map_err(|source| SandboxError::Url { url: url.clone(), source })?;
        let config = kube::Config::new(uri);
        let client = kube::Client::try_from(config.clone())?;
        Ok(Sandbox { store, server, config, client })
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A client for the sandbox (cheap to clone).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The client configuration pointing at the sandbox.
    pub fn config(&self) -> &kube::Config {
        &self.config
    }

    /// The store behind the server, for what no API request can do (such as compacting
    /// the history).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A kubeconfig for kubectl and other clients, with one context named
    /// [`CONTEXT_NAME`].
    pub fn kubeconfig(&self) -> Kubeconfig {
        Kubeconfig {
            clusters: vec![NamedCluster {
                name: CONTEXT_NAME.to_string(),
                cluster: Some(Cluster { server: Some(self.url()), ..Default::default() }),
                other: Default::default(),
            }],
            auth_infos: vec![NamedAuthInfo {
                name: CONTEXT_NAME.to_string(),
                auth_info: Some(AuthInfo::default()),
                other: Default::default(),
            }],
            contexts: vec![NamedContext {
                name: CONTEXT_NAME.to_string(),
                context: Some(Context {
                    cluster: CONTEXT_NAME.to_string(),
                    user: Some(CONTEXT_NAME.to_string()),
                    namespace: None,
                    extensions: None,
                    other: Default::default(),
                }),
                other: Default::default(),
            }],
            current_context: Some(CONTEXT_NAME.to_string()),
            ..Default::default()
        }
    }

    /// Creates a namespace with a generated `dw-test-` name; it is deleted when the
    /// returned guard is dropped (or explicitly with [`TempNamespace::delete`]).
    pub async fn temp_namespace(&self) -> Result<TempNamespace, SandboxError> {
        let api: Api<Namespace> = Api::all(self.client());
        let mut namespace = Namespace::default();
        namespace.metadata.generate_name = Some("dw-test-".to_string());
        let created = api.create(&PostParams::default(), &namespace).await?;
        Ok(TempNamespace::new(self.client(), created.metadata.name.unwrap_or_default()))
    }
}
