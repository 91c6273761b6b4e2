//! Where the key of Secret fingerprints ([`crate::engine::fingerprint`]) comes from.
//!
//! - The operator keeps one key per installation: the Secret [`KEY_SECRET`] in its
//!   namespace, made once with [`FingerprintKey::GENERATED_LEN`] random bytes under
//!   `data.key` and never overwritten. Replicas that start together converge on it: each
//!   reads it, creates it only when it is missing, and reads it again when another replica
//!   created it first.
//! - `driftwarden check` reads a key file (`--fingerprint-key-file`), else draws a key for
//!   the run.
//! - `driftwarden diff` reads the installation's Secret when it may, else draws a key for
//!   the run.
//!
//! A key drawn for a run makes fingerprints that compare within that run only;
//! [`crate::check::KeySource::note`] says so for people and machines.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, PostParams};

use crate::engine::{FingerprintKey, FingerprintKeyError};

/// The name of the Secret that holds the installation's fingerprint key.
pub const KEY_SECRET: &str = "driftwarden-fingerprint-key";
/// The `data` entry of that Secret that holds the key's bytes.
pub const KEY_FIELD: &str = "key";

/// Why a fingerprint key could not be had. No variant carries the key's bytes.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the fingerprint key file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the fingerprint key file {path} holds no usable key (its bytes are the key, as they are): {source}")]
    BadFile {
        path: PathBuf,
        #[source]
        source: FingerprintKeyError,
    },
    #[error("cannot read Secret {namespace}/{KEY_SECRET}: {source}")]
    Read {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot create Secret {namespace}/{KEY_SECRET}: {source}")]
    Create {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "Secret {namespace}/{KEY_SECRET} holds no usable fingerprint key in data.{KEY_FIELD} ({problem}); \
         delete it to have a new key made (fingerprints shown so far then change)"
    )]
    Malformed { namespace: String, problem: String },
}

/// A key of [`FingerprintKey::GENERATED_LEN`] bytes from the thread's cryptographic
/// generator (seeded by the operating system).
pub fn draw() -> FingerprintKey {
    FingerprintKey::new(&random_bytes()).expect("a generated key has a valid length")
}

fn random_bytes() -> Vec<u8> {
    let mut bytes = vec![0u8; FingerprintKey::GENERATED_LEN];
    rand::fill(&mut bytes[..]);
    bytes
}

/// The key in the file at `path`: its bytes as they are, from
/// [`FingerprintKey::MIN_LEN`] to [`FingerprintKey::MAX_LEN`] of them. To compare with the
/// operator's fingerprints, write the installation's key:
/// `kubectl get secret driftwarden-fingerprint-key -o jsonpath='{.data.key}' | base64 -d`.
pub fn from_file(path: &Path) -> Result<FingerprintKey, KeyError> {
    let read_error = |source| KeyError::ReadFile { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    // One byte more than a key may have is enough to tell that the file is too long.
    let limit = u64::try_from(FingerprintKey::MAX_LEN + 1).unwrap_or(u64::MAX);
    file.take(limit).read_to_end(&mut bytes).map_err(read_error)?;
    FingerprintKey::new(&bytes).map_err(|source| KeyError::BadFile { path: path.to_path_buf(), source })
}

/// Reads the installation's key from [`KEY_SECRET`] in `namespace`.
pub async fn read_installation(client: Client, namespace: &str) -> Result<FingerprintKey, KeyError> {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let secret = api.get(KEY_SECRET).await.map_err(|source| KeyError::Read { namespace: namespace.into(), source })?;
    key_of(&secret, namespace)
}

/// The installation's key: read from [`KEY_SECRET`] in `namespace`, or, when there is
/// none, made and created there. When another replica creates it first (409), its key is
/// read and used: a key once written is never overwritten.
pub async fn get_or_create(client: Client, namespace: &str) -> Result<FingerprintKey, KeyError> {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let read = |source| KeyError::Read { namespace: namespace.into(), source };
    if let Some(secret) = api.get_opt(KEY_SECRET).await.map_err(read)? {
        return key_of(&secret, namespace);
    }
    match api.create(&PostParams::default(), &key_secret(namespace, random_bytes())).await {
        Ok(created) => key_of(&created, namespace),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            tracing::debug!(namespace, "another replica made the fingerprint key first: reading it");
            let secret = api.get(KEY_SECRET).await.map_err(read)?;
            key_of(&secret, namespace)
        }
        Err(source) => Err(KeyError::Create { namespace: namespace.into(), source }),
    }
}

/// The Secret that holds a new key: immutable, so that no update can change the key.
fn key_secret(namespace: &str, bytes: Vec<u8>) -> Secret {
    let labels = BTreeMap::from([
        ("app.kubernetes.io/managed-by".to_string(), "driftwarden".to_string()),
        ("app.kubernetes.io/component".to_string(), "fingerprint-key".to_string()),
    ]);
    Secret {
        metadata: ObjectMeta {
            name: Some(KEY_SECRET.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        immutable: Some(true),
        data: Some(BTreeMap::from([(KEY_FIELD.to_string(), ByteString(bytes))])),
        ..Secret::default()
    }
}

fn key_of(secret: &Secret, namespace: &str) -> Result<FingerprintKey, KeyError> {
    let malformed = |problem: String| KeyError::Malformed { namespace: namespace.to_string(), problem };
    let bytes = secret
        .data
        .as_ref()
        .and_then(|data| data.get(KEY_FIELD))
        .ok_or_else(|| malformed(format!("no data.{KEY_FIELD}")))?;
    FingerprintKey::new(&bytes.0).map_err(|error| malformed(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_taken_as_it_is_and_a_bad_one_says_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, b"driftwarden test fingerprint key").unwrap();
        let key = from_file(&path).unwrap();
        // hmac.new(b"driftwarden test fingerprint key", b"hunter2", hashlib.sha256)
        assert_eq!(key.fingerprint(b"hunter2"), "hmac-sha256:95ae1e21176bbddf0f7df3c28e132061");

        std::fs::write(&path, b"short\n").unwrap();
        let short = from_file(&path).unwrap_err().to_string();
        assert!(short.contains("has 6") && short.contains(&path.display().to_string()), "{short}");
        std::fs::write(&path, vec![7u8; FingerprintKey::MAX_LEN + 10]).unwrap();
        let long = from_file(&path).unwrap_err().to_string();
        assert!(long.contains(&format!("has {}", FingerprintKey::MAX_LEN + 1)), "{long}");
        let missing = from_file(&dir.path().join("absent")).unwrap_err();
        assert!(matches!(missing, KeyError::ReadFile { .. }), "{missing}");
    }

    #[test]
    fn drawn_keys_differ_and_a_key_secret_reads_back() {
        assert_ne!(draw().fingerprint(b"x"), draw().fingerprint(b"x"));
        let secret = key_secret("ops", b"driftwarden test fingerprint key".to_vec());
        assert_eq!(secret.immutable, Some(true));
        let key = key_of(&secret, "ops").unwrap();
        assert_eq!(key.fingerprint(b"hunter2"), "hmac-sha256:95ae1e21176bbddf0f7df3c28e132061");
        let empty = Secret::default();
        let error = key_of(&empty, "ops").unwrap_err().to_string();
        assert!(error.contains("ops/driftwarden-fingerprint-key") && error.contains("no data.key"), "{error}");
    }
}
