//! X.509 certificates as Fulcio issues them, and their chains to a trusted root's CAs: the
//! certificate half of keyless verification (issue #16), checked offline at a time the evidence
//! proves, never at a clock's.
//!
//! What is read from a leaf: its validity, its public key, its Subject Alternative Names (the
//! signer's identity: an email, a URI or another name), Fulcio's OIDC-issuer extensions (the v2
//! `1.3.6.1.4.1.57264.1.8`, a DER UTF8String, and the deprecated v1 `…1.1`, raw bytes), key
//! usage and extended key usage, and the embedded SCT list. What is checked of a chain: each
//! certificate is signed by the next, names it as its issuer, is valid at the time, and every
//! issuer is a CA. The chain always comes from the policy's trust material (a trusted root's
//! `certificateAuthorities`); certificates a bundle carries beside its leaf are never trusted.
//!
//! Parsing is RustCrypto's `x509-cert` (pure Rust, no I/O). A certificate must be DER: it is
//! re-encoded and compared with its bytes, so the signed TBS bytes are exactly what was parsed.

use alloc::string::String;
use alloc::vec::Vec;
use x509_cert::der::asn1::{Ia5String, ObjectIdentifier, Utf8StringRef};
use x509_cert::der::oid::AssociatedOid as _;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::keys::{HashAlgorithm, KeyOptions, PublicKey};

/// Fulcio's OIDC issuer extension, v1 (deprecated; the raw issuer bytes).
pub const OID_FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension, v2 (a DER UTF8String).
pub const OID_FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// The extended key usage of code signing.
pub const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// RFC 6962's embedded SCT list extension.
pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

use crate::limits::{MAX_CERTIFICATE_BYTES, MAX_CHAIN_LENGTH};

/// Why a certificate or a chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not a DER X.509 certificate, or larger than [`MAX_CERTIFICATE_BYTES`].
    Malformed(String),
    /// An extension is present twice, or cannot be read.
    Extension(&'static str),
    /// The signature algorithm is not one this verifier knows.
    UnsupportedAlgorithm,
    /// The certificate is not valid at the time (Unix seconds).
    NotValidAt(i64),
    /// No chain leads from the certificate to a trusted CA valid at the time.
    Untrusted,
    /// The leaf may not sign code: no `digitalSignature` key usage, or no code-signing
    /// extended key usage, or it is a CA.
    Usage(&'static str),
}

impl core::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(msg) => write!(f, "the certificate is malformed: {msg}"),
            Self::Extension(which) => write!(f, "the certificate's {which} extension is malformed or repeated"),
            Self::UnsupportedAlgorithm => f.write_str("the certificate's signature algorithm is not supported"),
            Self::NotValidAt(time) => write!(f, "the certificate is not valid at {time}"),
            Self::Untrusted => f.write_str(
                "no chain leads from the certificate to a certificate authority of the trusted root valid at that time",
            ),
            Self::Usage(what) => write!(f, "the certificate may not sign code: {what}"),
        }
    }
}

impl core::error::Error for CertificateError {}

/// A Subject Alternative Name: who the certificate was issued to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlternativeName {
    /// An email address (rfc822Name).
    Email(String),
    /// A URI (a workflow, a SPIFFE id).
    Uri(String),
    /// An otherName whose value is a UTF8String (Fulcio's username identities).
    Other(String),
}

/// A parsed certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    tbs: Vec<u8>,
    signature_algorithm: ObjectIdentifier,
    signature: Vec<u8>,
    issuer: Vec<u8>,
    subject: Vec<u8>,
    not_before: i64,
    not_after: i64,
    spki: Vec<u8>,
    alternative_names: Vec<AlternativeName>,
    oidc_issuer: Option<String>,
    digital_signature: bool,
    code_signing: bool,
    is_ca: bool,
    sct_list: Option<Vec<u8>>,
}

