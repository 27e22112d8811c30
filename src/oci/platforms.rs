//! Image indexes: which manifests an index lists, for `verifyPlatforms`.
//!
//! `cosign sign --recursive` signs an index and every manifest it lists, and a policy with
//! `verifyPlatforms` holds it to that: the index verifies, and so does each listed manifest,
//! under the same policy. Which manifests those are comes from the index's exact bytes (which
//! must hash to the image digest), so a host cannot leave one out.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::encoding::json::{self, Fields};

/// The OCI image index media type.
pub const OCI_INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's manifest list media type.
pub const DOCKER_LIST_MEDIA_TYPE: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct ManifestShape {
    media_type: Option<String>,
    manifests: Option<Vec<ListedDocument>>,
    layers: Option<serde_json::Value>,
}

struct ListedDocument {
    digest: String,
    platform: Option<PlatformDocument>,
}

struct PlatformDocument {
    os: String,
    architecture: String,
    variant: Option<String>,
}

impl ManifestShape {
    fn read(value: &serde_json::Value) -> Result<Self, String> {
        let f = Fields::of(value)?;
        Ok(Self {
            media_type: f.opt_string("mediaType")?,
            manifests: f
                .opt("manifests", |_| Ok(()))?
                .map(|()| {
                    f.list("manifests", |entry| {
                        let e = Fields::of(entry)?;
                        Ok(ListedDocument {
                            digest: e.string("digest")?,
                            platform: e.opt("platform", |p| {
                                let p = Fields::of(p)?;
                                Ok(PlatformDocument {
                                    os: p.opt_string("os")?.unwrap_or_default(),
                                    architecture: p.opt_string("architecture")?.unwrap_or_default(),
                                    variant: p.opt_string("variant")?,
                                })
                            })?,
                        })
                    })
                })
                .transpose()?,
            layers: f.opt("layers", |v| Ok(v.clone()))?,
        })
    }
}

/// One manifest an index lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Its digest.
    pub digest: Sha256Digest,
    /// `os/architecture[/variant]`, when the index says.
    pub platform: Option<String>,
}

/// The manifests `manifest` lists when it is an index (OCI image index or Docker manifest
/// list, by media type, or by shape when it names none); `None` when it is not an index.
///
/// # Errors
/// A message when the bytes are not strict JSON, or a listed digest is not `sha256:`.
pub fn listed_manifests(manifest: &[u8]) -> Result<Option<Vec<Listed>>, String> {
    let shape = ManifestShape::read(&json::parse(manifest)?)?;
    let is_index = match shape.media_type.as_deref() {
        Some(OCI_INDEX_MEDIA_TYPE | DOCKER_LIST_MEDIA_TYPE) => true,
        Some(_) => false,
        None => shape.manifests.is_some() && shape.layers.is_none(),
    };
    if !is_index {
        return Ok(None);
    }
    shape
        .manifests
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, listed)| {
            let digest = Sha256Digest::parse(&listed.digest)
                .map_err(|msg| format!("manifests[{index}].digest: {msg}"))?;
            let platform = listed.platform.map(|p| match p.variant {
                Some(variant) => format!("{}/{}/{variant}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            });
            Ok(Listed { digest, platform })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_indexes_and_passes_over_image_manifests() {
        let a = Sha256Digest::of(b"a");
        let b = Sha256Digest::of(b"b");
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX_MEDIA_TYPE}","manifests":[
              {{"mediaType":"x","size":1,"digest":"{a}","platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"mediaType":"x","size":1,"digest":"{b}"}}]}}"#
        );
        let listed = listed_manifests(index.as_bytes())
            .unwrap_or_else(|err| unreachable!("{err}"))
            .unwrap_or_default();
        assert_eq!(
            listed,
            [
                Listed {
                    digest: a,
                    platform: Some("linux/arm64/v8".into())
                },
                Listed {
                    digest: b,
                    platform: None
                }
            ]
        );
        let unnamed = format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"{a}"}}]}}"#);
        assert!(matches!(listed_manifests(unnamed.as_bytes()), Ok(Some(l)) if l.len() == 1));
        let image = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        assert_eq!(listed_manifests(image.as_bytes()), Ok(None));
        assert!(listed_manifests(b"{\"manifests\":[{\"digest\":\"md5:x\"}]}").is_err());
    }
}
