//! Every API request the server answered, as the authorizer saw it: who asked, which verb
//! on which resource, and the status code of the answer. Tests read it to see what a
//! client really did (which permissions it used, how many requests it made).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use crate::auth::impersonation::{Effective, user_name};
use crate::auth::{Authenticated, RequestAttributes};

pub use crate::auth::impersonation::ADMIN_USER;

/// How many records the log keeps by default; older ones are dropped first.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// One answered API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The user the request ran as (`system:serviceaccount:ns:name`, or [`ADMIN_USER`]):
    /// the impersonated user when the request impersonated one.
    pub user: String,
    /// The authenticated caller, when it impersonated [`RequestRecord::user`].
    pub impersonator: Option<String>,
    /// The authorizer's verb: `get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`, `deletecollection`; for non-resource paths the lowercased method.
    pub verb: String,
    /// The API group; empty for core and for non-resource paths.
    pub group: String,
    /// The plural resource; empty for non-resource paths (discovery, `/version`).
    pub resource: String,
    /// The subresource (`status`), if any.
    pub subresource: Option<String>,
    /// The namespace; empty for cluster-scoped requests and lists across namespaces.
    pub namespace: String,
    /// The object's name; empty for collections.
    pub name: String,
    /// Whether the request asked for `dryRun=All`.
    pub dry_run: bool,
    /// The HTTP status code of the answer (403 for a request RBAC refused).
    pub code: u16,
    /// The audit annotations ValidatingAdmissionPolicies added (`policy/key`, value): the
    /// sandbox has no audit log, so they are kept here.
    pub audit_annotations: Vec<(String, String)>,
}

impl RequestRecord {
    /// The record of a request by `who` with `attrs`, answered with `code`.
    pub fn new(who: &Authenticated, attrs: &RequestAttributes, dry_run: bool, code: u16) -> Self {
        RequestRecord {
            user: user_name(who),
            impersonator: None,
            verb: attrs.verb.clone(),
            group: attrs.group.clone(),
            resource: attrs.resource.clone(),
            subresource: attrs.subresource.clone(),
            namespace: attrs.namespace.clone(),
            name: attrs.name.clone(),
            dry_run,
            code,
            audit_annotations: Vec::new(),
        }
    }

    /// The record with the audit annotations admission added.
    pub fn with_audit_annotations(mut self, annotations: Vec<(String, String)>) -> Self {
        self.audit_annotations = annotations;
        self
    }
}

impl RequestRecord {
    /// The record of a request that ran as `effective`, answered with `code`.
    pub fn of(effective: &Effective, attrs: &RequestAttributes, dry_run: bool, code: u16) -> Self {
        RequestRecord {
            impersonator: effective.impersonator.clone(),
            ..RequestRecord::new(&effective.who, attrs, dry_run, code)
        }
    }
}

/// A bounded log of [`RequestRecord`]s, oldest first.
#[derive(Debug)]
pub struct RequestLog {
    capacity: usize,
    records: Mutex<VecDeque<RequestRecord>>,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl RequestLog {
    /// A log that keeps the last `capacity` records.
    pub fn with_capacity(capacity: usize) -> Self {
        RequestLog { capacity, records: Mutex::new(VecDeque::new()) }
    }

    /// Appends a record, dropping the oldest when the log is full.
    pub fn record(&self, record: RequestRecord) {
        if self.capacity == 0 {
            return;
        }
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= self.capacity {
            records.pop_front();
        }
        records.push_back(record);
    }

    /// Every record kept, oldest first.
    pub fn snapshot(&self) -> Vec<RequestRecord> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// Forgets every record.
    pub fn clear(&self) {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::auth::UserInfo;

    #[test]
    fn records_are_kept_in_order_up_to_the_capacity() {
        let log = RequestLog::with_capacity(2);
        let who = Authenticated::User(UserInfo::service_account("ops", "driftwarden"));
        for name in ["a", "b", "c"] {
            let attrs =
                RequestAttributes::new(&Method::PATCH, &format!("/api/v1/namespaces/x/configmaps/{name}"), false);
            log.record(RequestRecord::new(&who, &attrs, name == "c", 200));
        }
        let kept = log.snapshot();
        assert_eq!(kept.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        let last = &kept[1];
        assert_eq!(last.user, "system:serviceaccount:ops:driftwarden");
        assert_eq!((last.verb.as_str(), last.group.as_str(), last.resource.as_str()), ("patch", "", "configmaps"));
        assert_eq!((last.namespace.as_str(), last.dry_run, last.code), ("x", true, 200));
        log.clear();
        assert!(log.snapshot().is_empty());
    }

    #[test]
    fn the_admin_token_is_recorded_as_the_admin_user() {
        let attrs = RequestAttributes::new(&Method::GET, "/apis/apps/v1/deployments", true);
        let record = RequestRecord::new(&Authenticated::Admin, &attrs, false, 200);
        assert_eq!((record.user.as_str(), record.verb.as_str(), record.group.as_str()), (ADMIN_USER, "watch", "apps"));
    }
}
