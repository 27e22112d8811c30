//! How the signers that verified add up to a verdict: the threshold, the required names, and,
//! when nothing verified, which signature's failure the verdict reports (the one that got
//! furthest, by [`Reason::progress`]).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::policy::compiled::Policy;
use crate::verdict::outcome::Verdict;
use crate::verdict::reason::Reason;

/// Whether the signers that verified (`satisfied`, by signer index) meet the policy's
/// threshold and `required` names.
pub(crate) fn is_satisfied(policy: &Policy, satisfied: &[bool]) -> bool {
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
                (r.key.is_some(), r.status.progress()),
                r.status,
                format!("layer {}: {}", r.layer, r.message),
            )
        });
        let bundles = verdict.bundles.iter().map(|r| {
            (
                (r.key.is_some(), r.status.progress()),
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
