//! Leader election against the sandbox API server: one leader among two electors, a fast
//! takeover when the leader steps down, and a takeover after the Lease expires when the
//! leader crashes.
//!
//! `kube-lease-manager` writes the Lease with strategic-merge and server-side-apply
//! patches. While the sandbox accepts only JSON and merge patches, the tests reach it
//! through [`PatchShim`], a loopback proxy that re-labels those two patch types as merge
//! patches. For the Lease's scalar spec fields the result is the same, except that
//! server-side apply's field-ownership conflicts are not enforced; the tests therefore
//! start the second elector only once the first one leads, so two electors never race for
//! a free Lease. Once the sandbox serves both patch types, the shim is bypassed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use driftwarden::operator::leader::{LeaderElector, LeaderSettings, identity_with_suffix};
use driftwarden::sandbox::testing::{Sandbox, TempNamespace};
use futures::StreamExt;
use http::header::CONTENT_TYPE;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);

/// A loopback proxy in front of the sandbox that forwards every request, re-labelling
/// strategic-merge and apply patches as merge patches.
struct PatchShim {
    address: SocketAddr,
}

impl PatchShim {
    async fn start(upstream: SocketAddr) -> PatchShim {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client: HttpClient<HttpConnector, Full<Bytes>> =
            HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let client = client.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                        let client = client.clone();
                        async move {
                            let (mut parts, body) = request.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                            parts.uri = format!("http://{upstream}{path}").parse().unwrap();
                            let relabel = parts.headers.get(CONTENT_TYPE).is_some_and(|v| {
                                v == "application/strategic-merge-patch+json" || v == "application/apply-patch+yaml"
                            });
                            if relabel {
                                parts.headers.insert(CONTENT_TYPE, "application/merge-patch+json".parse().unwrap());
                            }
                            let forwarded = http::Request::from_parts(parts, Full::new(body));
                            client.request(forwarded).await
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        PatchShim { address }
    }
}

/// Whether the sandbox itself accepts the patch types `kube-lease-manager` sends.
async fn sandbox_serves_lease_patches(client: &kube::Client, namespace: &str) -> bool {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let mut probe = Lease::default();
    probe.metadata.name = Some("patch-probe".to_string());
    leases.create(&PostParams::default(), &probe).await.unwrap();
    let strategic = json!({"spec": {"leaseDurationSeconds": 1}});
    let apply = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "spec": {"leaseDurationSeconds": 2}});
    let strategic = leases.patch("patch-probe", &PatchParams::default(), &Patch::Strategic(strategic)).await;
    let apply = leases.patch("patch-probe", &PatchParams::apply("probe"), &Patch::Apply(apply)).await;
    strategic.is_ok() && apply.is_ok()
}

/// A sandbox, a namespace, and a client that can manage Leases in it.
struct Setup {
    _sandbox: Sandbox,
    _shim: Option<PatchShim>,
    _namespace: TempNamespace,
    namespace: String,
    client: kube::Client,
}

