//! placeholder module being written
