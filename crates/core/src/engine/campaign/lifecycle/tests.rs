use proptest::prelude::*;
use serde_json::json;

use super::*;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_775_000_000 + minutes * 60).unwrap()
}

fn drifted(paths: &[&str]) -> Observation {
    Observation::Drifted {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        class: RemediationClass::Rollout,
        changed_by: Some(("kubectl-edit".to_string(), Some(at(-5)))),
    }
}

fn verified() -> Observation {
    Observation::Verified {
        resource_version: Some("42".to_string()),
        desired_hash: "d".to_string(),
        live_hash: "d".to_string(),
        actor: OPERATOR_ACTOR.to_string(),
    }
}

fn verify_failed() -> Observation {
    Observation::VerifyFailed {
        resource_version: Some("43".to_string()),
        desired_hash: "d".to_string(),
        live_hash: "l".to_string(),
        message: "still differs at 1 path".to_string(),
    }
}

fn escalate() -> Observation {
    Observation::Escalate { reason: "Rollout fixes are not automatic".to_string() }
}

fn approve(by: &str, reason: &str) -> Observation {
    Observation::Approved { by: by.to_string(), reason: reason.to_string() }
}

/// Applies observations one after another, at one minute intervals, ignoring those that
/// change nothing.
fn run(observations: Vec<Observation>) -> FindingStatus {
    let mut status = FindingStatus::default();
    for (i, observation) in observations.into_iter().enumerate() {
        if let Some(next) = step(&status, observation, at(i as i64)) {
            status = next;
        }
    }
    status
}

fn with_state(state: FindingState) -> FindingStatus {
    FindingStatus { state, paths: vec!["/a".to_string()], ..FindingStatus::default() }
}

fn actions(status: &FindingStatus) -> Vec<EvidenceAction> {
    status.evidence.iter().map(|e| e.action).collect()
}

#[test]
fn first_detection_records_paths_attribution_and_evidence() {
    let status = step(&FindingStatus::default(), drifted(&["/b", "/a", "/a"]), at(0)).unwrap();
    assert_eq!(status.state, FindingState::Open);
    assert_eq!(status.paths, ["/a", "/b"]);
    assert_eq!(status.class, Some(RemediationClass::Rollout));
    assert_eq!(status.attribution.as_ref().unwrap().changed_by, "kubectl-edit");
    assert_eq!(status.attribution.as_ref().unwrap().changed_at, Some(Time(at(-5))));
    assert_eq!(actions(&status), [EvidenceAction::Detected]);
    assert_eq!(status.evidence[0].actor, "kubectl-edit");
    // A new finding was never in another state: its transition time is unset until it moves.
    assert_eq!(status.last_transition_time, None);
    // The same drift seen again changes nothing.
    assert_eq!(step(&status, drifted(&["/a", "/b"]), at(1)), None);
}

#[test]
fn the_operator_fix_path_ends_closed_with_evidence() {
    let status = run(vec![
        drifted(&["/a"]),
        Observation::FixStarted { approved_by: None, wave: None },
        Observation::Applied { resource_version: Some("41".to_string()) },
        verified(),
    ]);
    assert_eq!(status.state, FindingState::Closed);
    assert_eq!(
        actions(&status),
        [EvidenceAction::Detected, EvidenceAction::DryRun, EvidenceAction::Applied, EvidenceAction::Verified]
    );
    let proof = status.evidence.last().unwrap();
    assert_eq!(proof.resource_version.as_deref(), Some("42"));
    assert_eq!((proof.desired_hash.as_deref(), proof.live_hash.as_deref()), (Some("d"), Some("d")));
    assert_eq!(proof.fingerprint_scheme, Some(FingerprintScheme::HmacSha256_128));
    assert_eq!(status.evidence[0].fingerprint_scheme(), None, "a record without hashes has no scheme");
    assert_eq!(proof.result, EvidenceResult::Succeeded);
    assert_eq!(status.evidence[2].resource_version.as_deref(), Some("41"));
    assert_eq!(status.last_transition_time, Some(Time(at(3))));
}

