//! Sigstore bundles (v0.1 to v0.3), parsed strictly, and DSSE's pre-authentication encoding.
//!
//! A bundle is what cosign v3 attaches to an image as an OCI referrer: verification material
//! (a key hint or certificates, transparency-log entries, timestamps) and the signed content
//! (a message signature, or a DSSE envelope around an in-toto statement). This module only
//! reads the shape, as protobuf-JSON writes it, with the structural rules the reference
//! verifiers enforce before any signature is looked at:
//! - the media type names a version we know (`…bundle+json;version=0.1|0.2|0.3`, or
//!   `…bundle.v0.3+json`); anything else is refused;
//! - 64-bit integers come as JSON strings (protobuf-JSON) or numbers, and a log index or tree
//!   size is never negative;
//! - v0.1 entries carry an inclusion promise; from v0.2 on, an inclusion proof;
//! - a v0.3 bundle does not carry a certificate chain (only its leaf, or a key hint);
//! - a DSSE envelope has exactly one signature.
//!
//! Nothing here is trusted yet: a key hint is only a hint, and certificates are only bytes.
//! The JSON goes through the one strict reader ([`crate::encoding::json`]), which refuses
//! duplicate keys; fields this module does not know are ignored, as protobuf-JSON readers do.

use crate::encoding::base64::STANDARD as BASE64;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;

use crate::encoding::json::{self, Fields};
use crate::sigstore::tlog::{Hash, InclusionProof};

use crate::limits::{
    MAX_ENVELOPE_SIGNATURES, MAX_SIGSTORE_BUNDLE_BYTES as MAX_BUNDLE_BYTES, MAX_TIMESTAMPS,
    MAX_TLOG_ENTRIES,
};

/// A bundle format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// 0.1: the inclusion promise (SET) is required.
    V0_1,
    /// 0.2: an inclusion proof with a checkpoint is required.
    V0_2,
    /// 0.3: as 0.2, and no certificate chain.
    V0_3,
}

impl Version {
    /// The version a bundle media type names, in any of its spellings.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            "application/vnd.dev.sigstore.bundle+json;version=0.1" => Some(Self::V0_1),
            "application/vnd.dev.sigstore.bundle+json;version=0.2" => Some(Self::V0_2),
            "application/vnd.dev.sigstore.bundle+json;version=0.3"
            | "application/vnd.dev.sigstore.bundle.v0.3+json" => Some(Self::V0_3),
            _ => None,
        }
    }
}

/// Why a bundle was refused before any signature was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`crate::limits::MAX_SIGSTORE_BUNDLE_BYTES`].
    TooLarge,
    /// Not strict JSON of the bundle shape.
    Syntax(String),
    /// A media type that names no version this verifier knows.
    UnknownVersion(String),
    /// A field breaks a rule of the format.
    Invalid {
        /// The field, as a path.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl core::fmt::Display for BundleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge => write!(f, "the bundle is larger than {MAX_BUNDLE_BYTES} bytes"),
            Self::Syntax(msg) => {
                write!(f, "the bundle is not valid JSON of the bundle shape: {msg}")
            }
            Self::UnknownVersion(media_type) => {
                write!(
                    f,
                    "the bundle media type {media_type:?} names no version this verifier knows"
                )
            }
            Self::Invalid { field, problem } => write!(f, "bundle {field}: {problem}"),
        }
    }
}

impl core::error::Error for BundleError {}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> BundleError {
    BundleError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// What the signer says it signed with. None of it is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Material {
    /// A key hint (self-managed keys): only ever a hint.
    PublicKey {
        /// The hint, if any.
        hint: Option<String>,
    },
    /// A certificate chain, leaf first, as DER.
    CertificateChain(Vec<Vec<u8>>),
    /// A leaf certificate, as DER (v0.3).
    Certificate(Vec<u8>),
}

