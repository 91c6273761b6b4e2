//! Reading policies and manifests from files, directories and standard input.
//!
//! Every document keeps where it came from (file and document index), so each error and
//! each violation points at the place to edit.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::policy::{ClusterDriftPolicy, ClusterDriftPolicySpec, DriftPolicy, DriftPolicySpec, PolicySpec};
use crate::engine::scope::{Scope, Scopes};
use crate::keys::ObjectKey;

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// The file, or `-` for standard input.
    pub file: String,
    /// The index of the document in the file, from 0.
    pub document: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (document {})", self.file, self.document)
    }
}

/// Why the input could not be read. Every variant says where.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: not valid YAML: {message}")]
    Yaml { origin: Origin, message: String },
    #[error("{origin}: {field}: {message}")]
    Invalid { origin: Origin, field: String, message: String },
}

/// One manifest and where it came from.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub origin: Origin,
    pub object: Value,
}

/// A policy read from a file.
#[derive(Debug, Clone)]
pub enum PolicyDocument {
    Namespaced(DriftPolicy),
    Cluster(ClusterDriftPolicy),
}

/// A policy and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    pub origin: Origin,
    pub policy: PolicyDocument,
}

/// The files a path stands for: the file itself, or the `.yaml`, `.yml` and `.json` files
/// under a directory (recursively, in name order). `-` is standard input.
pub fn expand(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let io = |source| LoadError::Io { path: path.display().to_string(), source };
    if path.as_os_str() == "-" || !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut entries = std::fs::read_dir(path).map_err(io)?.collect::<Result<Vec<_>, _>>().map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let child = entry.path();
        if child.is_dir() {
            files.extend(expand(&child)?);
        } else if child.extension().is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json") {
            files.push(child);
        }
    }
    Ok(files)
}

fn read(path: &Path) -> Result<String, LoadError> {
    let io = |source| LoadError::Io { path: path.display().to_string(), source };
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(io)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(io)
    }
}

/// Splits a file into its YAML (or JSON) documents, skipping empty ones; `*List` kinds are
/// expanded into their items, which keep the document index of the list.
pub fn documents(path: &Path) -> Result<Vec<Manifest>, LoadError> {
    let file = file_name(path);
    parse_documents(&file, &read(path)?)
}

fn file_name(path: &Path) -> String {
    if path.as_os_str() == "-" { "-".to_string() } else { path.display().to_string() }
}

/// Splits `text`, read from `file`, into its documents as [`documents`] does.
pub fn parse_documents(file: &str, text: &str) -> Result<Vec<Manifest>, LoadError> {
    let kept = read_stream(file, text, &|manifest| Ok(manifest.object))?;
    Ok(kept.into_iter().map(|(origin, object)| Manifest { origin, object }).collect())
}

/// What a reader makes of each manifest as soon as it is read (a failure stops the read).
type Accept<'a, T> = dyn Fn(Manifest) -> Result<T, LoadError> + Sync + 'a;

/// Reads the documents of a stream and hands each manifest to `accept` as soon as it is
/// read, so that a long stream is never held as object trees all at once unless `accept`
/// keeps them so.
///
/// A long stream is read on several threads: it is cut at document markers (`---` at the
/// start of a line, which YAML never lets a scalar's line begin with), each part is read on
/// its own, and the documents are numbered in order across the parts. When a part fails,
/// the whole stream is read again in one piece, so that the error is the first in the
/// stream and names the document and the line exactly as a single read would.
fn read_stream<T: Send>(file: &str, text: &str, accept: &Accept<'_, T>) -> Result<Vec<(Origin, T)>, LoadError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_PARSE_THREADS);
    let parts = if text.len() >= PARALLEL_PARSE_FROM { split_stream(text, threads) } else { vec![text] };
    if parts.len() > 1 {
        let read: Vec<Option<Part<T>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = parts.iter().map(|part| scope.spawn(|| read_part(file, part, accept).ok())).collect();
            // A read that panicked (a bug in the YAML parser) is read again below.
            handles.into_iter().map(|handle| handle.join().ok().flatten()).collect()
        });
        if let Some(read) = read.into_iter().collect::<Option<Vec<Part<T>>>>() {
            let mut out = Vec::with_capacity(read.iter().map(|part| part.kept.len()).sum());
            let mut first = 0;
            for part in read {
                out.extend(part.kept.into_iter().map(|(mut origin, item)| {
                    origin.document += first;
                    (origin, item)
                }));
                first += part.documents;
            }
            return Ok(out);
        }
    }
    read_part(file, text, accept).map(|part| part.kept)
}

