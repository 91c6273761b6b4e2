//! What the operator knows of a notification sink from its last delivery, and the
//! `NotificationSinkReady` condition that shows it on every policy and campaign that names
//! the sink: `False` while the sink's configuration refuses deliveries (a Secret not
//! labelled for notifications, a URL that is not http(s), an address sinks may not use),
//! `True` once a notification reached it. A delivery that failed for the sink's own sake
//! (it did not answer, or answered with an error) says nothing about the configuration and
//! leaves the condition as it is.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::conditions::{ConditionSpec, ConditionStatus, remove_condition, set_condition};
use crate::api::reasons::{self, types};

/// How the last delivery to a sink went, as far as its configuration is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkHealth {
    /// A notification reached the sink.
    Delivered,
    /// The sink's configuration refused the delivery: nothing was sent.
    Refused {
        /// Why, as a PascalCase reason of [`reasons`] (`SecretNotLabelled`, `AddressRefused` …).
        reason: &'static str,
        /// What is wrong, naming the sink, its Secret, key or the address refused; never a
        /// value read from a Secret.
        message: String,
    },
}

/// Sets `NotificationSinkReady` in `conditions` from `health`, or removes it when there is
/// nothing to say (no sink, or nothing sent to it yet). Returns whether the list changed.
pub fn set_sink_condition(
    conditions: &mut Vec<Condition>,
    health: Option<&SinkHealth>,
    generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let spec = match health {
        None => return remove_condition(conditions, types::NOTIFICATION_SINK_READY),
        Some(SinkHealth::Delivered) => ConditionSpec::new(
            types::NOTIFICATION_SINK_READY,
            ConditionStatus::True,
            reasons::NOTIFICATION_DELIVERED,
            "the last notification reached the sink",
        ),
        Some(SinkHealth::Refused { reason, message }) => {
            ConditionSpec::new(types::NOTIFICATION_SINK_READY, ConditionStatus::False, *reason, message.clone())
        }
    };
    set_condition(conditions, spec, generation, Time(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::find;

    #[test]
    fn the_condition_follows_the_last_delivery_and_goes_with_the_sink() {
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let later: Timestamp = "2026-03-01T11:00:00Z".parse().unwrap();
        let mut conditions = Vec::new();
        assert!(!set_sink_condition(&mut conditions, None, Some(1), now), "nothing to say, nothing set");
        let refused = SinkHealth::Refused {
            reason: reasons::SECRET_NOT_LABELLED,
            message: "sink shop/hooks: Secret hooks is not labelled".to_string(),
        };
        assert!(set_sink_condition(&mut conditions, Some(&refused), Some(1), now));
        let condition = find(&conditions, types::NOTIFICATION_SINK_READY).unwrap();
        assert_eq!(
            (condition.status.as_str(), condition.reason.as_str(), condition.message.as_str()),
            ("False", "SecretNotLabelled", "sink shop/hooks: Secret hooks is not labelled")
        );
        assert!(!set_sink_condition(&mut conditions, Some(&refused), Some(1), later), "unchanged");
        assert_eq!(conditions[0].last_transition_time, Time(now));
        assert!(set_sink_condition(&mut conditions, Some(&SinkHealth::Delivered), Some(1), later));
        let condition = find(&conditions, types::NOTIFICATION_SINK_READY).unwrap();
        assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("True", "NotificationDelivered"));
        assert!(set_sink_condition(&mut conditions, None, Some(1), later));
        assert!(conditions.is_empty());
    }
}
