//! `metadata.managedFields`: one entry per field manager, operation (`Apply` or
//! `Update`), subresource and, for updates, apiVersion, each with the fields it owns.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};
use serde_json::Value;

use super::error::FieldsError;
use super::fieldset::FieldSet;

/// How a manager last wrote its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or a non-apply patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One manager's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The field manager.
    pub manager: String,
    /// How it wrote.
    pub operation: Operation,
    /// The apiVersion it wrote with.
    pub api_version: String,
    /// `status` for writes to `/status`, else empty.
    pub subresource: String,
    /// When its fields last changed.
    pub time: Option<Time>,
    /// The fields it owns.
    pub fields: FieldSet,
}

impl Entry {
    /// Whether `self` and `other` are the same manager as the apiserver identifies them:
    /// by manager, operation and subresource, and for updates also by apiVersion.
    pub fn same_manager(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// The manager as conflict messages name it: `"kubectl"` for appliers,
    /// `"kubectl-edit" using apps/v1` for updaters.
    pub fn describe(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn decode(entry: ManagedFieldsEntry) -> Result<Entry, FieldsError> {
        let operation = match entry.operation.as_deref().unwrap_or_default() {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            other => return Err(FieldsError::Operation(other.to_string())),
        };
        match entry.fields_type.as_deref() {
            None | Some("FieldsV1") => {}
            Some(other) => return Err(FieldsError::FieldsType(other.to_string())),
        }
        let fields = match &entry.fields_v1 {
            Some(FieldsV1(value)) => FieldSet::from_fields_v1(value)?,
            None => FieldSet::new(),
        };
        Ok(Entry {
            manager: entry.manager.unwrap_or_default(),
            operation,
            api_version: entry.api_version.unwrap_or_default(),
            subresource: entry.subresource.unwrap_or_default(),
            time: entry.time,
            fields,
        })
    }

    fn encode(&self) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            api_version: Some(self.api_version.clone()),
            fields_type: Some("FieldsV1".to_string()),
            fields_v1: Some(FieldsV1(self.fields.to_fields_v1())),
            manager: Some(self.manager.clone()),
            operation: Some(self.operation.as_str().to_string()),
            subresource: Some(self.subresource.clone()).filter(|s| !s.is_empty()),
            time: self.time.clone(),
        }
    }
}

/// Every manager's entry of one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Managed {
    /// The entries, in no particular order until written.
    pub entries: Vec<Entry>,
}

impl Managed {
    /// The entries of `metadata.managedFields`, or `None` when the object has none.
    pub fn read(object: &Value) -> Option<Result<Managed, FieldsError>> {
        let value = object.get("metadata")?.get("managedFields").filter(|v| !v.is_null())?;
        Some(Self::decode(value))
    }

    fn decode(value: &Value) -> Result<Managed, FieldsError> {
        let entries: Vec<ManagedFieldsEntry> = serde_json::from_value(value.clone()).map_err(FieldsError::Entry)?;
        let entries = entries.into_iter().map(Entry::decode).collect::<Result<_, _>>()?;
        Ok(Managed { entries })
    }

    /// The entry of the manager that `probe` identifies.
    pub fn find(&self, probe: &Entry) -> Option<&Entry> {
        self.entries.iter().find(|e| e.same_manager(probe))
    }

    /// Replaces (or adds) the entry of `entry`'s manager.
    pub fn put(&mut self, entry: Entry) {
        self.entries.retain(|e| !e.same_manager(&entry));
        self.entries.push(entry);
    }

    /// Writes the entries to `metadata.managedFields`, sorted the way the apiserver sorts
    /// them (operation, time, manager, apiVersion, subresource), dropping empty ones; no
    /// entries remove the field.
    pub fn write(mut self, object: &mut Value) {
        self.entries.retain(|e| !e.fields.is_empty());
        self.entries.sort_by(|a, b| {
            (a.operation, a.time.as_ref().map(|t| t.0), &a.manager, &a.api_version, &a.subresource).cmp(&(
                b.operation,
                b.time.as_ref().map(|t| t.0),
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
        });
        let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else { return };
        if self.entries.is_empty() {
            metadata.remove("managedFields");
            return;
        }
        let encoded: Vec<ManagedFieldsEntry> = self.entries.iter().map(Entry::encode).collect();
        if let Ok(value) = serde_json::to_value(encoded) {
            metadata.insert("managedFields".to_string(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_entries_in_apiserver_order() {
        let mut object = json!({"metadata": {"managedFields": [
            {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}},
            {"manager": "ops", "operation": "Apply", "apiVersion": "v1", "time": "2024-01-02T00:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}
        ]}});
        let managed = Managed::read(&object).expect("present").expect("decodes");
        assert_eq!(managed.entries[0].describe(), "\"kubectl-edit\" using v1");
        assert_eq!(managed.entries[1].describe(), "\"ops\"");
        managed.write(&mut object);
        let names: Vec<&str> = object["metadata"]["managedFields"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(names, ["ops", "kubectl-edit"]);
    }

    #[test]
    fn rejects_unknown_operations_and_drops_empty_entries() {
        let bad = json!({"metadata": {"managedFields": [{"manager": "x", "operation": "Delete"}]}});
        assert!(matches!(Managed::read(&bad), Some(Err(FieldsError::Operation(_)))));
        let mut object =
            json!({"metadata": {"managedFields": [{"manager": "x", "operation": "Update", "fieldsV1": {}}]}});
        Managed::read(&object).expect("present").expect("decodes").write(&mut object);
        assert_eq!(object, json!({"metadata": {}}));
    }
}
