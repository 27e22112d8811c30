//! Fetching evidence documents (docs/contracts.md) from image sources: registries and OCI
//! layout directories.

use anyhow::{Context as _, bail};
use ocisig::evidence::plan::Plan;
use ocisig::{Reference, Sha256Digest};

use crate::layout::{Layout, LayoutSource};
use crate::registry::{Registry, RepositorySource};

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

impl Source {
    /// The image as the evidence names it, which a policy set's globs match: the reference,
    /// or `oci:DIR[:TAG]` for a layout (which no image glob matches).
    pub fn image(&self) -> String {
        match self {
            Self::Layout(layout_source) => match &layout_source.tag {
                Some(tag) => format!("oci:{}:{tag}", layout_source.dir.display()),
                None => format!("oci:{}", layout_source.dir.display()),
            },
            Self::Registry(reference) => reference.to_string(),
        }
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

/// Fetches the evidence for `source`: resolves the image to a digest, then follows the core's
/// fetch plan ([`ocisig::evidence::plan::Plan::gather`]), which says what to fetch (the formats
/// and parts of the policy) and under which caps.
///
/// `registry` is used for registry references, and may be `None` when the caller knows there
/// are none.
///
/// # Errors
/// When the source cannot be read or fetched, or a manifest does not match its digest: the
/// image was not verified.
pub fn fetch(
    source: &Source,
    registry: Option<&Registry>,
    plan: &Plan,
) -> anyhow::Result<FetchedEvidence> {
    // Where the signatures are (a policy's signatureRepository): an OCI layout holds its own.
    let signature_repository = plan.signature_repository()?;
    let evidence = match source {
        Source::Layout(layout_source) => {
            let layout = Layout::open(layout_source)?;
            let image = source.image();
            let digest = layout.digest;
            plan.gather(&layout, image, digest, Some(layout.manifest()))
                .with_context(|| format!("reading the signatures of {digest}"))?
        }
        Source::Registry(reference) => {
            let Some(registry) = registry else {
                bail!("no registry client was set up for {reference}");
            };
            let target = reference.digest().or(reference.tag()).unwrap_or("latest");
            // The digest verified is the hash of the bytes received, computed exactly once here.
            let manifest = registry
                .manifest(reference, target, plan.limits.max_manifest_bytes)?
                .with_context(|| {
                    format!("{reference}: no such image (the registry answered 404)")
                })?;
            let digest = manifest.digest;
            let elsewhere = signature_repository
                .map(Reference::parse)
                .transpose()
                .context("the policy's signatureRepository")?;
            let signatures = elsewhere.as_ref().unwrap_or(reference);
            let repository = RepositorySource {
                registry,
                image: signatures,
            };
            plan.gather(&repository, source.image(), digest, Some(&manifest.bytes))
                .with_context(|| {
                    let from = elsewhere
                        .as_ref()
                        .map(|r| format!(" from {}", r.repository_name()))
                        .unwrap_or_default();
                    format!(
                        "fetching the signatures of {}@{digest}{from}",
                        reference.repository_name()
                    )
                })?
        }
    };
    Ok(FetchedEvidence {
        document: evidence.to_json().into_bytes(),
        digest: evidence.digest(),
    })
}
