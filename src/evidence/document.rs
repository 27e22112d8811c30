//! The evidence: what the host fetched for one image, handed over as one JSON document.

use crate::encoding::base64::STANDARD as BASE64;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use serde::Serialize;

use crate::crypto::digest::Sha256Digest;
use crate::encoding::json::{self, Fields};
use crate::limits;

/// Why an evidence document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The document is larger than [`limits::MAX_EVIDENCE_BYTES`].
    TooLarge {
        /// Its size in bytes.
        bytes: usize,
    },
    /// It carries more than [`limits::MAX_EVIDENCE_BLOBS`] blobs.
    TooManyBlobs {
        /// How many.
        count: usize,
    },
    /// The document is not strict JSON of the evidence shape.
    Syntax(String),
    /// A field is invalid.
    Invalid {
        /// The field at fault (`digest`, `blobs["sha256:…"]`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl core::fmt::Display for EvidenceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge { bytes } => write!(
                f,
                "invalid evidence: the document is {bytes} bytes; the most accepted is {}",
                limits::MAX_EVIDENCE_BYTES
            ),
            Self::TooManyBlobs { count } => write!(
                f,
                "invalid evidence: blobs: {count} blobs; the most accepted is {}",
                limits::MAX_EVIDENCE_BLOBS
            ),
            Self::Syntax(msg) => write!(f, "invalid evidence: {msg}"),
            Self::Invalid { field, problem } => write!(f, "invalid evidence: {field}: {problem}"),
        }
    }
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> EvidenceError {
    EvidenceError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

impl core::error::Error for EvidenceError {}

struct EvidenceDocument {
    image: String,
    digest: String,
    signature_manifest: Option<String>,
    blobs: BTreeMap<String, String>,
    image_manifest: Option<String>,
    platforms: BTreeMap<String, PlatformDocument>,
    referrers: Vec<String>,
    attestation_manifest: Option<String>,
}

impl EvidenceDocument {
    /// Reads the document from a strictly parsed value, field by field (unknown fields
    /// refused at every level).
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&[
            "image",
            "digest",
            "signatureManifest",
            "blobs",
            "imageManifest",
            "platforms",
            "referrers",
            "attestationManifest",
        ])?;
        Ok(Self {
            image: f.string("image")?,
            digest: f.string("digest")?,
            signature_manifest: f.opt_string("signatureManifest")?,
            blobs: f.opt("blobs", json::string_map)?.unwrap_or_default(),
            image_manifest: f.opt_string("imageManifest")?,
            platforms: f
                .opt("platforms", |v| {
                    let serde_json::Value::Object(map) = v else {
                        return Err(format!("expected an object, found {v}"));
                    };
                    map.iter()
                        .map(|(name, platform)| {
                            PlatformDocument::read(platform)
                                .map(|p| (name.clone(), p))
                                .map_err(|e| format!("{name}: {e}"))
                        })
                        .collect()
                })?
                .unwrap_or_default(),
            referrers: f.list("referrers", json::string)?,
            attestation_manifest: f.opt_string("attestationManifest")?,
        })
    }
}

impl PlatformDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?.only(&["blobs", "signatureManifest", "referrers"])?;
        Ok(Self {
            blobs: f.opt("blobs", json::string_map)?.unwrap_or_default(),
            signature_manifest: f.opt_string("signatureManifest")?,
            referrers: f.list("referrers", json::string)?,
        })
    }
}

/// One manifest an index lists: its signatures, as for the image itself.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlatformDocument {
    #[serde(default)]
    blobs: BTreeMap<String, String>,
    #[serde(default)]
    signature_manifest: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    referrers: Vec<String>,
}

/// The document [`Evidence::to_json`] writes; fields in the order `serde_json` sorts them.
/// `imageManifest` and `platforms` only when there are any, so that evidence without them is
/// written exactly as before they existed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvidenceDocumentOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_manifest: Option<&'a str>,
    blobs: BTreeMap<String, String>,
    digest: String,
    image: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_manifest: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    platforms: BTreeMap<String, PlatformDocument>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    referrers: &'a [String],
    signature_manifest: Option<&'a str>,
}

fn encode_blobs(blobs: &BTreeMap<Sha256Digest, Vec<u8>>) -> BTreeMap<String, String> {
    blobs
        .iter()
        .map(|(digest, bytes)| (digest.to_string(), BASE64.encode(bytes)))
        .collect()
}

fn decode_blobs(
    field: &str,
    encoded: &BTreeMap<String, String>,
) -> Result<BTreeMap<Sha256Digest, Vec<u8>>, EvidenceError> {
    let mut blobs = BTreeMap::new();
    for (name, text) in encoded {
        let blob_digest =
            Sha256Digest::parse(name).map_err(|msg| invalid(field, format!("key {msg}")))?;
        let bytes = BASE64.decode(text).map_err(|err| {
            invalid(
                format!("{field}[{name:?}]"),
                format!("not standard padded base64: {err}"),
            )
        })?;
        blobs.insert(blob_digest, bytes);
    }
    Ok(blobs)
}