/// One transparency-log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlogEntry {
    /// The entry's index in the log.
    pub log_index: u64,
    /// The log's id (the hash of its key).
    pub log_id: Vec<u8>,
    /// `hashedrekord`, `dsse` or `intoto`.
    pub kind: String,
    /// The kind's version (`0.0.1`, `0.0.2`).
    pub version: String,
    /// When the log integrated the entry (Unix seconds); absent in Rekor v2.
    pub integrated_time: Option<i64>,
    /// The log's signed entry timestamp, if any.
    pub signed_entry_timestamp: Option<Vec<u8>>,
    /// The inclusion proof and its checkpoint envelope, if any.
    pub inclusion_proof: Option<(InclusionProof, Option<String>)>,
    /// The exact bytes the log hashed.
    pub canonicalized_body: Vec<u8>,
}

/// The signed content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A signature over an artifact, with its (unauthenticated) digest.
    MessageSignature {
        /// `SHA2_256`, `SHA2_384` or `SHA2_512`.
        algorithm: String,
        /// The artifact digest the signer states; identification only.
        digest: Vec<u8>,
        /// The signature.
        signature: Vec<u8>,
    },
    /// A DSSE envelope with its one signature.
    Dsse {
        /// The payload's type.
        payload_type: String,
        /// The exact payload bytes.
        payload: Vec<u8>,
        /// The signature over [`pae`]`(payload_type, payload)`.
        signature: Vec<u8>,
        /// The signature's key id, if any (a hint).
        keyid: Option<String>,
    },
}

/// A parsed bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bundle {
    /// The format version.
    pub version: Version,
    /// The verification material.
    pub material: Material,
    /// The log entries.
    pub tlog_entries: Vec<TlogEntry>,
    /// The RFC 3161 timestamp responses, as DER.
    pub timestamps: Vec<Vec<u8>>,
    /// The signed content.
    pub content: Content,
}

struct BundleDocument {
    media_type: String,
    verification_material: MaterialDocument,
    message_signature: Option<MessageSignatureDocument>,
    dsse_envelope: Option<EnvelopeDocument>,
}

struct MaterialDocument {
    public_key: Option<HintDocument>,
    x509_certificate_chain: Option<ChainDocument>,
    certificate: Option<RawBytes>,
    tlog_entries: Vec<EntryDocument>,
    timestamp_verification_data: Option<TimestampsDocument>,
}

struct HintDocument {
    hint: Option<String>,
}

struct ChainDocument {
    certificates: Vec<RawBytes>,
}

struct RawBytes {
    raw_bytes: String,
}

struct TimestampsDocument {
    rfc3161_timestamps: Vec<SignedTimestamp>,
}

struct SignedTimestamp {
    signed_timestamp: String,
}

struct EntryDocument {
    log_index: Value,
    log_id: LogIdDocument,
    kind_version: KindVersion,
    integrated_time: Option<Value>,
    inclusion_promise: Option<PromiseDocument>,
    inclusion_proof: Option<ProofDocument>,
    canonicalized_body: String,
}

struct LogIdDocument {
    key_id: String,
}

struct KindVersion {
    kind: String,
    version: String,
}

struct PromiseDocument {
    signed_entry_timestamp: String,
}

struct ProofDocument {
    log_index: Value,
    root_hash: String,
    tree_size: Value,
    hashes: Vec<String>,
    checkpoint: Option<CheckpointDocument>,
}

struct CheckpointDocument {
    envelope: String,
}

struct MessageSignatureDocument {
    message_digest: Option<DigestDocument>,
    signature: String,
}

struct DigestDocument {
    algorithm: String,
    digest: String,
}

