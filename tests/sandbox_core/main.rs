//! The sandbox API server, exercised through the real `kube::Client` the way the operator
//! uses a cluster. Expectations follow the documented behaviour of Kubernetes.

mod admission;
mod apply;
mod crd;
mod crud;
mod deletion;
mod dry_run;
mod events;
mod immutable;
mod listing;
mod patching;
mod protobuf;
mod protocol;
mod schema;
mod status;
mod strategic;
mod support;
mod watching;
