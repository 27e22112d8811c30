//! An image under a policy set: the rules that match it, each checked, adding up to one
//! decision. Every matching rule must pass (a `warn` rule's failure only warns); a rule of
//! several policies passes when any one does, tried in order.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::evidence::document::Evidence;
use crate::policy::scope::Scope;
use crate::policy::set::{Body, Mode, PolicySet, Rule, Unmatched};
use crate::verdict::outcome::Verdict;
use crate::verdict::reason::Reason;
use crate::verdict::set::{PolicyVerdict, RuleResult, SetVerdict};
use crate::verify::image::verify;

/// Checks `evidence` under `set`, the image admitted in `scope` (what the caller knows of it).
pub fn verify_set(set: &PolicySet, evidence: &Evidence, scope: &Scope<'_>) -> SetVerdict {
    decide_set(
        set,
        evidence.image(),
        Some(evidence.digest().to_string()),
        scope,
        |rule, index| match rule.policies().get(index) {
            Some(policy) => verify(policy, evidence),
            None => Verdict::denied(Reason::InvalidPolicy, "no such policy".into()),
        },
    )
}

/// The decision for `image` (at `digest`) under `set`, with `check(rule, index)` giving the
/// verdict of the rule's policy at `index`: for hosts that judge each policy their own way
/// (Kubewarden rebuilds the payloads per policy; the `ocisig` binary asks its WebAssembly
/// module, with the policy's JSON). `check` runs only for the policies of matching rules, in
/// order, and not past the first policy of a rule that passes.
pub fn decide_set<V: PolicyVerdict>(
    set: &PolicySet,
    image: &str,
    digest: Option<String>,
    scope: &Scope<'_>,
    mut check: impl FnMut(&Rule, usize) -> V,
) -> SetVerdict<V> {
    let rules: Vec<RuleResult<V>> = set
        .rules_for(image, scope)
        .into_iter()
        .map(|rule| check_rule(rule, &mut check))
        .collect();
    let mut verdict = SetVerdict {
        allowed: true,
        reason: Reason::Verified,
        message: String::new(),
        image: Some(image.to_string()),
        digest,
        set_digest: set.digest().to_string(),
        rules: Vec::new(),
        warnings: Vec::new(),
    };
    if rules.is_empty() {
        let (allowed, sentence) = match set.unmatched() {
            Unmatched::Deny => (false, "no rule matches this image, and unmatched is deny"),
            Unmatched::Allow => (true, "no rule matches this image; admitted unchecked"),
            Unmatched::Warn => (
                true,
                "no rule matches this image; admitted unchecked, with a warning",
            ),
        };
        verdict.allowed = allowed;
        verdict.reason = Reason::UnmatchedImage;
        verdict.message = sentence.into();
        if set.unmatched() == Unmatched::Warn {
            verdict.warnings.push(sentence.into());
        }
        return verdict;
    }
    let failing = |mode: Mode| {
        rules
            .iter()
            .find(|r| !r.passed && r.mode == mode.name())
            .map(|r| (r.reason, rule_sentence(r)))
    };
    for rule in rules
        .iter()
        .filter(|r| !r.passed && r.mode == Mode::Warn.name())
    {
        verdict
            .warnings
            .push(format!("{} (mode warn, admitted)", rule_sentence(rule)));
    }
    if let Some((reason, message)) = failing(Mode::Enforce) {
        verdict.allowed = false;
        verdict.reason = reason;
        verdict.message = message;
    } else if let Some((reason, message)) = failing(Mode::Warn) {
        verdict.reason = reason;
        verdict.message = format!("{message} (mode warn, admitted)");
    } else {
        let names: Vec<String> = rules.iter().map(|r| format!("{:?}", r.name)).collect();
        verdict.message = format!("every matching rule passed: {}", names.join(", "));
    }
    verdict.rules = rules;
    verdict
}

