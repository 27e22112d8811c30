//! Keyless signers: the identities a policy trusts, matched against a Fulcio certificate that
//! has already chained to the trusted root.
//!
//! An identity is an OIDC issuer and a subject, each given exactly or as a regular expression.
//! The subject is the certificate's Subject Alternative Name as sigstore-go reads it: the
//! first URI, else the first email, else the first other name. The issuer is Fulcio's issuer
//! extension (v2, else v1). Optionally, as cosign's `--certificate-github-workflow-*` flags,
//! the GitHub workflow extensions (trigger, SHA, name, repository, ref) must equal given values.
//!
//! Patterns are **anchored**: `subjectRegExp: "https://github.com/org/.*"` must match the whole
//! subject, so `https://evil.example/?https://github.com/org/x` does not. cosign and
//! sigstore-go search instead (a pattern matches anywhere unless written with `^…$`); a pattern
//! written for them with `^…$` means the same here. The engine is `regex-lite` (no Unicode
//! classes, linear time).

use alloc::format;
use alloc::string::String;

use crate::limits::MAX_IDENTITY_BYTES;
use crate::sigstore::fulcio::FulcioCertificate;
use crate::x509::certificate::{AlternativeName, Certificate};

/// One side of an identity: an exact string or an anchored pattern.
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    Exact(String),
    Pattern(regex_lite::Regex),
}

impl Matcher {
    /// From a policy field pair: exactly one of `exact` and `pattern`.
    pub(crate) fn new(exact: Option<&str>, pattern: Option<&str>) -> Result<Self, &'static str> {
        match (exact, pattern) {
            (Some(_), Some(_)) => Err("give the exact value or the pattern, not both"),
            (None, None) => Err("an exact value or a pattern is needed"),
            (Some(text), None) if text.is_empty() || text.len() > MAX_IDENTITY_BYTES => {
                Err("must be 1 to 1024 bytes")
            }
            (Some(text), None) => Ok(Self::Exact(text.into())),
            (None, Some(text)) if text.is_empty() || text.len() > MAX_IDENTITY_BYTES => {
                Err("the pattern must be 1 to 1024 bytes")
            }
            (None, Some(text)) => {
                let build = |pattern: &str| {
                    regex_lite::RegexBuilder::new(pattern)
                        .size_limit(1 << 20)
                        .nest_limit(64)
                        .build()
                        .map_err(|_| "the pattern is not a valid regular expression")
                };
                // Valid on its own first, so that the anchors wrap all of it: `a)|(b` would
                // otherwise close the group and leave an unanchored alternative.
                build(text)?;
                build(&format!("^(?:{text})$")).map(Self::Pattern)
            }
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Self::Exact(exact) => exact == text,
            Self::Pattern(pattern) => pattern.is_match(text),
        }
    }

    /// The form the policy digest records.
    pub(crate) fn canonical(&self) -> serde_json::Value {
        match self {
            Self::Exact(exact) => serde_json::json!({ "exact": exact }),
            Self::Pattern(pattern) => serde_json::json!({ "pattern": pattern.as_str() }),
        }
    }
}

/// A trusted keyless signer.
#[derive(Clone, Debug)]
pub struct Identity {
    pub(crate) name: String,
    pub(crate) issuer: Matcher,
    pub(crate) subject: Matcher,
    /// Exact values the GitHub workflow extensions must have: trigger, SHA, name, repository
    /// and ref (`None`: not checked).
    pub(crate) github_workflow: [Option<String>; 5],
}

impl Identity {
    /// The policy's name for the identity.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `certificate` was issued to this identity.
    pub fn matches(&self, certificate: &FulcioCertificate) -> bool {
        certificate
            .oidc_issuer()
            .is_some_and(|issuer| self.issuer.matches(issuer))
            && subject(certificate.certificate())
                .is_some_and(|subject| self.subject.matches(subject))
            && self
                .github_workflow
                .iter()
                .zip(certificate.github_workflow())
                .all(|(wanted, found)| wanted.is_none() || wanted == found)
    }
}

/// The identity a certificate names: its first URI, else first email, else first other name.
pub fn subject(certificate: &Certificate) -> Option<&str> {
    let names = certificate.alternative_names();
    let first = |want: fn(&AlternativeName) -> Option<&str>| names.iter().find_map(want);
    first(|n| match n {
        AlternativeName::Uri(uri) => Some(uri),
        _ => None,
    })
    .or_else(|| {
        first(|n| match n {
            AlternativeName::Email(email) => Some(email),
            _ => None,
        })
    })
    .or_else(|| {
        first(|n| match n {
            AlternativeName::Other(other) => Some(other),
            _ => None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_anchored() {
        let pattern = Matcher::new(None, Some("https://github.com/org/.*"))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(pattern.matches("https://github.com/org/repo"));
        assert!(!pattern.matches("https://evil.example/?https://github.com/org/x"));
        assert!(!pattern.matches("xhttps://github.com/org/repo"));
        let alternation = Matcher::new(None, Some("a|b")).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(alternation.matches("a") && alternation.matches("b"));
        assert!(!alternation.matches("ab"));
    }

    #[test]
    fn one_of_exact_and_pattern() {
        assert!(Matcher::new(None, None).is_err());
        assert!(Matcher::new(Some("a"), Some("b")).is_err());
        assert!(Matcher::new(Some(""), None).is_err());
        assert!(Matcher::new(None, Some("(")).is_err());
        // A pattern that would close the anchoring group is refused, not half anchored.
        assert!(Matcher::new(None, Some("a)|(b")).is_err());
        let exact = Matcher::new(Some("a.b"), None).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(exact.matches("a.b") && !exact.matches("axb"));
    }
}
