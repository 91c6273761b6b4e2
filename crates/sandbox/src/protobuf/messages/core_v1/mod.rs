//! The JSON shape of the `core/v1` messages, by concern.

mod objects;
mod pods;
mod volumes;