/// What one rule gives.
fn check_rule<V: PolicyVerdict>(
    rule: &Rule,
    check: &mut impl FnMut(&Rule, usize) -> V,
) -> RuleResult<V> {
    let mut result = RuleResult {
        name: rule.name().to_string(),
        digest: rule.digest().to_string(),
        mode: rule.mode().name(),
        passed: false,
        reason: Reason::StaticFail,
        message: String::new(),
        policy: None,
        verdict: None,
    };
    match rule.body() {
        Body::Static { pass: true, .. } => {
            result.passed = true;
            result.reason = Reason::Verified;
            result.message = "the rule is static: pass".into();
        }
        Body::Static {
            pass: false,
            message,
        } => {
            result.message = message
                .clone()
                .unwrap_or_else(|| "the rule is static: fail".into());
        }
        Body::AnyOf(policies) => {
            // The furthest failure (by `Reason::progress`, the first on a tie) stands for the
            // rule when no policy passes.
            let mut furthest: Option<V> = None;
            for index in 0..policies.len() {
                let verdict = check(rule, index);
                if verdict.verified() {
                    result.passed = true;
                    result.reason = Reason::Verified;
                    result.message = verdict.message().to_string();
                    result.policy = Some(index);
                    result.verdict = Some(verdict);
                    return result;
                }
                if furthest
                    .as_ref()
                    .is_none_or(|f| verdict.reason().progress() > f.reason().progress())
                {
                    furthest = Some(verdict);
                }
            }
            if let Some(verdict) = furthest {
                result.reason = verdict.reason();
                result.message = verdict.message().to_string();
                result.verdict = Some(verdict);
            }
        }
    }
    result
}