/// Streams at least this long are read on several threads.
const PARALLEL_PARSE_FROM: usize = 1 << 20;
/// At most this many threads read one stream.
const MAX_PARSE_THREADS: usize = 8;

/// One part of a stream as read: what was kept of its manifests, numbered from its first
/// document, and how many documents it held.
struct Part<T> {
    kept: Vec<(Origin, T)>,
    documents: usize,
}

/// Reads one stream (or part of one), numbering its documents from 0.
fn read_part<T>(file: &str, text: &str, accept: &Accept<'_, T>) -> Result<Part<T>, LoadError> {
    let mut kept = Vec::new();
    let mut documents = 0;
    for (document, yaml) in serde_yaml::Deserializer::from_str(text).enumerate() {
        documents = document + 1;
        let origin = Origin { file: file.to_string(), document };
        let value = Value::deserialize(yaml)
            .map_err(|err| LoadError::Yaml { origin: origin.clone(), message: err.to_string() })?;
        let mut keep = |object: Value, origin: Origin| -> Result<(), LoadError> {
            kept.push((origin.clone(), accept(Manifest { origin, object })?));
            Ok(())
        };
        match value {
            Value::Null => {}
            Value::Object(_) => {
                let is_list = value.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"))
                    && value.get("items").is_some();
                if !is_list {
                    keep(value, origin)?;
                    continue;
                }
                let Value::Object(mut list) = value else { continue };
                let Some(Value::Array(items)) = list.remove("items") else {
                    return Err(invalid(origin, "items", "must be a list of objects"));
                };
                for item in items {
                    keep(item, origin.clone())?;
                }
            }
            _ => return Err(invalid(origin, "(document)", "must be a Kubernetes object (a YAML mapping)")),
        }
    }
    Ok(Part { kept, documents })
}

/// Cuts `text` into about `parts` pieces of similar length, each (but the first) starting
/// at a document marker line. The first piece holds the first marked document, so what
/// comes before it (comments, a document without a marker) is read with it as a single
/// read would.
fn split_stream(text: &str, parts: usize) -> Vec<&str> {
    let Some(first) = next_marker(text, 0) else { return vec![text] };
    let mut starts = vec![0];
    for k in 1..parts {
        let from = (text.len() * k / parts).max(first + 1);
        match next_marker(text, from) {
            Some(at) if at > *starts.last().unwrap_or(&0) => starts.push(at),
            _ => {}
        }
    }
    starts.push(text.len());
    starts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

/// The byte offset of the first document marker line (`---` alone or followed by
/// whitespace) at or after `from`.
fn next_marker(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < bytes.len() {
        let line_start = at == 0 || bytes[at - 1] == b'\n';
        if line_start && bytes[at..].starts_with(b"---") && bytes.get(at + 3).is_none_or(u8::is_ascii_whitespace) {
            return Some(at);
        }
        at += bytes[at..].iter().position(|b| *b == b'\n')? + 1;
    }
    None
}

fn parse_part<T: serde::de::DeserializeOwned>(origin: &Origin, field: &str, value: Value) -> Result<T, LoadError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = err.path().to_string();
        let field = if inner == "." { field.to_string() } else { format!("{field}.{inner}") };
        LoadError::Invalid { origin: origin.clone(), field, message: err.into_inner().to_string() }
    })
}

