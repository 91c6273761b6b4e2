//! Target `custom_resource`: one object, read as each of driftwarden's kinds the way the
//! operator reads them when it is listed or changed.

use jiff::Timestamp;
use serde_json::Value;

use super::{assert_round_trip, json};
use crate::api::campaign::CampaignStatus;
use crate::api::exception::{DEFAULT_INSTALLATION_CAP, DriftExceptionSpec, ExceptionStatus};
use crate::api::finding::FindingStatus;
use crate::api::policy::{PolicySpec, PolicyStatus};
use crate::engine::campaign::account;
use crate::engine::evaluate::compile;
use crate::reconcile::{campaigns, exceptions, findings};

/// The namespace the operator runs in, for the exception checks that depend on it.
const OPERATOR_NAMESPACE: &str = "driftwarden-system";

/// The time the checks that depend on it are made at: fixed, so that an input always
/// behaves the same.
const NOW: &str = "2026-06-01T12:00:00Z";

/// Fuzz entry point: `data` is a JSON object, read as a DriftPolicy, a ClusterDriftPolicy,
/// a RemediationCampaign, a DriftException and a Finding in turn (whatever its `kind`
/// says, so that every reader sees every input). A spec is parsed and then compiled or
/// checked as the operator does; a policy that compiles is evaluated against its own
/// resources, and a campaign that reads is accounted. Invariants: nothing panics; a
/// policy that does not compile says why; every spec and status that reads survives a
/// round trip through JSON unchanged. Bytes that are not JSON are ignored.
pub fn custom_resource(data: &[u8]) {
    let Some(object) = json(data) else { return };
    let now: Timestamp = NOW.parse().expect("NOW is a timestamp");
    policy(&object);
    campaign(&object, now);
    exception(&object, now);
    finding(&object);
}

fn spec_of(object: &Value) -> Value {
    object.get("spec").cloned().unwrap_or(Value::Object(Default::default()))
}

fn status_of<T: serde::de::DeserializeOwned>(object: &Value) -> Option<T> {
    serde_json::from_value(object.get("status")?.clone()).ok()
}

/// As `upsert_policy` does: the spec, then the compile step, as a namespaced policy in
/// the object's namespace and as a cluster policy.
fn policy(object: &Value) {
    if let Some(status) = status_of::<PolicyStatus>(object) {
        assert_round_trip("a policy status", &status);
    }
    let Ok(spec) = serde_json::from_value::<PolicySpec>(spec_of(object)) else { return };
    assert_round_trip("a policy spec", &spec);
    let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
    for namespace in [Some(namespace), None] {
        match compile("fuzz", namespace, &spec, &super::fingerprint_key()) {
            Ok(compiled) => {
                let _ = compiled.kinds();
                let resources: Vec<Value> = compiled.resources().map(|(_, template)| template.clone()).collect();
                // Every resource missing, then every resource present as declared.
                let _ = compiled.evaluate(&[], &|_| None);
                let _ = compiled.evaluate(&resources, &|_| None);
            }
            Err(problems) => {
                assert!(!problems.is_empty(), "a policy that does not compile says why");
                for problem in problems {
                    assert!(!problem.to_string().is_empty(), "a problem has words");
                }
            }
        }
    }
}

/// As `upsert_campaign` does: the spec and what the schema cannot check, then the status
/// accounted from the status as listed.
fn campaign(object: &Value, now: Timestamp) {
    let previous = status_of::<CampaignStatus>(object);
    if let Some(status) = &previous {
        assert_round_trip("a campaign status", status);
    }
    let Ok(spec) = campaigns::read_spec(object) else { return };
    assert_round_trip("a campaign spec", &spec);
    let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
    let status = account(&spec, &previous.unwrap_or_default(), &[], true, generation, now);
    assert_round_trip("an accounted campaign status", &status);
}

/// As `upsert_exception` does, then whether it reaches too far and whether it expired.
fn exception(object: &Value, now: Timestamp) {
    if let Some(status) = status_of::<ExceptionStatus>(object) {
        assert_round_trip("an exception status", &status);
    }
    if let Ok(spec) = serde_json::from_value::<DriftExceptionSpec>(spec_of(object)) {
        assert_round_trip("an exception spec", &spec);
        let _ = spec.expiry_problem(now, DEFAULT_INSTALLATION_CAP);
        let _ = spec.is_expired_at(now);
    }
    match exceptions::read(object, DEFAULT_INSTALLATION_CAP) {
        Ok(entry) => {
            let _ = entry.reach_problem(OPERATOR_NAMESPACE);
        }
        Err(problem) => {
            let _ = problem.exceeds_max_duration();
            assert!(!problem.to_string().is_empty(), "a problem has words");
        }
    }
}

/// As `upsert_finding` does.
fn finding(object: &Value) {
    if let Ok(watched) = findings::read_finding(object) {
        assert_round_trip("a finding spec", &watched.spec);
    }
    if let Some(status) = status_of::<FindingStatus>(object) {
        assert_round_trip("a finding status", &status);
    }
}