/// Checked evidence for one image.
#[derive(Clone, Debug)]
pub struct Evidence {
    image: String,
    digest: Sha256Digest,
    signature_manifest: Option<String>,
    blobs: BTreeMap<Sha256Digest, Vec<u8>>,
    payloads_rebuilt: bool,
    /// The image manifest's exact bytes, when the host sent them (for `verifyPlatforms`).
    image_manifest: Option<String>,
    /// The manifests an index lists, as a host that cannot hand over the exact index bytes
    /// says (Kubewarden's host, whose word the digest already is). Never read from JSON.
    listed_platforms: Option<Vec<Sha256Digest>>,
    /// The signatures of each manifest the index lists, by digest.
    platforms: BTreeMap<Sha256Digest, Evidence>,
    /// The exact bytes of each referrer manifest that may carry a Sigstore bundle.
    referrers: Vec<String>,
    /// The `.att` manifest (legacy attestations), when fetched.
    attestation_manifest: Option<String>,
}

impl Evidence {
    /// Parses an evidence document.
    ///
    /// Blob contents are only decoded here; whether they are what the manifest names is checked
    /// during verification, layer by layer.
    ///
    /// # Errors
    /// [`EvidenceError::TooLarge`] past a ceiling, [`EvidenceError::Invalid`] naming the field.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EvidenceError> {
        if bytes.len() > limits::MAX_EVIDENCE_BYTES {
            return Err(EvidenceError::TooLarge { bytes: bytes.len() });
        }
        let document = json::parse(bytes)
            .and_then(|value| EvidenceDocument::read(&value))
            .map_err(EvidenceError::Syntax)?;
        if document.image.is_empty() {
            return Err(invalid("image", "must not be empty"));
        }
        let digest = Sha256Digest::parse(&document.digest)
            .map_err(|err| invalid("digest", err.to_string()))?;
        let blob_count = document.blobs.len().saturating_add(
            document
                .platforms
                .values()
                .map(|p| p.blobs.len())
                .fold(0, usize::saturating_add),
        );
        if blob_count > limits::MAX_EVIDENCE_BLOBS {
            return Err(EvidenceError::TooManyBlobs { count: blob_count });
        }
        let referrer_count = document.referrers.len().saturating_add(
            document
                .platforms
                .values()
                .map(|p| p.referrers.len())
                .fold(0, usize::saturating_add),
        );
        if referrer_count > limits::MAX_REFERRERS {
            return Err(invalid(
                "referrers",
                format!(
                    "{referrer_count} referrer manifests; the most accepted is {}",
                    limits::MAX_REFERRERS
                ),
            ));
        }
        if document.platforms.len() > limits::MAX_PLATFORMS {
            return Err(invalid(
                "platforms",
                format!(
                    "{} manifests; the most accepted is {}",
                    document.platforms.len(),
                    limits::MAX_PLATFORMS
                ),
            ));
        }
        let blobs = decode_blobs("blobs", &document.blobs)?;
        let mut platforms = BTreeMap::new();
        for (name, platform) in document.platforms {
            let platform_digest = Sha256Digest::parse(&name)
                .map_err(|msg| invalid("platforms", format!("key {msg}")))?;
            let platform_blobs =
                decode_blobs(&format!("platforms[{name:?}].blobs"), &platform.blobs)?;
            platforms.insert(
                platform_digest,
                Self::new(
                    document.image.clone(),
                    platform_digest,
                    platform.signature_manifest,
                    platform_blobs,
                )
                .with_referrers(platform.referrers),
            );
        }
        Ok(Self {
            image: document.image,
            digest,
            signature_manifest: document.signature_manifest,
            blobs,
            payloads_rebuilt: false,
            image_manifest: document.image_manifest,
            listed_platforms: None,
            platforms,
            referrers: document.referrers,
            attestation_manifest: document.attestation_manifest,
        })
    }

    /// Builds evidence from parts already in hand (hosts that fetched them).
    pub fn new(
        image: String,
        digest: Sha256Digest,
        signature_manifest: Option<String>,
        blobs: BTreeMap<Sha256Digest, Vec<u8>>,
    ) -> Self {
        Self {
            image,
            digest,
            signature_manifest,
            blobs,
            payloads_rebuilt: false,
            image_manifest: None,
            listed_platforms: None,
            platforms: BTreeMap::new(),
            referrers: Vec::new(),
            attestation_manifest: None,
        }
    }

    /// Adds the `.att` manifest (legacy attestations) and the envelope blobs it names.
    #[must_use]
    pub fn with_attestations(
        mut self,
        manifest: Option<String>,
        blobs: BTreeMap<Sha256Digest, Vec<u8>>,
    ) -> Self {
        self.attestation_manifest = manifest;
        self.blobs.extend(blobs);
        self
    }

    /// The `.att` manifest text, if there is one.
    pub fn attestation_manifest(&self) -> Option<&str> {
        self.attestation_manifest.as_deref()
    }

    /// Adds the exact bytes of the referrer manifests that may carry Sigstore bundles (their
    /// bundle blobs go with the other blobs).
    #[must_use]
    pub fn with_referrers(mut self, referrers: Vec<String>) -> Self {
        self.referrers = referrers;
        self
    }

    /// Adds blobs (the bundles of referrers, once fetched).
    #[must_use]
    pub fn with_blobs(mut self, blobs: BTreeMap<Sha256Digest, Vec<u8>>) -> Self {
        self.blobs.extend(blobs);
        self
    }

    /// The referrer manifests, as the host fetched them.
    pub fn referrers(&self) -> &[String] {
        &self.referrers
    }

    /// Adds the image manifest's exact bytes and the evidence of the manifests it lists (each
    /// built with [`Evidence::new`] for its own digest), for `verifyPlatforms`.
    #[must_use]
    pub fn with_platforms(mut self, image_manifest: String, platforms: Vec<Evidence>) -> Self {
        self.image_manifest = Some(image_manifest);
        self.platforms = platforms.into_iter().map(|p| (p.digest, p)).collect();
        self
    }

    /// Adds the evidence of the manifests an index lists when the host can say which manifests
    /// those are but cannot hand over the index's exact bytes (Kubewarden). The list is then
    /// the host's word, as the digest is.
    #[must_use]
    pub fn with_listed_platforms(
        mut self,
        listed: Vec<Sha256Digest>,
        platforms: Vec<Evidence>,
    ) -> Self {
        self.listed_platforms = Some(listed);
        self.platforms = platforms.into_iter().map(|p| (p.digest, p)).collect();
        self
    }

    /// The image manifest's bytes, when the host sent them.
    pub fn image_manifest(&self) -> Option<&str> {
        self.image_manifest.as_deref()
    }

    /// The manifests an index lists, as the host said (see
    /// [`Evidence::with_listed_platforms`]).
    pub fn listed_platforms(&self) -> Option<&[Sha256Digest]> {
        self.listed_platforms.as_deref()
    }

    /// The evidence for one manifest the index lists.
    pub fn platform(&self, digest: &Sha256Digest) -> Option<&Evidence> {
        self.platforms.get(digest)
    }

    /// Every platform evidence, by digest.
    pub fn platforms(&self) -> impl Iterator<Item = &Evidence> {
        self.platforms.values()
    }

    /// Marks the blobs as payloads the host rebuilt rather than fetched (see
    /// [`crate::evidence::rebuild`]), so that a layer without one is `payload_unavailable`.
    #[must_use]
    pub fn with_rebuilt_payloads(mut self) -> Self {
        self.payloads_rebuilt = true;
        self
    }

    /// Whether the blobs were rebuilt rather than fetched.
    pub fn payloads_rebuilt(&self) -> bool {
        self.payloads_rebuilt
    }

    /// The evidence document (`docs/contracts.md`), blobs in standard base64.
    pub fn to_json(&self) -> String {
        let document = EvidenceDocumentOut {
            attestation_manifest: self.attestation_manifest.as_deref(),
            blobs: encode_blobs(&self.blobs),
            digest: self.digest.to_string(),
            image: &self.image,
            image_manifest: self.image_manifest.as_deref(),
            platforms: self
                .platforms
                .iter()
                .map(|(digest, platform)| {
                    (
                        digest.to_string(),
                        PlatformDocument {
                            blobs: encode_blobs(&platform.blobs),
                            signature_manifest: platform.signature_manifest.clone(),
                            referrers: platform.referrers.clone(),
                        },
                    )
                })
                .collect(),
            referrers: &self.referrers,
            signature_manifest: self.signature_manifest.as_deref(),
        };
        // Strings and maps of strings always serialize.
        serde_json::to_string(&document).unwrap_or_default()
    }

    /// The image reference as the user wrote it.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The digest of the image manifest being admitted.
    pub fn digest(&self) -> Sha256Digest {
        self.digest
    }

    /// The `.sig` manifest text, if there is one.
    pub fn signature_manifest(&self) -> Option<&str> {
        self.signature_manifest.as_deref()
    }

    /// How many blobs the evidence holds (its platforms' not counted).
    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    /// The blob the evidence holds under `digest`, unchecked.
    pub fn blob(&self, digest: &Sha256Digest) -> Option<&[u8]> {
        self.blobs.get(digest).map(Vec::as_slice)
    }
}
