//! Field ownership: server-side apply and the `metadata.managedFields` every write
//! maintains, following the structured-merge-diff design of the apiserver.
//!
//! - [`path`] and [`fieldset`]: field paths and sets of them, with the `FieldsV1` encoding.
//! - [`schema`] and [`items`]: how lists and maps merge, from the engine's table for
//!   built-in kinds and from the CRD schema for custom resources.
//! - [`owned`], [`compare`], [`merge`]: what an applied configuration owns, what a write
//!   changed, and the merge of a configuration into the live object.
//! - [`managed`], [`scope`], [`track`]: the managed-fields entries, which fields a write
//!   may own, and the `Update` entries of non-apply writes.
//! - [`conflict`] and [`operation`]: the apply itself and its 409.

mod compare;
mod conflict;
mod error;
mod fieldset;
mod items;
mod managed;
mod merge;
mod operation;
mod owned;
mod path;
mod schema;
mod scope;
mod track;

pub use error::FieldsError;
pub use fieldset::FieldSet;
pub use merge::merge;
pub use path::PathElement;
pub use schema::{ListShape, Schema};
pub(super) use track::{Ownership, settle};
