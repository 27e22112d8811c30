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
//! Parsing is this crate's own strict DER reader ([`crate::der`]), in place: the TBS bytes a
//! signature is checked over are exactly the bytes that were read, and anything that is not
//! DER (long-form lengths that could be shorter, an explicit FALSE, trailing bytes) is refused.

use alloc::string::String;
use alloc::vec::Vec;

use crate::der::{
    BIT_STRING, BOOLEAN, Element, Elements, INTEGER, OCTET_STRING, OID, SEQUENCE, UTF8_STRING,
    single,
};
pub(crate) use crate::der::{der_header, tlv};
use crate::keys::{HashAlgorithm, KeyOptions, PublicKey};
use crate::x509::path::{self, CheckedChain, PathError, Position, Purpose};

/// Fulcio's OIDC issuer extension, v1 `1.3.6.1.4.1.57264.1.1` (deprecated; the raw issuer
/// bytes), as the content of its DER OID.
pub const OID_FULCIO_ISSUER_V1: &[u8] = &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 1];
/// Fulcio's OIDC issuer extension, v2 `1.3.6.1.4.1.57264.1.8` (a DER UTF8String).
pub const OID_FULCIO_ISSUER_V2: &[u8] = &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 8];
/// Fulcio's deprecated GitHub workflow extensions `1.3.6.1.4.1.57264.1.2` to `.6` (raw bytes):
/// the workflow's trigger, commit SHA, name, repository and ref, in that order. cosign's
/// `--certificate-github-workflow-*` flags match these.
const OID_GITHUB_WORKFLOW: [&[u8]; 5] = [
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 2],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 3],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 4],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 5],
    &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1, 6],
];
/// The extended key usage of code signing, `1.3.6.1.5.5.7.3.3`.
pub const OID_CODE_SIGNING: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 3];
/// The extended key usage of time stamping (RFC 3161 authorities), `1.3.6.1.5.5.7.3.8`.
pub const OID_TIME_STAMPING: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 8];
/// RFC 6962's embedded SCT list extension, `1.3.6.1.4.1.11129.2.4.2`.
pub const OID_SCT_LIST: &[u8] = &[0x2b, 6, 1, 4, 1, 0xd6, 0x79, 2, 4, 2];

const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const OID_NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];

const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 2];
const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 3];
const ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 4, 3, 4];
const RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 0x0b];
const RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 0x0c];
const RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 0x0d];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

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
    /// The certificate path breaks a rule of RFC 5280 or of the path's purpose
    /// ([`path`]): a critical extension ocisig does not process, a CA's constraints, the
    /// leaf's key usages.
    Path(PathError),
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
            Self::Path(error) => write!(f, "the certificate path does not hold: {error}"),
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
    signature_algorithm: Vec<u8>,
    signature: Vec<u8>,
    issuer: Vec<u8>,
    subject: Vec<u8>,
    not_before: i64,
    not_after: i64,
    spki: Vec<u8>,
    alternative_names: Vec<AlternativeName>,
    oidc_issuer: Option<String>,
    github_workflow: [Option<String>; 5],
    /// The keyUsage bits (bit 0 is `digitalSignature`), if the extension is present.
    key_usage: Option<u16>,
    /// The extended key usages' OIDs, if the extension is present.
    extended_key_usage: Option<Vec<Vec<u8>>>,
    /// basicConstraints, if present.
    basic_constraints: Option<BasicConstraints>,
    /// Whether the certificate carries nameConstraints, which ocisig does not enforce.
    name_constraints: bool,
    /// Every extension's OID (its DER content) with its criticality, in certificate order.
    extensions: Vec<(Vec<u8>, bool)>,
    sct_list: Option<Vec<u8>>,
}

/// A certificate's basicConstraints (RFC 5280 §4.2.1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicConstraints {
    /// `cA`: the key may verify certificate signatures.
    pub ca: bool,
    /// `pathLenConstraint`: the most non-self-issued intermediate CAs that may follow this one
    /// towards a leaf.
    pub path_len: Option<u32>,
}

