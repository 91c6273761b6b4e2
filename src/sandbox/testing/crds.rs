//! Installing CustomResourceDefinitions through the API, as a test against any cluster
//! does, and waiting until they are served.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::wait::{await_condition, conditions};

/// Creates each CRD and waits for it to be `Established`.
pub async fn install_crds(client: &Client, crds: &[CustomResourceDefinition]) -> Result<(), kube::Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), crd).await?;
        await_condition(api.clone(), &name, conditions::is_crd_established())
            .await
            .map_err(|err| kube::Error::Service(Box::new(err)))?;
    }
    Ok(())
}
