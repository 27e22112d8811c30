//! X.509 certificates, read strictly: what a certificate path needs (names, validity, key,
//! key usages, basic constraints, name constraints, the subject alternative names) and every
//! extension, with its criticality and value, for the readers of particular extensions (Fulcio's
//! and certificate transparency's are in [`crate::sigstore::fulcio`]).
//!
//! Parsing is this crate's own strict DER reader (`crate::encoding::der`), in place: the TBS
//! bytes a signature is checked over are exactly the bytes that were read, and anything that is
//! not DER (long-form lengths that could be shorter, an explicit FALSE, trailing bytes) is
//! refused.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::crypto::keys::PublicKey;
use crate::crypto::options::{HashAlgorithm, KeyOptions};
use crate::encoding::der::{
    BIT_STRING, BOOLEAN, Element, Elements, INTEGER, OCTET_STRING, OID, SEQUENCE, UTF8_STRING,
    single,
};

/// The extended key usage of code signing, `1.3.6.1.5.5.7.3.3`.
pub const OID_CODE_SIGNING: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 3];
/// The extended key usage of time stamping (RFC 3161 authorities), `1.3.6.1.5.5.7.3.8`.
pub const OID_TIME_STAMPING: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 8];
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

use crate::limits::MAX_CERTIFICATE_BYTES;

/// Why a certificate cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not a DER X.509 certificate, or larger than [`MAX_CERTIFICATE_BYTES`].
    Malformed(String),
    /// An extension is present twice, or one this module reads cannot be read.
    Extension(&'static str),
}

impl core::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(msg) => write!(f, "the certificate is malformed: {msg}"),
            Self::Extension(which) => write!(f, "the certificate's extensions: {which}"),
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
    /// The keyUsage bits (bit 0 is `digitalSignature`), if the extension is present.
    key_usage: Option<u16>,
    /// The extended key usages' OIDs, if the extension is present.
    extended_key_usage: Option<Vec<Vec<u8>>>,
    /// basicConstraints, if present.
    basic_constraints: Option<BasicConstraints>,
    /// Whether the certificate carries nameConstraints, which ocisig does not enforce.
    name_constraints: bool,
    /// Every extension, in certificate order.
    extensions: Vec<Extension>,
}

/// One extension of a certificate, as it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// Its OID, as the content of the DER OID.
    pub oid: Vec<u8>,
    /// Whether it is marked critical.
    pub critical: bool,
    /// The DER its OCTET STRING holds.
    pub value: Vec<u8>,
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
        let (Some(not_before), Some(not_after)) = (
            crate::encoding::der::time(&not_before),
            crate::encoding::der::time(&not_after),
        ) else {
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
            key_usage: None,
            extended_key_usage: None,
            basic_constraints: None,
            name_constraints: false,
            extensions: Vec::new(),
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
            if self.extensions.iter().any(|seen| seen.oid == oid) {
                return Err(Parse::Extension("an extension is repeated"));
            }
            self.extensions.push(Extension {
                oid: oid.to_vec(),
                critical,
                value: value.to_vec(),
            });
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
                _ => {}
            }
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

    /// The certificate's DER SubjectPublicKeyInfo as a verifying key, with `options`.
    ///
    /// # Errors
    /// When the key is not one this verifier supports.
    pub fn public_key(
        &self,
        options: KeyOptions,
    ) -> Result<PublicKey, crate::crypto::keys::KeyError> {
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

    /// Every extension, in certificate order.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The extension `oid` (the content of its DER OID), if the certificate has it.
    pub fn extension(&self, oid: &[u8]) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.oid == oid)
    }

    /// Whether the extension `oid` is present and marked critical.
    pub fn is_critical(&self, oid: &[u8]) -> bool {
        self.extension(oid).is_some_and(|e| e.critical)
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