#[test]
fn intermediate_states() {
    let remediating =
        step(&with_state(FindingState::Open), Observation::FixStarted { approved_by: None, wave: None }, at(0));
    assert_eq!(remediating.unwrap().state, FindingState::Remediating);
    let applied = step(&with_state(FindingState::Remediating), Observation::Applied { resource_version: None }, at(0));
    assert_eq!(applied.unwrap().state, FindingState::Verifying);
}

#[test]
fn an_owner_fix_seen_in_the_cache_waits_for_a_fresh_read() {
    for from in [
        FindingState::Open,
        FindingState::Escalated,
        FindingState::Reopened,
        FindingState::Remediating,
        FindingState::Excepted,
    ] {
        let next = step(&with_state(from), Observation::LooksClean, at(0)).unwrap();
        assert_eq!(next.state, FindingState::Verifying, "{from:?}");
        assert_eq!(next.last_transition_time, Some(Time(at(0))));
        assert!(next.evidence.is_empty(), "no proof yet");
    }
    for from in [FindingState::Verifying, FindingState::Closed] {
        assert_eq!(step(&with_state(from), Observation::LooksClean, at(0)), None, "{from:?}");
    }
}

#[test]
fn a_fresh_read_closes_whatever_made_the_asset_compliant() {
    // An owner fixed it without the operator: the fresh read is the proof.
    for from in [
        FindingState::Open,
        FindingState::Escalated,
        FindingState::Reopened,
        FindingState::Remediating,
        FindingState::Verifying,
        FindingState::Excepted,
    ] {
        let next = step(&with_state(from), verified(), at(0)).unwrap();
        assert_eq!(next.state, FindingState::Closed, "{from:?}");
        assert_eq!(actions(&next), [EvidenceAction::Verified]);
    }
    // Verified again on a closed finding adds nothing.
    assert_eq!(step(&with_state(FindingState::Closed), verified(), at(0)), None);
}

#[test]
fn a_deleted_asset_closes_its_finding_with_evidence() {
    let next = step(&with_state(FindingState::Escalated), Observation::Gone, at(0)).unwrap();
    assert_eq!(next.state, FindingState::Closed);
    assert_eq!(next.evidence[0].action, EvidenceAction::Verified);
    assert_eq!(next.evidence[0].actor, EXTERNAL_ACTOR);
    assert_eq!(next.evidence[0].message.as_deref(), Some("the asset no longer exists"));
    assert_eq!(step(&with_state(FindingState::Closed), Observation::Gone, at(0)), None);
}

#[test]
fn a_closed_finding_that_drifts_again_is_reopened_as_a_recurrence() {
    let closed = run(vec![drifted(&["/a"]), verified()]);
    assert_eq!(closed.state, FindingState::Closed);
    let reopened = step(&closed, drifted(&["/a"]), at(10)).unwrap();
    assert_eq!(reopened.state, FindingState::Reopened);
    assert_eq!(reopened.recurrences, 1);
    assert_eq!(reopened.evidence.last().unwrap().action, EvidenceAction::Reopened);
    assert_eq!(reopened.last_transition_time, Some(Time(at(10))));
    // A fresh read that fails on a closed finding reopens it too.
    let failed = step(&closed, verify_failed(), at(10)).unwrap();
    assert_eq!((failed.state, failed.recurrences), (FindingState::Reopened, 1));
}

