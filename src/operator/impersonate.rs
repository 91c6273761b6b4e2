//! Fixes made as a ServiceAccount: a client that sends every request with
//! `Impersonate-User: system:serviceaccount:<namespace>:<name>`, so that the API server
//! authorizes it (RBAC, and admission, which sees the impersonated user) as that
//! ServiceAccount and never as the operator. kube-apiserver adds the ServiceAccount's
//! groups (`system:serviceaccounts`, `system:serviceaccounts:<namespace>`) itself when a
//! request names none, so none are sent.
//!
//! An impersonating client wraps the operator's own client: it shares its connections, its
//! bound on requests under way and its request counts. [`Accounts`] keeps one per
//! ServiceAccount, built once and reused by every fix made as it.

use std::collections::BTreeMap;

use http::HeaderValue;
use kube::Client;

use super::wrapped::wrapped_client;
use crate::api::ServiceAccountRef;

/// The header naming the user a request is made as.
pub const USER_HEADER: &str = "impersonate-user";

/// How many impersonating clients are kept; past it they are built again as needed. More
/// than any installation has ServiceAccounts that fix: there is at most one per policy.
const MOST_KEPT: usize = 4096;

/// A client that sends every request through `client` as `account`. Refused when the
/// account's user name cannot be a header value, which a name checked as Kubernetes checks
/// names never is.
pub fn impersonating_client(client: Client, account: &ServiceAccountRef) -> Result<Client, String> {
    let user = HeaderValue::from_str(&account.user_name())
        .map_err(|_| format!("ServiceAccount {account}: its user name cannot be sent in a header"))?;
    Ok(wrapped_client(client, move |client, mut request| {
        let headers = request.headers_mut();
        headers.insert(USER_HEADER, user.clone());
        Box::pin(async move { client.send(request).await })
    }))
}

/// The operator's client, and one impersonating client per ServiceAccount that fixes are
/// made as, each built the first time it is needed.
pub struct Accounts {
    operator: Client,
    clients: BTreeMap<ServiceAccountRef, Client>,
}

impl Accounts {
    pub fn new(operator: Client) -> Self {
        Self { operator, clients: BTreeMap::new() }
    }

    /// The client that makes requests as `account`, or as the operator for `None`.
    pub fn client(&mut self, account: Option<&ServiceAccountRef>) -> Result<Client, String> {
        let Some(account) = account else { return Ok(self.operator.clone()) };
        if let Some(client) = self.clients.get(account) {
            return Ok(client.clone());
        }
        let client = impersonating_client(self.operator.clone(), account)?;
        if self.clients.len() >= MOST_KEPT {
            self.clients.clear();
        }
        self.clients.insert(account.clone(), client.clone());
        Ok(client)
    }

    /// How many impersonating clients are kept.
    pub fn kept(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use http::{Request, Response};
    use kube::client::Body;

    use super::*;
    use crate::operator::wrapped::answered_by;

    #[tokio::test]
    async fn requests_go_as_the_account_and_its_client_is_built_once() {
        // An API server that records the impersonation header of each request.
        let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let recorded = seen.clone();
        let server = answered_by(move |request: Request<Body>| {
            let user = request.headers().get(USER_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
            recorded.lock().expect("not poisoned").push(user);
            Box::pin(async { Ok(Response::new(Body::from(br#"{"kind":"Status","status":"Success"}"#.to_vec()))) })
        });
        let mut accounts = Accounts::new(server);
        let fixer = ServiceAccountRef::new("shop", "fixer");
        let send = |client: Client| async move {
            client.send(Request::get("/api/v1/namespaces/shop/configmaps/x").body(Body::empty()).unwrap()).await
        };
        send(accounts.client(Some(&fixer)).unwrap()).await.unwrap();
        send(accounts.client(None).unwrap()).await.unwrap();
        send(accounts.client(Some(&fixer)).unwrap()).await.unwrap();
        assert_eq!(accounts.kept(), 1, "one client per account, reused");
        let as_fixer = Some("system:serviceaccount:shop:fixer".to_string());
        assert_eq!(*seen.lock().unwrap(), [as_fixer.clone(), None, as_fixer]);
    }
}
