//! Read-only views for people: what a key is, what a piece of evidence holds, and the order of
//! the per-layer checks with what each failure means. Nothing here decides a verdict; the
//! payload fields are shown *unverified* and only `crate::verify::image` says whether they count.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Serialize;

use crate::claim::simple_signing;
use crate::crypto::digest::Sha256Digest;
use crate::crypto::keys::PublicKey;
use crate::evidence::document::Evidence;
use crate::oci::manifest::{self, SIGNATURE_ANNOTATION};
use crate::sigstore::rekor::BUNDLE_ANNOTATION;
use crate::verdict::reason::Reason;

/// What a public key is.
#[derive(Clone, Debug, Serialize)]
pub struct KeyDescription {
    /// `ECDSA P-256`, `RSA 3072`, `Ed25519`.
    pub kind: String,
    /// `ecdsa-p256`, `rsa-3072-pkcs1v15`, `ed25519`.
    pub algorithm: String,
    /// `sha256:` of the DER SubjectPublicKeyInfo.
    pub fingerprint: String,
}

/// Describes a PEM public key.
///
/// # Errors
/// The same messages a policy gets for the key.
pub fn describe_key(pem: &str) -> Result<KeyDescription, crate::crypto::keys::KeyError> {
    let key = PublicKey::from_pem(pem)?;
    Ok(KeyDescription {
        kind: key.kind(),
        algorithm: key.algorithm(),
        fingerprint: key.fingerprint().to_string(),
    })
}

/// An evidence document laid out for display.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceSummary {
    /// The image reference.
    pub image: String,
    /// The image digest being admitted.
    pub digest: String,
    /// Why the `.sig` manifest could not be read, if it could not.
    pub manifest_error: Option<String>,
    /// The layers of the `.sig` manifest.
    pub layers: Vec<LayerSummary>,
}

/// One `.sig` layer and the blob the evidence holds for it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerSummary {
    /// Index in the manifest, from 0.
    pub index: usize,
    /// The descriptor's media type.
    pub media_type: String,
    /// The descriptor's digest.
    pub digest: String,
    /// The descriptor's size.
    pub size: u64,
    /// The base64 signature annotation, if any.
    pub signature: Option<String>,
    /// Whether a Rekor bundle annotation is attached.
    pub has_bundle: bool,
    /// The other annotations.
    pub annotations: BTreeMap<String, String>,
    /// The blob, when the evidence has one.
    pub payload: Option<PayloadSummary>,
}

/// A payload blob, decoded but not verified.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadSummary {
    /// The blob as text (invalid UTF-8 replaced).
    pub text: String,
    /// The blob's sha256.
    pub sha256: String,
    /// Whether that equals the descriptor's digest.
    pub digest_matches: bool,
    /// `critical.image.docker-manifest-digest`, when the payload parses.
    pub claimed_digest: Option<String>,
    /// Whether the claimed digest is the image digest.
    pub claim_matches_image: bool,
    /// `critical.identity.docker-reference`.
    pub docker_reference: Option<String>,
    /// The `optional` annotations.
    pub optional: serde_json::Map<String, serde_json::Value>,
    /// Why the payload does not parse as simple signing, if it does not.
    pub parse_error: Option<String>,
}

/// Lays out `evidence` for display.
pub fn summarize_evidence(evidence: &Evidence) -> EvidenceSummary {
    let image_digest = evidence.digest().to_string();
    let mut summary = EvidenceSummary {
        image: evidence.image().to_string(),
        digest: image_digest.clone(),
        manifest_error: None,
        layers: Vec::new(),
    };
    let Some(text) = evidence.signature_manifest() else {
        summary.manifest_error = Some("the evidence has no signature manifest".into());
        return summary;
    };
    let layers = match manifest::parse_layers(text.as_bytes()) {
        Ok(layers) => layers,
        Err(err) => {
            summary.manifest_error = Some(err.to_string());
            return summary;
        }
    };
    for (index, layer) in layers.into_iter().enumerate() {
        let mut annotations = layer.annotations;
        let signature = annotations.remove(SIGNATURE_ANNOTATION);
        let has_bundle = annotations.remove(BUNDLE_ANNOTATION).is_some();
        let payload = evidence.blob(&layer.digest).map(|blob| {
            let sha256 = Sha256Digest::of(blob);
            let parsed = simple_signing::parse(blob);
            let (claimed_digest, docker_reference, optional, parse_error) = match parsed {
                Ok(p) => (
                    Some(p.manifest_digest),
                    p.docker_reference,
                    p.optional,
                    None,
                ),
                Err(err) => (None, None, serde_json::Map::new(), Some(err.into())),
            };
            PayloadSummary {
                text: String::from_utf8_lossy(blob).into_owned(),
                sha256: sha256.to_string(),
                digest_matches: sha256 == layer.digest,
                claim_matches_image: claimed_digest.as_deref() == Some(image_digest.as_str()),
                claimed_digest,
                docker_reference,
                optional,
                parse_error,
            }
        });
        summary.layers.push(LayerSummary {
            index,
            media_type: layer.media_type,
            digest: layer.digest.to_string(),
            size: layer.size,
            signature,
            has_bundle,
            annotations,
            payload,
        });
    }
    summary
}

