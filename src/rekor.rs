//! Offline checks of the Rekor bundle cosign attaches to a signature layer (the annotation
//! `dev.sigstore.cosign/bundle`): the log's signed entry timestamp (SET), and that the logged
//! entry is this very signature, over this very payload, by the key that verified it.
//!
//! A bundle proves nothing by existing. The SET only says "the log holds this body"; the body
//! must then be bound to the layer, or a valid bundle of another signature (CVE-2022-23649,
//! CVE-2026-22703) or a key or certificate inside the body (GHSA-fx35-mq7g-6g98) could stand in.
//! The key that matters is always the policy key that verified the layer.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::digest::Sha256Digest;
use crate::keys::PublicKey;
use crate::strict_json;

/// The layer annotation holding the bundle.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// A Rekor log key the policy trusts, with its log ID (sha256 of its DER SPKI).
#[derive(Clone, Debug)]
pub struct LogKey {
    key: PublicKey,
    pub(crate) log_id: Sha256Digest,
}

impl LogKey {
    /// The key that signs the log's entry timestamps.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// sha256 of the key's DER SubjectPublicKeyInfo, as Rekor names its log; always derived
    /// from [`LogKey::key`].
    pub fn log_id(&self) -> Sha256Digest {
        self.log_id
    }

    /// Wraps a parsed key.
    pub fn new(key: PublicKey) -> Self {
        let log_id = key.fingerprint();
        Self { key, log_id }
    }
}

/// What a verified bundle says about when and where the signature was logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Unix seconds at which the log integrated the entry.
    pub integrated_time: i64,
    /// The entry's index in the log.
    pub log_index: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleDocument {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: BundlePayload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BundlePayload {
    body: String,
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Deserialize)]
struct EntryBody {
    kind: String,
    spec: EntrySpec,
}

#[derive(Deserialize)]
struct EntrySpec {
    data: EntryData,
    signature: EntrySignature,
}

#[derive(Deserialize)]
struct EntryData {
    hash: EntryHash,
}

#[derive(Deserialize)]
struct EntryHash {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntrySignature {
    content: String,
    public_key: EntryPublicKey,
}

#[derive(Deserialize)]
struct EntryPublicKey {
    content: String,
}

/// Why a layer's Rekor bundle does not vouch for it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RekorError {
    /// Larger than [`crate::limits::MAX_REKOR_BUNDLE_BYTES`].
    TooLarge {
        /// Its size in bytes.
        bytes: usize,
    },
    /// A part is not what the format says.
    Malformed {
        /// Which part, in words ("the Rekor bundle is malformed").
        what: &'static str,
        /// The decoder's words, if any.
        detail: Option<String>,
    },
    /// The bundle names a log whose key the policy does not trust.
    UntrustedLog {
        /// The log id, as the bundle gives it.
        log_id: String,
    },
    /// The SignedEntryTimestamp does not verify with the log's key.
    InvalidSet,
    /// The entry's kind logs no signature.
    UnsupportedKind {
        /// The kind.
        kind: String,
    },
    /// The entry logs another payload.
    OtherPayload,
    /// The entry logs another signature.
    OtherSignature,
    /// The entry logs another public key (or a certificate).
    OtherKey,
}

impl core::fmt::Display for RekorError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge { bytes } => write!(
                f,
                "the Rekor bundle is {bytes} bytes; the limit is {}",
                crate::limits::MAX_REKOR_BUNDLE_BYTES
            ),
            Self::Malformed {
                what,
                detail: Some(detail),
            } => write!(f, "{what}: {detail}"),
            Self::Malformed { what, detail: None } => f.write_str(what),
            Self::UntrustedLog { log_id } => write!(
                f,
                "the Rekor bundle names log {log_id}, which is not a trusted Rekor key"
            ),
            Self::InvalidSet => {
                f.write_str("the Rekor SignedEntryTimestamp does not verify with the log's key")
            }
            Self::UnsupportedKind { kind } => write!(
                f,
                "the Rekor entry is a {kind:?}; only hashedrekord and rekord entries log signatures"
            ),
            Self::OtherPayload => {
                f.write_str("the Rekor entry logs another payload (its hash differs)")
            }
            Self::OtherSignature => f.write_str("the Rekor entry logs another signature"),
            Self::OtherKey => f.write_str("the Rekor entry logs another public key"),
        }
    }
}

impl core::error::Error for RekorError {}

fn malformed(what: &'static str) -> RekorError {
    RekorError::Malformed { what, detail: None }
}

