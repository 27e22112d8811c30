//! The verdict of a policy set: whether the image is admitted, and each matching rule's own
//! verdict. See `docs/policy-sets.md`.

use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

use crate::verdict::outcome::Verdict;
use crate::verdict::reason::Reason;

/// What a policy set needs of a policy's verdict: the core's [`Verdict`], or a host's own
/// record of one (the `ocisig` binary has each policy judged by the WebAssembly module, and
/// keeps the verdict as the module wrote it).
pub trait PolicyVerdict {
    /// Whether the policy is satisfied.
    fn verified(&self) -> bool;
    /// The verdict's reason.
    fn reason(&self) -> Reason;
    /// Its sentence.
    fn message(&self) -> &str;
}

impl PolicyVerdict for Verdict {
    fn verified(&self) -> bool {
        self.verified
    }

    fn reason(&self) -> Reason {
        self.reason
    }

    fn message(&self) -> &str {
        &self.message
    }
}

/// The outcome of checking one image under a policy set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SetVerdict<V = Verdict> {
    /// True when the image may run: every matching `enforce` rule passed (warn rules may have
    /// failed), or no rule matched and `unmatched` is `allow` or `warn`.
    pub(crate) allowed: bool,
    /// `verified` when every matching rule passed; else the reason of the first failing
    /// `enforce` rule, of the first failing `warn` rule, or `unmatched_image`.
    pub(crate) reason: Reason,
    /// A sentence for people, naming the rule that decided.
    pub(crate) message: String,
    /// The image reference from the evidence, when the evidence could be read.
    pub(crate) image: Option<String>,
    /// The image digest from the evidence, when the evidence could be read.
    pub(crate) digest: Option<String>,
    /// SHA-256 of the set's meaning.
    pub(crate) set_digest: String,
    /// One entry per matching rule, in the set's order (empty when none matched).
    pub(crate) rules: Vec<RuleResult<V>>,
    /// One sentence per warning: a failed `warn` rule, or an unmatched image under `warn`.
    pub(crate) warnings: Vec<String>,
}

/// What one matching rule gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RuleResult<V = Verdict> {
    /// The rule's name.
    pub(crate) name: String,
    /// SHA-256 of the rule's meaning.
    pub(crate) digest: String,
    /// `enforce` or `warn`.
    pub(crate) mode: &'static str,
    /// Whether it passed.
    pub(crate) passed: bool,
    /// `verified`, the reason of its policy's verdict, or `static_fail`.
    pub(crate) reason: Reason,
    /// The verdict's sentence, or a static rule's.
    pub(crate) message: String,
    /// Which of its policies passed (0 for a rule of one policy; absent when none did, and
    /// for a static rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<usize>,
    /// The verdict of the policy that passed or, when none did, of the one that got furthest
    /// (absent for a static rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) verdict: Option<V>,
}

impl<V: Serialize> SetVerdict<V> {
    /// A denial before any rule was looked at (evidence that cannot be read, a cap hit).
    pub fn denied(reason: Reason, message: String, set_digest: String) -> Self {
        Self {
            allowed: false,
            reason,
            message,
            image: None,
            digest: None,
            set_digest,
            rules: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Whether the image may run.
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// The one reason code.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// A sentence for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The image digest from the evidence.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The matching rules' results.
    pub fn rules(&self) -> &[RuleResult<V>] {
        &self.rules
    }

    /// The warnings.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The set's digest.
    pub fn set_digest(&self) -> &str {
        &self.set_digest
    }

    /// Compact JSON; the same verdict always gives the same bytes.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"allowed":false,"reason":"invalid_evidence","message":"the verdict could not be written","rules":[],"warnings":[]}"#)
        })
    }
}

impl<V> RuleResult<V> {
    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rule's digest.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// Its reason.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// Its sentence.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Its policy's verdict.
    pub fn verdict(&self) -> Option<&V> {
        self.verdict.as_ref()
    }
}
