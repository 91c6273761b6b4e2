//! One fuzz input served: a fresh sandbox, one in-memory connection per request, and the
//! checks every answer must pass.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::FutureExt;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::input::{self, Credentials, InputRequest};
use crate::admission;
use crate::auth::{Authenticator, UserInfo, bootstrap};
use crate::faults::Faults;
use crate::server::{self, FaultSpec, RequestLog};
use crate::store::{Snapshot, Store, StoreConfig};

/// The admin token of the fuzzed sandbox.
const ADMIN_TOKEN: &str = "fuzz-admin";

/// How many events of a watch stream are read before the harness hangs up.
const MAX_WATCH_EVENTS: usize = 32;

/// How many times the harness lets the server run before it takes a watch stream to have
/// nothing more to say for now.
const YIELDS_PER_EVENT: usize = 8;

/// Fuzz entry point: serves the requests `data` spells (see [`input`]) one after the
/// other, each on its own in-memory HTTP/1.1 connection to the sandbox's real connection
/// handling, against one fresh sandbox (bootstrap RBAC, admission, and driftwarden's
/// CRDs installed; an admin token, a user and a ServiceAccount). Invariants, besides not
/// panicking and answering every request with well-formed HTTP:
/// - no status is 5xx, except after the input injected a fault through the sandbox
///   controls, and the plain-text 500 kube-apiserver gives impersonation headers that
///   name no user (both documented);
/// - every complete JSON body parses, and an error's is a `Status` with the same code;
/// - a watch stream is one JSON event per line.
///
/// Delay faults are not injected (they only make the run wait), and a watch is read until
/// it has nothing more to say at once, at most [`MAX_WATCH_EVENTS`] events.
pub fn http_requests(data: &[u8]) {
    let requests = input::parse(data);
    if requests.is_empty() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(serve_all(requests));
}

/// What one input's requests are served by.
struct Harness {
    context: Arc<server::Context>,
    user_token: String,
    service_account_token: String,
    faults_injected: bool,
}

async fn serve_all(requests: Vec<InputRequest>) {
    let mut harness = Harness::new();
    for request in requests {
        harness.serve(request).await;
    }
}

/// The objects every input starts from: the bootstrap RBAC objects and driftwarden's
/// CRDs. Made once per process, since installing the CRDs costs far more than restoring
/// them (or serving a request).
fn prepared() -> &'static Snapshot {
    static PREPARED: OnceLock<Snapshot> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let store = Store::new(StoreConfig::default()).expect("a store");
        bootstrap::install(&store).expect("bootstrap RBAC");
        crate::run::crds::install(&store, &driftwarden_core::api::crds()).expect("driftwarden's CRDs");
        store.snapshot()
    })
}

impl Harness {
    fn new() -> Self {
        let store = Arc::new(Store::restore(StoreConfig::default(), prepared().clone()).expect("the prepared store"));
        store.set_admission(Arc::new(admission::Engine::default()));
        let auth = Arc::new(Authenticator::new(ADMIN_TOKEN));
        let user_token = auth.register(UserInfo::user("fuzz-user", &["fuzzers"])).token;
        let service_account_token = auth.register(UserInfo::service_account("default", "fuzz")).token;
        let context = Arc::new(server::Context {
            store,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 6443)),
            auth,
            faults: Arc::new(Faults::default()),
            requests: Arc::new(RequestLog::with_capacity(0)),
        });
        Harness { context, user_token, service_account_token, faults_injected: false }
    }

    async fn serve(&mut self, input: InputRequest) {
        let InputRequest { mut request, credentials } = input;
        let controls = request.uri().path().starts_with(server::admin::PREFIX);
        if controls && delays(&request) {
            return;
        }
        let authorization = match credentials {
            Credentials::Admin => Some(bearer(ADMIN_TOKEN)),
            Credentials::User => Some(bearer(&self.user_token)),
            Credentials::ServiceAccount => Some(bearer(&self.service_account_token)),
            Credentials::Nothing => None,
            Credentials::Verbatim(value) => Some(value),
        };
        if let Some(value) = authorization {
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
        let described = format!("{} {}", request.method(), request.uri());
        let injects = controls && request.method() == Method::POST;
        let response = self.exchange(request).await;
        let (head, body) = read(response).await;
        let succeeded = head.status().is_success();
        check(&described, head, &body, self.faults_injected);
        self.faults_injected |= injects && succeeded;
    }

    /// Sends `request` on a new in-memory connection served as the server serves each
    /// accepted one.
    async fn exchange(&self, request: Request<Full<Bytes>>) -> Response<Incoming> {
        let (client, served) = tokio::io::duplex(64 * 1024);
        tokio::spawn(server::serve_connection(self.context.clone(), served));
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(client)).await.expect("an HTTP/1.1 handshake");
        tokio::spawn(connection);
        let described = format!("{} {}", request.method(), request.uri());
        sender.send_request(request).await.unwrap_or_else(|e| panic!("{described}: no well-formed answer: {e}"))
    }
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("tokens are header-safe")
}

