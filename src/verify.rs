//! The verification itself: the per-layer checks, in order, and the verdict they add up to.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::attestation::{
    AttestationRule, DSSE_ENVELOPE_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION, predicate_for_verdict,
};
use crate::bundle;
use crate::certificate::Certificate;
use crate::digest::Sha256Digest;
use crate::evidence::Evidence;
use crate::fetch::{BlobMismatch, check_blob};
use crate::manifest::{self, Layer, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE};
use crate::payload;
use crate::policy::Format;
use crate::policy::{Policy, RekorMode};
use crate::reason::Reason;
use crate::reference::Reference;
use crate::referrer::{self, ReferrerError};
use crate::rekor::{self, BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, LogEntry, Logged, Signer};
use crate::sigstore;
use crate::statement::{IN_TOTO_PAYLOAD_TYPE, Statement};
use crate::verdict::{AttestationResult, BundleResult, LayerResult, Verdict, VerifiedStatement};

/// A check that failed: the status it gives, and a sentence for people.
struct Failure(Reason, String);

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
    let listed: Vec<crate::platforms::Listed> =
        match (evidence.listed_platforms(), evidence.image_manifest()) {
            (Some(digests), _) => digests
                .iter()
                .map(|digest| crate::platforms::Listed {
                    digest: *digest,
                    platform: None,
                })
                .collect(),
            (None, Some(manifest)) => {
                let actual = crate::Sha256Digest::of(manifest.as_bytes());
                if actual != evidence.digest() {
                    return deny(
                        Reason::InvalidEvidence,
                        format!(
                            "imageManifest hashes to {actual}, not the image digest {}",
                            evidence.digest()
                        ),
                    );
                }
                match crate::platforms::listed_manifests(manifest.as_bytes()) {
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
                crate::verdict::PlatformResult {
                    digest: entry.digest.to_string(),
                    platform: entry.platform.clone(),
                    verified: inner.verified,
                    reason: inner.reason,
                    message: inner.message,
                }
            }
            None => crate::verdict::PlatformResult {
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
    let context = LayerContext {
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

fn is_satisfied(policy: &Policy, satisfied: &[bool]) -> bool {
    let count = satisfied.iter().filter(|s| **s).count();
    count >= policy.threshold()
        && satisfied
            .iter()
            .enumerate()
            .all(|(i, ok)| *ok || !policy.required().contains(policy.signer_name(i)))
}

/// Turns the per-layer results into the top-level reason and message.
pub(crate) fn decide(policy: &Policy, satisfied: &[bool], verdict: &mut Verdict) {
    let names = |want: bool| -> Vec<String> {
        satisfied
            .iter()
            .enumerate()
            .filter(|(_, ok)| **ok == want)
            .map(|(i, _)| policy.signer_name(i).into())
            .collect()
    };
    verdict.satisfied_keys = names(true);
    let count = verdict.satisfied_keys.len();
    if is_satisfied(policy, satisfied) {
        verdict.verified = true;
        verdict.reason = Reason::Verified;
        // Keys that only a bundle verified say so; `.sig` signatures read as they always have.
        let signers: Vec<String> = verdict
            .satisfied_keys
            .iter()
            .map(|name| {
                let by_layer = verdict.signatures.iter().any(|r| {
                    r.status == Reason::Verified && r.key.as_deref() == Some(name.as_str())
                });
                if by_layer {
                    name.clone()
                } else {
                    format!("{name} (Sigstore bundle)")
                }
            })
            .collect();
        verdict.message = format!(
            "signed by {} (threshold {})",
            signers.join(", "),
            policy.threshold()
        );
    } else if count > 0 && count < policy.threshold() {
        verdict.reason = Reason::ThresholdNotMet;
        verdict.message = format!(
            "{count} of the {} distinct keys needed signed: {}",
            policy.threshold(),
            verdict.satisfied_keys.join(", ")
        );
    } else if count > 0 {
        let missing: Vec<String> = names(false)
            .into_iter()
            .filter(|n| policy.required().contains(n))
            .collect();
        verdict.reason = Reason::RequiredKeyMissing;
        verdict.message = format!("required key(s) did not sign: {}", missing.join(", "));
    } else {
        // Nothing verified: report the signature that got furthest. One whose signature
        // verified under a policy key beats one that did not; then the further in the check
        // order; ties go to the first, `.sig` layers before bundles.
        let layers = verdict.signatures.iter().map(|r| {
            (
                (r.key.is_some(), r.status.layer_progress()),
                r.status,
                format!("layer {}: {}", r.layer, r.message),
            )
        });
        let bundles = verdict.bundles.iter().map(|r| {
            (
                (r.key.is_some(), r.status.layer_progress()),
                r.status,
                format!("bundle {}: {}", r.referrer, r.message),
            )
        });
        let mut furthest: Option<((bool, u8), Reason, String)> = None;
        for candidate in layers.chain(bundles) {
            if furthest.as_ref().is_none_or(|best| candidate.0 > best.0) {
                furthest = Some(candidate);
            }
        }
        if let Some((_, reason, message)) = furthest {
            verdict.reason = reason;
            verdict.message = message;
        }
    }
}

/// The attestation rules, in policy order, once the signature rules are met: each must be met,
/// and the first that is not decides the denial. Each verified statement goes to the verdict.
fn check_attestations(policy: &Policy, evidence: &Evidence, verdict: &mut Verdict) {
    let mut met = Vec::with_capacity(policy.attestations().len());
    for rule in policy.attestations() {
        match check_rule(policy, rule, evidence, verdict) {
            Ok(described) => met.push(described),
            Err(Failure(reason, message)) => {
                verdict.verified = false;
                verdict.reason = reason;
                verdict.message = format!("attestation rule {:?}: {message}", rule.name());
                return;
            }
        }
    }
    let attested = format!("attested: {}", met.join("; "));
    verdict.message = if policy.signer_count() == 0 {
        attested
    } else {
        format!("{}; {attested}", verdict.message)
    };
}

/// One attestation rule: the `.att` layers, then the bundle referrers, each checked under the
/// rule's signers until their threshold is met. Returns words for what met it.
fn check_rule(
    policy: &Policy,
    rule: &AttestationRule,
    evidence: &Evidence,
    verdict: &mut Verdict,
) -> Result<String, Failure> {
    let signers = rule.signers();
    let context = LayerContext {
        policy: signers,
        evidence,
        expected_repository: None,
    };
    let legacy = policy.accepts(Format::Simplesigning) && evidence.attestation_manifest().is_some();
    let bundles = policy.accepts(Format::Bundle) && !evidence.referrers().is_empty();
    if !legacy && !bundles {
        return Err(Failure(
            Reason::NoAttestations,
            format!(
                "no .att manifest and no Sigstore bundle for {}",
                evidence.digest()
            ),
        ));
    }
    let first = verdict.attestations.len();
    let mut satisfied = alloc::vec![false; signers.signer_count()];
    let mut manifest_failure = None;
    if legacy {
        match context.attestation_layers(rule, verdict, &mut satisfied) {
            Ok(()) => {}
            Err(failure @ Failure(Reason::PredicateTypeMismatch, _)) => return Err(failure),
            Err(failure) => manifest_failure = Some(failure),
        }
    }
    if bundles && !is_satisfied(signers, &satisfied) {
        context.attestation_bundles(rule, verdict, &mut satisfied);
    }
    if is_satisfied(signers, &satisfied) {
        let by: Vec<&str> = satisfied
            .iter()
            .enumerate()
            .filter(|(_, ok)| **ok)
            .map(|(i, _)| signers.signer_name(i))
            .collect();
        return Ok(format!("{} by {}", rule.name(), by.join(", ")));
    }
    let results = &verdict.attestations[first..];
    let count = satisfied.iter().filter(|ok| **ok).count();
    if count > 0 && count < signers.threshold() {
        return Err(Failure(
            Reason::ThresholdNotMet,
            format!(
                "{count} of the {} distinct signers needed signed a {:?} statement",
                signers.threshold(),
                rule.predicate_type()
            ),
        ));
    }
    if count > 0 {
        let missing: Vec<&str> = (0..satisfied.len())
            .filter(|i| !satisfied[*i])
            .map(|i| signers.signer_name(i))
            .filter(|name| signers.required().contains(*name))
            .collect();
        return Err(Failure(
            Reason::RequiredKeyMissing,
            format!("required signer(s) did not sign: {}", missing.join(", ")),
        ));
    }
    if let (Some(failure), true) = (manifest_failure, results.is_empty()) {
        return Err(failure);
    }
    // Nothing met the rule: report the attestation that got furthest. A verified signature
    // beats none; a statement of the rule's type beats one of another; ties go to the first.
    let mut furthest: Option<&AttestationResult> = None;
    for result in results {
        let rank =
            |r: &AttestationResult| (r.key.is_some(), r.status != Reason::PredicateTypeMismatch);
        if furthest.is_none_or(|best| rank(result) > rank(best)) {
            furthest = Some(result);
        }
    }
    Err(match furthest {
        Some(result) => Failure(
            result.status,
            format!("{} {}: {}", result.format, result.source, result.message),
        ),
        None => Failure(
            Reason::NoAttestations,
            format!("no attestation of type {:?}", rule.predicate_type()),
        ),
    })
}

/// One attestation's outcome, before it goes to the verdict.
#[derive(Clone)]
struct Attested {
    outcome: LayerOutcome,
    predicate_type: Option<String>,
    statement: Option<Statement>,
    /// An `.att` layer whose annotation named the rule's type over a statement of another.
    disagreement: bool,
}

impl Attested {
    fn fail(status: Reason, key: Option<usize>, message: String) -> Self {
        Self {
            outcome: LayerOutcome::fail(status, key, message),
            predicate_type: None,
            statement: None,
            disagreement: false,
        }
    }
}

#[derive(Clone)]
struct LayerOutcome {
    status: Reason,
    key: Option<usize>,
    message: String,
    log_entry: Option<LogEntry>,
}

impl LayerOutcome {
    fn fail(status: Reason, key: Option<usize>, message: String) -> Self {
        Self {
            status,
            key,
            message,
            log_entry: None,
        }
    }
}

struct LayerContext<'a> {
    policy: &'a Policy,
    evidence: &'a Evidence,
    expected_repository: Option<&'a str>,
}

impl LayerContext<'_> {
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
        let mut seen: BTreeMap<&Layer, LayerOutcome> = BTreeMap::new();
        for (index, layer) in layers.iter().enumerate() {
            let outcome = match seen.get(layer) {
                Some(earlier) => earlier.clone(),
                None => {
                    let outcome = self.check(layer);
                    seen.insert(layer, outcome.clone());
                    outcome
                }
            };
            if outcome.status == Reason::Verified
                && let Some(key) = outcome.key
            {
                satisfied[key] = true;
            }
            results.push(LayerResult {
                layer: u32::try_from(index).unwrap_or(u32::MAX),
                status: outcome.status,
                key: outcome.key.map(|k| policy.signer_name(k).into()),
                message: outcome.message,
                integrated_time: outcome.log_entry.and_then(|e| e.integrated_time),
                log_index: outcome.log_entry.map(|e| e.log_index),
            });
            if is_satisfied(policy, satisfied) {
                break;
            }
        }
        Ok(())
    }

    /// The bundle referrers, in evidence order, until the policy is satisfied. Identical
    /// referrer manifests are checked once.
    fn bundles(&self, results: &mut Vec<BundleResult>, satisfied: &mut [bool]) {
        let mut seen: BTreeMap<&str, sigstore::Outcome> = BTreeMap::new();
        for text in self.evidence.referrers() {
            let outcome = match seen.get(text.as_str()) {
                Some(earlier) => earlier.clone(),
                None => {
                    let outcome = self.check_referrer(
                        text.as_bytes(),
                        &sigstore::Target::Image {
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
            results
                .push(outcome.result(self.policy, Sha256Digest::of(text.as_bytes()).to_string()));
            if is_satisfied(self.policy, satisfied) {
                break;
            }
        }
    }

    /// The checks of one referrer manifest and its bundle: a bundle referrer whose subject is
    /// this image, whose bundle blob is exactly what its layer names, and whose bundle verifies
    /// ([`sigstore::check_bundle`]).
    fn check_referrer(&self, manifest: &[u8], target: &sigstore::Target<'_>) -> sigstore::Outcome {
        let max = self.policy.limits().max_manifest_bytes;
        if u64::try_from(manifest.len()).unwrap_or(u64::MAX) > max {
            return sigstore::Outcome::fail(
                Reason::LimitExceeded,
                format!(
                    "the referrer manifest is {} bytes; the limit is {max}",
                    manifest.len()
                ),
            );
        }
        let referrer = match referrer::parse_bundle_referrer(manifest) {
            Ok(referrer) => referrer,
            Err(ReferrerError::NotABundle(msg)) => {
                return sigstore::Outcome::fail(
                    Reason::WrongMediaType,
                    format!("the referrer is not a Sigstore bundle: {msg}"),
                );
            }
            Err(err) => {
                return sigstore::Outcome::fail(
                    Reason::MalformedBundle,
                    format!("the referrer manifest: {err}"),
                );
            }
        };
        if referrer.subject != self.evidence.digest() {
            return sigstore::Outcome::fail(
                Reason::SubjectMismatch,
                format!(
                    "the referrer's subject is {}, not this image ({})",
                    referrer.subject,
                    self.evidence.digest()
                ),
            );
        }
        let max = crate::limits::MAX_SIGSTORE_BUNDLE_BYTES as u64;
        if referrer.size > max {
            return sigstore::Outcome::fail(
                Reason::LimitExceeded,
                format!(
                    "the bundle is {} bytes; the most accepted is {max}",
                    referrer.size
                ),
            );
        }
        let Some(blob) = self.evidence.blob(&referrer.digest) else {
            return if self.evidence.payloads_rebuilt() {
                sigstore::Outcome::fail(
                    Reason::BundleUnavailable,
                    format!(
                        "the host cannot fetch blobs, so the bundle {} could not be read",
                        referrer.digest
                    ),
                )
            } else {
                sigstore::Outcome::fail(
                    Reason::PayloadMissing,
                    format!("the evidence has no blob {}", referrer.digest),
                )
            };
        };
        match check_blob(blob, &referrer.digest, referrer.size) {
            Ok(()) => {}
            Err(BlobMismatch::Size { actual, expected }) => {
                return sigstore::Outcome::fail(
                    Reason::PayloadSizeMismatch,
                    format!("the bundle is {actual} bytes but its descriptor says {expected}"),
                );
            }
            Err(BlobMismatch::Digest { actual }) => {
                return sigstore::Outcome::fail(
                    Reason::PayloadDigestMismatch,
                    format!(
                        "the bundle hashes to {actual}, not its descriptor's {}",
                        referrer.digest
                    ),
                );
            }
        }
        sigstore::check_bundle(self.policy, blob, target)
    }

    /// The layers of a `.sig` or `.att` manifest (`kind`), within the policy's caps; a
    /// manifest without layers is `empty`.
    fn manifest_layers(
        &self,
        text: &str,
        kind: &str,
        empty: Reason,
    ) -> Result<Vec<Layer>, Failure> {
        let limits = self.policy.limits();
        let manifest_len = u64::try_from(text.len()).unwrap_or(u64::MAX);
        if manifest_len > limits.max_manifest_bytes {
            return Err(Failure(
                Reason::LimitExceeded,
                format!(
                    "{kind} manifest is {manifest_len} bytes; the limit is {}",
                    limits.max_manifest_bytes
                ),
            ));
        }
        let layers = manifest::parse_layers(text.as_bytes())
            .map_err(|msg| Failure(Reason::MalformedManifest, format!("{kind} manifest: {msg}")))?;
        if layers.is_empty() {
            return Err(Failure(empty, format!("{kind} manifest has no layers")));
        }
        let max_layers = usize::try_from(limits.max_layers).unwrap_or(usize::MAX);
        if layers.len() > max_layers {
            return Err(Failure(
                Reason::LimitExceeded,
                format!(
                    "{kind} manifest has {} layers; the limit is {max_layers}",
                    layers.len()
                ),
            ));
        }
        Ok(layers)
    }

    /// An attestation rule's `.att` layers, in order, until the rule's signers are satisfied.
    /// Identical layers are checked once.
    ///
    /// # Errors
    /// The manifest's own failure, or `predicate_type_mismatch` for a layer whose annotation
    /// names the rule's type and whose signed statement is of another: a denial.
    fn attestation_layers(
        &self,
        rule: &AttestationRule,
        verdict: &mut Verdict,
        satisfied: &mut [bool],
    ) -> Result<(), Failure> {
        let Some(text) = self.evidence.attestation_manifest() else {
            return Ok(());
        };
        let layers = self.manifest_layers(text, "attestation", Reason::NoAttestations)?;
        let mut seen: BTreeMap<&Layer, Vec<Attested>> = BTreeMap::new();
        for (index, layer) in layers.iter().enumerate() {
            let outcomes = match seen.get(layer) {
                Some(earlier) => earlier.clone(),
                None => {
                    let outcomes = self.check_attestation_layer(layer, rule);
                    seen.insert(layer, outcomes.clone());
                    outcomes
                }
            };
            for attested in outcomes {
                let disagreement = attested.disagreement;
                let message = attested.outcome.message.clone();
                self.record(rule, "att", index.to_string(), attested, verdict, satisfied);
                if disagreement {
                    return Err(Failure(
                        Reason::PredicateTypeMismatch,
                        format!("att layer {index}: {message}"),
                    ));
                }
            }
            if is_satisfied(self.policy, satisfied) {
                break;
            }
        }
        Ok(())
    }

    /// An attestation rule's bundle referrers, in evidence order, until the rule's signers are
    /// satisfied. Identical referrer manifests are checked once.
    fn attestation_bundles(
        &self,
        rule: &AttestationRule,
        verdict: &mut Verdict,
        satisfied: &mut [bool],
    ) {
        let target = sigstore::Target::Attestation {
            digest: self.evidence.digest(),
            rule,
        };
        let mut seen: BTreeMap<&str, Attested> = BTreeMap::new();
        for text in self.evidence.referrers() {
            let attested = match seen.get(text.as_str()) {
                Some(earlier) => earlier.clone(),
                None => {
                    let outcome = self.check_referrer(text.as_bytes(), &target);
                    let attested = Attested {
                        outcome: LayerOutcome {
                            status: outcome.status,
                            key: outcome.key,
                            message: outcome.message,
                            log_entry: outcome.log_entry,
                        },
                        predicate_type: outcome.predicate_type,
                        statement: outcome.statement.map(|statement| *statement),
                        disagreement: false,
                    };
                    seen.insert(text, attested.clone());
                    attested
                }
            };
            let source = Sha256Digest::of(text.as_bytes()).to_string();
            self.record(rule, "bundle", source, attested, verdict, satisfied);
            if is_satisfied(self.policy, satisfied) {
                break;
            }
        }
    }

    /// The checks of one `.att` layer for a rule, in order, nothing of the statement read
    /// before a signature verified:
    /// 1. a layer annotated with another predicate type is passed over (no signature checked);
    /// 2. a DSSE envelope layer whose blob is what the descriptor names;
    /// 3. the envelope's signatures (1 to [`crate::limits::MAX_ENVELOPE_SIGNATURES`]), each
    ///    over DSSE's PAE, by a signer of the rule, with its Rekor bundle as the policy's mode
    ///    asks: every signature that verifies counts for its signer, each signer once;
    /// 4. an in-toto statement with a subject whose sha256 is the image digest;
    /// 5. of the rule's predicate type: when the annotation named the rule's type, a signed
    ///    statement of another is a disagreement, and a denial.
    ///
    /// Returns one outcome per signer whose signature verified, or the first signature's
    /// failure when none did.
    fn check_attestation_layer(&self, layer: &Layer, rule: &AttestationRule) -> Vec<Attested> {
        let annotated = layer.annotations.get(PREDICATE_TYPE_ANNOTATION);
        if let Some(annotated) = annotated
            && annotated != rule.predicate_type()
        {
            return alloc::vec![Attested::fail(
                Reason::PredicateTypeMismatch,
                None,
                format!("the layer is annotated as an attestation of type {annotated:?}"),
            )];
        }
        let blob = match self.authentic_blob(layer, DSSE_ENVELOPE_MEDIA_TYPE) {
            Ok(blob) => blob,
            Err(Failure(status, message)) => {
                return alloc::vec![Attested::fail(status, None, message)];
            }
        };
        let envelope = match bundle::parse_dsse_envelope(blob) {
            Ok(envelope) => envelope,
            Err(err) => {
                return alloc::vec![Attested::fail(
                    Reason::MalformedSignature,
                    None,
                    format!("the DSSE envelope: {err}"),
                )];
            }
        };
        let pae = bundle::pae(&envelope.payload_type, &envelope.payload);
        let logged = Logged::Envelope {
            payload_type: &envelope.payload_type,
            payload: &envelope.payload,
        };
        let mut verified: Vec<LayerOutcome> = Vec::new();
        let mut first_failure = None;
        for signature in &envelope.signatures {
            match self.layer_signer(layer, &pae, logged, signature) {
                Ok(signed) => {
                    if !verified.iter().any(|earlier| earlier.key == signed.key) {
                        verified.push(signed);
                    }
                }
                Err(outcome) => {
                    first_failure.get_or_insert(outcome);
                }
            }
        }
        if verified.is_empty() {
            return first_failure
                .map(|outcome| Attested {
                    outcome,
                    predicate_type: None,
                    statement: None,
                    disagreement: false,
                })
                .into_iter()
                .collect();
        }
        verified
            .into_iter()
            .map(|signed| self.check_attested_statement(signed, &envelope, annotated, rule))
            .collect()
    }

    /// Steps 4 and 5 of [`Self::check_attestation_layer`], for one signer whose signature
    /// over the envelope verified.
    fn check_attested_statement(
        &self,
        signed: LayerOutcome,
        envelope: &bundle::Envelope,
        annotated: Option<&String>,
        rule: &AttestationRule,
    ) -> Attested {
        let fail = |status: Reason, message: String| Attested {
            outcome: LayerOutcome {
                status,
                message,
                ..signed.clone()
            },
            predicate_type: None,
            statement: None,
            disagreement: false,
        };
        let payload_type = &envelope.payload_type;
        if payload_type != IN_TOTO_PAYLOAD_TYPE {
            return fail(
                Reason::MalformedPayload,
                format!(
                    "the envelope's payload type is {payload_type:?}, not {IN_TOTO_PAYLOAD_TYPE}"
                ),
            );
        }
        let statement = match Statement::parse(&envelope.payload) {
            Ok(statement) => statement,
            Err(msg) => {
                return fail(
                    Reason::MalformedPayload,
                    format!("the signed statement: {msg}"),
                );
            }
        };
        let predicate_type = Some(statement.predicate_type.clone());
        if statement.subject_for(&self.evidence.digest()).is_none() {
            return Attested {
                predicate_type,
                ..fail(
                    Reason::ClaimDigestMismatch,
                    format!(
                        "the signed statement is not about {} (no subject has that sha256)",
                        self.evidence.digest()
                    ),
                )
            };
        }
        if let Err(msg) = rule.check_predicate_type(&statement) {
            let disagreement = annotated.is_some();
            let message = if disagreement {
                format!("{msg}, though the layer's predicateType annotation says it is")
            } else {
                msg
            };
            return Attested {
                predicate_type,
                disagreement,
                ..fail(Reason::PredicateTypeMismatch, message)
            };
        }
        Attested {
            outcome: signed,
            predicate_type,
            statement: Some(statement),
            disagreement: false,
        }
    }

    /// Puts one attestation's outcome in the verdict: a verified statement must then meet the
    /// rule's conditions, and if it does it counts for its signer and joins the statements.
    fn record(
        &self,
        rule: &AttestationRule,
        format: &'static str,
        source: String,
        attested: Attested,
        verdict: &mut Verdict,
        satisfied: &mut [bool],
    ) {
        let Attested {
            mut outcome,
            predicate_type,
            statement,
            ..
        } = attested;
        let signer = outcome.key.map(|k| self.policy.signer_name(k).to_string());
        if outcome.status == Reason::Verified
            && let (Some(statement), Some(key), Some(signer)) = (statement, outcome.key, &signer)
        {
            match rule.check_conditions(&statement) {
                Ok(()) => {
                    satisfied[key] = true;
                    let predicate = predicate_for_verdict(&statement.predicate);
                    verdict.statements.push(VerifiedStatement {
                        rule: rule.name().into(),
                        predicate_type: statement.predicate_type.clone(),
                        signer: signer.clone(),
                        format,
                        subject: statement
                            .subject_for(&self.evidence.digest())
                            .and_then(|s| s.name.clone()),
                        predicate_omitted: predicate.is_none(),
                        predicate,
                    });
                }
                Err(msg) => {
                    outcome.status = Reason::ConditionNotMet;
                    outcome.message = msg;
                }
            }
        }
        verdict.attestations.push(AttestationResult {
            rule: rule.name().into(),
            format,
            source,
            status: outcome.status,
            key: signer,
            message: outcome.message,
            predicate_type,
        });
    }

    /// The checks of one layer, in the documented order. Nothing of the payload is parsed
    /// before its signature has verified.
    fn check(&self, layer: &Layer) -> LayerOutcome {
        let payload = match self.authentic_blob(layer, SIMPLE_SIGNING_MEDIA_TYPE) {
            Ok(bytes) => bytes,
            Err(Failure(status, message)) => return LayerOutcome::fail(status, None, message),
        };
        let signature = match signature_bytes(layer) {
            Ok(bytes) => bytes,
            Err(message) => return LayerOutcome::fail(Reason::MalformedSignature, None, message),
        };
        let payload_hash = Sha256Digest::of(payload);
        let signed = match self.layer_signer(
            layer,
            payload,
            Logged::Artifact {
                sha256: &payload_hash,
            },
            &signature,
        ) {
            Ok(signed) => signed,
            Err(outcome) => return outcome,
        };
        match self.check_claims(payload) {
            Ok(()) => signed,
            Err(Failure(status, message)) => LayerOutcome {
                status,
                message,
                ..signed
            },
        }
    }

    /// Checks 3 and 4 of a layer whose blob is authentic: who signed `message` (the layer's
    /// signature over it), and its Rekor bundle, as the policy's mode asks.
    ///
    /// A keyless layer (cosign's certificate annotation, when the policy has identities) goes
    /// to [`LayerContext::keyless_layer_signer`]; any other, to the policy keys. Returns a
    /// `verified` outcome naming the signer, for the caller to check the signed content; or the
    /// failure.
    fn layer_signer(
        &self,
        layer: &Layer,
        message: &[u8],
        logged: Logged<'_>,
        signature: &[u8],
    ) -> Result<LayerOutcome, LayerOutcome> {
        if !self.policy.identities().is_empty()
            && let Some(pem) = layer.annotations.get(CERTIFICATE_ANNOTATION)
        {
            return self.keyless_layer_signer(layer, message, logged, signature, pem);
        }
        let (key, algorithm) =
            sigstore::verifying_key(self.policy, |key| key.verify(message, signature))
                .map_err(|(status, text)| LayerOutcome::fail(status, None, text))?;
        let name = &self.policy.keys()[key].name;
        let signer = Signer::Key(&self.policy.keys()[key].key);
        let log_entry = self
            .check_log(layer, logged, signature, signer)
            .map_err(|Failure(status, text)| LayerOutcome::fail(status, Some(key), text))?;
        Ok(LayerOutcome {
            status: Reason::Verified,
            key: Some(key),
            message: match log_entry {
                Some(entry) => format!(
                    "signature verified with key {name:?} ({algorithm}), logged in Rekor at index {}",
                    entry.log_index
                ),
                None => format!("signature verified with key {name:?} ({algorithm})"),
            },
            log_entry,
        })
    }

    /// Check 1: a layer of `media_type` whose blob is exactly what the descriptor names.
    fn authentic_blob(&self, layer: &Layer, media_type: &str) -> Result<&[u8], Failure> {
        if layer.media_type != media_type {
            return Err(Failure(
                Reason::WrongMediaType,
                format!("media type is {:?}, not {media_type}", layer.media_type),
            ));
        }
        let max = self.policy.limits().max_payload_bytes;
        if layer.size > max {
            return Err(Failure(
                Reason::LimitExceeded,
                format!(
                    "descriptor size {} exceeds the payload limit {max}",
                    layer.size
                ),
            ));
        }
        let blob = self.evidence.blob(&layer.digest).ok_or_else(|| {
            if self.evidence.payloads_rebuilt() {
                Failure(
                    Reason::PayloadUnavailable,
                    format!(
                        "no rebuilt payload hashes to {}: the signature carries annotations or \
                         an identity the policy does not name. List every annotation it was \
                         signed with (`cosign sign -a`) in the policy's annotations, or verify \
                         evidence fetched with `ocisig fetch`",
                        layer.digest
                    ),
                )
            } else {
                Failure(
                    Reason::PayloadMissing,
                    format!("the evidence has no blob {}", layer.digest),
                )
            }
        })?;
        match check_blob(blob, &layer.digest, layer.size) {
            Ok(()) => {}
            Err(BlobMismatch::Size { actual, expected }) => {
                return Err(Failure(
                    Reason::PayloadSizeMismatch,
                    format!("blob is {actual} bytes but the descriptor says {expected}"),
                ));
            }
            Err(BlobMismatch::Digest { actual }) => {
                return Err(Failure(
                    Reason::PayloadDigestMismatch,
                    format!(
                        "blob hashes to {actual}, not the descriptor's {}",
                        layer.digest
                    ),
                ));
            }
        }
        Ok(blob)
    }

    /// A keyless layer: the certificate in the annotation (the chain annotation is never
    /// read: trust comes from the policy's root), the signature under its key, the Rekor bundle
    /// bound to this certificate (its verified integrated time is the only time a layer
    /// proves), then the keyless steps of bundles ([`sigstore::keyless_signer`]).
    fn keyless_layer_signer(
        &self,
        layer: &Layer,
        message: &[u8],
        logged: Logged<'_>,
        signature: &[u8],
        pem: &str,
    ) -> Result<LayerOutcome, LayerOutcome> {
        let fail = |status, text: String| LayerOutcome::fail(status, None, text);
        let Some(der) = crate::der::pem(pem)
            .filter(|(label, _)| label == "CERTIFICATE")
            .map(|(_, der)| der)
        else {
            return Err(fail(
                Reason::MalformedSignature,
                format!("the {CERTIFICATE_ANNOTATION} annotation is not a PEM certificate"),
            ));
        };
        let leaf = Certificate::from_der(&der).map_err(|err| {
            fail(
                Reason::MalformedSignature,
                format!("the certificate: {err}"),
            )
        })?;
        let algorithm = sigstore::verify_under_leaf(&leaf, |key| key.verify(message, signature))
            .map_err(|(status, text)| fail(status, text))?;
        let log_entry = self
            .check_log(layer, logged, signature, Signer::Certificate(&der))
            .map_err(|Failure(status, text)| fail(status, text))?;
        let times: Vec<i64> = log_entry.iter().filter_map(|e| e.proven_time).collect();
        let (index, described) = sigstore::keyless_signer(self.policy, &leaf, &times)
            .map_err(|(status, text)| fail(status, text))?;
        Ok(LayerOutcome {
            status: Reason::Verified,
            key: Some(self.policy.keys().len() + index),
            message: format!(
                "signature verified: {described} ({algorithm}), certificate valid when logged in \
                 Rekor at index {}",
                log_entry.map_or(0, |e| e.log_index)
            ),
            log_entry,
        })
    }

    /// The Rekor bundle, as the policy's mode asks. Runs only after the signature verified,
    /// so the bundle is bound to the signer that verified it (a policy key, or a keyless
    /// layer's certificate).
    fn check_log(
        &self,
        layer: &Layer,
        logged: Logged<'_>,
        signature: &[u8],
        signer: Signer<'_>,
    ) -> Result<Option<LogEntry>, Failure> {
        if self.policy.rekor_mode() == RekorMode::Ignore {
            return Ok(None);
        }
        let Some(bundle) = layer.annotations.get(BUNDLE_ANNOTATION) else {
            return match self.policy.rekor_mode() {
                RekorMode::Require => Err(Failure(
                    Reason::TlogMissing,
                    format!(
                        "the policy requires a Rekor bundle and the layer has no {BUNDLE_ANNOTATION} annotation"
                    ),
                )),
                _ => Ok(None),
            };
        };
        rekor::verify_bundle(bundle, self.policy.log_keys(), logged, signature, signer)
            .map(Some)
            .map_err(|err| Failure(Reason::TlogVerificationFailed, err.to_string()))
    }

    fn check_claims(&self, payload: &[u8]) -> Result<(), Failure> {
        let payload = payload::parse(payload)
            .map_err(|msg| Failure(Reason::MalformedPayload, format!("signed payload: {msg}")))?;
        let expected = self.evidence.digest().to_string();
        if payload.manifest_digest != expected {
            return Err(Failure(
                Reason::ClaimDigestMismatch,
                format!(
                    "the signed payload is for {}, not for this image ({expected})",
                    payload.manifest_digest
                ),
            ));
        }
        if let Some(expected_repository) = self.expected_repository {
            let claimed = payload.docker_reference.as_deref().unwrap_or("");
            let claimed_repository = Reference::parse(claimed).map(|r| r.repository_name());
            if claimed_repository.as_deref() != Ok(expected_repository) {
                return Err(Failure(
                    Reason::ReferenceMismatch,
                    format!(
                        "the signed payload names repository {claimed:?}, not {expected_repository:?}"
                    ),
                ));
            }
        }
        for (name, wanted) in self.policy.annotations() {
            match payload.optional.get(name) {
                Some(Value::String(found)) if found == wanted => {}
                Some(found) => {
                    return Err(Failure(
                        Reason::AnnotationMismatch,
                        format!("annotation {name:?} is {found}, the policy requires {wanted:?}"),
                    ));
                }
                None => {
                    return Err(Failure(
                        Reason::AnnotationMismatch,
                        format!("annotation {name:?} is missing, the policy requires {wanted:?}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Check 2: the signature annotation, as standard padded base64.
fn signature_bytes(layer: &Layer) -> Result<Vec<u8>, String> {
    let encoded = layer
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .ok_or_else(|| format!("the layer has no {SIGNATURE_ANNOTATION} annotation"))?;
    BASE64
        .decode(encoded)
        .map_err(|err| format!("the signature annotation is not standard base64: {err}"))
}
