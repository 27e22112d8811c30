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
