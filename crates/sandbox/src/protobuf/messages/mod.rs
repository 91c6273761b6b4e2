//! The JSON shape of every message in the object graphs of the kinds the sandbox decodes
//! from protobuf, one file per API group version. Each entry lists every field of the
//! prost message with the JSON name and mode the API server's Go type gives it.

mod apps_v1;
mod authentication_v1;
mod authorization_v1;
mod batch_v1;
mod coordination_v1;
mod core_v1;
mod events_v1;
mod meta_v1;
mod networking_v1;
mod policy_v1;
mod rbac_v1;
mod scheduling_v1;
