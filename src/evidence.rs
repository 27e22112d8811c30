//! The evidence: what the host fetched for one image, handed over as one JSON document.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::limits;
use crate::strict_json;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EvidenceDocument {
    image: String,
    digest: String,
    #[serde(default)]
    signature_manifest: Option<String>,
    #[serde(default)]
    blobs: BTreeMap<String, String>,
}

/// The document [`Evidence::to_json`] writes; fields in the order `serde_json` sorts them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvidenceDocumentOut<'a> {
    blobs: BTreeMap<String, String>,
    digest: String,
    image: &'a str,
    signature_manifest: Option<&'a str>,
}

/// Checked evidence for one image.
#[derive(Clone, Debug)]
pub struct Evidence {
    image: String,
    digest: Sha256Digest,
    signature_manifest: Option<String>,
    blobs: BTreeMap<Sha256Digest, Vec<u8>>,
    payloads_rebuilt: bool,
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
        let document: EvidenceDocument =
            strict_json::from_slice(bytes).map_err(EvidenceError::Syntax)?;
        if document.image.is_empty() {
            return Err(invalid("image", "must not be empty"));
        }
        let digest = Sha256Digest::parse(&document.digest).map_err(|msg| invalid("digest", msg))?;
        if document.blobs.len() > limits::MAX_EVIDENCE_BLOBS {
            return Err(EvidenceError::TooManyBlobs {
                count: document.blobs.len(),
            });
        }
        let mut blobs = BTreeMap::new();
        for (name, encoded) in &document.blobs {
            let blob_digest =
                Sha256Digest::parse(name).map_err(|msg| invalid("blobs", format!("key {msg}")))?;
            let bytes = BASE64.decode(encoded).map_err(|err| {
                invalid(
                    format!("blobs[{name:?}]"),
                    format!("not standard padded base64: {err}"),
                )
            })?;
            blobs.insert(blob_digest, bytes);
        }
        Ok(Self {
            image: document.image,
            digest,
            signature_manifest: document.signature_manifest,
            blobs,
            payloads_rebuilt: false,
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
        }
    }

    /// Marks the blobs as payloads the host rebuilt rather than fetched (see
    /// [`crate::rebuild`]), so that a layer without one is `payload_unavailable`.
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
            blobs: self
                .blobs
                .iter()
                .map(|(digest, bytes)| (digest.to_string(), BASE64.encode(bytes)))
                .collect(),
            digest: self.digest.to_string(),
            image: &self.image,
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

    /// The blob the evidence holds under `digest`, unchecked.
    pub fn blob(&self, digest: &Sha256Digest) -> Option<&[u8]> {
        self.blobs.get(digest).map(Vec::as_slice)
    }
}
