//! A whole store as data: every object with its resourceVersion and the store's counter,
//! so a restarted sandbox continues where it stopped.

use std::sync::Mutex;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::key::{ObjectKey, ObjectName};
use super::state::{State, crd_resource};
use super::{Store, StoreConfig, meta};
use crate::error::ApiError;
use crate::resources::{GroupResource, kinds_from_crd};

/// The objects of one group and resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceObjects {
    /// The API group; empty for core.
    pub group: String,
    /// The plural resource.
    pub resource: String,
    /// The stored objects, as stored.
    pub objects: Vec<Value>,
}

/// Every object of a store, and its newest resourceVersion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The newest resourceVersion handed out.
    pub resource_version: u64,
    /// The objects, per resource.
    pub resources: Vec<ResourceObjects>,
}

impl Store {
    /// A copy of every object.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        Snapshot {
            resource_version: state.rv,
            resources: state
                .resources()
                .map(|(gr, objects)| ResourceObjects {
                    group: gr.group.clone(),
                    resource: gr.resource.clone(),
                    objects: objects.values().map(|o| (**o).clone()).collect(),
                })
                .collect(),
        }
    }

    /// A store holding exactly the snapshot's objects. Its history starts empty, so a
    /// watch from a resourceVersion before the snapshot gets 410 Gone, as after an
    /// apiserver's etcd compaction; new writes continue after the snapshot's counter.
    pub fn restore(config: StoreConfig, snapshot: Snapshot) -> Result<Store, ApiError> {
        let mut state = State::new(config.history_capacity, 4096);
        // CRDs first, so their kinds are served (and stay consistent) before their objects.
        let mut resources = snapshot.resources;
        resources.sort_by_key(|r| GroupResource::new(r.group.clone(), r.resource.clone()) != crd_resource());
        for entry in resources {
            let resource = GroupResource::new(entry.group, entry.resource);
            for object in entry.objects {
                let name = ObjectName::new(Some(meta::namespace(&object)), meta::name(&object));
                if name.name.is_empty() {
                    return Err(ApiError::bad_request(format!("a stored {resource} in the snapshot has no name")));
                }
                if resource == crd_resource() {
                    let crd: CustomResourceDefinition = serde_json::from_value(object.clone()).map_err(|e| {
                        ApiError::bad_request(format!("snapshot CRD {}: {e}", name.name)).with_source(e)
                    })?;
                    if let Ok(kinds) = kinds_from_crd(&crd) {
                        state.registry.set_crd(&name.name, kinds);
                    }
                }
                state.restore(ObjectKey { resource: resource.clone(), name }, object);
            }
        }
        state.rv = snapshot.resource_version;
        state.history.compact(snapshot.resource_version);
        Ok(Store { state: Mutex::new(state), config, rbac: Mutex::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ResourceRef, WriteOptions};

    #[test]
    fn a_restored_store_has_the_same_objects_and_counter() {
        let store = Store::new(StoreConfig::default()).expect("store");
        let cms = ResourceRef::new("", "v1", "configmaps", Some("default"));
        let body = serde_json::json!({"metadata": {"name": "a"}, "data": {"k": "v"}});
        let created = store.create(&cms, body, WriteOptions::default()).expect("created");
        let snapshot = store.snapshot();
        let restored = Store::restore(StoreConfig::default(), snapshot.clone()).expect("restored");
        assert_eq!(restored.snapshot(), snapshot);
        assert_eq!(restored.get(&cms, "a").expect("kept"), created);
        let next = restored
            .create(&cms, serde_json::json!({"metadata": {"name": "b"}}), WriteOptions::default())
            .expect("created");
        assert!(meta::resource_version(&next).parse::<u64>().expect("rv") > snapshot.resource_version);
    }
}