/// One per-layer check, in the order `crate::verify::image` runs them.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LayerCheck {
    /// The layer status when this check fails.
    pub status: Reason,
    /// What the check asks.
    pub check: &'static str,
    /// What its failure means, in plain words.
    pub failure: &'static str,
}

/// The per-layer checks, in order. A layer's status is the first that failed, or `verified`.
pub const LAYER_CHECKS: [LayerCheck; 13] = [
    LayerCheck {
        status: Reason::WrongMediaType,
        check: "The layer is a cosign simple-signing layer",
        failure: "This layer is not a cosign signature, so it cannot vouch for the image.",
    },
    LayerCheck {
        status: Reason::LimitExceeded,
        check: "The payload is within the size limit",
        failure: "The layer claims a payload larger than the policy allows; it was not read.",
    },
    LayerCheck {
        status: Reason::PayloadMissing,
        check: "The payload is present",
        failure: "The evidence does not include the signed payload for this layer.",
    },
    LayerCheck {
        status: Reason::PayloadSizeMismatch,
        check: "The payload has the size the manifest states",
        failure: "The payload is not the length the signature manifest records: it was changed or swapped.",
    },
    LayerCheck {
        status: Reason::PayloadDigestMismatch,
        check: "The payload hashes to the digest the manifest states",
        failure: "The payload's bytes are not the ones the signature manifest names: it was altered.",
    },
    LayerCheck {
        status: Reason::MalformedSignature,
        check: "The signature is well-formed",
        failure: "The signature annotation is missing, not base64, or not a signature of the keys' type.",
    },
    LayerCheck {
        status: Reason::NoMatchingSignature,
        check: "The signature verifies under a trusted key",
        failure: "None of the trusted keys made this signature over these exact bytes.",
    },
    LayerCheck {
        status: Reason::TlogMissing,
        check: "A transparency-log bundle is present (when required)",
        failure: "The policy requires a Rekor bundle and this signature has none.",
    },
    LayerCheck {
        status: Reason::TlogVerificationFailed,
        check: "The transparency-log bundle verifies",
        failure: "The Rekor bundle is not signed by a trusted log, or logs another payload, signature or key.",
    },
    LayerCheck {
        status: Reason::MalformedPayload,
        check: "The signed payload is a cosign simple-signing document",
        failure: "The signed bytes are not a cosign payload, so they say nothing about an image.",
    },
    LayerCheck {
        status: Reason::ClaimDigestMismatch,
        check: "The payload names this image's digest",
        failure: "The signature is genuine but for another image: it was copied onto this one.",
    },
    LayerCheck {
        status: Reason::ReferenceMismatch,
        check: "The payload names this repository (when required)",
        failure: "The signature names another repository than the image's.",
    },
    LayerCheck {
        status: Reason::AnnotationMismatch,
        check: "The payload carries the required annotations",
        failure: "The signed annotations lack one the policy requires, or give it another value.",
    },
];

