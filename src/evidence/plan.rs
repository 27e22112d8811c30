//! The fetch plan: which manifests and blobs one image's verification needs, the caps that
//! apply before anything is fetched, and what a missing object means.
//!
//! This is the sans-I/O half of fetching. The core decides *what* to fetch and *how to read
//! the answer*; a host implements [`Source`] to do the fetching (the registry client and the
//! OCI layout reader in the `ocisig` binary, Kubewarden's host capabilities in the policy), and
//! [`Plan::gather`] drives it. A [`Plan`] comes from the policies an image is checked under
//! ([`Plan::of`]): only the formats they accept, the `.att` tag only for attestation rules, the
//! platforms only for `verifyPlatforms`, all under one blob budget, so that a host never
//! fetches evidence the verifier would refuse. No adapter builds a signature tag, decides
//! "unsigned", checks a blob or sizes a budget on its own.
//!
//! The rules, written once here:
//! - Only [`FetchError::NotFound`] of the signature manifest means "not signed". Every other
//!   failure (transport, auth, a cap, bytes that are not UTF-8) ends the fetch with an error,
//!   so that "nothing was verified" is never mistaken for "no signatures" (cosign issue 3133).
//! - Nothing is fetched for a signature manifest that is malformed or has more layers than the
//!   policy allows, and only simple-signing layers within the payload cap are fetched: the
//!   verifier refuses the rest with a typed reason, from the manifest alone.
//! - A blob is read no further than one byte past its descriptor's size. Whatever comes back
//!   goes into the evidence as it is, and the verifier checks its size and digest
//!   ([`check_blob`]), so a tampered payload is the same typed denial from every source.
//! - A blob the source does not have ([`FetchError::NotFound`]) is left out: the verifier
//!   reports `payload_missing` for its layer.
//! - Bundles (cosign v3) come from the image's referrers (`gather_bundles`); their absence is
//!   "no bundles", and every other failure ends the fetch as for the `.sig` manifest.
//! - A source that cannot fetch blobs at all ([`FetchError::Unsupported`], Kubewarden) gives
//!   evidence without blobs, marked so; [`crate::evidence::rebuild`] rebuilds the payloads from the
//!   policy.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::crypto::digest::Sha256Digest;
use crate::evidence::document::Evidence;
use crate::oci::manifest::{self, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::policy::compiled::Policy;
use crate::policy::document::{Format, LimitsDocument};
use crate::policy::scope::Scope;
use crate::policy::set::Document;

/// The tag cosign stores an image's signatures under: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &Sha256Digest) -> String {
    format!("sha256-{}.sig", digest.hex())
}

/// The tag cosign stores an image's legacy attestations under: `sha256-<hex>.att`.
pub fn attestation_tag(digest: &Sha256Digest) -> String {
    format!("sha256-{}.att", digest.hex())
}

/// Why a source could not hand over an object. The three kinds mean different things to the
/// plan, so a source must never report one as another.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The source says the object does not exist (a registry's 404, a layout without it). The
    /// only error that may ever mean "not signed".
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// The source cannot fetch this kind of object at all (Kubewarden's host fetches no blobs).
    Unsupported {
        /// What was asked for.
        what: String,
    },
    /// Fetching it would pass a cap of the plan (checked before anything is fetched).
    LimitExceeded {
        /// What was asked for.
        what: String,
        /// Which cap.
        detail: String,
    },
    /// The plan cannot be carried out as asked (the policies that apply disagree on where the
    /// signatures are): nothing was fetched.
    Conflict {
        /// What was asked for.
        what: String,
        /// Why.
        detail: String,
    },
    /// Anything else: transport, auth, TLS, a cap, a protocol error.
    Transport {
        /// What was asked for.
        what: String,
        /// What went wrong, in the source's words.
        detail: String,
    },
}

impl FetchError {
    /// Whether this error says the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

impl core::fmt::Display for FetchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotFound { what } => write!(f, "{what}: not found"),
            Self::Unsupported { what } => write!(f, "{what}: this source cannot fetch it"),
            Self::LimitExceeded { what, detail }
            | Self::Transport { what, detail }
            | Self::Conflict { what, detail } => {
                write!(f, "{what}: {detail}")
            }
        }
    }
}

impl core::error::Error for FetchError {}

