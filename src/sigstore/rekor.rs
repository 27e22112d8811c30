//! Offline checks of the Rekor bundle cosign attaches to a signature layer (the annotation
//! `dev.sigstore.cosign/bundle`): the log's signed entry timestamp (SET), and that the logged
//! entry is this very signature, over this very payload, by the key that verified it.
//!
//! A bundle proves nothing by existing. The SET only says "the log holds this body"; the body
//! must then be bound to the layer, or a valid bundle of another signature (CVE-2022-23649,
//! CVE-2026-22703) or a key or certificate inside the body (GHSA-fx35-mq7g-6g98) could stand in.
//! The key that matters is always the policy key that verified the layer.

use crate::encoding::base64::STANDARD as BASE64;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::crypto::keys::PublicKey;
use crate::encoding::json::{self, Fields};

/// The layer annotation holding the bundle.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// The layer annotation holding a keyless signature's Fulcio certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";

/// A Rekor log key the policy trusts, with its log ID (sha256 of its DER SPKI).
#[derive(Clone, Debug)]
pub struct LogKey {
    key: PublicKey,
    pub(crate) log_id: Sha256Digest,
    /// When the log began and stopped signing with this key (Unix seconds), as a trusted
    /// root's `validFor` says; `None` for either end is open.
    pub(crate) valid_for: (Option<i64>, Option<i64>),
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
        Self {
            key,
            log_id,
            valid_for: (None, None),
        }
    }

    /// The key under the log ID a trusted root gives it. Rekor v2 logs (Ed25519 signed notes)
    /// name themselves by their note key ID, not by the hash of their key.
    #[must_use]
    pub fn with_log_id(mut self, log_id: Sha256Digest) -> Self {
        self.log_id = log_id;
        self
    }

    /// The key with the window in which the log signed with it (Unix seconds, either end
    /// open).
    #[must_use]
    pub fn valid_between(mut self, start: Option<i64>, end: Option<i64>) -> Self {
        self.valid_for = (start, end);
        self
    }

    /// Whether the log signed with this key at `time` (Unix seconds).
    pub fn valid_at(&self, time: i64) -> bool {
        crate::encoding::time::within(self.valid_for, time)
    }
}

/// What a verified bundle says about when and where the signature was logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Unix seconds at which the log integrated the entry (absent from Rekor v2 entries).
    pub integrated_time: Option<i64>,
    /// The entry's index in the log.
    pub log_index: i64,
    /// The integrated time, when the log signed it (an inclusion promise verified): the only
    /// time a log entry proves. A time beside a bare inclusion proof proves nothing.
    pub proven_time: Option<i64>,
}

struct BundleDocument {
    signed_entry_timestamp: String,
    payload: BundlePayload,
}

struct BundlePayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    log_id: String,
}

impl BundleDocument {
    /// cosign's bundle annotation, every field known (an unknown one is refused).
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&["SignedEntryTimestamp", "Payload"])?;
        Ok(Self {
            signed_entry_timestamp: f.string("SignedEntryTimestamp")?,
            payload: f.req("Payload", |payload| {
                let p =
                    Fields::of(payload)?.only(&["body", "integratedTime", "logIndex", "logID"])?;
                Ok(BundlePayload {
                    body: p.string("body")?,
                    integrated_time: p.req("integratedTime", json::signed)?,
                    log_index: p.req("logIndex", json::signed)?,
                    log_id: p.string("logID")?,
                })
            })?,
        })
    }
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
    /// The bundle's kind and version of the entry differ from its body's.
    KindMismatch,
    /// The entry's time is outside the window in which the log signed with its key.
    OutsideValidity {
        /// The entry's integrated time.
        time: i64,
    },
    /// The inclusion proof or its checkpoint does not hold.
    Proof(crate::sigstore::tlog::TlogError),
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
            Self::OtherKey => f.write_str("the Rekor entry logs another public key or certificate"),
            Self::KindMismatch => f.write_str(
                "the log entry's kind and version differ from those of its canonicalized body",
            ),
            Self::OutsideValidity { time } => write!(
                f,
                "the log entry's integrated time {time} is outside the validity of the log's key"
            ),
            Self::Proof(err) => write!(f, "the log entry's inclusion proof: {err}"),
        }
    }
}

impl core::error::Error for RekorError {}

fn malformed(what: &'static str) -> RekorError {
    RekorError::Malformed { what, detail: None }
}