struct EnvelopeDocument {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

struct EnvelopeSignature {
    sig: String,
    keyid: Option<String>,
}

// The documents, read from the strict JSON value by hand (see `json::Fields`). Unknown
// fields are passed over, as protobuf-JSON readers do.

/// A required field's value as it is.
fn any(fields: &Fields<'_>, key: &str) -> Result<Value, String> {
    fields.req(key, |v| Ok(v.clone()))
}

impl BundleDocument {
    fn read(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            media_type: f.string("mediaType")?,
            verification_material: f.req("verificationMaterial", MaterialDocument::read)?,
            message_signature: f.opt("messageSignature", MessageSignatureDocument::read)?,
            dsse_envelope: f.opt("dsseEnvelope", EnvelopeDocument::read)?,
        })
    }
}

impl MaterialDocument {
    fn read(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            public_key: f.opt("publicKey", |v| {
                Ok(HintDocument {
                    hint: Fields::of(v)?.opt_string("hint")?,
                })
            })?,
            x509_certificate_chain: f.opt("x509CertificateChain", |v| {
                Ok(ChainDocument {
                    certificates: Fields::of(v)?.list("certificates", RawBytes::read)?,
                })
            })?,
            certificate: f.opt("certificate", RawBytes::read)?,
            tlog_entries: f.list("tlogEntries", EntryDocument::read)?,
            timestamp_verification_data: f.opt("timestampVerificationData", |v| {
                Ok(TimestampsDocument {
                    rfc3161_timestamps: Fields::of(v)?.list("rfc3161Timestamps", |t| {
                        Ok(SignedTimestamp {
                            signed_timestamp: Fields::of(t)?.string("signedTimestamp")?,
                        })
                    })?,
                })
            })?,
        })
    }
}

impl RawBytes {
    fn read(value: &Value) -> Result<Self, String> {
        Ok(Self {
            raw_bytes: Fields::of(value)?.string("rawBytes")?,
        })
    }
}

impl EntryDocument {
    fn read(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            log_index: any(&f, "logIndex")?,
            log_id: f.req("logId", |v| {
                Ok(LogIdDocument {
                    key_id: Fields::of(v)?.string("keyId")?,
                })
            })?,
            kind_version: f.req("kindVersion", |v| {
                let kv = Fields::of(v)?;
                Ok(KindVersion {
                    kind: kv.string("kind")?,
                    version: kv.string("version")?,
                })
            })?,
            integrated_time: f.opt("integratedTime", |v| Ok(v.clone()))?,
            inclusion_promise: f.opt("inclusionPromise", |v| {
                Ok(PromiseDocument {
                    signed_entry_timestamp: Fields::of(v)?.string("signedEntryTimestamp")?,
                })
            })?,
            inclusion_proof: f.opt("inclusionProof", |v| {
                let p = Fields::of(v)?;
                Ok(ProofDocument {
                    log_index: any(&p, "logIndex")?,
                    root_hash: p.string("rootHash")?,
                    tree_size: any(&p, "treeSize")?,
                    hashes: p.list("hashes", json::string)?,
                    checkpoint: p.opt("checkpoint", |c| {
                        Ok(CheckpointDocument {
                            envelope: Fields::of(c)?.string("envelope")?,
                        })
                    })?,
                })
            })?,
            canonicalized_body: f.string("canonicalizedBody")?,
        })
    }
}

impl MessageSignatureDocument {
    fn read(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            message_digest: f.opt("messageDigest", |v| {
                let d = Fields::of(v)?;
                Ok(DigestDocument {
                    algorithm: d.string("algorithm")?,
                    digest: d.string("digest")?,
                })
            })?,
            signature: f.string("signature")?,
        })
    }
}

impl EnvelopeDocument {
    fn read(value: &Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            payload: f.string("payload")?,
            payload_type: f.string("payloadType")?,
            signatures: f.req("signatures", |v| {
                let Value::Array(items) = v else {
                    return Err("expected a list".into());
                };
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let s = Fields::of(item).map_err(|e| format!("[{i}]: {e}"))?;
                        Ok(EnvelopeSignature {
                            sig: s.string("sig").map_err(|e| format!("[{i}]: {e}"))?,
                            keyid: s.opt_string("keyid").map_err(|e| format!("[{i}]: {e}"))?,
                        })
                    })
                    .collect()
            })?,
        })
    }
}

