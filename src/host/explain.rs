//! A policy or policy set as ocisig understands it, for people (`ocisig policy explain`, the
//! browser demo): each rule's globs, mode and what it asks, each policy's signers, formats and
//! transparency-log rule, with their digests. Nothing here decides anything.

use alloc::string::ToString;
use alloc::vec::Vec;
use serde_json::{Value, json};

use crate::policy::compiled::{Policy, canonical_identities};
use crate::policy::document::{Format, RekorMode};
use crate::policy::set::{Body, Document, ImageMatcher};

/// The document, described as JSON (`docs/policy-sets.md` shows it).
pub fn explain(document: &Document) -> Value {
    match document {
        Document::Policy(policy) => json!({"kind": "policy", "policy": policy_summary(policy)}),
        Document::Set(set) => json!({
            "kind": "policySet",
            "digest": set.digest().to_string(),
            "unmatched": set.unmatched().name(),
            "rules": set.rules().iter().map(|rule| {
                let mut out = json!({
                    "name": rule.name(),
                    "digest": rule.digest().to_string(),
                    "mode": rule.mode().name(),
                    "images": rule.images().iter().map(|glob| match glob {
                        ImageMatcher::Glob(glob) => json!(glob.pattern()),
                        ImageMatcher::Legacy(pattern) => json!({"legacy": pattern}),
                    }).collect::<Vec<_>>(),
                    "namespaces": rule.namespaces(),
                });
                if !rule.resources().is_empty() {
                    out["match"] = rule.resources().iter().map(|m| m.to_json()).collect();
                }
                match rule.body() {
                    Body::Static { pass, message } => {
                        out["static"] = json!(if *pass { "pass" } else { "fail" });
                        if let Some(message) = message {
                            out["message"] = json!(message);
                        }
                    }
                    Body::AnyOf(policies) => {
                        out["anyOf"] = policies.iter().map(policy_summary).collect();
                    }
                }
                out
            }).collect::<Vec<_>>(),
        }),
    }
}

fn policy_summary(policy: &Policy) -> Value {
    let formats: Vec<&str> = [
        (Format::Simplesigning, "simplesigning"),
        (Format::Bundle, "bundle"),
    ]
    .iter()
    .filter(|(format, _)| policy.accepts(*format))
    .map(|(_, name)| *name)
    .collect();
    let mut out = json!({
        "digest": policy.digest().to_string(),
        "keys": policy.keys().iter().map(|k| json!({
            "name": k.name(),
            "algorithm": k.key().algorithm(),
            "fingerprint": k.key().fingerprint().to_string(),
        })).collect::<Vec<_>>(),
        "identities": canonical_identities(policy.identities()),
        "threshold": policy.threshold(),
        "required": policy.required(),
        "formats": formats,
        "rekor": match policy.rekor_mode() {
            RekorMode::Require => "require",
            RekorMode::VerifyIfPresent => "verify-if-present",
            RekorMode::Ignore => "ignore",
        },
        "attestations": policy.attestations().iter().map(|rule| json!({
            "name": rule.name(),
            "predicateType": rule.predicate_type(),
        })).collect::<Vec<_>>(),
    });
    if let Some(digest) = policy.trusted_root().digest {
        out["trustedRoot"] = json!(digest.to_string());
    }
    if !policy.annotations().is_empty() {
        out["annotations"] = json!(policy.annotations());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Signer;

    #[test]
    fn a_set_is_explained_rule_by_rule() {
        let alice = Signer::new("alice", 1);
        let document = json!({"unmatched": "warn", "rules": [
            {"name": "team", "images": ["ghcr.io/acme/**"], "policy": {"keys": [alice.key_entry()]}},
            {"name": "hub", "images": ["*"], "static": "fail", "message": "no"}
        ]});
        let parsed = Document::from_json(document.to_string().as_bytes())
            .unwrap_or_else(|e| unreachable!("{e}"));
        let explained = explain(&parsed);
        assert_eq!(explained["kind"], "policySet");
        assert_eq!(explained["unmatched"], "warn");
        assert_eq!(
            explained["rules"][0]["anyOf"][0]["keys"][0]["name"],
            "alice"
        );
        assert_eq!(
            explained["rules"][0]["anyOf"][0]["formats"],
            json!(["simplesigning", "bundle"])
        );
        assert_eq!(explained["rules"][1]["static"], "fail");
        assert_eq!(explained["rules"][1]["images"], json!(["*"]));
        let Document::Set(set) = &parsed else {
            unreachable!()
        };
        assert_eq!(explained["digest"], set.digest().to_string());
    }
}
