//! What one check or one signature gave, before it goes into the verdict.

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use crate::claim::in_toto::Statement;
use crate::policy::compiled::Policy;
use crate::sigstore::rekor::LogEntry;
use crate::verdict::outcome::{BundleResult, LayerResult};
use crate::verdict::reason::Reason;

/// A check that failed: the status it gives, and a sentence for people.
pub(crate) struct Failure(pub(crate) Reason, pub(crate) String);

/// The outcome of one signature's checks (a `.sig` or `.att` layer, or a bundle).
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    pub(crate) status: Reason,
    /// The policy signer whose signature verified, if one did (also when a later check
    /// failed).
    pub(crate) key: Option<usize>,
    pub(crate) message: String,
    pub(crate) log_entry: Option<LogEntry>,
    /// The signed statement's predicate type, once its signature verified.
    pub(crate) predicate_type: Option<String>,
    /// The statement, once everything but an attestation rule's conditions has passed.
    pub(crate) statement: Option<Box<Statement>>,
}

impl Outcome {
    /// A failure before any signer was found.
    pub(crate) fn fail(status: Reason, message: impl Into<String>) -> Self {
        Self::fail_by(status, None, message)
    }

    /// A failure, after `key`'s signature verified if it is given.
    pub(crate) fn fail_by(status: Reason, key: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            status,
            key,
            message: message.into(),
            log_entry: None,
            predicate_type: None,
            statement: None,
        }
    }

    /// The failure of a check that came after the signature verified: this outcome's signer
    /// and log entry, with `status` and `message`.
    pub(crate) fn then_fail(&self, status: Reason, message: String) -> Self {
        Self {
            status,
            message,
            predicate_type: None,
            statement: None,
            ..self.clone()
        }
    }

    /// The verdict's entry for a bundle referrer with this outcome.
    pub(crate) fn bundle_result(self, policy: &Policy, referrer: String) -> BundleResult {
        BundleResult {
            referrer,
            status: self.status,
            key: self.key.map(|k| policy.signer_name(k).into()),
            message: self.message,
            predicate_type: self.predicate_type,
            integrated_time: self.log_entry.and_then(|e| e.integrated_time),
            log_index: self.log_entry.map(|e| e.log_index),
        }
    }

    /// The verdict's entry for `.sig` layer `index` with this outcome.
    pub(crate) fn layer_result(self, policy: &Policy, index: usize) -> LayerResult {
        LayerResult {
            layer: u32::try_from(index).unwrap_or(u32::MAX),
            status: self.status,
            key: self.key.map(|k| policy.signer_name(k).to_string()),
            message: self.message,
            integrated_time: self.log_entry.and_then(|e| e.integrated_time),
            log_index: self.log_entry.map(|e| e.log_index),
        }
    }
}

impl From<Failure> for Outcome {
    fn from(Failure(status, message): Failure) -> Self {
        Self::fail(status, message)
    }
}

/// One attestation's outcome: an [`Outcome`], and whether an `.att` layer's annotation named
/// the rule's type over a statement of another (a denial of the rule).
#[derive(Clone, Debug)]
pub(crate) struct Attested {
    pub(crate) outcome: Outcome,
    pub(crate) disagreement: bool,
}

impl From<Outcome> for Attested {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            disagreement: false,
        }
    }
}
