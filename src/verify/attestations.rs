//! The attestation rules of a policy, once its signature rules are met: for each, the `.att`
//! layers and then the bundle referrers, checked under the rule's signers until their
//! threshold is met, and each verified statement, once it meets the rule's conditions, handed
//! to the verdict.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::crypto::digest::Sha256Digest;
use crate::evidence::document::Evidence;
use crate::oci::manifest::Layer;
use crate::policy::attestation::predicate_for_verdict;
use crate::policy::compiled::{AttestationRule, Policy};
use crate::policy::document::Format;
use crate::verdict::outcome::{AttestationResult, Verdict, VerifiedStatement};
use crate::verdict::reason::Reason;
use crate::verify::bundles::Target;
use crate::verify::context::Context;
use crate::verify::decide::is_satisfied;
use crate::verify::outcome::{Attested, Failure};

/// The attestation rules, in policy order, once the signature rules are met: each must be met,
/// and the first that is not decides the denial. Each verified statement goes to the verdict.
pub(crate) fn check_attestations(policy: &Policy, evidence: &Evidence, verdict: &mut Verdict) {
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
    let context = Context {
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

impl Context<'_> {
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
        let target = Target::Attestation {
            digest: self.evidence.digest(),
            rule,
        };
        let mut seen: BTreeMap<&str, Attested> = BTreeMap::new();
        for text in self.evidence.referrers() {
            let attested = match seen.get(text.as_str()) {
                Some(earlier) => earlier.clone(),
                None => {
                    let attested = Attested::from(self.check_referrer(text.as_bytes(), &target));
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
        let Attested { mut outcome, .. } = attested;
        let statement = outcome.statement.take();
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
            predicate_type: outcome.predicate_type,
        });
    }
}