/// One image repository's objects, as a host can fetch them. Implementations only fetch: they
/// decide nothing about what a result means.
pub trait Source {
    /// The exact bytes of the manifest that `reference` (a tag or a `sha256:` digest) names in
    /// the image's repository, read no further than `max_bytes`.
    ///
    /// # Errors
    /// [`FetchError::NotFound`] only when the source says the manifest does not exist;
    /// [`FetchError::Transport`] for everything else, including a body over `max_bytes`.
    fn manifest(&self, reference: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError>;

    /// The bytes of the blob `digest`, whose descriptor says it is `size` bytes, read no
    /// further than `size + 1` bytes. The source need not check them: `gather` hands them to
    /// the verifier, which does.
    ///
    /// # Errors
    /// [`FetchError::NotFound`] when the source does not have it, [`FetchError::Unsupported`]
    /// when it cannot fetch blobs at all, [`FetchError::Transport`] otherwise.
    fn blob(&self, digest: &Sha256Digest, size: u64) -> Result<Vec<u8>, FetchError>;

    /// The referrers API's list of the manifests whose subject is `digest`
    /// (`GET /v2/<repo>/referrers/<digest>`), read no further than `max_bytes`. The default is
    /// a source without the API.
    ///
    /// # Errors
    /// [`FetchError::NotFound`] or [`FetchError::Unsupported`] when the source has no referrers
    /// API (a registry's 404, or an answer that is not an image index): the plan then reads the
    /// referrers tag schema's index. [`FetchError::Transport`] for everything else.
    fn referrers(&self, digest: &Sha256Digest, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        let _ = max_bytes;
        Err(FetchError::Unsupported {
            what: format!("the referrers of {digest}"),
        })
    }

    /// Runs two halves of a plan that share nothing. The default runs one after the other; a
    /// source that can fetch concurrently (the registry client) runs them at once.
    fn join(&self, first: &mut (dyn FnMut() + Send), second: &mut (dyn FnMut() + Send)) {
        first();
        second();
    }

    /// Whether a manifest fetched by digest comes as the exact bytes that hash to it. A host that
    /// hands over re-serialized manifests (Kubewarden's) says no, and the plan then does not
    /// insist on the hash: the verifier trusts nothing in a referrer manifest but what its
    /// bundle's signature covers.
    fn exact_manifests(&self) -> bool {
        true
    }
}

/// The payload blobs worth fetching for a `.sig` manifest: simple-signing layers within the
/// payload cap, in order, each digest once. Empty for a manifest that is malformed or has more
/// layers than the policy allows, which the verifier refuses from the manifest alone.
pub fn payload_descriptors(manifest: &[u8], limits: &LimitsDocument) -> Vec<(Sha256Digest, u64)> {
    layer_descriptors(manifest, SIMPLE_SIGNING_MEDIA_TYPE, limits)
}

/// [`payload_descriptors`] for layers of `media_type` (an `.att` manifest's DSSE envelopes).
fn layer_descriptors(
    manifest: &[u8],
    media_type: &str,
    limits: &LimitsDocument,
) -> Vec<(Sha256Digest, u64)> {
    let Ok(layers) = manifest::parse_layers(manifest) else {
        return Vec::new();
    };
    if layers.len() > usize::try_from(limits.max_layers).unwrap_or(usize::MAX) {
        return Vec::new();
    }
    let mut wanted: Vec<(Sha256Digest, u64)> = Vec::new();
    for layer in layers {
        if layer.media_type == media_type
            && layer.size <= limits.max_payload_bytes
            && !wanted.iter().any(|(digest, _)| *digest == layer.digest)
        {
            wanted.push((layer.digest, layer.size));
        }
    }
    wanted
}

/// Why a blob is not the one its descriptor names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobMismatch {
    /// Its length is not the descriptor's size.
    Size {
        /// The blob's length.
        actual: u64,
        /// The descriptor's size.
        expected: u64,
    },
    /// Its sha256 is not the descriptor's digest.
    Digest {
        /// The blob's sha256.
        actual: Sha256Digest,
    },
}

/// The one blob check: exactly `size` bytes that hash to `digest`. The size is compared first,
/// so an oversized blob is never hashed.
///
/// # Errors
/// Which of the two does not hold.
pub fn check_blob(bytes: &[u8], digest: &Sha256Digest, size: u64) -> Result<(), BlobMismatch> {
    let actual = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if actual != size {
        return Err(BlobMismatch::Size {
            actual,
            expected: size,
        });
    }
    let actual = Sha256Digest::of(bytes);
    if actual != *digest {
        return Err(BlobMismatch::Digest { actual });
    }
    Ok(())
}

/// What to fetch for one image: the formats and parts the policies it is checked under can
/// read, and the caps they allow. Everything it fetches together stays within what the verifier
/// accepts ([`crate::limits::MAX_EVIDENCE_BLOBS`] blobs, each blob and manifest within its
/// cap), checked before each part is fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The `.sig` tag and the payloads its layers name.
    pub signatures: bool,
    /// The referrers and their Sigstore bundles (signatures and attestations).
    pub bundles: bool,
    /// The `.att` tag and the envelopes its layers name.
    pub attestations: bool,
    /// For an image index: the image manifest and the evidence of every manifest it lists.
    pub platforms: bool,
    /// The caps (the widest of the policies').
    pub limits: LimitsDocument,
    /// Where the signatures are stored ([`Plan::signature_repository`]).
    pub repository: SignatureRepository,
}

/// Which repository a plan's signatures, attestations and bundles are read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SignatureRepository {
    /// The image's own (the default).
    #[default]
    Image,
    /// Another (`registry/path`): a policy's `signatureRepository`.
    Other(String),
    /// The policies that apply name different repositories: one fetch cannot serve them.
    Conflict {
        /// One repository named (`None`: the image's own).
        first: Option<String>,
        /// Another.
        second: Option<String>,
    },
}

impl Plan {
    /// What `policy` reads: the formats it accepts, the `.sig` tag only for signature rules,
    /// the `.att` tag only for attestation rules, the platforms only for `verifyPlatforms`.
    pub fn of(policy: &Policy) -> Self {
        let legacy = policy.accepts(Format::Simplesigning);
        Self {
            signatures: legacy && policy.has_signature_rules(),
            bundles: policy.accepts(Format::Bundle),
            attestations: legacy && !policy.attestations().is_empty(),
            platforms: policy.verify_platforms(),
            limits: *policy.limits(),
            repository: match policy.signature_repository() {
                Some(repository) => SignatureRepository::Other(repository.into()),
                None => SignatureRepository::Image,
            },
        }
    }

    /// The repository to read the signatures from: `None` for the image's own.
    ///
    /// # Errors
    /// [`FetchError::Conflict`] when the policies that apply name different repositories.
    pub fn signature_repository(&self) -> Result<Option<&str>, FetchError> {
        match &self.repository {
            SignatureRepository::Image => Ok(None),
            SignatureRepository::Other(repository) => Ok(Some(repository)),
            SignatureRepository::Conflict { first, second } => {
                let name = |r: &Option<String>| match r {
                    Some(r) => format!("{r:?}"),
                    None => "the image's own".into(),
                };
                Err(FetchError::Conflict {
                    what: "the signatures' repository".into(),
                    detail: format!(
                        "the rules that apply read signatures from {} and from {}; one \
                         image's signatures are fetched from one repository",
                        name(first),
                        name(second)
                    ),
                })
            }
        }
    }

    /// What any of `policies` reads (an image several rules apply to), under the widest caps.
    pub fn of_all<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Self {
        let mut plans = policies.into_iter().map(Self::of);
        let Some(first) = plans.next() else {
            return Self::everything(&LimitsDocument::default());
        };
        plans.fold(first, |a, b| Self {
            repository: match (a.repository, b.repository) {
                (conflict @ SignatureRepository::Conflict { .. }, _)
                | (_, conflict @ SignatureRepository::Conflict { .. }) => conflict,
                (a, b) if a == b => a,
                (a, b) => {
                    let named = |r: SignatureRepository| match r {
                        SignatureRepository::Other(r) => Some(r),
                        _ => None,
                    };
                    SignatureRepository::Conflict {
                        first: named(a),
                        second: named(b),
                    }
                }
            },
            signatures: a.signatures || b.signatures,
            bundles: a.bundles || b.bundles,
            attestations: a.attestations || b.attestations,
            platforms: a.platforms || b.platforms,
            limits: LimitsDocument {
                max_layers: a.limits.max_layers.max(b.limits.max_layers),
                max_payload_bytes: a.limits.max_payload_bytes.max(b.limits.max_payload_bytes),
                max_manifest_bytes: a.limits.max_manifest_bytes.max(b.limits.max_manifest_bytes),
            },
        })
    }

