//! The operator's HTTP endpoints for Kubernetes probes and Prometheus: `/metrics`,
//! `/healthz` (alive while the process serves) and `/readyz` (on the leader, ready once the
//! caches are synced; on a standby, ready once it takes part in the election and can take
//! over, as [`Readiness`] says).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::operator::metrics::{self, Metrics};

/// How long open connections may take to finish after shutdown is asked.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The reason [`Readiness::new`] starts with.
pub const NOT_SYNCED: &str = "the watch caches are not synced yet";

/// Whether the operator is ready to serve, shared between the controllers (which set it)
/// and `/readyz` (which reports it). Cheap to clone; clones share the state.
#[derive(Clone, Debug)]
pub struct Readiness {
    not_ready: Arc<RwLock<Option<String>>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

impl Readiness {
    /// Not ready, because the caches are not synced yet.
    pub fn new() -> Self {
        Readiness { not_ready: Arc::new(RwLock::new(Some(NOT_SYNCED.to_string()))) }
    }

    /// Marks the operator ready.
    pub fn set_ready(&self) {
        *self.not_ready.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Marks the operator not ready, saying why (shown by `/readyz`; no Secret values).
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        *self.not_ready.write().unwrap_or_else(PoisonError::into_inner) = Some(reason.into());
    }

    /// `Ok` when ready, else the reason.
    pub fn check(&self) -> Result<(), String> {
        match &*self.not_ready.read().unwrap_or_else(PoisonError::into_inner) {
            None => Ok(()),
            Some(reason) => Err(reason.clone()),
        }
    }

    /// Whether the operator is ready.
    pub fn is_ready(&self) -> bool {
        self.check().is_ok()
    }
}

/// The health server could not start.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The address could not be bound.
    #[error("the health and metrics server could not listen on {address}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl HealthError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Bind { .. } => "Bind",
        }
    }
}

/// Answers one request. Pure apart from reading the metrics and the readiness flag.
pub fn respond<B>(request: &Request<B>, metrics: &Metrics, readiness: &Readiness) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
        response
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served\n".to_string());
        response.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match request.uri().path() {
        "/metrics" => {
            let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
            response.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static(metrics::CONTENT_TYPE));
            response
        }
        "/healthz" | "/livez" => text(StatusCode::OK, "ok\n".to_string()),
        "/readyz" => match readiness.check() {
            Ok(()) => text(StatusCode::OK, "ok\n".to_string()),
            Err(reason) => text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n".to_string()),
    }
}

/// Listens on `address` (port 0 picks a free one) and serves `/metrics`, `/healthz` and
/// `/readyz` until `shutdown` completes; then stops accepting and gives open connections
/// a few seconds to finish. Returns the bound address and the server task.
pub async fn serve(
    address: SocketAddr,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, JoinHandle<()>), HealthError> {
    let listener = TcpListener::bind(address).await.map_err(|source| HealthError::Bind { address, source })?;
    let bound = listener.local_addr().map_err(|source| HealthError::Bind { address, source })?;
    tracing::info!(address = %bound, "serving /metrics, /healthz and /readyz");
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            tracing::debug!(error = %e, "a health connection could not be accepted");
                            continue;
                        }
                    };
                    let metrics = metrics.clone();
                    let readiness = readiness.clone();
                    let service = service_fn(move |request: Request<Incoming>| {
                        let response = respond(&request, &metrics, &readiness);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let connection =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(error = %e, "a health connection failed");
                        }
                    });
                }
            }
        }
        drop(listener);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
            tracing::debug!("health connections still open after shutdown; leaving them");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::api::common::RemediationClass;

    async fn get(address: SocketAddr, path: &str) -> (StatusCode, Option<String>, String) {
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let request =
            Request::get(path).header(http::header::HOST, address.to_string()).body(Full::new(Bytes::new())).unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let content_type = response.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, content_type, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn serves_metrics_health_and_readiness_until_shutdown() {
        let metrics = Arc::new(Metrics::new());
        metrics.drift_detected(RemediationClass::Spec);
        let readiness = Readiness::new();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (address, task) = serve("127.0.0.1:0".parse().unwrap(), metrics.clone(), readiness.clone(), async {
            let _ = stopped.await;
        })
        .await
        .unwrap();

        let (status, content_type, body) = get(address, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some(metrics::CONTENT_TYPE));
        assert!(body.contains(r#"driftwarden_drifts_detected_total{class="Spec"} 1"#), "{body}");

        assert_eq!(get(address, "/healthz").await.0, StatusCode::OK);
        let (status, _, body) = get(address, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(NOT_SYNCED), "{body}");

        readiness.set_ready();
        assert_eq!(get(address, "/readyz").await.0, StatusCode::OK);
        readiness.set_not_ready("lost the watch on deployments");
        let (status, _, body) = get(address, "/readyz").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: lost the watch on deployments\n")
        );

        assert_eq!(get(address, "/nothing").await.0, StatusCode::NOT_FOUND);

        stop.send(()).unwrap();
        task.await.unwrap();
        assert!(tokio::net::TcpStream::connect(address).await.is_err(), "still listening after shutdown");
    }

    #[tokio::test]
    async fn other_methods_are_refused() {
        let (address, _task) =
            serve("127.0.0.1:0".parse().unwrap(), Arc::new(Metrics::new()), Readiness::new(), std::future::pending())
                .await
                .unwrap();
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("allow: get, head"), "{answer}");
    }

    #[tokio::test]
    async fn a_taken_port_is_a_bind_error() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = taken.local_addr().unwrap();
        let error =
            serve(address, Arc::new(Metrics::new()), Readiness::new(), std::future::pending()).await.unwrap_err();
        assert_eq!(error.category(), "Bind");
    }
}
