//! Leader election against the sandbox API server: one leader among two electors, a fast
//! takeover when the leader steps down, and a takeover after the Lease expires when the
//! leader crashes.
//!
//! `kube-lease-manager` writes the Lease with strategic-merge and server-side-apply
//! patches, which the sandbox serves as the API server does.

use std::time::{Duration, Instant};

use driftwarden::operator::leader::{LeaderElector, LeaderSettings, identity_with_suffix};
use driftwarden_sandbox::testing::{Sandbox, TempNamespace};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::runtime::watcher;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);

/// A sandbox, a namespace, and a client that can manage Leases in it.
struct Setup {
    _sandbox: Sandbox,
    _namespace: TempNamespace,
    namespace: String,
    client: kube::Client,
}

async fn setup() -> Setup {
    let sandbox = Sandbox::start().await.unwrap();
    let namespace = sandbox.temp_namespace().await.unwrap();
    let name = namespace.name().to_string();
    let client = sandbox.client();
    Setup { _sandbox: sandbox, _namespace: namespace, namespace: name, client }
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

#[tokio::test]
async fn two_electors_starting_together_agree_on_one_leader() {
    let setup = setup().await;
    let (a, b) = tokio::join!(
        LeaderElector::start(setup.client.clone(), setup.settings("replica-a", 10, 5)),
        LeaderElector::start(setup.client.clone(), setup.settings("replica-b", 10, 5)),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let (mut a_leads, mut b_leads) = (a.subscribe(), b.subscribe());
    tokio::time::timeout(WAIT, async {
        tokio::select! {
            _ = a_leads.wait_for(|leading| *leading) => {}
            _ = b_leads.wait_for(|leading| *leading) => {}
        }
    })
    .await
    .expect("one of them leads");
    let lease = setup.lease().await;
    let leader = if a.is_leader() { a.identity() } else { b.identity() };
    assert_eq!(holder(&lease), Some(leader));
    // Through a renewal of the leader, the other stays a standby.
    setup.renewals(leader, 1).await;
    assert!(a.is_leader() != b.is_leader(), "exactly one leader");
}
