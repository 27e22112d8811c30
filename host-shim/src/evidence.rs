//! Fetching evidence documents (docs/contracts.md) from image sources: registries and OCI
//! layout directories.

use anyhow::{Context as _, bail};
use ocisig::evidence::plan::FetchError;
use ocisig::{Evidence, LimitsDocument, Reference, Sha256Digest};

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

/// Which signature formats to fetch: only those the policy accepts (its `formats`), so that a
/// policy that reads one format costs no requests for the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formats {
    /// The `.sig` tag and its payloads.
    pub simplesigning: bool,
    /// The referrers and their Sigstore bundles (signatures and attestations).
    pub bundles: bool,
    /// The `.att` tag and its envelopes (legacy attestations).
    pub attestations: bool,
}

impl Formats {
    /// Every format: evidence any policy can be verified against (`ocisig fetch`).
    pub const BOTH: Self = Self {
        simplesigning: true,
        bundles: true,
        attestations: true,
    };

    /// What `policy` reads: the formats it accepts, the `.sig` tag only for signature rules,
    /// and the `.att` tag only for attestation rules.
    pub fn of(policy: &ocisig::Policy) -> Self {
        let legacy = policy.accepts(ocisig::Format::Simplesigning);
        Self {
            simplesigning: legacy && policy.has_signature_rules(),
            bundles: policy.accepts(ocisig::Format::Bundle),
            attestations: legacy && !policy.attestations().is_empty(),
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
/// fetch plan ([`ocisig::evidence::plan::gather`]).
///
/// `registry` is used for registry references, and may be `None` when the caller knows there
/// are none.
///
/// # Errors
/// When the source cannot be read or fetched, or a manifest does not match its digest: the
/// image was not verified.
///
/// With `platforms`, an image index's own bytes and the signatures of every manifest it lists
/// are fetched too (for a policy with `verifyPlatforms`).
pub fn fetch(
    source: &Source,
    registry: Option<&Registry>,
    limits: &LimitsDocument,
    platforms: bool,
    formats: Formats,
) -> anyhow::Result<FetchedEvidence> {
    let evidence = match source {
        Source::Layout(layout_source) => {
            let layout = Layout::open(layout_source)?;
            let image = match &layout_source.tag {
                Some(tag) => format!("oci:{}:{tag}", layout_source.dir.display()),
                None => format!("oci:{}", layout_source.dir.display()),
            };
            let digest = layout.digest;
            let evidence = gather(&layout, image, digest, limits, formats)
                .with_context(|| format!("reading the signatures of {digest}"))?;
            if platforms {
                with_platforms(evidence, &layout, layout.manifest(), limits)?
            } else {
                evidence
            }
        }
        Source::Registry(reference) => {
            let Some(registry) = registry else {
                bail!("no registry client was set up for {reference}");
            };
            from_registry(registry, reference, limits, platforms, formats)?
        }
    };
    Ok(FetchedEvidence {
        document: evidence.to_json().into_bytes(),
        digest: evidence.digest(),
    })
}

/// Adds the image manifest and the evidence of every manifest it lists (when it is an index).
fn with_platforms(
    evidence: Evidence,
    source: &dyn ocisig::evidence::plan::Source,
    image_manifest: &[u8],
    limits: &LimitsDocument,
) -> anyhow::Result<Evidence> {
    let platforms =
        ocisig::evidence::plan::gather_platforms(source, &evidence, image_manifest, limits)
            .context("fetching the signatures of the index's manifests")?;
    let text =
        String::from_utf8(image_manifest.to_vec()).context("the image manifest is not UTF-8")?;
    Ok(evidence.with_platforms(text, platforms))
}

fn from_registry(
    registry: &Registry,
    image: &Reference,
    limits: &LimitsDocument,
    platforms: bool,
    formats: Formats,
) -> anyhow::Result<Evidence> {
    let target = image.digest().or(image.tag()).unwrap_or("latest");
    // The digest verified is the hash of the bytes received, computed exactly once here.
    let manifest = registry
        .manifest(image, target, limits.max_manifest_bytes)?
        .with_context(|| format!("{image}: no such image (the registry answered 404)"))?;
    let digest = manifest.digest;
    let repository = RepositorySource { registry, image };
    let evidence =
        gather(&repository, image.to_string(), digest, limits, formats).with_context(|| {
            format!(
                "fetching the signatures of {}@{digest}",
                image.repository_name()
            )
        })?;
    if platforms {
        with_platforms(evidence, &repository, &manifest.bytes, limits)
    } else {
        Ok(evidence)
    }
}

/// The core's plan for one image ([`ocisig::evidence::plan::gather_signatures`] and
/// [`ocisig::evidence::plan::gather_bundles`]), for the formats wanted. The two halves share nothing
/// until they are put together, so they are fetched at once: the `.sig` tag and its payloads on
/// this thread, the referrers and their bundles on another.
fn gather<S: ocisig::evidence::plan::Source + Sync>(
    source: &S,
    image: String,
    digest: Sha256Digest,
    limits: &LimitsDocument,
    formats: Formats,
) -> Result<Evidence, FetchError> {
    let (signatures, bundles, attestations) = std::thread::scope(|scope| {
        let bundles = formats.bundles.then(|| {
            scope.spawn(|| {
                let mut budget = ocisig::limits::MAX_REFERRERS;
                ocisig::evidence::plan::gather_bundles(source, &digest, limits, &mut budget)
            })
        });
        let signatures = if formats.simplesigning {
            let mut budget = ocisig::limits::CEILING_MAX_LAYERS as usize;
            ocisig::evidence::plan::gather_signatures(source, &image, &digest, limits, &mut budget)
        } else {
            Ok(ocisig::evidence::plan::Signatures::default())
        };
        let attestations = if formats.attestations {
            let mut budget = ocisig::limits::CEILING_MAX_LAYERS as usize;
            ocisig::evidence::plan::gather_attestations(source, &digest, limits, &mut budget)
                .map(Some)
        } else {
            Ok(None)
        };
        let bundles = match bundles {
            Some(fetching) => fetching.join().unwrap_or_else(|_| {
                Err(FetchError::Transport {
                    what: format!("the referrers of {digest}"),
                    detail: "the fetching thread panicked".into(),
                })
            }),
            None => Ok(ocisig::evidence::plan::Bundles::default()),
        };
        (signatures, bundles, attestations)
    });
    let evidence = ocisig::evidence::plan::assemble(image, digest, signatures?, bundles?);
    Ok(match attestations? {
        Some(attestations) => evidence.with_gathered_attestations(attestations),
        None => evidence,
    })
}
