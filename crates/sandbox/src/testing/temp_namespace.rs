//! A namespace that lives as long as a test.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};

/// A namespace deleted when dropped.
pub struct TempNamespace {
    client: kube::Client,
    name: String,
    deleted: bool,
}

impl TempNamespace {
    /// Creates a namespace with a generated `dw-test-` name.
    pub async fn create(client: kube::Client) -> Result<Self, kube::Error> {
        let api: Api<Namespace> = Api::all(client.clone());
        let mut namespace = Namespace::default();
        namespace.metadata.generate_name = Some("dw-test-".to_string());
        let created = api.create(&PostParams::default(), &namespace).await?;
        Ok(TempNamespace { client, name: created.metadata.name.unwrap_or_default(), deleted: false })
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