    /// What `document` reads for `image` (as written, admitted in `scope`): a policy's plan,
    /// or, for a set, what the policies of the rules that apply to it read ([`Plan::of_all`]);
    /// nothing but the digest when no rule with a policy applies (unmatched, or static rules
    /// only).
    pub fn of_document(document: &Document, image: &str, scope: &Scope<'_>) -> Self {
        match document {
            Document::Policy(policy) => Self::of(policy),
            Document::Set(set) => {
                let rules = set.rules_for(image, scope);
                let mut policies = rules.iter().flat_map(|rule| rule.policies()).peekable();
                if policies.peek().is_none() {
                    return Self {
                        signatures: false,
                        bundles: false,
                        attestations: false,
                        platforms: false,
                        limits: LimitsDocument::default(),
                        repository: SignatureRepository::Image,
                    };
                }
                Self::of_all(policies)
            }
        }
    }

    /// Every format, under `limits`: evidence any policy can be verified against (`ocisig
    /// fetch`); the platforms of an index only with [`Plan::with_platforms`].
    pub fn everything(limits: &LimitsDocument) -> Self {
        Self {
            signatures: true,
            bundles: true,
            attestations: true,
            platforms: false,
            limits: *limits,
            repository: SignatureRepository::Image,
        }
    }

    /// This plan, and for an index the evidence of every manifest it lists too (or not).
    #[must_use]
    pub fn with_platforms(self, platforms: bool) -> Self {
        Self { platforms, ..self }
    }

    /// Fetches the evidence for `image` (as the user wrote it) at the resolved `digest`.
    /// `image_manifest` is the image's own manifest, when the host already has its bytes (it
    /// resolved a tag with them); with `platforms` and none given, it is fetched by digest.
    ///
    /// The `.sig` and `.att` halves and the bundle half share nothing and may run at once
    /// ([`Source::join`]): the bundles' share of the budget is [`crate::limits::MAX_REFERRERS`]
    /// blobs, the legacy halves' the rest. The platforms' evidence is fetched after, within what
    /// is left.
    ///
    /// # Errors
    /// The first [`FetchError`] that is not a "not found" the plan allows for: the image has
    /// then not been verified, and the caller must say so rather than report "no signatures".
    pub fn gather<S: Source + Sync + ?Sized>(
        &self,
        source: &S,
        image: String,
        digest: Sha256Digest,
        image_manifest: Option<&[u8]>,
    ) -> Result<Evidence, FetchError> {
        let mut budget = crate::limits::MAX_EVIDENCE_BLOBS;
        let evidence = self.gather_one(source, image, digest, &mut budget, true)?;
        if !self.platforms {
            return Ok(evidence);
        }
        let fetched;
        let manifest = match image_manifest {
            Some(bytes) => bytes,
            None => {
                fetched = source
                    .manifest(&digest.to_string(), crate::limits::MAX_PLATFORM_INDEX_BYTES)?;
                &fetched
            }
        };
        let Ok(Some(listed)) = crate::oci::platforms::listed_manifests(manifest) else {
            // Not an index (the image is its own only manifest), or one the verifier refuses
            // from the manifest alone: nothing more to fetch.
            return Ok(evidence);
        };
        if listed.len() > crate::limits::MAX_PLATFORMS {
            return Ok(evidence);
        }
        let mut platforms: Vec<Evidence> = Vec::with_capacity(listed.len());
        for entry in &listed {
            if platforms.iter().any(|p| p.digest() == entry.digest) {
                continue;
            }
            platforms.push(self.gather_one(
                source,
                evidence.image().into(),
                entry.digest,
                &mut budget,
                false,
            )?);
        }
        Ok(if source.exact_manifests() {
            match String::from_utf8(manifest.to_vec()) {
                Ok(text) => evidence.with_platforms(text, platforms),
                Err(_) => evidence,
            }
        } else {
            // A host that re-serializes manifests hands over its word for the list, as it does
            // for the digest.
            evidence
                .with_listed_platforms(listed.iter().map(|entry| entry.digest).collect(), platforms)
        })
    }

    /// One manifest's evidence (the image's, or one platform's), taking what it fetches from
    /// `budget`: the two halves at once when `concurrently` (and there are two), each with its
    /// own share, else one after the other from one budget.
    fn gather_one<S: Source + Sync + ?Sized>(
        &self,
        source: &S,
        image: String,
        digest: Sha256Digest,
        budget: &mut usize,
        concurrently: bool,
    ) -> Result<Evidence, FetchError> {
        let both = self.bundles && (self.signatures || self.attestations);
        let (legacy, bundles) = if concurrently && both {
            let mut bundle_budget = (*budget).min(crate::limits::MAX_REFERRERS);
            let mut legacy_budget = *budget - bundle_budget;
            let mut legacy = None;
            let mut bundles = None;
            // A source that runs the halves in turn skips the second once the first failed:
            // the image is not verified either way.
            let failed = AtomicBool::new(false);
            source.join(
                &mut || {
                    let half = self.legacy_half(source, &image, &digest, &mut legacy_budget);
                    failed.fetch_or(half.is_err(), Ordering::Relaxed);
                    legacy = Some(half);
                },
                &mut || {
                    if !failed.load(Ordering::Relaxed) {
                        bundles = Some(self.bundle_half(source, &digest, &mut bundle_budget));
                    }
                },
            );
            *budget = legacy_budget + bundle_budget;
            (
                legacy.unwrap_or_else(|| Err(not_run(&digest)))?,
                bundles.unwrap_or_else(|| Err(not_run(&digest)))?,
            )
        } else {
            let legacy = self.legacy_half(source, &image, &digest, budget)?;
            (legacy, self.bundle_half(source, &digest, budget)?)
        };
        let (signatures, attestations) = legacy;
        let evidence = assemble(image, digest, signatures, bundles);
        Ok(match attestations {
            Some(attestations) => {
                evidence.with_attestations(attestations.manifest, attestations.blobs)
            }
            None => evidence,
        })
    }