fn base64(field: &str, text: &str) -> Result<Vec<u8>, BundleError> {
    BASE64
        .decode(text)
        .map_err(|_| invalid(field, "not standard base64"))
}

/// A protobuf-JSON int64: a JSON string of decimal digits (what protobuf-JSON writes) or a
/// JSON integer (which it also reads).
fn int64(field: &str, value: &Value) -> Result<i64, BundleError> {
    let parsed = match value {
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                text.parse::<i64>().ok()
            }
        }
        Value::Number(number) => number.as_i64(),
        _ => None,
    };
    parsed.ok_or_else(|| invalid(field, "not a 64-bit integer"))
}

fn index(field: &str, value: &Value) -> Result<u64, BundleError> {
    u64::try_from(int64(field, value)?).map_err(|_| invalid(field, "must not be negative"))
}

fn hash(field: &str, text: &str) -> Result<Hash, BundleError> {
    base64(field, text)?
        .try_into()
        .map_err(|_| invalid(field, "not a 32-byte SHA-256 hash"))
}

impl Bundle {
    /// Parses and checks a bundle's structure.
    ///
    /// # Errors
    /// A [`BundleError`] naming the field at fault.
    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        let document = json::parse(bytes)
            .and_then(|value| BundleDocument::read(&value))
            .map_err(BundleError::Syntax)?;
        let version = Version::from_media_type(&document.media_type)
            .ok_or_else(|| BundleError::UnknownVersion(document.media_type.clone()))?;
        let material = parse_material(version, &document.verification_material)?;
        let entries = &document.verification_material.tlog_entries;
        if entries.len() > MAX_TLOG_ENTRIES {
            return Err(invalid(
                "verificationMaterial.tlogEntries",
                format!("more than {MAX_TLOG_ENTRIES} entries"),
            ));
        }
        let tlog_entries = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| parse_entry(version, i, entry))
            .collect::<Result<Vec<_>, _>>()?;
        let timestamps = document
            .verification_material
            .timestamp_verification_data
            .as_ref()
            .map(|data| {
                if data.rfc3161_timestamps.len() > MAX_TIMESTAMPS {
                    return Err(invalid(
                        "timestampVerificationData.rfc3161Timestamps",
                        format!("more than {MAX_TIMESTAMPS} timestamps"),
                    ));
                }
                data.rfc3161_timestamps
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        base64(
                            &format!("timestampVerificationData.rfc3161Timestamps[{i}]"),
                            &t.signed_timestamp,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let content = match (&document.message_signature, &document.dsse_envelope) {
            (Some(message), None) => parse_message(message)?,
            (None, Some(envelope)) => parse_envelope(envelope)?,
            _ => {
                return Err(invalid(
                    "content",
                    "exactly one of messageSignature and dsseEnvelope is needed",
                ));
            }
        };
        Ok(Self {
            version,
            material,
            tlog_entries,
            timestamps,
            content,
        })
    }
}

fn parse_material(version: Version, material: &MaterialDocument) -> Result<Material, BundleError> {
    let field = "verificationMaterial";
    match (
        &material.public_key,
        &material.x509_certificate_chain,
        &material.certificate,
    ) {
        (Some(key), None, None) => Ok(Material::PublicKey {
            hint: key.hint.clone(),
        }),
        (None, Some(chain), None) => {
            if version >= Version::V0_3 {
                return Err(invalid(
                    field,
                    "a v0.3 bundle carries its leaf certificate, not a chain",
                ));
            }
            if chain.certificates.is_empty() {
                return Err(invalid(
                    "verificationMaterial.x509CertificateChain",
                    "the certificate chain is empty",
                ));
            }
            if chain.certificates.len() > crate::limits::MAX_CHAIN_LENGTH {
                return Err(invalid(
                    "verificationMaterial.x509CertificateChain",
                    format!("more than {} certificates", crate::limits::MAX_CHAIN_LENGTH),
                ));
            }
            chain
                .certificates
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    base64(
                        &format!("verificationMaterial.x509CertificateChain.certificates[{i}]"),
                        &c.raw_bytes,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Material::CertificateChain)
        }
        (None, None, Some(certificate)) => {
            base64("verificationMaterial.certificate", &certificate.raw_bytes)
                .map(Material::Certificate)
        }
        _ => Err(invalid(
            field,
            "exactly one of publicKey, x509CertificateChain and certificate is needed",
        )),
    }
}

fn parse_entry(
    version: Version,
    i: usize,
    entry: &EntryDocument,
) -> Result<TlogEntry, BundleError> {
    let field = |name: &str| format!("verificationMaterial.tlogEntries[{i}].{name}");
    let log_index = index(&field("logIndex"), &entry.log_index)?;
    let integrated_time = entry
        .integrated_time
        .as_ref()
        .map(|t| int64(&field("integratedTime"), t))
        .transpose()?;
    let signed_entry_timestamp = entry
        .inclusion_promise
        .as_ref()
        .map(|p| base64(&field("inclusionPromise"), &p.signed_entry_timestamp))
        .transpose()?;
    let inclusion_proof = entry
        .inclusion_proof
        .as_ref()
        .map(|proof| -> Result<_, BundleError> {
            let hashes = proof
                .hashes
                .iter()
                .map(|h| hash(&field("inclusionProof.hashes"), h))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((
                InclusionProof {
                    log_index: index(&field("inclusionProof.logIndex"), &proof.log_index)?,
                    tree_size: index(&field("inclusionProof.treeSize"), &proof.tree_size)?,
                    root_hash: hash(&field("inclusionProof.rootHash"), &proof.root_hash)?,
                    hashes,
                },
                proof.checkpoint.as_ref().map(|c| c.envelope.clone()),
            ))
        })
        .transpose()?;
    match version {
        Version::V0_1 if signed_entry_timestamp.is_none() => {
            return Err(invalid(
                field("inclusionPromise"),
                "a v0.1 bundle's log entry needs its inclusion promise",
            ));
        }
        Version::V0_2 | Version::V0_3 if !matches!(&inclusion_proof, Some((_, Some(_)))) => {
            return Err(invalid(
                field("inclusionProof"),
                "from v0.2 on, a log entry needs an inclusion proof with a checkpoint",
            ));
        }
        _ => {}
    }
    Ok(TlogEntry {
        log_index,
        log_id: base64(&field("logId.keyId"), &entry.log_id.key_id)?,
        kind: entry.kind_version.kind.clone(),
        version: entry.kind_version.version.clone(),
        integrated_time,
        signed_entry_timestamp,
        inclusion_proof,
        canonicalized_body: base64(&field("canonicalizedBody"), &entry.canonicalized_body)?,
    })
}

fn parse_message(message: &MessageSignatureDocument) -> Result<Content, BundleError> {
    let (algorithm, digest) = match &message.message_digest {
        Some(digest) => (
            digest.algorithm.clone(),
            base64("messageSignature.messageDigest.digest", &digest.digest)?,
        ),
        None => (String::new(), Vec::new()),
    };
    Ok(Content::MessageSignature {
        algorithm,
        digest,
        signature: base64("messageSignature.signature", &message.signature)?,
    })
}

/// A DSSE envelope read on its own (a legacy `.att` layer): unlike a bundle's, it may carry
/// several signatures, each of which may be by a different key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// The payload's type.
    pub payload_type: String,
    /// The exact payload bytes.
    pub payload: Vec<u8>,
    /// The signatures over [`pae`]`(payload_type, payload)`, in envelope order.
    pub signatures: Vec<Vec<u8>>,
}

