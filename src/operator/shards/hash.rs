//! Which shard an object belongs to: a stable 64-bit hash of its identity, mapped to one of
//! `N` shards by jump consistent hashing.
//!
//! The hash is part of the operator's contract between replicas (and between versions of
//! driftwarden during a rolling upgrade): every replica must put an object in the same
//! shard. So it is a fixed algorithm over a fixed encoding, never std's randomly keyed
//! `DefaultHasher`, and the tests pin expected values.
//!
//! - **Identity hashed**: the API group (not the version, so `apps/v1` and `apps/v1beta1`
//!   name the same object), the kind, the namespace and the name. The namespace alone is
//!   not enough: one namespace holding most objects would put them all in one shard.
//! - **Encoding**: each part as its length (4 bytes, little-endian) followed by its UTF-8
//!   bytes; the namespace is preceded by one byte, `0` for a cluster-scoped object and `1`
//!   for a namespaced one, so no two identities share an encoding.
//! - **Hash**: 64-bit FNV-1a over the encoding, then the 64-bit finalizer of MurmurHash3
//!   (`fmix64`) so that every output bit depends on every input bit.
//! - **Shard**: jump consistent hash (Lamping and Veach, 2014) in integer arithmetic, so
//!   the result does not depend on floating-point rounding. Going from `N` to `N + 1`
//!   shards moves about `1 / (N + 1)` of the objects, all of them into the new shard.

use crate::keys::{KindKey, ObjectKey};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a, fed piece by piece.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Fnv1a(FNV_OFFSET)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// A length-prefixed part. Longer parts than 4 GiB cannot be object names.
    fn part(&mut self, text: &str) {
        let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
        self.bytes(&length.to_le_bytes());
        self.bytes(text.as_bytes());
    }

    /// The hash, with MurmurHash3's `fmix64` finalizer.
    fn finish(&self) -> u64 {
        let mut k = self.0;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^= k >> 33;
        k
    }
}

/// The stable 64-bit hash of an object's identity (see the module documentation).
fn identity_hash(kind: &KindKey, namespace: Option<&str>, name: &str) -> u64 {
    let mut hash = Fnv1a::new();
    hash.part(kind.group_version().0);
    hash.part(&kind.kind);
    match namespace {
        None => hash.bytes(&[0]),
        Some(namespace) => {
            hash.bytes(&[1]);
            hash.part(namespace);
        }
    }
    hash.part(name);
    hash.finish()
}

/// The 64-bit FNV-1a hash of `text`, finalized: for spreading choices that need no
/// stability across versions (where a replica starts looking for free shards).
pub(super) fn text_hash(text: &str) -> u64 {
    let mut hash = Fnv1a::new();
    hash.bytes(text.as_bytes());
    hash.finish()
}

/// Jump consistent hash: the bucket of `key` among `buckets` (at least 1).
fn jump(mut key: u64, buckets: u32) -> u32 {
    let buckets = u64::from(buckets.max(1));
    let mut bucket = 0;
    let mut next = 0;
    while next < buckets {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // (b + 1) * 2^31 / ((key >> 33) + 1): b + 1 <= 2^32, so this fits in 64 bits.
        next = ((bucket + 1) << 31) / ((key >> 33) + 1);
    }
    // bucket < buckets <= u32::MAX.
    u32::try_from(bucket).unwrap_or(u32::MAX)
}

/// The shard, among `shards` (`0` counts as `1`), of the object of `kind` named `name` in
/// `namespace` (`None` for a cluster-scoped object). The same on every replica, process,
/// version and architecture.
pub fn shard_of(kind: &KindKey, namespace: Option<&str>, name: &str, shards: u32) -> u32 {
    jump(identity_hash(kind, namespace, name), shards)
}