fn invalid(origin: Origin, field: &str, message: &str) -> LoadError {
    LoadError::Invalid { origin, field: field.to_string(), message: message.to_string() }
}

/// Reads manifests: checks that each names its apiVersion, kind and name, and gives
/// objects without a namespace `default_namespace`, as `kubectl apply -n` would, unless
/// `scopes` know their kind to be cluster-scoped.
pub fn manifests(paths: &[PathBuf], default_namespace: &str, scopes: &Scopes) -> Result<Vec<Manifest>, LoadError> {
    let kept = manifests_with(paths, default_namespace, scopes, &|object| object)?;
    Ok(kept.into_iter().map(|(origin, object)| Manifest { origin, object }).collect())
}

/// Reads manifests as [`manifests`] does, handing each object to `keep` as soon as it is
/// read: what the caller holds of a long stream is what `keep` makes of each object.
pub fn manifests_with<T: Send>(
    paths: &[PathBuf],
    default_namespace: &str,
    scopes: &Scopes,
    keep: &(dyn Fn(Value) -> T + Sync),
) -> Result<Vec<(Origin, T)>, LoadError> {
    let accept = |manifest: Manifest| manifest_in(manifest, default_namespace, scopes).map(|m| keep(m.object));
    let mut out = Vec::new();
    for path in paths {
        for file in expand(path)? {
            out.extend(read_stream(&file_name(&file), &read(&file)?, &accept)?);
        }
    }
    Ok(out)
}

/// Checks that a document names its apiVersion, kind and name, and gives it
/// `default_namespace` when it names none and its kind is not known to be cluster-scoped,
/// as [`manifests`] does with each document.
pub fn manifest_in(mut manifest: Manifest, default_namespace: &str, scopes: &Scopes) -> Result<Manifest, LoadError> {
    require_identity(&manifest)?;
    let key = ObjectKey::of(&manifest.object);
    if key.namespace.is_none() && scopes.scope(&key.kind.api_version, &key.kind.kind) != Some(Scope::Cluster) {
        let namespace = Value::String(default_namespace.to_string());
        if let Some(metadata) = manifest.object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("namespace".into(), namespace);
        }
    }
    Ok(manifest)
}

fn require_identity(manifest: &Manifest) -> Result<(), LoadError> {
    let object = &manifest.object;
    for (pointer, field) in [("/apiVersion", "apiVersion"), ("/kind", "kind"), ("/metadata/name", "metadata.name")] {
        match object.pointer(pointer) {
            Some(Value::String(text)) if !text.is_empty() => {}
            Some(_) => return Err(invalid(manifest.origin.clone(), field, "must be a non-empty string")),
            None => return Err(invalid(manifest.origin.clone(), field, "is required")),
        }
    }
    Ok(())
}

/// Reads DriftPolicy and ClusterDriftPolicy documents. A DriftPolicy without a namespace
/// gets `default_namespace`. Any other kind is an error: policy files hold policies only.
pub fn policies(paths: &[PathBuf], default_namespace: &str) -> Result<Vec<LoadedPolicy>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        for file in expand(path)? {
            for manifest in documents(&file)? {
                out.push(policy(manifest, default_namespace)?);
            }
        }
    }
    Ok(out)
}

