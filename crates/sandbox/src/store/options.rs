//! The typed options of each store operation, as decoded from a request.

use super::admit::Requester;
use super::selector::{FieldSelector, LabelSelector};
use crate::error::ApiError;

/// Which collection an operation addresses: group, version and resource as named in the
/// URL, and the namespace (`None` for cluster-scoped kinds, or for lists and watches across
/// all namespaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version.
    pub version: String,
    /// The plural resource.
    pub resource: String,
    /// The namespace, if the URL names one.
    pub namespace: Option<String>,
}

impl ResourceRef {
    /// A reference to a collection.
    pub fn new(group: &str, version: &str, resource: &str, namespace: Option<&str>) -> Self {
        ResourceRef {
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
            namespace: namespace.map(str::to_string),
        }
    }
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// The object as a whole (its status is left alone when the kind has `/status`).
    Main,
    /// The `/status` subresource: only `status` changes.
    Status,
}

/// Options of create, update and patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and default, but store nothing.
    pub dry_run: bool,
    /// The `fieldManager` query parameter. Required for server-side apply.
    pub field_manager: Option<String>,
    /// The User-Agent up to its first `/`: the field manager of writes without
    /// `fieldManager`, as the apiserver derives it.
    pub user_agent_manager: Option<String>,
    /// `force=true`: a server-side apply takes over fields other managers own. Only
    /// allowed with server-side apply.
    pub force: bool,
    /// The client making the write; `None` for the system's own writes, which are not
    /// admitted.
    pub requester: Option<Requester>,
}

impl WriteOptions {
    /// Adds the field manager and `force` of a request: its query string and User-Agent.
    /// A malformed `force` is a bad request.
    pub fn with_request(mut self, query: Option<&str>, user_agent: Option<&str>) -> Result<Self, ApiError> {
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "fieldManager" => self.field_manager = Some(value.into_owned()),
                "force" => {
                    self.force = match value.as_ref() {
                        "true" | "1" | "" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "invalid value {other:?} for force: expected true or false"
                            )));
                        }
                    }
                }
                _ => {}
            }
        }
        let prefix = user_agent.and_then(|agent| agent.split('/').next()).unwrap_or_default();
        self.user_agent_manager = Some(prefix.chars().take(128).collect()).filter(|p: &String| !p.is_empty());
        Ok(self)
    }

    /// The manager the write is recorded under: `fieldManager`, else the one derived from
    /// the User-Agent, else empty.
    pub fn manager(&self) -> &str {
        match self.field_manager.as_deref() {
            Some(manager) if !manager.is_empty() => manager,
            _ => self.user_agent_manager.as_deref().unwrap_or_default(),
        }
    }
}

/// What happens to an object's dependents when it is deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Propagation {
    /// Delete the object now; its dependents are garbage-collected afterwards.
    #[default]
    Background,
    /// Keep the object (with a `foregroundDeletion` finalizer) until its dependents are gone.
    Foreground,
    /// Delete the object and strip its ownerReferences from its dependents.
    Orphan,
}

/// Options of delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// How dependents are treated.
    pub propagation: Propagation,
    /// The uid the object must have.
    pub precondition_uid: Option<String>,
    /// The resourceVersion the object must have.
    pub precondition_resource_version: Option<String>,
    /// The client deleting; `None` for the system's own deletes, which are not admitted.
    pub requester: Option<Requester>,
}

/// Options of list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Objects must match these labels.
    pub label_selector: LabelSelector,
    /// Objects must match these fields.
    pub field_selector: FieldSelector,
    /// At most this many items per page.
    pub limit: Option<usize>,
    /// The token of the previous page.
    pub continue_token: Option<String>,
}

/// Options of watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchOptions {
    /// Objects must match these labels.
    pub label_selector: LabelSelector,
    /// Objects must match these fields.
    pub field_selector: FieldSelector,
    /// Watch changes after this resourceVersion; `None` or `"0"` starts with the current
    /// state as synthetic ADDED events.
    pub resource_version: Option<String>,
    /// Whether BOOKMARK events may be sent.
    pub allow_bookmarks: bool,
    /// Explicit `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// Close the watch after this many seconds.
    pub timeout_seconds: Option<u64>,
}