fn seconds(time: x509_cert::time::Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

impl Certificate {
    /// Parses a DER certificate.
    ///
    /// # Errors
    /// [`CertificateError::Malformed`] for anything that is not exactly one DER certificate,
    /// [`CertificateError::Extension`] for a repeated or unreadable extension this module reads.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(CertificateError::Malformed(format!(
                "{} bytes; the most accepted is {MAX_CERTIFICATE_BYTES}",
                der.len()
            )));
        }
        let malformed = |err: x509_cert::der::Error| CertificateError::Malformed(err.to_string());
        let certificate = x509_cert::Certificate::from_der(der).map_err(malformed)?;
        // DER has one encoding: what re-encodes differently was not DER, and its TBS bytes
        // would not be the ones parsed.
        if certificate.to_der().map_err(malformed)? != der {
            return Err(CertificateError::Malformed("not DER".into()));
        }
        let tbs = certificate.tbs_certificate();
        let validity = tbs.validity();
        let mut parsed = Self {
            tbs: tbs.to_der().map_err(malformed)?,
            signature_algorithm: certificate.signature_algorithm().oid,
            signature: certificate
                .signature()
                .as_bytes()
                .ok_or_else(|| CertificateError::Malformed("the signature has unused bits".into()))?
                .to_vec(),
            issuer: tbs.issuer().to_der().map_err(malformed)?,
            subject: tbs.subject().to_der().map_err(malformed)?,
            not_before: seconds(validity.not_before),
            not_after: seconds(validity.not_after),
            spki: tbs.subject_public_key_info().to_der().map_err(malformed)?,
            alternative_names: Vec::new(),
            oidc_issuer: None,
            digital_signature: false,
            code_signing: false,
            is_ca: false,
            sct_list: None,
        };
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        let mut v1_issuer = None;
        for extension in tbs.extensions().map(|e| e.as_slice()).unwrap_or_default() {
            let oid = extension.extn_id;
            if seen.contains(&oid) {
                return Err(CertificateError::Extension("a"));
            }
            seen.push(oid);
            let value = extension.extn_value.as_bytes();
            if oid == SubjectAltName::OID {
                let names = SubjectAltName::from_der(value)
                    .map_err(|_| CertificateError::Extension("subjectAltName"))?;
                parsed.alternative_names = names.0.iter().filter_map(alternative_name).collect();
            } else if oid == KeyUsage::OID {
                let usage = KeyUsage::from_der(value)
                    .map_err(|_| CertificateError::Extension("keyUsage"))?;
                parsed.digital_signature = usage.digital_signature();
            } else if oid == ExtendedKeyUsage::OID {
                let usage = ExtendedKeyUsage::from_der(value)
                    .map_err(|_| CertificateError::Extension("extKeyUsage"))?;
                parsed.code_signing = usage.0.contains(&OID_CODE_SIGNING);
            } else if oid == BasicConstraints::OID {
                let constraints = BasicConstraints::from_der(value)
                    .map_err(|_| CertificateError::Extension("basicConstraints"))?;
                parsed.is_ca = constraints.ca;
            } else if oid == OID_FULCIO_ISSUER_V2 {
                let issuer = Utf8StringRef::from_der(value)
                    .map_err(|_| CertificateError::Extension("Fulcio issuer (v2)"))?;
                parsed.oidc_issuer = Some(issuer.as_str().into());
            } else if oid == OID_FULCIO_ISSUER_V1 {
                let issuer = core::str::from_utf8(value)
                    .map_err(|_| CertificateError::Extension("Fulcio issuer (v1)"))?;
                v1_issuer = Some(String::from(issuer));
            } else if oid == OID_SCT_LIST {
                parsed.sct_list = Some(value.to_vec());
            }
        }
        // The v2 extension is authoritative; the v1 one stands in only without it.
        if parsed.oidc_issuer.is_none() {
            parsed.oidc_issuer = v1_issuer;
        }
        Ok(parsed)
    }

    /// The subject's public key, as DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// The identities the certificate was issued to.
    pub fn alternative_names(&self) -> &[AlternativeName] {
        &self.alternative_names
    }

    /// The OIDC issuer Fulcio recorded (v2 extension, else v1).
    pub fn oidc_issuer(&self) -> Option<&str> {
        self.oidc_issuer.as_deref()
    }

    /// The embedded SCT list extension's value, if any (a DER OCTET STRING holding the TLS
    /// `SignedCertificateTimestampList`).
    pub fn sct_list(&self) -> Option<&[u8]> {
        self.sct_list.as_deref()
    }

    /// Whether `time` (Unix seconds) is within the validity period, both ends included.
    pub fn valid_at(&self, time: i64) -> bool {
        self.not_before <= time && time <= self.not_after
    }

    /// The validity period (Unix seconds).
    pub fn validity(&self) -> (i64, i64) {
        (self.not_before, self.not_after)
    }

    /// Whether this certificate may sign code: `digitalSignature`, code-signing EKU, not a CA.
    ///
    /// # Errors
    /// [`CertificateError::Usage`] naming what is missing.
    pub fn check_code_signing(&self) -> Result<(), CertificateError> {
        if !self.digital_signature {
            return Err(CertificateError::Usage("no digitalSignature key usage"));
        }
        if !self.code_signing {
            return Err(CertificateError::Usage(
                "no code-signing extended key usage",
            ));
        }
        if self.is_ca {
            return Err(CertificateError::Usage("it is a CA certificate"));
        }
        Ok(())
    }

    /// Whether `issuer` issued this certificate: it is named as the issuer, and its key
    /// verifies the signature over the exact TBS bytes.
    fn issued_by(&self, issuer: &Self) -> bool {
        if self.issuer != issuer.subject {
            return false;
        }
        let hash = match self.signature_algorithm {
            a if a == ECDSA_SHA256 || a == RSA_SHA256 => HashAlgorithm::Sha256,
            a if a == ECDSA_SHA384 || a == RSA_SHA384 => HashAlgorithm::Sha384,
            a if a == ECDSA_SHA512 || a == RSA_SHA512 => HashAlgorithm::Sha512,
            a if a == ED25519 => HashAlgorithm::Auto,
            _ => return false,
        };
        let options = KeyOptions { hash, scheme: None };
        PublicKey::from_spki_der(&issuer.spki, options)
            .is_ok_and(|key| key.verify(&self.tbs, &self.signature).is_ok())
    }
}

