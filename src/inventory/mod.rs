//! `driftwarden inventory`: read-only. Lists the kinds the identity analysis reads with the
//! caller's credentials, builds a [`Snapshot`](crate::identity::Snapshot), and reports the
//! [`Inventory`](crate::identity::Inventory). Nothing is written.

pub mod list;
pub mod report;

pub use list::{ListError, snapshot};
pub use report::{Filter, PrivilegeFilter, Report};