/// The certificate checks of a keyless signature (a Fulcio certificate in a Sigstore bundle or
/// a `.sig` layer's annotation), in the order `crate::verify::bundles` runs them, before the payload
/// checks. A keyless result's status is the first that failed, or a payload status, or
/// `verified`.
pub const KEYLESS_CHECKS: [LayerCheck; 8] = [
    LayerCheck {
        status: Reason::NoMatchingSignature,
        check: "The signature verifies under the signing certificate's key",
        failure: "The certificate's key did not make this signature over these exact bytes.",
    },
    LayerCheck {
        status: Reason::TlogVerificationFailed,
        check: "The transparency-log entry records this signature by this certificate",
        failure: "The log entry is not signed by a trusted log, or records another signature, payload or certificate.",
    },
    LayerCheck {
        status: Reason::TimestampInvalid,
        check: "Each signed timestamp is over this signature, by a trusted timestamp authority",
        failure: "A signed timestamp is malformed, over something else, or from an authority the trusted root does not list.",
    },
    LayerCheck {
        status: Reason::NoVerifiedTime,
        check: "The evidence proves when the certificate signed",
        failure: "No verified timestamp and no log entry with an inclusion promise: nothing says the ten-minute certificate was valid when it signed.",
    },
    LayerCheck {
        status: Reason::CertificateOutsideValidity,
        check: "The certificate was valid at that time",
        failure: "The certificate had expired, or was not yet valid, when the evidence says it signed.",
    },
    LayerCheck {
        status: Reason::UntrustedCertificate,
        check: "The certificate chains to a Fulcio CA of the trusted root, and may sign code",
        failure: "The certificate was not issued by a certificate authority the trusted root lists (for that time), is not a code-signing certificate, or a certificate of the path breaks a path rule (a critical extension ocisig does not process, a CA's constraints).",
    },
    LayerCheck {
        status: Reason::SctInvalid,
        check: "The certificate was published in a trusted certificate-transparency log",
        failure: "No embedded SCT verifies under a CT log of the trusted root: the certificate may have been issued in secret.",
    },
    LayerCheck {
        status: Reason::IdentityMismatch,
        check: "The certificate names an identity the policy trusts (issuer and subject)",
        failure: "The certificate is genuine, but issued to someone the policy does not list.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/contracts.md` states the one order of every signature status; it must be the
    /// order of [`Reason::progress`], and name every status that has a place.
    #[test]
    fn the_contract_states_the_progress_order() {
        let contract = include_str!("../../docs/contracts.md");
        let start = contract
            .find("The order, from least to furthest:")
            .unwrap_or_else(|| unreachable!("the contract states the order"));
        let sentence = &contract[start..];
        let sentence = &sentence[..sentence.find(". So").unwrap_or(sentence.len())];
        let listed: Vec<&str> = sentence.split('`').skip(1).step_by(2).collect();
        let progress = |code: &str| {
            Reason::ALL
                .iter()
                .find(|r| r.code() == code)
                .map(|r| r.progress())
                .unwrap_or_else(|| unreachable!("{code} is not a reason"))
        };
        let places: Vec<u8> = listed.iter().map(|code| progress(code)).collect();
        assert!(
            places.windows(2).all(|w| w[0] <= w[1]),
            "{listed:?}: {places:?}"
        );
        for reason in Reason::ALL
            .iter()
            .filter(|r| r.progress() > 0 && **r != Reason::Verified)
        {
            assert!(
                listed.contains(&reason.code()),
                "{} is not listed",
                reason.code()
            );
        }
    }

    /// Each list of checks runs in the order of [`Reason::progress`].
    #[test]
    fn the_check_lists_are_in_progress_order() {
        for (name, list) in [
            ("layer", &LAYER_CHECKS[..]),
            ("keyless", &KEYLESS_CHECKS[..]),
        ] {
            let progress: Vec<u8> = list.iter().map(|c| c.status.progress()).collect();
            assert!(
                progress.windows(2).all(|w| w[0] < w[1]),
                "{name}: {progress:?}"
            );
        }
        assert_eq!(LAYER_CHECKS[0].status.progress(), 1);
    }

    /// The keyless checks as `docs/contracts.md` states them (steps k2 to k7): each step's
    /// statuses are checks of [`KEYLESS_CHECKS`], in its order.
    #[test]
    fn the_contract_states_the_keyless_checks_in_this_order() {
        let contract = include_str!("../../docs/contracts.md");
        let start = contract
            .find("- k2.")
            .unwrap_or_else(|| unreachable!("the contract states k2"));
        let end = start
            + contract[start..]
                .find("Then steps 8 to 12")
                .unwrap_or_else(|| unreachable!("the contract ends the keyless steps"));
        let mut order = Vec::new();
        for step in contract[start..end].split("\n- k").map(|s| s.trim()) {
            for code in step.split('`').skip(1).step_by(2) {
                if let Some(check) = KEYLESS_CHECKS.iter().position(|c| c.status.code() == code)
                    && !order.contains(&check)
                {
                    order.push(check);
                }
            }
        }
        let expected: Vec<usize> = (0..KEYLESS_CHECKS.len()).collect();
        assert_eq!(
            order, expected,
            "the contract names the keyless checks in another order"
        );
    }
}
