//! The server's TLS: rustls with a certificate that is read again when its files change (what
//! cert-manager does when it rotates a secret), and optional client certificates (mTLS, as
//! Gatekeeper can present).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context as _, bail};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;

/// The certificate chain and key files.
#[derive(Clone, Debug)]
pub struct CertificateFiles {
    /// PEM certificate chain, leaf first.
    pub certificate: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl CertificateFiles {
    /// Both files' bytes, to tell whether they changed.
    ///
    /// # Errors
    /// When either cannot be read.
    pub fn read(&self) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        let certificate = std::fs::read(&self.certificate).with_context(|| {
            format!("cannot read TLS certificate {}", self.certificate.display())
        })?;
        let key = std::fs::read(&self.key)
            .with_context(|| format!("cannot read TLS key {}", self.key.display()))?;
        Ok((certificate, key))
    }
}

/// The server certificate in use, swapped whole when new files load.
#[derive(Debug)]
pub struct ReloadingCertificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCertificate {
    /// Loads the first certificate.
    ///
    /// # Errors
    /// When the files cannot be read or do not hold a matching certificate and key.
    pub fn new(provider: &CryptoProvider, certificate: &[u8], key: &[u8]) -> anyhow::Result<Self> {
        Ok(Self {
            current: RwLock::new(Arc::new(certified_key(provider, certificate, key)?)),
        })
    }

    /// Takes a new certificate, or keeps the old one and says why not.
    ///
    /// # Errors
    /// When the new files do not hold a matching certificate and key.
    pub fn replace(
        &self,
        provider: &CryptoProvider,
        certificate: &[u8],
        key: &[u8],
    ) -> anyhow::Result<()> {
        let loaded = Arc::new(certified_key(provider, certificate, key)?);
        match self.current.write() {
            Ok(mut current) => *current = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        Ok(())
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| Arc::clone(&current))
    }
}

fn certified_key(
    provider: &CryptoProvider,
    certificate: &[u8],
    key: &[u8],
) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_slice_iter(certificate)
        .collect::<Result<Vec<_>, _>>()
        .context("the TLS certificate file is not PEM")?;
    if chain.is_empty() {
        bail!("the TLS certificate file holds no CERTIFICATE block");
    }
    let key =
        PrivateKeyDer::from_pem_slice(key).context("the TLS key file holds no private key")?;
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .context("the TLS private key is not usable")?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified
        .keys_match()
        .context("the TLS certificate and key do not belong together")?;
    Ok(certified)
}

/// The rustls provider the server uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server configuration: TLS 1.3 and 1.2 (Gatekeeper insists on 1.3, which rustls
/// prefers), HTTP/2 and HTTP/1.1, the reloading certificate, and with `client_ca` a client
/// certificate required and checked against it.
///
/// # Errors
/// When the client CA file holds no usable certificate.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    certificate: Arc<ReloadingCertificate>,
    client_ca: Option<&Path>,
) -> anyhow::Result<ServerConfig> {
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("the TLS versions")?;
    let builder = match client_ca {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read client CA {}", path.display()))?;
            let mut roots = rustls::RootCertStore::empty();
            for certificate in CertificateDer::pem_slice_iter(&pem) {
                let certificate =
                    certificate.with_context(|| format!("{} is not PEM", path.display()))?;
                roots
                    .add(certificate)
                    .with_context(|| format!("{} holds an unusable CA", path.display()))?;
            }
            if roots.is_empty() {
                bail!("{} holds no CA certificate", path.display());
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(certificate);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
