//! A sandbox API server started in this process, for `driftwarden sandbox` or for one test.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::sync::Arc;

use kube::config::{AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};

use crate::auth::{Authenticator, Identity, UserInfo, bootstrap};
use crate::error::ApiError;
use crate::faults::{Fault, FaultError, Faults};
use crate::server::{
    DEFAULT_CAPACITY, DEFAULT_MAX_CONNECTIONS, RequestLog, RequestRecord, RunningServer, ServerConfig, ServerError,
    TlsIdentity, serve,
};
use crate::store::{Store, StoreConfig};
#[cfg(feature = "testing")]
use crate::testing::TempNamespace;

/// The name of the cluster, user and context in the generated kubeconfig.
pub const CONTEXT_NAME: &str = "driftwarden-sandbox";

/// How to start a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOptions {
    /// The port on 127.0.0.1; 0 (the default) picks a free one.
    pub port: u16,
    /// The bearer token that bypasses authorization; random when `None`.
    pub admin_token: Option<String>,
    /// The store's tunables (history size, bookmark interval, watch timeout).
    pub store: StoreConfig,
    /// How many requests [`Sandbox::requests`] keeps (the most recent ones); 0 records none.
    pub request_log_capacity: usize,
    /// The most connections served at once; see [`ServerConfig::max_connections`].
    pub max_connections: usize,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            port: 0,
            admin_token: None,
            store: StoreConfig::default(),
            request_log_capacity: DEFAULT_CAPACITY,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
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
    /// A fault could not be injected.
    #[error("the fault could not be injected")]
    Fault(#[from] FaultError),
    /// The real cluster named by `DRIFTWARDEN_TEST_KUBECONFIG` could not be used.
    #[error("the test cluster could not be used: {0}")]
    Cluster(String),
}

impl SandboxError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            SandboxError::Store(_) => "Store",
            SandboxError::Server(_) => "Server",
            SandboxError::Url { .. } => "Url",
            SandboxError::Client(_) => "Client",
            SandboxError::Fault(_) => "Fault",
            SandboxError::Cluster(_) => "Cluster",
        }
    }
}

/// A running sandbox API server (HTTPS with a self-signed certificate) with a client for
/// it. Dropping it stops the server.
pub struct Sandbox {
    store: Arc<Store>,
    server: RunningServer,
    auth: Arc<Authenticator>,
    faults: Arc<Faults>,
    requests: Arc<RequestLog>,
    tls: TlsIdentity,
    config: kube::Config,
    client: kube::Client,
}

/// A kube-client `AuthInfo` carrying a bearer token.
fn token_auth(token: &str) -> AuthInfo {
    // AuthInfo keeps the token as a secret type; building it from its serialized form
    // avoids depending on that type's crate.
    serde_json::from_value(serde_json::json!({"token": token})).unwrap_or_default()
}

impl Sandbox {
    /// Starts a sandbox on a free port with default settings.
    pub async fn start() -> Result<Self, SandboxError> {
        Self::start_with(SandboxOptions::default()).await
    }

    /// Starts a sandbox with `options`.
    pub async fn start_with(options: SandboxOptions) -> Result<Self, SandboxError> {
        let store = Arc::new(Store::new(options.store.clone()).map_err(SandboxError::Store)?);
        Self::start_on(store, options).await
    }

