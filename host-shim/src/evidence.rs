//! Fetching evidence documents (docs/contracts.md) from image sources: registries and OCI
//! layout directories.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use ocisig::{Evidence, LimitsDocument, Reference, Sha256Digest};

use crate::layout::{self, LayoutSource};
use crate::registry::Registry;

/// An image source named on the command line.
#[derive(Clone, Debug)]
pub enum Source {
    /// `oci:DIR[:TAG]`.
    Layout(LayoutSource),
    /// `host/repo:tag`, `host/repo@sha256:…` or a Docker Hub short name.
    Registry(Reference),
}

impl Source {
    /// Parses a source; `oci:` names a layout, anything else must be an image reference.
    ///
    /// # Errors
    /// When the text is not a valid image reference.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if let Some(layout) = LayoutSource::parse(text) {
            return Ok(Self::Layout(layout));
        }
        Reference::parse(text)
            .map(Self::Registry)
            .map_err(|msg| anyhow::anyhow!("{text:?} is not an image reference: {msg}"))
    }
}

/// The evidence for one image, as a document and with the digest it is about.
#[derive(Clone, Debug)]
pub struct FetchedEvidence {
    /// The evidence JSON document.
    pub document: Vec<u8>,
    /// The image digest we computed (the one the verdict is about).
    pub digest: Sha256Digest,
}

/// Fetches the evidence for `source`.
///
/// `registry` is used for registry references, and may be `None` when the caller knows there
/// are none.
///
/// # Errors
/// When the source cannot be read or fetched, or a fetched byte does not match its digest.
pub fn fetch(
    source: &Source,
    registry: Option<&Registry>,
    limits: &LimitsDocument,
) -> anyhow::Result<FetchedEvidence> {
    match source {
        Source::Layout(layout_source) => {
            let found = layout::read(layout_source, limits)?;
            let image = match &layout_source.tag {
                Some(tag) => format!("oci:{}:{tag}", layout_source.dir.display()),
                None => format!("oci:{}", layout_source.dir.display()),
            };
            Ok(FetchedEvidence {
                document: Evidence::new(image, found.digest, found.signature_manifest, found.blobs)
                    .to_json()
                    .into_bytes(),
                digest: found.digest,
            })
        }
        Source::Registry(reference) => {
            let Some(registry) = registry else {
                bail!("no registry client was set up for {reference}");
            };
            from_registry(registry, reference, limits)
        }
    }
}

fn from_registry(
    registry: &Registry,
    image: &Reference,
    limits: &LimitsDocument,
) -> anyhow::Result<FetchedEvidence> {
    let target = image.digest().or(image.tag()).unwrap_or("latest");
    // The digest verified is the hash of the bytes received, computed exactly once here.
    let manifest = registry
        .manifest(image, target, limits.max_manifest_bytes)?
        .with_context(|| format!("{image}: no such image (the registry answered 404)"))?;
    let digest = manifest.digest;
    let signature_tag = format!("sha256-{}.sig", digest.hex());
    // Only a 404 means "not signed"; every other failure is an error (cosign issue 3133).
    let signatures = registry
        .manifest(image, &signature_tag, limits.max_manifest_bytes)
        .with_context(|| format!("fetching the signatures of {image}@{digest}"))?;
    let mut blobs = BTreeMap::new();
    let signature_manifest = match signatures {
        None => None,
        Some(signatures) => {
            for (blob_digest, size) in payload_descriptors(&signatures.bytes, limits) {
                if blobs.contains_key(&blob_digest) {
                    continue;
                }
                let bytes = registry
                    .blob(image, &blob_digest, size, limits.max_payload_bytes)
                    .with_context(|| format!("fetching a signature payload of {image}@{digest}"))?;
                blobs.insert(blob_digest, bytes);
            }
            Some(
                String::from_utf8(signatures.bytes)
                    .with_context(|| format!("the signature manifest of {image} is not UTF-8"))?,
            )
        }
    };
    Ok(FetchedEvidence {
        document: Evidence::new(image.to_string(), digest, signature_manifest, blobs)
            .to_json()
            .into_bytes(),
        digest,
    })
}

/// The payload blobs worth fetching for a `.sig` manifest: simple-signing layers within the
/// payload size limit, in order, without duplicates.
///
/// Nothing is fetched for a manifest that is malformed or has more layers than the limit: the
/// verifier refuses those with a typed reason, and no per-layer work happens before the count
/// is checked.
pub fn payload_descriptors(manifest: &[u8], limits: &LimitsDocument) -> Vec<(Sha256Digest, u64)> {
    let Ok(layers) = ocisig::manifest::parse_layers(manifest) else {
        return Vec::new();
    };
    if layers.len() > usize::try_from(limits.max_layers).unwrap_or(usize::MAX) {
        return Vec::new();
    }
    let mut wanted: Vec<(Sha256Digest, u64)> = Vec::new();
    for layer in layers {
        if layer.media_type == ocisig::SIMPLE_SIGNING_MEDIA_TYPE
            && layer.size <= limits.max_payload_bytes
            && !wanted.iter().any(|(digest, _)| *digest == layer.digest)
        {
            wanted.push((layer.digest, layer.size));
        }
    }
    wanted
}
