//! The verification of one image: its signatures (`.sig` layers, then bundle referrers, until
//! the policy is satisfied), then, with `verifyPlatforms`, every manifest its index lists, then
//! the attestation rules.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::evidence::document::Evidence;
use crate::oci::manifest::Layer;
use crate::oci::platforms::{self, Listed};
use crate::oci::reference::Reference;
use crate::policy::compiled::Policy;
use crate::policy::document::Format;
use crate::verdict::outcome::{BundleResult, LayerResult, PlatformResult, Verdict};
use crate::verdict::reason::Reason;
use crate::verify::attestations::check_attestations;
use crate::verify::bundles::Target;
use crate::verify::context::Context;
use crate::verify::decide::{decide, is_satisfied};
use crate::verify::outcome::{Failure, Outcome};

/// Verifies `evidence` against `policy`.
///
/// Never fails: every problem is a denial with a [`Reason`]. The result depends on nothing but
/// the two arguments.
pub fn verify(policy: &Policy, evidence: &Evidence) -> Verdict {
    let mut verdict = verify_manifest(policy, evidence);
    if verdict.verified && policy.verify_platforms() {
        check_platforms(policy, evidence, &mut verdict);
    }
    if verdict.verified && !policy.attestations().is_empty() {
        check_attestations(policy, evidence, &mut verdict);
    }
    if !verdict.verified {
        // A host that reads the statements of a denial finds none.
        verdict.statements.clear();
    }
    verdict
}

/// The signatures of one manifest (the image, or one manifest an index lists).
fn verify_manifest(policy: &Policy, evidence: &Evidence) -> Verdict {
    let mut verdict = Verdict::denied(Reason::NoSignatures, String::new());
    verdict.image = Some(evidence.image().to_string());
    verdict.digest = Some(evidence.digest().to_string());
    verdict.policy_digest = Some(policy.digest().to_string());
    if policy.signer_count() == 0 {
        // A policy of attestation rules only: they decide, in `check_attestations`.
        if !policy.attestations().is_empty() {
            verdict.verified = true;
            verdict.reason = Reason::Verified;
        }
        return verdict;
    }
    match evaluate(policy, evidence, &mut verdict) {
        Ok(satisfied) => decide(policy, &satisfied, &mut verdict),
        Err(Failure(reason, message)) => {
            verdict.reason = reason;
            verdict.message = message;
        }
    }
    verdict
}

/// `verifyPlatforms`, once the index itself verified: every manifest it lists must verify
/// under the same policy. Which manifests those are comes from the index's exact bytes, which
/// must hash to the image digest (or, for a host that cannot send them, from its list).
fn check_platforms(policy: &Policy, evidence: &Evidence, verdict: &mut Verdict) {
    let mut deny = |reason: Reason, message: String| {
        verdict.verified = false;
        verdict.reason = reason;
        verdict.message = message;
    };
    let listed: Vec<Listed> = match (evidence.listed_platforms(), evidence.image_manifest()) {
        (Some(digests), _) => digests
            .iter()
            .map(|digest| Listed {
                digest: *digest,
                platform: None,
            })
            .collect(),
        (None, Some(manifest)) => {
            let actual = Sha256Digest::of(manifest.as_bytes());
            if actual != evidence.digest() {
                return deny(
                    Reason::InvalidEvidence,
                    format!(
                        "imageManifest hashes to {actual}, not the image digest {}",
                        evidence.digest()
                    ),
                );
            }
            match platforms::listed_manifests(manifest.as_bytes()) {
                Ok(Some(listed)) => listed,
                // Not an index: the image is its only manifest, and it verified.
                Ok(None) => return,
                Err(msg) => {
                    return deny(Reason::InvalidEvidence, format!("imageManifest: {msg}"));
                }
            }
        }
        (None, None) => {
            return deny(
                Reason::PlatformNotVerified,
                "the policy asks every platform manifest to verify (verifyPlatforms), and the \
                 evidence lacks the image manifest that says which there are; fetch with \
                 `ocisig fetch --platforms`"
                    .into(),
            );
        }
    };
    if listed.len() > crate::limits::MAX_PLATFORMS {
        return deny(
            Reason::LimitExceeded,
            format!(
                "the index lists {} manifests; the most accepted is {}",
                listed.len(),
                crate::limits::MAX_PLATFORMS
            ),
        );
    }
    let mut failed = Vec::new();
    for entry in &listed {
        let result = match evidence.platform(&entry.digest) {
            Some(platform) => {
                let inner = verify_manifest(policy, platform);
                PlatformResult {
                    digest: entry.digest.to_string(),
                    platform: entry.platform.clone(),
                    verified: inner.verified,
                    reason: inner.reason,
                    message: inner.message,
                }
            }
            None => PlatformResult {
                digest: entry.digest.to_string(),
                platform: entry.platform.clone(),
                verified: false,
                reason: Reason::InvalidEvidence,
                message: "the evidence has nothing for this manifest".into(),
            },
        };
        if !result.verified {
            failed.push(format!(
                "{} ({}): {}",
                result.platform.as_deref().unwrap_or("manifest"),
                result.digest,
                result.reason
            ));
        }
        verdict.platforms.push(result);
    }
    if failed.is_empty() {
        verdict.message = format!(
            "{}, and each of the {} manifests the index lists",
            verdict.message,
            listed.len()
        );
    } else {
        deny(
            Reason::PlatformNotVerified,
            format!(
                "{} of the {} manifests the index lists did not verify: {}",
                failed.len(),
                listed.len(),
                failed.join("; ")
            ),
        );
    }
}