/// keyUsage's `digitalSignature` bit, as [`Certificate::key_usage`] numbers the bits.
pub const KEY_USAGE_DIGITAL_SIGNATURE: u16 = 1 << 0;
/// keyUsage's `keyCertSign` bit.
pub const KEY_USAGE_KEY_CERT_SIGN: u16 = 1 << 5;

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
        Self::parse(der).map_err(|what| match what {
            Parse::Der(what) => CertificateError::Malformed(what.into()),
            Parse::Extension(what) => CertificateError::Extension(what),
        })
    }

    fn parse(der: &[u8]) -> Result<Self, Parse> {
        let certificate = single(der, SEQUENCE, "not one DER certificate").map_err(Parse::Der)?;
        let mut fields = Elements::of(certificate.content);
        let tbs = fields
            .expect(SEQUENCE, "no TBSCertificate")
            .map_err(Parse::Der)?;
        let outer_algorithm = fields
            .expect(SEQUENCE, "no signature algorithm")
            .map_err(Parse::Der)?;
        let signature = fields
            .expect(BIT_STRING, "no signature")
            .map_err(Parse::Der)?;
        fields.end("data after the signature").map_err(Parse::Der)?;
        let signature = match signature.content.split_first() {
            Some((0, bits)) => bits.to_vec(),
            _ => return Err(Parse::Der("the signature has unused bits")),
        };

        let der_error = Parse::Der;
        let mut tbs_fields = Elements::of(tbs.content);
        if let Some(version) = tbs_fields.optional(0xa0, "no version").map_err(der_error)? {
            // v3 only: extensions are what is read here.
            if version.content != [INTEGER, 1, 2] {
                return Err(Parse::Der("not an X.509 v3 certificate"));
            }
        } else {
            return Err(Parse::Der("not an X.509 v3 certificate"));
        }
        tbs_fields
            .expect(INTEGER, "no serial number")
            .map_err(der_error)?;
        let inner_algorithm = tbs_fields
            .expect(SEQUENCE, "no TBS signature algorithm")
            .map_err(der_error)?;
        if inner_algorithm.whole != outer_algorithm.whole {
            return Err(Parse::Der("the two signature algorithms differ"));
        }
        let algorithm = Elements::of(inner_algorithm.content)
            .expect(OID, "no signature algorithm OID")
            .map_err(der_error)?;
        let issuer = tbs_fields
            .expect(SEQUENCE, "no issuer")
            .map_err(der_error)?;
        let validity = tbs_fields
            .expect(SEQUENCE, "no validity")
            .map_err(der_error)?;
        let subject = tbs_fields
            .expect(SEQUENCE, "no subject")
            .map_err(der_error)?;
        let spki = tbs_fields
            .expect(SEQUENCE, "no subject public key")
            .map_err(der_error)?;
        tbs_fields
            .optional(0x81, "issuer unique id")
            .map_err(der_error)?;
        tbs_fields
            .optional(0x82, "subject unique id")
            .map_err(der_error)?;
        let extensions = tbs_fields.optional(0xa3, "extensions").map_err(der_error)?;
        tbs_fields
            .end("data after the extensions")
            .map_err(der_error)?;

        let mut validity = Elements::of(validity.content);
        let not_before = validity.next("no notBefore").map_err(der_error)?;
        let not_after = validity.next("no notAfter").map_err(der_error)?;
        validity.end("data after notAfter").map_err(der_error)?;
        let (Some(not_before), Some(not_after)) =
            (crate::der::time(&not_before), crate::der::time(&not_after))
        else {
            return Err(Parse::Der("a validity time is not a UTC time"));
        };

        let mut parsed = Self {
            tbs: tbs.whole.to_vec(),
            signature_algorithm: algorithm.content.to_vec(),
            signature,
            issuer: issuer.whole.to_vec(),
            subject: subject.whole.to_vec(),
            not_before,
            not_after,
            spki: spki.whole.to_vec(),
            alternative_names: Vec::new(),
            oidc_issuer: None,
            github_workflow: Default::default(),
            key_usage: None,
            extended_key_usage: None,
            basic_constraints: None,
            name_constraints: false,
            extensions: Vec::new(),
            sct_list: None,
        };
        if let Some(extensions) = extensions {
            parsed.read_extensions(&extensions)?;
        }
        Ok(parsed)
    }

    /// Reads the extensions this module knows; each may appear once.
    fn read_extensions(&mut self, extensions: &Element<'_>) -> Result<(), Parse> {
        let list = single(
            extensions.content,
            SEQUENCE,
            "the extensions are not a SEQUENCE",
        )
        .map_err(Parse::Der)?;
        let mut list = Elements::of(list.content);
        let mut v1_issuer = None;
        while list.peek().is_some() {
            let extension = list
                .expect(SEQUENCE, "an extension is not a SEQUENCE")
                .map_err(Parse::Der)?;
            let mut fields = Elements::of(extension.content);
            let oid = fields
                .expect(OID, "an extension has no OID")
                .map_err(Parse::Der)?
                .content;
            let critical = match fields
                .optional(BOOLEAN, "an extension's criticality")
                .map_err(Parse::Der)?
            {
                None => false,
                // DER leaves a FALSE default out.
                Some(flag) if flag.content == [0xff] => true,
                Some(_) => return Err(Parse::Der("an extension's criticality is not DER")),
            };
            let value = fields
                .expect(OCTET_STRING, "an extension has no value")
                .map_err(Parse::Der)?
                .content;
            fields
                .end("data after an extension's value")
                .map_err(Parse::Der)?;
            if self.extensions.iter().any(|(seen, _)| seen == oid) {
                return Err(Parse::Extension("an extension is repeated"));
            }
            self.extensions.push((oid.to_vec(), critical));
            match oid {
                OID_SUBJECT_ALT_NAME => {
                    self.alternative_names = alternative_names(value)
                        .ok_or(Parse::Extension("subjectAltName is malformed"))?;
                }
                OID_KEY_USAGE => {
                    self.key_usage =
                        Some(key_usage(value).ok_or(Parse::Extension("keyUsage is malformed"))?);
                }
                OID_EXTENDED_KEY_USAGE => {
                    let usages = object_identifiers(value)
                        .filter(|usages| !usages.is_empty())
                        .ok_or(Parse::Extension("extKeyUsage is malformed"))?;
                    self.extended_key_usage =
                        Some(usages.into_iter().map(<[u8]>::to_vec).collect());
                }
                OID_BASIC_CONSTRAINTS => {
                    self.basic_constraints = Some(
                        basic_constraints(value)
                            .ok_or(Parse::Extension("basicConstraints is malformed"))?,
                    );
                }
                OID_NAME_CONSTRAINTS => self.name_constraints = true,
                OID_FULCIO_ISSUER_V2 => {
                    let issuer = single(value, UTF8_STRING, "")
                        .ok()
                        .and_then(|s| core::str::from_utf8(s.content).ok())
                        .ok_or(Parse::Extension("Fulcio issuer (v2) is malformed"))?;
                    self.oidc_issuer = Some(issuer.into());
                }
                OID_FULCIO_ISSUER_V1 => {
                    let issuer = core::str::from_utf8(value)
                        .map_err(|_| Parse::Extension("Fulcio issuer (v1) is malformed"))?;
                    v1_issuer = Some(String::from(issuer));
                }
                OID_SCT_LIST => self.sct_list = Some(value.to_vec()),
                _ => {
                    if let Some(field) = OID_GITHUB_WORKFLOW.iter().position(|o| *o == oid) {
                        let text = core::str::from_utf8(value).map_err(|_| {
                            Parse::Extension("a GitHub workflow extension is not UTF-8")
                        })?;
                        self.github_workflow[field] = Some(text.into());
                    }
                }
            }
        }
        // The v2 extension is authoritative; the v1 one stands in only without it.
        if self.oidc_issuer.is_none() {
            self.oidc_issuer = v1_issuer;
        }
        Ok(())
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

    /// Fulcio's GitHub workflow extensions (v1 OIDs `.2` to `.6`): trigger, SHA, name,
    /// repository and ref, each if present.
    pub fn github_workflow(&self) -> &[Option<String>; 5] {
        &self.github_workflow
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

    /// The keyUsage bits, bit 0 first (`digitalSignature`, `nonRepudiation`, …,
    /// `keyCertSign` is bit 5, `decipherOnly` bit 8), if the certificate has the extension.
    pub fn key_usage(&self) -> Option<u16> {
        self.key_usage
    }

    /// The extended key usages' OIDs (DER contents), if the certificate has the extension.
    pub fn extended_key_usage(&self) -> Option<&[Vec<u8>]> {
        self.extended_key_usage.as_deref()
    }

    /// basicConstraints, if the certificate has the extension.
    pub fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.basic_constraints
    }

    /// Whether the certificate carries nameConstraints.
    pub fn has_name_constraints(&self) -> bool {
        self.name_constraints
    }

    /// Every extension's OID (DER content) and criticality, in certificate order.
    pub fn extensions(&self) -> impl Iterator<Item = (&[u8], bool)> {
        self.extensions
            .iter()
            .map(|(oid, critical)| (oid.as_slice(), *critical))
    }

    /// Whether the extension `oid` is present and marked critical.
    pub fn is_critical(&self, oid: &[u8]) -> bool {
        self.extensions().any(|(o, critical)| o == oid && critical)
    }

    /// Whether basicConstraints says this is a CA.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|c| c.ca)
    }

    /// Whether the subject and issuer names are the same (RFC 5280's "self-issued").
    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
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
        let hash = match self.signature_algorithm.as_slice() {
            ECDSA_SHA256 | RSA_SHA256 => HashAlgorithm::Sha256,
            ECDSA_SHA384 | RSA_SHA384 => HashAlgorithm::Sha384,
            ECDSA_SHA512 | RSA_SHA512 => HashAlgorithm::Sha512,
            ED25519 => HashAlgorithm::Auto,
            _ => return false,
        };
        let options = KeyOptions { hash, scheme: None };
        PublicKey::from_spki_der(&issuer.spki, options)
            .is_ok_and(|key| key.verify(&self.tbs, &self.signature).is_ok())
    }
}