/// Reads one document as a DriftPolicy or ClusterDriftPolicy, as [`policies`] does with
/// each document of a policy file.
pub fn policy(manifest: Manifest, default_namespace: &str) -> Result<LoadedPolicy, LoadError> {
    let origin = manifest.origin;
    let api_version = manifest.object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = manifest.object.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version != "driftwarden.dev/v1alpha1" {
        let message = format!("is {api_version:?}; policy files hold driftwarden.dev/v1alpha1 policies only");
        return Err(LoadError::Invalid { origin, field: "apiVersion".into(), message });
    }
    // Metadata and spec are read apart so that an error names its full path: the policy
    // kinds flatten their shared spec, which hides the path inside it from the reader.
    let part = |field: &str| manifest.object.get(field).cloned().unwrap_or(Value::Object(Default::default()));
    let metadata: ObjectMeta = parse_part(&origin, "metadata", part("metadata"))?;
    let spec: PolicySpec = parse_part(&origin, "spec", part("spec"))?;
    // Each kind's own fields, read apart for the same reason.
    let own = |field: &str| manifest.object.get("spec").and_then(|spec| spec.get(field)).cloned();
    let policy = match kind {
        "DriftPolicy" => {
            let service_account_name = match own("serviceAccountName") {
                None | Some(Value::Null) => None,
                Some(value) => Some(parse_part(&origin, "spec.serviceAccountName", value)?),
            };
            let spec = DriftPolicySpec { policy: spec, service_account_name };
            let mut policy = DriftPolicy { metadata, spec, status: None };
            policy.metadata.namespace.get_or_insert_with(|| default_namespace.to_string());
            PolicyDocument::Namespaced(policy)
        }
        "ClusterDriftPolicy" => {
            let exceptions = match own("exceptions") {
                None | Some(Value::Null) => Default::default(),
                Some(value) => parse_part(&origin, "spec.exceptions", value)?,
            };
            let service_account_ref = match own("serviceAccountRef") {
                None | Some(Value::Null) => None,
                Some(value) => Some(parse_part(&origin, "spec.serviceAccountRef", value)?),
            };
            PolicyDocument::Cluster(ClusterDriftPolicy {
                metadata,
                spec: ClusterDriftPolicySpec { policy: spec, exceptions, service_account_ref },
                status: None,
            })
        }
        other => {
            let message = format!("is {other:?}; policy files hold DriftPolicy and ClusterDriftPolicy documents only");
            return Err(LoadError::Invalid { origin, field: "kind".into(), message });
        }
    };
    Ok(LoadedPolicy { origin, policy })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
        path
    }

    /// The manifests of `text` parsed in one piece.
    fn in_one_piece(text: &str) -> Result<Vec<Manifest>, LoadError> {
        let part = read_part("f.yaml", text, &|manifest| Ok(manifest.object))?;
        Ok(part.kept.into_iter().map(|(origin, object)| Manifest { origin, object }).collect())
    }

    fn origins_and_objects(manifests: &[Manifest]) -> Vec<(usize, Value)> {
        manifests.iter().map(|m| (m.origin.document, m.object.clone())).collect()
    }

    /// A stream longer than the parallel threshold, with every shape of document a stream
    /// can hold: a comment and a document before the first marker, empty documents,
    /// document end markers, a List, CRLF line ends, `---` followed by content.
    fn long_stream() -> String {
        let mut text = String::from("# rendered\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: first}\n");
        let mut i = 0;
        while text.len() < 3 * PARALLEL_PARSE_FROM {
            let doc = match i % 6 {
                0 => format!(
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  text: |\n    ----\n    line\n"
                ),
                1 => "---\n".to_string(),
                2 => format!("--- {{apiVersion: v1, kind: Secret, metadata: {{name: s-{i}}}}}\n...\n"),
                3 => format!("---\r\napiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: svc-{i}\r\n"),
                4 => format!(
                    "---\napiVersion: v1\nkind: List\nitems:\n- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: a-{i}}}}}\n- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: b-{i}}}}}\n"
                ),
                _ => format!("---\n# a comment\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d-{i}}}\n"),
            };
            text.push_str(&doc);
            i += 1;
        }
        text
    }

    #[test]
    fn a_long_stream_parsed_in_parts_reads_as_in_one_piece() {
        let text = long_stream();
        assert!(split_stream(&text, 4).len() > 1, "the stream is long enough to be cut");
        let parallel = parse_documents("f.yaml", &text).unwrap();
        let sequential = in_one_piece(&text).unwrap();
        assert_eq!(origins_and_objects(&parallel), origins_and_objects(&sequential));
        assert!(parallel.len() > 10_000);
    }

    #[test]
    fn a_stream_is_cut_only_at_marker_lines_after_the_first() {
        let text = "# c\nfirst: 1\n---\na: 1\n---\nb: |\n  ---\n---x: 1\n--- c: 2\n";
        let parts = split_stream(text, 16);
        assert_eq!(parts.concat(), text, "the parts are the whole stream");
        assert!(parts[0].contains("a: 1"), "the first part holds the first marked document: {parts:?}");
        for part in &parts[1..] {
            assert!(part.starts_with("--- ") || part.starts_with("---\n"), "{part:?}");
        }
        assert_eq!(split_stream("a: 1\n", 4), vec!["a: 1\n"]);
    }

    #[test]
    fn a_bad_document_in_a_long_stream_is_named_as_in_one_piece() {
        let mut text = long_stream();
        text.push_str("---\napiVersion: v1\nkind: [unclosed\n");
        text.push_str(&long_stream());
        let parallel = parse_documents("f.yaml", &text).unwrap_err().to_string();
        let sequential = in_one_piece(&text).unwrap_err().to_string();
        assert_eq!(parallel, sequential);
        assert!(parallel.contains("not valid YAML"), "{parallel}");
    }

    #[test]
    fn reads_multi_document_files_lists_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        file(
            &dir,
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
        );
        file(
            &dir,
            "b.yml",
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s, namespace: shop}}\n",
        );
        file(&dir, "notes.txt", "not a manifest");
        let loaded = manifests(&[dir.path().to_path_buf()], "apps", &Scopes::default()).unwrap();
        let names: Vec<_> = loaded.iter().map(|m| ObjectKey::of(&m.object).name).collect();
        assert_eq!(names, ["a", "shop", "s"]);
        assert_eq!(loaded[0].object["metadata"]["namespace"], "apps", "namespaced objects get the default namespace");
        assert!(loaded[1].object["metadata"].get("namespace").is_none(), "a Namespace stays cluster-scoped");
        assert_eq!(loaded[2].origin.document, 0);
        assert_eq!(loaded[1].origin.document, 2, "document indices count the empty document");
    }

    #[test]
    fn errors_say_file_document_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let bad = file(
            &dir,
            "bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
        );
        let err = manifests(std::slice::from_ref(&bad), "default", &Scopes::default()).unwrap_err().to_string();
        assert_eq!(err, format!("{} (document 1): metadata.name: is required", bad.display()));

        let broken = file(&dir, "broken.yaml", "apiVersion: v1\nkind: [unclosed\n");
        let err = manifests(&[broken], "default", &Scopes::default()).unwrap_err().to_string();
        assert!(err.contains("(document 0): not valid YAML"), "{err}");

        let policy = file(
            &dir,
            "policy.yaml",
            "apiVersion: driftwarden.dev/v1alpha1\nkind: DriftPolicy\nmetadata: {name: p}\nspec:\n  remediation:\n    mode: Sometimes\n",
        );
        let err = policies(&[policy], "default").unwrap_err().to_string();
        assert!(err.contains("(document 0): spec.remediation.mode: unknown variant `Sometimes`"), "{err}");

        let missing = dir.path().join("missing.yaml");
        assert!(matches!(policies(&[missing], "default"), Err(LoadError::Io { .. })));
    }

    #[test]
    fn policy_files_hold_policies_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
        let err = policies(&[path], "default").unwrap_err().to_string();
        assert!(
            err.ends_with("apiVersion: is \"v1\"; policy files hold driftwarden.dev/v1alpha1 policies only"),
            "{err}"
        );
        let path = file(
            &dir,
            "q.yaml",
            "apiVersion: driftwarden.dev/v1alpha1\nkind: DriftPolicy\nmetadata: {name: p}\nspec: {}\n",
        );
        let loaded = policies(&[path], "team-a").unwrap();
        let PolicyDocument::Namespaced(policy) = &loaded[0].policy else { panic!("a DriftPolicy") };
        assert_eq!(policy.metadata.namespace.as_deref(), Some("team-a"));
    }
}
