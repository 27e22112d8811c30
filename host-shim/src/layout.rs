//! Evidence from an OCI image layout directory (`oci:DIR[:TAG]`), as written by
//! `cosign save` and `skopeo copy`: the offline source.
//!
//! Nothing in the layout is trusted. The image manifest's digest is computed from its bytes,
//! every blob is read with a hard size limit and checked against the digest that names it, and
//! file names are built only from validated hex digests, so a crafted `index.json` cannot point
//! outside `blobs/sha256/`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ocisig::Sha256Digest;
use ocisig::evidence::plan::{BlobMismatch, FetchError};

use crate::bounded;
use serde::Deserialize;

/// The annotation `cosign save` puts on each manifest in its index.
const COSIGN_KIND: &str = "kind";
const KIND_IMAGE: &str = "dev.cosignproject.cosign/image";
const KIND_SIGNATURES: &str = "dev.cosignproject.cosign/sigs";
const KIND_ATTESTATIONS: &str = "dev.cosignproject.cosign/atts";
/// The annotation `skopeo copy` and `oras` use for a tag.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The largest index.json or manifest read, in bytes.
const MAX_MANIFEST_BYTES: u64 = ocisig::limits::DEFAULT_MAX_MANIFEST_BYTES;

/// Where a layout source points: `oci:DIR` or `oci:DIR:TAG`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutSource {
    /// The layout directory.
    pub dir: PathBuf,
    /// The tag (`org.opencontainers.image.ref.name`) to pick, if any.
    pub tag: Option<String>,
}

impl LayoutSource {
    /// Parses `oci:DIR[:TAG]`; `None` when `text` does not start with `oci:`.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("oci:")?;
        // A tag never holds '/', so a final ':' after the last '/' separates one.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        Some(match rest[last_slash..].rfind(':') {
            Some(i) => Self {
                dir: PathBuf::from(&rest[..last_slash + i]),
                tag: Some(rest[last_slash + i + 1..].to_string()),
            },
            None => Self {
                dir: PathBuf::from(rest),
                tag: None,
            },
        })
    }
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    artifact_type: Option<String>,
}

impl Descriptor {
    /// Whether the index marks it as a Sigstore bundle referrer (OCI 1.1 layouts list an
    /// image's referrers in `index.json`, with their `artifactType`).
    fn is_bundle_referrer(&self) -> bool {
        self.artifact_type
            .as_deref()
            .is_some_and(ocisig::sigstore::referrer::is_bundle_media_type)
    }
}

/// An opened layout: its index, and the image the source names, with the digest computed
/// from the manifest's bytes.
#[derive(Debug)]
pub struct Layout {
    dir: PathBuf,
    index: Index,
    manifest: Vec<u8>,
    /// The image manifest digest, computed from its bytes.
    pub digest: Sha256Digest,
}

impl Layout {
    /// Reads `index.json` and the image manifest the source names, and checks that the
    /// manifest's bytes hash to the digest that is reported.
    ///
    /// # Errors
    /// When the layout is unreadable, malformed, ambiguous, or the manifest does not match its
    /// digest.
    pub fn open(source: &LayoutSource) -> anyhow::Result<Self> {
        let index_path = source.dir.join("index.json");
        let index_bytes = read_limited(&index_path, MAX_MANIFEST_BYTES)?;
        let index: Index = serde_json::from_slice(&index_bytes)
            .with_context(|| format!("{} is not an OCI image index", index_path.display()))?;
        let image = pick_image(&index, source)?;
        let digest = Sha256Digest::parse(&image.digest).map_err(anyhow::Error::msg)?;
        let manifest = read_manifest(&source.dir, &digest, Some(image.size), MAX_MANIFEST_BYTES)
            .context("reading the image manifest")?;
        Ok(Self {
            dir: source.dir.clone(),
            index,
            manifest,
            digest,
        })
    }

    /// The image manifest's exact bytes (they hash to [`Layout::digest`]).
    pub fn manifest(&self) -> &[u8] {
        &self.manifest
    }
}

impl ocisig::evidence::plan::Source for Layout {
    /// A tag is looked up in the index (`cosign save` marks the signature manifest with its
    /// `kind` annotation, `skopeo` and `oras` name tags with `org.opencontainers.image.ref.name`);
    /// a digest is read from `blobs/`.
    fn manifest(&self, reference: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        let transport = |detail: String| FetchError::Transport {
            what: reference.to_string(),
            detail,
        };
        let (digest, size) = if reference.starts_with("sha256:") {
            (
                Sha256Digest::parse(reference).map_err(|e| transport(e.to_string()))?,
                None,
            )
        } else {
            // `cosign save` marks the image's signatures and attestations by kind, without a
            // tag: each mark stands for that tag of the image the layout holds, and no other.
            let own_kind = if reference == ocisig::evidence::plan::signature_tag(&self.digest) {
                Some(KIND_SIGNATURES)
            } else if reference == ocisig::evidence::plan::attestation_tag(&self.digest) {
                Some(KIND_ATTESTATIONS)
            } else {
                None
            };
            let found = self.index.manifests.iter().find(|d| {
                d.annotations.get(REF_NAME).map(String::as_str) == Some(reference)
                    || (own_kind.is_some()
                        && d.annotations.get(COSIGN_KIND).map(String::as_str) == own_kind)
            });
            let Some(found) = found else {
                return Err(FetchError::NotFound {
                    what: reference.to_string(),
                });
            };
            let digest =
                Sha256Digest::parse(&found.digest).map_err(|e| transport(e.to_string()))?;
            if found.size > max_bytes {
                return Err(transport(format!(
                    "the manifest is {} bytes; the limit is {max_bytes}",
                    found.size
                )));
            }
            (digest, Some(found.size))
        };
        read_manifest(&self.dir, &digest, size, max_bytes)
            .map_err(|err| transport(format!("{err:#}")))
    }