/// Why parsing stopped: the DER, or an extension read here.
enum Parse {
    Der(&'static str),
    Extension(&'static str),
}

/// The names of a `SubjectAltName` value this module reads: emails (`[1]`), URIs (`[6]`) and
/// other names (`[0]`) whose value is a UTF8String; other kinds are skipped.
fn alternative_names(value: &[u8]) -> Option<Vec<AlternativeName>> {
    let names = single(value, SEQUENCE, "").ok()?;
    let mut names = Elements::of(names.content);
    let mut out = Vec::new();
    while names.peek().is_some() {
        let name = names.next("").ok()?;
        let text = || core::str::from_utf8(name.content).ok().map(String::from);
        match name.tag {
            0x81 => out.push(AlternativeName::Email(text()?)),
            0x86 => out.push(AlternativeName::Uri(text()?)),
            0xa0 => {
                let mut other = Elements::of(name.content);
                other.expect(OID, "").ok()?;
                let value = other.expect(0xa0, "").ok()?;
                other.end("").ok()?;
                if let Ok(utf8) = single(value.content, UTF8_STRING, "") {
                    out.push(AlternativeName::Other(
                        core::str::from_utf8(utf8.content).ok()?.into(),
                    ));
                }
            }
            _ => {}
        }
    }
    Some(out)
}

/// The OIDs of a `SEQUENCE OF OBJECT IDENTIFIER` (an extended key usage), as their contents.
fn object_identifiers(value: &[u8]) -> Option<Vec<&[u8]>> {
    let list = single(value, SEQUENCE, "").ok()?;
    let mut list = Elements::of(list.content);
    let mut out = Vec::new();
    while list.peek().is_some() {
        out.push(list.expect(OID, "").ok()?.content);
    }
    Some(out)
}

/// keyUsage's BIT STRING as bits numbered from the first (bit 0, `digitalSignature`, is the
/// first byte's high bit). DER: the unused bits are zero and the last byte is not zero.
fn key_usage(value: &[u8]) -> Option<u16> {
    let bits = single(value, BIT_STRING, "").ok()?.content;
    let (&unused, bytes) = bits.split_first()?;
    let last = *bytes.last()?;
    if bytes.len() > 2 || unused > 7 || last & ((1 << unused) - 1) != 0 || last == 0 {
        return None;
    }
    let mut out = 0u16;
    for (i, byte) in bytes.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                out |= 1 << (i * 8 + bit);
            }
        }
    }
    Some(out)
}