fn alternative_name(name: &GeneralName) -> Option<AlternativeName> {
    let text = |s: &Ia5String| String::from(s.as_str());
    match name {
        GeneralName::Rfc822Name(email) => Some(AlternativeName::Email(text(email))),
        GeneralName::UniformResourceIdentifier(uri) => Some(AlternativeName::Uri(text(uri))),
        GeneralName::OtherName(other) => other
            .value
            .decode_as::<Utf8StringRef<'_>>()
            .ok()
            .map(|s| AlternativeName::Other(s.as_str().into())),
        _ => None,
    }
}

/// One certificate authority of a trusted root: its chain, issuer first up to the root, and
/// the window (Unix seconds, either end open) in which it issued.
#[derive(Clone, Debug)]
pub struct Authority {
    /// The chain, from the certificate that issues leaves up to the root.
    pub chain: Vec<Certificate>,
    /// `validFor` in the trusted root.
    pub valid_for: (Option<i64>, Option<i64>),
}

impl Authority {
    fn valid_at(&self, time: i64) -> bool {
        crate::time::within(self.valid_for, time)
    }
}

/// Checks that `leaf` chains to one of `authorities` at `time` (Unix seconds, a time the
/// evidence proves): the authority's `validFor` contains the time; the leaf is signed by the
/// authority's first certificate, each certificate by the next, and the last is self-signed;
/// every certificate is valid at the time; every issuer is a CA. Certificates from anywhere but
/// the trusted root play no part.
///
/// # Errors
/// [`CertificateError::NotValidAt`] when the leaf itself is not valid then,
/// [`CertificateError::Untrusted`] when no authority's chain holds.
pub fn verify_chain(
    leaf: &Certificate,
    authorities: &[Authority],
    time: i64,
) -> Result<(), CertificateError> {
    if !leaf.valid_at(time) {
        return Err(CertificateError::NotValidAt(time));
    }
    let holds = |authority: &Authority| {
        let chain = &authority.chain;
        if !authority.valid_at(time) || chain.is_empty() || chain.len() >= MAX_CHAIN_LENGTH {
            return false;
        }
        let mut child = leaf;
        for issuer in chain {
            if !issuer.is_ca || !issuer.valid_at(time) || !child.issued_by(issuer) {
                return false;
            }
            child = issuer;
        }
        // The root signs itself.
        child.issued_by(child)
    };
    if authorities.iter().any(holds) {
        Ok(())
    } else {
        Err(CertificateError::Untrusted)
    }
}

/// The certificate authorities of a Sigstore `trusted_root.json`
/// (`certificateAuthorities[].certChain.certificates[].rawBytes`, each with its `validFor`).
///
/// # Errors
/// A sentence naming the entry at fault.
pub fn trusted_root_authorities(root: &serde_json::Value) -> Result<Vec<Authority>, String> {
    use base64::Engine as _;
    let Some(list) = root.get("certificateAuthorities") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| String::from("certificateAuthorities is not a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, ca)| {
            let certificates = ca
                .pointer("/certChain/certificates")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| format!("certificateAuthorities[{i}] has no certChain"))?;
            let chain = certificates
                .iter()
                .map(|c| {
                    let raw = c
                        .get("rawBytes")
                        .and_then(serde_json::Value::as_str)
                        .ok_or_else(|| {
                            format!("certificateAuthorities[{i}]: a certificate has no rawBytes")
                        })?;
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .map_err(|_| {
                            format!("certificateAuthorities[{i}]: rawBytes is not base64")
                        })?;
                    Certificate::from_der(&der)
                        .map_err(|e| format!("certificateAuthorities[{i}]: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let valid_for = crate::time::valid_for(
                ca,
                "/validFor",
                &format!("certificateAuthorities[{i}].validFor"),
            )?;
            Ok(Authority { chain, valid_for })
        })
        .collect()
}
