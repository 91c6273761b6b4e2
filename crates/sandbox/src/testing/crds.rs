//! Installing CustomResourceDefinitions through the API, as a test against any cluster
//! does, and waiting until they are served.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};

/// Applies each CRD (server-side, so a cluster that already has them is fine) and waits
/// for it to be `Established`.
pub async fn install_crds(client: &Client, crds: &[CustomResourceDefinition]) -> Result<(), kube::Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let mut body = serde_json::to_value(crd).map_err(kube::Error::SerdeError)?;
        body["apiVersion"] = "apiextensions.k8s.io/v1".into();
        body["kind"] = "CustomResourceDefinition".into();
        api.patch(&name, &PatchParams::apply("driftwarden-tests").force(), &Patch::Apply(&body)).await?;
        await_condition(api.clone(), &name, conditions::is_crd_established())
            .await
            .map_err(|err| kube::Error::Service(Box::new(err)))?;
    }
    Ok(())
}
