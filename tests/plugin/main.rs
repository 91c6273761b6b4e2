//! `kubectl driftwarden` against the sandbox API server: the binary run as `driftwarden
//! plugin …` with a kubeconfig per user, and once through the real kubectl's plugin
//! mechanism (`DRIFTWARDEN_KUBECTL`).
//!
//! The operator does not run here: the status it would write is written directly, as the
//! operator writes it, so each verb is checked against known data.

mod approve;
#[allow(dead_code)]
#[path = "../common/chart.rs"]
mod chart;
mod except;
mod explain;
mod kubectl;
#[path = "../common/kubectl.rs"]
mod kubectl_tool;
mod status;
mod support;