/// Checks the Rekor bundle annotation of one layer.
///
/// `signature` is the layer's decoded signature, `logged` what it signed (a `.sig` layer's
/// payload, by its sha256; an `.att` layer's envelope), and `signer` the policy key or
/// certificate that verified it.
///
/// # Errors
/// A [`RekorError`] saying which check failed.
pub fn verify_bundle(
    bundle: &str,
    log_keys: &[LogKey],
    logged: Logged<'_>,
    signature: &[u8],
    signer: Signer<'_>,
) -> Result<LogEntry, RekorError> {
    if bundle.len() > crate::limits::MAX_REKOR_BUNDLE_BYTES {
        return Err(RekorError::TooLarge {
            bytes: bundle.len(),
        });
    }
    let document = json::parse(bundle.as_bytes())
        .and_then(|value| BundleDocument::read(&value))
        .map_err(|msg| RekorError::Malformed {
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
    check_body(&body, None, logged, signature, signer)?;
    Ok(LogEntry {
        integrated_time: Some(entry.integrated_time),
        log_index: entry.log_index,
        proven_time: Some(entry.integrated_time),
    })
}

/// `{"body":…,"integratedTime":…,"logID":…,"logIndex":…}`: sorted keys, no spaces, which is
/// what the log signed.
fn canonical_entry(entry: &BundlePayload) -> String {
    canonical_set_payload(
        &entry.body,
        entry.integrated_time,
        &entry.log_id,
        entry.log_index,
    )
}

/// What a log's SignedEntryTimestamp signs: RFC 8785 canonical JSON of these four fields
/// (sorted keys, no spaces; the values here need no escaping beyond serde_json's).
fn canonical_set_payload(body: &str, integrated_time: i64, log_id: &str, log_index: i64) -> String {
    serde_json::json!({
        "body": body,
        "integratedTime": integrated_time,
        "logID": log_id,
        "logIndex": log_index,
    })
    .to_string()
}

/// The log keys of a Sigstore `trusted_root.json`: its `tlogs[].publicKey.rawBytes`, each
/// with its `validFor` window.
///
/// # Errors
/// A sentence naming the entry at fault.
pub fn trusted_root_log_keys(trusted_root: &serde_json::Value) -> Result<Vec<LogKey>, String> {
    trusted_root_keys(trusted_root, "tlogs")
}

/// The certificate-transparency log keys of a Sigstore `trusted_root.json` (`ctlogs`), each
/// with its `validFor` window; none when the root lists none.
///
/// # Errors
/// A sentence naming the entry at fault.
pub fn trusted_root_ct_logs(trusted_root: &serde_json::Value) -> Result<Vec<LogKey>, String> {
    if trusted_root.get("ctlogs").is_none() {
        return Ok(Vec::new());
    }
    trusted_root_keys(trusted_root, "ctlogs")
}

fn trusted_root_keys(
    trusted_root: &serde_json::Value,
    section: &str,
) -> Result<Vec<LogKey>, String> {
    let tlogs = trusted_root
        .get(section)
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("the trusted root has no {section} list"))?;
    tlogs
        .iter()
        .enumerate()
        .map(|(index, tlog)| {
            let raw = tlog
                .pointer("/publicKey/rawBytes")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("{section}[{index}] has no publicKey.rawBytes"))?;
            let mut der = BASE64
                .decode(raw)
                .map_err(|_| format!("{section}[{index}].publicKey.rawBytes is not base64"))?;
            if tlog
                .pointer("/publicKey/keyDetails")
                .and_then(serde_json::Value::as_str)
                == Some("PKCS1_RSA_PKCS1V5")
            {
                // A bare PKCS#1 key: wrapped as the SubjectPublicKeyInfo every other key is.
                der = crate::crypto::rsa::spki_of_pkcs1(&der);
            }
            let key = PublicKey::from_spki_der(&der, crate::crypto::options::KeyOptions::default())
                .map_err(|msg| format!("{section}[{index}].publicKey: {msg}"))?;
            let (start, end) = crate::encoding::time::valid_for(
                tlog,
                "/publicKey/validFor",
                &format!("{section}[{index}].publicKey.validFor"),
            )?;
            // A log key with no start would be trusted for all of the past.
            if start.is_none() {
                return Err(format!(
                    "{section}[{index}].publicKey.validFor has no start"
                ));
            }
            let mut log = LogKey::new(key).valid_between(start, end);
            if let Some(id) = tlog.pointer("/logId/keyId") {
                let id: [u8; 32] = id
                    .as_str()
                    .and_then(|id| BASE64.decode(id).ok())
                    .and_then(|id| id.try_into().ok())
                    .ok_or_else(|| format!("{section}[{index}].logId.keyId is not 32 bytes"))?;
                log = log.with_log_id(Sha256Digest::from_bytes(id));
            }
            Ok(log)
        })
        .collect()
}