/// `rule "name": why`, for a failed rule.
fn rule_sentence<V>(rule: &RuleResult<V>) -> String {
    format!("rule {:?}: {}", rule.name, rule.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{IMAGE, Layer, Signer, cosign_payload, evidence, image_digest};
    use serde_json::{Value, json};

    fn set(rules: Value, unmatched: &str) -> PolicySet {
        let document = json!({"rules": rules, "unmatched": unmatched});
        PolicySet::from_json(document.to_string().as_bytes())
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn keys(signer: &Signer) -> Value {
        json!({"keys": [signer.key_entry()]})
    }

    /// The tests' image, signed by `signer`.
    fn signed_by(signer: &Signer) -> Evidence {
        let layer = Layer::signed(signer, cosign_payload(&image_digest(), IMAGE));
        Evidence::from_json(&evidence(Some(&[layer]), &[])).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn names(verdict: &SetVerdict) -> Vec<(&str, bool)> {
        verdict
            .rules()
            .iter()
            .map(|r| (r.name(), r.passed()))
            .collect()
    }

    #[test]
    fn every_matching_rule_must_pass() {
        let alice = Signer::new("alice", 1);
        let bob = Signer::new("bob", 2);
        let rules = json!([
            {"name": "team", "images": ["registry.example/team/**"], "policy": keys(&alice)},
            {"name": "all", "images": ["registry.example/**"], "policy": keys(&alice)},
            {"name": "other", "images": ["quay.io/**"], "policy": keys(&bob)}
        ]);
        let verdict = verify_set(
            &set(rules.clone(), "deny"),
            &signed_by(&alice),
            &Scope::UNKNOWN,
        );
        assert!(verdict.allowed(), "{}", verdict.to_json());
        assert_eq!(verdict.reason(), Reason::Verified);
        assert_eq!(names(&verdict), [("team", true), ("all", true)]);
        let verdict = verify_set(&set(rules, "deny"), &signed_by(&bob), &Scope::UNKNOWN);
        assert!(!verdict.allowed());
        assert_eq!(verdict.reason(), Reason::NoMatchingSignature);
        assert!(
            verdict.message().starts_with("rule \"team\": "),
            "{}",
            verdict.message()
        );
    }

    #[test]
    fn any_one_policy_of_a_rule_passes_it() {
        let alice = Signer::new("alice", 1);
        let bob = Signer::new("bob", 2);
        let carol = Signer::new("carol", 3);
        let rules =
            json!([{"name": "vendor", "images": ["**"], "anyOf": [keys(&alice), keys(&bob)]}]);
        let verdict = verify_set(
            &set(rules.clone(), "deny"),
            &signed_by(&bob),
            &Scope::UNKNOWN,
        );
        assert!(verdict.allowed());
        assert_eq!(verdict.rules()[0].policy, Some(1));
        let verdict = verify_set(&set(rules, "deny"), &signed_by(&carol), &Scope::UNKNOWN);
        assert!(!verdict.allowed());
        assert_eq!(verdict.rules()[0].policy, None);
    }

    #[test]
    fn warn_rules_admit_with_a_warning_naming_the_rule() {
        let alice = Signer::new("alice", 1);
        let bob = Signer::new("bob", 2);
        let rules = json!([
            {"name": "team", "images": ["**"], "policy": keys(&alice)},
            {"name": "migrating", "images": ["**"], "mode": "warn", "policy": keys(&bob)}
        ]);
        let verdict = verify_set(&set(rules, "deny"), &signed_by(&alice), &Scope::UNKNOWN);
        assert!(verdict.allowed());
        assert_eq!(verdict.reason(), Reason::NoMatchingSignature);
        assert_eq!(verdict.warnings().len(), 1);
        assert!(
            verdict.warnings()[0].starts_with("rule \"migrating\": "),
            "{:?}",
            verdict.warnings()
        );
    }

    #[test]
    fn static_rules_and_unmatched_images() {
        let alice = Signer::new("alice", 1);
        let rules = json!([
            {"name": "blocked", "images": ["registry.example/team/**"], "static": "fail",
             "message": "this repository is retired"},
            {"name": "mirror", "images": ["registry.example/**"], "static": "pass"}
        ]);
        let verdict = verify_set(
            &set(rules.clone(), "deny"),
            &signed_by(&alice),
            &Scope::UNKNOWN,
        );
        assert!(!verdict.allowed());
        assert_eq!(verdict.reason(), Reason::StaticFail);
        assert_eq!(
            verdict.message(),
            "rule \"blocked\": this repository is retired"
        );
        assert_eq!(names(&verdict), [("blocked", false), ("mirror", true)]);

        let elsewhere = json!([{"name": "quay", "images": ["quay.io/**"], "static": "pass"}]);
        for (unmatched, allowed, warnings) in
            [("deny", false, 0), ("allow", true, 0), ("warn", true, 1)]
        {
            let verdict = verify_set(
                &set(elsewhere.clone(), unmatched),
                &signed_by(&alice),
                &Scope::UNKNOWN,
            );
            assert_eq!(verdict.allowed(), allowed, "{unmatched}");
            assert_eq!(verdict.reason(), Reason::UnmatchedImage);
            assert_eq!(verdict.warnings().len(), warnings);
            assert!(verdict.rules().is_empty());
        }
    }

    /// Only the policies of matching rules run, and none after the one that passed a rule.
    #[test]
    fn only_what_is_needed_runs() {
        let alice = Signer::new("alice", 1);
        let parsed = set(
            json!([
                {"name": "a", "images": ["**"], "anyOf": [keys(&alice), keys(&alice)]},
                {"name": "b", "images": ["quay.io/**"], "policy": keys(&alice)}
            ]),
            "deny",
        );
        let evidence = signed_by(&alice);
        let mut calls = 0;
        let verdict = decide_set(&parsed, IMAGE, None, &Scope::UNKNOWN, |rule, index| {
            calls += 1;
            verify(&rule.policies()[index], &evidence)
        });
        assert!(verdict.allowed());
        assert_eq!(calls, 1);
    }
}
