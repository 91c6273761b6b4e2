//! The old path of [`crate::keys`], where [`crate::keys::ObjectKey`] was `ObjKey`.

pub use crate::keys::{KindKey, ObjectKey as ObjKey, PolicyKey};
