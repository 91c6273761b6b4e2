//! The `--data` file: a store snapshot as JSON, written to a temporary file in the same
//! directory and renamed over the old one, so a crash never leaves a torn file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::Snapshot;

/// A failure to read or write the data file.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    /// The file could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a snapshot.
    #[error("{path} is not a sandbox snapshot")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl PersistenceError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            PersistenceError::Io { .. } => "Io",
            PersistenceError::Decode { .. } => "Decode",
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PersistenceError {
    let path = path.to_path_buf();
    move |source| PersistenceError::Io { action, path, source }
}

/// The snapshot in `path`, or `None` when the file does not exist.
pub fn load(path: &Path) -> Result<Option<Snapshot>, PersistenceError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path)(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|source| PersistenceError::Decode { path: path.into(), source })
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
/// The file is readable by its owner only (it holds the admin token, or Secrets).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PersistenceError> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut file = open.open(&temp).map_err(io("create", &temp))?;
    file.write_all(bytes).map_err(io("write", &temp))?;
    file.sync_all().map_err(io("sync", &temp))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io("rename into place", path))
}

/// Writes the snapshot to `path` atomically.
pub fn save(path: &Path, snapshot: &Snapshot) -> Result<(), PersistenceError> {
    // Serializing plain JSON values cannot fail.
    let bytes = serde_json::to_vec(snapshot).unwrap_or_default();
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_and_a_missing_file_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.json");
        assert!(load(&path).expect("missing is fine").is_none());
        let snapshot = Snapshot { resource_version: 7, resources: Vec::new() };
        save(&path, &snapshot).expect("saved");
        assert_eq!(load(&path).expect("loaded"), Some(snapshot));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::write(&path, b"not json").expect("write");
        assert_eq!(load(&path).expect_err("garbage").category(), "Decode");
    }
}