/// What a log entry must have logged to vouch for a signature.
#[derive(Clone, Copy, Debug)]
pub enum Logged<'a> {
    /// A signature over an artifact with this sha256 (`hashedrekord`, `rekord`).
    Artifact {
        /// The artifact's digest.
        sha256: &'a Sha256Digest,
    },
    /// A DSSE envelope with this payload type and exact payload (`dsse` 0.0.1, `intoto`
    /// 0.0.2, and Rekor v2's `hashedrekord` 0.0.2 over the envelope's PAE).
    Envelope {
        /// The envelope's payload type.
        payload_type: &'a str,
        /// The envelope's payload bytes.
        payload: &'a [u8],
    },
}

/// Who made the signature a log entry must record: a policy key, or (keyless) the leaf
/// certificate the signature verified under.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// A policy key.
    Key(&'a PublicKey),
    /// A certificate, as DER.
    Certificate(&'a [u8]),
}

fn text<'v>(body: &'v serde_json::Value, pointer: &str) -> Option<&'v str> {
    body.pointer(pointer).and_then(serde_json::Value::as_str)
}

fn base64_at(body: &serde_json::Value, pointer: &str) -> Option<Vec<u8>> {
    text(body, pointer).and_then(|e| BASE64.decode(e).ok())
}

impl Signer<'_> {
    /// Whether `encoded` (base64 of a PEM public key or certificate, as Rekor v1 records a
    /// verifier) is this signer. Another key, a certificate for a key, or anything unreadable
    /// is not.
    fn is_pem(&self, encoded: Option<&str>) -> bool {
        let Some((label, found)) = encoded
            .and_then(|e| BASE64.decode(e).ok())
            .and_then(|pem| String::from_utf8(pem).ok())
            .and_then(|pem| crate::encoding::der::pem(&pem))
        else {
            return false;
        };
        match self {
            Self::Key(key) => label == "PUBLIC KEY" && found == key.spki_der(),
            Self::Certificate(der) => label == "CERTIFICATE" && found == *der,
        }
    }

    /// Whether Rekor v2's `verifier` object (raw DER, base64) is this signer.
    fn is_verifier(&self, verifier: Option<&serde_json::Value>) -> bool {
        let Some(verifier) = verifier else {
            return false;
        };
        match self {
            Self::Key(key) => {
                base64_at(verifier, "/publicKey/rawBytes").is_some_and(|der| der == key.spki_der())
            }
            Self::Certificate(der) => {
                base64_at(verifier, "/x509Certificate/rawBytes").is_some_and(|found| found == *der)
            }
        }
    }
}