/// Runs the `.sig` layers and then the bundle referrers, each until the policy is satisfied;
/// returns which keys verified a signature in either format.
fn evaluate(
    policy: &Policy,
    evidence: &Evidence,
    verdict: &mut Verdict,
) -> Result<Vec<bool>, Failure> {
    let expected_repository = if policy.match_reference() {
        let reference = Reference::parse(evidence.image()).map_err(|msg| {
            Failure(
                Reason::InvalidEvidence,
                format!("matchReference needs a registry reference as the image: {msg}"),
            )
        })?;
        Some(reference.repository_name())
    } else {
        None
    };
    let context = Context {
        policy,
        evidence,
        expected_repository: expected_repository.as_deref(),
    };
    let layers = policy.accepts(Format::Simplesigning) && evidence.signature_manifest().is_some();
    let bundles = policy.accepts(Format::Bundle) && !evidence.referrers().is_empty();
    if !layers && !bundles {
        return Err(Failure(
            Reason::NoSignatures,
            no_signatures(policy, evidence),
        ));
    }
    let mut satisfied = alloc::vec![false; policy.signer_count()];
    let mut layer_failure = None;
    if layers && let Err(failure) = context.layers(&mut verdict.signatures, &mut satisfied) {
        layer_failure = Some(failure);
    }
    if bundles && !is_satisfied(policy, &satisfied) {
        context.bundles(&mut verdict.bundles, &mut satisfied);
    }
    match layer_failure {
        // The `.sig` manifest as a whole failed and no bundle was there to look at instead.
        Some(failure) if verdict.bundles.is_empty() => Err(failure),
        _ => Ok(satisfied),
    }
}

/// Why there is nothing to verify, naming what the policy's `formats` set aside.
fn no_signatures(policy: &Policy, evidence: &Evidence) -> String {
    let mut message = format!(
        "no signature manifest and no Sigstore bundle for {}",
        evidence.digest()
    );
    if !policy.accepts(Format::Simplesigning) && evidence.signature_manifest().is_some() {
        message
            .push_str("; a .sig manifest exists, and the policy's formats exclude simplesigning");
    }
    if !policy.accepts(Format::Bundle) && !evidence.referrers().is_empty() {
        message.push_str(&format!(
            "; {} bundle referrer(s) exist, and the policy's formats exclude bundle",
            evidence.referrers().len()
        ));
    }
    message
}