/// Whether the request asks the sandbox controls for a delay fault.
fn delays(request: &Request<Full<Bytes>>) -> bool {
    let Some(Ok(body)) = request.body().clone().collect().now_or_never() else { return false };
    serde_json::from_slice::<FaultSpec>(&body.to_bytes()).is_ok_and(|spec| spec.delay_millis.is_some())
}

/// What an answer's body says.
enum Answer {
    /// A complete body (the server gave its length).
    Complete(Bytes),
    /// The events of a stream, each as one frame, as many as came at once.
    Stream(Vec<Bytes>),
}

async fn read(response: Response<Incoming>) -> (Response<()>, Answer) {
    let (parts, mut body) = response.into_parts();
    let answer = if parts.headers.contains_key(header::CONTENT_LENGTH) {
        let collected = body.collect().await.unwrap_or_else(|e| panic!("the body did not arrive whole: {e}"));
        Answer::Complete(collected.to_bytes())
    } else {
        let mut events = Vec::new();
        while events.len() < MAX_WATCH_EVENTS {
            for _ in 0..YIELDS_PER_EVENT {
                tokio::task::yield_now().await;
            }
            match body.frame().now_or_never() {
                Some(Some(Ok(frame))) => events.extend(frame.into_data().ok()),
                Some(Some(Err(e))) => panic!("a stream broke: {e}"),
                Some(None) | None => break,
            }
        }
        Answer::Stream(events)
    };
    (Response::from_parts(parts, ()), answer)
}

fn check(described: &str, head: Response<()>, answer: &Answer, faults_injected: bool) {
    let status = head.status();
    let content_type = head.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match answer {
        Answer::Complete(body) => {
            let documented_500 = status == StatusCode::INTERNAL_SERVER_ERROR
                && content_type.starts_with("text/plain")
                && body.starts_with(b"Internal Server Error: ");
            assert!(
                status.as_u16() < 500 || faults_injected || documented_500,
                "{described} answered {status}: {}",
                String::from_utf8_lossy(body)
            );
            if content_type.starts_with("application/json") {
                let value: Value = serde_json::from_slice(body)
                    .unwrap_or_else(|e| panic!("{described}: the JSON body does not parse: {e}"));
                if status.as_u16() >= 400 {
                    assert_eq!(value["kind"], "Status", "{described}: an error is a Status: {value}");
                    assert_eq!(value["code"], status.as_u16(), "{described}: the Status has the answer's code");
                }
            }
        }
        Answer::Stream(events) => {
            assert!(status.is_success(), "{described}: a stream with status {status}");
            for event in events {
                let line = event.strip_suffix(b"\n").unwrap_or_else(|| panic!("{described}: an event is one line"));
                let value: Value = serde_json::from_slice(line)
                    .unwrap_or_else(|e| panic!("{described}: an event does not parse: {e}"));
                assert!(value["type"].is_string(), "{described}: an event has a type: {value}");
            }
        }
    }
}