/// Checks that a log entry's canonicalized body records exactly this signature, over this
/// artifact or payload, by `signer` (the anti-CVE-2022-36056 binding). With `kind`, the body
/// must also be of that kind and version (what the bundle says it is).
///
/// # Errors
/// The [`RekorError`] naming what differs.
pub fn check_body(
    body: &[u8],
    kind: Option<(&str, &str)>,
    logged: Logged<'_>,
    signature: &[u8],
    signer: Signer<'_>,
) -> Result<(), RekorError> {
    let body = json::parse(body).map_err(|msg| RekorError::Malformed {
        what: "the Rekor entry body is malformed",
        detail: Some(msg),
    })?;
    let body_kind = text(&body, "/kind").unwrap_or_default();
    let body_version = text(&body, "/apiVersion").unwrap_or_default();
    if let Some((kind, version)) = kind
        && (kind != body_kind || version != body_version)
    {
        return Err(RekorError::KindMismatch);
    }
    let sha256_is = |pointer: &str, expected: &Sha256Digest| {
        text(&body, &format!("{pointer}/algorithm")) == Some("sha256")
            && text(&body, &format!("{pointer}/value")) == Some(expected.hex().as_str())
    };
    let same_signature = |encoded: Option<&str>| {
        encoded.and_then(|e| BASE64.decode(e).ok()).as_deref() == Some(signature)
    };
    match (body_kind, logged) {
        ("hashedrekord", _) if body_version == "0.0.2" => {
            // Rekor v2: the digest of what was signed (the artifact, or the envelope's PAE),
            // the signature, and the verifier as raw DER.
            let spec = body
                .pointer("/spec/hashedRekordV002")
                .ok_or_else(|| malformed("the Rekor v2 entry has no hashedRekordV002"))?;
            let signed = match logged {
                Logged::Artifact { sha256 } => *sha256,
                Logged::Envelope {
                    payload_type,
                    payload,
                } => Sha256Digest::of(&crate::sigstore::bundle::pae(payload_type, payload)),
            };
            if text(spec, "/data/algorithm") != Some("SHA2_256")
                || base64_at(spec, "/data/digest").as_deref() != Some(&signed.as_bytes()[..])
            {
                return Err(RekorError::OtherPayload);
            }
            if !same_signature(text(spec, "/signature/content")) {
                return Err(RekorError::OtherSignature);
            }
            if !signer.is_verifier(spec.pointer("/signature/verifier")) {
                return Err(RekorError::OtherKey);
            }
            Ok(())
        }
        ("hashedrekord" | "rekord", Logged::Artifact { sha256 }) => {
            if !sha256_is("/spec/data/hash", sha256) {
                return Err(RekorError::OtherPayload);
            }
            if !same_signature(text(&body, "/spec/signature/content")) {
                return Err(RekorError::OtherSignature);
            }
            if !signer.is_pem(text(&body, "/spec/signature/publicKey/content")) {
                return Err(RekorError::OtherKey);
            }
            Ok(())
        }
        ("dsse", Logged::Envelope { payload, .. }) if body_version == "0.0.1" => {
            if !sha256_is("/spec/payloadHash", &Sha256Digest::of(payload)) {
                return Err(RekorError::OtherPayload);
            }
            let signatures = body
                .pointer("/spec/signatures")
                .and_then(serde_json::Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let ours = signatures
                .iter()
                .find(|s| same_signature(text(s, "/signature")))
                .ok_or(RekorError::OtherSignature)?;
            if !signer.is_pem(text(ours, "/verifier")) {
                return Err(RekorError::OtherKey);
            }
            Ok(())
        }
        ("intoto", Logged::Envelope { payload, .. }) if body_version == "0.0.2" => {
            if !sha256_is("/spec/content/payloadHash", &Sha256Digest::of(payload)) {
                return Err(RekorError::OtherPayload);
            }
            let signatures = body
                .pointer("/spec/content/envelope/signatures")
                .and_then(serde_json::Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            // `sig` is a bytes field holding the envelope's base64 signature: base64 twice.
            let ours = signatures
                .iter()
                .find(|s| {
                    text(s, "/sig")
                        .and_then(|e| BASE64.decode(e).ok())
                        .and_then(|inner| String::from_utf8(inner).ok())
                        .is_some_and(|inner| same_signature(Some(&inner)))
                })
                .ok_or(RekorError::OtherSignature)?;
            if !signer.is_pem(text(ours, "/publicKey")) {
                return Err(RekorError::OtherKey);
            }
            Ok(())
        }
        (kind, _) => Err(RekorError::UnsupportedKind { kind: kind.into() }),
    }
}

/// Checks one transparency-log entry of a Sigstore bundle, offline: the log is one the policy
/// trusts (by log id) and its key was valid at the entry's time; the inclusion promise (SET), if
/// present, verifies over the entry; the inclusion proof, if present, leads from the entry to
/// a checkpoint the log signed; and the body records this very signature by `signer`.
///
/// # Errors
/// The first [`RekorError`] found.
pub fn verify_bundle_entry(
    entry: &crate::sigstore::bundle::TlogEntry,
    log_keys: &[LogKey],
    logged: Logged<'_>,
    signature: &[u8],
    signer: Signer<'_>,
) -> Result<LogEntry, RekorError> {
    let log_id_hex: String = entry.log_id.iter().map(|b| format!("{b:02x}")).collect();
    let log = log_keys
        .iter()
        .find(|log| log.log_id.as_bytes()[..] == entry.log_id[..])
        .ok_or_else(|| RekorError::UntrustedLog {
            log_id: log_id_hex.clone(),
        })?;
    if let Some(time) = entry.integrated_time
        && time != 0
        && !log.valid_at(time)
    {
        return Err(RekorError::OutsideValidity { time });
    }
    let log_index = i64::try_from(entry.log_index)
        .map_err(|_| malformed("the log entry's index is beyond 64 bits"))?;
    let mut authenticated = false;
    let mut proven_time = None;
    if let Some(set) = &entry.signed_entry_timestamp {
        let time = entry
            .integrated_time
            .ok_or_else(|| malformed("the log entry has a promise and no integrated time"))?;
        let canonical = canonical_set_payload(
            &BASE64.encode(&entry.canonicalized_body),
            time,
            &log_id_hex,
            log_index,
        );
        log.key
            .verify(canonical.as_bytes(), set)
            .map_err(|_| RekorError::InvalidSet)?;
        authenticated = true;
        proven_time = Some(time);
    }
    if let Some((proof, checkpoint)) = &entry.inclusion_proof {
        match checkpoint {
            Some(checkpoint) => {
                crate::sigstore::tlog::verify_inclusion(
                    &entry.canonicalized_body,
                    proof,
                    checkpoint,
                    log.log_id.as_bytes(),
                    &log.key,
                )
                .map_err(RekorError::Proof)?;
                authenticated = true;
            }
            // A proof to a root nobody signed proves nothing, but a wrong one is still wrong.
            None => proof
                .verify(&entry.canonicalized_body)
                .map_err(RekorError::Proof)?,
        }
    }
    if !authenticated {
        return Err(malformed(
            "the log entry has neither an inclusion promise nor a signed checkpoint",
        ));
    }
    check_body(
        &entry.canonicalized_body,
        Some((&entry.kind, &entry.version)),
        logged,
        signature,
        signer,
    )?;
    Ok(LogEntry {
        integrated_time: entry.integrated_time,
        log_index,
        proven_time,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{Log, Signer as TestSigner, hashedrekord};

    fn key_of(signer: &TestSigner) -> PublicKey {
        PublicKey::from_pem(&signer.public_pem()).unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// A `.sig` layer's Rekor bundle, checked offline: its SET under a trusted log, and its body
    /// bound to this payload, signature and key; each lie refused for its own reason.
    #[test]
    fn a_rekor_bundle_is_bound_to_its_log_payload_signature_and_key() {
        let (alice, mallory) = (TestSigner::new("alice", 1), TestSigner::new("mallory", 2));
        let log = Log(TestSigner::new("log", 9));
        let logs = [LogKey::new(key_of(&log.0))];
        let payload = b"the payload";
        let signature = alice.sign(payload);
        let encoded = BASE64.encode(&signature);
        let sha256 = Sha256Digest::of(payload);
        let logged = Logged::Artifact { sha256: &sha256 };
        let alice_key = key_of(&alice);
        let check = |bundle: &str, key: &PublicKey| {
            verify_bundle(bundle, &logs, logged, &signature, Signer::Key(key))
        };
        let good = log.bundle(&hashedrekord(payload, &encoded, &alice), 1_700_000_000);
        let entry = check(&good, &alice_key).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(entry.proven_time, Some(1_700_000_000));
        assert_eq!(entry.log_index, 42);

        // Another log signed it.
        let rogue = Log(TestSigner::new("rogue", 8));
        let bundle = rogue.bundle(&hashedrekord(payload, &encoded, &alice), 1_700_000_000);
        assert!(matches!(
            check(&bundle, &alice_key),
            Err(RekorError::UntrustedLog { .. })
        ));
        // The integrated time was changed after the log signed.
        let mut moved: serde_json::Value =
            serde_json::from_str(&good).unwrap_or_else(|e| unreachable!("{e}"));
        moved["Payload"]["integratedTime"] = json!(1_700_000_001);
        assert_eq!(
            check(&moved.to_string(), &alice_key).err(),
            Some(RekorError::InvalidSet)
        );
        // The entry logs another payload, another signature, another key.
        let other = log.bundle(&hashedrekord(b"other", &encoded, &alice), 1);
        assert_eq!(
            check(&other, &alice_key).err(),
            Some(RekorError::OtherPayload)
        );
        let other = log.bundle(&hashedrekord(payload, "c2ln", &alice), 1);
        assert_eq!(
            check(&other, &alice_key).err(),
            Some(RekorError::OtherSignature)
        );
        let other = log.bundle(&hashedrekord(payload, &encoded, &mallory), 1);
        assert_eq!(check(&other, &alice_key).err(), Some(RekorError::OtherKey));
        // The right entry, but the policy key that verified is another.
        assert_eq!(
            check(&good, &key_of(&mallory)).err(),
            Some(RekorError::OtherKey)
        );
        let huge = "x".repeat(crate::limits::MAX_REKOR_BUNDLE_BYTES + 1);
        assert!(matches!(
            check(&huge, &alice_key),
            Err(RekorError::TooLarge { .. })
        ));
    }
}