    /// A layout's referrers API: the manifests `index.json` lists whose `subject` is
    /// `digest` (OCI image-layout 1.1 keeps an image's referrers there), as an image index.
    /// Entries of another `artifactType` than a bundle's are not read. Without any, the plan
    /// looks for the referrers tag, as with a registry.
    fn referrers(&self, digest: &Sha256Digest, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        let what = || format!("the referrers of {digest}");
        let mut listed = Vec::new();
        for entry in &self.index.manifests {
            let maybe_bundle =
                ocisig::sigstore::referrer::may_be_bundle(entry.artifact_type.as_deref());
            let Ok(entry_digest) = Sha256Digest::parse(&entry.digest) else {
                continue;
            };
            if !maybe_bundle || entry_digest == *digest || entry.size > MAX_MANIFEST_BYTES {
                continue;
            }
            let bytes = read_manifest(
                &self.dir,
                &entry_digest,
                Some(entry.size),
                MAX_MANIFEST_BYTES,
            )
            .map_err(|err| FetchError::Transport {
                what: what(),
                detail: format!("{err:#}"),
            })?;
            if ocisig::sigstore::referrer::parse_bundle_referrer(&bytes)
                .is_ok_and(|r| r.subject == *digest)
            {
                listed.push(serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": entry_digest.to_string(),
                    "size": entry.size,
                    "artifactType": entry.artifact_type,
                }));
            }
        }
        if listed.is_empty() {
            return Err(FetchError::NotFound { what: what() });
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": listed,
        })
        .to_string()
        .into_bytes();
        if index.len() as u64 > max_bytes {
            return Err(FetchError::Transport {
                what: what(),
                detail: format!("the referrers list is larger than {max_bytes} bytes"),
            });
        }
        Ok(index)
    }

    fn blob(&self, digest: &Sha256Digest, size: u64) -> Result<Vec<u8>, FetchError> {
        let path = blob_path(&self.dir, digest);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(FetchError::NotFound {
                    what: digest.to_string(),
                });
            }
            Err(err) => {
                return Err(FetchError::Transport {
                    what: digest.to_string(),
                    detail: format!("cannot open {}: {err}", path.display()),
                });
            }
        };
        bounded::read_up_to(file, size.saturating_add(1)).map_err(|err| FetchError::Transport {
            what: digest.to_string(),
            detail: format!("cannot read {}: {err}", path.display()),
        })
    }
}

fn pick_image<'a>(index: &'a Index, source: &LayoutSource) -> anyhow::Result<&'a Descriptor> {
    let is_manifest = |d: &&Descriptor| {
        !d.is_bundle_referrer()
            && !matches!(
                d.annotations.get(COSIGN_KIND).map(String::as_str),
                Some(KIND_SIGNATURES | KIND_ATTESTATIONS)
            )
            && !d.annotations.get(REF_NAME).is_some_and(|name| {
                name.starts_with("sha256-") && (name.ends_with(".sig") || name.ends_with(".att"))
            })
    };
    if let Some(tag) = &source.tag {
        return index
            .manifests
            .iter()
            .find(|d| d.annotations.get(REF_NAME) == Some(tag))
            .with_context(|| format!("no manifest tagged {tag:?} in {}", source.dir.display()));
    }
    if let Some(image) = index
        .manifests
        .iter()
        .find(|d| d.annotations.get(COSIGN_KIND).map(String::as_str) == Some(KIND_IMAGE))
    {
        return Ok(image);
    }
    let candidates: Vec<&Descriptor> = index.manifests.iter().filter(is_manifest).collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => bail!("{} holds no image manifest", source.dir.display()),
        _ => bail!(
            "{} holds {} images; name one as oci:DIR:TAG",
            source.dir.display(),
            candidates.len()
        ),
    }
}

fn blob_path(dir: &Path, digest: &Sha256Digest) -> PathBuf {
    dir.join("blobs").join("sha256").join(digest.hex())
}

/// Reads the manifest `blobs/sha256/<hex>`: exactly `size` bytes when the index gives its
/// size, at most `cap` bytes in any case, hashing to `digest`.
fn read_manifest(
    dir: &Path,
    digest: &Sha256Digest,
    size: Option<u64>,
    cap: u64,
) -> anyhow::Result<Vec<u8>> {
    let path = blob_path(dir, digest);
    let bytes = read_limited(&path, size.unwrap_or(cap).min(cap))?;
    let length = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    match ocisig::evidence::plan::check_blob(&bytes, digest, size.unwrap_or(length)) {
        Ok(()) => Ok(bytes),
        Err(BlobMismatch::Size { actual, expected }) => bail!(
            "{} is {actual} bytes, not the {expected} its descriptor says",
            path.display()
        ),
        Err(BlobMismatch::Digest { actual }) => {
            bail!("{} hashes to {actual}, not {digest}", path.display())
        }
    }
}

/// Reads at most `limit` bytes; a longer file is an error, never a long read.
fn read_limited(path: &Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    bounded::read_within(file, limit)
        .with_context(|| format!("cannot read {}", path.display()))?
        .with_context(|| format!("{} is larger than {limit} bytes", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_layout_sources() {
        assert_eq!(LayoutSource::parse("busybox"), None);
        let plain = LayoutSource::parse("oci:examples/signed/layout").unwrap();
        assert_eq!(plain.dir, PathBuf::from("examples/signed/layout"));
        assert_eq!(plain.tag, None);
        let tagged = LayoutSource::parse("oci:/tmp/x:v1").unwrap();
        assert_eq!(tagged.dir, PathBuf::from("/tmp/x"));
        assert_eq!(tagged.tag.as_deref(), Some("v1"));
    }
}
