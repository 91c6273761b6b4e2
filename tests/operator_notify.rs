//! CloudEvents delivery against a local HTTP receiver, with the sink's Secret in the
//! sandbox API server.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use driftwarden::api::common::SecretKeyRef;
use driftwarden::api::policy::{CloudEventsMode, NotifySpec};
use driftwarden::notification::{NOTIFICATION_CREDENTIALS_LABEL, SinkAddressPolicy};
use driftwarden::operator::metrics::{Metrics, NotificationResult};
use driftwarden::operator::notify::{
    DeliveryReport, Enqueued, Notification, NotificationType, Notifier, NotifySettings, Sink,
};
use driftwarden_sandbox::testing::{Sandbox, TempNamespace};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::sync::{broadcast, watch};

const WAIT: Duration = Duration::from_secs(20);

/// One scripted answer of the receiver.
#[derive(Clone)]
struct Reply {
    status: StatusCode,
    retry_after: Option<&'static str>,
}

impl Reply {
    fn status(status: StatusCode) -> Self {
        Reply { status, retry_after: None }
    }
}

/// A request the receiver got, and what it answered.
#[derive(Clone, Debug)]
struct Recorded {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
    answered: StatusCode,
}

struct ReceiverState {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
    /// Requests wait while it is `false`.
    gate: Option<watch::Sender<bool>>,
}

