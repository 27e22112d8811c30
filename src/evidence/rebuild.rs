//! Rebuilding cosign payloads for hosts that can fetch manifests but not blobs.
//!
//! Kubewarden's host capabilities return an image's digest and the `.sig` manifest, never the
//! payload blobs. A cosign payload is a deterministic function of the image's repository, its
//! digest and the `-a` annotations, so we rebuild the payloads cosign would have written and
//! keep a candidate only when its sha256 equals a layer's digest. A kept candidate is exactly
//! the signed blob, so nothing is trusted that a registry would not have served; a layer with no
//! matching candidate becomes `payload_unavailable` during verification.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::string::ToString;
use alloc::vec::Vec;

use crate::claim::simple_signing::COSIGN_PAYLOAD_TYPE;
use crate::crypto::digest::Sha256Digest;
use crate::evidence::document::Evidence;
use crate::oci::manifest;
use crate::oci::reference::{DOCKER_HUB_REGISTRY, Reference};
use crate::policy::compiled::Policy;

/// The `docker-reference` values cosign may have written for `image`: the normalized
/// repository (what cosign 2 writes), plus the Docker Hub spelling `docker.io/...` and the
/// repository exactly as the user wrote it, when those differ.
pub fn docker_reference_forms(image: &str) -> Vec<String> {
    let mut forms = Vec::new();
    if let Ok(reference) = Reference::parse(image) {
        forms.push(reference.repository_name());
        if reference.registry() == DOCKER_HUB_REGISTRY {
            forms.push(alloc::format!("docker.io/{}", reference.repository()));
        }
    }
    let (as_written, _, _) = crate::oci::reference::split(image);
    if !as_written.is_empty() && !forms.iter().any(|form| form == as_written) {
        forms.push(as_written.into());
    }
    forms
}

/// The payload cosign writes for `docker_reference` at `digest`, byte for byte: Go's compact
/// `encoding/json` output of cosign's struct (fields in declaration order, map keys sorted,
/// HTML-safe string escapes). `optional` is `null` when there are no annotations.
pub fn cosign_payload(
    docker_reference: &str,
    digest: &Sha256Digest,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"critical":{"identity":{"docker-reference":"#);
    push_go_string(&mut out, docker_reference);
    out.push_str(r#"},"image":{"docker-manifest-digest":"#);
    push_go_string(&mut out, &digest.to_string());
    out.push_str(r#"},"type":"#);
    push_go_string(&mut out, COSIGN_PAYLOAD_TYPE);
    out.push_str(r#"},"optional":"#);
    if annotations.is_empty() {
        out.push_str("null");
    } else {
        out.push('{');
        for (i, (key, value)) in annotations.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_go_string(&mut out, key);
            out.push(':');
            push_go_string(&mut out, value);
        }
        out.push('}');
    }
    out.push('}');
    out.into_bytes()
}

/// Appends `text` as a JSON string the way Go's `encoding/json` escapes it.
fn push_go_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let code = u32::from(c);
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(HEX[((code >> shift) & 0xf) as usize]));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Evidence for `image` at `digest` whose blobs are the rebuilt payloads that match a layer of
/// `signature_manifest`. Layers without a match are reported as `payload_unavailable`.
///
/// The candidates are every [`docker_reference_forms`] with `optional` set to the policy's
/// annotations (or `null` when it names none).
pub fn rebuilt_evidence(
    image: &str,
    digest: Sha256Digest,
    signature_manifest: Option<String>,
    policy: &Policy,
) -> Evidence {
    let mut blobs = BTreeMap::new();
    if let Some(text) = &signature_manifest
        && text.len() as u64 <= policy.limits().max_manifest_bytes
        && let Ok(layers) = manifest::parse_layers(text.as_bytes())
    {
        let wanted: Vec<Sha256Digest> = layers
            .iter()
            .take(policy.limits().max_layers as usize)
            .map(|layer| layer.digest)
            .collect();
        for form in docker_reference_forms(image) {
            let candidate = cosign_payload(&form, &digest, policy.annotations());
            let candidate_digest = Sha256Digest::of(&candidate);
            if wanted.contains(&candidate_digest) {
                blobs.insert(candidate_digest, candidate);
            }
        }
    }
    Evidence::new(image.into(), digest, signature_manifest, blobs).with_rebuilt_payloads()
}

/// `evidence` with its payloads, and those of every platform it carries, rebuilt from the
/// policy as [`rebuilt_evidence`] rebuilds them: for hosts that cannot fetch blobs.
pub fn rebuild_payloads(evidence: &Evidence, policy: &Policy) -> Evidence {
    // The referrers stay: their bundles cannot be rebuilt, and the verdict says so
    // (`bundle_unavailable`) rather than "no signatures".
    let one = |e: &Evidence| {
        rebuilt_evidence(
            e.image(),
            e.digest(),
            e.signature_manifest().map(str::to_string),
            policy,
        )
        .with_referrers(e.referrers().to_vec())
    };
    let rebuilt = one(evidence);
    let platforms: Vec<Evidence> = evidence.platforms().map(one).collect();
    match (evidence.listed_platforms(), evidence.image_manifest()) {
        (Some(listed), _) => rebuilt.with_listed_platforms(listed.to_vec(), platforms),
        (None, Some(manifest)) => rebuilt.with_platforms(manifest.to_string(), platforms),
        (None, None) => rebuilt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_escapes_html_and_control_characters() {
        let mut out = String::new();
        push_go_string(&mut out, "a<b>&\"\\\n\u{1}\u{8}\u{2028}é");
        assert_eq!(out, r#""a\u003cb\u003e\u0026\"\\\n\u0001\b\u2028é""#);
    }

    #[test]
    fn reference_forms_cover_docker_hub_spellings() {
        assert_eq!(
            docker_reference_forms("busybox:1.36"),
            [
                "index.docker.io/library/busybox",
                "docker.io/library/busybox",
                "busybox"
            ]
        );
        assert_eq!(
            docker_reference_forms("127.0.0.1:5000/app:v1@sha256:abc"),
            ["127.0.0.1:5000/app"]
        );
    }
}
