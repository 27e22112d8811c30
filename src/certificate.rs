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
/// The extended key usage of time stamping (RFC 3161 authorities).
pub const OID_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
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
    /// An extension is present twice, or one this module reads cannot be read.
    Extension(&'static str),
    /// The signature algorithm is not one this verifier knows.
    UnsupportedAlgorithm,
    /// The certificate is not valid at the time (Unix seconds).
    NotValidAt(i64),
    /// No chain leads from the certificate to a trusted CA valid at the time.
    Untrusted,
    /// No embedded SCT verifies under a CT log of the trusted root valid at its time.
    NoValidSct,
    /// The leaf may not sign code: no `digitalSignature` key usage, or no code-signing
    /// extended key usage, or it is a CA.
    Usage(&'static str),
}

impl core::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(msg) => write!(f, "the certificate is malformed: {msg}"),
            Self::Extension(which) => write!(f, "the certificate's extensions: {which}"),
            Self::UnsupportedAlgorithm => f.write_str("the certificate's signature algorithm is not supported"),
            Self::NotValidAt(time) => write!(f, "the certificate is not valid at {time}"),
            Self::Untrusted => f.write_str(
                "no chain leads from the certificate to a certificate authority of the trusted root valid at that time",
            ),
            Self::Usage(what) => write!(f, "the certificate may not sign code: {what}"),
            Self::NoValidSct => f.write_str(
                "no embedded SCT of the certificate verifies under a CT log of the trusted root",
            ),
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
    time_stamping: bool,
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
            time_stamping: false,
            is_ca: false,
            sct_list: None,
        };
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        let mut v1_issuer = None;
        for extension in tbs.extensions().map(|e| e.as_slice()).unwrap_or_default() {
            let oid = extension.extn_id;
            if seen.contains(&oid) {
                return Err(CertificateError::Extension("an extension is repeated"));
            }
            seen.push(oid);
            let value = extension.extn_value.as_bytes();
            if oid == SubjectAltName::OID {
                let names = SubjectAltName::from_der(value)
                    .map_err(|_| CertificateError::Extension("subjectAltName is malformed"))?;
                parsed.alternative_names = names.0.iter().filter_map(alternative_name).collect();
            } else if oid == KeyUsage::OID {
                let usage = KeyUsage::from_der(value)
                    .map_err(|_| CertificateError::Extension("keyUsage is malformed"))?;
                parsed.digital_signature = usage.digital_signature();
            } else if oid == ExtendedKeyUsage::OID {
                let usage = ExtendedKeyUsage::from_der(value)
                    .map_err(|_| CertificateError::Extension("extKeyUsage is malformed"))?;
                parsed.code_signing = usage.0.contains(&OID_CODE_SIGNING);
                parsed.time_stamping = usage.0.contains(&OID_TIME_STAMPING);
            } else if oid == BasicConstraints::OID {
                let constraints = BasicConstraints::from_der(value)
                    .map_err(|_| CertificateError::Extension("basicConstraints is malformed"))?;
                parsed.is_ca = constraints.ca;
            } else if oid == OID_FULCIO_ISSUER_V2 {
                let issuer = Utf8StringRef::from_der(value)
                    .map_err(|_| CertificateError::Extension("Fulcio issuer (v2) is malformed"))?;
                parsed.oidc_issuer = Some(issuer.as_str().into());
            } else if oid == OID_FULCIO_ISSUER_V1 {
                let issuer = core::str::from_utf8(value)
                    .map_err(|_| CertificateError::Extension("Fulcio issuer (v1) is malformed"))?;
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

    /// The certificate's DER SubjectPublicKeyInfo as a verifying key, with `options`.
    ///
    /// # Errors
    /// When the key is not one this verifier supports.
    pub fn public_key(&self, options: KeyOptions) -> Result<PublicKey, crate::keys::KeyError> {
        PublicKey::from_spki_der(&self.spki, options)
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

    /// Whether this certificate may sign timestamps: the time-stamping extended key usage,
    /// and not a CA.
    pub fn may_stamp_time(&self) -> bool {
        self.time_stamping && !self.is_ca
    }

    /// Whether this is a CA certificate (basic constraints).
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// Whether this certificate signs itself (a root).
    pub fn is_self_signed(&self) -> bool {
        self.issued_by(self)
    }

    /// The exact DER bytes of the TBSCertificate.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs
    }

    /// Whether `issuer` issued this certificate: it is named as the issuer, and its key
    /// verifies the signature over the exact TBS bytes.
    pub(crate) fn issued_by(&self, issuer: &Self) -> bool {
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
/// Returns the index of the authority whose chain holds.
///
/// # Errors
/// [`CertificateError::NotValidAt`] when the leaf itself is not valid then,
/// [`CertificateError::Untrusted`] when no authority's chain holds.
pub fn verify_chain(
    leaf: &Certificate,
    authorities: &[Authority],
    time: i64,
) -> Result<usize, CertificateError> {
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
    authorities
        .iter()
        .position(holds)
        .ok_or(CertificateError::Untrusted)
}

/// The certificate authorities of a Sigstore `trusted_root.json`
/// (`certificateAuthorities[].certChain.certificates[].rawBytes`, each with its `validFor`).
///
/// # Errors
/// A sentence naming the entry at fault.
pub fn trusted_root_authorities(root: &serde_json::Value) -> Result<Vec<Authority>, String> {
    trusted_root_chains(root, "certificateAuthorities").map(|list| {
        list.into_iter()
            .map(|(chain, valid_for)| Authority { chain, valid_for })
            .collect()
    })
}

/// The certificate chains of one section of a trusted root (`certificateAuthorities` or
/// `timestampAuthorities`), in order, each with its `validFor`; none when the section is absent.
pub(crate) fn trusted_root_chains(
    root: &serde_json::Value,
    section: &str,
) -> Result<Vec<(Vec<Certificate>, crate::time::Window)>, String> {
    use base64::Engine as _;
    let Some(list) = root.get(section) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| format!("{section} is not a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, authority)| {
            let certificates = authority
                .pointer("/certChain/certificates")
                .and_then(serde_json::Value::as_array)
                .filter(|list| !list.is_empty() && list.len() <= MAX_CHAIN_LENGTH)
                .ok_or_else(|| {
                    format!(
                        "{section}[{i}] has no certChain of 1 to {MAX_CHAIN_LENGTH} certificates"
                    )
                })?;
            let chain = certificates
                .iter()
                .map(|c| {
                    let der = c
                        .get("rawBytes")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|raw| base64::engine::general_purpose::STANDARD.decode(raw).ok())
                        .ok_or_else(|| {
                            format!("{section}[{i}]: a certificate's rawBytes is not base64")
                        })?;
                    Certificate::from_der(&der).map_err(|e| format!("{section}[{i}]: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let valid_for = crate::time::valid_for(
                authority,
                "/validFor",
                &format!("{section}[{i}].validFor"),
            )?;
            Ok((chain, valid_for))
        })
        .collect()
}

/// One DER TLV at the start of `bytes`: its tag, and the ranges of the whole element and of its
/// content. Only what X.509 needs: one-byte tags, definite lengths of up to four bytes.
pub(crate) fn tlv(bytes: &[u8]) -> Option<(u8, usize, core::ops::Range<usize>)> {
    let tag = *bytes.first()?;
    let first = *bytes.get(1)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for byte in bytes.get(2..2 + count)? {
            length = (length << 8) | usize::from(*byte);
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    (end <= bytes.len()).then_some((tag, end, header..end))
}

/// The DER header of an element with `tag` and `length` bytes of content.
pub(crate) fn der_header(tag: u8, length: usize) -> Vec<u8> {
    let mut out = alloc::vec![tag];
    if length < 0x80 {
        out.push(u8::try_from(length).unwrap_or(0));
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

/// The TBS a CT log signed for a precertificate (RFC 6962 §3.2): the leaf's TBS without its
/// embedded SCT list extension.
fn precertificate_tbs(tbs: &[u8]) -> Option<Vec<u8>> {
    let sct_oid = OID_SCT_LIST.as_bytes();
    let (tag, end, content) = tlv(tbs)?;
    if tag != 0x30 || end != tbs.len() {
        return None;
    }
    let mut children = Vec::new();
    let mut rest = &tbs[content];
    while !rest.is_empty() {
        let (tag, end, inner) = tlv(rest)?;
        if tag == 0xa3 {
            // [3] EXPLICIT Extensions: a SEQUENCE of Extension SEQUENCEs, each starting with its
            // OID.
            let (seq_tag, seq_end, seq_content) = tlv(&rest[inner.clone()])?;
            let sequence = &rest[inner.clone()];
            if seq_tag != 0x30 || seq_end != sequence.len() {
                return None;
            }
            let mut kept = Vec::new();
            let mut extensions = &sequence[seq_content];
            while !extensions.is_empty() {
                let (_, ext_end, ext_content) = tlv(extensions)?;
                let (oid_tag, _, oid) = tlv(&extensions[ext_content.clone()])?;
                let oid_bytes =
                    &extensions[ext_content.start + oid.start..ext_content.start + oid.end];
                if oid_tag != 0x06 || oid_bytes != sct_oid {
                    kept.extend_from_slice(&extensions[..ext_end]);
                }
                extensions = &extensions[ext_end..];
            }
            let mut sequence = der_header(0x30, kept.len());
            sequence.extend_from_slice(&kept);
            children.extend_from_slice(&der_header(0xa3, sequence.len()));
            children.extend_from_slice(&sequence);
        } else {
            children.extend_from_slice(&rest[..end]);
        }
        rest = &rest[end..];
    }
    let mut out = der_header(0x30, children.len());
    out.extend_from_slice(&children);
    Some(out)
}

/// Checks that one of the leaf's embedded SCTs (RFC 6962 v1) verifies under a CT log of the
/// trusted root (by log id), whose key was valid at the SCT's time, over the precertificate
/// entry: the leaf's TBS without the SCT extension, and the hash of `issuer`'s key.
///
/// # Errors
/// [`CertificateError::NoValidSct`] when none does (or the leaf has none).
pub fn verify_embedded_sct(
    leaf: &Certificate,
    issuer: &Certificate,
    ct_logs: &[crate::rekor::LogKey],
) -> Result<(), CertificateError> {
    use sha2::Digest as _;
    let list = leaf
        .sct_list()
        .and_then(|value| {
            <&x509_cert::der::asn1::OctetStringRef>::from_der(value)
                .ok()
                .map(|o| o.as_bytes().to_vec())
        })
        .ok_or(CertificateError::NoValidSct)?;
    let tbs = precertificate_tbs(&leaf.tbs).ok_or(CertificateError::NoValidSct)?;
    let tbs_length = u32::try_from(tbs.len()).map_err(|_| CertificateError::NoValidSct)?;
    if tbs_length >= 1 << 24 {
        return Err(CertificateError::NoValidSct);
    }
    let issuer_key_hash: [u8; 32] = sha2::Sha256::digest(&issuer.spki).into();
    let u16_at = |b: &[u8], at: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *b.get(at)?,
            *b.get(at + 1)?,
        ])))
    };
    let total = u16_at(&list, 0).ok_or(CertificateError::NoValidSct)?;
    let mut rest = list.get(2..2 + total).ok_or(CertificateError::NoValidSct)?;
    while rest.len() >= 2 {
        let Some(length) = u16_at(rest, 0) else { break };
        let Some(sct) = rest.get(2..2 + length) else {
            break;
        };
        rest = &rest[2 + length..];
        // version(1) log_id(32) timestamp(8) extensions(2+n) hash(1) signature_algorithm(1)
        // signature(2+n)
        if sct.len() < 43 || sct[0] != 0 {
            continue;
        }
        let log_id = &sct[1..33];
        let timestamp = &sct[33..41];
        let Some(ext_length) = u16_at(sct, 41) else {
            continue;
        };
        if sct.len() < 43 + ext_length + 2 {
            continue;
        }
        let at = 43 + ext_length + 2;
        let Some(sig_length) = u16_at(sct, at) else {
            continue;
        };
        let Some(signature) = sct.get(at + 2..at + 2 + sig_length) else {
            continue;
        };
        let Some(log) = ct_logs
            .iter()
            .find(|l| l.log_id().as_bytes()[..] == log_id[..])
        else {
            continue;
        };
        let millis = u64::from_be_bytes(timestamp.try_into().unwrap_or_default());
        let seconds = i64::try_from(millis / 1000).unwrap_or(i64::MAX);
        if !log.valid_at(seconds) {
            continue;
        }
        let mut signed = Vec::with_capacity(tbs.len() + 64);
        signed.extend_from_slice(&[0, 0]); // v1, certificate_timestamp
        signed.extend_from_slice(timestamp);
        signed.extend_from_slice(&[0, 1]); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&tbs_length.to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&sct[41..43 + ext_length]);
        if log.key().verify(&signed, signature).is_ok() {
            return Ok(());
        }
    }
    Err(CertificateError::NoValidSct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_headers_read_back_and_truncations_are_refused() {
        for length in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536] {
            let mut element = der_header(0x30, length);
            let head = element.len();
            element.resize(head + length, 7);
            assert_eq!(
                tlv(&element),
                Some((0x30, head + length, head..head + length))
            );
            if length > 0 {
                assert_eq!(tlv(&element[..element.len() - 1]), None, "{length}");
            }
        }
        // Indefinite and over-long length forms are not DER.
        assert_eq!(tlv(&[0x30, 0x80, 0, 0]), None);
        assert_eq!(tlv(&[0x30, 0x85, 0, 0, 0, 0, 1, 0]), None);
        assert_eq!(tlv(&[]), None);
    }

    #[test]
    fn a_precertificate_tbs_drops_only_the_sct_extension() {
        let extension = |oid: &ObjectIdentifier, value: &[u8]| {
            let mut oid_tlv = der_header(0x06, oid.as_bytes().len());
            oid_tlv.extend_from_slice(oid.as_bytes());
            let mut octets = der_header(0x04, value.len());
            octets.extend_from_slice(value);
            let mut content = oid_tlv;
            content.extend_from_slice(&octets);
            let mut out = der_header(0x30, content.len());
            out.extend_from_slice(&content);
            out
        };
        let tbs = |extensions: &[Vec<u8>]| {
            let list: Vec<u8> = extensions.concat();
            let mut sequence = der_header(0x30, list.len());
            sequence.extend_from_slice(&list);
            let mut wrapped = der_header(0xa3, sequence.len());
            wrapped.extend_from_slice(&sequence);
            let mut content = alloc::vec![0x02, 0x01, 0x05];
            content.extend_from_slice(&wrapped);
            let mut out = der_header(0x30, content.len());
            out.extend_from_slice(&content);
            out
        };
        let key_usage = extension(&ObjectIdentifier::new_unwrap("2.5.29.15"), &[3, 2, 7, 128]);
        let sct = extension(&OID_SCT_LIST, &[4, 2, 0, 0]);
        assert_eq!(
            precertificate_tbs(&tbs(&[key_usage.clone(), sct.clone()])),
            Some(tbs(core::slice::from_ref(&key_usage)))
        );
        assert_eq!(
            precertificate_tbs(&tbs(core::slice::from_ref(&key_usage))),
            Some(tbs(&[key_usage]))
        );
        let mut trailing = tbs(&[sct]);
        trailing.push(0);
        assert_eq!(precertificate_tbs(&trailing), None);
    }
}
