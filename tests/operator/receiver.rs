//! A local HTTP endpoint that hands every CloudEvent it receives to the test.

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

/// One request: its headers and body.
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the request arrived (read by the chaos test, its own binary).
    #[allow(dead_code)]
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// Starts the endpoint; returns its URL and the stream of what it receives.
pub async fn start() -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let at = std::time::Instant::now();
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let _ = tx.send(Received { headers: parts.headers, body, at });
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (url, rx)
}

/// A Secret named `name` whose key `url` holds `url`, labelled for notifications (the
/// operator reads no other Secret for a sink).
pub fn hook_secret(name: &str, url: &str) -> serde_json::Value {
    serde_json::json!({
        "metadata": {"name": name, "labels": {"driftwarden.dev/notification-credentials": "true"}},
        "stringData": {"url": url}
    })
}