/// basicConstraints: `SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX)
/// OPTIONAL }`. A path length beside `cA` false, or a negative or non-minimal one, is refused.
/// An explicit FALSE is read as written, as Go and OpenSSL read it.
fn basic_constraints(value: &[u8]) -> Option<BasicConstraints> {
    let constraints = single(value, SEQUENCE, "").ok()?;
    let mut fields = Elements::of(constraints.content);
    let ca = match fields.optional(BOOLEAN, "").ok()? {
        None => false,
        Some(flag) => match flag.content {
            [0xff] => true,
            [0x00] => false,
            _ => return None,
        },
    };
    let path_len = match fields.optional(INTEGER, "").ok()? {
        None => None,
        Some(integer) => {
            let digits = integer.content;
            let minimal = match digits {
                [] => false,
                [0, next, ..] => next & 0x80 != 0,
                [first, ..] => first & 0x80 == 0,
            };
            if !minimal || !ca || digits.len() > 5 {
                return None;
            }
            let mut value = 0u64;
            for digit in digits {
                value = value << 8 | u64::from(*digit);
            }
            Some(u32::try_from(value).unwrap_or(u32::MAX))
        }
    };
    fields.end("").ok()?;
    Some(BasicConstraints { ca, path_len })
}

/// One certificate authority of a trusted root: its chain, issuer first up to the root, and
/// the window (Unix seconds, either end open) in which it issued. Built only from a trusted
/// root ([`trusted_root_authorities`]), which checks the chain once
/// ([`path::check_authorities`]); a verification then checks the leaf against it
/// ([`path::check_leaf`]) and the windows.
#[derive(Clone, Debug)]
pub struct Authority {
    chain: CheckedChain,
    valid_for: (Option<i64>, Option<i64>),
}

