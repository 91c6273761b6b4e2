//! The envelope of a Kubernetes protobuf body: the magic `k8s\0`, then a `runtime.Unknown`
//! holding the object's apiVersion and kind and the object's own encoded bytes.

use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;

use super::ProtobufError;

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// An opened envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The object's `apiVersion` (`v1`, `apps/v1`).
    pub api_version: String,
    /// The object's kind.
    pub kind: String,
    /// The object, encoded as its own protobuf message.
    pub raw: Vec<u8>,
}

impl Envelope {
    /// Opens a body: checks the magic and decodes the `runtime.Unknown` after it.
    pub fn open(body: &[u8]) -> Result<Envelope, ProtobufError> {
        let rest = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoMagic)?;
        let unknown = Unknown::decode(rest).map_err(ProtobufError::Envelope)?;
        if let Some(encoding) = unknown.content_encoding.filter(|e| !e.is_empty()) {
            return Err(ProtobufError::ContentEncoding(encoding));
        }
        let type_meta = unknown.type_meta.unwrap_or_default();
        Ok(Envelope {
            api_version: type_meta.api_version.unwrap_or_default(),
            kind: type_meta.kind.unwrap_or_default(),
            raw: unknown.raw.unwrap_or_default(),
        })
    }

    /// The body that carries `message` as `api_version`/`kind`: what a client sends.
    pub fn seal(api_version: &str, kind: &str, message: &impl Message) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
                api_version: Some(api_version.to_string()),
                kind: Some(kind.to_string()),
            }),
            raw: Some(message.encode_to_vec()),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut body = MAGIC.to_vec();
        body.extend(unknown.encode_to_vec());
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_pb::api::core::v1::ConfigMap;

    #[test]
    fn a_sealed_envelope_opens_to_its_type_and_bytes() {
        let message = ConfigMap { immutable: Some(true), ..ConfigMap::default() };
        let opened = Envelope::open(&Envelope::seal("v1", "ConfigMap", &message)).expect("opens");
        assert_eq!((opened.api_version.as_str(), opened.kind.as_str()), ("v1", "ConfigMap"));
        assert_eq!(ConfigMap::decode(opened.raw.as_slice()), Ok(message));
    }

    #[test]
    fn bodies_without_the_magic_or_with_broken_bytes_are_refused() {
        assert!(matches!(Envelope::open(b"{\"kind\":\"ConfigMap\"}"), Err(ProtobufError::NoMagic)));
        assert!(matches!(Envelope::open(b"k8s\0\x0a\xff"), Err(ProtobufError::Envelope(_))));
        let gzipped = Unknown { content_encoding: Some("gzip".into()), ..Unknown::default() };
        let mut body = MAGIC.to_vec();
        body.extend(gzipped.encode_to_vec());
        assert!(matches!(Envelope::open(&body), Err(ProtobufError::ContentEncoding(e)) if e == "gzip"));
    }
}