    /// The `.sig` tag and payloads, then the `.att` tag and envelopes, as the plan asks.
    fn legacy_half<S: Source + ?Sized>(
        &self,
        source: &S,
        image: &str,
        digest: &Sha256Digest,
        budget: &mut usize,
    ) -> Result<(Signatures, Option<Signatures>), FetchError> {
        let signatures = if self.signatures {
            gather_signatures(source, image, digest, &self.limits, budget)?
        } else {
            Signatures::default()
        };
        let attestations = if self.attestations {
            Some(gather_attestations(source, digest, &self.limits, budget)?)
        } else {
            None
        };
        Ok((signatures, attestations))
    }

    /// The referrers and their bundles, as the plan asks.
    fn bundle_half<S: Source + ?Sized>(
        &self,
        source: &S,
        digest: &Sha256Digest,
        budget: &mut usize,
    ) -> Result<Bundles, FetchError> {
        if self.bundles {
            gather_bundles(source, digest, &self.limits, budget)
        } else {
            Ok(Bundles::default())
        }
    }
}

/// A half the source's [`Source::join`] never ran: nothing was verified.
fn not_run(digest: &Sha256Digest) -> FetchError {
    FetchError::Transport {
        what: format!("the signatures of {digest}"),
        detail: "the source did not run every part of the plan".into(),
    }
}

/// What [`gather_signatures`] fetched: the `.sig` manifest and its payloads.
#[derive(Clone, Debug, Default)]
struct Signatures {
    manifest: Option<String>,
    blobs: BTreeMap<Sha256Digest, Vec<u8>>,
    blobs_unsupported: bool,
}

/// What `gather_bundles` fetched: the bundle referrer manifests and their bundles.
#[derive(Clone, Debug, Default)]
struct Bundles {
    referrers: Vec<String>,
    blobs: BTreeMap<Sha256Digest, Vec<u8>>,
    blobs_unsupported: bool,
}

/// Puts the two halves of one image's evidence together.
fn assemble(
    image: String,
    digest: Sha256Digest,
    signatures: Signatures,
    bundles: Bundles,
) -> Evidence {
    let rebuilt = signatures.blobs_unsupported || bundles.blobs_unsupported;
    let evidence = Evidence::new(image, digest, signatures.manifest, signatures.blobs)
        .with_blobs(bundles.blobs)
        .with_referrers(bundles.referrers);
    if rebuilt {
        evidence.with_rebuilt_payloads()
    } else {
        evidence
    }
}

/// The legacy half of the plan: the `.sig` manifest of `digest` and the payloads it names.
/// `image` is the reference as the user wrote it: a payload that cosign wrote without
/// annotations is rebuilt from it and `digest` ([`rebuilt_payload`]) rather than fetched.
///
/// # Errors
/// As [`Plan::gather`].
fn gather_signatures<S: Source + ?Sized>(
    source: &S,
    image: &str,
    digest: &Sha256Digest,
    limits: &LimitsDocument,
    budget: &mut usize,
) -> Result<Signatures, FetchError> {
    gather_tagged(
        source,
        &signature_tag(digest),
        SIMPLE_SIGNING_MEDIA_TYPE,
        limits,
        budget,
        |blob_digest, size| rebuilt_payload(image, digest, blob_digest, size),
    )
}

/// The payload cosign wrote for `image` at `digest` without annotations, when one of the
/// `docker-reference` spellings cosign uses gives exactly `size` bytes that hash to
/// `blob_digest`: then it *is* the blob, and the registry need not be asked for it (one request
/// fewer per image). Anything else (annotations, another spelling) is fetched as before.
pub fn rebuilt_payload(
    image: &str,
    digest: &Sha256Digest,
    blob_digest: &Sha256Digest,
    size: u64,
) -> Option<Vec<u8>> {
    let none = BTreeMap::new();
    crate::evidence::rebuild::docker_reference_forms(image)
        .into_iter()
        .map(|form| crate::evidence::rebuild::cosign_payload(&form, digest, &none))
        .find(|payload| {
            u64::try_from(payload.len()).is_ok_and(|len| len == size)
                && Sha256Digest::of(payload) == *blob_digest
        })
}

/// Legacy attestations, for a policy with attestation rules: the `.att` manifest of `digest`
/// and the DSSE envelopes it names, by the rules of the `.sig` manifest (only "not found"
/// means none; envelopes within the payload cap, each once). Give them to the evidence with
/// [`Evidence::with_attestations`].
///
/// # Errors
/// As [`Plan::gather`].
fn gather_attestations<S: Source + ?Sized>(
    source: &S,
    digest: &Sha256Digest,
    limits: &LimitsDocument,
    budget: &mut usize,
) -> Result<Signatures, FetchError> {
    gather_tagged(
        source,
        &attestation_tag(digest),
        crate::policy::attestation::DSSE_ENVELOPE_MEDIA_TYPE,
        limits,
        budget,
        |_, _| None,
    )
}