#[test]
fn a_failed_verification_goes_back_to_where_the_finding_stood() {
    let fixing = run(vec![
        drifted(&["/a"]),
        Observation::FixStarted { approved_by: None, wave: None },
        Observation::Applied { resource_version: None },
    ]);
    let back = step(&fixing, verify_failed(), at(9)).unwrap();
    assert_eq!(back.state, FindingState::Open);
    let proof = back.evidence.last().unwrap();
    assert_eq!((proof.action, proof.result), (EvidenceAction::Verified, EvidenceResult::Failed));
    assert_eq!(proof.live_hash.as_deref(), Some("l"));
    assert_eq!(proof.fingerprint_scheme(), Some(FingerprintScheme::HmacSha256_128));

    // An owner's fix on an escalated finding that does not hold leaves it with the owner.
    let owner_fix = run(vec![drifted(&["/a"]), escalate(), Observation::LooksClean]);
    assert_eq!(owner_fix.state, FindingState::Verifying);
    assert_eq!(step(&owner_fix, verify_failed(), at(9)).unwrap().state, FindingState::Escalated);

    // After a recurrence it goes back to Reopened.
    let recurring = run(vec![drifted(&["/a"]), verified(), drifted(&["/a"]), Observation::LooksClean]);
    assert_eq!(step(&recurring, verify_failed(), at(9)).unwrap().state, FindingState::Reopened);

    // A failed read of a finding with no fix under way changes nothing.
    for from in [FindingState::Open, FindingState::Escalated, FindingState::Reopened, FindingState::Excepted] {
        assert_eq!(step(&with_state(from), verify_failed(), at(0)), None, "{from:?}");
    }
}

#[test]
fn exceptions_cover_and_stop_covering() {
    let covered = step(&with_state(FindingState::Escalated), Observation::Covered { exception: "ex".into() }, at(0));
    let covered = covered.unwrap();
    assert_eq!(covered.state, FindingState::Excepted);
    assert_eq!(covered.evidence[0].message.as_deref(), Some("covered by DriftException ex"));
    assert_eq!(step(&covered, Observation::Covered { exception: "other".into() }, at(1)), None);

    let uncovered = step(&covered, Observation::Uncovered, at(2)).unwrap();
    assert_eq!(uncovered.state, FindingState::Open);
    assert_eq!(uncovered.evidence.last().unwrap().result, EvidenceResult::Failed);

    // A closed finding whose new drift is covered counts a recurrence and comes back reopened.
    let closed = run(vec![drifted(&["/a"]), verified()]);
    let covered = step(&closed, Observation::Covered { exception: "ex".into() }, at(5)).unwrap();
    assert_eq!((covered.state, covered.recurrences), (FindingState::Excepted, 1));
    assert_eq!(step(&covered, Observation::Uncovered, at(6)).unwrap().state, FindingState::Reopened);

    for from in [FindingState::Open, FindingState::Closed, FindingState::Escalated] {
        assert_eq!(step(&with_state(from), Observation::Uncovered, at(0)), None, "{from:?}");
    }
}

#[test]
fn escalation_happens_once_and_never_from_a_resolved_state() {
    for from in [FindingState::Open, FindingState::Reopened, FindingState::Remediating, FindingState::Verifying] {
        let next = step(&with_state(from), escalate(), at(0)).unwrap();
        assert_eq!(next.state, FindingState::Escalated, "{from:?}");
        assert_eq!(next.evidence[0].message.as_deref(), Some("Rollout fixes are not automatic"));
    }
    for from in [FindingState::Escalated, FindingState::Closed, FindingState::Excepted] {
        assert_eq!(step(&with_state(from), escalate(), at(0)), None, "{from:?}");
    }
}

#[test]
fn actions_out_of_order_change_nothing() {
    for from in [FindingState::Remediating, FindingState::Verifying, FindingState::Closed, FindingState::Excepted] {
        assert_eq!(
            step(&with_state(from), Observation::FixStarted { approved_by: None, wave: None }, at(0)),
            None,
            "{from:?}"
        );
    }
    for from in [FindingState::Open, FindingState::Escalated, FindingState::Verifying, FindingState::Closed] {
        let applied = Observation::Applied { resource_version: None };
        assert_eq!(step(&with_state(from), applied, at(0)), None, "{from:?}");
    }
    for from in [FindingState::Open, FindingState::Closed, FindingState::Reopened] {
        assert_eq!(step(&with_state(from), approve("alice", "ok"), at(0)), None, "{from:?}");
    }
}

