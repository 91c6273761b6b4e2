//! The HTTP side of the sandbox: the REST paths real clients use, served on 127.0.0.1.

pub(crate) mod admin;
mod discovery;
mod handler;
mod openapi;
mod query;
mod request_log;
mod response;
mod reviews;
mod route;
mod table;
#[cfg(test)]
mod tests;
mod tls;
mod token_request;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};

pub use admin::FaultSpec;
pub use discovery::{KUBERNETES_MAJOR, KUBERNETES_MINOR};
pub use query::Query;
pub use request_log::{ADMIN_USER, DEFAULT_CAPACITY, RequestLog, RequestRecord};
pub use route::Route;
pub use tls::{TlsError, TlsIdentity};

use crate::auth::Authenticator;
use crate::faults::Faults;
use crate::store::Store;
pub(crate) use handler::Context;

/// How many connections the server serves at once unless told otherwise: enough for an
/// operator's watches (one connection each over HTTP/1.1), kubectl and a test's clients.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Where the server listens, who may ask, and the faults tests inject.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The port on 127.0.0.1; 0 picks any free port.
    pub port: u16,
    /// The tokens the server accepts (a random admin token by default).
    pub auth: Arc<Authenticator>,
    /// The faults in force.
    pub faults: Arc<Faults>,
    /// Serve HTTPS with this identity; plain HTTP when `None`.
    pub tls: Option<TlsIdentity>,
    /// Where every authenticated API request is recorded.
    pub requests: Arc<RequestLog>,
    /// The most connections served at once (at least 1). Over the bound, a new connection
    /// waits, unaccepted, in the listen backlog until an open one closes: its client sees a
    /// slow server rather than a refused connection or a lost request.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 0,
            auth: Arc::default(),
            faults: Arc::default(),
            tls: None,
            requests: Arc::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// A failure to start serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// TLS could not be set up.
    #[error("cannot set up TLS")]
    Tls(#[from] TlsError),
    /// The address could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        /// The requested port.
        port: u16,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ServerError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            ServerError::Bind { .. } => "Bind",
            ServerError::Tls(e) => e.category(),
        }
    }
}

/// A server that is accepting connections; dropping it stops the server and closes every
/// open connection, watches included.
pub struct RunningServer {
    address: SocketAddr,
    scheme: &'static str,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `https://127.0.0.1:PORT` (or `http://` without TLS)
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }

    /// Stops accepting, closes open connections and waits until that is done.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The accept loop may already have ended; then there is nothing to stop.
            let _ = tx.send(());
        }
        // The task ends after the signal; a join error only means it was already aborted.
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts serving `store` on 127.0.0.1.
pub async fn serve(store: Arc<Store>, config: ServerConfig) -> Result<RunningServer, ServerError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
        .await
        .map_err(|source| ServerError::Bind { port: config.port, source })?;
    let address = listener.local_addr().map_err(|source| ServerError::Bind { port: config.port, source })?;
    let acceptor = config.tls.as_ref().map(TlsIdentity::acceptor).transpose()?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let context =
        Arc::new(Context { store, address, auth: config.auth, faults: config.faults, requests: config.requests });
    let (shutdown, mut stop) = oneshot::channel();
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let task = tokio::spawn(async move {
        // Dropping the set at the end of this task aborts every connection.
        let mut connections = JoinSet::new();
        loop {
            // A connection is accepted only once a slot is free; it holds the slot until it
            // closes.
            let slot = tokio::select! {
                _ = &mut stop => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    // The semaphore is never closed; should it be, serving ends.
                    Err(_) => break,
                },
            };
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            tracing::warn!(error = %e, "sandbox: accepting a connection failed");
                            continue;
                        }
                    };
                    let context = context.clone();
                    let acceptor = acceptor.clone();
                    connections.spawn(async move {
                        let _slot = slot;
                        match acceptor {
                            None => serve_connection(context, stream).await,
                            Some(acceptor) => match acceptor.accept(stream).await {
                                Ok(stream) => serve_connection(context, stream).await,
                                Err(e) => tracing::debug!(error = %e, "sandbox: TLS handshake failed"),
                            },
                        }
                    });
                }
            }
            while connections.try_join_next().is_some() {}
        }
    });
    Ok(RunningServer { address, scheme, shutdown: Some(shutdown), task })
}

/// Serves HTTP/1.1 requests on one connection until it closes.
pub(crate) async fn serve_connection<S>(context: Arc<Context>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let context = context.clone();
        async move { Ok::<_, Infallible>(handler::handle(context, request).await) }
    });
    if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!(error = %e, "sandbox: connection ended with an error");
    }
}