/// A local HTTP server that records requests and answers from a script (200 when empty).
struct Receiver {
    address: SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(script: Vec<Reply>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(ReceiverState {
            script: Mutex::new(script.into()),
            requests: Mutex::default(),
            gate: Some(watch::Sender::new(true)),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                        let state = state.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            if let Some(gate) = &state.gate {
                                let _ = gate.subscribe().wait_for(|open| *open).await;
                            }
                            let reply = state
                                .script
                                .lock()
                                .unwrap()
                                .pop_front()
                                .unwrap_or(Reply { status: StatusCode::OK, retry_after: None });
                            state.requests.lock().unwrap().push(Recorded {
                                path: parts.uri.path().to_string(),
                                headers: parts.headers,
                                body,
                                at: Instant::now(),
                                answered: reply.status,
                            });
                            let mut response = Response::builder().status(reply.status);
                            if let Some(value) = reply.retry_after {
                                response = response.header(http::header::RETRY_AFTER, value);
                            }
                            Ok::<_, std::convert::Infallible>(response.body(Full::new(Bytes::new())).unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { address, state }
    }

    fn url(&self, token: &str) -> String {
        format!("http://{}/hook/{token}", self.address)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    fn set_gate(&self, open: bool) {
        if let Some(gate) = &self.state.gate {
            gate.send_replace(open);
        }
    }
}

/// Everything the tests log, from every test in this binary.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber in this test binary");
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sandbox, a namespace, a notifier and its reports.
struct Setup {
    _sandbox: Sandbox,
    namespace: TempNamespace,
    client: kube::Client,
    notifier: Notifier,
    reports: broadcast::Receiver<DeliveryReport>,
    metrics: Arc<Metrics>,
}

fn fast_settings() -> NotifySettings {
    NotifySettings {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
        dedup_capacity: 64,
        queue_capacity: 16,
        addresses: loopback_allowed(),
    }
}

/// The receivers listen on 127.0.0.1: allowed as `--notification-allowed-cidrs 127.0.0.0/8`
/// allows it.
fn loopback_allowed() -> SinkAddressPolicy {
    SinkAddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap()])
}

async fn setup(settings: NotifySettings) -> Setup {
    captured_logs();
    let sandbox = Sandbox::start().await.unwrap();
    let namespace = sandbox.temp_namespace().await.unwrap();
    let client = sandbox.client();
    let metrics = Arc::new(Metrics::new());
    let (notifier, _task) = Notifier::spawn(client.clone(), settings, metrics.clone());
    let reports = notifier.reports();
    Setup { _sandbox: sandbox, namespace, client, notifier, reports, metrics }
}

impl Setup {
    /// Writes the sink's Secret (created or replaced, labelled for notifications) and
    /// returns the sink.
    async fn sink(&self, url: &str, auth: Option<&str>, mode: CloudEventsMode) -> Sink {
        self.sink_labelled(url, auth, mode, true).await
    }

    /// Writes the sink's Secret, labelled for notifications or not, and returns the sink.
    async fn sink_labelled(&self, url: &str, auth: Option<&str>, mode: CloudEventsMode, labelled: bool) -> Sink {
        let mut data = BTreeMap::new();
        data.insert("url".to_string(), ByteString(url.as_bytes().to_vec()));
        if let Some(auth) = auth {
            data.insert("auth".to_string(), ByteString(auth.as_bytes().to_vec()));
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), self.namespace.name());
        let mut secret = Secret { data: Some(data), ..Default::default() };
        secret.metadata.name = Some("hook".to_string());
        if labelled {
            secret.metadata.labels = Some(notification_label());
        }
        if secrets.get_opt("hook").await.unwrap().is_some() {
            let patch = json!({"data": secret.data});
            secrets.patch("hook", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
        } else {
            secrets.create(&PostParams::default(), &secret).await.unwrap();
        }
        Sink {
            namespace: self.namespace.name().to_string(),
            spec: NotifySpec {
                url_secret_ref: SecretKeyRef { name: "hook".to_string(), key: "url".to_string() },
                auth_secret_ref: auth.map(|_| SecretKeyRef { name: "hook".to_string(), key: "auth".to_string() }),
                mode,
                types: Vec::new(),
            },
        }
    }

    /// Waits for the report of `id`.
    async fn report(&mut self, id: &str) -> DeliveryReport {
        tokio::time::timeout(WAIT, async {
            loop {
                let report = self.reports.recv().await.expect("the notifier is running");
                if report.id == id {
                    return report;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no report for {id} within {WAIT:?}"))
    }
}

/// The label that marks a Secret for notifications.
fn notification_label() -> BTreeMap<String, String> {
    BTreeMap::from([(NOTIFICATION_CREDENTIALS_LABEL.to_string(), "true".to_string())])
}

fn notification(id: &str) -> Notification {
    Notification {
        id: id.to_string(),
        kind: NotificationType::DriftEscalated,
        source: "/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web".to_string(),
        subject: Some("apps/v1/Deployment/shop/frontend".to_string()),
        time: "2026-03-01T10:42:00Z".parse().unwrap(),
        data: json!({"paths": ["/spec/template/spec/containers/0/image"], "class": "Rollout"}),
    }
}

fn header<'a>(request: &'a Recorded, name: &str) -> &'a str {
    request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("header {name} missing"))
}

#[tokio::test]
async fn binary_mode_sends_attributes_as_headers_and_data_as_body() {
    let receiver = Receiver::start(vec![]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&receiver.url("binary-token"), Some("Bearer binary-auth"), CloudEventsMode::Binary).await;

    assert_eq!(setup.notifier.send(&sink, notification("bin-1")), Enqueued::Queued);
    let report = setup.report("bin-1").await;
    assert_eq!(report.result, NotificationResult::Delivered);
    assert_eq!(report.attempts, 1);
    assert_eq!(report.sink, format!("{}/hook", setup.namespace.name()));

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/hook/binary-token");
    assert_eq!(header(request, "ce-specversion"), "1.0");
    assert_eq!(header(request, "ce-id"), "bin-1");
    assert_eq!(header(request, "ce-type"), "dev.driftwarden.drift.escalated");
    assert_eq!(header(request, "ce-source"), "/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web");
    assert_eq!(header(request, "ce-subject"), "apps/v1/Deployment/shop/frontend");
    assert_eq!(header(request, "ce-time"), "2026-03-01T10:42:00Z");
    assert_eq!(header(request, "content-type"), "application/json");
    assert_eq!(header(request, "authorization"), "Bearer binary-auth");
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, notification("bin-1").data);
    assert!(setup.metrics.encode().contains(r#"driftwarden_notifications_total{result="delivered"} 1"#));
}

#[tokio::test]
async fn structured_mode_sends_the_event_as_json() {
    let receiver = Receiver::start(vec![]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&receiver.url("structured-token"), None, CloudEventsMode::Structured).await;

    setup.notifier.send(&sink, notification("struct-1"));
    assert_eq!(setup.report("struct-1").await.result, NotificationResult::Delivered);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(header(request, "content-type"), "application/cloudevents+json");
    assert!(request.headers.get("ce-id").is_none());
    assert!(request.headers.get("authorization").is_none());
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({
            "specversion": "1.0",
            "id": "struct-1",
            "source": "/apis/driftwarden.dev/v1alpha1/namespaces/shop/driftpolicies/web",
            "type": "dev.driftwarden.drift.escalated",
            "subject": "apps/v1/Deployment/shop/frontend",
            "time": "2026-03-01T10:42:00Z",
            "datacontenttype": "application/json",
            "data": notification("struct-1").data,
        })
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_one_success() {
    let unavailable = Reply::status(StatusCode::SERVICE_UNAVAILABLE);
    let receiver = Receiver::start(vec![unavailable.clone(), unavailable]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&receiver.url("retry-token"), None, CloudEventsMode::Binary).await;

    setup.notifier.send(&sink, notification("retry-1"));
    let report = setup.report("retry-1").await;
    assert_eq!(report.result, NotificationResult::Delivered);
    assert_eq!(report.attempts, 3);

    let answered: Vec<_> = receiver.requests().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [StatusCode::SERVICE_UNAVAILABLE, StatusCode::SERVICE_UNAVAILABLE, StatusCode::OK]);
    assert!(receiver.requests().iter().all(|r| header(r, "ce-id") == "retry-1"));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let receiver = Receiver::start(vec![Reply { status: StatusCode::TOO_MANY_REQUESTS, retry_after: Some("1") }]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&receiver.url("later-token"), None, CloudEventsMode::Binary).await;

    setup.notifier.send(&sink, notification("later-1"));
    let report = setup.report("later-1").await;
    assert_eq!((report.result, report.attempts), (NotificationResult::Delivered, 2));

    let requests = receiver.requests();
    let waited = requests[1].at.duration_since(requests[0].at);
    // The backoff alone would be at most 20 ms.
    assert!(waited >= Duration::from_millis(950), "retried after {waited:?}, before the asked 1 s");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let receiver = Receiver::start(vec![Reply::status(StatusCode::BAD_REQUEST)]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&receiver.url("reject-token"), None, CloudEventsMode::Binary).await;

    setup.notifier.send(&sink, notification("reject-1"));
    setup.notifier.send(&sink, notification("reject-2"));
    let report = setup.report("reject-1").await;
    assert_eq!(
        (report.result, report.attempts, report.category),
        (NotificationResult::Rejected, 1, Some("HttpStatus"))
    );
    // A sink is served in order: once the next one is delivered, no retry of the first is
    // pending.
    assert_eq!(setup.report("reject-2").await.result, NotificationResult::Delivered);
    let ids: Vec<_> = receiver.requests().iter().map(|r| header(r, "ce-id").to_string()).collect();
    assert_eq!(ids, ["reject-1", "reject-2"]);
    // The sink has seen it and refused it: it is not offered again.
    assert_eq!(setup.notifier.send(&sink, notification("reject-1")), Enqueued::Duplicate);
    assert!(setup.metrics.encode().contains(r#"driftwarden_notifications_total{result="rejected"} 1"#));
}

#[tokio::test]
async fn one_occurrence_is_sent_once_per_sink() {
    let receiver = Receiver::start(vec![]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&receiver.url("dedup-token"), None, CloudEventsMode::Binary).await;
    let other_mode =
        Sink { spec: NotifySpec { mode: CloudEventsMode::Structured, ..sink.spec.clone() }, ..sink.clone() };

    assert_eq!(setup.notifier.send(&sink, notification("once")), Enqueued::Queued);
    assert_eq!(setup.notifier.send(&sink, notification("once")), Enqueued::Duplicate);
    assert_eq!(setup.report("once").await.result, NotificationResult::Delivered);
    assert_eq!(setup.notifier.send(&sink, notification("once")), Enqueued::Duplicate);
    // Another sink gets its own copy.
    assert_eq!(setup.notifier.send(&other_mode, notification("once")), Enqueued::Queued);
    assert_eq!(setup.report("once").await.result, NotificationResult::Delivered);
    setup.notifier.send(&sink, notification("twice"));
    assert_eq!(setup.report("twice").await.result, NotificationResult::Delivered);

    let requests = receiver.requests();
    let ids: Vec<_> = requests
        .iter()
        .map(|r| r.headers.get("ce-id").map_or_else(|| "structured".to_string(), |v| v.to_str().unwrap().to_string()))
        .collect();
    assert_eq!(ids, ["once", "structured", "twice"]);
    assert!(setup.metrics.encode().contains(r#"driftwarden_notifications_total{result="duplicate"} 2"#));
}

#[tokio::test]
async fn a_sink_nothing_names_any_more_is_forgotten() {
    let receiver = Receiver::start(vec![]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&receiver.url("forget-token"), None, CloudEventsMode::Binary).await;
    let other_mode =
        Sink { spec: NotifySpec { mode: CloudEventsMode::Structured, ..sink.spec.clone() }, ..sink.clone() };
    setup.notifier.send(&sink, notification("kept"));
    setup.notifier.send(&other_mode, notification("gone"));
    setup.report("kept").await;
    setup.report("gone").await;
    assert_eq!(setup.notifier.sinks_remembered(), 2);
    setup.notifier.retain_sinks(&std::iter::once(sink.key()).collect());
    assert_eq!(setup.notifier.sinks_remembered(), 1);
    assert_eq!(setup.notifier.send(&sink, notification("kept")), Enqueued::Duplicate, "a named sink remembers");
}

#[tokio::test]
async fn a_rotated_secret_takes_effect_at_the_next_delivery() {
    let old = Receiver::start(vec![]).await;
    let new = Receiver::start(vec![]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&old.url("old-token"), None, CloudEventsMode::Binary).await;
    setup.notifier.send(&sink, notification("before"));
    assert_eq!(setup.report("before").await.result, NotificationResult::Delivered);

    setup.sink(&new.url("new-token"), None, CloudEventsMode::Binary).await;
    setup.notifier.send(&sink, notification("after"));
    assert_eq!(setup.report("after").await.result, NotificationResult::Delivered);
    assert_eq!(old.requests().len(), 1);
    assert_eq!(new.requests().len(), 1);
    assert_eq!(new.requests()[0].path, "/hook/new-token");
}

#[tokio::test]
async fn a_missing_secret_is_reported_as_misconfigured() {
    let mut setup = setup(fast_settings()).await;
    let sink = Sink {
        namespace: setup.namespace.name().to_string(),
        spec: NotifySpec {
            url_secret_ref: SecretKeyRef { name: "absent".to_string(), key: "url".to_string() },
            auth_secret_ref: None,
            mode: CloudEventsMode::Binary,
            types: Vec::new(),
        },
    };
    setup.notifier.send(&sink, notification("nowhere"));
    let report = setup.report("nowhere").await;
    assert_eq!(
        (report.result, report.attempts, report.category),
        (NotificationResult::Misconfigured, 1, Some("SecretNotFound"))
    );
    // Not delivered, so the same occurrence may be sent again once the Secret exists.
    assert_eq!(setup.notifier.send(&sink, notification("nowhere")), Enqueued::Queued);
}

#[tokio::test]
async fn a_full_queue_drops_instead_of_blocking() {
    let receiver = Receiver::start(vec![]).await;
    receiver.set_gate(false);
    let settings = NotifySettings { queue_capacity: 1, ..fast_settings() };
    let mut setup = setup(settings).await;
    let sink = setup.sink(&receiver.url("full-token"), None, CloudEventsMode::Binary).await;

    // Every send returns at once while the sink holds the first request: at most one is in
    // flight, one waits in the sink's queue, one in the shared queue and one in the router.
    let outcomes: Vec<_> = (0..12).map(|i| setup.notifier.send(&sink, notification(&format!("full-{i}")))).collect();
    let refused = outcomes.iter().filter(|o| **o == Enqueued::Dropped).count();
    let queued = outcomes.len() - refused;
    let (mut dropped, mut delivered) = (0, 0);
    let mut opened = false;
    while delivered + dropped < outcomes.len() {
        let report = tokio::time::timeout(WAIT, setup.reports.recv()).await.expect("a report").unwrap();
        match report.result {
            NotificationResult::Dropped => dropped += 1,
            NotificationResult::Delivered => delivered += 1,
            other => panic!("unexpected {other:?}"),
        }
        if !opened && dropped >= 8 {
            opened = true;
            receiver.set_gate(true);
        }
    }
    assert!(refused <= dropped && queued >= delivered && (1..=4).contains(&delivered), "{delivered} delivered");
    assert_eq!(receiver.requests().len(), delivered);
    let metrics = setup.metrics.encode();
    assert!(
        metrics.contains(&format!(r#"driftwarden_notifications_total{{result="dropped"}} {dropped}"#)),
        "{metrics}"
    );
}

#[tokio::test]
async fn secret_values_never_reach_the_logs() {
    let receiver = Receiver::start(vec![
        Reply::status(StatusCode::BAD_GATEWAY),
        Reply::status(StatusCode::UNAUTHORIZED),
        Reply::status(StatusCode::OK),
    ])
    .await;
    let mut setup = setup(fast_settings()).await;
    let token = "url-t0ken-9f1c2e";
    let auth = "Bearer auth-v4lue-77ab30";
    let sink = setup.sink(&receiver.url(token), Some(auth), CloudEventsMode::Binary).await;

    setup.notifier.send(&sink, notification("logged-1"));
    setup.notifier.send(&sink, notification("logged-2"));
    assert_eq!(setup.report("logged-1").await.result, NotificationResult::Rejected);
    assert_eq!(setup.report("logged-2").await.result, NotificationResult::Delivered);
    assert_eq!(receiver.requests().len(), 3);
    assert_eq!(header(&receiver.requests()[0], "authorization"), auth);

    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
    let sink_name = format!("{}/hook", setup.namespace.name());
    assert!(logs.contains(&sink_name) && logs.contains("logged-1"), "the deliveries were not logged: {logs}");
    let base64 = base64::engine::general_purpose::STANDARD;
    for secret in [token, auth, "auth-v4lue-77ab30", &base64.encode(auth), &base64.encode(receiver.url(token))] {
        assert!(!logs.contains(secret), "a Secret value was logged: {secret}");
    }
}

#[tokio::test]
async fn a_slow_sink_does_not_hold_up_another() {
    let slow = Receiver::start(vec![]).await;
    slow.set_gate(false);
    let fast = Receiver::start(vec![]).await;
    let mut setup = setup(fast_settings()).await;
    let slow_sink = setup.sink(&slow.url("slow-token"), None, CloudEventsMode::Binary).await;
    // A second Secret for the second sink.
    let secrets: Api<Secret> = Api::namespaced(setup.client.clone(), setup.namespace.name());
    let mut secret = Secret {
        data: Some(BTreeMap::from([("url".to_string(), ByteString(fast.url("fast-token").into_bytes()))])),
        ..Default::default()
    };
    secret.metadata.name = Some("fast-hook".to_string());
    secret.metadata.labels = Some(notification_label());
    secrets.create(&PostParams::default(), &secret).await.unwrap();
    let fast_sink = Sink {
        spec: NotifySpec {
            url_secret_ref: SecretKeyRef { name: "fast-hook".to_string(), key: "url".to_string() },
            ..slow_sink.spec.clone()
        },
        ..slow_sink.clone()
    };

    setup.notifier.send(&slow_sink, notification("held"));
    setup.notifier.send(&fast_sink, notification("through"));
    assert_eq!(setup.report("through").await.result, NotificationResult::Delivered);
    assert!(slow.requests().is_empty(), "the slow sink has not answered yet");
    slow.set_gate(true);
    assert_eq!(setup.report("held").await.result, NotificationResult::Delivered);
    assert_eq!(fast.requests().len(), 1);
    assert_eq!(slow.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_sink_is_retried_up_to_the_limit() {
    // A port that was free a moment ago: connections are refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink(&format!("http://{closed}/hook"), None, CloudEventsMode::Binary).await;

    setup.notifier.send(&sink, notification("unreachable"));
    let report = setup.report("unreachable").await;
    assert_eq!(
        (report.result, report.attempts, report.category),
        (NotificationResult::Exhausted, fast_settings().max_attempts, Some("Transport"))
    );
    assert!(setup.metrics.encode().contains(r#"driftwarden_notifications_total{result="exhausted"} 1"#));
    // Never delivered, so the occurrence may be offered again.
    assert_eq!(setup.notifier.send(&sink, notification("unreachable")), Enqueued::Queued);
}

/// The text logged since `from` (a length of [`captured_logs`] taken earlier).
fn logs_since(from: usize) -> String {
    String::from_utf8_lossy(&captured_logs().lock().unwrap()[from..]).to_string()
}

fn logged() -> usize {
    captured_logs().lock().unwrap().len()
}

#[tokio::test]
async fn a_loopback_sink_is_refused_without_the_allowed_block_and_never_reached() {
    let receiver = Receiver::start(vec![]).await;
    let mut setup = setup(NotifySettings { addresses: SinkAddressPolicy::default(), ..fast_settings() }).await;
    let sink = setup.sink(&receiver.url("loopback-token"), None, CloudEventsMode::Binary).await;

    setup.notifier.send(&sink, notification("loopback"));
    let report = setup.report("loopback").await;
    assert_eq!(
        (report.result, report.attempts, report.category),
        (NotificationResult::Misconfigured, 1, Some("AddressRefused")),
        "refused at once, not retried"
    );
    assert!(receiver.requests().is_empty(), "nothing reached the receiver");
    assert!(setup.metrics.encode().contains(r#"driftwarden_notifications_total{result="misconfigured"} 1"#));
}

#[tokio::test]
async fn the_metadata_address_is_refused_before_any_connection_even_with_loopback_allowed() {
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink("http://169.254.169.254/latest/meta-data/iam/", None, CloudEventsMode::Binary).await;
    let from = logged();
    setup.notifier.send(&sink, notification("metadata"));
    let report = setup.report("metadata").await;
    // A connection attempted would fail as Transport or Timeout (nothing answers there
    // from a test machine); the refusal comes before any.
    assert_eq!(
        (report.result, report.attempts, report.category),
        (NotificationResult::Misconfigured, 1, Some("AddressRefused"))
    );
    let logs = logs_since(from);
    assert!(
        logs.contains("not connected: 169.254.169.254 is a link-local (169.254.0.0/16, fe80::/10, where cloud metadata endpoints answer) address"),
        "the reason is logged: {logs}"
    );
    assert!(!logs.contains("/latest/meta-data"), "the URL is not logged: {logs}");
}

#[tokio::test]
async fn a_host_name_is_checked_on_the_addresses_it_resolves_to() {
    let receiver = Receiver::start(vec![]).await;
    let port = receiver.address.port();
    let mut strict = setup(NotifySettings { addresses: SinkAddressPolicy::default(), ..fast_settings() }).await;
    let sink = strict.sink(&format!("http://localhost:{port}/hook/named"), None, CloudEventsMode::Binary).await;
    strict.notifier.send(&sink, notification("named-refused"));
    assert_eq!(strict.report("named-refused").await.category, Some("AddressRefused"));
    assert!(receiver.requests().is_empty());

    // Allowed, `localhost` is connected to on the allowed address it resolves to.
    let mut open = setup(fast_settings()).await;
    let sink = open.sink(&format!("http://localhost:{port}/hook/named"), None, CloudEventsMode::Binary).await;
    open.notifier.send(&sink, notification("named-allowed"));
    assert_eq!(open.report("named-allowed").await.result, NotificationResult::Delivered);
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn an_unlabelled_secret_is_not_read() {
    let receiver = Receiver::start(vec![]).await;
    let mut setup = setup(fast_settings()).await;
    let sink = setup.sink_labelled(&receiver.url("unlabelled"), None, CloudEventsMode::Binary, false).await;
    let from = logged();
    setup.notifier.send(&sink, notification("unlabelled"));
    let report = setup.report("unlabelled").await;
    assert_eq!(
        (report.result, report.attempts, report.category),
        (NotificationResult::Misconfigured, 1, Some("SecretNotLabelled"))
    );
    assert!(receiver.requests().is_empty());
    let logs = logs_since(from);
    assert!(logs.contains(r#"Secret hook is not labelled driftwarden.dev/notification-credentials: "true""#), "{logs}");

    // An Authorization value in another, unlabelled Secret: nothing is sent, not even
    // without it.
    let labelled = setup.sink(&receiver.url("labelled"), None, CloudEventsMode::Binary).await;
    let secrets: Api<Secret> = Api::namespaced(setup.client.clone(), setup.namespace.name());
    let mut token = Secret {
        string_data: Some(BTreeMap::from([("auth".to_string(), "Bearer database-admin".to_string())])),
        ..Default::default()
    };
    token.metadata.name = Some("db-admin".to_string());
    secrets.create(&PostParams::default(), &token).await.unwrap();
    let with_auth = Sink {
        spec: NotifySpec {
            auth_secret_ref: Some(SecretKeyRef { name: "db-admin".to_string(), key: "auth".to_string() }),
            ..labelled.spec.clone()
        },
        ..labelled
    };
    setup.notifier.send(&with_auth, notification("borrowed-auth"));
    assert_eq!(setup.report("borrowed-auth").await.category, Some("SecretNotLabelled"));
    assert!(receiver.requests().is_empty(), "nothing was sent");
}
