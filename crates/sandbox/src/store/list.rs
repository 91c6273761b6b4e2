//! get and list: selectors, pages (`limit`/`continue`) and the list's resourceVersion.

use std::sync::Arc;

use serde_json::{Value, json};

use super::index::Scope;
use super::key::{ObjectKey, ObjectName};
use super::meta;
use super::options::{ListOptions, ResourceRef};
use super::{Store, resolve_kind, stored_selector, view};
use crate::error::ApiError;
use crate::resources::ResourceKind;

/// Where a continued list resumes: the list's resourceVersion, the last name returned,
/// and how many objects the pages so far returned (absent from the tokens of older
/// sandboxes, whose lists then leave `remainingItemCount` unset).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    rv: u64,
    after: ObjectName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    returned: Option<usize>,
}

impl ContinueToken {
    fn encode(&self) -> String {
        hex::encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(token: &str) -> Result<Self, ApiError> {
        let bytes = hex::decode(token)
            .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")).with_source(e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")).with_source(e))
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectList {
    /// The kind listed, at the requested version.
    pub kind: ResourceKind,
    /// The objects, ordered by namespace and name.
    pub items: Vec<Value>,
    /// The resourceVersion to watch from to see every later change.
    pub resource_version: u64,
    /// The token for the next page, when there is one.
    pub continue_token: Option<String>,
    /// How many matching objects follow this page.
    pub remaining_item_count: Option<usize>,
}

impl ObjectList {
    /// The list as the API returns it (`ConfigMapList`).
    pub fn to_json(&self) -> Value {
        let mut metadata = json!({"resourceVersion": self.resource_version.to_string()});
        if let Some(token) = &self.continue_token {
            metadata["continue"] = json!(token);
        }
        if let Some(remaining) = self.remaining_item_count {
            metadata["remainingItemCount"] = json!(remaining);
        }
        json!({
            "kind": self.kind.list_kind(),
            "apiVersion": self.kind.api_version(),
            "metadata": metadata,
            "items": self.items,
        })
    }
}

/// How many objects follow a page, when `returned` of the `total` in the list's scope have
/// been returned and at least one more follows. Exact unless objects were created or
/// deleted before the cursor since the first page; an estimate then, as the API's is.
fn remaining_estimate(total: usize, returned: usize) -> usize {
    total.saturating_sub(returned).max(1)
}

impl Store {
    /// Reads one object.
    pub fn get(&self, target: &ResourceRef, name: &str) -> Result<Value, ApiError> {
        let state = self.lock();
        let kind = resolve_kind(&state, target)?;
        let namespace = if kind.namespaced() { target.namespace.as_deref() } else { None };
        let key = ObjectKey::new(kind.storage_resource(), namespace, name);
        state.get(&key).map(|o| view(o, &kind)).ok_or_else(|| ApiError::not_found(&kind.group_resource(), name))
    }

    /// Lists the objects of a collection (across namespaces when `target.namespace` is
    /// `None`). A continued list keeps the first page's resourceVersion, so a watch from
    /// it misses nothing; it fails with 410 once that version left the history.
    pub fn list(&self, target: &ResourceRef, options: &ListOptions) -> Result<ObjectList, ApiError> {
        let state = self.lock();
        let kind = resolve_kind(&state, target)?;
        let token =
            options.continue_token.as_deref().filter(|t| !t.is_empty()).map(ContinueToken::decode).transpose()?;
        if let Some(token) = &token
            && !state.history.covers(token.rv)
        {
            return Err(ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ));
        }
        let namespace = if kind.namespaced() { target.namespace.as_deref() } else { None };
        let fields = stored_selector(&options.field_selector, &kind)?;
        let resource = kind.storage_resource();
        let scope = Scope { namespace, after: token.as_ref().map(|t| &t.after) };
        let mut matching = state
            .candidates(&resource, scope, &options.label_selector)
            .filter(|(_, o)| options.label_selector.matches(meta::labels(o)) && fields.matches(o));
        let limit = options.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let page: Vec<(&ObjectName, &Arc<Value>)> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        let items: Vec<Value> = page.iter().map(|(_, object)| view(object, &kind)).collect();
        let rv = token.as_ref().map_or(state.rv, |t| t.rv);
        let returned = token.as_ref().map_or(Some(0), |t| t.returned).map(|before| before + page.len());
        let selected = !options.label_selector.is_empty() || !fields.requirements.is_empty();
        let remaining = match (more, selected, returned) {
            (true, false, Some(returned)) => Some(remaining_estimate(state.count(&resource, namespace), returned)),
            _ => None,
        };
        let continue_token = match page.last() {
            Some((after, _)) if more => Some(ContinueToken { rv, after: (*after).clone(), returned }.encode()),
            _ => None,
        };
        Ok(ObjectList { kind, items, resource_version: rv, remaining_item_count: remaining, continue_token })
    }
}