/// The manifest under `tag` and its layers of `media_type`, each from `rebuild` when it can
/// give the blob, else fetched.
fn gather_tagged<S: Source + ?Sized>(
    source: &S,
    tag: &str,
    media_type: &str,
    limits: &LimitsDocument,
    budget: &mut usize,
    rebuild: impl Fn(&Sha256Digest, u64) -> Option<Vec<u8>>,
) -> Result<Signatures, FetchError> {
    let manifest = match source.manifest(tag, limits.max_manifest_bytes) {
        Ok(bytes) => bytes,
        Err(FetchError::NotFound { .. }) => return Ok(Signatures::default()),
        Err(err) => return Err(err),
    };
    let manifest = String::from_utf8(manifest).map_err(|_| FetchError::Transport {
        what: tag.into(),
        detail: "the manifest is not UTF-8".into(),
    })?;
    let descriptors = layer_descriptors(manifest.as_bytes(), media_type, limits);
    take(budget, descriptors.len(), tag)?;
    let mut blobs = BTreeMap::new();
    let mut blobs_unsupported = false;
    for (blob_digest, size) in descriptors {
        if let Some(bytes) = rebuild(&blob_digest, size) {
            blobs.insert(blob_digest, bytes);
            continue;
        }
        match source.blob(&blob_digest, size) {
            Ok(bytes) => {
                blobs.insert(blob_digest, bytes);
            }
            Err(FetchError::NotFound { .. }) => {}
            Err(FetchError::Unsupported { .. }) => {
                blobs_unsupported = true;
                break;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(Signatures {
        manifest: Some(manifest),
        blobs,
        blobs_unsupported,
    })
}

/// Takes `count` blobs from `budget`, or fails before any is fetched.
fn take(budget: &mut usize, count: usize, what: &str) -> Result<(), FetchError> {
    *budget = budget
        .checked_sub(count)
        .ok_or_else(|| FetchError::LimitExceeded {
            what: what.into(),
            detail: format!(
                "one evidence document holds at most {} blobs, and this one would hold more",
                crate::limits::MAX_EVIDENCE_BLOBS
            ),
        })?;
    Ok(())
}

/// The bundle half of the plan (cosign v3): the referrers of `digest`, from the referrers API
/// or, where the source has none, the index under the fallback tag `sha256-<hex>`; then each
/// listed manifest that may be a Sigstore bundle referrer, and for each that is one and names
/// `digest` as its subject, its bundle blob (within the bundle size cap).
///
/// - A referrers list longer than [`crate::limits::MAX_REFERRERS`] ends the fetch before any
///   manifest is fetched ([`FetchError::LimitExceeded`]).
/// - No API and no fallback tag (both "not found") means no bundles, never an error.
/// - A listed manifest that is gone is passed over; one that is not a bundle referrer is left
///   out of the evidence; one whose bytes do not hash to its listed digest (from a source that
///   hands over exact bytes) ends the fetch.
/// - A referrer of another subject is kept, without its bundle, so that the verdict says why
///   it does not count.
///
/// # Errors
/// As [`Plan::gather`].
fn gather_bundles<S: Source + ?Sized>(
    source: &S,
    digest: &Sha256Digest,
    limits: &LimitsDocument,
    budget: &mut usize,
) -> Result<Bundles, FetchError> {
    use crate::limits::{MAX_REFERRERS, MAX_REFERRERS_LIST_BYTES, MAX_SIGSTORE_BUNDLE_BYTES};
    use crate::sigstore::referrer::{fallback_tag, parse_bundle_referrer, parse_listing};
    let what = format!("the referrers of {digest}");
    let mut bundles = Bundles::default();
    let listing = match source.referrers(digest, MAX_REFERRERS_LIST_BYTES) {
        Ok(bytes) => bytes,
        Err(FetchError::NotFound { .. } | FetchError::Unsupported { .. }) => {
            match source.manifest(&fallback_tag(digest), MAX_REFERRERS_LIST_BYTES) {
                Ok(bytes) => bytes,
                Err(FetchError::NotFound { .. }) => return Ok(bundles),
                Err(err) => return Err(err),
            }
        }
        Err(err) => return Err(err),
    };
    let listing = parse_listing(&listing).map_err(|msg| FetchError::Transport {
        what: what.clone(),
        detail: format!("the referrers list is not an image index: {msg}"),
    })?;
    if listing.total > MAX_REFERRERS {
        return Err(FetchError::LimitExceeded {
            what,
            detail: format!(
                "the image has {} referrers; the most considered is {MAX_REFERRERS}",
                listing.total
            ),
        });
    }
    for candidate in listing.candidates {
        if candidate.size > limits.max_manifest_bytes {
            continue;
        }
        let reference = candidate.digest.to_string();
        let manifest = match source.manifest(&reference, limits.max_manifest_bytes) {
            Ok(bytes) => bytes,
            Err(FetchError::NotFound { .. }) => continue,
            Err(err) => return Err(err),
        };
        if source.exact_manifests() && Sha256Digest::of(&manifest) != candidate.digest {
            return Err(FetchError::Transport {
                what: reference,
                detail: "the manifest fetched by this digest hashes to another".into(),
            });
        }
        let Ok(referrer) = parse_bundle_referrer(&manifest) else {
            continue;
        };
        let Ok(text) = String::from_utf8(manifest) else {
            continue;
        };
        let wanted = referrer.subject == *digest
            && usize::try_from(referrer.size).is_ok_and(|size| size <= MAX_SIGSTORE_BUNDLE_BYTES)
            && !bundles.blobs.contains_key(&referrer.digest);
        if wanted && !bundles.blobs_unsupported {
            take(budget, 1, &reference)?;
            match source.blob(&referrer.digest, referrer.size) {
                Ok(bytes) => {
                    bundles.blobs.insert(referrer.digest, bytes);
                }
                Err(FetchError::NotFound { .. }) => {}
                Err(FetchError::Unsupported { .. }) => bundles.blobs_unsupported = true,
                Err(err) => return Err(err),
            }
        }
        bundles.referrers.push(text);
    }
    Ok(bundles)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::limits;
    use std::sync::Mutex;

    /// A source over fixed objects that records what it was asked for.
    struct Fixed {
        manifests: BTreeMap<String, Result<Vec<u8>, FetchError>>,
        blobs: BTreeMap<Sha256Digest, Result<Vec<u8>, FetchError>>,
        asked: Asked,
    }

    /// What a source was asked for, in order.
    #[derive(Default)]
    struct Asked(Mutex<Vec<String>>);

    impl Asked {
        fn push(&self, what: String) {
            if let Ok(mut asked) = self.0.lock() {
                asked.push(what);
            }
        }

        fn borrow(&self) -> Vec<String> {
            self.0.lock().map(|asked| asked.clone()).unwrap_or_default()
        }
    }

    /// The `.sig` tag and the bundles, as the tests of one half and the other need.
    fn plan(limits: &LimitsDocument) -> Plan {
        Plan {
            signatures: true,
            bundles: true,
            attestations: false,
            platforms: false,
            limits: *limits,
            repository: SignatureRepository::Image,
        }
    }

    fn gather(
        source: &Fixed,
        image: String,
        digest: Sha256Digest,
        limits: &LimitsDocument,
    ) -> Result<Evidence, FetchError> {
        plan(limits).gather(source, image, digest, None)
    }

    impl Source for Fixed {
        fn manifest(&self, reference: &str, _max: u64) -> Result<Vec<u8>, FetchError> {
            self.asked.push(reference.into());
            self.manifests
                .get(reference)
                .cloned()
                .unwrap_or(Err(FetchError::NotFound {
                    what: reference.into(),
                }))
        }

        fn blob(&self, digest: &Sha256Digest, _size: u64) -> Result<Vec<u8>, FetchError> {
            self.asked.push(digest.to_string());
            self.blobs
                .get(digest)
                .cloned()
                .unwrap_or(Err(FetchError::NotFound {
                    what: digest.to_string(),
                }))
        }
    }

    fn image_digest() -> Sha256Digest {
        Sha256Digest::of(b"image")
    }

    fn manifest_naming(payloads: &[&[u8]]) -> Vec<u8> {
        let layers: Vec<String> = payloads
            .iter()
            .map(|p| {
                format!(
                    r#"{{"mediaType":"{SIMPLE_SIGNING_MEDIA_TYPE}","size":{},"digest":"{}"}}"#,
                    p.len(),
                    Sha256Digest::of(p)
                )
            })
            .collect();
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","size":0,"digest":"{}"}},"layers":[{}]}}"#,
            Sha256Digest::of(b""),
            layers.join(",")
        )
        .into_bytes()
    }

    fn source(manifest: Option<Result<Vec<u8>, FetchError>>) -> Fixed {
        let mut manifests = BTreeMap::new();
        if let Some(manifest) = manifest {
            manifests.insert(signature_tag(&image_digest()), manifest);
        }
        Fixed {
            manifests,
            blobs: BTreeMap::new(),
            asked: Asked::default(),
        }
    }

    fn gather_default(source: &Fixed) -> Result<Evidence, FetchError> {
        gather(
            source,
            "img".into(),
            image_digest(),
            &LimitsDocument::default(),
        )
    }

    #[test]
    fn the_signature_tag_is_cosigns() {
        assert_eq!(
            signature_tag(&image_digest()),
            format!("sha256-{}.sig", image_digest().hex())
        );
    }

    #[test]
    fn only_not_found_means_unsigned() {
        let evidence = gather_default(&source(None)).unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(evidence.signature_manifest(), None);
        for failure in [
            FetchError::Transport {
                what: "x".into(),
                detail: "dns error: host not found".into(),
            },
            FetchError::Unsupported { what: "x".into() },
        ] {
            let result = gather_default(&source(Some(Err(failure.clone()))));
            assert_eq!(result.err(), Some(failure));
        }
    }

    #[test]
    fn blobs_come_back_as_fetched_and_missing_ones_are_left_out() {
        let (good, tampered, missing): (&[u8], &[u8], &[u8]) = (b"good", b"orig", b"gone");
        let mut fixed = source(Some(Ok(manifest_naming(&[good, tampered, missing, good]))));
        fixed
            .blobs
            .insert(Sha256Digest::of(good), Ok(good.to_vec()));
        fixed
            .blobs
            .insert(Sha256Digest::of(tampered), Ok(b"evil".to_vec()));
        let evidence = gather_default(&fixed).unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(evidence.blob(&Sha256Digest::of(good)), Some(good));
        // Handed over as fetched: the verifier reports payload_digest_mismatch.
        assert_eq!(
            evidence.blob(&Sha256Digest::of(tampered)),
            Some(&b"evil"[..])
        );
        assert_eq!(evidence.blob(&Sha256Digest::of(missing)), None);
        assert!(!evidence.payloads_rebuilt());
        // One manifest request, one per distinct blob, and the referrers fallback tag.
        assert_eq!(fixed.asked.borrow().len(), 5);
    }

    #[test]
    fn a_payload_cosign_wrote_without_annotations_is_rebuilt_not_fetched() {
        let image = "registry.example/app:1.0";
        let plain = crate::evidence::rebuild::cosign_payload(
            "registry.example/app",
            &image_digest(),
            &BTreeMap::new(),
        );
        let annotated = crate::evidence::rebuild::cosign_payload(
            "registry.example/app",
            &image_digest(),
            &[("env".to_string(), "prod".to_string())].into(),
        );
        let mut fixed = source(Some(Ok(manifest_naming(&[&plain, &annotated]))));
        fixed
            .blobs
            .insert(Sha256Digest::of(&annotated), Ok(annotated.clone()));
        let evidence = gather(
            &fixed,
            image.into(),
            image_digest(),
            &LimitsDocument::default(),
        )
        .unwrap_or_else(|err| unreachable!("{err}"));
        // Both are in the evidence, byte for byte what was signed; only the annotated one was
        // asked of the source.
        assert_eq!(evidence.blob(&Sha256Digest::of(&plain)), Some(&plain[..]));
        assert_eq!(
            evidence.blob(&Sha256Digest::of(&annotated)),
            Some(&annotated[..])
        );
        let asked = fixed.asked.borrow();
        assert!(!asked.contains(&Sha256Digest::of(&plain).to_string()));
        assert!(asked.contains(&Sha256Digest::of(&annotated).to_string()));
        // A payload for another image's reference is never taken for this one's.
        assert_eq!(
            rebuilt_payload(
                "registry.example/other:1.0",
                &image_digest(),
                &Sha256Digest::of(&plain),
                plain.len() as u64
            ),
            None
        );
    }

    #[test]
    fn a_transport_error_on_a_blob_ends_the_fetch() {
        let payload: &[u8] = b"p";
        let mut fixed = source(Some(Ok(manifest_naming(&[payload]))));
        fixed.blobs.insert(
            Sha256Digest::of(payload),
            Err(FetchError::Transport {
                what: "blob".into(),
                detail: "connection reset".into(),
            }),
        );
        let result = gather_default(&fixed);
        assert!(matches!(result, Err(FetchError::Transport { .. })));
    }

    #[test]
    fn a_source_without_blobs_marks_the_evidence_for_rebuilding() {
        let payload: &[u8] = b"p";
        let mut fixed = source(Some(Ok(manifest_naming(&[payload, b"q"]))));
        fixed.blobs.insert(
            Sha256Digest::of(payload),
            Err(FetchError::Unsupported {
                what: "blob".into(),
            }),
        );
        let evidence = gather_default(&fixed).unwrap_or_else(|err| unreachable!("{err}"));
        assert!(evidence.payloads_rebuilt());
        // It stops asking after the first refusal (then looks for bundle referrers).
        assert_eq!(fixed.asked.borrow().len(), 3);
    }

    #[test]
    fn nothing_is_fetched_past_the_caps() {
        let limits = LimitsDocument {
            max_layers: 1,
            ..LimitsDocument::default()
        };
        let fixed = source(Some(Ok(manifest_naming(&[b"a", b"b"]))));
        let evidence = gather(&fixed, "img".into(), image_digest(), &limits)
            .unwrap_or_else(|err| unreachable!("{err}"));
        assert!(evidence.signature_manifest().is_some());
        assert_eq!(fixed.asked.borrow().len(), 2);
        let limits = LimitsDocument {
            max_payload_bytes: 1,
            ..LimitsDocument::default()
        };
        let fixed = source(Some(Ok(manifest_naming(&[b"ab", b"c"]))));
        gather(&fixed, "img".into(), image_digest(), &limits)
            .unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(
            fixed.asked.borrow().as_slice(),
            [
                signature_tag(&image_digest()),
                Sha256Digest::of(b"c").to_string(),
                crate::sigstore::referrer::fallback_tag(&image_digest()),
            ]
        );
    }

    /// Across an index's manifests, the plan stops before the payloads would pass the evidence
    /// cap: the manifest that would pass it has none of its blobs fetched.
    #[test]
    fn the_platforms_together_stay_within_the_evidence_blob_cap() {
        let per_platform = limits::MAX_EVIDENCE_BLOBS / 2 - 1;
        let limits = LimitsDocument {
            max_layers: limits::CEILING_MAX_LAYERS,
            ..LimitsDocument::default()
        };
        let children: Vec<Sha256Digest> = (0u8..3).map(|i| Sha256Digest::of(&[i])).collect();
        let mut fixed = source(None);
        for (i, child) in children.iter().enumerate() {
            let payloads: Vec<Vec<u8>> = (0..per_platform)
                .map(|n| alloc::format!("{i}-{n}").into_bytes())
                .collect();
            let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
            fixed
                .manifests
                .insert(signature_tag(child), Ok(manifest_naming(&refs)));
        }
        let index = alloc::format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{}]}}"#,
            crate::oci::platforms::OCI_INDEX_MEDIA_TYPE,
            children
                .iter()
                .map(|d| alloc::format!(r#"{{"digest":"{d}"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let plan = Plan {
            platforms: true,
            ..plan(&limits)
        };
        let result = plan.gather(&fixed, "img".into(), image_digest(), Some(index.as_bytes()));
        assert!(
            matches!(result, Err(FetchError::LimitExceeded { ref what, .. }) if *what == signature_tag(&children[2])),
            "{result:?}"
        );
        // The image's `.sig` and referrers tags, three `.sig` manifests, the referrers tag of
        // the first two, and the blobs of the first two only.
        assert_eq!(fixed.asked.borrow().len(), 2 + 3 + 2 + 2 * per_platform);
    }

    const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

    /// A bundle referrer manifest of `subject` whose layer is `bundle`.
    fn referrer_manifest(subject: &Sha256Digest, bundle: &[u8]) -> Vec<u8> {
        alloc::format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"{BUNDLE_TYPE}","config":{{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"{}"}},"layers":[{{"mediaType":"{BUNDLE_TYPE}","size":{},"digest":"{}"}}],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"{subject}"}}}}"#,
            Sha256Digest::of(b"{}"),
            bundle.len(),
            Sha256Digest::of(bundle)
        )
        .into_bytes()
    }

    fn listing(entries: &[(&[u8], &str)]) -> Vec<u8> {
        let entries: Vec<String> = entries
            .iter()
            .map(|(manifest, artifact_type)| {
                alloc::format!(
                    r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":{},"digest":"{}","artifactType":"{artifact_type}"}}"#,
                    manifest.len(),
                    Sha256Digest::of(manifest)
                )
            })
            .collect();
        alloc::format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            entries.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn bundles_come_from_the_fallback_tag_and_only_this_images_are_fetched() {
        let ours = referrer_manifest(&image_digest(), b"our bundle");
        let theirs = referrer_manifest(&Sha256Digest::of(b"other image"), b"their bundle");
        let sbom: &[u8] = b"{\"schemaVersion\":2}";
        let mut fixed = source(None);
        fixed.manifests.insert(
            crate::sigstore::referrer::fallback_tag(&image_digest()),
            Ok(listing(&[
                (&ours, "application/vnd.oci.empty.v1+json"),
                (&theirs, BUNDLE_TYPE),
                (sbom, "application/spdx+json"),
            ])),
        );
        for manifest in [&ours, &theirs] {
            fixed
                .manifests
                .insert(Sha256Digest::of(manifest).to_string(), Ok(manifest.clone()));
        }
        fixed
            .blobs
            .insert(Sha256Digest::of(b"our bundle"), Ok(b"our bundle".to_vec()));
        let evidence = gather_default(&fixed).unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(evidence.referrers().len(), 2);
        assert_eq!(evidence.blob_count(), 1);
        // The .sig tag, the fallback tag, both bundle referrers, and our bundle only; never
        // the SBOM.
        assert_eq!(
            fixed.asked.borrow().as_slice(),
            [
                signature_tag(&image_digest()),
                crate::sigstore::referrer::fallback_tag(&image_digest()),
                Sha256Digest::of(&ours).to_string(),
                Sha256Digest::of(b"our bundle").to_string(),
                Sha256Digest::of(&theirs).to_string(),
            ]
        );
    }

    #[test]
    fn too_many_referrers_or_swapped_manifests_end_the_fetch() {
        let ours = referrer_manifest(&image_digest(), b"b");
        let many: Vec<(&[u8], &str)> = (0..=limits::MAX_REFERRERS)
            .map(|_| (ours.as_slice(), BUNDLE_TYPE))
            .collect();
        let mut fixed = source(None);
        fixed.manifests.insert(
            crate::sigstore::referrer::fallback_tag(&image_digest()),
            Ok(listing(&many)),
        );
        let result = gather_default(&fixed);
        assert!(
            matches!(result, Err(FetchError::LimitExceeded { .. })),
            "{result:?}"
        );
        // Nothing after the list was fetched.
        assert_eq!(fixed.asked.borrow().len(), 2);

        let mut fixed = source(None);
        fixed.manifests.insert(
            crate::sigstore::referrer::fallback_tag(&image_digest()),
            Ok(listing(&[(&ours, BUNDLE_TYPE)])),
        );
        fixed.manifests.insert(
            Sha256Digest::of(&ours).to_string(),
            Ok(referrer_manifest(&image_digest(), b"another")),
        );
        let result = gather_default(&fixed);
        assert!(
            matches!(result, Err(FetchError::Transport { .. })),
            "{result:?}"
        );

        let mut fixed = source(None);
        fixed.manifests.insert(
            crate::sigstore::referrer::fallback_tag(&image_digest()),
            Ok(b"not json".to_vec()),
        );
        let result = gather_default(&fixed);
        assert!(
            matches!(result, Err(FetchError::Transport { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn blob_checks_size_before_digest() {
        let digest = Sha256Digest::of(b"abc");
        assert_eq!(check_blob(b"abc", &digest, 3), Ok(()));
        assert_eq!(
            check_blob(b"abcd", &digest, 3),
            Err(BlobMismatch::Size {
                actual: 4,
                expected: 3
            })
        );
        assert_eq!(
            check_blob(b"abd", &digest, 3),
            Err(BlobMismatch::Digest {
                actual: Sha256Digest::of(b"abd")
            })
        );
    }

    /// Policies that read signatures from different repositories cannot share one fetch: the
    /// plan says so rather than picking one.
    #[test]
    fn policies_that_disagree_on_the_signature_repository_cannot_share_a_plan() {
        let alice = crate::testing::Signer::new("alice", 1);
        let policy = |repository: Option<&str>| {
            let mut document = serde_json::json!({"keys": [alice.key_entry()]});
            if let Some(repository) = repository {
                document["signatureRepository"] = repository.into();
            }
            Policy::from_json(document.to_string().as_bytes())
                .unwrap_or_else(|e| unreachable!("{e}"))
        };
        let (plain, elsewhere, other) = (
            policy(None),
            policy(Some("ghcr.io/acme/sigs")),
            policy(Some("sigs")),
        );
        assert_eq!(
            Plan::of_all([&elsewhere, &elsewhere]).signature_repository(),
            Ok(Some("ghcr.io/acme/sigs"))
        );
        assert_eq!(
            Plan::of_all([&plain, &plain]).signature_repository(),
            Ok(None)
        );
        for (a, b) in [
            (&elsewhere, &plain),
            (&plain, &elsewhere),
            (&other, &elsewhere),
        ] {
            assert!(matches!(
                Plan::of_all([a, b]).signature_repository(),
                Err(FetchError::Conflict { .. })
            ));
        }
    }

    /// The worst a repository can hold, every part at its cap: a plan's evidence is never more
    /// than the verifier accepts. A full `.sig` manifest and a full referrers list fill the
    /// budget exactly, and the verifier reads the evidence back; one `.att` layer more ends the
    /// fetch before any envelope is asked for.
    #[test]
    fn a_plan_never_fetches_more_than_the_verifier_accepts() {
        let limits = LimitsDocument {
            max_layers: limits::CEILING_MAX_LAYERS,
            ..LimitsDocument::default()
        };
        let payloads: Vec<Vec<u8>> = (0..limits::CEILING_MAX_LAYERS)
            .map(|n| alloc::format!("payload {n}").into_bytes())
            .collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let mut fixed = source(Some(Ok(manifest_naming(&refs))));
        for payload in &payloads {
            fixed
                .blobs
                .insert(Sha256Digest::of(payload), Ok(payload.clone()));
        }
        let referrers: Vec<Vec<u8>> = (0..limits::MAX_REFERRERS)
            .map(|n| {
                let bundle = alloc::format!("bundle {n}").into_bytes();
                fixed
                    .blobs
                    .insert(Sha256Digest::of(&bundle), Ok(bundle.clone()));
                referrer_manifest(&image_digest(), &bundle)
            })
            .collect();
        let entries: Vec<(&[u8], &str)> = referrers
            .iter()
            .map(|m| (m.as_slice(), BUNDLE_TYPE))
            .collect();
        fixed.manifests.insert(
            crate::sigstore::referrer::fallback_tag(&image_digest()),
            Ok(listing(&entries)),
        );
        for manifest in &referrers {
            fixed
                .manifests
                .insert(Sha256Digest::of(manifest).to_string(), Ok(manifest.clone()));
        }
        let full = Plan::everything(&limits);
        let evidence = full
            .gather(&fixed, "img".into(), image_digest(), None)
            .unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(evidence.blob_count(), limits::MAX_EVIDENCE_BLOBS);
        let read = Evidence::from_json(evidence.to_json().as_bytes());
        assert!(read.is_ok(), "{:?}", read.err());

        // One `.att` envelope more than the budget has room for.
        fixed.manifests.insert(
            attestation_tag(&image_digest()),
            Ok(String::from_utf8(manifest_naming(&[b"envelope"]))
                .unwrap_or_default()
                .replace(
                    SIMPLE_SIGNING_MEDIA_TYPE,
                    crate::policy::attestation::DSSE_ENVELOPE_MEDIA_TYPE,
                )
                .into_bytes()),
        );
        let before = fixed.asked.borrow().len();
        let result = full.gather(&fixed, "img".into(), image_digest(), None);
        assert!(
            matches!(result, Err(FetchError::LimitExceeded { ref what, .. }) if *what == attestation_tag(&image_digest())),
            "{result:?}"
        );
        assert!(
            !fixed.asked.borrow()[before..].contains(&Sha256Digest::of(b"envelope").to_string()),
            "an envelope was fetched past the budget"
        );
    }
}