#[test]
fn approval_is_recorded_once_and_never_widens_the_fix() {
    let escalated = run(vec![drifted(&["/a"]), escalate()]);
    assert_eq!(approved_paths(&escalated), None);
    let approved = step(&escalated, approve("alice", "window ok"), at(5)).unwrap();
    assert_eq!(approved.state, FindingState::Escalated);
    assert_eq!(approved.evidence.last().unwrap().actor, "alice");
    assert_eq!(approved_paths(&approved), Some(&["/a".to_string()][..]));
    assert_eq!(step(&approved, approve("alice", "window ok"), at(6)), None);

    // The same drift seen again keeps the approval.
    assert_eq!(step(&approved, drifted(&["/a"]), at(6)), None);
    // Drift at a new path voids it, and the same approval does not count again.
    let widened = step(&approved, drifted(&["/a", "/b"]), at(7)).unwrap();
    assert_eq!(widened.evidence.last().unwrap().action, EvidenceAction::Detected);
    assert_eq!(approved_paths(&widened), None);
    assert_eq!(step(&widened, approve("alice", "window ok"), at(8)), None);
    // A new approval covers the finding as it now stands.
    let again = step(&widened, approve("alice", "both paths reviewed"), at(9)).unwrap();
    assert_eq!(approved_paths(&again).unwrap().len(), 2);

    // The approved fix records who approved it and leaves the escalated state.
    let fixing =
        step(&again, Observation::FixStarted { approved_by: Some("alice".into()), wave: None }, at(10)).unwrap();
    assert_eq!(fixing.state, FindingState::Remediating);
    assert_eq!(fixing.evidence.last().unwrap().message.as_deref(), Some("approved by alice"));
    assert_eq!(approved_paths(&fixing), None);

    // A wave's fix says which wave it belongs to.
    let waved =
        step(&with_state(FindingState::Open), Observation::FixStarted { approved_by: None, wave: Some(3) }, at(0));
    assert_eq!(waved.unwrap().evidence.last().unwrap().message.as_deref(), Some("wave 3"));
}

#[test]
fn transition_time_moves_only_with_the_state() {
    let open = run(vec![drifted(&["/a"]), escalate()]);
    let before = open.last_transition_time.clone();
    let approved = step(&open, approve("alice", "ok"), at(30)).unwrap();
    assert_eq!(approved.last_transition_time, before);
    let redrifted = step(&approved, drifted(&["/a", "/c"]), at(31)).unwrap();
    assert_eq!(redrifted.last_transition_time, before);
}

#[test]
fn evidence_keeps_the_first_record_the_latest_approval_and_the_newest() {
    let mut status = run(vec![drifted(&["/a"]), escalate(), approve("alice", "ok")]);
    for i in 0..40 {
        let observation = if i % 2 == 0 { Observation::LooksClean } else { verify_failed() };
        status = step(&status, observation, at(10 + i)).unwrap_or(status);
    }
    assert_eq!(status.evidence.len(), MAX_EVIDENCE);
    assert_eq!(status.evidence[0].action, EvidenceAction::Detected);
    assert_eq!(status.evidence[1].action, EvidenceAction::Approved);
    assert_eq!(status.evidence.last().unwrap().time, Time(at(49)));
}

#[test]
fn hashes_are_canonical_and_tell_values_apart() {
    let fields = |pairs: &[(&str, Option<serde_json::Value>)]| -> Vec<(String, Option<serde_json::Value>)> {
        pairs.iter().map(|(p, v)| (p.to_string(), v.clone())).collect()
    };
    let a = hash_fields(&fields(&[("/a", Some(json!({"x": 1, "y": [1, 2]}))), ("/b", None)]));
    let reordered = hash_fields(&fields(&[("/b", None), ("/a", Some(json!({"y": [1, 2], "x": 1})))]));
    assert_eq!(a, reordered);
    assert_eq!(a.len(), 64);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    let different = [
        fields(&[("/a", Some(json!({"x": 1, "y": [2, 1]}))), ("/b", None)]),
        fields(&[("/a", Some(json!({"x": 1, "y": [1, 2]}))), ("/b", Some(json!(null)))]),
        fields(&[("/a", Some(json!({"x": "1", "y": [1, 2]}))), ("/b", None)]),
        fields(&[("/a", Some(json!({"x": 1, "y": [1, 2]})))]),
    ];
    for other in different {
        assert_ne!(hash_fields(&other), a, "{other:?}");
    }
    // Length prefixes keep a path and a value from running into each other.
    assert_ne!(hash_fields(&fields(&[("/a1", Some(json!(2)))])), hash_fields(&fields(&[("/a", Some(json!(12)))])));
    assert_eq!(hash_fields(&[]), hex::encode(Sha256::digest(b"")));
}

