//! A namespace that lives as long as a test.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams};

/// A namespace deleted when dropped.
pub struct TempNamespace {
    client: kube::Client,
    name: String,
    deleted: bool,
}

impl TempNamespace {
    pub(super) fn new(client: kube::Client, name: String) -> Self {
        TempNamespace { client, name, deleted: false }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deletes the namespace now and reports whether that worked.
    pub async fn delete(mut self) -> Result<(), kube::Error> {
        self.deleted = true;
        let api: Api<Namespace> = Api::all(self.client.clone());
        api.delete(&self.name, &DeleteParams::default()).await.map(|_| ())
    }
}

impl Drop for TempNamespace {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        // Deletion is best effort: the sandbox (and its namespaces) may already be gone.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let api: Api<Namespace> = Api::all(self.client.clone());
            let name = std::mem::take(&mut self.name);
            runtime.spawn(async move {
                if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
                    tracing::debug!(namespace = %name, error = %e, "temporary namespace was not deleted");
                }
            });
        }
    }
}