impl Context<'_> {
    /// The `.sig` layers, in order, until the policy is satisfied.
    fn layers(
        &self,
        results: &mut Vec<LayerResult>,
        satisfied: &mut [bool],
    ) -> Result<(), Failure> {
        let policy = self.policy;
        let Some(manifest_text) = self.evidence.signature_manifest() else {
            return Ok(());
        };
        let layers = self.manifest_layers(manifest_text, "signature", Reason::NoSignatures)?;
        // A layer identical to an earlier one gets that layer's outcome without a second round
        // of signature checks: a manifest of 1000 copies of one signature costs one check.
        let mut seen: BTreeMap<&Layer, Outcome> = BTreeMap::new();
        for (index, layer) in layers.iter().enumerate() {
            let outcome = match seen.get(layer) {
                Some(earlier) => earlier.clone(),
                None => {
                    let outcome = self.check_layer(layer);
                    seen.insert(layer, outcome.clone());
                    outcome
                }
            };
            if outcome.status == Reason::Verified
                && let Some(key) = outcome.key
            {
                satisfied[key] = true;
            }
            results.push(outcome.layer_result(policy, index));
            if is_satisfied(policy, satisfied) {
                break;
            }
        }
        Ok(())
    }

    /// The bundle referrers, in evidence order, until the policy is satisfied. Identical
    /// referrer manifests are checked once.
    fn bundles(&self, results: &mut Vec<BundleResult>, satisfied: &mut [bool]) {
        let mut seen: BTreeMap<&str, Outcome> = BTreeMap::new();
        for text in self.evidence.referrers() {
            let outcome = match seen.get(text.as_str()) {
                Some(earlier) => earlier.clone(),
                None => {
                    let outcome = self.check_referrer(
                        text.as_bytes(),
                        &Target::Image {
                            digest: self.evidence.digest(),
                            expected_repository: self.expected_repository,
                        },
                    );
                    seen.insert(text, outcome.clone());
                    outcome
                }
            };
            if outcome.status == Reason::Verified
                && let Some(key) = outcome.key
            {
                satisfied[key] = true;
            }
            results.push(
                outcome.bundle_result(self.policy, Sha256Digest::of(text.as_bytes()).to_string()),
            );
            if is_satisfied(self.policy, satisfied) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::{
        IMAGE, Layer, Log, REPOSITORY, Signer, cosign_payload, evidence, hashedrekord,
        image_digest, json_of, policy, run,
    };
    use crate::verdict::reason::Reason;

    #[test]
    fn a_signed_layer_verifies_and_each_lie_is_refused_for_its_reason() {
        let alice = Signer::new("alice", 1);
        let payload = cosign_payload(&image_digest(), REPOSITORY);
        let good = Layer::signed(&alice, payload.clone());
        let verdict = run(&policy(&[&alice], json!({})), &evidence(Some(&[good]), &[]));
        assert!(verdict.verified(), "{}", verdict.to_json());
        assert_eq!(verdict.message(), "signed by alice (threshold 1)");

        // The blob is not what the descriptor names.
        let mut tampered = Layer::signed(&alice, payload.clone());
        tampered.blob = Some(b"{}".to_vec());
        let verdict = run(
            &policy(&[&alice], json!({})),
            &evidence(Some(&[tampered]), &[]),
        );
        assert_eq!(verdict.reason(), Reason::PayloadSizeMismatch);

        // Another key signed it.
        let mallory = Signer::new("mallory", 2);
        let forged = Layer::signed(&mallory, payload.clone());
        let verdict = run(
            &policy(&[&alice], json!({})),
            &evidence(Some(&[forged]), &[]),
        );
        assert_eq!(verdict.reason(), Reason::NoMatchingSignature);

        // A valid signature of another image.
        let other = Layer::signed(
            &alice,
            cosign_payload(
                &crate::crypto::digest::Sha256Digest::of(b"other"),
                REPOSITORY,
            ),
        );
        let verdict = run(
            &policy(&[&alice], json!({})),
            &evidence(Some(&[other]), &[]),
        );
        assert_eq!(verdict.reason(), Reason::ClaimDigestMismatch);

        // With matchReference, a payload that names another repository.
        let elsewhere = Layer::signed(
            &alice,
            cosign_payload(&image_digest(), "registry.example/other/app"),
        );
        let strict = policy(&[&alice], json!({"matchReference": true}));
        let verdict = run(&strict, &evidence(Some(&[elsewhere]), &[]));
        assert_eq!(verdict.reason(), Reason::ReferenceMismatch);

        // An annotation the policy requires and the payload lacks.
        let annotated = policy(&[&alice], json!({"annotations": {"env": "prod"}}));
        let plain = Layer::signed(&alice, payload.clone());
        let verdict = run(&annotated, &evidence(Some(&[plain]), &[]));
        assert_eq!(verdict.reason(), Reason::AnnotationMismatch);

        // Nothing at all.
        let verdict = run(&policy(&[&alice], json!({})), &evidence(None, &[]));
        assert_eq!(verdict.reason(), Reason::NoSignatures);
        assert!(verdict.message().contains(IMAGE) || verdict.message().contains("sha256:"));
    }

    #[test]
    fn thresholds_count_distinct_keys_and_required_names_must_sign() {
        let (alice, bob) = (Signer::new("alice", 1), Signer::new("bob", 2));
        let payload = cosign_payload(&image_digest(), REPOSITORY);
        let two = policy(&[&alice, &bob], json!({"threshold": 2}));
        let once = Layer::signed(&alice, payload.clone());
        let twice = Layer::signed(&alice, payload.clone());
        let verdict = run(&two, &evidence(Some(&[once, twice]), &[]));
        assert_eq!(verdict.reason(), Reason::ThresholdNotMet);
        let both = [
            Layer::signed(&alice, payload.clone()),
            Layer::signed(&bob, payload.clone()),
        ];
        assert!(run(&two, &evidence(Some(&both), &[])).verified());
        let required = policy(&[&alice, &bob], json!({"required": ["bob"]}));
        let verdict = run(
            &required,
            &evidence(Some(&[Layer::signed(&alice, payload)]), &[]),
        );
        assert_eq!(verdict.reason(), Reason::RequiredKeyMissing);
    }

    #[test]
    fn the_rekor_mode_decides_what_a_layers_log_entry_must_be() {
        let alice = Signer::new("alice", 1);
        let log = Log(Signer::new("log", 9));
        let payload = cosign_payload(&image_digest(), REPOSITORY);
        let require = policy(
            &[&alice],
            json!({"rekor": {"publicKeys": [log.0.public_pem()], "mode": "require"}}),
        );
        // No entry, under require.
        let bare = Layer::signed(&alice, payload.clone());
        let verdict = run(&require, &evidence(Some(&[bare]), &[]));
        assert_eq!(verdict.reason(), Reason::TlogMissing);
        // An entry of this signature, and one of another.
        let mut logged = Layer::signed(&alice, payload.clone());
        logged.annotations = json!({"dev.sigstore.cosign/bundle": log.bundle(
            &hashedrekord(&payload, &logged.signature, &alice), 1_700_000_000)});
        let verdict = run(&require, &evidence(Some(&[logged]), &[]));
        assert!(verdict.verified(), "{}", verdict.to_json());
        assert_eq!(json_of(&verdict)["signatures"][0]["logIndex"], 42);
        let mut swapped = Layer::signed(&alice, payload.clone());
        swapped.annotations = json!({"dev.sigstore.cosign/bundle": log.bundle(
            &hashedrekord(&payload, "c2lnbmF0dXJl", &alice), 1_700_000_000)});
        let verdict = run(&require, &evidence(Some(&[swapped]), &[]));
        assert_eq!(verdict.reason(), Reason::TlogVerificationFailed);
        // ignore reads no entry at all.
        let ignore = policy(&[&alice], json!({"rekor": {"mode": "ignore"}}));
        let mut garbage = Layer::signed(&alice, payload);
        garbage.annotations = json!({"dev.sigstore.cosign/bundle": "not json"});
        assert!(run(&ignore, &evidence(Some(&[garbage]), &[])).verified());
    }
}