/// Checks the bundle text of one layer.
///
/// `signature` is the layer's decoded signature, `payload` its blob, and `signer` the policy
/// key that verified them.
///
/// # Errors
/// A [`RekorError`] saying which check failed.
pub fn verify_bundle(
    bundle: &str,
    log_keys: &[LogKey],
    payload: &[u8],
    signature: &[u8],
    signer: &PublicKey,
) -> Result<LogEntry, RekorError> {
    if bundle.len() > crate::limits::MAX_REKOR_BUNDLE_BYTES {
        return Err(RekorError::TooLarge {
            bytes: bundle.len(),
        });
    }
    let document: BundleDocument =
        strict_json::from_slice(bundle.as_bytes()).map_err(|msg| RekorError::Malformed {
            what: "the Rekor bundle is malformed",
            detail: Some(msg),
        })?;
    let entry = &document.payload;

    // 1. The SET, by the trusted log key the bundle names.
    let log_id = Sha256Digest::parse(&format!("sha256:{}", entry.log_id))
        .map_err(|_| malformed("the Rekor bundle's logID is not a sha256 hex digest"))?;
    let log = log_keys
        .iter()
        .find(|log| log.log_id == log_id)
        .ok_or_else(|| RekorError::UntrustedLog {
            log_id: entry.log_id.clone(),
        })?;
    let canonical = canonical_entry(entry);
    let set = BASE64
        .decode(&document.signed_entry_timestamp)
        .map_err(|_| malformed("the Rekor SignedEntryTimestamp is not base64"))?;
    log.key
        .verify(canonical.as_bytes(), &set)
        .map_err(|_| RekorError::InvalidSet)?;

    // 2. The logged body is this layer's signature, over this payload, by this key.
    let body = BASE64
        .decode(&entry.body)
        .map_err(|_| malformed("the Rekor entry body is not base64"))?;
    let body: EntryBody = strict_json::from_slice(&body).map_err(|msg| RekorError::Malformed {
        what: "the Rekor entry body is malformed",
        detail: Some(msg),
    })?;
    if body.kind != "hashedrekord" && body.kind != "rekord" {
        return Err(RekorError::UnsupportedKind { kind: body.kind });
    }
    let hash = &body.spec.data.hash;
    if hash.algorithm != "sha256" || hash.value != Sha256Digest::of(payload).hex() {
        return Err(RekorError::OtherPayload);
    }
    let logged_signature = BASE64
        .decode(&body.spec.signature.content)
        .map_err(|_| malformed("the Rekor entry's signature is not base64"))?;
    if logged_signature != signature {
        return Err(RekorError::OtherSignature);
    }
    let logged_key = BASE64
        .decode(&body.spec.signature.public_key.content)
        .ok()
        .and_then(|pem| String::from_utf8(pem).ok())
        .and_then(|pem| PublicKey::from_pem(&pem).ok());
    match logged_key {
        Some(key) if key.spki_der() == signer.spki_der() => {}
        // A certificate or another key: never a substitute for the policy's key.
        _ => return Err(RekorError::OtherKey),
    }
    Ok(LogEntry {
        integrated_time: entry.integrated_time,
        log_index: entry.log_index,
    })
}

/// `{"body":…,"integratedTime":…,"logID":…,"logIndex":…}`: sorted keys, no spaces, which is
/// what the log signed.
fn canonical_entry(entry: &BundlePayload) -> String {
    let canonical = serde_json::json!({
        "body": entry.body,
        "integratedTime": entry.integrated_time,
        "logID": entry.log_id,
        "logIndex": entry.log_index,
    });
    canonical.to_string()
}

/// The log keys of a Sigstore `trusted_root.json`: its `tlogs[].publicKey.rawBytes`.
///
/// # Errors
/// A sentence naming the entry at fault.
pub fn trusted_root_log_keys(trusted_root: &serde_json::Value) -> Result<Vec<PublicKey>, String> {
    let tlogs = trusted_root
        .get("tlogs")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| String::from("the trusted root has no tlogs list"))?;
    tlogs
        .iter()
        .enumerate()
        .map(|(index, tlog)| {
            let raw = tlog
                .pointer("/publicKey/rawBytes")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("tlogs[{index}] has no publicKey.rawBytes"))?;
            let der = BASE64
                .decode(raw)
                .map_err(|_| format!("tlogs[{index}].publicKey.rawBytes is not base64"))?;
            PublicKey::from_spki_der(&der, crate::keys::KeyOptions::default())
                .map_err(|msg| format!("tlogs[{index}].publicKey: {msg}"))
        })
        .collect()
}