/// Why a legacy `.att` layer's DSSE envelope cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Larger than [`crate::limits::MAX_SIGSTORE_BUNDLE_BYTES`].
    TooLarge,
    /// Not strict JSON of the envelope shape.
    Syntax(String),
    /// A field breaks a rule of the format.
    Invalid {
        /// The field, as a path.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl core::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge => write!(f, "the envelope is larger than {MAX_BUNDLE_BYTES} bytes"),
            Self::Syntax(msg) => {
                write!(f, "the envelope is not valid JSON of the DSSE shape: {msg}")
            }
            Self::Invalid { field, problem } => write!(f, "envelope {field}: {problem}"),
        }
    }
}

impl core::error::Error for EnvelopeError {}

/// Reads a DSSE envelope on its own (a legacy `.att` layer), as strictly as a bundle's
/// (standard base64), but with 1 to [`MAX_ENVELOPE_SIGNATURES`] signatures: cosign accepts a
/// layer when any of them verifies.
///
/// # Errors
/// An [`EnvelopeError`] naming the field at fault.
pub fn parse_dsse_envelope(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(EnvelopeError::TooLarge);
    }
    let envelope = json::parse(bytes)
        .and_then(|value| EnvelopeDocument::read(&value))
        .map_err(EnvelopeError::Syntax)?;
    let count = envelope.signatures.len();
    if count == 0 || count > MAX_ENVELOPE_SIGNATURES {
        return Err(EnvelopeError::Invalid {
            field: "signatures".into(),
            problem: format!("{count} signatures; an envelope has 1 to {MAX_ENVELOPE_SIGNATURES}"),
        });
    }
    let decode = |field: String, text: &str| {
        base64(&field, text).map_err(|_| EnvelopeError::Invalid {
            field,
            problem: "not standard base64".into(),
        })
    };
    Ok(Envelope {
        payload_type: envelope.payload_type.clone(),
        payload: decode("payload".into(), &envelope.payload)?,
        signatures: envelope
            .signatures
            .iter()
            .enumerate()
            .map(|(i, signature)| decode(format!("signatures[{i}].sig"), &signature.sig))
            .collect::<Result<_, _>>()?,
    })
}

