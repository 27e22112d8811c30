//! OCI referrers that carry Sigstore bundles: how cosign v3 attaches a signature to an image.
//!
//! A **referrer** is a manifest whose `subject` names the image. cosign v3 stores each
//! signature as one: an image manifest whose `artifactType` is a Sigstore bundle media type,
//! whose config is the empty descriptor and whose one layer is the bundle JSON. A registry lists
//! an image's referrers through the referrers API (`GET /v2/<repo>/referrers/<digest>`), or,
//! where it has none, in an image index that the signer keeps under the tag `sha256-<hex>` (the
//! referrers tag schema of the OCI distribution spec).
//!
//! Nothing in a referrers list is trusted: anyone who can push to the repository can add to it.
//! It only says what to fetch. Whether a referrer counts is decided from its own bytes and its
//! bundle's signature under a policy key (`crate::verify::image`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::encoding::json::{self, Fields};
use crate::sigstore::bundle;

/// The tag of the referrers tag schema: `sha256-<hex>`, no suffix.
pub fn fallback_tag(digest: &Sha256Digest) -> String {
    format!("sha256-{}", digest.hex())
}

/// The media type of OCI's empty descriptor, which cosign uses as a bundle referrer's config.
/// go-containerregistry writes it as the `artifactType` of the referrers-index entries it
/// maintains, so an entry of that type may be a bundle too.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

/// Whether `media_type` is a Sigstore bundle's (v0.1 to v0.3, in any spelling).
pub fn is_bundle_media_type(media_type: &str) -> bool {
    bundle::Version::from_media_type(media_type).is_some()
}

/// Whether a listed referrer with this `artifactType` may be a Sigstore bundle and is worth
/// reading: a bundle media type, the empty media type, or none at all.
pub fn may_be_bundle(artifact_type: Option<&str>) -> bool {
    match artifact_type {
        None | Some("" | EMPTY_MEDIA_TYPE) => true,
        Some(other) => is_bundle_media_type(other),
    }
}

struct IndexDocument {
    schema_version: u32,
    manifests: Vec<IndexEntry>,
}

struct IndexEntry {
    digest: String,
    size: u64,
    artifact_type: Option<String>,
}

impl IndexDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            schema_version: f.req("schemaVersion", json::unsigned)?,
            manifests: f.list("manifests", |entry| {
                let e = Fields::of(entry)?;
                Ok(IndexEntry {
                    digest: e.string("digest")?,
                    size: e.req("size", json::unsigned)?,
                    artifact_type: e.opt_string("artifactType")?,
                })
            })?,
        })
    }
}

/// One entry of a referrers list worth fetching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The referrer manifest's digest.
    pub digest: Sha256Digest,
    /// Its size, as the list says.
    pub size: u64,
}

sentence_error! {
    /// Why a referrers list is not an image index of the shape the plan reads.
    ListingError
}

/// A referrers list, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// How many referrers the list names, of every type.
    pub total: usize,
    /// Those that may be Sigstore bundles: an `artifactType` that is a bundle media type, the
    /// empty media type, or none. Each digest once, in list order.
    pub candidates: Vec<Candidate>,
}

/// Reads a referrers list (the referrers API's answer, or the index under the fallback tag).
///
/// # Errors
/// A [`ListingError`] when it is not an image index of well-formed sha256 descriptors.
pub fn parse_listing(bytes: &[u8]) -> Result<Listing, ListingError> {
    read_listing(bytes).map_err(ListingError)
}

fn read_listing(bytes: &[u8]) -> Result<Listing, String> {
    let index = IndexDocument::read(&json::parse(bytes)?)?;
    if index.schema_version != 2 {
        return Err(format!(
            "schemaVersion is {}; a referrers list is an image index (2)",
            index.schema_version
        ));
    }
    let total = index.manifests.len();
    let mut candidates: Vec<Candidate> = Vec::new();
    for (i, entry) in index.manifests.into_iter().enumerate() {
        let digest =
            Sha256Digest::parse(&entry.digest).map_err(|msg| format!("manifests[{i}]: {msg}"))?;
        if may_be_bundle(entry.artifact_type.as_deref())
            && !candidates.iter().any(|c| c.digest == digest)
        {
            candidates.push(Candidate {
                digest,
                size: entry.size,
            });
        }
    }
    Ok(Listing { total, candidates })
}

struct ManifestDocument {
    schema_version: u32,
    artifact_type: Option<String>,
    config: DescriptorDocument,
    layers: Vec<DescriptorDocument>,
    subject: Option<DescriptorDocument>,
}

struct DescriptorDocument {
    media_type: String,
    digest: String,
    size: u64,
}

impl ManifestDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            schema_version: f.req("schemaVersion", json::unsigned)?,
            artifact_type: f.opt_string("artifactType")?,
            config: f.req("config", DescriptorDocument::read)?,
            layers: f.list("layers", DescriptorDocument::read)?,
            subject: f.opt("subject", DescriptorDocument::read)?,
        })
    }
}

impl DescriptorDocument {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            media_type: f.string("mediaType")?,
            digest: f.string("digest")?,
            size: f.req("size", json::unsigned)?,
        })
    }
}

/// A referrer manifest that carries a Sigstore bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleReferrer {
    /// The digest its `subject` names: the image it claims to be about.
    pub subject: Sha256Digest,
    /// The bundle layer's media type.
    pub media_type: String,
    /// The bundle blob's digest.
    pub digest: Sha256Digest,
    /// The bundle blob's size.
    pub size: u64,
}