    /// Serves an existing store (for example one restored from a snapshot); `options.store`
    /// is ignored. The bootstrap RBAC objects (`cluster-admin`, `admin`, `edit`, `view`, the
    /// discovery and self-review roles) are added when missing.
    pub async fn start_on(store: Arc<Store>, options: SandboxOptions) -> Result<Self, SandboxError> {
        bootstrap::install(&store).map_err(SandboxError::Store)?;
        store.set_admission(Arc::new(crate::admission::Engine::default()));
        let auth = Arc::new(options.admin_token.map(Authenticator::new).unwrap_or_default());
        let faults = Arc::new(Faults::default());
        let tls = TlsIdentity::self_signed().map_err(ServerError::from)?;
        let requests = Arc::new(RequestLog::with_capacity(options.request_log_capacity));
        let server_config = ServerConfig {
            port: options.port,
            auth: auth.clone(),
            faults: faults.clone(),
            tls: Some(tls.clone()),
            requests: requests.clone(),
            max_connections: options.max_connections,
        };
        let server = serve(store.clone(), server_config).await?;
        let url = server.url();
        let uri: http::Uri = url.parse().map_err(|source| SandboxError::Url { url: url.clone(), source })?;
        let mut config = kube::Config::new(uri);
        config.root_cert = Some(vec![tls.cert_der().to_vec()]);
        config.auth_info = token_auth(auth.admin_token());
        let client = kube::Client::try_from(config.clone())?;
        Ok(Sandbox { store, server, auth, faults, requests, tls, config, client })
    }

    /// Stops the server, closing open connections, and waits until that is done.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.server.address()
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A client for the sandbox with the admin token, which bypasses authorization
    /// (cheap to clone).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The token that bypasses authorization.
    pub fn admin_token(&self) -> &str {
        self.auth.admin_token()
    }

    /// Registers a token for user `name` in `groups` (plus `system:authenticated`); RBAC
    /// objects in the store decide what it may do.
    pub fn add_user(&self, name: &str, groups: &[&str]) -> Identity {
        self.auth.register(UserInfo::user(name, groups))
    }

    /// Registers a token for ServiceAccount `name` in `namespace`: the user
    /// `system:serviceaccount:<namespace>:<name>`. The ServiceAccount object itself is not
    /// required, as with a token from a deleted ServiceAccount's still-valid secret.
    pub fn add_service_account(&self, namespace: &str, name: &str) -> Identity {
        self.auth.register(UserInfo::service_account(namespace, name))
    }

    /// A client that authenticates as `identity`.
    pub fn client_as(&self, identity: &Identity) -> Result<kube::Client, SandboxError> {
        self.client_with_token(Some(&identity.token))
    }

    /// The client configuration of `identity`: for clients built elsewhere (on another
    /// runtime, for example).
    pub fn config_as(&self, identity: &Identity) -> kube::Config {
        let mut config = self.config.clone();
        config.auth_info = token_auth(&identity.token);
        config
    }

    /// A client that sends `token` (or no `Authorization` header at all with `None`),
    /// for testing authentication itself.
    pub fn client_with_token(&self, token: Option<&str>) -> Result<kube::Client, SandboxError> {
        let mut config = self.config.clone();
        config.auth_info = token.map(token_auth).unwrap_or_default();
        Ok(kube::Client::try_from(config)?)
    }

    /// The faults in force; see [`crate::faults`].
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) -> Result<(), SandboxError> {
        Ok(self.faults.inject(fault)?)
    }

    /// Every authenticated API request answered so far (the last
    /// [`SandboxOptions::request_log_capacity`], a million by default), oldest first:
    /// who asked, the authorizer's verb and resource, whether it was a dry run, and the
    /// status code of the answer. Requests to the sandbox controls are not recorded.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.requests.snapshot()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.requests.clear();
    }

    /// Ends every open watch now.
    pub fn drop_watches(&self) {
        self.faults.drop_watches();
    }

    /// Forgets all history: watches from any earlier resourceVersion get 410 Gone.
    pub fn compact(&self) {
        self.store.compact();
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
                cluster: Some(Cluster {
                    server: Some(self.url()),
                    certificate_authority_data: Some(BASE64.encode(self.tls.cert_pem())),
                    ..Default::default()
                }),
                other: Default::default(),
            }],
            auth_infos: vec![NamedAuthInfo {
                name: CONTEXT_NAME.to_string(),
                auth_info: Some(token_auth(self.admin_token())),
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
    #[cfg(feature = "testing")]
    pub async fn temp_namespace(&self) -> Result<TempNamespace, SandboxError> {
        Ok(TempNamespace::create(self.client()).await?)
    }
}