/// The shard of `key` among `shards`: [`shard_of`] its kind, namespace and name.
pub fn shard_of_key(key: &ObjectKey, shards: u32) -> u32 {
    shard_of(&key.kind, key.namespace.as_deref(), &key.name, shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(namespace: &str, name: &str) -> ObjectKey {
        ObjectKey::new(KindKey::new("apps/v1", "Deployment"), Some(namespace.to_string()), name)
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        let fnv = |text: &str| {
            let mut hash = Fnv1a::new();
            hash.bytes(text.as_bytes());
            hash.0
        };
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn jump_matches_the_reference_implementation() {
        // Values of the paper's floating-point function (JumpConsistentHash) for these keys.
        assert_eq!(jump(0, 1), 0);
        assert_eq!(jump(0, 1000), 0);
        assert_eq!(jump(1, 1000), REFERENCE_1_1000);
        assert_eq!(jump(0xdead_beef, 1000), REFERENCE_DEADBEEF_1000);
        assert_eq!(jump(u64::MAX, 1), 0);
        assert_eq!(jump(12_345, 0), 0, "no shards count as one");
    }

    const REFERENCE_1_1000: u32 = 549;
    const REFERENCE_DEADBEEF_1000: u32 = 285;

    #[test]
    fn shards_are_stable_across_processes_and_versions() {
        // Pinned: a change here reassigns objects between replicas of different versions.
        let pinned = [
            (deployment("shop", "web"), 0),
            (deployment("shop", "api"), 7),
            (ObjectKey::new(KindKey::new("v1", "Namespace"), None, "shop"), 7),
            (ObjectKey::new(KindKey::new("v1", "ConfigMap"), Some("kube-system".into()), "coredns"), 10),
        ];
        for (key, expected) in &pinned {
            assert_eq!(shard_of_key(key, 16), *expected, "{key}");
        }
        // The same values computed independently (a Python transcription of the module's
        // description).
        assert_eq!(identity_hash(&KindKey::new("apps/v1", "Deployment"), Some("shop"), "web"), 0xb279_8de9_269d_5a8d);
        assert_eq!(
            identity_hash(&KindKey::new("v1", "ConfigMap"), Some("kube-system"), "coredns"),
            0x00ad_5bf4_bcaa_dfe9
        );
    }

    #[test]
    fn the_api_version_does_not_move_an_object_but_the_group_does() {
        let v1 = KindKey::new("apps/v1", "Deployment");
        let beta = KindKey::new("apps/v1beta1", "Deployment");
        let other_group = KindKey::new("extensions/v1beta1", "Deployment");
        let hash = |kind: &KindKey| identity_hash(kind, Some("shop"), "web");
        assert_eq!(hash(&v1), hash(&beta));
        assert_ne!(hash(&v1), hash(&other_group));
        // Parts cannot run into each other.
        let configmap = KindKey::new("v1", "ConfigMap");
        assert_ne!(identity_hash(&configmap, Some("ab"), "c"), identity_hash(&configmap, Some("a"), "bc"));
        assert_ne!(identity_hash(&configmap, None, "shop"), identity_hash(&configmap, Some(""), "shop"));
    }

    #[test]
    fn one_namespace_spreads_evenly_over_the_shards() {
        let mut counts = [0u32; 4];
        for i in 0..100_000 {
            let key = deployment("crowded", &format!("app-{i}"));
            counts[shard_of_key(&key, 4) as usize] += 1;
        }
        for (shard, count) in counts.iter().enumerate() {
            assert!((23_750..=26_250).contains(count), "shard {shard} holds {count} of 100000: {counts:?}");
        }
    }

    #[test]
    fn one_more_shard_moves_about_its_share_and_only_into_the_new_shard() {
        let keys: Vec<ObjectKey> =
            (0..20_000).map(|i| deployment(&format!("ns-{}", i % 7), &format!("app-{i}"))).collect();
        for shards in 1..=16u32 {
            let mut moved = 0u32;
            for key in &keys {
                let (before, after) = (shard_of_key(key, shards), shard_of_key(key, shards + 1));
                if before != after {
                    assert_eq!(after, shards, "{key} moved from {before} to an old shard {after}");
                    moved += 1;
                }
            }
            let expected = keys.len() as f64 / f64::from(shards + 1);
            let deviation = (f64::from(moved) - expected).abs() / expected;
            assert!(deviation < 0.1, "{shards} -> {}: {moved} moved, about {expected:.0} expected", shards + 1);
        }
    }

    #[test]
    fn every_shard_is_in_range() {
        for shards in [1, 2, 3, 7, 64, 1024] {
            for i in 0..1_000 {
                assert!(shard_of_key(&deployment("shop", &format!("w{i}")), shards) < shards);
            }
        }
    }
}
