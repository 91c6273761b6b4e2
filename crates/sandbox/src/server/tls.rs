//! HTTPS for the sandbox: a self-signed certificate for `127.0.0.1` and `localhost`,
//! generated at start. Clients trust it through the CA data in the kubeconfig (kubectl,
//! like client-go in general, sends bearer tokens over TLS only).

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// A failure to build the TLS identity.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate could not be generated.
    #[error("cannot generate the sandbox's certificate")]
    Generate(#[from] rcgen::Error),
    /// The TLS configuration was refused.
    #[error("cannot configure TLS")]
    Configure(#[from] rustls::Error),
}

impl TlsError {
    /// A stable PascalCase label for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            TlsError::Generate(_) => "Generate",
            TlsError::Configure(_) => "Configure",
        }
    }
}

/// The server's certificate (which is its own CA) and private key.
#[derive(Clone)]
pub struct TlsIdentity {
    cert_der: Vec<u8>,
    cert_pem: String,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A fresh self-signed certificate valid for `127.0.0.1` and `localhost`.
    pub fn self_signed() -> Result<Self, TlsError> {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
        Ok(TlsIdentity {
            cert_der: certified.cert.der().to_vec(),
            cert_pem: certified.cert.pem(),
            key_der: certified.signing_key.serialize_der(),
        })
    }

    /// The certificate, DER-encoded (what `kube::Config::root_cert` takes).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate, PEM-encoded (what a kubeconfig's `certificate-authority-data`
    /// holds, base64-encoded).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// An acceptor that completes TLS handshakes with this identity, offering HTTP/1.1.
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(self.cert_der.clone())], key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
