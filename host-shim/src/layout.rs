//! Evidence from an OCI image layout directory (`oci:DIR[:TAG]`), as written by
//! `cosign save` and `skopeo copy`: the offline source.
//!
//! Nothing in the layout is trusted. The image manifest's digest is computed from its bytes,
//! every blob is read with a hard size limit and checked against the digest that names it, and
//! file names are built only from validated hex digests, so a crafted `index.json` cannot point
//! outside `blobs/sha256/`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ocisig::Sha256Digest;
use serde::Deserialize;

/// The annotation `cosign save` puts on each manifest in its index.
const COSIGN_KIND: &str = "kind";
const KIND_IMAGE: &str = "dev.cosignproject.cosign/image";
const KIND_SIGNATURES: &str = "dev.cosignproject.cosign/sigs";
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

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// What the layout holds for one image: the parts of an evidence document.
#[derive(Debug)]
pub struct LayoutEvidence {
    /// The image manifest digest, computed from its bytes.
    pub digest: Sha256Digest,
    /// The `.sig` manifest text, if the layout has one for this image.
    pub signature_manifest: Option<String>,
    /// Every payload blob the `.sig` manifest names, checked against its digest.
    pub blobs: BTreeMap<Sha256Digest, Vec<u8>>,
}

/// Reads the image and its cosign signatures from a layout.
///
/// # Errors
/// When the layout is unreadable, malformed, ambiguous, or a blob does not match its digest.
pub fn read(
    source: &LayoutSource,
    limits: &ocisig::LimitsDocument,
) -> anyhow::Result<LayoutEvidence> {
    let index_path = source.dir.join("index.json");
    let index_bytes = read_limited(&index_path, MAX_MANIFEST_BYTES)?;
    let index: Index = serde_json::from_slice(&index_bytes)
        .with_context(|| format!("{} is not an OCI image index", index_path.display()))?;
    let image = pick_image(&index, source)?;
    let image_digest = Sha256Digest::parse(&image.digest).map_err(anyhow::Error::msg)?;
    // Reading the manifest checks that its bytes hash to the digest we report.
    read_blob(
        &source.dir,
        &image_digest,
        image.size.min(MAX_MANIFEST_BYTES),
    )
    .context("reading the image manifest")?;

    let signatures = index.manifests.iter().find(|d| {
        d.annotations.get(COSIGN_KIND).map(String::as_str) == Some(KIND_SIGNATURES)
            || d.annotations.get(REF_NAME) == Some(&format!("sha256-{}.sig", image_digest.hex()))
    });
    let Some(signatures) = signatures else {
        return Ok(LayoutEvidence {
            digest: image_digest,
            signature_manifest: None,
            blobs: BTreeMap::new(),
        });
    };
    let sig_digest = Sha256Digest::parse(&signatures.digest).map_err(anyhow::Error::msg)?;
    if signatures.size > limits.max_manifest_bytes {
        bail!(
            "the signature manifest is {} bytes; the limit is {}",
            signatures.size,
            limits.max_manifest_bytes
        );
    }
    let manifest = read_blob(&source.dir, &sig_digest, signatures.size)
        .context("reading the signature manifest")?;
    let mut blobs = BTreeMap::new();
    for (digest, size) in crate::evidence::payload_descriptors(&manifest, limits) {
        match read_blob(&source.dir, &digest, size) {
            Ok(bytes) => {
                blobs.insert(digest, bytes);
            }
            // A missing or mismatching blob is left out; the verifier names it
            // (payload_missing) instead of the whole image failing to load.
            Err(_) => continue,
        }
    }
    let signature_manifest =
        String::from_utf8(manifest).context("the signature manifest is not UTF-8")?;
    Ok(LayoutEvidence {
        digest: image_digest,
        signature_manifest: Some(signature_manifest),
        blobs,
    })
}

fn pick_image<'a>(index: &'a Index, source: &LayoutSource) -> anyhow::Result<&'a Descriptor> {
    let is_manifest = |d: &&Descriptor| {
        d.annotations.get(COSIGN_KIND).map(String::as_str) != Some(KIND_SIGNATURES)
            && !d
                .annotations
                .get(REF_NAME)
                .is_some_and(|name| name.starts_with("sha256-") && name.ends_with(".sig"))
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

/// Reads `blobs/sha256/<hex>`, at most `size` bytes, and insists on exactly `size` bytes that
/// hash to `digest`.
fn read_blob(dir: &Path, digest: &Sha256Digest, size: u64) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("blobs").join("sha256").join(digest.hex());
    let bytes = read_limited(&path, size)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) != size {
        bail!(
            "{} is {} bytes, not the {size} its descriptor says",
            path.display(),
            bytes.len()
        );
    }
    let actual = Sha256Digest::of(&bytes);
    if actual != *digest {
        bail!("{} hashes to {actual}, not {digest}", path.display());
    }
    Ok(bytes)
}

/// Reads at most `limit` bytes; a longer file is an error, never a long read.
fn read_limited(path: &Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        bail!("{} is larger than {limit} bytes", path.display());
    }
    Ok(bytes)
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
