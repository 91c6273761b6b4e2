//! Bearer tokens: the admin token, and the tokens registered for users and
//! ServiceAccounts.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::identity::{Identity, UserInfo};
use crate::error::ApiError;

/// Who a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// The admin token: authorization is bypassed.
    Admin,
    /// A registered user or ServiceAccount: RBAC decides.
    User(UserInfo),
}

/// Maps bearer tokens to identities.
#[derive(Debug)]
pub struct Authenticator {
    admin_token: String,
    tokens: RwLock<HashMap<String, UserInfo>>,
    expiries: RwLock<HashMap<String, jiff::Timestamp>>,
}

impl Default for Authenticator {
    /// An authenticator with a random admin token.
    fn default() -> Self {
        Authenticator::new(new_token())
    }
}

/// A fresh random token.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Authenticator {
    /// An authenticator whose admin token is `admin_token`.
    pub fn new(admin_token: impl Into<String>) -> Self {
        Authenticator {
            admin_token: admin_token.into(),
            tokens: RwLock::new(HashMap::new()),
            expiries: RwLock::new(HashMap::new()),
        }
    }

    /// The token that bypasses authorization.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Registers a fresh token for `user` and returns the identity.
    pub fn register(&self, user: UserInfo) -> Identity {
        let token = new_token();
        self.tokens.write().unwrap_or_else(PoisonError::into_inner).insert(token.clone(), user.clone());
        Identity { user, token }
    }

    /// Registers a fresh token for `user` that is refused (401) from `expires` on, as a
    /// TokenRequest's token is.
    pub fn register_until(&self, user: UserInfo, expires: jiff::Timestamp) -> Identity {
        let identity = self.register(user);
        self.expiries.write().unwrap_or_else(PoisonError::into_inner).insert(identity.token.clone(), expires);
        identity
    }

    fn expired(&self, token: &str) -> bool {
        let expiries = self.expiries.read().unwrap_or_else(PoisonError::into_inner);
        expiries.get(token).is_some_and(|expires| *expires <= jiff::Timestamp::now())
    }

    /// Forgets a token: requests with it get 401 from now on.
    pub fn revoke(&self, token: &str) {
        self.tokens.write().unwrap_or_else(PoisonError::into_inner).remove(token);
    }

    /// Authenticates the request's `Authorization: Bearer` header, or answers 401.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Authenticated, ApiError> {
        let token = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        if token == self.admin_token {
            return Ok(Authenticated::Admin);
        }
        if self.expired(token) {
            return Err(ApiError::unauthorized());
        }
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        tokens.get(token).cloned().map(Authenticated::User).ok_or_else(ApiError::unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
        headers
    }

    #[test]
    fn tokens_map_to_identities_and_unknown_ones_are_unauthorized() {
        let auth = Authenticator::new("root");
        let alice = auth.register(UserInfo::user("alice", &[]));
        assert_eq!(auth.authenticate(&bearer("root")).expect("admin"), Authenticated::Admin);
        assert_eq!(auth.authenticate(&bearer(&alice.token)).expect("alice"), Authenticated::User(alice.user.clone()));
        assert_eq!(auth.authenticate(&bearer("nope")).expect_err("unknown").code(), 401);
        assert_eq!(auth.authenticate(&HeaderMap::new()).expect_err("missing").code(), 401);
        auth.revoke(&alice.token);
        assert_eq!(auth.authenticate(&bearer(&alice.token)).expect_err("revoked").code(), 401);
    }
}