impl Authority {
    fn valid_at(&self, time: i64) -> bool {
        crate::time::within(self.valid_for, time)
    }

    /// The chain, from the certificate that issues leaves up to the root.
    pub fn chain(&self) -> &[Certificate] {
        self.chain.certificates()
    }

    /// `validFor` in the trusted root (Unix seconds, either end open).
    pub fn valid_for(&self) -> (Option<i64>, Option<i64>) {
        self.valid_for
    }

    /// Whether the chain holds as a path for code-signing leaves, checked when the root was
    /// read.
    ///
    /// # Errors
    /// The [`PathError`] that stopped it.
    pub fn holds(&self) -> Result<(), &PathError> {
        self.chain.holds()
    }
}

/// Checks that `leaf` chains to one of `authorities` at each of `times` (Unix seconds, times
/// the evidence proves), as a code-signing path ([`path`]): the leaf is valid at every time and
/// obeys a leaf's rules; an authority counts when its first certificate issued the leaf, its
/// chain holds, its `validFor` contains every time, and every certificate of its chain is valid
/// then. Certificates from anywhere but the trusted root play no part.
///
/// Returns the index of the authority whose chain holds.
///
/// # Errors
/// [`CertificateError::NotValidAt`] when the leaf itself is not valid at a time;
/// [`CertificateError::Path`] when the leaf breaks a leaf's rules, or when an authority that
/// issued the leaf fails for a reason of its own (the first such); else
/// [`CertificateError::Untrusted`].
pub fn verify_chain_at(
    leaf: &Certificate,
    authorities: &[Authority],
    times: &[i64],
) -> Result<usize, CertificateError> {
    if let Some(time) = times.iter().find(|t| !leaf.valid_at(**t)) {
        return Err(CertificateError::NotValidAt(*time));
    }
    if times.is_empty() {
        return Err(CertificateError::Untrusted);
    }
    let mut error = CertificateError::Untrusted;
    for (index, authority) in authorities.iter().enumerate() {
        if !times.iter().all(|&time| authority.valid_at(time)) {
            continue;
        }
        match path::check_path(leaf, &authority.chain, Purpose::CodeSigning, times) {
            Ok(()) => return Ok(index),
            // Another authority may have issued it.
            Err(PathError::NotIssuedBy {
                position: Position::Leaf,
            }) => {}
            Err(other) => {
                if error == CertificateError::Untrusted {
                    error = CertificateError::Path(other);
                }
            }
        }
    }
    Err(error)
}

/// [`verify_chain_at`] at one time.
///
/// # Errors
/// As [`verify_chain_at`].
pub fn verify_chain(
    leaf: &Certificate,
    authorities: &[Authority],
    time: i64,
) -> Result<usize, CertificateError> {
    verify_chain_at(leaf, authorities, &[time])
}

/// The certificate authorities of a Sigstore `trusted_root.json`
/// (`certificateAuthorities[].certChain.certificates[].rawBytes`, each with its `validFor`),
/// each chain checked as a path for code-signing leaves.
///
/// # Errors
/// A sentence naming the entry at fault, when one cannot be read.
pub fn trusted_root_authorities(root: &serde_json::Value) -> Result<Vec<Authority>, String> {
    Ok(trusted_root_chains(root, "certificateAuthorities")?
        .into_iter()
        .map(|(chain, valid_for)| Authority {
            chain: CheckedChain::new(chain, Purpose::CodeSigning),
            valid_for,
        })
        .collect())
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

/// The TBS a CT log signed for a precertificate (RFC 6962 §3.2): the leaf's TBS without its
/// embedded SCT list extension.
fn precertificate_tbs(tbs: &[u8]) -> Option<Vec<u8>> {
    let sct_oid = OID_SCT_LIST;
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
        .and_then(|value| single(value, OCTET_STRING, "").ok())
        .map(|octets| octets.content.to_vec())
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
    fn a_precertificate_tbs_drops_only_the_sct_extension() {
        let extension = |oid: &[u8], value: &[u8]| {
            let mut oid_tlv = der_header(0x06, oid.len());
            oid_tlv.extend_from_slice(oid);
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
        let key_usage = extension(OID_KEY_USAGE, &[3, 2, 7, 128]);
        let sct = extension(OID_SCT_LIST, &[4, 2, 0, 0]);
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
