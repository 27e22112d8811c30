//! The cosign `.sig` manifest: an OCI image manifest whose layers are signed payloads.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::crypto::digest::{DigestError, Sha256Digest};
use crate::encoding::json::{self, Fields};

/// The media type of a cosign simple-signing layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

struct ManifestDocument {
    schema_version: u32,
    layers: Vec<DescriptorDocument>,
}

struct DescriptorDocument {
    media_type: String,
    size: u64,
    digest: String,
    annotations: BTreeMap<String, String>,
}

impl ManifestDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            schema_version: f.req("schemaVersion", json::unsigned)?,
            layers: f.req("layers", |_| Ok(())).and_then(|()| {
                f.list("layers", |layer| {
                    let d = Fields::of(layer)?;
                    Ok(DescriptorDocument {
                        media_type: d.string("mediaType")?,
                        size: d.req("size", json::unsigned)?,
                        digest: d.string("digest")?,
                        annotations: d.opt("annotations", json::string_map)?.unwrap_or_default(),
                    })
                })
            })?,
        })
    }
}

/// One layer descriptor of the `.sig` manifest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Layer {
    /// The layer's media type.
    pub media_type: String,
    /// The size the descriptor claims, in bytes.
    pub size: u64,
    /// The digest the descriptor claims.
    pub digest: Sha256Digest,
    /// The descriptor's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Why a `.sig` manifest is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not strict JSON of an image manifest's shape.
    Syntax(String),
    /// `schemaVersion` is not 2.
    SchemaVersion(u32),
    /// A layer's digest is not a `sha256:` digest.
    LayerDigest {
        /// The layer's index.
        index: usize,
        /// What is wrong with it.
        problem: DigestError,
    },
}

impl core::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Syntax(msg) => f.write_str(msg),
            Self::SchemaVersion(version) => {
                write!(f, "schemaVersion is {version}; only 2 is an image manifest")
            }
            Self::LayerDigest { index, problem } => {
                write!(f, "layers[{index}].digest: {problem}")
            }
        }
    }
}

impl core::error::Error for ManifestError {}

/// Parses the `.sig` manifest's layers.
///
/// The caller has already checked the manifest's byte size, which bounds the work here.
///
/// # Errors
/// A [`ManifestError`] saying what is malformed.
pub fn parse_layers(bytes: &[u8]) -> Result<Vec<Layer>, ManifestError> {
    let document = json::parse(bytes)
        .and_then(|value| ManifestDocument::read(&value))
        .map_err(ManifestError::Syntax)?;
    if document.schema_version != 2 {
        return Err(ManifestError::SchemaVersion(document.schema_version));
    }
    document
        .layers
        .into_iter()
        .enumerate()
        .map(|(index, layer)| {
            let digest = Sha256Digest::parse(&layer.digest)
                .map_err(|problem| ManifestError::LayerDigest { index, problem })?;
            Ok(Layer {
                media_type: layer.media_type,
                size: layer.size,
                digest,
                annotations: layer.annotations,
            })
        })
        .collect()
}