/// Why a referrer manifest is not a bundle referrer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferrerError {
    /// Not strict JSON of an image manifest with a subject.
    Malformed(String),
    /// Its type or its layers are not those of a Sigstore bundle.
    NotABundle(String),
}

impl core::fmt::Display for ReferrerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed(msg) | Self::NotABundle(msg) => f.write_str(msg),
        }
    }
}

impl core::error::Error for ReferrerError {}

/// Reads a referrer manifest: an image manifest whose `artifactType` (or, without one, config
/// media type) is a bundle media type, with exactly one layer, of a bundle media type, and a
/// `subject`.
///
/// # Errors
/// [`ReferrerError`] saying which rule it breaks.
pub fn parse_bundle_referrer(bytes: &[u8]) -> Result<BundleReferrer, ReferrerError> {
    let manifest = json::parse(bytes)
        .and_then(|value| ManifestDocument::read(&value))
        .map_err(ReferrerError::Malformed)?;
    if manifest.schema_version != 2 {
        return Err(ReferrerError::Malformed(format!(
            "schemaVersion is {}; only 2 is an image manifest",
            manifest.schema_version
        )));
    }
    let artifact_type = manifest
        .artifact_type
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or(&manifest.config.media_type);
    if !is_bundle_media_type(artifact_type) {
        return Err(ReferrerError::NotABundle(format!(
            "its artifact type is {artifact_type:?}, not a Sigstore bundle's"
        )));
    }
    let [layer] = manifest.layers.as_slice() else {
        return Err(ReferrerError::NotABundle(format!(
            "it has {} layers; a bundle referrer has exactly one",
            manifest.layers.len()
        )));
    };
    if !is_bundle_media_type(&layer.media_type) {
        return Err(ReferrerError::NotABundle(format!(
            "its layer's media type is {:?}, not a Sigstore bundle's",
            layer.media_type
        )));
    }
    let digest = Sha256Digest::parse(&layer.digest)
        .map_err(|msg| ReferrerError::Malformed(format!("layers[0].digest: {msg}")))?;
    let subject = manifest
        .subject
        .ok_or_else(|| ReferrerError::Malformed("it has no subject".into()))?;
    let subject = Sha256Digest::parse(&subject.digest)
        .map_err(|msg| ReferrerError::Malformed(format!("subject.digest: {msg}")))?;
    Ok(BundleReferrer {
        subject,
        media_type: layer.media_type.clone(),
        digest,
        size: layer.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

    fn manifest(artifact_type: &str, layers: &[&str], subject: Option<&Sha256Digest>) -> String {
        let layers: Vec<String> = layers
            .iter()
            .map(|t| {
                format!(
                    r#"{{"mediaType":"{t}","size":5,"digest":"{}"}}"#,
                    Sha256Digest::of(b"bundle")
                )
            })
            .collect();
        let subject = subject
            .map(|d| {
                format!(
                    r#","subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":9,"digest":"{d}"}}"#
                )
            })
            .unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,"artifactType":"{artifact_type}","config":{{"mediaType":"{EMPTY_MEDIA_TYPE}","size":2,"digest":"{}"}},"layers":[{}]{subject}}}"#,
            Sha256Digest::of(b"{}"),
            layers.join(",")
        )
    }

    #[test]
    fn a_cosign_referrer_reads_and_others_are_refused() {
        let image = Sha256Digest::of(b"image");
        let good = parse_bundle_referrer(manifest(BUNDLE, &[BUNDLE], Some(&image)).as_bytes());
        assert_eq!(good.map(|r| r.subject), Ok(image));
        for bad in [
            manifest("application/spdx+json", &[BUNDLE], Some(&image)),
            manifest(BUNDLE, &[BUNDLE, BUNDLE], Some(&image)),
            manifest(BUNDLE, &[], Some(&image)),
            manifest(BUNDLE, &["application/octet-stream"], Some(&image)),
        ] {
            assert!(matches!(
                parse_bundle_referrer(bad.as_bytes()),
                Err(ReferrerError::NotABundle(_))
            ));
        }
        assert!(matches!(
            parse_bundle_referrer(manifest(BUNDLE, &[BUNDLE], None).as_bytes()),
            Err(ReferrerError::Malformed(_))
        ));
    }

    #[test]
    fn listings_keep_what_may_be_a_bundle() {
        let d = |s: &[u8]| Sha256Digest::of(s);
        let listing = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {{"mediaType":"m","size":1,"digest":"{}","artifactType":"{EMPTY_MEDIA_TYPE}"}},
            {{"mediaType":"m","size":2,"digest":"{}","artifactType":"application/spdx+json"}},
            {{"mediaType":"m","size":3,"digest":"{}","artifactType":"{BUNDLE}"}},
            {{"mediaType":"m","size":3,"digest":"{}","artifactType":"{BUNDLE}"}},
            {{"mediaType":"m","size":4,"digest":"{}"}}]}}"#,
            d(b"1"),
            d(b"2"),
            d(b"3"),
            d(b"3"),
            d(b"4")
        );
        let listing = parse_listing(listing.as_bytes()).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(listing.total, 5);
        let digests: Vec<Sha256Digest> = listing.candidates.iter().map(|c| c.digest).collect();
        assert_eq!(digests, [d(b"1"), d(b"3"), d(b"4")]);
        assert!(parse_listing(br#"{"schemaVersion":1,"manifests":[]}"#).is_err());
        assert!(
            parse_listing(br#"{"schemaVersion":2,"manifests":[{"digest":"md5:x","size":1}]}"#)
                .is_err()
        );
    }
}