async fn setup() -> Setup {
    let sandbox = Sandbox::start().await.unwrap();
    let namespace = sandbox.temp_namespace().await.unwrap();
    let name = namespace.name().to_string();
    if sandbox_serves_lease_patches(&sandbox.client(), &name).await {
        let client = sandbox.client();
        return Setup { _sandbox: sandbox, _shim: None, _namespace: namespace, namespace: name, client };
    }
    let shim = PatchShim::start(sandbox.address()).await;
    let config = kube::Config::new(format!("http://{}", shim.address).parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    Setup { _sandbox: sandbox, _shim: Some(shim), _namespace: namespace, namespace: name, client }
}

impl Setup {
    fn settings(&self, base: &str, lease_duration: u64, renew_margin: u64) -> LeaderSettings {
        LeaderSettings {
            namespace: self.namespace.clone(),
            lease_name: "driftwarden-leader".to_string(),
            identity: identity_with_suffix(base),
            lease_duration: Duration::from_secs(lease_duration),
            renew_margin: Duration::from_secs(renew_margin),
        }
    }

    async fn lease(&self) -> Lease {
        Api::<Lease>::namespaced(self.client.clone(), &self.namespace).get("driftwarden-leader").await.unwrap()
    }

    /// Waits until `holder` has renewed the Lease `times` more times.
    async fn renewals(&self, holder: &str, times: usize) {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), &self.namespace);
        let config = watcher::Config::default().fields("metadata.name=driftwarden-leader");
        let mut events = watcher(leases, config).boxed();
        let mut seen = Vec::new();
        tokio::time::timeout(WAIT, async {
            while seen.len() <= times {
                let Some(Ok(watcher::Event::Apply(lease) | watcher::Event::InitApply(lease))) = events.next().await
                else {
                    continue;
                };
                let spec = lease.spec.unwrap_or_default();
                if spec.holder_identity.as_deref() == Some(holder)
                    && let Some(renewed) = spec.renew_time
                    && !seen.contains(&renewed)
                {
                    seen.push(renewed);
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{holder} did not renew {times} times within {WAIT:?}"));
    }
}

fn holder(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref().and_then(|spec| spec.holder_identity.as_deref())
}

async fn becomes(receiver: &mut watch::Receiver<bool>, leading: bool) {
    tokio::time::timeout(WAIT, receiver.wait_for(|now| *now == leading))
        .await
        .unwrap_or_else(|_| panic!("leadership did not become {leading} within {WAIT:?}"))
        .expect("the elector is running");
}

#[tokio::test]
async fn one_leader_and_a_fast_takeover_when_it_steps_down() {
    let setup = setup().await;
    // A long term: a takeover faster than it proves the release was noticed.
    let first = LeaderElector::start(setup.client.clone(), setup.settings("replica-a", 10, 5)).await.unwrap();
    let mut first_leads = first.subscribe();
    becomes(&mut first_leads, true).await;

    let second = LeaderElector::start(setup.client.clone(), setup.settings("replica-b", 10, 5)).await.unwrap();
    let second_leads = second.subscribe();
    setup.renewals(first.identity(), 1).await;
    assert!(first.is_leader());
    assert!(!second.is_leader());
    assert!(!second_leads.has_changed().unwrap(), "the standby was never leader");
    assert_eq!(holder(&setup.lease().await), Some(first.identity()));

    let first_identity = first.identity().to_string();
    let stepped_down = Instant::now();
    first.step_down().await.unwrap();
    assert!(!*first_leads.borrow(), "a stepped-down elector publishes false");
    let mut second_leads = second_leads;
    becomes(&mut second_leads, true).await;
    let takeover = stepped_down.elapsed();
    assert!(takeover < Duration::from_secs(5), "takeover took {takeover:?}, not within seconds");
    let lease = setup.lease().await;
    assert_eq!(holder(&lease), Some(second.identity()));
    assert_ne!(holder(&lease), Some(first_identity.as_str()));
    second.step_down().await.unwrap();
    assert_eq!(holder(&setup.lease().await), None, "stepping down releases the Lease");
}

#[tokio::test]
async fn a_crashed_leader_is_replaced_after_its_lease_expires() {
    let setup = setup().await;
    let first = LeaderElector::start(setup.client.clone(), setup.settings("replica-a", 2, 1)).await.unwrap();
    becomes(&mut first.subscribe(), true).await;
    let second = LeaderElector::start(setup.client.clone(), setup.settings("replica-b", 2, 1)).await.unwrap();
    let mut second_leads = second.subscribe();
    setup.renewals(first.identity(), 2).await;
    assert!(!second.is_leader(), "the standby must not lead while the leader renews");
    let transitions = setup.lease().await.spec.and_then(|spec| spec.lease_transitions).unwrap_or(0);

    // A crash: the elector stops without releasing the Lease.
    let crashed = Instant::now();
    drop(first);
    becomes(&mut second_leads, true).await;
    let takeover = crashed.elapsed();
    // The term (2 s) has to run out first; the standby then needs at most about a second.
    assert!(takeover < Duration::from_secs(6), "takeover took {takeover:?}");
    let lease = setup.lease().await;
    assert_eq!(holder(&lease), Some(second.identity()));
    assert!(lease.spec.and_then(|spec| spec.lease_transitions).unwrap_or(0) > transitions);
    second.step_down().await.unwrap();
}

#[tokio::test]
async fn invalid_timing_is_refused_before_touching_the_api() {
    let setup = setup().await;
    let error = LeaderElector::start(setup.client.clone(), setup.settings("replica-a", 2, 2)).await.unwrap_err();
    assert_eq!(error.category(), "InvalidTiming");
    assert!(
        Api::<Lease>::namespaced(setup.client.clone(), &setup.namespace)
            .get_opt("driftwarden-leader")
            .await
            .unwrap()
            .is_none()
    );
}