fn any_observation() -> impl Strategy<Value = Observation> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(vec!["/a", "/b", "/c"]), 1..3).prop_map(|p| drifted(&p)),
        Just(Observation::LooksClean),
        Just(Observation::Covered { exception: "ex".to_string() }),
        Just(Observation::Uncovered),
        Just(Observation::FixStarted { approved_by: None, wave: None }),
        Just(Observation::FixStarted { approved_by: Some("alice".to_string()), wave: None }),
        Just(Observation::Applied { resource_version: Some("1".to_string()) }),
        Just(verified()),
        Just(verify_failed()),
        Just(escalate()),
        Just(approve("alice", "ok")),
        Just(approve("bob", "fine")),
        Just(Observation::Gone),
    ]
}

proptest! {
    /// No sequence of observations closes a finding except a fresh read: `Verified`, or
    /// `Gone` (the read found the asset deleted); and every step into `Closed` leaves a
    /// `Verified` record as the newest evidence.
    #[test]
    fn only_a_fresh_read_closes_a_finding(observations in prop::collection::vec(any_observation(), 0..40)) {
        let mut status = FindingStatus::default();
        for (i, observation) in observations.into_iter().enumerate() {
            let closing = matches!(observation, Observation::Verified { .. } | Observation::Gone);
            let before = status.clone();
            if let Some(next) = step(&status, observation, at(i as i64)) {
                status = next;
            }
            prop_assert!(status.evidence.len() <= MAX_EVIDENCE);
            if status.state == FindingState::Closed && before.state != FindingState::Closed {
                prop_assert!(closing, "closed from {:?} without a fresh read", before.state);
                let newest = status.evidence.last().unwrap();
                prop_assert_eq!((newest.action, newest.result), (EvidenceAction::Verified, EvidenceResult::Succeeded));
            }
            if status.state == before.state {
                prop_assert_eq!(&status.last_transition_time, &before.last_transition_time);
            }
            prop_assert!(status.recurrences >= before.recurrences);
        }
    }
}

#[test]
fn an_approval_holds_for_the_class_it_was_given_for_and_lapses_when_the_class_changes() {
    let escalated = run(vec![drifted(&["/a"]), escalate()]);
    assert_eq!(escalated.class, Some(RemediationClass::Rollout));
    let approved = step(&escalated, approve("alice", "window ok"), at(5)).unwrap();
    assert_eq!(approved.evidence.last().unwrap().class, Some(RemediationClass::Rollout), "the class is on record");
    assert!(approved_paths(&approved).is_some() && lapsed_approval(&approved).is_none());
    // The same paths, but the fix now touches access: the approval no longer counts.
    let mut riskier = approved.clone();
    riskier.class = Some(RemediationClass::Access);
    assert_eq!(approved_paths(&riskier), None);
    assert_eq!(lapsed_approval(&riskier), Some(("alice", RemediationClass::Rollout)));
    assert_eq!(step(&riskier, approve("alice", "window ok"), at(6)), None, "the same approval does not count again");
    let again = step(&riskier, approve("alice", "access reviewed"), at(7)).unwrap();
    assert_eq!(again.evidence.last().unwrap().class, Some(RemediationClass::Access));
    assert!(approved_paths(&again).is_some() && lapsed_approval(&again).is_none());
    // An approval recorded before classes were recorded holds as it was.
    let mut older = riskier.clone();
    older.evidence.last_mut().unwrap().class = None;
    assert!(approved_paths(&older).is_some() && lapsed_approval(&older).is_none());
}
