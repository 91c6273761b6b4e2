//! The delivery side: one worker per sink, delivering that sink's notifications in order,
//! each with retries, the Secret re-read at every attempt.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use super::connect::{self, GuardedConnector};
use super::error::DeliveryError;
use super::event::Notification;
use super::retry;
use super::sink;
use super::{DeliveryReport, NotifySettings, Queued, Shared};
use crate::notification::{Sink, SinkAddressPolicy};
use crate::operator::metrics::NotificationResult;

/// How long a sink's worker waits for work before it exits (a new one starts on demand).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The largest response body read (and discarded) so the connection can be reused.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// The HTTP(S) client shared by every worker.
pub(crate) type HttpClient = Client<HttpsConnector<GuardedConnector>, Full<Bytes>>;

/// Builds the client: HTTP/1.1, `http` and `https` (trusting the system's root
/// certificates; with none installed, `https` sinks fail with a TLS error while `http`
/// sinks still work), connecting only to the addresses `addresses` allows.
pub(crate) fn http_client(addresses: SinkAddressPolicy) -> HttpClient {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|builder| match builder.with_native_roots() {
            Ok(builder) => builder.with_no_client_auth(),
            Err(e) => {
                tracing::warn!(error = %e, "no trusted root certificates: https notification sinks will fail");
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map(|builder| builder.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth())
                    .unwrap_or_else(|_| unreachable_tls_config())
            }
        })
        .unwrap_or_else(|_| unreachable_tls_config());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(GuardedConnector::new(addresses));
    Client::builder(TokioExecutor::new()).build(connector)
}

/// The ring provider supports the default protocol versions, so building its config
/// cannot fail; this keeps that impossibility out of the happy path without a panic.
fn unreachable_tls_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth()
}

/// Sends one request and reads the status.
async fn attempt(
    client: &kube::Client,
    http: &HttpClient,
    sink: &Sink,
    notification: &Notification,
    timeout: Duration,
) -> Result<(), DeliveryError> {
    let endpoint = sink::resolve(sink, client).await?;
    let request = notification.to_request(&endpoint.url, endpoint.authorization.as_ref(), endpoint.mode);
    let exchange = async {
        let response = http.request(request).await?;
        let status = response.status();
        let retry_after = retry::retry_after(response.headers(), jiff::Timestamp::now());
        // Drain a bounded body so the connection goes back to the pool; its content is
        // not needed (and may echo secrets), so it is never logged.
        let _ = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BODY).collect().await;
        Ok::<_, hyper_util::client::legacy::Error>((status, retry_after))
    };
    let (status, retry_after) = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => return Err(DeliveryError::Timeout { sink: sink.display_name(), after: timeout }),
        Ok(Err(source)) => {
            return Err(match connect::refusal(&source) {
                Some(refused) => DeliveryError::AddressRefused { sink: sink.display_name(), refused },
                None => DeliveryError::Transport { sink: sink.display_name(), source },
            });
        }
        Ok(Ok(answer)) => answer,
    };
    match retry::verdict(status) {
        retry::Verdict::Delivered => Ok(()),
        _ => Err(DeliveryError::Status { sink: sink.display_name(), status, retry_after }),
    }
}

/// Delivers one notification with retries and reports the outcome.
async fn deliver(shared: &Shared, http: &HttpClient, sink: &Sink, queued: Queued) {
    let Queued { notification, receipt } = queued;
    let settings: &NotifySettings = &shared.settings;
    let backoff = settings.backoff();
    let max_attempts = settings.max_attempts.max(1);
    let name = sink.display_name();
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        match attempt(&shared.client, http, sink, &notification, settings.timeout).await {
            Ok(()) => break Ok(()),
            Err(error) if !error.is_retryable() || attempts >= max_attempts => break Err(error),
            Err(error) => {
                let delay = retry::next_delay(&backoff, attempts, error.retry_after());
                tracing::debug!(
                    sink = %name,
                    id = %notification.id,
                    attempt = attempts,
                    category = error.category(),
                    error = %error,
                    retry_in = ?delay,
                    "notification delivery failed; retrying"
                );
                tokio::time::sleep(delay).await;
            }
        }
    };
    let (result, category) = match &outcome {
        Ok(()) => {
            tracing::debug!(sink = %name, id = %notification.id, attempts, "notification delivered");
            (NotificationResult::Delivered, None)
        }
        Err(error) => {
            let result = if error.is_misconfiguration() {
                NotificationResult::Misconfigured
            } else if error.is_retryable() {
                NotificationResult::Exhausted
            } else {
                NotificationResult::Rejected
            };
            tracing::warn!(
                sink = %name,
                id = %notification.id,
                kind = %notification.kind,
                attempts,
                category = error.category(),
                error = %crate::operator::notify::ErrorChain(error),
                "notification not delivered"
            );
            // Not delivered for a reason that may pass (an unreachable sink, a Secret not
            // there yet): a later send of the same occurrence may try again. A sink that
            // refused the event has seen it; it is not offered again.
            if result != NotificationResult::Rejected {
                shared.forget(&sink.key(), &notification.id);
            }
            (result, Some(error.category()))
        }
    };
    shared.finish(DeliveryReport { sink: name, id: notification.id, result, attempts, category });
    if let Some(receipt) = receipt {
        receipt(result, outcome.as_ref().err());
    }
}

/// Runs a sink's worker until its queue closes or it has been idle for a while; what was
/// queued before it stopped is still delivered.
pub(crate) async fn run_worker(shared: Arc<Shared>, http: HttpClient, sink: Sink, mut queue: mpsc::Receiver<Queued>) {
    loop {
        match tokio::time::timeout(IDLE_TIMEOUT, queue.recv()).await {
            Ok(Some(queued)) => deliver(&shared, &http, &sink, queued).await,
            Ok(None) => return,
            Err(_) => {
                queue.close();
                while let Ok(queued) = queue.try_recv() {
                    deliver(&shared, &http, &sink, queued).await;
                }
                return;
            }
        }
    }
}
