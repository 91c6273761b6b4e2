//! Secret fingerprints: what is shown of a Secret's value instead of the value.
//!
//! A fingerprint is `hmac-sha256:` and the first 32 hex digits (128 bits) of the
//! HMAC-SHA-256 of the decoded value under a [`FingerprintKey`]. Without the key, a
//! fingerprint tells nothing about the value, not even for a guessable one (a PIN): a
//! Finding or a report can be shown to people who may not read the Secret. With the same
//! key, the same value has the same fingerprint, so desired and live values, and reports
//! of one installation, can be compared.
//!
//! The operator keeps one key per installation, in a Secret in its namespace; `check` and
//! `diff` take it when they can, and otherwise draw a key per run (their fingerprints then
//! compare only within that run).

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::api::finding::FingerprintScheme;

/// How a fingerprint starts.
pub const FINGERPRINT_PREFIX: &str = "hmac-sha256:";

/// How many bytes of the HMAC a fingerprint shows (128 bits).
const SHOWN_BYTES: usize = 16;

/// The key Secret fingerprints are computed with. Its bytes are never shown: it has no
/// `Display`, and its `Debug` output names the type only.
#[derive(Clone)]
pub struct FingerprintKey {
    /// The HMAC state after the key is absorbed, cloned for each fingerprint.
    mac: Arc<Hmac<Sha256>>,
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FingerprintKeyError {
    #[error(
        "a fingerprint key must have from {min} to {max} bytes, this one has {len}",
        min = FingerprintKey::MIN_LEN,
        max = FingerprintKey::MAX_LEN
    )]
    Length { len: usize },
}

impl FingerprintKey {
    /// The fewest bytes a key may have.
    pub const MIN_LEN: usize = 16;
    /// The most bytes a key may have.
    pub const MAX_LEN: usize = 4096;
    /// How many bytes a key that driftwarden draws has.
    pub const GENERATED_LEN: usize = 32;

    /// The key made of `bytes`, taken as they are.
    pub fn new(bytes: &[u8]) -> Result<Self, FingerprintKeyError> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(FingerprintKeyError::Length { len: bytes.len() });
        }
        let mac =
            Hmac::<Sha256>::new_from_slice(bytes).map_err(|_| FingerprintKeyError::Length { len: bytes.len() })?;
        Ok(Self { mac: Arc::new(mac) })
    }

    /// The scheme of the fingerprints this key makes.
    pub const fn scheme(&self) -> FingerprintScheme {
        FingerprintScheme::HmacSha256_128
    }

    /// The fingerprint of `bytes`: `hmac-sha256:` and 32 hex digits.
    pub fn fingerprint(&self, bytes: &[u8]) -> String {
        let mut mac = (*self.mac).clone();
        mac.update(bytes);
        let digest = mac.finalize().into_bytes();
        format!("{FINGERPRINT_PREFIX}{}", hex::encode(&digest[..SHOWN_BYTES]))
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(<hidden>)")
    }
}

/// The key unit tests fingerprint with.
#[cfg(test)]
pub(crate) fn test_key() -> FingerprintKey {
    FingerprintKey::new(b"driftwarden test fingerprint key").expect("32 bytes make a key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_is_hmac_sha256_as_rfc_4231_gives_it() {
        // RFC 4231, test case 1: key 0x0b × 20, data "Hi There", HMAC-SHA-256 =
        // b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7.
        let key = FingerprintKey::new(&[0x0b; 20]).unwrap();
        assert_eq!(key.fingerprint(b"Hi There"), "hmac-sha256:b0344c61d8db38535ca8afceaf0bf12b");
    }

    #[test]
    fn a_secret_value_fingerprints_as_python_hmac_computes_it() {
        // hmac.new(b"driftwarden test fingerprint key", b"hunter2", hashlib.sha256).hexdigest()
        // = 95ae1e21176bbddf0f7df3c28e132061bb41bb8f45d8870edcbac2cc20964c84
        let key = FingerprintKey::new(b"driftwarden test fingerprint key").unwrap();
        assert_eq!(key.fingerprint(b"hunter2"), "hmac-sha256:95ae1e21176bbddf0f7df3c28e132061");
        assert_eq!(key.fingerprint(b"hunter2"), key.clone().fingerprint(b"hunter2"), "the same key, the same print");
        assert_eq!(key.scheme(), FingerprintScheme::HmacSha256_128);
    }

    #[test]
    fn different_keys_give_different_fingerprints() {
        // hmac.new(b"another fingerprint key, 32 byte", b"hunter2", hashlib.sha256).hexdigest()
        // = c9aeae5116a6ea88400f235e97513358c4f66fa807f392f6ff9e7ce561623d13
        let one = FingerprintKey::new(b"driftwarden test fingerprint key").unwrap();
        let other = FingerprintKey::new(b"another fingerprint key, 32 byte").unwrap();
        assert_eq!(other.fingerprint(b"hunter2"), "hmac-sha256:c9aeae5116a6ea88400f235e97513358");
        assert_ne!(one.fingerprint(b"hunter2"), other.fingerprint(b"hunter2"));
        assert_ne!(one.fingerprint(b"hunter2"), one.fingerprint(b"hunter3"));
    }

    #[test]
    fn keys_of_the_wrong_length_are_refused_and_no_key_is_ever_shown() {
        assert_eq!(FingerprintKey::new(b"short").unwrap_err(), FingerprintKeyError::Length { len: 5 });
        assert_eq!(
            FingerprintKey::new(&[]).unwrap_err().to_string(),
            "a fingerprint key must have from 16 to 4096 bytes, this one has 0"
        );
        assert!(FingerprintKey::new(&vec![1; FingerprintKey::MAX_LEN + 1]).is_err());
        let key = FingerprintKey::new(b"do-not-print-these-key-bytes").unwrap();
        assert_eq!(format!("{key:?}"), "FingerprintKey(<hidden>)");
    }
}