fn parse_envelope(envelope: &EnvelopeDocument) -> Result<Content, BundleError> {
    let [signature] = envelope.signatures.as_slice() else {
        return Err(invalid(
            "dsseEnvelope.signatures",
            format!(
                "{} signatures; a bundle's envelope has exactly one",
                envelope.signatures.len()
            ),
        ));
    };
    Ok(Content::Dsse {
        payload_type: envelope.payload_type.clone(),
        payload: base64("dsseEnvelope.payload", &envelope.payload)?,
        signature: base64("dsseEnvelope.signatures[0].sig", &signature.sig)?,
        keyid: signature.keyid.clone().filter(|k| !k.is_empty()),
    })
}

/// DSSE's pre-authentication encoding, what an envelope's signature is over:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::V0_1 => "0.1",
            Self::V0_2 => "0.2",
            Self::V0_3 => "0.3",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_specs_encoding() {
        // The DSSE specification's own example.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn int64s_come_as_strings_or_numbers_and_indexes_are_never_negative() {
        assert_eq!(
            int64("f", &Value::String("79571823".into())),
            Ok(79_571_823)
        );
        assert_eq!(int64("f", &serde_json::json!(42)), Ok(42));
        assert_eq!(int64("f", &Value::String("-1".into())), Ok(-1));
        for bad in ["", "+1", "1e3", " 1", "0x10", "99999999999999999999", "-"] {
            assert!(int64("f", &Value::String(bad.into())).is_err(), "{bad:?}");
        }
        assert!(index("f", &Value::String("-1".into())).is_err());
        assert!(int64("f", &serde_json::json!(1.5)).is_err());
    }
}
